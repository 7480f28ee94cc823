"""Textbooks (УМК) in use: per ВПР work, the textbooks the pupils named, with pupil counts.

The 2021 ФИС ОКО layout names each pupil's textbook («Учебник»; «другое» with «Др.уч. автор» and
«Др.уч. название»). Ingest keeps them (``vpr_textbooks.parquet``, one row per pupil who wrote the
work); :func:`textbook_use` counts pupils per work and textbook, for each school and municipality
(``textbook_use.parquet``). A municipal МСОКО plan of measures asks for it: «Анализ обеспеченности обучающихся учебниками и используемых
УМК». A count of pupils is not a comparison of books: schools choose their textbooks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

NOT_GIVEN = "не указан"
OTHER = "другое"
COLUMNS = ["year", "grade", "subject", "level", "municipality", "school_id", "textbook", "pupils", "work_pupils",
           "share"]


def textbook_label(textbook, other_author, other_title) -> str:
    """One label per pupil: the listed textbook; «другое: <название> (<автор>)»; «не указан»."""
    def clean(v):
        t = "" if v is None or (isinstance(v, float) and pd.isna(v)) else " ".join(str(v).split())
        return "" if t in ("0", "1", "-", "—") else t

    t, a, n = clean(textbook), clean(other_author), clean(other_title)
    if t and t.lower() != OTHER:
        return t
    if n or a:
        return f"{OTHER}: {n or a}" + (f" ({a})" if n and a and a not in n else "")
    return OTHER if t else NOT_GIVEN


def textbook_use(pupils: pd.DataFrame, schools: pd.DataFrame | None) -> pd.DataFrame:
    """``textbook_use``: pupils per (year, grade, subject, textbook) in each school and municipality;
    ``share`` = pupils / pupils of that work in the same school or municipality × 100."""
    if pupils is None or not len(pupils):
        return pd.DataFrame(columns=COLUMNS)
    p = pupils.assign(school_id=pupils["school_id"].astype(str))
    p["label"] = _labelled(p)
    muni = (schools.assign(school_id=schools["school_id"].astype(str)).set_index("school_id")["municipality"]
            if schools is not None and len(schools) else pd.Series(dtype=object))
    p["municipality"] = p["school_id"].map(muni).fillna("Муниципалитет (не указан)").astype(str)
    work = ["year", "grade", "subject"]
    parts = []
    for level, keys in (("school", ["municipality", "school_id"]), ("municipality", ["municipality"])):
        c = p.groupby(work + keys + ["label"], observed=True).size().rename("pupils").reset_index()
        tot = p.groupby(work + keys, observed=True).size().rename("work_pupils").reset_index()
        c = c.merge(tot, on=work + keys)
        c["level"] = level
        if level == "municipality":
            c["school_id"] = None
        parts.append(c)
    out = pd.concat(parts, ignore_index=True).rename(columns={"label": "textbook"})
    out["share"] = out["pupils"] / out["work_pupils"] * 100
    out = out.sort_values(["year", "grade", "subject", "level", "municipality", "school_id", "pupils"],
                          ascending=[True, True, True, False, True, True, False], na_position="first")
    return out[COLUMNS].astype({"year": "int64", "grade": "int64", "pupils": "int64", "work_pupils": "int64"}) \
        .reset_index(drop=True)


# --------------------------------------------------------------------------- results by textbook

RESULT_COLUMNS = ["year", "grade", "subject", "level", "municipality", "school_id", "textbook", "schools", "pupils",
                  "mean_pct", "mean_low", "mean_high", "marked", "fail_share", "fail_low", "fail_high",
                  "quality_share", "quality_low", "quality_high", "ref_pupils", "ref_mean_pct", "ref_fail_share",
                  "ref_quality_share", "compared", "vs_municipality", "note"]
NOT_COMPARED_LABELS = (NOT_GIVEN, OTHER)


def _labelled(pupils: pd.DataFrame) -> pd.Series:
    """Each pupil's textbook label as :func:`textbook_use` names it."""
    # one label per distinct (textbook, author, title): a few hundred, for tens of thousands of pupils
    cols = ["textbook", "other_author", "other_title"]
    code = pupils.groupby(cols, dropna=False, sort=False, observed=True).ngroup().to_numpy()
    first = np.unique(code, return_index=True)[1]
    u = pupils[cols].iloc[first]
    labels = np.array([textbook_label(*k) for k in zip(u["textbook"], u["other_author"], u["other_title"])],
                      dtype=object)
    # the listed textbooks and the «другое: …» labels are decided once per distinct label; only the pupils
    # with a «другое: …» label have their own title looked at (a region has over a million pupils)
    other = np.array([x.startswith(f"{OTHER}: ") for x in labels], dtype=bool)
    listed = {x for x in set(labels) - {NOT_GIVEN, OTHER} if not x.startswith(f"{OTHER}: ")}
    out = labels[code]
    rows = np.flatnonzero(other[code])
    if len(rows) and listed:
        title = np.array([" ".join(str(v).split()) if isinstance(v, str) else ""
                          for v in pupils["other_title"].to_numpy(dtype=object)[rows]], dtype=object)
        hit = np.array([t in listed for t in title], dtype=bool)
        out = out.copy()
        out[rows[hit]] = title[hit]
    return pd.Series(out, index=pupils.index)


