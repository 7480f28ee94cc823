"""Works written under independent observers: the natural experiment of objectivity.

The template ``observers`` lists which schools' works had independent observers (the «акт»): year,
school, grade, subject and the kind of observer. Where a school's results are inflated by how the work
is run or marked, observers take that away: the observed work comes out lower than what the same school
usually shows. This module sets each observed work against the same school's **previous year of the same
work** (another cohort, the same school, unobserved):

- the school's result in a work is its effect size against all pupils of the work,
  ``d = (x̄_school − x̄_all) / s_all`` (pupil-SD units), with sampling variance ``1/n``;
- the change ``Δ = d(Y) − d(Y−1)`` is compared with how much schools' results ordinarily move from year
  to year in that work: the between-school variance of the changes beyond sampling, τ², by the robust
  Paule–Mandel estimate over all schools of the work (:func:`~msoko.objectivity.core.robust_tau2`);
- the interval is ``Δ ± 1.96·√(1/n_Y + 1/n_{Y−1} + τ²)``.

Verdict (words that never accuse): «ниже обычного для школы» when the whole interval lies below zero;
«не ниже» when it lies above −``min_effect`` (a fall of that size is ruled out); otherwise «не
определено»; «нет сравнения» when the school did not write the same work the year before (or the
years differ in season, see ``[vpr_seasons]``). The school's other, unobserved works of the same year are
shown beside it (their mean effect size), for the reader.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko import ru
from msoko.objectivity.core import CELL_KEYS, TEST_KEYS, prepare, robust_tau2

KEY = ["year", "school_id", "grade", "subject"]
DEFAULTS = {"min_effect": 0.2, "min_n": 10}
VERDICTS = {"lower": "ниже обычного для школы", "not_lower": "не ниже", "inconclusive": "не определено",
            "none": "нет сравнения"}
COLUMNS = KEY + ["observer", "n", "d", "n_prev", "d_prev", "change", "ci_low", "ci_high", "tau", "d_other",
                 "works_other", "verdict", "text"]


def settings(config: dict | None) -> dict:
    return {**DEFAULTS, **((config or {}).get("observers") or {})}


def effect_sizes(vpr: pd.DataFrame) -> pd.DataFrame:
    """``year, grade, subject, school_id, n, d`` — each school's result in each work in pupil-SD units."""
    prep = prepare(vpr)
    c, t = prep.cells, prep.tests
    if c.empty:
        return pd.DataFrame(columns=CELL_KEYS + ["n", "d"])
    c = c.merge(t[TEST_KEYS + ["mean", "sd"]].rename(columns={"mean": "mu", "sd": "s"}), on=TEST_KEYS, how="left")
    c["d"] = (c["mean"] - c["mu"]) / c["s"].where(c["s"] > 0)
    c["school_id"] = c["school_id"].astype(str)
    return c[CELL_KEYS + ["n", "d"]]


def _same_season(config: dict | None, y1: int, y2: int) -> bool:
    seasons = {str(k): str(v) for k, v in ((config or {}).get("vpr_seasons") or {}).items()}
    return seasons.get(str(y1), "весна") == seasons.get(str(y2), "весна")


