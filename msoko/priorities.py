"""Priorities: the attention zones of each school ranked, and the scoring the recommendations share.

A school's findings (``cycle_analysis``: worse than the municipality, than similar schools, than the
target or than last year; flags such as ШНОР) and its objectivity signs (``objectivity.parquet``) are
grouped into *topics* — one subject's results over ВПР and ГИА, one system-level indicator, the
school's objectivity — and each topic gets

- ``certainty`` in words: «факт» (a fact about the institution, not a sample), «высокая» (the 95 %
  interval excludes the municipal value and that of similar schools, or the shortfall is at least
  ``z_high`` standard errors), «достаточная» (the interval excludes one comparison value), «низкая»
  (the value is on the wrong side but the interval reaches the comparison value);
- ``size``: the gap as an effect size — Cohen's *h* for shares (``2·asin√p₁ − 2·asin√p₂``), the gap
  relative to the comparison value otherwise, a configured size for facts and objectivity;
- ``persistence``: how many procedures (ВПР grades, ОГЭ/ЕГЭ) show the topic this year plus how many
  earlier years (within ``years``) show it again;
- ``score`` = certainty weight × size × persistence, and ``rank`` within the school and year.

Settings: ``[priorities]`` of the municipal configuration. Ranking the findings *of one school* says
what to look at first; it is not a ranking of schools (Rosobrnadzor 2021, 18.04.2025 № 02-86).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from msoko import stats
from msoko.cycle import _names, _where, fmt
from msoko.ru import chance, plural  # noqa: F401 - chance is used and re-exported

CERTAINTY = ("факт", "высокая", "достаточная", "низкая")
DEFAULTS = {
    "top": 5, "top_per_system": 2, "years": 3, "fact_size": 0.5, "max_size": 1.5, "z_high": 3.0, "max_persistence": 4,
    "persistence_step": 0.5, "min_n": 10, "limited_n": 20, "min_gap": 5.0, "size_factor": {},
    "certainty_weight": {"факт": 1.0, "высокая": 1.0, "достаточная": 0.7, "низкая": 0.3},
    "fact_sizes": {},
    "objectivity": {"combined": 2.0, "official": 0.8, "marks_far_below": 1.2, "official_min_signs": 2,
                    "strong_p": 1e-4, "limited_n": 20},
}

# the results of one subject over ВПР and ГИА are one topic; other related indicators pool too
RESULTS = {"vpr_fail_share", "vpr_success", "vpr_quality", "vpr_mean_score", "vpr_mean_pct",
           "vpr_tasks_sufficient", "vpr_level_completion", "gia_below_min", "oge_mark45_share",
           "oge_mean_mark", "ege_mean_score", "ege_80plus"}
TOPICS = {
    **{c: "results" for c in RESULTS},
    "vpr_journal_lower": "vpr_journal", "vpr_journal_higher": "vpr_journal",
    "shnor_flag": "shnor", "shnor_low_procedures": "shnor",
    "risk_profile_high": "risk_profile", "risk_factors_count": "risk_profile",
    "upbr_pdn_kdn_rate": "upbr_offences", "upbr_offences_rate": "upbr_offences",
    "mkdo_area_score": "mkdo", "mkdo_total_score": "mkdo",
    "preschool_availability_3_7": "preschool_access", "preschool_availability_0_3": "preschool_access",
    "principal_mgmt_training": "principal_training",
}
PROCEDURE = {"gia_below_min": "ГИА", "oge_mark45_share": "ОГЭ", "oge_mean_mark": "ОГЭ",
             "ege_mean_score": "ЕГЭ", "ege_80plus": "ЕГЭ"}
GIA_BY_GRADE = {9: "ОГЭ", 11: "ЕГЭ"}
OBJECTIVITY_INDICATORS = {"objectivity": "Признаки необъективности результатов ВПР",
                          "objectivity_marks": "Объективность текущих отметок (отметки за четверть и ВПР)"}
# every objectivity sentence says what it is: a reason to look, never a verdict
LOOK = {"objectivity": "Это повод внимательно посмотреть на проведение и проверку работ, а не вывод о нарушениях",
        "objectivity_marks": "Это вопрос к объективности текущего оценивания, а не к результатам ВПР и не вывод "
                             "о нарушениях"}
PRIORITY_COLUMNS = ["year", "school_id", "school_name", "system", "topic", "indicator", "name_ru", "grade",
                    "subject", "item", "reason", "value", "reference", "gap", "ci_low", "ci_high", "gap_ci_low",
                    "gap_ci_high", "n", "certainty", "size", "persistence", "procedures", "years_shown",
                    "score", "rank", "top", "text_ru"]


def settings(config: dict) -> dict:
    """``[priorities]`` over :data:`DEFAULTS` (nested tables merged)."""
    conf = dict(config.get("priorities") or {})
    out = {**DEFAULTS, **conf}
    for k in ("certainty_weight", "fact_sizes", "objectivity", "size_factor"):
        out[k] = {**DEFAULTS[k], **(conf.get(k) or {})}
    return out


def certainty_sentence(certainty: str) -> str:
    """«Уверенность: высокая.»; a fact says it is one."""
    if certainty == "факт":
        return "Это факт об организации, а не выборочная оценка."
    return f"Уверенность: {certainty}."


def effect_size(value, reference, unit, *, cap: float) -> float:
    """Cohen's h for shares (``unit`` «%»), the relative gap otherwise; NaN without a reference."""
    if value is None or reference is None or pd.isna(value) or pd.isna(reference):
        return math.nan
    if unit == "%":
        p1, p2 = (min(max(float(x) / 100, 0.0), 1.0) for x in (value, reference))
        h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    else:
        h = abs(float(value) - float(reference)) / max(abs(float(reference)), 1e-9)
    return min(h, cap)


