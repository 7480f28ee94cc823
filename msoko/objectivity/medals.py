"""Objectivity of the marks of candidates for the medal «За успехи в учении» (seed 003, item 36).

The template ``medals`` gives, per candidate and subject, the annual mark and the exam (ЕГЭ/ОГЭ) with its
result. A candidate's «5» promises a good exam result; where a school's «5» are often followed by a weak
exam result, its marks of candidates may be more lenient than the exam's. Per school, year and exam, over
the results whose annual mark is «5»:

* ``below`` of ``n`` — results below what a «5» promises: an ЕГЭ test score under ``ege_min_score`` (60),
  an exam mark (ОГЭ, or ЕГЭ in basic maths) under ``min_exam_mark`` (4), both in ``[medals]``; the share
  with its Wilson interval (:func:`msoko.stats.wilson_ci`), against the other schools' share
  (``expected``, leave-one-school-out) and the municipality's (``share_muni``);
* the mean exam result (ЕГЭ: test score; ОГЭ: mark) with its t interval, and the gap to the other schools'
  mean with a Welch interval (:func:`msoko.stats.welch_diff_ci`) — the subjects of an exam pooled, so a school
  whose candidates chose harder subjects shows a lower mean without any leniency;
* a finding when ``n ≥ min_n`` (10) and the binomial upper tail ``P(X ≥ below | n, expected) < alpha``
  (0,01): a reason to look at how the candidates' marks are set, never a verdict — a school's candidates
  may also simply have written a hard exam badly.

Groups of fewer than ``[informativeness] suppress_below`` (5) candidates are suppressed: no share, no mean,
no finding; under ``limited_below`` (20) they are marked of limited value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru
from msoko.stats import mean_ci, mean_sd, welch_diff_ci, wilson_ci

DEFAULTS = {"ege_min_score": 60.0, "min_exam_mark": 4, "min_n": 10, "alpha": 0.01}
COLUMNS = ["year", "school_id", "exam", "candidates", "n", "below", "share", "ci_low", "ci_high", "expected",
           "share_muni", "p_value", "flagged", "mean_result", "mean_low", "mean_high", "mean_others", "gap",
           "gap_low", "gap_high", "suppressed", "limited", "text"]


def settings(config: dict | None) -> dict:
    return {**DEFAULTS, **((config or {}).get("medals") or {})}


def _results(medals: pd.DataFrame, conf: dict) -> pd.DataFrame:
    """The results with annual «5» and an exam result: ``is_below`` and ``result`` (ЕГЭ test score, else mark)."""
    m = medals.assign(school_id=medals["school_id"].astype(str), student_code=medals["student_code"].astype(str))
    m = m[pd.to_numeric(m["annual_mark"], errors="coerce") == 5].copy()
    score = pd.to_numeric(m["exam_score"], errors="coerce")
    mark = pd.to_numeric(m["exam_mark"], errors="coerce")
    ege_score = (m["exam"] == "ЕГЭ") & score.notna()
    m["result"] = np.where(ege_score, score, mark)
    m["is_below"] = np.where(ege_score, score < float(conf["ege_min_score"]), mark < int(conf["min_exam_mark"]))
    # a mean is of one kind of result: ЕГЭ test scores, or marks (ОГЭ); an ЕГЭ with a mark only counts in the share
    m["in_mean"] = ege_score | ((m["exam"] == "ОГЭ") & mark.notna())
    return m[m["result"].notna()]


def medal_rows(medals: pd.DataFrame | None, config: dict | None = None) -> pd.DataFrame:
    """One row per school, year and exam with candidates' results (see the module docstring)."""
    conf = settings(config)
    info = (config or {}).get("informativeness") or {}
    suppress, limited = int(info.get("suppress_below", 5)), int(info.get("limited_below", 20))
    if medals is None or medals.empty:
        return pd.DataFrame(columns=COLUMNS)
    m = _results(medals, conf)
    if m.empty:
        return pd.DataFrame(columns=COLUMNS)
    m["x"] = m["result"].where(m["in_mean"], 0.0)
    m["x2"] = m["x"] ** 2
    key = ["year", "school_id", "exam"]
    g = m.groupby(key).agg(candidates=("student_code", "nunique"), n=("is_below", "size"),
                           below=("is_below", "sum"), nm=("in_mean", "sum"), s=("x", "sum"),
                           ss=("x2", "sum")).reset_index()
    g[["n", "below", "nm"]] = g[["n", "below", "nm"]].astype("float64")
    tot = g.groupby(["year", "exam"])[["n", "below", "nm", "s", "ss"]].transform("sum")
    on, ob = tot["n"] - g["n"], tot["below"] - g["below"]
    expected = (ob / on.where(on > 0)).clip(1e-6, 1 - 1e-6)
    g["share"] = 100.0 * g["below"] / g["n"]
    lo, hi = wilson_ci(g["below"], g["n"])
    g["ci_low"], g["ci_high"] = 100.0 * lo, 100.0 * hi
    g["expected"] = 100.0 * expected
    g["share_muni"] = 100.0 * tot["below"] / tot["n"]
    mean, mlo, mhi = mean_ci(g["s"], g["ss"], g["nm"])
    g["mean_result"], g["mean_low"], g["mean_high"] = mean, mlo, mhi
    sd = mean_sd(g["s"], g["ss"], g["nm"])[1]
    om, osd = mean_sd(tot["s"] - g["s"], tot["ss"] - g["ss"], tot["nm"] - g["nm"])
    g["mean_others"] = om
    g["gap"], g["gap_low"], g["gap_high"] = welch_diff_ci(mean, sd, g["nm"], om, osd, tot["nm"] - g["nm"])
    g["suppressed"] = g["candidates"] < suppress            # groups of people: the candidates, not their results
    g["limited"] = g["candidates"] < limited
    ok = (g["n"] >= int(conf["min_n"])) & expected.notna() & ~g["suppressed"]
    g["p_value"] = np.where(ok, st.binom.sf(g["below"] - 1, g["n"], expected.fillna(0.5)), np.nan)
    g["flagged"] = pd.array((g["p_value"] < float(conf["alpha"])).where(ok, None), dtype="boolean")
    hide = ["share", "ci_low", "ci_high", "mean_result", "mean_low", "mean_high", "gap", "gap_low", "gap_high"]
    g.loc[g["suppressed"], hide] = np.nan
    g.loc[g["suppressed"], "below"] = 0
    for c in ("candidates", "n", "below"):
        g[c] = g[c].astype("int64")
    g["text"] = [_text(r, conf, suppress) for r in g.itertuples(index=False)]
    return g[COLUMNS].sort_values(["year", "school_id", "exam"]).reset_index(drop=True)


