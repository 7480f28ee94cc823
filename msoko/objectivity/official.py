"""The official ФИОКО signs of non-objectivity, computed exactly as published.

«Методика расчета показателя "Уровень объективности оценки образовательных
результатов"» (ФИОКО): 14 signs — inflated mean score (ВПР Russian and maths,
grades 4 and 5; ОГЭ Russian and maths), mismatch with school marks (ВПР Russian
and maths, grades 4 and 5), sharp fall or rise within one cohort (Russian and
maths, grade 4 in year Y → grade 5 in year Y+1). The index is 100 − % of schools
with at least one sign.

Conventions fixed here (and tested):

* intervals ``x̄ ± 1.96·s/√n`` with ``s`` the sample standard deviation (ddof=1);
  a school with ``n < 2`` is not assessed;
* Spearman's ρ with average ranks for ties (as ``scipy.stats.spearmanr``), over the
  school's present students having both a journal mark and a score; fewer than 5
  such students, or a constant variable, → not assessed;
* quartiles of K by :func:`numpy.percentile` with its default ``linear`` method
  (type 7 of Hyndman & Fan, as Excel's КВАРТИЛЬ.ВКЛ); IQR = Q3 − Q1;
* cohort rows carry ``year = Y+1, grade = 5`` (the year in which the change shows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru

from msoko.objectivity.core import (CELL_KEYS, TEST_KEYS, Prepared, finish, grouped_moments,
                                    in_scope, robust_tau2)


def _fmt(x, nd=2) -> str:
    return ru.number(None if x is None else float(x), nd)


def reference_intervals(cells: pd.DataFrame, tests: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Reference mean/sd/n per test: the loaded population, or figures from the configuration."""
    ref = tests[TEST_KEYS + ["n", "mean", "sd"]].rename(columns={"n": "ref_n", "mean": "ref_mean", "sd": "ref_sd"})
    given = cfg.get("reference_stats") or []
    if given:
        g = pd.DataFrame(given).rename(columns={"n": "ref_n", "mean": "ref_mean", "sd": "ref_sd"})
        g = g.astype({"year": "int64", "grade": "int64"})
        ref = ref.merge(g, on=TEST_KEYS, how="outer", suffixes=("_loaded", ""))
        for c in ("ref_n", "ref_mean", "ref_sd"):
            ref[c] = ref[c].fillna(ref[c + "_loaded"])
        ref = ref[TEST_KEYS + ["ref_n", "ref_mean", "ref_sd"]]
    return ref


def inflated_mean_rows(cells: pd.DataFrame, tests: pd.DataFrame, cfg: dict, procedure: str = "ВПР",
                       grades=None, subjects=None) -> pd.DataFrame:
    """Official sign «завышенный средний балл» for every school cell in scope."""
    c = cells.loc[in_scope(cells, grades, subjects)].copy()
    if len(c) == 0:
        return finish(pd.DataFrame())
    ref = reference_intervals(c, tests, cfg)
    c = c.merge(ref, on=TEST_KEYS, how="left")
    z = float(cfg["z"])
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * c["sd"] / np.sqrt(c["n"])
        rhalf = z * c["ref_sd"] / np.sqrt(c["ref_n"])
    c["ci_low"] = c["mean"] - half
    c["ci_high"] = c["mean"] + half
    c["threshold"] = c["ref_mean"] + rhalf
    assessed = (c["n"] >= 2) & c["threshold"].notna() & c["ci_low"].notna()
    c["flagged"] = (c["ci_low"] > c["threshold"]).astype(object).where(assessed, None)
    c["value"] = c["mean"]
    c["sign"] = "inflated_mean"
    c["procedure"] = procedure
    c["official"] = True
    lo_ref = c["ref_mean"] - rhalf
    c["detail"] = [
        (f"Средний балл {_fmt(m)} (95 % интервал {_fmt(a)}–{_fmt(b)}, n={n}); "
         f"эталон {_fmt(rm)} ({_fmt(ra)}–{_fmt(rb)}, n={int(rn) if np.isfinite(rn) else '—'}); "
         + ("интервал школы целиком выше интервала эталона" if f is True else
            "интервал школы не лежит целиком выше интервала эталона" if f is False else
            "не оценивается: меньше 2 участников"))
        for m, a, b, n, rm, ra, rb, rn, f in zip(c["mean"], c["ci_low"], c["ci_high"], c["n"], c["ref_mean"],
                                                 lo_ref, c["threshold"], c["ref_n"], c["flagged"])]
    return finish(c[["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
                     "ci_low", "ci_high", "procedure", "official", "detail"]])