def score(certainty: str, size: float, persistence: float, conf: dict) -> float:
    w = float(conf["certainty_weight"].get(certainty, 0.0))
    return w * (0.0 if size is None or pd.isna(size) else float(size)) * float(persistence)


def topic_of(indicator: str, subject, grade=None) -> str:
    """«results:Математика», «vpr_journal:Русский язык», «mkdo», or the indicator itself."""
    t = TOPICS.get(indicator, indicator)
    if t in ("results", "vpr_journal"):
        return f"{t}:{subject if isinstance(subject, str) else '*'}"
    return t


def procedure_of(indicator: str, grade, cat: pd.DataFrame | None = None) -> str:
    """«ВПР 6 кл.», «ОГЭ 9 кл.»; outside ВПР/ГИА the indicator's Russian name in quotes."""
    graded = grade is not None and not pd.isna(grade)
    if indicator in PROCEDURE:
        name = GIA_BY_GRADE.get(int(grade), PROCEDURE[indicator]) if graded else PROCEDURE[indicator]
        return name + (f" {int(grade)} кл." if graded else " в целом")
    if indicator.startswith("vpr_"):
        return "ВПР" + (f" {int(grade)} кл." if graded else " в целом")
    if cat is not None and indicator in cat.index:
        return f"«{cat.loc[indicator, 'name_ru']}»"
    return indicator


# --------------------------------------------------------------------------- objectivity per school

