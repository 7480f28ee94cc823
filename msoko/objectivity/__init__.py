"""Objectivity diagnostics: the official ФИОКО signs, msoko's further evidence, the combined picture.

Public API
----------
``run_objectivity(tables, config) -> ObjectivityResult`` — ``.frame`` is the objectivity.parquet frame
(one row per year, school_id, grade, subject, sign; the index per year with
``school_id`` null). ``tables`` has the processed tables ``vpr``, ``vpr_tasks``,
``task_specs``, ``schools``, ``gia``; any may be missing (the signs that need it are
then not assessed). ``config`` is the municipal configuration
(``msoko.config.load_config()``); its ``[objectivity]`` section overrides
:data:`msoko.objectivity.core.DEFAULTS`. The result also holds ``.failures`` (the guarded steps
that raised, with a Russian message) and ``.timings`` (seconds per step): no module state.
``compute_objectivity(tables, config)`` returns the frame alone.

For reports (no recomputation of the whole region): :func:`sign_catalogue`,
:func:`school_card` (rows of one school with Russian status sentences),
:func:`cell_evidence` (picture data for one school × grade × subject × year),
:func:`cohort_table`; the plan of work (:mod:`msoko.objectivity.plan`, written by compute as
objectivity_plan.parquet); the calibration check (:mod:`msoko.objectivity.calibration`):
:func:`calibration_table` (written by compute as objectivity_calibration.parquet),
:func:`pvalue_histogram` and :func:`flag_rate_by_size` (with :func:`tasks_per_test`).

Columns of the frame: ``year, school_id, grade, subject, sign, value, threshold,
flagged`` (nullable boolean: null = not assessed), ``n, ci_low, ci_high, p_value``
(one-sided, msoko signs and Spearman), ``procedure`` ('ВПР'/'ОГЭ'), ``official``
(the sign belongs to the ФИОКО methodology), ``informativeness``
('информативна' n ≥ 50 / 'минимально' 20–49 / 'ограниченно' < 20) and ``detail``
(a Russian sentence with the numbers behind the value).

No text here calls a school dishonest: a sign is «признак, требующий внимания».
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
import warnings

import numpy as np
import pandas as pd

from msoko.errors import MsokoError
from msoko.objectivity import evidence as ev
from msoko.objectivity import official as off
from msoko.objectivity.combined import combined_rows
from msoko.objectivity.correlation import unrelated_rows
from msoko.objectivity.core import (CELL_KEYS, COLUMNS, DEFAULTS, OFFICIAL_SIGNS, empty_frame, finish,
                                    informativeness, prepare, settings)
from msoko.objectivity.official import cohort_table
from msoko.objectivity.calibration import (calibration_table, calibration_warnings, flag_rate_by_size,
                                         pvalue_histogram, tasks_per_test)

__all__ = ["compute_objectivity", "sign_catalogue", "school_card", "cell_evidence", "cohort_table",
           "picture_cells", "picture_evidence", "EVIDENCE_COLUMNS",
           "INFLATED_MEAN_NOTE", "ObjectivityResult", "run_objectivity", "STEP_SIGNS", "step_titles",
           "SIGNS", "DEFAULTS", "COLUMNS", "OFFICIAL_SIGNS", "settings", "informativeness",
           "calibration_table", "calibration_warnings", "pvalue_histogram", "flag_rate_by_size", "tasks_per_test"]

from msoko.vocabulary import SIGNS  # noqa: E402 - one vocabulary of signs, shared with the reports


INFLATED_MEAN_NOTE = (
    "Официальный признак «завышенный средний балл» сравнивает интервал школы с интервалом региона, "
    "построенным по всем участникам: при большом числе участников интервал региона очень узкий, и "
    "признак отмечает почти любую школу с результатами выше среднего — в том числе сильные гимназии и "
    "лицеи. Поэтому рядом показан собственный признак msoko «результат заметно выше, чем у похожих "
    "школ»: сравнение со школами того же типа и типа поселения с учётом обычного разброса между "
    "школами. Он не входит в официальный показатель и служит только для выбора, куда посмотреть.")


def sign_catalogue() -> pd.DataFrame:
    """sign, title (Russian), official, description — for legends and report tables."""
    return pd.DataFrame([(k, t, o, d) for k, (t, o, d) in SIGNS.items()],
                        columns=["sign", "title", "official", "description"])


# The signs each guarded step of compute_objectivity produces (a step missing here is one sign).
STEP_SIGNS: dict[str, tuple[str, ...]] = {
    "inflated_mean (ОГЭ)": ("inflated_mean",),
    "cohort": ("cohort_fall", "cohort_rise"),
    "marks": ("marks_lower", "marks_higher", "marks_far", "marks_far_below"),
    "vpr_tasks": ("tasks_basic_vs_advanced", "answer_similarity", "data_entry_template"),
}

def step_titles(step: str) -> str:
    """The Russian titles of the signs a guarded step produces, «…», «…»."""
    return ", ".join(f"«{SIGNS[s][0]}»" if s in SIGNS else f"«{s}»" for s in STEP_SIGNS.get(step, (step,)))


@dataclass
class ObjectivityResult:
    """What one run of the diagnostics gives: ``frame`` (objectivity.parquet), ``failures`` (the
    guarded steps that raised: ``step``, ``signs`` — the sign codes it should have produced —,
    ``error`` «ExceptionType: message», ``message_ru``), ``timings`` (seconds per step) and, when
    asked for, ``evidence`` (see :func:`compute_objectivity`)."""
    frame: pd.DataFrame
    failures: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    evidence: dict | None = None


class _Run:
    """The failures and timings of one run, filled by its guarded steps."""

    def __init__(self):
        self.failures: list[dict] = []
        self.timings: dict[str, float] = {}

    def failed(self, name: str, exc: Exception) -> None:
        """Record and warn that the step ``name`` raised: a MsokoError is the user's to fix,
        anything else is msoko's own error and is worded so."""
        error = f"{type(exc).__name__}: {exc}"
        reason = str(exc).rstrip(".") if isinstance(exc, MsokoError) else f"внутренняя ошибка msoko ({error})"
        signs = STEP_SIGNS.get(name, (name,))
        what = "Признаки" if len(signs) > 1 else "Признак"
        message = (f"{what} {step_titles(name)} ({', '.join(signs)}) не рассчитан{'ы' if len(signs) > 1 else ''}: "
                   f"{reason}.")
        self.failures.append({"step": name, "signs": signs, "error": error, "message_ru": message})
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    def guard(self, name: str, fn, *args, **kwargs) -> pd.DataFrame:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one sign must not stop the others; it is reported
            self.failed(name, exc)
            return empty_frame()
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


