"""Current marks unrelated to knowledge: msoko's ``marks_unrelated`` finding.

The official sign «несоответствие отметкам» fires only when the Spearman correlation between the journal
mark and the ВПР primary score is *negative*. Marks given without regard to knowledge (shuffled among the
class, or everybody «4») are not reversed, only unrelated: the correlation drops towards zero while in an
ordinary school of the same work it is about 0.5–0.7. This finding asks whether a school's correlation is
far below what schools of the work show, given its size:

- Fisher's z of the school's Spearman ρ, ``z = atanh(ρ)``, with the sampling variance of a Spearman
  correlation ``1.06 / (n − 3)`` (Fieller, Hartley & Pearson 1957);
- the work's reference ``z₀`` is the inverse-variance weighted median of the schools' z, and the
  between-school variance τ² is the robust Paule–Mandel estimate (:func:`~msoko.objectivity.core.robust_tau2`)
  — schools differ for ordinary reasons (how teachers mark), and a finding must clear that spread too;
- the one-sided p-value is ``Φ((z − z₀) / √(1.06/(n − 3) + τ²))``; flagged at ``current_marks_alpha``
  (the level of the other current-marks findings), from ``unrelated_min_n`` pupils with a journal mark.

Like ``marks_lower`` it is a question about current marking, not about the ВПР results: it does not enter
the combined picture of the ВПР results.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru
from msoko.objectivity.core import finish, robust_tau2
from msoko.objectivity.official import journal_spearman

SPEARMAN_VAR = 1.06   # var(atanh ρ_s) ≈ 1.06 / (n − 3), Fieller, Hartley & Pearson (1957)
DEFAULT_MIN_N = 10
TEST_KEYS3 = ["year", "grade", "subject"]


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(x, kind="stable")
    x, w = x[o], w[o]
    c = np.cumsum(w)
    return float(x[np.searchsorted(c, 0.5 * c[-1])])


def _fmt(x: float) -> str:
    return ru.number(float(x), 2)


def unrelated_rows(students: pd.DataFrame, cells: pd.DataFrame, cfg: dict, grades=None, subjects=None
                   ) -> pd.DataFrame:
    """One row per cell: ``value`` = the school's ρ, ``threshold`` = the work's typical ρ (tanh z₀)."""
    c = journal_spearman(students, cells, grades, subjects)
    if len(c) == 0:
        return finish(pd.DataFrame())
    min_n = int(cfg.get("unrelated_min_n", DEFAULT_MIN_N))
    alpha = float(cfg.get("current_marks_alpha", 0.005))
    assessed = (c["n"] >= max(min_n, 4)) & c["rho"].notna()
    with np.errstate(divide="ignore", invalid="ignore"):
        c["z"] = np.arctanh(c["rho"].clip(-0.999, 0.999))
        c["var"] = SPEARMAN_VAR / (c["n"] - 3.0)
    c["z0"] = np.nan
    c["tau2"] = np.nan
    for _, idx in c[assessed].groupby(TEST_KEYS3, sort=False).groups.items():
        z = c.loc[idx, "z"].to_numpy(float)
        v = c.loc[idx, "var"].to_numpy(float)
        if len(z) < 5:       # too few schools to say what is usual for this work
            continue
        c.loc[idx, "z0"] = _weighted_median(z, 1.0 / v)
        c.loc[idx, "tau2"] = robust_tau2(z, np.sqrt(v))
    ok = assessed & c["z0"].notna()
    zscore = (c["z"] - c["z0"]) / np.sqrt(c["var"] + c["tau2"])
    c["p_value"] = np.where(ok, st.norm.cdf(zscore), np.nan)
    c["value"] = c["rho"]
    c["threshold"] = np.tanh(c["z0"])
    c["flagged"] = (c["p_value"] < alpha).astype(object).where(ok, None)
    det = []
    for rho, n, z0, p, f, a in zip(c["rho"], c["n"], c["z0"], c["p_value"], c["flagged"], ok):
        if n < min_n:
            det.append(f"не оценивается: участников с отметкой за четверть и баллом {n} (нужно не менее {min_n})")
        elif not np.isfinite(rho):
            det.append("не оценивается: отметки за четверть или баллы ВПР одинаковы у всех участников")
        elif not a:
            det.append("не оценивается: слишком мало школ с этой работой, чтобы сказать, какая связь обычна")
        else:
            det.append(f"ρ Спирмена между отметкой за четверть и первичным баллом = {_fmt(rho)} (n={n}) при обычной "
                       f"для этой работы {_fmt(np.tanh(z0))}; "
                       + ("текущие отметки почти не связаны с результатом ВПР" if f else "связь обычная"))
    c["detail"] = det
    c["sign"] = "marks_unrelated"
    c["procedure"] = "ВПР"
    c["official"] = False
    return finish(c[["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
                     "p_value", "procedure", "official", "detail"]])
