"""ВПР results: an item-response model on the children's persistent abilities,
journal marks with a school leniency, absences, and the planted manipulations.

Item model (graded response, 2PL per step): for task j with maximum m_j,
``P(X ≥ k | θ) = σ(a_j (θ − b_j − d_k))``, ``d_k`` spread ±0.45 per step around the task
difficulty ``b_j``; ``b_j`` follows the task level (Б ≈ −0.7, П ≈ +0.5, В ≈ +1.3),
``a_j ∈ [0.9, 1.7]``. For each grade and subject the ability is ``c + k·θ``: ``c`` and ``k``
are fitted once (first year, clean data) to the real region's shares of «2» and «5»
(``calibration.csv``, derived from the real 2021 exports; mean and SD of the % of the
maximum where no scale is known), and then kept, so later years move with the children.
The real exports bunch at the mark boundaries (e.g. grade 5 maths: 18.7 % at exactly 7
points, 1.5 % at 6); clean demo cells do not — bunching is planted only (boundary_push).

Journal mark: latent ``θ + leniency_school + N(0, 0.45)`` cut at the quantiles of the real
distribution of «2»…«5» for the grade and subject.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from msoko.demo.model import SUBJECT_KEY, Population, School
from msoko.demo.subjects import COMBOS, CORE

LEVEL_B = {"Б": (-0.7, 0.45), "П": (0.5, 0.45), "В": (1.3, 0.35), "": (-0.3, 0.6)}
JOURNAL_NOISE = 0.45
YEAR_NOISE = 0.3
X_SHARE = 0.2  # share of zero task scores written as 'X' (task not attempted)

STRENGTHS = ("weak", "moderate", "strong")
KINDS = ("boundary_push", "inflated_scores", "inflated_journal", "answer_copying", "cohort_spike")
PARAMS = {
    "boundary_push": {"weak": {"window": 1, "p": 0.5}, "moderate": {"window": 2, "p": 0.7},
                      "strong": {"window": 3, "p": 0.9}},
    "inflated_scores": {"weak": {"delta": 0.35}, "moderate": {"delta": 0.65}, "strong": {"delta": 1.0}},
    "inflated_journal": {"weak": {"p": 0.45}, "moderate": {"p": 0.7}, "strong": {"p": 0.95}},
    "answer_copying": {"weak": {"share": 0.25}, "moderate": {"share": 0.45}, "strong": {"share": 0.7}},
    "cohort_spike": {"weak": {"delta": 0.5}, "moderate": {"delta": 0.85}, "strong": {"delta": 1.3}},
}


def _res(name: str):
    return resources.files("msoko.demo") / name


@lru_cache(maxsize=1)
def spec_rows() -> pd.DataFrame:
    with _res("specs.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def spec_headers() -> dict:
    return json.loads(_res("spec_headers.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def textbooks() -> dict:
    return json.loads(_res("textbooks.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def calibration() -> pd.DataFrame:
    with _res("calibration.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh).set_index(["grade", "subject"])


def tasks_of(grade: int, subject: str) -> pd.DataFrame:
    """One row per task: task (str), max_score (int), level ('Б'/'П'/'В'/'')."""
    d = spec_rows()
    d = d[(d.grade == str(grade)) & (d.subject == subject)].drop_duplicates("task")
    return pd.DataFrame({"task": d.task.to_numpy(), "max_score": d.max_score.astype(int).to_numpy(),
                         "level": d.level.to_numpy()})


@lru_cache(maxsize=1)
def _scales() -> pd.DataFrame:
    try:
        from msoko.marks import load_scales
        return load_scales()
    except Exception:  # noqa: BLE001 — the demo still works without the scale file
        return pd.DataFrame(columns=["year", "grade", "subject", "min3", "min4", "min5"])


def scale_for(year: int, grade: int, subject: str, with_year: bool = False):
    """Mark boundaries (min3, min4, min5): the scale of the year, else the latest earlier one,
    else the earliest; ``with_year`` adds the year of the scale used in front."""
    s = _scales()
    s = s[(s.grade == grade) & (s.subject == subject)]
    if s.empty:
        return None
    before = s[s.year <= year]
    r = (before.sort_values("year").iloc[-1] if len(before) else s.sort_values("year").iloc[0])
    out = (int(r.min3), int(r.min4), int(r.min5))
    return ((int(r.year),) + out) if with_year else out


@dataclass
class Items:
    a: np.ndarray       # (J,)
    b: np.ndarray       # (J,)
    max: np.ndarray     # (J,) int

    def __post_init__(self):
        # all score steps of all tasks side by side: step k of task j has the threshold
        # b_j + d_k (d_k spread ±0.45 around the task difficulty)
        a_s, t_s, task_of, k_of = [], [], [], []
        for j, m in enumerate(self.max):
            m = int(m)
            d = (np.arange(1, m + 1) - (m + 1) / 2) * 0.9 / max(m - 1, 1) * 2 if m > 1 else np.zeros(1)
            a_s += [self.a[j]] * m
            t_s += list(self.b[j] + d)
            task_of += [j] * m
            k_of += list(range(1, m + 1))
        self.step_a = np.array(a_s)
        self.step_t = np.array(t_s)
        self.step_task = np.array(task_of)
        self.step_w2 = 2 * np.array(k_of) - 1.0          # E[X²] = Σ_k (2k − 1)·P(X ≥ k)
        self.starts = np.r_[0, np.cumsum(self.max)[:-1]].astype(int)


def make_items(rng: np.random.Generator, tasks: pd.DataFrame) -> Items:
    mu = np.array([LEVEL_B.get(lv, LEVEL_B[""])[0] for lv in tasks.level])
    sd = np.array([LEVEL_B.get(lv, LEVEL_B[""])[1] for lv in tasks.level])
    return Items(a=rng.uniform(0.9, 1.7, len(tasks)), b=rng.normal(mu, sd), max=tasks.max_score.to_numpy())


def _p_steps(theta: np.ndarray, it: Items) -> np.ndarray:
    """(n, steps) P(X_j ≥ k | θ) of the graded response model."""
    return 1 / (1 + np.exp(-it.step_a * (theta[:, None] - it.step_t)))


def expected_pct(theta: np.ndarray, it: Items) -> np.ndarray:
    return _p_steps(theta, it).sum(1) / it.max.sum() * 100


def total_moments(theta: np.ndarray, it: Items) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the total score given θ (tasks independent given θ)."""
    p = _p_steps(theta, it)
    e = np.add.reduceat(p, it.starts, axis=1)
    e2 = np.add.reduceat(p * it.step_w2, it.starts, axis=1)
    return e.sum(1), (e2 - e ** 2).sum(1)