def compute_objectivity(tables: dict[str, pd.DataFrame], config: dict | None = None, *,
                        return_evidence: bool = False):
    """The objectivity frame, or ``(frame, evidence)`` with ``return_evidence=True`` — the frame
    of :func:`run_objectivity`, whose result also holds the failures and the timings."""
    res = run_objectivity(tables, config, evidence=return_evidence)
    return (res.frame, res.evidence) if return_evidence else res.frame


def run_objectivity(tables: dict[str, pd.DataFrame], config: dict | None = None, *,
                    evidence: bool = False) -> ObjectivityResult:
    """All signs, the combined picture and the indices (see the module docstring), with the
    steps that failed and the time of each step.

    With ``evidence=True`` the result's ``evidence`` holds
    region-level picture data: ``cohort`` (K per school with fences), ``bunching_reference``
    (region histogram with the smooth counterfactual), ``task_levels`` (basic/advanced
    completion per school, observed and expected).
    """
    cfg = settings(config)
    tables = tables or {}
    run = _Run()
    _guard, _failed = run.guard, run.failed
    t0 = time.perf_counter()
    prep = prepare(tables.get("vpr"))  # every sign needs it: a failure here stops the diagnostics (reported)
    run.timings["prepare"] = time.perf_counter() - t0
    og, osub = cfg["official_grades"], cfg["official_subjects"]
    eg, esub = cfg["evidence_grades"] or None, cfg["evidence_subjects"] or None
    parts = []
    # official
    parts.append(_guard("inflated_mean", off.inflated_mean_rows, prep.cells, prep.tests, cfg, "ВПР", og, osub))
    try:
        oc, ot = off.oge_cells(tables.get("gia"), cfg)
    except Exception as exc:  # noqa: BLE001 - the ВПР signs must still be computed
        _failed("inflated_mean (ОГЭ)", exc)
        oc = ot = empty_frame()
    if len(oc):
        parts.append(_guard("inflated_mean (ОГЭ)", off.inflated_mean_rows, oc, ot, {**cfg, "reference_stats": []},
                            "ОГЭ"))
    parts.append(_guard("journal_mismatch", off.journal_mismatch_rows, prep.students, prep.cells, cfg, og, osub))
    parts.append(_guard("cohort", off.cohort_rows, prep.cells, cfg))
    # msoko's further evidence
    parts.append(_guard("inflated_mean_similar", ev.inflated_mean_similar_rows, prep.cells, tables.get("schools"),
                        cfg, eg, esub))
    parts.append(_guard("marks", ev.marks_rows, prep.students, prep.cells, cfg, eg, esub))
    parts.append(_guard("marks_unrelated", unrelated_rows, prep.students, prep.cells, cfg, eg, esub))
    parts.append(_guard("high_not_confirmed", ev.high_not_confirmed_rows, prep.cells, prep.tests,
                        tables.get("schools"), tables.get("gia"), cfg, eg, esub))
    parts.append(_guard("score_swing", ev.swing_rows, prep.cells, prep.tests, cfg, eg, esub))
    ref_hist: list = []
    parts.append(_guard("bunching", ev.bunching_rows, prep.students, prep.tests, cfg, eg, esub,
                        keep_reference=ref_hist))
    levels: list = []
    tasks = tables.get("vpr_tasks")
    if tasks is not None and len(tasks) and len(prep.students):
        tm = _guard("vpr_tasks", ev.TaskMatrix, tasks, prep.students, tables.get("task_specs"), eg, esub)
        if isinstance(tm, ev.TaskMatrix):
            parts.append(_guard("tasks_basic_vs_advanced", ev.tasks_rows, tm, cfg, level_table=levels))
            template_works: dict = {}   # works of schools flagged for template entry: not copying evidence
            parts.append(_guard("data_entry_template", ev.template_rows, tm, cfg, exclude=template_works))
            parts.append(_guard("answer_similarity", ev.similarity_rows, tm, cfg, exclude=template_works))
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else empty_frame()
    comb = _guard("combined", combined_rows, rows, prep.cells, cfg, eg, esub)
    rows = pd.concat([rows, comb], ignore_index=True) if len(comb) else rows
    # the official index only: msoko's count of schools is the plan of work's (msoko.objectivity.plan, per
    # municipality in municipalities_summary), never a count of cell-level `combined` flags
    idx = off.index_rows(rows, OFFICIAL_SIGNS)
    out = pd.concat([x for x in (rows, idx) if len(x)], ignore_index=True) if len(rows) else empty_frame()
    out = finish(out, cfg)
    out = out.sort_values(["year", "sign", "school_id", "grade", "subject"], na_position="first",
                          kind="stable").reset_index(drop=True)
    if not evidence:
        return ObjectivityResult(out, run.failures, run.timings)
    evidence = {
        "cohort": cohort_table(prep.cells, cfg),
        "bunching_reference": pd.concat(ref_hist, ignore_index=True) if ref_hist else pd.DataFrame(),
        "task_levels": pd.concat(levels, ignore_index=True) if levels else pd.DataFrame(),
    }
    return ObjectivityResult(out, run.failures, run.timings, evidence)


