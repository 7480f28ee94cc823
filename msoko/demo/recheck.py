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


VISIT_ITEMS = ("протокол проведения ВПР", "хранение работ", "проверка работ комиссией", "присутствие наблюдателей",
               "соблюдение порядка проведения", "перенос результатов и отметок", "локальные акты об объективности")
VISIT_NOTES = {
    "замечания": {"протокол проведения ВПР": "в протоколе не указано время начала работы",
                  "хранение работ": "работы хранятся в кабинете учителя, не в сейфе",
                  "проверка работ комиссией": "в комиссии два учителя вместо трёх",
                  "присутствие наблюдателей": "наблюдатель — работник той же школы",
                  "соблюдение порядка проведения": "рассадка не по одному",
                  "перенос результатов и отметок": "отметки перенесены в журнал не в срок",
                  "локальные акты об объективности": "положение о ВСОКО не обновлено"},
    "нарушения": {"протокол проведения ВПР": "протокол не заполнен",
                  "хранение работ": "часть работ не найдена",
                  "проверка работ комиссией": "работы проверял учитель класса без комиссии",
                  "присутствие наблюдателей": "наблюдатели не назначены",
                  "соблюдение порядка проведения": "в аудитории находился учитель-предметник",
                  "перенос результатов и отметок": "отметки за ВПР в журнале расходятся с протоколом",
                  "локальные акты об объективности": "локальных актов об объективности нет"},
}
VISIT_P = {True: {"нарушения": 0.15, "замечания": 0.35}, False: {"нарушения": 0.0, "замечания": 0.04}}


def visits(seed: int, year: int, truth_cells: pd.DataFrame, schools) -> pd.DataFrame:
    """Monitoring visits in the last demo year (February–March, as the plan of the year before schedules them):
    to every school with a planted manipulation the year before and to as many clean schools (at most 4) —
    a planted school's items come out with remarks (``VISIT_P[True]``) and violations more often, a clean
    school's rarely with remarks and never with violations. Five items each, the first three always."""
    rng = np.random.default_rng([seed, 4])
    planted = sorted({int(s) for s in truth_cells.loc[truth_cells["year"] == year - 1, "school"]})
    clean = [s.idx for s in schools if s.idx not in set(truth_cells["school"].astype(int))]
    rng.shuffle(clean)
    rows = []
    for i in planted + sorted(clean[: min(4, len(planted))]):
        date = pd.Timestamp(year, 2, 1) + pd.Timedelta(days=int(rng.integers(0, 55)))
        items = list(VISIT_ITEMS[:3]) + list(rng.choice(VISIT_ITEMS[3:], 2, replace=False))
        p = VISIT_P[i in planted]
        for item in items:
            u = rng.random()
            finding = ("нарушения" if u < p["нарушения"] else
                       "замечания" if u < p["нарушения"] + p["замечания"] else "нарушений нет")
            rows.append(dict(school_id=schools[i].school_id, date=date.strftime("%d.%m.%Y"), visit_kind="мониторинговый",
                             item=item, finding=finding, note=VISIT_NOTES.get(finding, {}).get(item),
                             inspector="Методисты ИМЦ"))
    return pd.DataFrame(rows, columns=["school_id", "date", "visit_kind", "item", "finding", "note", "inspector"])


def medals(seed: int, gia: pd.DataFrame, schools, lenient: set[int]) -> pd.DataFrame:
    """Medal candidates of every year among the ЕГЭ (grade 11) and ОГЭ (grade 9) writers of Russian and maths:
    a school names as candidates its pupils whose mean standing in the two exams plus noise (the journal is not
    the exam) is above a cut — 1.2 SD, but 0.5 SD in a school with planted lenient journal marks
    (``inflated_journal``), which so names weaker pupils with annual «5». One row per candidate and subject."""
    rng = np.random.default_rng([seed, 5])
    cols = ["year", "school_id", "student_code", "subject", "annual_mark", "exam", "exam_score", "exam_mark"]
    if gia is None or gia.empty:
        return pd.DataFrame(columns=cols)
    g = gia[gia["exam"].isin(["ЕГЭ", "ОГЭ"]) & gia["subject"].str.startswith(("Русский язык", "Математика"))].copy()
    g["z"] = g.groupby(["year", "exam", "subject"])["primary_score"].transform(lambda x: (x - x.mean()) / x.std())
    pupil = g.groupby(["year", "exam", "school_id", "student_code"])["z"].mean().reset_index()
    soft = {schools[i].school_id for i in lenient}
    cut = np.where(pupil["school_id"].isin(soft), 0.5, 1.2)
    pupil = pupil[pupil["z"] + rng.normal(0, 0.5, len(pupil)) > cut]
    c = g.merge(pupil[["year", "exam", "student_code"]], on=["year", "exam", "student_code"])
    score = c["test_score"].where(c["exam"] == "ЕГЭ")
    return pd.DataFrame({"year": c["year"].astype(int), "school_id": c["school_id"], "student_code": c["student_code"],
                         "subject": c["subject"], "annual_mark": 5, "exam": c["exam"], "exam_score": score,
                         "exam_mark": c["mark"]})[cols].sort_values(["year", "school_id", "student_code", "subject"])