def draw_scores(rng: np.random.Generator, theta: np.ndarray, it: Items, variant: np.ndarray) -> np.ndarray:
    """(n, J) int8 task scores: one uniform per child and task, score = number of steps
    whose P(X ≥ k) exceeds it; variant 2 items are slightly harder."""
    n, J = len(theta), len(it.a)
    shift = np.where(variant == 2, 0.05, -0.05)
    u = rng.random((n, J))
    p = _p_steps(theta - shift, it)
    hit = (u[:, it.step_task] < p).astype(np.int8)
    return np.add.reduceat(hit, it.starts, axis=1).astype(np.int8)


def calibrate(theta: np.ndarray, it: Items, mean_pct: float, sd_pct: float,
              weight: np.ndarray) -> tuple[float, float]:
    """(c, k) such that scores of ``c + k·z`` (z = standardised θ) have the target mean and SD
    of % of max among the present children (``weight`` = probability to be present)."""
    step = max(1, len(theta) // 600)
    th, w = theta[::step], weight[::step]
    th = (th - theta.mean()) / (theta.std() or 1.0)
    w = w / w.sum()
    k = 1.0
    u = np.random.default_rng(12345)
    variant = np.ones(len(th), dtype=int)
    for _ in range(4):
        lo, hi = -4.0, 4.0
        for _ in range(22):
            c = (lo + hi) / 2
            if (expected_pct(c + k * th, it) * w).sum() < mean_pct:
                lo = c
            else:
                hi = c
        sc = draw_scores(u, c + k * th, it, variant).sum(1) / it.max.sum() * 100
        sd = np.sqrt((w * (sc - (w * sc).sum()) ** 2).sum())
        k = float(np.clip(k * (sd_pct / sd) ** 1.3, 0.3, 4.0)) if sd > 0 else k
    return c, k


def calibrate_marks(theta: np.ndarray, it: Items, m2: float, m5: float, bounds: tuple[int, int, int],
                    weight: np.ndarray) -> tuple[float, float]:
    """(c, k) such that among present children the share of «2» (score < min3) is ``m2`` and the
    share of «5» (score ≥ min5) is ``m5`` — the real mark distribution, whose bunching at the
    boundaries a clean model does not copy, is matched at its two ends instead of by mean and SD.
    The total given θ is taken as normal with the model's mean and variance (continuity-corrected)."""
    from scipy.special import ndtr

    order = np.argsort(theta, kind="stable")
    cw = np.cumsum(weight[order])
    q = (np.arange(300) + 0.5) / 300 * cw[-1]
    th = theta[order][np.searchsorted(cw, q)]          # 300 weighted quantiles of θ
    th = (th - theta.mean()) / (theta.std() or 1.0)
    b3, _, b5 = bounds

    def shares(c, k):
        mu, var = total_moments(c + k * th, it)
        sd = np.sqrt(var + 1e-9)
        return ndtr((b3 - 0.5 - mu) / sd).mean(), 1 - ndtr((b5 - 0.5 - mu) / sd).mean()

    def fit_c(k):
        lo, hi = -6.0, 6.0
        for _ in range(30):
            c = (lo + hi) / 2
            if shares(c, k)[0] > m2:
                lo = c
            else:
                hi = c
        return (lo + hi) / 2

    lo, hi = 0.2, 4.0
    for _ in range(25):
        k = (lo + hi) / 2
        if shares(fit_c(k), k)[1] < m5:
            lo = k
        else:
            hi = k
    k = (lo + hi) / 2
    return fit_c(k), k


def _class_labels(school: School, n: int, grade: int) -> tuple[np.ndarray, int]:
    """Class letter per roster slot, and the number of classes."""
    n_cls = max(1, int(round(n / max(school.class_size, 1.0))))
    n_cls = min(n_cls, 5)
    letters = "абвгд" if not school.upper_case_letters else "АБВГД"
    idx = (np.arange(n) * n_cls) // max(n, 1)
    if n_cls == 1 and school.no_letter:
        return np.array(["нет"] * n, dtype=object), 1
    return np.array([letters[i] for i in idx], dtype=object), n_cls


def subject_plan(rng: np.random.Generator, school: School, grade: int, n_cls: int) -> dict[str, np.ndarray]:
    """Which classes write which subject: {subject: bool mask over classes}."""
    subjects = [s for g, s in COMBOS if g == grade]
    plan = {}
    if grade in (4, 5):
        return {s: np.ones(n_cls, bool) for s in subjects}
    if grade in (6, 7, 8):
        others = [s for s in subjects if s not in CORE]
        k = {6: 2, 7: 4, 8: 2}[grade]
        masks = {s: np.zeros(n_cls, bool) for s in others}
        for c in range(n_cls):
            for s in rng.choice(others, size=min(k, len(others)), replace=False):
                masks[str(s)][c] = True
        plan = {s: np.ones(n_cls, bool) for s in CORE}
        plan.update(masks)
        return plan
    if grade == 10:
        return {"География": np.full(n_cls, rng.random() < 0.25)}
    if grade == 11:
        chosen = rng.choice(subjects, size=4, replace=False)
        return {s: np.full(n_cls, s in chosen) for s in subjects}
    return {}


def choose_cells(rng: np.random.Generator, schools: list[School], years: tuple[int, int],
                 members: pd.DataFrame) -> pd.DataFrame:
    """Planted manipulation cells: kind × strength × m cells (m = 2 + n_schools·n_years/60)."""
    y1, y2 = years
    n_years = y2 - y1 + 1
    size = members.groupby(["year", "school", "grade"]).size()
    eligible_schools = [s.idx for s in schools if s.org_type != "коррекционная школа"]
    n_manip = max(3, int(round(0.45 * len(eligible_schools))))
    manip = set(rng.choice(eligible_schools, size=min(n_manip, len(eligible_schools)), replace=False).tolist())
    cand = []
    for (y, sc, g), n in size.items():
        if sc in manip and 4 <= g <= 8 and n >= 12:
            for subj in ("Русский язык", "Математика"):
                cand.append((int(y), int(sc), int(g), subj))
    order = rng.permutation(len(cand))
    cand = [cand[i] for i in order]
    m = 2 + (len(schools) * n_years) // 60
    used: set = set()
    rows = []

    def free(cell):
        return cell not in used

    for kind in KINDS:
        for strength in STRENGTHS:
            got = 0
            for cell in cand:
                if got >= m:
                    break
                y, sc, g, subj = cell
                if not free(cell):
                    continue
                if kind == "cohort_spike":
                    partner = (y + 1, sc, 5, subj)
                    if g != 4 or y + 1 > y2 or (y + 1, sc, 5) not in size.index or not free(partner):
                        continue
                    used.add(partner)
                elif kind == "boundary_push" and g > 8:
                    continue
                used.add(cell)
                rows.append(dict(year=y, school=sc, grade=g, subject=subj, kind=kind, strength=strength))
                got += 1
    # no other manipulation may sit in the grade-5 partner cell of a cohort spike, nor may a
    # spike's grade-4 cell be the partner of another one: enforced by `used` above.
    return pd.DataFrame(rows, columns=["year", "school", "grade", "subject", "kind", "strength"])


def _push_to_boundaries(rng, scores, it: Items, bounds, window, p, present):
    total = scores.sum(1).astype(int)
    pushed = np.zeros(len(total), bool)
    for b in bounds:
        near = present & (total >= b - window) & (total < b) & (rng.random(len(total)) < p)
        for i in np.flatnonzero(near):
            need = b - total[i]
            room = it.max - scores[i]
            for j in rng.permutation(np.flatnonzero(room > 0)):
                add = min(need, room[j])
                scores[i, j] += add
                need -= add
                if need == 0:
                    break
            total[i] = scores[i].sum()
            pushed[i] = True
    return int(pushed.sum())


@dataclass
class VprCell:
    """One (year, grade, subject) workbook worth of rows, in file order."""
    year: int
    grade: int
    subject: str
    school: np.ndarray        # school index
    slot: np.ndarray
    cls: np.ndarray           # class label (object)
    sex: np.ndarray
    absent: np.ndarray
    variant: np.ndarray       # 1/2 (0 for absent)
    journal: np.ndarray       # 2..5 (0 for absent)
    scores: np.ndarray        # (n, J) int8, -1 = 'X'
    textbook: np.ndarray      # object


def generate_vpr(rng: np.random.Generator, schools: list[School], pop: Population,
                 years: tuple[int, int], truth_cells: pd.DataFrame, params_out: dict):
    """Yield a VprCell per (year, grade, subject); fill ``params_out`` with the parameters
    of the planted manipulations ({(year, school, grade, subject): dict})."""
    persons = pop.persons
    members = pop.members
    y1, y2 = years
    tb = textbooks()
    cal = calibration()
    items: dict = {}
    fit: dict = {}
    cuts: dict = {}
    # class plans: the same classes within a (year, school, grade) across subjects
    # classes and which classes write which subject, per (year, grade): members are stored
    # school by school with consecutive roster slots, so each school is one contiguous block
    blocks: dict = {}
    for (y, g), gm in members.groupby(["year", "grade"], sort=True):
        sc_arr = gm.school.to_numpy()
        starts = np.flatnonzero(np.r_[True, sc_arr[1:] != sc_arr[:-1]])
        ends = np.r_[starts[1:], len(sc_arr)]
        cls_lab = np.empty(len(sc_arr), dtype=object)
        cls_idx = np.zeros(len(sc_arr), dtype=np.int64)
        plan_list = []
        for a, b in zip(starts, ends):
            sc = int(sc_arr[a])
            lab, n_cls = _class_labels(schools[sc], b - a, g)
            cls_lab[a:b] = lab
            cls_idx[a:b] = (np.arange(b - a) * n_cls) // (b - a)
            plan_list.append(subject_plan(rng, schools[sc], g, n_cls))
        blocks[(y, g)] = (gm, starts, ends, cls_lab, cls_idx, plan_list)
    tcell = {(r.year, r.school, r.grade, r.subject): r for r in truth_cells.itertuples(index=False)}
    spike_shift = {}
    for r in truth_cells.itertuples(index=False):
        if r.kind in ("inflated_scores", "cohort_spike"):
            spike_shift[(r.year, r.school, r.grade, r.subject)] = PARAMS[r.kind][r.strength]["delta"]
    item_seed = int(rng.integers(0, 2**31))
    sex_all = np.asarray(persons.sex.to_numpy(), dtype=object)
    lenient = np.array([s.leniency for s in schools])
    th_year = {}
    for year in range(y1, y2 + 1):
        year_noise = rng.normal(0, YEAR_NOISE, len(persons))
        th_year[year] = year_noise
        for grade, subject in COMBOS:
            if (year, grade) not in blocks:
                continue
            gm, starts, ends, cls_lab, cls_idx, plan_list = blocks[(year, grade)]
            take = np.zeros(len(gm), dtype=bool)
            for a, b, plan in zip(starts, ends, plan_list):
                pl = plan.get(subject)
                if pl is not None:
                    take[a:b] = pl[cls_idx[a:b]]
            if not take.any():
                continue
            rows = pd.DataFrame({"pid": gm.pid.to_numpy()[take], "school": gm.school.to_numpy()[take],
                                 "slot": gm.slot.to_numpy()[take], "cls": cls_lab[take]})
            n = len(rows)
            pid = rows.pid.to_numpy()
            sc_idx = rows.school.to_numpy()
            key = SUBJECT_KEY[subject]
            theta = persons[key].to_numpy()[pid] + year_noise[pid]
            combo = (grade, subject)
            if combo not in items:
                tasks = tasks_of(grade, subject)
                irng = np.random.default_rng([item_seed, grade, sum(map(ord, subject))])
                items[combo] = make_items(irng, tasks)
                cr = cal.loc[combo]
                w = 1 - np.clip(cr.absent * np.exp(-0.35 * (theta - theta.mean())), 0, 0.6)
                bounds = scale_for(2021, grade, subject)
                if bounds and not np.isnan(cr.m2):
                    ck = calibrate_marks(theta, items[combo], float(cr.m2), float(cr.m5), bounds, w)
                else:
                    ck = calibrate(theta, items[combo], float(cr.mean_pct), float(cr.sd_pct), w)
                fit[combo] = ck + (float(theta.mean()), float(theta.std() or 1.0))
                # journal cut points on the clean latent of the first year
                lat = theta + lenient[sc_idx]
                lat = lat + rng.normal(0, JOURNAL_NOISE, n)
                q = np.cumsum([cr.j2, cr.j3, cr.j4]) / (cr.j2 + cr.j3 + cr.j4 + cr.j5)
                cuts[combo] = np.quantile(lat, q)
            it = items[combo]
            c, k, t_mean, t_sd = fit[combo]
            shift = np.zeros(n)
            for (yy, ss, gg, subj), d in spike_shift.items():
                if yy == year and gg == grade and subj == subject:
                    shift[sc_idx == ss] = d
            # absences: less able children are absent more often
            cr = cal.loc[combo]
            p_abs = cr.absent * np.exp(-0.35 * (theta - theta.mean()))
            absent = rng.random(n) < np.clip(p_abs, 0, 0.6)
            variant = np.where(rows.slot.to_numpy() % 2 == 0, 1, 2)
            scores = draw_scores(rng, c + k * (theta - t_mean) / t_sd + shift, it, variant)
            # journal marks
            lat = theta + lenient[sc_idx] + rng.normal(0, JOURNAL_NOISE, n)
            journal = 2 + np.searchsorted(cuts[combo], lat)
            # manipulations that act after scoring
            copies = []
            for (yy, ss, gg, subj), r in tcell.items():
                if yy != year or gg != grade or subj != subject:
                    continue
                m = (sc_idx == ss)
                info = dict(PARAMS[r.kind][r.strength])
                pres = m & ~absent
                if r.kind == "boundary_push":
                    bounds = scale_for(year, grade, subject)
                    info["boundaries"] = list(bounds) if bounds else None
                    if bounds:
                        info["n_pushed"] = _push_to_boundaries(rng, scores, it, bounds, info["window"],
                                                               info["p"], pres)
                elif r.kind == "inflated_journal":
                    hit = pres & (rng.random(n) < info["p"])
                    # marks unrelated, even opposed, to the work and inflated: «4»/«5» for the weak
                    z = theta[hit]
                    z = (z - z.mean()) / (z.std() or 1.0) if len(z) > 1 else z * 0
                    inv = -z + rng.normal(0, 0.5, hit.sum())
                    journal[hit] = np.where(inv > 0.4, 5, np.where(inv > -0.8, 4, 3))
                    info["n_changed"] = int(hit.sum())
                elif r.kind == "answer_copying":
                    cls = rows.cls.to_numpy()
                    cand_cls = pd.Series(cls[pres]).value_counts()
                    the_cls = cand_cls.index[0]
                    inc = np.flatnonzero(pres & (cls == the_cls))
                    tot = scores[inc].sum(1)
                    order = inc[np.argsort(tot, kind="stable")]
                    src = order[int(len(order) * 0.75)] if len(order) > 1 else order[0]
                    others = inc[inc != src]
                    k_copy = max(2, int(round(info["share"] * len(inc))))
                    cp = rng.choice(others, size=min(k_copy, len(others)), replace=False)
                    scores[cp] = scores[src]
                    variant[cp] = variant[src]
                    copies.append((cp, src))
                    info.update(cls=str(the_cls), n_copied=int(len(cp)), source_code=int(grade * 10000 + rows.slot.iloc[src] + 1))
                elif r.kind in ("inflated_scores", "cohort_spike"):
                    info["n"] = int(pres.sum())
                    if r.kind == "cohort_spike":
                        info["partner"] = f"{year + 1}/5/{subject}"
                params_out[(yy, ss, gg, subj)] = info
            # 'X' for some zero scores (not attempted); absent rows have no scores
            xs = (scores == 0) & (rng.random(scores.shape) < X_SHARE)
            scores = scores.astype(np.int8)
            scores[xs] = -1
            for cp, src in copies:          # copied answer strings stay identical, 'X' included
                scores[cp] = scores[src]
            t_opts = tb.get(f"{grade}/{subject}", [""])
            school_tb = np.array([t_opts[(s * 7 + grade) % len(t_opts)] for s in range(len(schools))], dtype=object)
            yield VprCell(year, grade, subject, sc_idx, rows.slot.to_numpy(), rows.cls.to_numpy(),
                          sex_all[pid], absent, np.where(absent, 0, variant),
                          np.where(absent, 0, journal), scores, school_tb[sc_idx])


def write_vpr_cell(path, cell: VprCell, schools: list[School], n_trailing: int) -> int:
    from msoko.demo.xlsx import write_xlsx

    J = cell.scores.shape[1]
    header = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
              "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов"]
    header += [f"балл за {j + 1}" for j in range(J)]
    header += ["Учебник", "Др.уч. автор", "Др.уч. название"] + [None] * n_trailing
    n = len(cell.slot)
    ab = cell.absent
    logins = [s.school_id for s in schools]
    munis = sorted({s.municipality for s in schools})
    muni_code = np.array([munis.index(s.municipality) for s in schools], dtype=np.int64)
    max_slot = int(cell.slot.max()) + 1 if n else 1
    nums = [str(i + 1) for i in range(max_slot)]
    codes = [str(cell.grade * 10000 + i + 1) for i in range(max_slot)]
    none = np.zeros(n, dtype=np.int64)
    score_vocab = [str(v) for v in range(0, 11)] + ["X", None]   # code 11 = X, 12 = empty
    sc = np.where(cell.scores < 0, 11, cell.scores).astype(np.int64)
    sc[ab] = 12
    total = np.where(cell.scores < 0, 0, cell.scores).sum(1)
    tot_vocab = [str(v) for v in range(int(total.max()) + 1 if n else 1)] + [None]
    tot_codes = np.where(ab, len(tot_vocab) - 1, total)
    cols = [
        (cell.school, logins), (muni_code[cell.school], munis), (cell.slot, nums), (cell.slot, codes),
        (np.where(ab, 0, cell.journal - 1), [None, "2", "3", "4", "5"]),
        np.where(ab, None, cell.sex), np.where(ab, None, cell.cls),
        (np.where(ab, 0, cell.variant), ["отсутствовал", "1", "2"]),
        (tot_codes, tot_vocab),
    ]
    cols += [(sc[:, j], score_vocab) for j in range(J)]
    cols += [np.where(ab, None, cell.textbook), (none, [None]), (none, [None])]
    cols += [(none, [None])] * n_trailing
    write_xlsx(path, header, cols)
    return n
