"""Shared pieces of the objectivity diagnostics: configuration, preparation, helpers.

Every sign function takes prepared frames and returns rows of the objectivity
frame (see :data:`COLUMNS`). Nothing here loops over students in Python: all
statistics are grouped sums, grouped ranks or small per-test matrices.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

RUS = "Русский язык"
MATH = "Математика"

# Defaults of the [objectivity] section of municipal_config.toml (the file wins).
DEFAULTS: dict = {
    # Official ФИОКО signs.
    "official_grades": [4, 5],
    "official_subjects": [RUS, MATH],
    "oge_subjects": [RUS, MATH],
    "z": 1.96,                        # x̄ ± z·s/√n, as published (not the t quantile)
    "reference": "loaded",            # "loaded": all schools in the data for that year, grade, subject
    "reference_stats": [],            # or given figures: [{year, grade, subject, mean, sd, n}]
    "journal_min_n": 5,
    "cohort_iqr_k": 3.0,
    "cohort_min_schools": 4,
    "cohort_from_grade": 4,
    # msoko's further evidence (all ВПР grades and subjects unless limited here).
    "evidence_grades": [],            # empty = all
    "evidence_subjects": [],
    "min_n": 5,                       # below this no msoko sign is assessed
    "alpha": 0.001,                   # one-sided level of each further sign
    "similar_min_peers": 5,
    "bunching_marks": [3, 4, 5],
    "bunching_above": 1,              # score points at/just above a boundary: b
    "bunching_below": 2,              # score points just below: b-2, b-1
    "bunching_max_degree": 5,
    "bunching_min_window": 5,
    "bunching_reference": "typical",  # or "smooth": the plain test against the smooth curve
    "tasks_min_gap": 10.0,            # p.p.
    "tasks_t_df": 10,                 # Student t reference of tasks_basic_vs_advanced (heavy tails)
    "marks_min_gap": 15.0,            # p.p.
    "marks_min_count": 3,             # fewer such pupils in a class: never a journal-mark flag
    "current_marks_alpha": 0.005,     # level of marks_lower / marks_far_below (current marks, not combined)
    "gia_far_above": 0.5,             # region SD units
    "gia_min_gap": 0.5,
    "gia_years_window": 1,
    "selective_org_types": ["лицей", "гимназия", "СОШ с УИОП"],
    "similarity_alpha": 1e-4,
    "similarity_min_tasks": 5,
    "similarity_min_schools": 15,     # fewer schools in a work: the null fitted over all works
    "similarity_min_repeating": 10,   # fewer schools repeating a string: the spread r from all works
    "similarity_floor": 1e-3,         # least expected identical pairs of a school (unique-string tests)
    "similarity_prior_pairs": 20,     # shrinkage of the region's collision rate per total to the work's
    "similarity_group_min": 4,        # a group of this many identical works is also tested on its own
    "similarity_censor_at": 0.003,    # the null's fit counts an extreme school only as «in this tail»
    "template_min_works": 3,          # data_entry_template: at least this many template works
    "template_min_share": 0.2,        # ... and this share of the school's works
    "swing_min": 0.5,                 # region SD units
    # Combined picture.
    "combined_alpha": 0.02,
    "combined_min_n": 5,
    "combined_strings_alone": 1e-6,   # answer strings count alone below this p ...
    "combined_strings_corroborate": 0.05,  # ... else only beside another family below this p
    "combined_families": {
        "level_peers": ["inflated_mean_similar", "high_not_confirmed"],
        "level_time": ["score_swing", "cohort_fall", "cohort_rise"],
        "journal": ["journal_mismatch", "marks_lower", "marks_higher", "marks_far"],
        "distribution": ["bunching"],
        "tasks": ["tasks_basic_vs_advanced"],
        "strings": ["answer_similarity"],
    },
    "informative_from": 50,
    "limited_below": 20,
    # The plan of work (msoko.objectivity.plan): school-level error control and tiers.
    "plan": {
        "plan_alpha": 0.005,            # a family is found at the school level (Holm over its works)
        "plan_strong_alpha": 0.001,     # ... and strong: alone enough for tier 1 (2 for journal marks)
        "plan_min_gap_share": 0.05,     # official inflated mean: least gap above the reference, share of max
        "plan_persistence_bonus": 2.0,  # score per further year with a found family
    },
}

COLUMNS = ["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
           "ci_low", "ci_high", "p_value", "procedure", "official", "informativeness", "detail"]

TEST_KEYS = ["year", "grade", "subject"]
CELL_KEYS = ["year", "grade", "subject", "school_id"]

from msoko.vocabulary import OFFICIAL_SIGNS  # noqa: E402,F401 - one vocabulary (msoko.vocabulary)


def settings(config: dict | None) -> dict:
    """Objectivity settings: :data:`DEFAULTS` with ``config['objectivity']`` merged over them."""
    out = copy.deepcopy(DEFAULTS)
    user = (config or {}).get("objectivity", {}) or {}
    for k, v in user.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = copy.deepcopy(v)
    return out


def informativeness(n, cfg: dict | None = None) -> np.ndarray:
    """'информативна' (n ≥ 50), 'минимально' (20–49), 'ограниченно' (< 20); None for n unknown."""
    cfg = cfg or DEFAULTS
    n = np.asarray(pd.to_numeric(pd.Series(n), errors="coerce"), dtype="float64")
    lab = np.where(n >= cfg["informative_from"], "информативна",
                   np.where(n >= cfg["limited_below"], "минимально", "ограниченно"))
    return np.where(np.isnan(n), None, lab).astype(object)


def empty_frame() -> pd.DataFrame:
    return finish(pd.DataFrame({c: [] for c in COLUMNS}))


def finish(df: pd.DataFrame, cfg: dict | None = None) -> pd.DataFrame:
    """Give a sign frame the contract's columns and dtypes."""
    df = df.copy()
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = np.nan if c in ("value", "threshold", "ci_low", "ci_high", "p_value") else None
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]
    df["year"] = pd.array(pd.to_numeric(df["year"]), dtype="Int16")
    df["grade"] = pd.array(pd.to_numeric(df["grade"]), dtype="Int8")
    df["n"] = pd.array(pd.to_numeric(df["n"]).round(), dtype="Int32")
    df["flagged"] = pd.array(df["flagged"].astype(object).where(df["flagged"].notna(), None), dtype="boolean")
    df["official"] = df["official"].fillna(False).astype(bool)
    for c in ("value", "threshold", "ci_low", "ci_high", "p_value"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    for c in ("school_id", "subject", "sign", "procedure", "detail", "informativeness"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    mask = df["informativeness"].isna() & df["n"].notna() & df["school_id"].notna()
    if mask.any():
        df.loc[mask, "informativeness"] = informativeness(df.loc[mask, "n"].astype("float64"), cfg)
    return df.reset_index(drop=True)


# ---------------------------------------------------------------- preparation

@dataclass
class Prepared:
    """Present students with a score, plus per-cell and per-test aggregates."""
    students: pd.DataFrame      # one row per present student work (year, grade, subject, school_id, ...)
    cells: pd.DataFrame         # per school cell: n, mean, sd, share mean (S), max_score
    tests: pd.DataFrame         # per test (year, grade, subject): n, mean, sd over all students


def present_students(vpr: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["year", "grade", "subject", "school_id", "student_code", "journal_mark", "class",
            "primary_score", "max_score", "mark", "variant"]
    if vpr is None or len(vpr) == 0 or "primary_score" not in vpr.columns:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    v = vpr
    keep = v["primary_score"].notna().to_numpy().copy()
    if "absent" in v.columns:
        keep &= ~v["absent"].fillna(False).astype(bool).to_numpy()
    v = v.loc[keep, [c for c in cols if c in v.columns]].copy()
    for c in cols:
        if c not in v.columns:
            v[c] = np.nan
    v["year"] = v["year"].astype("int64")
    v["grade"] = v["grade"].astype("int64")
    v["primary_score"] = v["primary_score"].astype("float64")
    v["max_score"] = pd.to_numeric(v["max_score"], errors="coerce").astype("float64")
    v["journal_mark"] = pd.to_numeric(v["journal_mark"], errors="coerce").astype("float64")
    v["mark"] = pd.to_numeric(v["mark"], errors="coerce").astype("float64")
    for c in ("subject", "school_id", "student_code", "class", "variant"):
        if isinstance(v[c].dtype, pd.CategoricalDtype):
            v[c] = v[c].astype(object).where(v[c].notna(), None)
    return v.reset_index(drop=True)


def grouped_moments(df: pd.DataFrame, keys: list[str], col: str) -> pd.DataFrame:
    """n, mean, sd (ddof=1, NaN for n < 2) of ``col`` by ``keys``."""
    g = df.groupby(keys, sort=True, observed=True)[col]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    out["n"] = out["n"].astype("int64")
    return out


def prepare(vpr: pd.DataFrame | None) -> Prepared:
    s = present_students(vpr)
    if len(s) == 0:
        e = pd.DataFrame(columns=CELL_KEYS + ["n", "mean", "sd", "share", "max_score", "se_pooled"])
        return Prepared(s, e, pd.DataFrame(columns=TEST_KEYS + ["n", "mean", "sd", "max_score", "within_sd"]))
    mx = s.groupby(TEST_KEYS, observed=True)["max_score"].transform("max")
    obs_max = s.groupby(TEST_KEYS, observed=True)["primary_score"].transform("max")
    s["test_max"] = mx.fillna(obs_max).where(lambda x: x > 0, np.nan)
    s["share"] = s["primary_score"] / s["max_score"].fillna(s["test_max"])
    cells = grouped_moments(s, CELL_KEYS, "primary_score")
    cells["share"] = s.groupby(CELL_KEYS, sort=True, observed=True)["share"].mean().to_numpy()
    tests = grouped_moments(s, TEST_KEYS, "primary_score")
    tests["max_score"] = s.groupby(TEST_KEYS, sort=True, observed=True)["test_max"].max().to_numpy()
    # pooled within-school SD per test: a stable sampling SD for small schools (msoko signs)
    w = cells.assign(ss=(cells["n"] - 1).clip(lower=0) * cells["sd"].fillna(0.0) ** 2,
                     df=(cells["n"] - 1).clip(lower=0))
    pooled = w.groupby(TEST_KEYS, sort=True)[["ss", "df"]].sum()
    tests["within_sd"] = np.sqrt(pooled["ss"] / pooled["df"].replace(0, np.nan)).to_numpy()
    cells["se_pooled"] = cells.merge(tests[TEST_KEYS + ["within_sd"]], on=TEST_KEYS, how="left")["within_sd"].to_numpy() \
        / np.sqrt(cells["n"])
    return Prepared(s, cells, tests)


def in_scope(df: pd.DataFrame, grades, subjects) -> np.ndarray:
    m = np.ones(len(df), dtype=bool)
    if grades:
        m &= df["grade"].isin([int(g) for g in grades]).to_numpy()
    if subjects:
        m &= df["subject"].isin(list(subjects)).to_numpy()
    return m


# ---------------------------------------------------------------- statistics helpers

MEDIAN_CHI2_1 = 0.454936423119572  # median of χ²(1)


def robust_tau2(est: np.ndarray, se: np.ndarray) -> float:
    """Between-unit variance beyond sampling error, robust to a few outliers.

    A median version of the Paule–Mandel estimator: τ² ≥ 0 such that the median of
    ``(est − median)² / (se² + τ²)`` equals the median of χ²(1). Units with very
    different sampling errors (small and large schools) are weighed correctly, and the
    few extreme units we look for do not widen the yardstick they are measured with.
    """
    est = np.asarray(est, dtype="float64")
    se = np.asarray(se, dtype="float64")
    ok = np.isfinite(est) & np.isfinite(se)
    if ok.sum() < 3:
        return 0.0
    e, v = est[ok], se[ok] ** 2
    d2 = (e - np.median(e)) ** 2

    def stat(t2):
        return np.median(d2 / np.maximum(v + t2, 1e-300))

    if stat(0.0) <= MEDIAN_CHI2_1:
        return 0.0
    lo, hi = 0.0, max(float(np.median(d2)) / MEDIAN_CHI2_1, 1e-12)
    while stat(hi) > MEDIAN_CHI2_1:
        hi *= 2
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if stat(mid) > MEDIAN_CHI2_1:
            lo = mid
        else:
            hi = mid
    return float(0.5 * (lo + hi))


def grouped_tau2(df: pd.DataFrame, keys: list[str], est: str, se: str) -> pd.Series:
    """:func:`robust_tau2` per group, broadcast back to the rows of ``df`` (a loop over groups)."""
    if len(df) == 0:
        return pd.Series(dtype="float64")
    out = np.zeros(len(df))
    e = df[est].to_numpy(dtype="float64", na_value=np.nan)
    s = df[se].to_numpy(dtype="float64", na_value=np.nan)
    for idx in df.groupby(keys, observed=True, sort=False).indices.values():
        out[idx] = robust_tau2(e[idx], s[idx])
    return pd.Series(out, index=df.index)