def observed_works(observers: pd.DataFrame, vpr: pd.DataFrame, config: dict | None = None) -> pd.DataFrame:
    """One row per observed work (see the module docstring)."""
    conf = settings(config)
    if observers is None or observers.empty or vpr is None or vpr.empty:
        return pd.DataFrame(columns=COLUMNS)
    d = effect_sizes(vpr)
    obs = observers.assign(school_id=observers["school_id"].astype(str), grade=observers["grade"].astype(int),
                           year=observers["year"].astype(int))
    obs = obs.groupby(KEY, as_index=False).agg(observer=("observer", lambda x: "; ".join(sorted({str(v) for v in x}))))
    observed_keys = set(map(tuple, obs[KEY].itertuples(index=False, name=None)))
    # year-to-year changes of every school in every work: the ordinary swing τ per (work, pair of years)
    cur = d.rename(columns={"n": "n_y", "d": "d_y"})
    prev = d.assign(year=d["year"] + 1).rename(columns={"n": "n_p", "d": "d_p"})
    pairs = cur.merge(prev, on=CELL_KEYS, how="inner")
    pairs = pairs[(pairs["n_y"] >= conf["min_n"]) & (pairs["n_p"] >= conf["min_n"])]
    pairs = pairs.assign(ch=pairs["d_y"] - pairs["d_p"], se=np.sqrt(1 / pairs["n_y"] + 1 / pairs["n_p"]))
    pairs = pairs.reset_index(drop=True)
    in_obs = np.array([(y, s, g, sub) in observed_keys for y, s, g, sub in
                       zip(pairs["year"], pairs["school_id"], pairs["grade"], pairs["subject"])], dtype=bool)
    tau2 = {k: robust_tau2(x.loc[~in_obs[x.index], "ch"].to_numpy(), x.loc[~in_obs[x.index], "se"].to_numpy())
            for k, x in pairs.groupby(TEST_KEYS)}
    dd = d.set_index(CELL_KEYS)
    rows = []
    for r in obs.itertuples(index=False):
        k = (r.year, r.grade, r.subject, r.school_id)
        n = int(dd.loc[k, "n"]) if k in dd.index else 0
        dv = float(dd.loc[k, "d"]) if k in dd.index else np.nan
        kp = (r.year - 1, r.grade, r.subject, r.school_id)
        has_prev = kp in dd.index and _same_season(config, r.year - 1, r.year) and n >= conf["min_n"] \
            and int(dd.loc[kp, "n"]) >= conf["min_n"]
        others = d[(d["year"] == r.year) & (d["school_id"] == r.school_id) & (d["n"] >= conf["min_n"])]
        others = others[[(r.year, r.school_id, g, s) not in observed_keys for g, s in zip(others["grade"], others["subject"])]]
        w = others["n"].to_numpy(float)
        d_other = float(np.average(others["d"], weights=w)) if len(others) else np.nan
        base = dict(year=r.year, school_id=r.school_id, grade=r.grade, subject=r.subject, observer=r.observer, n=n,
                    d=dv, d_other=d_other, works_other=len(others))
        if not has_prev:
            rows.append({**base, "verdict": VERDICTS["none"],
                         "text": "Сравнить не с чем: в прошлом году школа не писала эту работу (или писала в другой "
                                 "сезон) либо участников меньше " + str(int(conf["min_n"])) + "."})
            continue
        n_p, d_p = int(dd.loc[kp, "n"]), float(dd.loc[kp, "d"])
        t2 = tau2.get((r.year, r.grade, r.subject), 0.0)
        ch = dv - d_p
        half = 1.959963984540054 * np.sqrt(1 / n + 1 / n_p + t2)
        lo, hi = ch - half, ch + half
        verdict = "lower" if hi < 0 else ("not_lower" if lo > -float(conf["min_effect"]) else "inconclusive")
        rows.append({**base, "n_prev": n_p, "d_prev": d_p, "change": ch, "ci_low": lo, "ci_high": hi,
                     "tau": float(np.sqrt(t2)), "verdict": VERDICTS[verdict], "text": _text(verdict, ch, lo, hi, conf)})
    out = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in out:
            out[c] = np.nan
    out = out[COLUMNS]
    for c in ("n", "n_prev", "works_other"):
        out[c] = pd.to_numeric(out[c]).astype("Int64")
    return out.sort_values(KEY).reset_index(drop=True)


def _num(x: float) -> str:
    return ru.signed(float(x), 2)


def _text(verdict: str, ch: float, lo: float, hi: float, conf: dict) -> str:
    what = (f"Под наблюдением результат школы относительно всех участников изменился на {_num(ch)} SD "
            f"к прошлому году (95 % интервал с учётом обычных колебаний школ {_num(lo)}…{_num(hi)}).")
    if verdict == "lower":
        return (what + " Это ниже, чем обычно бывает между годами: результаты без наблюдателей, вероятно, "
                       "были выше реальных — повод сопоставить процедуры проведения и проверки.")
    if verdict == "not_lower":
        return what + (f" Снижение на {ru.short(conf['min_effect'])} SD и более исключается: наблюдение "
                       "не изменило результат школы.")
    return what + " Вывод сделать нельзя: интервал слишком широк."