STATUS = {True: "признак есть", False: "признака нет", None: "не оценивается"}


def school_card(objectivity: pd.DataFrame, school_id: str, year: int | None = None,
                only_flagged: bool = False) -> pd.DataFrame:
    """One school's signs as data for an evidence card.

    Columns: year, grade, subject, sign, title, official, status (Russian), value, threshold,
    ci_low, ci_high, n, informativeness, detail — official signs first, then msoko's.
    """
    o = objectivity.loc[objectivity["school_id"] == school_id]
    if year is not None:
        o = o.loc[o["year"] == year]
    if only_flagged:
        o = o.loc[o["flagged"].fillna(False).astype(bool)]
    o = o.copy()
    o["title"] = o["sign"].map(lambda s: SIGNS.get(s, (s,))[0])
    o["status"] = [STATUS[None if pd.isna(f) else bool(f)] for f in o["flagged"]]
    order = {s: i for i, s in enumerate(SIGNS)}
    o["_o"] = o["sign"].map(order).fillna(99)
    o = o.sort_values(["year", "grade", "subject", "official", "_o"], ascending=[True, True, True, False, True])
    return o[["year", "grade", "subject", "sign", "title", "official", "status", "value", "threshold", "ci_low",
              "ci_high", "n", "informativeness", "detail"]].reset_index(drop=True)