def objectivity_findings(objectivity: pd.DataFrame | None, conf: dict,
                         plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per school × year that msoko's decisions act on, read from the plan of work
    (``objectivity_plan``, :func:`msoko.objectivity.plan.plan_of_work` — the one definition; computed
    from ``objectivity`` with the default settings when ``plan`` is not given).

    Columns: year, school_id, kind («objectivity» — the plan's tier 1 or 2; «objectivity_marks» —
    journal marks far above ВПР in a school whose journal-mark findings the plan confirms), grade,
    subject, n (the strongest work), p_value (the school-level p), informativeness, cells (Russian
    list), official (always «»: official signs alone never act), combined (bool: tier 1 — observers or a
    re-check), tier, measures, certainty, size, text (a reason to look, never an accusation).

    An official ФИОКО flag alone, or a cell-level flag that does not survive the plan's school-level
    error control, is tier 3 (a self-check) and is not a finding here."""
    cols = ["year", "school_id", "kind", "grade", "subject", "n", "p_value", "informativeness", "cells",
            "official", "combined", "tier", "measures", "certainty", "size", "text"]
    if plan is None:
        if objectivity is None or not len(objectivity):
            return pd.DataFrame(columns=cols)
        from msoko.objectivity.plan import plan_of_work
        plan = plan_of_work(objectivity)
    if plan is None or not len(plan):
        return pd.DataFrame(columns=cols)
    oc = conf["objectivity"]
    p = plan.loc[plan["tier"] <= 2]
    rows = []
    for r in p.to_dict("records"):
        top = {"p_value": r["p_school"], "n": r["n"]}
        n = r["n"]
        inf = None if n is None or pd.isna(n) else ("информативна" if n >= 50 else "минимально" if n >= 20
                                                    else "ограниченно")
        top["informativeness"] = inf
        certainty = _objectivity_certainty(top, oc)
        text = (f"план работы по объективности, уровень {int(r['tier'])} ({r['measures']}): {r['reasons']}")
        rows.append((int(r["year"]), r["school_id"], "objectivity", r["grade"], r["subject"], n, r["p_school"], inf,
                     _plan_cells(r["works"]), "", bool(r["tier"] == 1), int(r["tier"]), r["measures"],
                     certainty, float(oc["combined"]) if r["tier"] == 1 else float(oc["official"]), text))
    if objectivity is not None and len(objectivity):
        journal = p.loc[p["families"].str.contains("journal", regex=False)]
        keys = set(zip(journal["year"].astype(int), journal["school_id"]))
        far = objectivity.loc[(objectivity["sign"] == "marks_far_below") & objectivity["flagged"].fillna(False).astype(bool)
                              & objectivity["school_id"].notna()]
        far = far.loc[[k in keys for k in zip(far["year"].astype(int), far["school_id"])]]
        for (y, sid), g in far.groupby([far["year"].astype(int), "school_id"], sort=True):
            g = g.sort_values("p_value", na_position="last", kind="stable")
            top = g.iloc[0].to_dict()
            cells = ", ".join(_cell(a, b) for a, b in zip(g["grade"], g["subject"]))
            text = (f"отметки за четверть выше отметок ВПР на 2 балла и более заметно чаще, чем в других школах "
                    f"({cells}; {_informative(top)}"
                    + (f", {chance(top['p_value'])}" if pd.notna(top["p_value"]) else "") + ")")
            rows.append((int(y), sid, "objectivity_marks", top["grade"], top["subject"], top["n"], top["p_value"],
                         top["informativeness"], cells, "", False, 2, "", _objectivity_certainty(top, oc),
                         float(oc["marks_far_below"]), text))
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["year", "school_id", "kind"], kind="stable").reset_index(drop=True)


def _plan_cells(works: str) -> str:
    """The plan's works («ВПР, 4 кл. Математика; …») as a list of cells «4 кл. Математика, …» (all ВПР)."""
    return ", ".join(w.split(", ", 1)[1] if w.startswith("ВПР, ") else w for w in str(works or "").split("; ") if w)


def _cell(grade, subject) -> str:
    g = f"{int(grade)} кл." if grade is not None and not pd.isna(grade) else ""
    s = subject if isinstance(subject, str) else ""
    return " ".join(x for x in (g, s) if x) or "в целом"


def _informative(r) -> str:
    n = r.get("n")
    if n is None or pd.isna(n):
        return "число участников неизвестно"
    n = int(n)
    word = plural(n, "участник", "участника", "участников")
    inf = r.get("informativeness")
    tail = {"информативна": "выборка информативна", "минимально": "выборка минимально информативна",
            "ограниченно": "информативность ограничена"}.get(inf, "")
    return f"{n} {word}" + (f", {tail}" if tail else "")


def _objectivity_certainty(r, oc: dict) -> str:
    """«высокая» when the strongest cell's p < ``strong_p``, else «достаточная»; a cell of fewer than
    ``limited_n`` participants one step lower."""
    p, n = r.get("p_value"), r.get("n")
    cert = "высокая" if p is not None and not pd.isna(p) and p < float(oc["strong_p"]) else "достаточная"
    if n is None or pd.isna(n) or n < int(oc["limited_n"]):
        cert = DOWNGRADE[cert]
    return cert


# --------------------------------------------------------------------------- priorities

REASON_ORDER = ("below_municipality", "below_similar", "target_miss", "flag", "worse_trend")
CELL = ["year", "school_id", "indicator", "grade", "subject", "item"]
DOWNGRADE = {"высокая": "достаточная", "достаточная": "низкая", "низкая": "низкая", "факт": "факт"}


def _cells(analysis: pd.DataFrame, cat: pd.DataFrame, conf: dict) -> pd.DataFrame:
    """One row per school finding cell (year, school, indicator, grade, subject, item): its reasons with
    their reference values, certainty, size and score before persistence."""
    a = analysis[analysis["level"] == "school"].copy()
    a["_r"] = a["reason"].map({r: i for i, r in enumerate(REASON_ORDER)})
    a = a.sort_values("_r", kind="stable")
    g = a.groupby(CELL, dropna=False, sort=False)
    cells = g.first().reset_index()
    # one group code per finding row (groups numbered in order of first appearance, as cells): each
    # reason's presence and its first non-missing reference by array indexing, not pivots over keys
    codes = g.ngroup().to_numpy()
    size = len(cells)
    reason = a["reason"].to_numpy(object)
    reference = a["reference"].to_numpy(float)
    for r in REASON_ORDER:
        m = reason == r
        has = np.zeros(size, dtype=bool)
        has[codes[m]] = True
        cells[f"has_{r}"] = has
        refs = np.full(size, np.nan)
        with_ref = m & ~np.isnan(reference)
        first, at = np.unique(codes[with_ref], return_index=True)
        refs[first] = reference[with_ref][at]
        cells[f"ref_{r}"] = refs
    cert = a.assign(_fact=a["certainty"] == "точно", _sure=a["certainty"] == "достоверно",
                    _z=pd.to_numeric(a["z"], errors="coerce").replace(np.inf, np.nan))
    agg = cert.groupby(CELL, dropna=False, sort=False).agg(fact=("_fact", "any"), sure=("_sure", "any"),
                                                           zmax=("_z", "max")).reset_index(drop=True)
    both = cells["has_below_municipality"] & cells["has_below_similar"]
    high = both | (agg["zmax"].to_numpy() >= float(conf["z_high"]))
    n = pd.to_numeric(cells["n"], errors="coerce")
    # «точно» in the analysis is a value without an interval: a fact only about the institution itself (n = 1)
    nci = agg["fact"].to_numpy()
    fact = nci & ~(n > 1).to_numpy()
    c = np.select([fact, nci, ~agg["sure"].to_numpy(), high], ["факт", "достаточная", "низкая", "высокая"],
                  "достаточная")
    sample = c != "факт"
    small = sample & (n < int(conf["limited_n"])).to_numpy()
    c = np.where(small, pd.Series(c).map(DOWNGRADE).to_numpy(), c)
    cells["certainty"] = c
    cells["unit"] = cells["indicator"].map(cat["unit"]).fillna("")
    cells["kind"] = cells["indicator"].map(cat["kind"]).fillna("")
    v = cells["value"].to_numpy(float)
    ref = cells["reference"].to_numpy(float)
    pct = (cells["unit"] == "%").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = np.clip(v / 100, 0, 1), np.clip(ref / 100, 0, 1)
        h = np.abs(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))
        rel = np.abs(v - ref) / np.maximum(np.abs(ref), 1e-9)
    size = np.minimum(np.where(pct, h, rel), float(conf["max_size"]))
    size = size * cells["indicator"].map(conf["size_factor"]).fillna(1.0).to_numpy(float)
    fact_size = cells["indicator"].map(conf["fact_sizes"]).fillna(float(conf["fact_size"])).to_numpy(float)
    cells["size"] = np.where(c == "факт", fact_size, size)
    w = pd.Series(c).map(conf["certainty_weight"]).fillna(0).to_numpy(float)
    cells["s1"] = w * np.nan_to_num(cells["size"].to_numpy(float))
    # too few pupils: not a priority at all (the finding stays in cycle_analysis); a share that misses only
    # its target by less than min_gap p.p. (a kindergarten at 99,5 % of a 100 % target) is not one either
    keep = ~(sample & (n < int(conf["min_n"])).to_numpy())
    only_target = cells["has_target_miss"] & ~cells[[f"has_{r}" for r in REASON_ORDER if r != "target_miss"]].any(axis=1)
    near = pct & (np.abs(v - cells["ref_target_miss"].to_numpy(float)) < float(conf["min_gap"]))
    keep &= ~(only_target.to_numpy() & near)
    cells = cells[keep].reset_index(drop=True)
    cells["topic"] = [topic_of(i, s) for i, s in zip(cells["indicator"], cells["subject"])]
    procedure = {}  # (indicator, grade) → its procedure, worked out once
    grades = cells["grade"].astype(object).tolist()
    for i, gr in zip(cells["indicator"].tolist(), grades):
        kk = (i, None if gr is None or pd.isna(gr) else gr)
        if kk not in procedure:
            procedure[kk] = procedure_of(i, gr, cat)
    cells["procedure"] = [procedure[(i, None if gr is None or pd.isna(gr) else gr)]
                          for i, gr in zip(cells["indicator"].tolist(), grades)]
    # the same cell found in earlier years (within the window)
    k = list(zip(*(cells[c].astype(object).fillna("\0").tolist() for c in CELL[1:])))
    present = set(zip(cells["year"].astype(int), k))
    yrs = cells["year"].astype(int).to_numpy()
    shown = []
    for y, kk in zip(yrs, k):
        shown.append([y - d for d in range(int(conf["years"]) - 1, -1, -1) if (y - d, kk) in present])
    cells["shown"] = shown
    return cells


