"""msoko's combined picture per school × grade × subject × year (sign ``combined``).

Signs are grouped into families that look at different traces of the same cell and
are nearly independent when nothing is wrong: level against similar schools and ГИА,
level against the neighbouring years, journal marks, distribution of scores, task
pattern, answer strings. Within a family the signs are correlated; their p-values are merged by
Simes' rule, min_i m·p_(i)/i (valid under positive dependence, less conservative than
Bonferroni when two signs of the family agree). Across families the
p-values are roughly independent and are combined two ways:

* Fisher: X = −2 Σ ln p_f ~ χ²(2F) — several moderate traces together;
* Tippett: 1 − (1 − min p_f)^F — one overwhelming trace;

p = min(1, 2·min(p_Fisher, p_Tippett)). The cell is flagged when p < combined_alpha
and n ≥ combined_min_n. ``value`` = −log10 p (the strength of the evidence),
``threshold`` = −log10 combined_alpha. Sample size enters through each sign's
p-value (small classes give weak evidence), and the informativeness label is shown
beside it.

Where a sign points at another cell than the one it is reported on, it is moved:
``cohort_fall`` (S₄(Y) high against S₅(Y+1)) is evidence about grade 4 in year Y;
``cohort_rise`` about grade 5 in Y+1 (its own row).

Answer strings need corroboration (:func:`_corroborate_strings`): their family counts alone
only when its p < ``combined_strings_alone``, otherwise only beside another family with
p < ``combined_strings_corroborate``.

Findings about the objectivity of current assessment rather than of the ВПР
(:data:`NOT_COMBINED`: ВПР marks below the journal mark, «понизили», and journal marks
≥ 2 above the ВПР mark — signs that the journal marks are inflated) never enter the
picture, even when a configuration lists them in a family.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru

from msoko.objectivity.core import CELL_KEYS, finish, in_scope

FAMILY_TITLES = {"level_peers": "уровень результатов против похожих школ и ГИА",
                 "level_time": "уровень результатов против соседних лет", "journal": "отметки за четверть",
                 "distribution": "распределение баллов", "tasks": "выполнение заданий",
                 "strings": "совпадение работ"}

# evidence of inflated current (journal) marks, not of inflated ВПР results
NOT_COMBINED = frozenset({"marks_lower", "marks_far_below", "marks_unrelated",
                          "data_entry_template"})   # a data-entry finding, not evidence about the results


def combined_rows(rows: pd.DataFrame, cells: pd.DataFrame, cfg: dict, grades=None, subjects=None) -> pd.DataFrame:
    from msoko.objectivity import SIGNS
    fam_of = {s: f for f, lst in cfg["combined_families"].items() for s in lst if s not in NOT_COMBINED}
    c = cells.loc[in_scope(cells, grades, subjects), CELL_KEYS + ["n"]].copy()
    if len(c) == 0:
        return finish(pd.DataFrame())
    e = rows.loc[rows["sign"].isin(fam_of) & rows["school_id"].notna() & rows["flagged"].notna()
                 & rows["p_value"].notna(), CELL_KEYS + ["sign", "p_value", "flagged"]].copy()
    e["year"] = e["year"].astype("int64")
    e["grade"] = e["grade"].astype("int64")
    fall = e["sign"] == "cohort_fall"
    e.loc[fall, "year"] -= 1
    e.loc[fall, "grade"] -= 1
    e["family"] = e["sign"].map(fam_of)
    c["year"] = c["year"].astype("int64")
    c["grade"] = c["grade"].astype("int64")
    if len(e):
        # Simes within a family: min_i m·p_(i)/i (valid for positively dependent signs)
        e = e.sort_values(CELL_KEYS + ["family", "p_value"])
        g = e.groupby(CELL_KEYS + ["family"], sort=False)
        e["rank"] = g.cumcount() + 1
        e["m"] = g["p_value"].transform("size")
        e["simes"] = e["m"] * e["p_value"] / e["rank"]
        fam = e.groupby(CELL_KEYS + ["family"]).agg(pf=("simes", "min"), m=("m", "first")).reset_index()
        best = e.loc[e["rank"] == 1, CELL_KEYS + ["family", "sign"]]
        fam = fam.merge(best, on=CELL_KEYS + ["family"])
        fam["pf"] = np.minimum(1.0, fam["pf"]).clip(lower=1e-300)
        fam = _corroborate_strings(fam, fam_of, cfg)
        fam["lnp"] = np.log(fam["pf"])
        agg = fam.groupby(CELL_KEYS).agg(F=("pf", "size"), sln=("lnp", "sum"), pmin=("pf", "min")).reset_index()
        agg["p_fisher"] = st.chi2.sf(-2 * agg["sln"], 2 * agg["F"])
        agg["p_tippett"] = -np.expm1(agg["F"] * np.log1p(-agg["pmin"].clip(upper=1 - 1e-16)))
        agg["p_tippett"] = np.where(agg["pmin"] < 1e-12, agg["F"] * agg["pmin"], agg["p_tippett"])
        agg["p"] = np.minimum(1.0, 2 * np.minimum(agg["p_fisher"], agg["p_tippett"]))
        strong = fam.loc[fam["pf"] < 0.01].sort_values("pf")
        strong_txt = strong.groupby(CELL_KEYS).apply(
            lambda d: "; ".join(f"{FAMILY_TITLES.get(f, f)} — {SIGNS.get(s, (s,))[0]} (p={_p(p)})"
                                for f, s, p in zip(d["family"], d["sign"], d["pf"])),
            include_groups=False).rename("strong").reset_index() if len(strong) else \
            pd.DataFrame(columns=CELL_KEYS + ["strong"])
        c = c.merge(agg[CELL_KEYS + ["F", "p"]], on=CELL_KEYS, how="left").merge(strong_txt, on=CELL_KEYS, how="left")
    else:
        c["F"], c["p"], c["strong"] = np.nan, np.nan, None
    alpha = float(cfg["combined_alpha"])
    ok = c["F"].notna() & (c["F"] > 0) & (c["n"] >= int(cfg["combined_min_n"]))
    c["value"] = -np.log10(c["p"].clip(lower=1e-300))
    c["threshold"] = -np.log10(alpha)
    c["p_value"] = c["p"]
    c["flagged"] = pd.Series(np.asarray(c["p"] < alpha), dtype=object).where(ok.to_numpy(), None).to_numpy()
    det = []
    for a, f, fl, s in zip(ok, c["F"], c["flagged"], c["strong"]):
        if not a:
            det.append("не оценивается: нет рассчитанных признаков или мало участников")
            continue
        head = ("msoko: совокупность признаков в этой работе заметна (уровень плана работы решается по всем "
                "работам школы)" if fl else "msoko: совокупность признаков в этой работе незаметна")
        det.append(f"{head}; семейств признаков рассчитано: {int(f)}"
                   + (f"; заметные: {s}" if isinstance(s, str) and s else ""))
    c["detail"] = det
    c["sign"] = "combined"
    c["official"] = False
    c["procedure"] = "ВПР"
    return finish(c[["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
                     "p_value", "procedure", "official", "detail"]], cfg)


def _corroborate_strings(fam: pd.DataFrame, fam_of: dict, cfg: dict) -> pd.DataFrame:
    """The corroboration rule for answer strings: the family of ``answer_similarity``
    enters a cell's picture alone only when its p < ``combined_strings_alone``; otherwise only
    when another family of the same cell has p < ``combined_strings_corroborate``.

    Why: on real data identical strings within a class are mostly ordinary (one teacher, one
    way of scoring, common patterns of short works), and flags of this family were corroborated
    by the other families only ≈ 1.4× more often than by chance; a string excess far beyond
    the fitted null (planted or real copying of a third of a class gives p ≪ 1e-6) is evidence
    on its own, a moderate one is a reason to look only next to another trace.
    """
    fam_s = fam_of.get("answer_similarity")
    if fam_s is None or len(fam) == 0:
        return fam
    alone = float(cfg.get("combined_strings_alone", 1e-6))
    corr = float(cfg.get("combined_strings_corroborate", 0.05))
    fam = fam.reset_index(drop=True)
    is_s = (fam["family"] == fam_s).to_numpy()
    if not is_s.any():
        return fam
    other = fam.loc[~is_s].groupby(CELL_KEYS)["pf"].min().rename("other").reset_index()
    om = fam[CELL_KEYS].merge(other, on=CELL_KEYS, how="left")["other"].to_numpy(dtype=float)
    drop = is_s & (fam["pf"].to_numpy() >= alone) & ~(om < corr)
    return fam.loc[~drop].reset_index(drop=True)


def _p(p: float) -> str:
    return ru.p_value(p)
