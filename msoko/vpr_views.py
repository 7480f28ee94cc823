"""The distribution views of ВПР that the reports draw, computed once by ``msoko compute``.

Two output tables (declared in ``resources/output_schema.toml``):

- ``vpr_works``: one row per work (year × grade × subject): participants with a score, schools,
  the maximum primary score, and the lowest primary score seen with each mark «3», «4», «5»
  (the boundaries as the export applied them: marks are data, not code);
- ``vpr_score_counts``: how many participants got each whole primary score, per school and per
  municipality (``level`` = school | municipality, ``school_id`` holds the municipality's name at
  the municipal level, as in ``indicators.parquet``); only non-zero counts are stored, ``n`` is
  the group's participants with a score (absent pupils are not counted). The reports suppress groups under 5 themselves.

Scores are rounded to whole points (half to even, numpy's rule) before counting, as the
score-distribution chart has one bar per point.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

WORK = ["year", "grade", "subject"]
WORKS_COLUMNS = WORK + ["participants", "schools", "max_score", "mark3_min", "mark4_min", "mark5_min"]
COUNTS_COLUMNS = ["year", "level", "school_id", "grade", "subject", "score", "count", "n"]


def _scored(vpr: pd.DataFrame) -> pd.DataFrame:
    """Rows of participants who wrote the work and have a score (an absent pupil is not a participant)."""
    keep = vpr["primary_score"].notna()
    if "absent" in vpr:
        keep &= ~vpr["absent"].fillna(False).astype(bool)
    return vpr.loc[keep, [c for c in ("year", "grade", "subject", "school_id",
                                                             "primary_score", "max_score", "mark")
                                                  if c in vpr.columns]]


def vpr_works(vpr: pd.DataFrame) -> pd.DataFrame:
    """One row per work: participants with a score, schools, maximum score, lowest score of marks 3–5.

    ``max_score`` is the work's declared maximum (the largest one where rows disagree) or, when the
    export has none, the highest score seen."""
    if vpr is None or not len(vpr):
        return pd.DataFrame(columns=WORKS_COLUMNS)
    d = _scored(vpr)
    if not len(d):
        return pd.DataFrame(columns=WORKS_COLUMNS)
    g = d.groupby(WORK, sort=True, observed=True)
    out = pd.DataFrame({"participants": g.size(), "schools": g["school_id"].nunique()})
    declared = g["max_score"].max() if "max_score" in d else pd.Series(np.nan, index=out.index)
    out["max_score"] = declared.where(declared.notna(), g["primary_score"].max()).astype(float)
    if "mark" in d:
        m = d.dropna(subset=["mark"])
        m = m[m["mark"].astype(int) >= 3]
        lows = m.groupby(WORK + ["mark"], observed=True)["primary_score"].min().unstack("mark")
        for mark in (3, 4, 5):
            out[f"mark{mark}_min"] = lows[mark].reindex(out.index) if mark in lows.columns else np.nan
    else:
        for mark in (3, 4, 5):
            out[f"mark{mark}_min"] = np.nan
    out = out.reset_index()
    out[["participants", "schools"]] = out[["participants", "schools"]].astype("int64")
    for c in ("max_score", "mark3_min", "mark4_min", "mark5_min"):
        out[c] = out[c].astype(float)
    return out[WORKS_COLUMNS]


def vpr_score_counts(vpr: pd.DataFrame, schools: pd.DataFrame | None) -> pd.DataFrame:
    """Participants per whole primary score, per school and per municipality (non-zero counts only)."""
    if vpr is None or not len(vpr):
        return pd.DataFrame(columns=COUNTS_COLUMNS)
    d = _scored(vpr)
    d = d.assign(score=np.round(d["primary_score"].to_numpy(float)).astype("int64"))
    parts = []
    for level, unit in (("school", d["school_id"]), ("municipality", None)):
        if unit is None:
            if schools is None or "municipality" not in schools:
                continue
            unit = d["school_id"].map(schools.set_index("school_id")["municipality"])
            if unit.isna().all():
                continue
        x = d.assign(unit=unit.astype(object)).dropna(subset=["unit"])
        c = x.groupby(WORK + ["unit", "score"], sort=True, observed=True).size().rename("count").reset_index()
        n = x.groupby(WORK + ["unit"], observed=True).size().rename("n").reset_index()
        c = c.merge(n, on=WORK + ["unit"], how="left").rename(columns={"unit": "school_id"})
        parts.append(c.assign(level=level))
    if not parts:
        return pd.DataFrame(columns=COUNTS_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["school_id"] = out["school_id"].astype(str)
    out[["count", "n"]] = out[["count", "n"]].astype("int64")
    return out[COUNTS_COLUMNS].sort_values(["year", "level", "school_id", "grade", "subject", "score"],
                                           kind="stable").reset_index(drop=True)


__all__ = ["vpr_works", "vpr_score_counts", "WORKS_COLUMNS", "COUNTS_COLUMNS"]
