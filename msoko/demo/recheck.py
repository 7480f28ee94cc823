"""Demo re-checks (перепроверка) consistent with the planted truth.

The municipality re-checks, in the last demo year, every work with a planted score manipulation
(inflated scores, boundary pushing, copied answers) and, for each, one clean work of another school in
the same grade and subject — as a commission would re-check «schools with signs» and a control school.
A planted work's re-check lowers its scores (each scored task loses a point with probability ``LOWER``
by strength); a clean work's barely moves (a point up or down on ``CLEAN_NOISE`` of tasks). A separate
random stream is used, so the rest of the demo is the same with or without re-checks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RECHECKED_KINDS = ("inflated_scores", "boundary_push", "answer_copying")
LOWER = {"weak": 0.2, "moderate": 0.3, "strong": 0.45}
CLEAN_NOISE = 0.03
MIN_WORKS = 10
CHECKER = "Муниципальная предметная комиссия"


class Rechecks:
    """Collects re-check rows while the ВПР cells are generated (``take(cell)`` for each)."""

    def __init__(self, seed: int, year: int, truth_cells: pd.DataFrame, schools):
        self.rng = np.random.default_rng([seed, 2])
        self.year = year
        self.schools = schools
        t = truth_cells[truth_cells["year"] == year]
        self.planted_any = {(int(r.school), int(r.grade), r.subject) for r in t.itertuples(index=False)}
        t = t[t["kind"].isin(RECHECKED_KINDS)]
        self.targets = {(int(r.grade), r.subject): {} for r in t.itertuples(index=False)}
        for r in t.itertuples(index=False):
            self.targets[(int(r.grade), r.subject)][int(r.school)] = r.strength
        self.rows: list[pd.DataFrame] = []

    def take(self, cell) -> None:
        if cell.year != self.year or (cell.grade, cell.subject) not in self.targets:
            return
        from msoko.demo.vpr import tasks_of

        planted = self.targets[(cell.grade, cell.subject)]
        present = ~cell.absent
        counts = pd.Series(cell.school[present]).value_counts()
        clean = sorted(s for s, k in counts.items()
                       if k >= MIN_WORKS and (int(s), cell.grade, cell.subject) not in self.planted_any)
        chosen = {s: st for s, st in planted.items() if counts.get(s, 0) > 0}
        for _ in range(len(chosen)):
            if clean:
                chosen[clean.pop(int(self.rng.integers(0, len(clean))))] = None
        spec = tasks_of(cell.grade, cell.subject)
        J = cell.scores.shape[1]
        names = list(spec["task"]) if len(spec) == J else [str(j + 1) for j in range(J)]
        maxima = spec["max_score"].to_numpy() if len(spec) == J else np.full(J, 99)
        for school, strength in sorted(chosen.items()):
            idx = np.flatnonzero(present & (cell.school == school))
            first = cell.scores[idx].astype(float)                      # −1 = task not done ('X')
            done = first >= 0
            first = np.where(done, first, 0.0)
            if strength is not None:                                   # planted: points taken back
                lower = (self.rng.random(first.shape) < LOWER[strength]) & (first > 0)
                again = first - lower
            else:                                                      # clean: a point either way, rarely
                move = self.rng.random(first.shape) < CLEAN_NOISE
                step = np.where(self.rng.random(first.shape) < 0.5, -1.0, 1.0)
                again = np.clip(first + move * step, 0, maxima[None, :])
            k, j = np.nonzero(np.ones_like(first, dtype=bool))
            self.rows.append(pd.DataFrame({
                "year": cell.year, "school_id": self.schools[school].school_id, "grade": cell.grade,
                "subject": cell.subject, "participant": [str(cell.grade * 10000 + int(s) + 1) for s in cell.slot[idx][k]],
                "task": [names[x] for x in j], "score_first": first[k, j], "score_recheck": again[k, j],
                "checker": f"{CHECKER} ({cell.subject.lower()})"}))

    def frame(self) -> pd.DataFrame:
        cols = ["year", "school_id", "grade", "subject", "participant", "task", "score_first", "score_recheck", "checker"]
        if not self.rows:
            return pd.DataFrame(columns=cols)
        return pd.concat(self.rows, ignore_index=True)[cols]


class Observers:
    """Independent observers in the last demo year: at the works whose previous cohort's results were
    manipulated (planted in the year before) — under observers the school writes clean, so the observed
    work comes out lower than the same work a year earlier — and, as controls, at as many works of schools
    with nothing planted in that work either year."""

    KINDS = ("муниципальный", "региональный", "общественный")

    def __init__(self, seed: int, year: int, truth_cells: pd.DataFrame, schools):
        self.rng = np.random.default_rng([seed, 3])
        self.year = year
        self.schools = schools
        t = truth_cells
        prev = t[(t["year"] == year - 1) & t["kind"].isin(RECHECKED_KINDS)]
        now = {(int(r.school), int(r.grade), r.subject) for r in t[t["year"] == year].itertuples(index=False)}
        before = {(int(r.school), int(r.grade), r.subject) for r in t[t["year"] == year - 1].itertuples(index=False)}
        self.targets: dict = {}
        for r in prev.itertuples(index=False):
            k = (int(r.school), int(r.grade), r.subject)
            if k not in now:
                self.targets.setdefault((int(r.grade), r.subject), set()).add(int(r.school))
        self.busy = now | before
        self.rows: list[dict] = []

    def take(self, cell) -> None:
        if cell.year != self.year or (cell.grade, cell.subject) not in self.targets:
            return
        present = ~cell.absent
        counts = pd.Series(cell.school[present]).value_counts()
        chosen = sorted(s for s in self.targets[(cell.grade, cell.subject)] if counts.get(s, 0) >= MIN_WORKS)
        clean = sorted(s for s, k in counts.items()
                       if k >= MIN_WORKS and (int(s), cell.grade, cell.subject) not in self.busy)
        for _ in range(len(chosen)):
            if clean:
                chosen.append(clean.pop(int(self.rng.integers(0, len(clean)))))
        for i, school in enumerate(chosen):
            self.rows.append(dict(year=cell.year, school_id=self.schools[school].school_id, grade=cell.grade,
                                  subject=cell.subject, observer=self.KINDS[i % len(self.KINDS)],
                                  act=f"Акт № {len(self.rows) + 1}", remarks=None))

    def frame(self) -> pd.DataFrame:
        cols = ["year", "school_id", "grade", "subject", "observer", "act", "remarks"]
        return pd.DataFrame(self.rows, columns=cols)