def oge_cells(gia: pd.DataFrame | None, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ОГЭ Russian/maths per school (grade 9) and per test, from the gia table."""
    need = {"year", "exam", "school_id", "subject", "primary_score"}
    if gia is None or len(gia) == 0 or not need <= set(gia.columns):
        return pd.DataFrame(), pd.DataFrame()
    g = gia.loc[(gia["exam"].astype(str) == "ОГЭ") & gia["subject"].isin(cfg["oge_subjects"])
                & gia["primary_score"].notna(), ["year", "school_id", "subject", "primary_score"]].copy()
    if len(g) == 0:
        return pd.DataFrame(), pd.DataFrame()
    g["year"] = g["year"].astype("int64")
    g["grade"] = 9
    g["school_id"] = g["school_id"].astype(str)
    g["primary_score"] = g["primary_score"].astype("float64")
    return grouped_moments(g, CELL_KEYS, "primary_score"), grouped_moments(g, TEST_KEYS, "primary_score")


def _spearman_grouped(df: pd.DataFrame, keys: list[str], x: str, y: str) -> pd.DataFrame:
    """Spearman ρ (average ranks) per group, vectorised: Pearson correlation of within-group ranks."""
    g = df.groupby(keys, sort=True, observed=True)
    rx = g[x].rank(method="average")
    ry = g[y].rank(method="average")
    t = df[keys].copy()
    t["rx"], t["ry"] = rx.to_numpy(), ry.to_numpy()
    t["rxx"], t["ryy"], t["rxy"] = t["rx"] ** 2, t["ry"] ** 2, t["rx"] * t["ry"]
    s = t.groupby(keys, sort=True, observed=True).agg(n=("rx", "size"), sx=("rx", "sum"), sy=("ry", "sum"),
                                                        sxx=("rxx", "sum"), syy=("ryy", "sum"),
                                                        sxy=("rxy", "sum")).reset_index()
    n = s["n"].astype("float64")
    vx = s["sxx"] - s["sx"] ** 2 / n
    vy = s["syy"] - s["sy"] ** 2 / n
    cxy = s["sxy"] - s["sx"] * s["sy"] / n
    eps = 1e-9 * np.maximum(1.0, n ** 3)
    const = (vx <= eps) | (vy <= eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = cxy / np.sqrt(vx * vy)
    s["rho"] = np.where(const, np.nan, np.clip(rho, -1.0, 1.0))
    s["constant"] = const
    return s[keys + ["n", "rho", "constant"]]


def journal_spearman(students: pd.DataFrame, cells: pd.DataFrame, grades=None, subjects=None) -> pd.DataFrame:
    """Every cell in scope with ``n`` (pupils with a journal mark and a score), ``rho`` (Spearman between the
    journal mark and the primary score) and ``constant``: what the official sign and ``marks_unrelated`` read."""
    c = cells.loc[in_scope(cells, grades, subjects), CELL_KEYS].copy()
    s = students.loc[in_scope(students, grades, subjects) & students["journal_mark"].notna().to_numpy(),
                     CELL_KEYS + ["journal_mark", "primary_score"]]
    r = _spearman_grouped(s, CELL_KEYS, "journal_mark", "primary_score") if len(s) else \
        pd.DataFrame(columns=CELL_KEYS + ["n", "rho", "constant"])
    c = c.merge(r, on=CELL_KEYS, how="left")
    c["n"] = pd.to_numeric(c["n"]).fillna(0).astype("int64")
    c["rho"] = pd.to_numeric(c["rho"]).astype("float64")
    return c


def journal_mismatch_rows(students: pd.DataFrame, cells: pd.DataFrame, cfg: dict,
                          grades=None, subjects=None) -> pd.DataFrame:
    """Official sign «несоответствие отметкам»: Spearman(journal mark, primary score) < 0."""
    c = journal_spearman(students, cells, grades, subjects)
    if len(c) == 0:
        return finish(pd.DataFrame())
    min_n = int(cfg["journal_min_n"])
    assessed = (c["n"] >= min_n) & c["rho"].notna()
    c["value"] = c["rho"]
    c["threshold"] = 0.0
    c["flagged"] = (c["rho"] < 0).astype(object).where(assessed, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = c["rho"].clip(-0.999999, 0.999999)
        tt = rr * np.sqrt((c["n"] - 2) / (1 - rr * rr))
        c["p_value"] = np.where(assessed, st.t.cdf(tt, np.maximum(c["n"] - 2, 1)), np.nan)
    c["sign"] = "journal_mismatch"
    c["procedure"] = "ВПР"
    c["official"] = True
    det = []
    for rho, n, const, f in zip(c["rho"], c["n"], c["constant"], c["flagged"]):
        if n < min_n:
            det.append(f"не оценивается: участников с отметкой за четверть и баллом {n} (нужно не менее {min_n})")
        elif const is True or not np.isfinite(rho):
            det.append("не оценивается: отметки за четверть или баллы ВПР одинаковы у всех участников")
        else:
            det.append(f"ρ Спирмена между отметкой за четверть и первичным баллом = {_fmt(rho)} (n={n}); "
                       + ("отрицательная связь" if f else "связь не отрицательная"))
    c["detail"] = det
    return finish(c[["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
                     "p_value", "procedure", "official", "detail"]])


def cohort_table(cells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """K = S₄(Y)/S₅(Y+1) per school and subject with the quartile fences.

    Columns: year (Y+1), school_id, subject, s4, s5, n4, n5, k, q1, q3, iqr, low_fence,
    high_fence, n_schools, log_se (sampling SE of log K).
    """
    g4 = int(cfg["cohort_from_grade"])
    subj = cfg["official_subjects"]
    a = cells.loc[(cells["grade"] == g4) & cells["subject"].isin(subj)]
    b = cells.loc[(cells["grade"] == g4 + 1) & cells["subject"].isin(subj)]
    cols = ["year", "school_id", "subject", "s4", "s5", "n4", "n5", "k", "q1", "q3", "iqr",
            "low_fence", "high_fence", "n_schools", "log_se"]
    if len(a) == 0 or len(b) == 0:
        return pd.DataFrame(columns=cols)
    a = a.assign(year=a["year"] + 1)[["year", "school_id", "subject", "share", "n", "sd", "mean"]]
    b = b[["year", "school_id", "subject", "share", "n", "sd", "mean"]]
    m = a.merge(b, on=["year", "school_id", "subject"], suffixes=("4", "5"))
    m = m.rename(columns={"share4": "s4", "share5": "s5"})
    with np.errstate(divide="ignore", invalid="ignore"):
        m["k"] = m["s4"] / m["s5"]
        cv4 = m["sd4"] / m["mean4"]
        cv5 = m["sd5"] / m["mean5"]
        m["log_se"] = np.sqrt(cv4 ** 2 / m["n4"] + cv5 ** 2 / m["n5"])
    m = m.loc[np.isfinite(m["k"])].copy()
    parts = []
    for (year, subject), grp in m.groupby(["year", "subject"], sort=True):
        k = grp["k"].to_numpy()
        q1, q3 = np.percentile(k, [25, 75])  # numpy default method="linear"
        iqr = q3 - q1
        kk = float(cfg["cohort_iqr_k"])
        parts.append(grp.assign(q1=q1, q3=q3, iqr=iqr, low_fence=q1 - kk * iqr, high_fence=q3 + kk * iqr,
                                n_schools=len(grp)))
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def cohort_rows(cells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Official signs «резкое снижение / рост результатов в одной параллели» (cohort_fall / cohort_rise)."""
    t = cohort_table(cells, cfg)
    if len(t) == 0:
        return finish(pd.DataFrame())
    g4 = int(cfg["cohort_from_grade"])
    assessed = t["n_schools"] >= int(cfg["cohort_min_schools"])
    # Sampling-aware strength for the combined picture (msoko's own): robust z of log K.
    logk = np.log(t["k"].clip(lower=1e-9))
    p_fall = np.full(len(t), np.nan)
    p_rise = np.full(len(t), np.nan)
    for _, idx in t.groupby(["year", "subject"]).groups.items():
        idx = np.asarray([t.index.get_loc(i) for i in idx])
        lk, se = logk.to_numpy()[idx], t["log_se"].to_numpy()[idx]
        tau2 = robust_tau2(lk, se)
        zz = (lk - np.median(lk)) / np.sqrt(se ** 2 + tau2 + 1e-12)
        p_fall[idx], p_rise[idx] = st.norm.sf(zz), st.norm.cdf(zz)
    out = []
    for sign, thr, fl, p in (("cohort_fall", t["high_fence"], t["k"] > t["high_fence"], p_fall),
                             ("cohort_rise", t["low_fence"], t["k"] < t["low_fence"], p_rise)):
        r = pd.DataFrame({
            "year": t["year"], "school_id": t["school_id"], "grade": g4 + 1, "subject": t["subject"],
            "sign": sign, "value": t["k"], "threshold": thr,
            "flagged": fl.astype(object).where(assessed, None), "n": t["n5"], "p_value": p,
            "procedure": "ВПР", "official": True})
        word = "снижение" if sign == "cohort_fall" else "рост"
        r["detail"] = [
            (f"K = S4({y - 1}) / S5({y}) = {_fmt(s4, 3)} / {_fmt(s5, 3)} = {_fmt(k, 3)} "
             f"(n4={n4}, n5={n5}); Q1={_fmt(q1, 3)}, Q3={_fmt(q3, 3)}, IQR={_fmt(iqr, 3)}, "
             f"граница {_fmt(th, 3)} по {ns} школам; "
             + (f"не оценивается: школ с обоими результатами меньше {cfg['cohort_min_schools']}" if not a else
                f"резкое {word} результатов параллели" if f else f"резкого {'снижения' if word == 'снижение' else 'роста'} нет"))
            for y, s4, s5, k, n4, n5, q1, q3, iqr, th, ns, a, f in zip(
                t["year"], t["s4"], t["s5"], t["k"], t["n4"], t["n5"], t["q1"], t["q3"], t["iqr"], thr,
                t["n_schools"], assessed, fl)]
        out.append(r)
    return finish(pd.concat(out, ignore_index=True))


def index_rows(rows: pd.DataFrame, signs: tuple[str, ...]) -> pd.DataFrame:
    """The official ФИОКО index per year: 100 − % of assessed schools with ≥ 1 flagged sign among ``signs``.

    A school counts as assessed in a year when at least one of the signs was assessed for it.
    """
    r = rows.loc[rows["sign"].isin(signs) & rows["school_id"].notna() & rows["flagged"].notna(),
                 ["year", "school_id", "flagged"]]
    if len(r) == 0:
        return finish(pd.DataFrame())
    per = r.assign(f=r["flagged"].astype(bool)).groupby(["year", "school_id"])["f"].any().reset_index()
    agg = per.groupby("year")["f"].agg(marked="sum", n="size").reset_index()
    agg["value"] = 100.0 - 100.0 * agg["marked"] / agg["n"]
    agg["sign"] = "objectivity_index"
    agg["official"] = True
    agg["procedure"] = "ВПР, ОГЭ"
    agg["detail"] = [f"школ хотя бы с одним из официальных признаков: {int(m)} из {int(n)}"
                     for m, n in zip(agg["marked"], agg["n"])]
    agg["school_id"] = None
    return finish(agg[["year", "school_id", "sign", "value", "n", "procedure", "official", "detail"]])