def _gap_ci(rows: pd.DataFrame, indicators: pd.DataFrame | None) -> pd.DataFrame:
    """Newcombe interval of school − rest of the municipality for share rows (NaN elsewhere), in p.p."""
    out = pd.DataFrame({"gap_ci_low": np.nan, "gap_ci_high": np.nan}, index=rows.index)
    if indicators is None or not len(rows):
        return out
    key = ["year", "school_id", "indicator", "grade", "subject", "item"]
    sch = indicators[indicators["level"] == "school"][key + ["numerator", "denominator", "municipality"]]
    mun = indicators[indicators["level"] == "municipality"][key + ["numerator", "denominator"]].rename(
        columns={"school_id": "municipality", "numerator": "m_num", "denominator": "m_den"})
    left = rows[key].copy()
    left["grade"] = pd.to_numeric(left["grade"], errors="coerce").astype("Int8")
    for c in ("subject", "item"):
        left[c] = left[c].astype(object)
    m = left.reset_index().merge(sch, on=key, how="left").merge(
        mun, on=["year", "municipality", "indicator", "grade", "subject", "item"], how="left").set_index("index")
    m = m[~m.index.duplicated()]
    k1, n1 = m["numerator"].to_numpy(float), m["denominator"].to_numpy(float)
    k2, n2 = m["m_num"].to_numpy(float) - k1, m["m_den"].to_numpy(float) - n1
    with np.errstate(invalid="ignore"):
        ok = (n1 > 0) & (n2 > 0) & (k2 >= 0) & (k1 <= n1) & (k2 <= n2)
    _, lo, hi = stats.newcombe_diff_ci(np.where(ok, k1, 0), np.where(ok, n1, 1), np.where(ok, k2, 0),
                                       np.where(ok, n2, 1))
    out.loc[m.index, "gap_ci_low"] = np.where(ok, lo * 100, np.nan)
    out.loc[m.index, "gap_ci_high"] = np.where(ok, hi * 100, np.nan)
    return out