def _promise(exam: str, conf: dict) -> str:
    mark = f"отметка ниже «{int(conf['min_exam_mark'])}»"
    if exam == "ЕГЭ":
        return f"меньше {ru.number(float(conf['ege_min_score']), 0)} тестовых баллов (или {mark} за базовый уровень)"
    return mark


def _text(r, conf: dict, suppress: int) -> str:
    if r.suppressed:
        return f"{r.exam}: претендентов меньше {suppress} — данные не показываются."
    who = (f"{r.exam}: из {r.n} {ru.plural(r.n, 'результата', 'результатов', 'результатов')} претендентов с годовой «5» "
           f"{r.below} — {_promise(r.exam, conf)}: {ru.number(r.share, 0)} % "
           f"[{ru.number(r.ci_low, 0)}–{ru.number(r.ci_high, 0)}] при {ru.number(r.expected, 0)} % у других школ")
    limited = " Группа мала: сведения ограниченно информативны." if r.limited else ""
    if r.n < int(conf["min_n"]):
        return f"{who}. Вывод не делается: нужно не менее {int(conf['min_n'])} результатов.{limited}"
    if bool(r.flagged):
        return (f"{who} ({ru.chance(r.p_value)}). Годовые «5» претендентов школы подтверждаются экзаменом заметно "
                "реже, чем в других школах: повод сопоставить требования к отметкам претендентов с требованиями "
                f"экзамена, а не вывод о необъективности.{limited}")
    return f"{who}: заметного отличия от других школ нет.{limited}"
