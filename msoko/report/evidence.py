"""Pictures of the evidence behind a school's objectivity signs.
"""
from __future__ import annotations


import pandas as pd

from msoko.vocabulary import OFFICIAL_SIGNS
from msoko.report.data import ReportData, sufficiency_thresholds
from msoko.report.vpr import journal_comparison, level_completion, mark_boundaries
from msoko.report.signs import bunching_data, cohort_fences, cohort_k_data, mean_intervals
from msoko.report.common import _vpr_source

from msoko.report.section import Section


SIGNS_INTERVAL = {"inflated_mean", "inflated_mean_similar", "high_not_confirmed", "score_swing", "combined"}
SIGNS_BUNCHING = {"bunching", "combined"}
SIGNS_COHORT = {"cohort_fall", "cohort_rise"}
SIGNS_JOURNAL = {"journal_mismatch", "marks_lower", "marks_unrelated", "marks_higher", "marks_far", "marks_far_below", "combined"}
SIGNS_TASKS = {"tasks_basic_vs_advanced"}


MAX_EVIDENCE_CELLS = 4   # pictures per school (school report)
MAX_CARDS = 30           # evidence cards in the objectivity report
EXPECTED_LABEL = "Ожидаемое: распределение остальных школ, приведённое к числу участников"


def _evidence_charts(sec: Section, data: ReportData, school_id: str, year: int, grade, subject, signs: set[str], *,
                     titled: bool = False) -> None:
    """The pictures behind the signs of one school × work, side by side (under the work's name
    when ``titled``: where no heading names it already)."""
    from msoko import plots

    if pd.isna(grade) or pd.isna(subject):
        return
    grade, subject = int(grade), str(subject)
    kw: dict = {}
    if signs & SIGNS_INTERVAL:
        kw["intervals"] = mean_intervals(data, school_id, year, grade, subject)
    if signs & SIGNS_BUNCHING:
        kw["bunching"] = bunching_data(data, school_id, year, grade, subject)
        kw["boundaries"] = mark_boundaries(data, year, grade, subject)
    if signs & SIGNS_JOURNAL:
        kw["journal"] = journal_comparison(data, school_id, year, grade, subject)
    if signs & SIGNS_TASKS:
        kw["levels"] = level_completion(data, school_id, year, grade, subject)
        kw["thresholds"] = sufficiency_thresholds(data, year)
    if signs & SIGNS_COHORT:
        kw["cohort"] = cohort_k_data(data, year, subject)
        kw["cohort_fences"] = cohort_fences(data, year, subject)
        kw["highlight"] = school_id
    fig = plots.evidence_panel(source=_vpr_source(year), expected_label=EXPECTED_LABEL,
                               title=f"{subject}, {grade} класс" if titled else None, **kw)
    if fig is not None:
        sec.figure(fig)


def _picture_cells(d: pd.DataFrame, max_cells: int) -> list[tuple]:
    """Works (grade, subject) whose signs get pictures: official signs or msoko's combined judgement;
    at most ``max_cells``, in class and subject order."""
    key = d[d["sign"].isin(list(OFFICIAL_SIGNS) + ["combined"])].dropna(subset=["grade", "subject"])
    cells = sorted({(int(g), str(s)) for g, s in zip(key["grade"], key["subject"])})
    return cells[:max_cells]