def persistence_factor(persistence, conf: dict):
    """``1 + step·(persistence − 1)``: step 1 multiplies by the count itself (``[priorities]`` step)."""
    return 1 + float(conf["persistence_step"]) * (np.asarray(persistence, float) - 1)


def priorities(analysis: pd.DataFrame, catalogue: pd.DataFrame, config: dict, *,
               objectivity: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None,
               meta: pd.DataFrame | None = None, objectivity_plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ranked attention zones of every school and year (``priorities.parquet``); objectivity from the
    plan of work (``objectivity_plan``)."""
    conf = settings(config)
    cat = catalogue.set_index("code")
    names = _names(meta)
    rows = []
    if len(analysis) and (analysis["level"] == "school").any():
        cells = _cells(analysis, cat, conf)
        cells = cells.sort_values(["year", "school_id", "topic", "s1"], ascending=[True, True, True, False],
                                  kind="stable")
        tg = cells.groupby(["year", "school_id", "topic"], sort=False)
        procs = tg["procedure"].agg(lambda x: list(dict.fromkeys(x))).to_dict()
        best = tg.head(1)
        # the best cell of each topic as plain dicts from column lists (row access is the slow part)
        columns = list(best.columns)
        for values in zip(*(best[c].tolist() for c in columns)):
            r = dict(zip(columns, values))
            y, sid, topic = r["year"], r["school_id"], r["topic"]
            pr = procs[(y, sid, topic)]
            shown = r["shown"]
            # procedures: ВПР, ОГЭ, ЕГЭ (a subject's ВПР grades are one procedure), other indicators each
            kinds = {p.split(" ", 1)[0] if p.split(" ", 1)[0] in ("ВПР", "ОГЭ", "ЕГЭ", "ГИА") else p for p in pr}
            persistence = min(len(kinds) + len(shown) - 1, int(conf["max_persistence"]))
            rows.append(_priority_row(int(y), sid, topic, r, pr, shown, persistence, conf, names))
    ob = objectivity_findings(objectivity, conf, objectivity_plan)
    if len(ob):
        years_of = ob.groupby(["school_id", "kind"])["year"].agg(lambda x: set(int(v) for v in x)).to_dict()
        for r in ob.to_dict("records"):
            shown = sorted(v for v in years_of[(r["school_id"], r["kind"])]
                           if r["year"] - int(conf["years"]) < v <= r["year"])
            persistence = min(len(shown), int(conf["max_persistence"]))
            years_txt = _years_phrase(shown)
            text = (f"{OBJECTIVITY_INDICATORS[r['kind']]}: {r['text']}" + (f"; {years_txt}" if years_txt else "")
                    + f". {LOOK[r['kind']]}. {certainty_sentence(r['certainty'])}")
            rows.append(dict(year=r["year"], school_id=r["school_id"], school_name=names.get(r["school_id"]),
                             system=1, topic=r["kind"], indicator=r["kind"], name_ru=OBJECTIVITY_INDICATORS[r["kind"]],
                             grade=r["grade"], subject=r["subject"], item=None, reason=r["kind"], value=np.nan,
                             reference=np.nan, gap=np.nan, ci_low=np.nan, ci_high=np.nan, n=r["n"],
                             certainty=r["certainty"], size=r["size"], persistence=persistence,
                             procedures=r["cells"], years_shown=len(shown),
                             score=score(r["certainty"], r["size"], persistence_factor(persistence, conf), conf),
                             text_ru=text))
    if not rows:
        return pd.DataFrame(columns=PRIORITY_COLUMNS)
    out = pd.DataFrame(rows)
    out[["gap_ci_low", "gap_ci_high"]] = _gap_ci(out, indicators)
    out["school_name"] = out["school_name"].fillna(out["school_id"]).astype(object)
    out = out.sort_values(["year", "school_id", "score", "system", "topic"],
                          ascending=[False, True, False, True, True], kind="stable")
    out["top"] = _first_screen(out, int(conf["top"]), int(conf["top_per_system"]))
    # the first screen first, then the rest by score
    out = out.sort_values(["year", "school_id", "top", "score"], ascending=[False, True, False, False], kind="stable")
    out["rank"] = out.groupby(["year", "school_id"]).cumcount() + 1
    out["year"] = out["year"].astype(int)
    out["system"] = out["system"].astype(int)
    out["grade"] = pd.to_numeric(out["grade"], errors="coerce").astype("Int8")
    for c in ("value", "reference", "gap", "ci_low", "ci_high", "n", "size", "score"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    for c in ("subject", "item"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out["persistence"] = out["persistence"].astype(int)
    out["years_shown"] = out["years_shown"].astype(int)
    out["rank"] = out["rank"].astype(int)
    return out[PRIORITY_COLUMNS].reset_index(drop=True)


def _first_screen(out: pd.DataFrame, top: int, per_system: int) -> np.ndarray:
    """The ``top`` highest scores of each school and year, at most ``per_system`` of one system while
    others wait (the first screen covers the school, not five subjects of one procedure)."""
    flag = np.zeros(len(out), dtype=bool)
    pos = {i: k for k, i in enumerate(out.index)}
    for _, g in out.groupby(["year", "school_id"], sort=False):
        chosen, count = [], {}
        for i, s in zip(g.index, g["system"]):
            if len(chosen) < top and count.get(s, 0) < per_system:
                chosen.append(i)
                count[s] = count.get(s, 0) + 1
        for i in g.index:
            if len(chosen) >= top:
                break
            if i not in chosen:
                chosen.append(i)
        for i in chosen:
            flag[pos[i]] = True
    return flag


def _years_phrase(shown: list[int]) -> str:
    if len(shown) < 2:
        return ""
    return f"повторяется {len(shown)} {plural(len(shown), 'год', 'года', 'лет')} ({', '.join(map(str, shown))})"


def _priority_row(y, sid, topic, r, procs, shown, persistence, conf, names) -> dict:
    ind, unit = r["indicator"], r["unit"] or ""
    shown_value = ("да" if r["value"] >= 50 else "нет") if r["kind"] == "flag" and pd.notna(r["value"]) \
        else value_text(r["value"], unit)
    text = f"{r['name_ru']}{_where(r)} — {shown_value}"
    if not pd.isna(r["ci_low"]) and not pd.isna(r["ci_high"]):
        text += f" (95 % интервал {interval_text(r['ci_low'], r['ci_high'], unit)}"
        text += f", n = {int(r['n'])})" if not pd.isna(r["n"]) else ")"
    reasons = [c for c in REASON_ORDER if r[f"has_{c}"]]
    words = [_reason_words(c, r[f"ref_{c}"], unit) for c in reasons]
    if r["kind"] == "flag":  # a yes/no: «целевое значение 100 % не достигнуто» says nothing more
        words = [w for w in words if not w.startswith("целевое значение")] or ["не соответствует цели"]
    text += ": " + "; ".join(words)
    if len(procs) > 1:
        text += f"; то же: {', '.join(p for p in procs[1:])}"
    yp = _years_phrase(shown)
    if yp:
        text += f"; {yp}"
    text = text.rstrip(".") + ". " + certainty_sentence(r["certainty"])
    return dict(year=y, school_id=sid, school_name=names.get(sid), system=int(r["system"]), topic=topic,
                indicator=ind, name_ru=r["name_ru"], grade=r["grade"], subject=r["subject"], item=r["item"],
                reason=",".join(reasons), value=r["value"], reference=r["reference"], gap=r["gap"],
                ci_low=r["ci_low"], ci_high=r["ci_high"], n=r["n"], certainty=r["certainty"], size=r["size"],
                persistence=persistence, procedures=", ".join(procs), years_shown=len(shown),
                score=score(r["certainty"], r["size"], persistence_factor(persistence, conf), conf), text_ru=text)


def value_text(v, unit: str) -> str:
    """«28,1 %», «1,5 балла (по шкале 0–3)», «12 чел.»: the number with its unit agreed."""
    if v is None or pd.isna(v):
        return "—"
    if unit.startswith("балл"):
        scale = unit[len("балл"):].strip()
        s = fmt(v)
        word = "балла" if "," in s else plural(float(v), "балл", "балла", "баллов")
        return f"{s} {word}" + (f" (по шкале {scale.strip('()')})" if scale else "")
    if unit == "на 1000":
        return f"{fmt(v)} на 1000 обучающихся"
    if unit == "факторов":
        return f"{fmt(v, unit).split()[0]} {plural(float(v), 'фактор', 'фактора', 'факторов')}"
    return fmt(v, unit)


def interval_text(lo, hi, unit: str) -> str:
    if unit in ("%", ""):
        return f"{fmt(lo)}–{fmt(hi, unit)}"
    return f"{fmt(lo)}–{value_text(hi, unit)}"


def _reason_words(code, ref, unit) -> str:
    has = ref is not None and not pd.isna(ref)
    v = value_text(ref, unit) if has else ""
    if code == "below_municipality":
        return f"хуже муниципального значения {v}" if has else "хуже муниципального значения"
    if code == "below_similar":
        return f"хуже похожих школ ({v})" if has else "хуже похожих школ"
    if code == "target_miss":
        return f"целевое значение {v} не достигнуто" if has else "целевое значение не достигнуто"
    if code == "worse_trend":
        return f"достоверное ухудшение к прошлому году ({v})" if has else "достоверное ухудшение к прошлому году"
    return f"признак риска (порог {v})" if has else "признак риска"