def cell_evidence(tables: dict[str, pd.DataFrame], config: dict | None, year: int, grade: int, subject: str,
                  school_id: str) -> dict[str, pd.DataFrame]:
    """Picture data for one school × grade × subject × year (computed for that test only).

    Keys: ``scores`` (score, observed, expected under the smooth counterfactual, window,
    boundary), ``journal`` (journal mark × ВПР mark counts), ``intervals`` (school and
    reference mean with 95 % intervals), ``similarity`` (pairs of works in a class with
    the number of identical task scores), ``tasks`` (basic/advanced completion,
    observed/expected/reference), ``swing`` (the school's standardised result by year and
    grade in this subject), ``cohort`` (K of every school for this subject with fences).
    """
    cfg = settings(config)
    vpr = tables.get("vpr")
    out: dict[str, pd.DataFrame] = {}
    if vpr is None or len(vpr) == 0:
        return out
    v = vpr.loc[(vpr["subject"] == subject)]
    prep = prepare(v)
    test = prep.students.loc[(prep.students["year"] == year) & (prep.students["grade"] == grade)]
    own = test.loc[test["school_id"] == school_id]
    out["scores"] = ev.school_bunching_curve(prep.students, prep.tests, cfg, year, grade, subject, school_id)
    j = own.dropna(subset=["journal_mark", "mark"])
    out["journal"] = (j.groupby(["journal_mark", "mark"]).size().rename("count").reset_index()
                      .astype({"journal_mark": "int64", "mark": "int64"}))
    cells = prep.cells.loc[(prep.cells["year"] == year) & (prep.cells["grade"] == grade)]
    z = float(cfg["z"])
    rows = []
    c = cells.loc[cells["school_id"] == school_id]
    if len(c):
        r = c.iloc[0]
        h = z * r["sd"] / np.sqrt(r["n"]) if r["n"] >= 2 else np.nan
        rows.append(("школа", r["mean"], r["mean"] - h, r["mean"] + h, int(r["n"])))
    t = prep.tests.loc[(prep.tests["year"] == year) & (prep.tests["grade"] == grade)]
    if len(t):
        r = t.iloc[0]
        h = z * r["sd"] / np.sqrt(r["n"])
        rows.append(("эталон (все школы)", r["mean"], r["mean"] - h, r["mean"] + h, int(r["n"])))
    out["intervals"] = pd.DataFrame(rows, columns=["group", "mean", "ci_low", "ci_high", "n"])
    tasks = tables.get("vpr_tasks")
    if tasks is not None and len(tasks):
        tt = tasks.loc[(tasks["year"] == year) & (tasks["grade"] == grade) & (tasks["subject"] == subject)]
        tm = ev.TaskMatrix(tt, prep.students, tables.get("task_specs"))
        out["similarity"] = ev.class_similarity_matrix(tm, year, grade, subject, school_id)
        lv: list = []
        ev.tasks_rows(tm, cfg, level_table=lv)
        out["tasks"] = (pd.concat(lv).query("school_id == @school_id").reset_index(drop=True) if lv
                        else pd.DataFrame())
    sw = ev.swing_table(prep.cells, prep.tests)
    out["swing"] = sw.loc[sw["school_id"] == school_id, ["year", "grade", "e", "n"]].rename(
        columns={"e": "standardised"}).sort_values(["year", "grade"]).reset_index(drop=True)
    ct = cohort_table(prep.cells, cfg)
    out["cohort"] = ct.loc[ct["subject"] == subject].reset_index(drop=True)
    return out