def _stats(pct: np.ndarray, mark: np.ndarray) -> dict:
    """Pupils, mean share of the maximum (%), shares of «2» and «4»–«5» among pupils with a mark (``mark`` a
    float array, NaN for no mark)."""
    return {"pupils": len(pct), "_s": pct.sum(), "_ss": (pct * pct).sum(),
            "marked": int(np.count_nonzero(~np.isnan(mark))), "_fail": int(np.count_nonzero(mark == 2)),
            "_quality": int(np.count_nonzero((mark == 4) | (mark == 5)))}


def _runs(codes: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values of a sorted code array."""
    cut = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], cut]).astype(int)
    ends = np.concatenate([cut, [len(codes)]]).astype(int)
    return list(zip(starts.tolist(), ends.tolist()))


def _groups(d: pd.DataFrame, work: list[str]):
    """For each work (``work`` sorted), each textbook label in the order of its first pupil: the work's
    reference row (``base``), the label, its :func:`_stats`, its number of schools and the (school_id, stats)
    of each of its schools in school order. Each group's pupils keep their order in ``d``, so that the sums
    are those of the group's own rows (one stable sort over factorized codes instead of nested groupbys)."""
    pct = d["pct"].to_numpy(float)
    mark = d["mark"].to_numpy(dtype=float, na_value=np.nan)
    wcode = d.groupby(work, sort=True).ngroup().to_numpy()
    lcode = d.groupby(work + ["label"], sort=False).ngroup().to_numpy()     # first appearance
    scode, snames = pd.factorize(d["school_id"], sort=True)
    labels = d["label"].to_numpy(dtype=object)
    keys = [d[c].to_numpy(dtype=object) for c in work]
    by_work = np.argsort(wcode, kind="stable")
    order = np.lexsort((scode, lcode, wcode))
    lsorted, ssorted = lcode[order], scode[order]
    label_runs = iter(_runs(lsorted))
    a, b = 0, 0
    for ws, we in _runs(wcode[by_work]):
        iw = by_work[ws:we]
        ref = _stats(pct[iw], mark[iw])
        first = iw[0]
        base = dict(zip(work, (k[first] for k in keys)), ref_pupils=ref["pupils"],
                    ref_mean_pct=ref["_s"] / ref["pupils"],
                    ref_fail_share=ref["_fail"] / ref["marked"] * 100 if ref["marked"] else float("nan"),
                    ref_quality_share=ref["_quality"] / ref["marked"] * 100 if ref["marked"] else float("nan"))
        while b < we:
            a, b = next(label_runs)
            il = order[a:b]
            school_runs = [(a + x, a + y) for x, y in _runs(ssorted[a:b])]
            schools_of = [(snames[ssorted[x]], _stats(pct[order[x:y]], mark[order[x:y]])) for x, y in school_runs]
            yield base, labels[il[0]], _stats(pct[il], mark[il]), len(school_runs), schools_of


def textbook_results(vpr: pd.DataFrame, pupils: pd.DataFrame, schools: pd.DataFrame | None, *,
                     suppress_below: int = 5, min_schools: int = 2, confidence: float = 0.95) -> pd.DataFrame:
    """``textbook_results``: the ВПР results of the pupils of each textbook, per work (year, grade, subject),
    in each municipality and in each school, against the municipality's whole work (``ref_*``).

    Per pupil: the share of the work's maximum (``primary_score / max_score × 100``) and the mark. A group's
    mean share has the bounded-mean interval (:func:`msoko.stats.bounded_mean_ci`), the shares of «2» and
    «4»–«5» (of the pupils with a mark) the Wilson interval. Schools choose their textbooks, so a textbook's
    result is the result of the schools that chose it: a textbook is compared with the municipality
    (``compared``) only when it is named and used by at least ``min_schools`` schools with at least
    ``suppress_below`` pupils in all; ``vs_municipality`` says whether the interval of its mean share lies
    above («выше») or below («ниже») the municipality's mean, or covers it («не отличается»). The interval
    counts pupils, not schools: pupils of one school are alike, so it is narrower than the spread of schools.
    A school's row under ``suppress_below`` pupils keeps its count and no result."""
    from msoko.stats import bounded_mean_ci, wilson_ci

    if vpr is None or pupils is None or not len(vpr) or not len(pupils):
        return pd.DataFrame(columns=RESULT_COLUMNS)
    key = ["year", "grade", "subject", "school_id", "student_code"]
    v = vpr[~vpr["absent"].astype(bool)] if "absent" in vpr else vpr
    v = v[v["primary_score"].notna() & (v["max_score"] > 0)]
    v = v.assign(school_id=v["school_id"].astype(str), student_code=v["student_code"].astype(str),
                 year=v["year"].astype(int), grade=v["grade"].astype(int))
    p = pupils.assign(school_id=pupils["school_id"].astype(str), student_code=pupils["student_code"].astype(str),
                      year=pupils["year"].astype(int), grade=pupils["grade"].astype(int))
    p = p.assign(label=_labelled(p)).drop_duplicates(key)
    d = v[key + ["primary_score", "max_score", "mark"]].merge(p[key + ["label"]], on=key, how="inner")
    if not len(d):
        return pd.DataFrame(columns=RESULT_COLUMNS)
    d["pct"] = d["primary_score"].astype(float) / d["max_score"].astype(float) * 100
    d["mark"] = pd.to_numeric(d["mark"], errors="coerce")
    muni = (schools.assign(school_id=schools["school_id"].astype(str)).set_index("school_id")["municipality"]
            if schools is not None and len(schools) else pd.Series(dtype=object))
    d["municipality"] = d["school_id"].map(muni).fillna("Муниципалитет (не указан)").astype(str)
    work = ["year", "grade", "subject", "municipality"]

    rows = []
    for base, label, s, n_schools, schools_of in _groups(d, work):
        if label in NOT_COMPARED_LABELS:
            note = "учебник не указан" if label == NOT_GIVEN else "учебник не назван («другое» без названия)"
        elif n_schools < min_schools:
            note = "учебник одной школы (сравнение было бы сравнением этой школы)"
        elif s["pupils"] < suppress_below:
            note = f"меньше {suppress_below} обучающихся — результат не показывается"
        else:
            note = ""
        rows.append({**base, "level": "municipality", "school_id": None, "textbook": label,
                     "schools": n_schools, **s, "compared": not note, "note": note or None})
        for sid, su in schools_of:
            small = su["pupils"] < suppress_below
            rows.append({**base, "level": "school", "school_id": sid, "textbook": label, "schools": 1, **su,
                         "compared": False,
                         "note": f"меньше {suppress_below} обучающихся — результат не показывается" if small else None})
    r = pd.DataFrame(rows)
    mean, lo, hi = bounded_mean_ci(r["_s"], r["_ss"], r["pupils"], 0.0, 100.0, confidence)
    r["mean_pct"], r["mean_low"], r["mean_high"] = mean, lo, hi
    for name, col in (("fail", "_fail"), ("quality", "_quality")):
        low, high = wilson_ci(r[col], r["marked"], confidence)
        with np.errstate(divide="ignore", invalid="ignore"):
            r[f"{name}_share"] = np.where(r["marked"] > 0, r[col] / r["marked"] * 100, np.nan)
        r[f"{name}_low"], r[f"{name}_high"] = low * 100, high * 100
    hide = r["pupils"] < suppress_below      # a group under the threshold keeps its count only
    stat_cols = ["mean_pct", "mean_low", "mean_high", "fail_share", "fail_low", "fail_high", "quality_share",
                 "quality_low", "quality_high"]
    r.loc[hide, stat_cols] = np.nan
    comp = r["compared"].astype(bool)
    r["vs_municipality"] = None
    r.loc[comp, "vs_municipality"] = np.where(r.loc[comp, "mean_low"] > r.loc[comp, "ref_mean_pct"], "выше",
                                              np.where(r.loc[comp, "mean_high"] < r.loc[comp, "ref_mean_pct"],
                                                       "ниже", "не отличается"))
    r = r.sort_values(["year", "grade", "subject", "municipality", "level", "school_id", "pupils"],
                      ascending=[True, True, True, True, True, True, False], na_position="first", kind="stable")
    return r[RESULT_COLUMNS].astype({"year": "int64", "grade": "int64", "schools": "int64", "pupils": "int64",
                                     "marked": "int64", "ref_pupils": "int64", "compared": "bool"}) \
        .reset_index(drop=True)