EVIDENCE_COLUMNS = ["year", "school_id", "grade", "subject", "kind", "score", "observed", "expected", "window",
                    "boundary", "group", "mean", "ci_low", "ci_high", "n"]


def picture_cells(objectivity: pd.DataFrame) -> pd.DataFrame:
    """``year, school_id, grade, subject`` of the works whose signs the reports draw: a flagged official
    sign or msoko's flagged ``combined`` picture (msoko.report.evidence draws no other)."""
    o = objectivity
    f = o.loc[o["school_id"].notna() & o["grade"].notna() & o["subject"].notna()
              & o["flagged"].fillna(False).astype(bool) & (o["official"].astype(bool) | (o["sign"] == "combined")),
              ["year", "school_id", "grade", "subject"]]
    return f.drop_duplicates().sort_values(["year", "school_id", "grade", "subject"]).reset_index(drop=True)


COHORT_COLUMNS = ["year", "subject", "school_id", "k", "flagged", "fence_low", "fence_high"]


def cohort_points(objectivity: pd.DataFrame | None) -> pd.DataFrame:
    """``objectivity_cohort.parquet``: the cohort ratio K (grade 4 in Y−1 → grade 5 in Y) of every school, one row
    per year × subject × school (``k``: the signs' value, ``flagged``: either cohort sign flagged), with the
    outlier fences of its year and subject (``fence_low``: the threshold of «cohort_rise», ``fence_high``: of
    «cohort_fall»). A school report draws its school among all of them; this small table lets a report that
    reads one municipality's rows of ``objectivity`` still draw every school's point."""
    empty = pd.DataFrame({c: [] for c in COHORT_COLUMNS}).astype(
        {"year": "int64", "subject": object, "school_id": object, "k": "float64", "flagged": bool,
         "fence_low": "float64", "fence_high": "float64"})
    if objectivity is None or objectivity.empty:
        return empty
    o = objectivity
    d = o[o["sign"].isin(["cohort_fall", "cohort_rise"]) & o["school_id"].notna() & o["subject"].notna()]
    if d.empty:
        return empty
    g = d.groupby(["year", "subject", "school_id"]).agg(
        k=("value", "first"), flagged=("flagged", lambda s: bool(s.fillna(False).any()))).reset_index()

    def fence(sign: str, name: str) -> pd.DataFrame:
        t = d[d["sign"] == sign].dropna(subset=["threshold"]).groupby(["year", "subject"])["threshold"].first()
        return t.rename(name).reset_index()

    g = g.merge(fence("cohort_rise", "fence_low"), on=["year", "subject"], how="left") \
        .merge(fence("cohort_fall", "fence_high"), on=["year", "subject"], how="left")
    g["year"] = g["year"].astype("int64")
    g["school_id"] = g["school_id"].astype(str)
    g["flagged"] = g["flagged"].astype(bool)
    return g[COHORT_COLUMNS].sort_values(["year", "subject", "school_id"]).reset_index(drop=True)


def picture_evidence(tables: dict[str, pd.DataFrame], config: dict | None, objectivity: pd.DataFrame) -> pd.DataFrame:
    """``objectivity_evidence.parquet``: the picture data of every work of :func:`picture_cells`, so that
    the reports draw without recomputing. Long format, :data:`EVIDENCE_COLUMNS`: ``kind`` «scores» — the
    school's score counts with the bunching sign's own expectation (``score, observed, expected, window,
    boundary``; :func:`msoko.objectivity.evidence.school_bunching_curve`); ``kind`` «intervals» — the
    school's and the reference's mean primary score with the 95 % intervals of the official sign
    (``group`` «школа» / «эталон (все школы)», ``mean, ci_low, ci_high, n``). The same numbers as
    :func:`cell_evidence` gives for one work."""
    cells = picture_cells(objectivity) if objectivity is not None and len(objectivity) else pd.DataFrame()
    if not len(cells) or tables.get("vpr") is None:
        return pd.DataFrame({c: [] for c in EVIDENCE_COLUMNS}).astype(
            {"year": "int64", "grade": "int64", "score": "float64", "observed": "float64", "expected": "float64",
             "mean": "float64", "ci_low": "float64", "ci_high": "float64", "n": "float64"})
    cfg = settings(config)
    prep = prepare(tables["vpr"])
    z = float(cfg["z"])
    cix = prep.cells.set_index(CELL_KEYS)
    tix = prep.tests.set_index(["year", "grade", "subject"])
    parts, keys = [], []   # keys: (kind, year, school, grade, subject) of each part, set once after the concat
    curves: dict = {}   # per work: what every school's picture of it shares
    for y, sid, g, subj in zip(cells["year"].astype(int), cells["school_id"], cells["grade"].astype(int),
                               cells["subject"]):
        sc = ev.school_bunching_curve(prep.students, prep.tests, cfg, y, g, subj, sid, cache=curves)
        if len(sc):
            parts.append(sc)
            keys += [("scores", y, sid, g, subj)] * len(sc)
        rows = []
        if (y, g, subj, sid) in cix.index:
            r = cix.loc[(y, g, subj, sid)]
            h = z * r["sd"] / np.sqrt(r["n"]) if r["n"] >= 2 else np.nan
            rows.append(("школа", r["mean"], r["mean"] - h, r["mean"] + h, int(r["n"])))
        if (y, g, subj) in tix.index:
            r = tix.loc[(y, g, subj)]
            h = z * r["sd"] / np.sqrt(r["n"])
            rows.append(("эталон (все школы)", r["mean"], r["mean"] - h, r["mean"] + h, int(r["n"])))
        if rows:
            parts.append(pd.DataFrame(rows, columns=["group", "mean", "ci_low", "ci_high", "n"]))
            keys += [("intervals", y, sid, g, subj)] * len(rows)
    if parts:
        out = pd.concat(parts, ignore_index=True)
        out = out.assign(**{c: [k[i] for k in keys] for i, c in enumerate(["kind", "year", "school_id", "grade",
                                                                          "subject"])})
    else:
        out = pd.DataFrame(columns=EVIDENCE_COLUMNS)
    out = out.reindex(columns=EVIDENCE_COLUMNS)
    for c in ("score", "observed", "expected", "mean", "ci_low", "ci_high", "n"):
        out[c] = pd.to_numeric(out[c]).astype("float64")
    for c in ("window", "boundary"):
        out[c] = pd.array(out[c].astype(object).where(out[c].notna(), None), dtype="boolean")
    out["year"] = out["year"].astype("int64")
    out["grade"] = out["grade"].astype("int64")
    return out

