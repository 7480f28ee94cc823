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
from msoko.ru import chance, plural  # noqa: F401 - chance: re-exported
from msoko.seasons import same_season, seasonal
from msoko.ru import MAX_WORKS_NAMED, works_list
from msoko.vocabulary import MARK_SIGNS

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
                    "score", "rank", "top", "evidence", "text_ru"]


def settings(config: dict) -> dict:
    """``[priorities]`` over :data:`DEFAULTS` (nested tables merged)."""
    conf = dict(config.get("priorities") or {})
    out = {**DEFAULTS, **conf}
    for k in ("certainty_weight", "fact_sizes", "objectivity", "size_factor"):
        out[k] = {**DEFAULTS[k], **(conf.get(k) or {})}
    # a list made by a rule over sample intervals (ШНОР) is neither a fact nor one sample's estimate: its
    # certainty is that of the rule's intervals (``[shnor] require_interval``)
    shnor = (config.get("shnor") or {}).get("default") or {}
    out["rule_flags"] = {"shnor_flag": "высокая" if shnor.get("require_interval", True) else "достаточная"}
    out["vpr_seasons"] = config.get("vpr_seasons") or {}
    out["evidence_min_n"] = evidence_min_n(config)
    return out


RULE_CERTAINTY = "по правилу региона, интервалы учтены"


def certainty_sentence(certainty: str, rule: bool = False) -> str:
    """«Уверенность: высокая.»; a fact says it is one; a rule-based list (ШНОР) says how it was made."""
    if certainty == "факт":
        return "Это факт об организации, а не выборочная оценка."
    return f"Уверенность: {certainty} ({RULE_CERTAINTY})." if rule else f"Уверенность: {certainty}."


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
        # the reason's gap lies beyond the interval («достоверно» in the analysis)
        sure = np.zeros(size, dtype=bool)
        sure[codes[m & (a["certainty"].to_numpy(object) == "достоверно")]] = True
        cells[f"sure_{r}"] = sure
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
    rule = cells["indicator"].map(conf["rule_flags"]).to_numpy(object)
    is_rule = pd.notna(rule)
    c = np.where(is_rule, rule, c)
    sample = (c != "факт") & ~is_rule
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
    cells["size"] = np.where((c == "факт") | is_rule, fact_size, size)
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
    # the same cell found in earlier years (within the window); ВПР only in years of the same season
    k = list(zip(*(cells[c].astype(object).fillna("\0").tolist() for c in CELL[1:])))
    present = set(zip(cells["year"].astype(int), k))
    yrs = cells["year"].astype(int).to_numpy()
    seas = {"vpr_seasons": conf["vpr_seasons"]}
    by_season = cells["indicator"].map(cat["source"]).map(seasonal).fillna(False).to_numpy(bool) \
        if "source" in cat.columns else np.zeros(len(cells), dtype=bool)
    shown = []
    for y, kk, sz in zip(yrs, k, by_season):
        shown.append([y - d for d in range(int(conf["years"]) - 1, -1, -1) if (y - d, kk) in present
                      and (not sz or same_season(y - d, y, seas))])
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
            # the objectivity box shows every finding (its text says how informative the cell is); the
            # evidence word decides whether its actions may reach the first screen
            ev = "достаточно" if not _nan(r["n"]) and float(r["n"]) >= int(conf["evidence_min_n"]) else "малоинформативно"
            rows.append(dict(evidence=ev, year=r["year"], school_id=r["school_id"], school_name=names.get(r["school_id"]),
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
    out["evidence"] = _contradicted(out, indicators, catalogue, conf)
    turned = (out["evidence"] == "противоречиво").to_numpy()
    out.loc[turned, "text_ru"] = out.loc[turned, "text_ru"] + " " + evidence_note("противоречиво", 0)
    out["top"] = _first_screen(out, int(conf["top"]), int(conf["top_per_system"]),
                               (out["evidence"].isin(FIRST_SCREEN_STRONG)
                                | out["topic"].isin(list(OBJECTIVITY_INDICATORS))).to_numpy())
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


def _contradicted(out: pd.DataFrame, indicators: pd.DataFrame | None, catalogue: pd.DataFrame,
                  conf: dict) -> pd.Series:
    """``evidence`` with «противоречиво» where the same cell is better than the municipality or similar
    schools on the evidence rule (a concern that another comparison contradicts is neither a concern nor a
    strength of the first screen)."""
    ev = out["evidence"].astype(object).copy()
    if indicators is None or not len(out):
        return ev
    key = ["year", "school_id", "indicator", "grade", "subject", "item"]
    sample = ev.eq("достаточно")
    if not sample.any():
        return ev
    cols = ["municipality_value", "similar_value", "vs_municipality", "vs_similar"]
    sch = indicators[(indicators["level"] == "school") & indicators["indicator"].isin(set(out.loc[sample, "indicator"]))]
    sch = sch[key + [c for c in cols if c in sch.columns]].drop_duplicates(key)
    left = out.loc[sample, key].copy()
    left["grade"] = pd.to_numeric(left["grade"], errors="coerce").astype("Int8")
    sch = sch.assign(grade=pd.to_numeric(sch["grade"], errors="coerce").astype("Int8"))
    for c in ("subject", "item"):
        left[c] = left[c].astype(object)
        sch[c] = sch[c].astype(object)
    m = left.reset_index().merge(sch, on=key, how="left").set_index("index")
    direction = out.loc[m.index, "indicator"].map(catalogue.set_index("code")["direction"]).fillna("")
    good = np.where(direction == "lower", -1.0, np.where(direction == "higher", 1.0, 0.0))
    unit = out.loc[m.index, "indicator"].map(catalogue.set_index("code")["unit"]).fillna("")
    min_n = int(conf["evidence_min_n"])
    # plain columns instead of a row Series per cell (m.loc[i], out.loc[i]): the same values
    mc = {c: (m[c].to_numpy(dtype=object) if c in m.columns else np.full(len(m), None, dtype=object)) for c in cols}
    oc = {c: out.loc[m.index, c].to_numpy(dtype=object) for c in ("value", "ci_low", "ci_high", "n")}
    hit = []
    for k, (i, g, u) in enumerate(zip(m.index, good, unit)):
        for vs, ref in (("vs_municipality", "municipality_value"), ("vs_similar", "similar_value")):
            v = mc[vs][k]
            if _nan(v) or g == 0 or float(v) * g <= 0:
                continue
            if evidence(oc["value"][k], oc["ci_low"][k], oc["ci_high"][k], mc[ref][k], oc["n"][k], u, min_n=min_n,
                        beyond=True) == "достаточно":
                hit.append(i)
    if hit:
        ev.loc[hit] = "противоречиво"
    return ev


def _first_screen(out: pd.DataFrame, top: int, per_system: int, eligible: np.ndarray | None = None) -> np.ndarray:
    """The ``top`` highest scores of each school and year, at most ``per_system`` of one system while
    others wait (the first screen covers the school, not five subjects of one procedure); only the
    ``eligible`` rows (those the evidence rule lets through)."""
    flag = np.zeros(len(out), dtype=bool)
    pos = {i: k for k, i in enumerate(out.index)}
    if eligible is not None:
        keep = pd.Series(np.asarray(eligible, dtype=bool), index=out.index)
        out = out[keep]
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
    evidence = concern_evidence(r, conf)
    text = text.rstrip(".") + ". " + certainty_sentence(r["certainty"], ind in conf["rule_flags"])
    note = evidence_note(evidence, int(conf["evidence_min_n"]))
    if note:
        text += f" {note}"
    return dict(evidence=evidence, year=y, school_id=sid, school_name=names.get(sid), system=int(r["system"]), topic=topic,
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


# --------------------------------------------------------------------------- the evidence rule

MAX_PUPILS = 2  # a gap worth this many pupils or fewer never reaches the first screen
RULE_EVIDENCE = "по правилу региона"   # the evidence word of a rule-made list (``rule_flags``: ШНОР)
FIRST_SCREEN_STRONG = ("факт", "достаточно", RULE_EVIDENCE)


from msoko.config import evidence_min_n  # noqa: E402,F401 - one definition for compute and the reports


def pupils(gap, n, unit: str, ci_low=math.nan, ci_high=math.nan) -> float:
    """How many pupils a gap is worth.

    A share or a mean percentage (``unit`` «%»): one pupil moves it by at most 100/n p.p., so the gap is
    worth ``|gap| · n / 100`` pupils. Other units (mean scores, rates): a pupil is taken as four standard
    deviations of the group (the whole spread of a typical group), the standard deviation read from the
    95 % interval (``sd = (hi − lo) / (2 · 1,96) · √n``): ``|gap| · n / (4 · sd)``. NaN when unknown."""
    try:
        gap, n = abs(float(gap)), float(n)
    except (TypeError, ValueError):
        return math.nan
    if math.isnan(gap) or math.isnan(n) or n <= 0:
        return math.nan
    if unit == "%":
        return gap * n / 100
    try:
        sd = (float(ci_high) - float(ci_low)) / (2 * stats.Z95) * math.sqrt(n)
    except (TypeError, ValueError):
        return math.nan
    if math.isnan(sd) or sd <= 0:
        return math.nan
    return gap * n / (4 * sd)


def evidence(value, ci_low, ci_high, reference, n, unit: str, *, min_n: int, beyond: bool | None = None) -> str:
    """Whether a gap between a value and a comparison value may reach the first screen, in one word.

    - «факт»: a value about the institution itself (no interval, n ≤ 1 or unknown) — shown as a fact;
    - «малоинформативно»: a group under ``min_n`` — details only;
    - «нет интервала»: a value over a group of pupils without an interval — no evidence of a gap;
    - «в пределах погрешности»: the interval is not wholly on one side of the comparison value (``beyond``
      given: compute's own verdict of that, e.g. ``vs_municipality`` ≠ 0);
    - «1–2 обучающихся»: the gap is worth at most :data:`MAX_PUPILS` pupils (:func:`pupils`);
    - «достаточно»: all of it holds — the gap may be a first-screen concern, strength or action."""
    no_ci = _nan(ci_low) or _nan(ci_high)
    if no_ci and (_nan(n) or float(n) <= 1):
        return "факт"
    if _nan(n) or float(n) < min_n:
        return "малоинформативно"
    if no_ci and beyond is None:
        return "нет интервала"
    if _nan(value) or _nan(reference):
        return "в пределах погрешности"
    if beyond is None:
        beyond = float(ci_high) < float(reference) or float(ci_low) > float(reference)
    if not beyond:
        return "в пределах погрешности"
    p = pupils(float(value) - float(reference), n, unit, ci_low, ci_high)
    if not math.isnan(p) and p <= MAX_PUPILS:
        return "1–2 обучающихся"
    return "достаточно"


def _nan(x) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def evidence_note(word: str, min_n: int) -> str:
    """The words a detail gets when its evidence keeps it off the first screen («» for a strong one)."""
    return {"малоинформативно": f"Малоинформативно: группа меньше {min_n} обучающихся, на первый экран не выносится.",
            "нет интервала": "Без доверительного интервала: на первый экран не выносится.",
            "1–2 обучающихся": "Разница — не больше двух обучающихся: на первый экран не выносится.",
            "противоречиво": "По другому сравнению школа лучше: на первый экран не выносится."}.get(word, "")


def concern_evidence(r: dict, conf: dict) -> str:
    """The evidence word of a finding cell (a row of :func:`_cells`): «факт»; «по правилу региона» for a
    flag set by the region's rule over intervals (ШНОР, ``rule_flags``: pinned on the first screen, so never
    «малоинформативно … на первый экран не выносится»); else its group must reach
    ``evidence_min_n`` and at least one of its reasons must be beyond the interval («достоверно» in the
    analysis) with a gap worth more than two pupils against that reason's comparison value."""
    if r.get("certainty") == "факт":
        return "факт"
    if r.get("indicator") in conf["rule_flags"]:   # a list made by the region's rule (ШНОР): the rule itself
        return RULE_EVIDENCE                        # asks for intervals and groups, its n is the school (1)
    min_n = int(conf["evidence_min_n"])
    n = r.get("n")
    if _nan(n) or float(n) < min_n:
        return "малоинформативно"
    word = "в пределах погрешности"
    for reason in REASON_ORDER:
        if not r.get(f"has_{reason}") or not r.get(f"sure_{reason}"):
            continue
        ref = r.get(f"ref_{reason}")
        w = evidence(r.get("value"), r.get("ci_low"), r.get("ci_high"), ref, n, r.get("unit") or "", min_n=min_n,
                     beyond=True)
        if w == "достаточно":
            return w
        if w != "в пределах погрешности":
            word = w
    return word


# --------------------------------------------------------------------------- the first screen

FIRST_SCREEN_COLUMNS = ["year", "school_id", "part", "rank", "indicator", "grade", "subject", "comparator", "side",
                        "value", "reference", "n", "certainty", "follows", "addressee", "text_ru", "reason_ru"]
FIRST_SCREEN_POINTS = 3   # concerns and strengths each
FIRST_SCREEN_ACTIONS = 5
# overall and per-subject indicators a strength may come from (the key results, as the report tables show)
STRENGTH_BREAKDOWN = {"vpr_fail_share", "vpr_quality", "vpr_mean_pct", "gia_below_min", "oge_mark45_share"}
STRENGTH_SKIP = {"vpr_participation", "vpr_mark3_share", "vpr_mark4_share", "vpr_mark5_share", "vpr_journal_confirm",
                 "vpr_journal_lower", "vpr_journal_higher", "shnor_low_procedures", "vpr_task_completion",
                 "vpr_level_completion", "vpr_tasks_sufficient"}
# indicators that say the same thing (the «2» share and its complement): one family on one screen
FAMILY = {"vpr_success": "vpr_fail_share", "vpr_mean_score": "vpr_mean_pct", "oge_mean_mark": "oge_mark45_share"}
COMPARATOR_WORDS = {"municipality": ("муниципального значения", "муниципалитета"),
                    "similar": ("похожих школ", "похожих школ")}
# signs about the results of a work (the works «under review»), as against the current marks
MAX_WORKS = MAX_WORKS_NAMED


def family(code: str) -> str:
    return FAMILY.get(code, code)


def under_review(objectivity: pd.DataFrame | None, conf: dict | None = None,
                 objectivity_plan: pd.DataFrame | None = None) -> dict[tuple[int, str], set]:
    """(year, school) → the subjects whose ВПР results the same screen asks to re-check: the schools with an
    objectivity finding about the results (:func:`objectivity_findings` kind «objectivity»: msoko's combined
    sign, or enough official signs that similar schools do not explain), their cells with the combined sign
    or a counted official sign; ``None`` in the set: a work without a subject. Journal-mark findings put
    the current marks in question, not the results."""
    out: dict[tuple[int, str], set] = {}
    if objectivity is None or not len(objectivity):
        return out
    from msoko.objectivity import OFFICIAL_SIGNS

    conf = conf or settings({})
    found = objectivity_findings(objectivity, conf, plan=objectivity_plan)
    found = found[found["kind"] == "objectivity"]
    if found.empty:
        return out
    schools = set(zip(found["year"].astype(int), found["school_id"].astype(str)))
    o = objectivity[objectivity["flagged"].fillna(False).astype(bool) & objectivity["school_id"].notna()]
    sim = objectivity[(objectivity["sign"] == "inflated_mean_similar") & objectivity["flagged"].notna()
                      & ~objectivity["flagged"].fillna(False).astype(bool)]
    in_line = set(zip(sim["year"].astype(int), sim["school_id"].astype(str), sim["grade"].astype(object).tolist(),
                      sim["subject"].astype(object).tolist()))
    for y, sid, g, subj, sign in zip(o["year"].astype(int), o["school_id"].astype(str), o["grade"].astype(object),
                                     o["subject"].astype(object), o["sign"]):
        if (y, sid) not in schools or (sign != "combined" and sign not in OFFICIAL_SIGNS):
            continue
        if sign == "inflated_mean" and (y, sid, g, subj) in in_line:
            continue
        out.setdefault((y, sid), set()).add(subj if isinstance(subj, str) else None)
    return out


def _standing(indicators: pd.DataFrame, catalogue: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Every school row of a key indicator (overall, or by subject for :data:`STRENGTH_BREAKDOWN`) with
    its verdict against the municipality and similar schools on the evidence rule: ``side_municipality``,
    ``side_similar`` = +1 better, −1 worse (compute found the interval beyond and the evidence holds), 0
    not shown; ``worse_any`` = worse on any comparison compute found, whatever the evidence."""
    cat = catalogue.set_index("code")
    d = indicators[(indicators["level"] == "school") & indicators["value"].notna()
                   & ~indicators["suppressed"].fillna(False).astype(bool) & indicators["item"].isna()
                   & indicators["grade"].isna() & indicators["indicator"].isin(cat.index)]
    d = d[d["subject"].isna() | d["indicator"].isin(STRENGTH_BREAKDOWN)].copy()
    if d.empty:
        return d.assign(side_municipality=[], side_similar=[], worse_any=[])
    direction = d["indicator"].map(cat["direction"])
    good = np.where(direction == "lower", -1.0, np.where(direction == "higher", 1.0, 0.0))
    d["unit"] = d["indicator"].map(cat["unit"]).fillna("")
    d["kind"] = d["indicator"].map(cat["kind"]).fillna("")
    worse_any = np.zeros(len(d), dtype=bool)
    for c, (vs, ref) in {"municipality": ("vs_municipality", "municipality_value"),
                         "similar": ("vs_similar", "similar_value")}.items():
        v = pd.to_numeric(d[vs], errors="coerce").fillna(0).to_numpy(float) * good
        worse_any |= v < 0
        ev = [evidence(a, lo, hi, r, n, u, min_n=min_n, beyond=bool(s != 0)) if s != 0 else ""
              for a, lo, hi, r, n, u, s in zip(d["value"], d["ci_low"], d["ci_high"], d[ref], d["n"], d["unit"], v)]
        ok = np.array([e == "достаточно" for e in ev], dtype=bool)
        d[f"side_{c}"] = np.where(ok, np.sign(v), 0).astype(int)
    d["worse_any"] = worse_any
    return d


def first_screen(prio: pd.DataFrame, recs: pd.DataFrame, indicators: pd.DataFrame, catalogue: pd.DataFrame,
                 config: dict, *, objectivity: pd.DataFrame | None = None,
                 objectivity_plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """What each school's first screen says (``first_screen.parquet``), decided once on the evidence rule.

    - ``concern``: the school's top priorities (``priorities.top``: evidence «факт» or «достаточно», not
      contradicted by another comparison), objectivity left to its own box; at most three.
    - ``strength``: a key indicator better than the municipality or similar schools on the evidence rule
      (group ≥ ``[recommendation_settings] min_n``, interval beyond, more than two pupils), worse than
      neither, not in the family of a concern on the same screen, and not from ВПР results under
      objectivity review (:func:`under_review`); at most three, one per indicator.
    - ``action``: a recommendation whose basis passes the evidence rule and that follows from a concern
      on the same screen (``follows`` = «concern:k», ``reason_ru`` starts «к пункту k») or from the
      objectivity finding of the box («objectivity»); at most five, in compute's rank order.
    - ``standing``: the arrows of the «where the school stands» table: per overall indicator and
      comparator (``comparator`` municipality / similar) ``side`` +1 / −1 where the evidence rule holds and
      the lists agree (no ▲ on a concern, no ▼ on a strength)."""
    conf = settings(config)
    min_n = int(conf["evidence_min_n"])
    cat = catalogue.set_index("code")
    rows: list[dict] = []
    std = _standing(indicators, catalogue, min_n) if indicators is not None and len(indicators) else pd.DataFrame()
    review = under_review(objectivity, conf, objectivity_plan)
    keys = set()
    if prio is not None and len(prio):
        keys |= set(zip(prio["year"].astype(int), prio["school_id"].astype(str)))
    if recs is not None and len(recs):
        keys |= set(zip(recs["year"].astype(int), recs["school_id"].astype(str)))
    if len(std):
        keys |= set(zip(std["year"].astype(int), std["school_id"].astype(str)))
    # one pass over each table, then plain lists per school: per-school frames cost more than the rules
    p_by = _records_by_school(_fs_concern_rows(prio))
    r_by = _records_by_school(recs)
    s_by = _records_by_school(_fs_strength_rows(std, conf))
    for key in sorted(keys):
        y, sid = key
        concerns = _fs_concerns(p_by.get(key))
        for k, c in enumerate(concerns, 1):
            rows.append(dict(year=y, school_id=sid, part="concern", rank=k, indicator=c["indicator"], grade=c["grade"],
                             subject=c["subject"], comparator=str(c["reason"]).split(",")[0], side=-1,
                             value=c["value"], reference=c["reference"], n=c["n"], certainty=c["certainty"],
                             follows=c["topic"], addressee=None, text_ru=c["text_ru"], reason_ru=None))
        s = s_by.get(key)
        if s:
            strengths = _fs_strengths(s, concerns, review.get(key, set()), cat, y, sid, rows)
            _fs_standing(s, concerns, strengths, y, sid, rows)
        if r_by.get(key) is not None:
            _fs_actions(r_by[key], concerns, cat, min_n, y, sid, rows)
    return _fs_frame(rows)


def _records_by_school(d: pd.DataFrame | None) -> dict[tuple[int, str], list[dict]]:
    """(year, school) → the rows of ``d`` as dicts, in the frame's order (``groupby`` + ``to_dict`` per group,
    in one ``to_dict``)."""
    out: dict[tuple[int, str], list[dict]] = {}
    if d is None or not len(d):
        return out
    # Arrow-backed string columns as object first: the same Python strings (NaN for a missing one), without
    # Arrow's per-element iteration inside to_dict
    plain = d.astype({c: object for c, t in d.dtypes.items() if isinstance(t, pd.StringDtype)})
    for k, r in zip(zip(d["year"].astype(int).tolist(), d["school_id"].astype(str).tolist()), plain.to_dict("records")):
        out.setdefault(k, []).append(r)
    return out


def _fs_concern_rows(prio: pd.DataFrame | None) -> pd.DataFrame | None:
    """The priorities a concern can come from (objectivity has its own box), with ``_pin`` (the ШНОР status)
    and ``_rest`` (the other top priorities)."""
    if prio is None or not len(prio):
        return prio
    prio = prio[~prio["topic"].isin(list(OBJECTIVITY_INDICATORS))]
    return prio.assign(_pin=(prio["indicator"] == "shnor_flag").to_numpy(bool),
                       _rest=(prio["top"].astype(bool) & (prio["indicator"] != "shnor_flag")).to_numpy(bool))


def _fs_strength_rows(std: pd.DataFrame, conf: dict) -> pd.DataFrame:
    """The standing rows with what the strengths need, once for all schools: ``_cand`` (better on the rule,
    worse on no comparison, not a skipped indicator), ``_overall``, ``_size`` (×1,5 when better than both),
    ``_both`` and ``_ref``."""
    if not len(std):
        return std
    cand_rule = (((std["side_municipality"] > 0) | (std["side_similar"] > 0)) & ~std["worse_any"]
                 & ~std["indicator"].isin(STRENGTH_SKIP) & ~std["indicator"].str.startswith(("risk_", "context"))
                 & (std["kind"] != "flag"))
    both = (std["side_municipality"] > 0) & (std["side_similar"] > 0)
    ref = np.where(std["side_municipality"] > 0, std["municipality_value"], std["similar_value"])
    size = [effect_size(v, r_, u, cap=float(conf["max_size"])) if c else math.nan for v, r_, u, c in
            zip(std["value"], ref, std["unit"], cand_rule)]
    return std.assign(_cand=cand_rule.to_numpy(bool), _overall=std["subject"].isna().to_numpy(bool),
                      _size=np.nan_to_num(np.asarray(size, float)) * np.where(both, 1.5, 1.0),
                      _both=both.to_numpy(), _ref=ref)


def _fs_concerns(p: list[dict] | None) -> list[dict]:
    """A school's concerns: its top priorities outside objectivity (which has its own box), the ШНОР status
    first — the municipality's own decision about the school (its rule already asks for intervals and groups
    of 20), whatever else ranks above it; at most :data:`FIRST_SCREEN_POINTS`."""
    if not p:
        return []
    pinned = sorted((c for c in p if c["_pin"]), key=lambda c: c["rank"])[:1]
    rest = sorted((c for c in p if c["_rest"]), key=lambda c: c["rank"])
    return (pinned + rest)[:FIRST_SCREEN_POINTS]


def _fs_strengths(s: list[dict], concerns: list[dict], rev: set, cat: pd.DataFrame, y: int, sid: str,
                  rows: list[dict]) -> list[dict]:
    """The strengths (better on the rule, worse on no comparison, not of a concern's family, not from ВПР
    results under objectivity review; one per family, largest first) appended to ``rows`` with the note that
    says why a better result is withheld; returns them."""
    concern_families = {family(c["indicator"]) for c in concerns}
    strengths: list[dict] = []
    cand = [r for r in s if r["_cand"]]
    withheld_family = any(family(r["indicator"]) in concern_families for r in cand)
    cand = [r for r in cand if family(r["indicator"]) not in concern_families]
    withheld_review = False
    if rev:
        named = {x for x in rev if x is not None}
        held = [r["indicator"].startswith("vpr_") and (_nan(r["subject"]) or r["subject"] in named) for r in cand]
        withheld_review = any(held)
        cand = [r for r, h in zip(cand, held) if not h]
    seen = set()
    for r in sorted(cand, key=lambda r: (-r["_size"], r["indicator"])):
        if family(r["indicator"]) in seen:
            continue
        seen.add(family(r["indicator"]))
        strengths.append(r)
        if len(strengths) >= FIRST_SCREEN_POINTS:
            break
    for k, r in enumerate(strengths, 1):
        comp = "municipality" if r["side_municipality"] > 0 else "similar"
        rows.append(dict(year=y, school_id=sid, part="strength", rank=k, indicator=r["indicator"], grade=None,
                         subject=r["subject"], comparator=comp, side=1, value=r["value"], reference=r["_ref"],
                         n=r["n"], certainty="высокая" if r["_both"] else "достаточная", follows=None,
                         addressee=None, text_ru=_strength_text(r, cat), reason_ru=None))
    if withheld_review or (withheld_family and not strengths):
        # a better result the screen does not call a strength says why (the table still shows it)
        note = ("Результаты ВПР школы лучше муниципальных или похожих школ, но не выносятся в сильные стороны, "
                "пока работы школы на проверке объективности (см. «Объективность»)." if withheld_review else
                "Лучшие, чем в муниципалитете или у похожих школ, значения не выносятся в сильные стороны: по тем "
                "же показателям есть зоны внимания.")
        rows.append(dict(year=y, school_id=sid, part="strength_note", rank=1, indicator=None, grade=None,
                         subject=None, comparator=None, side=0, value=np.nan, reference=np.nan, n=np.nan,
                         certainty=None, follows=None, addressee=None, text_ru=note, reason_ru=None))
    return strengths


def _fs_standing(s: list[dict], concerns: list[dict], strengths: list[dict], y: int, sid: str,
                 rows: list[dict]) -> None:
    """The arrows of the «where the school stands» table: per overall indicator and comparator where the
    rule holds, no ▲ on a concern and no ▼ on a strength."""
    concern_overall = {c["indicator"] for c in concerns if _nan(c["grade"]) and not isinstance(c["subject"], str)}
    strength_overall = {r["indicator"] for r in strengths if not isinstance(r["subject"], str)}
    for r in s:
        if not r["_overall"]:
            continue
        for comp in ("municipality", "similar"):
            side = int(r[f"side_{comp}"])
            if side == 0 or (side > 0 and r["indicator"] in concern_overall) or \
                    (side < 0 and r["indicator"] in strength_overall):
                continue
            rows.append(dict(year=y, school_id=sid, part="standing", rank=0, indicator=r["indicator"],
                             grade=None, subject=None, comparator=comp, side=side, value=r["value"],
                             reference=r["municipality_value" if comp == "municipality" else "similar_value"],
                             n=r["n"], certainty=None, follows=None, addressee=None, text_ru="", reason_ru=None))


def _fs_actions(rc: list[dict], concerns: list[dict], cat: pd.DataFrame, min_n: int, y: int, sid: str,
                rows: list[dict]) -> None:
    """The actions: recommendations in compute's rank whose basis passes the evidence rule and that follow a
    concern of the same screen («к пункту k») or the objectivity finding; at most :data:`FIRST_SCREEN_ACTIONS`."""
    rc = sorted(rc, key=lambda a: a["rank"]) if rc and "rank" in rc[0] else rc
    topics = {c["topic"]: k for k, c in reversed(list(enumerate(concerns, 1)))}
    codes = {c["indicator"]: k for k, c in reversed(list(enumerate(concerns, 1)))}
    k_act = 0
    for a in rc:
        if k_act >= FIRST_SCREEN_ACTIONS:
            break
        ind = str(a["indicator"])
        unit = cat.loc[ind, "unit"] if ind in cat.index else ""
        if ind in OBJECTIVITY_INDICATORS:
            if _nan(a["n"]) or float(a["n"]) < min_n:
                continue
            follows, why = "objectivity", "к разделу «Объективность»"
        else:
            ev = evidence(a["value"], a["ci_low"], a["ci_high"], a["reference"], a["n"], unit, min_n=min_n)
            if a.get("certainty") == "факт":
                ev = "факт"
            if ev not in FIRST_SCREEN_STRONG:
                continue
            t = topic_of(ind, a["subject"])
            k = topics.get(t, codes.get(ind))
            if k is None:
                continue
            c = concerns[k - 1]
            follows = f"concern:{k}"
            why = f"к пункту {k} («{c['name_ru']}{_where(c)}»)"
            head = f"«{c['name_ru']}»{_where(c)}"
            if str(a["reason_ru"]).startswith(head):  # the concern's own value: not named twice
                a = {**a, "reason_ru": str(a["reason_ru"])[len(head):]}
        k_act += 1
        rows.append(dict(year=y, school_id=sid, part="action", rank=k_act, indicator=ind, grade=a["grade"],
                         subject=a["subject"], comparator=None, side=-1, value=a["value"], reference=a["reference"],
                         n=a["n"], certainty=a["certainty"], follows=follows, addressee=a.get("addressee"),
                         text_ru=str(a.get("action_ru") or "").strip(),
                         reason_ru=why + (a["reason_ru"] if str(a["reason_ru"]).startswith((" — ", " (")) else
                                          f": {str(a['reason_ru']).lstrip(': ')}" if a["reason_ru"] else "")))


def _fs_frame(rows: list[dict]) -> pd.DataFrame:
    """first_screen.parquet's columns and types, in the order concern, strength, note, action, standing."""
    if not rows:
        return pd.DataFrame(columns=FIRST_SCREEN_COLUMNS)
    out = pd.DataFrame(rows)
    out["year"] = out["year"].astype(int)
    out["rank"] = out["rank"].astype(int)
    out["side"] = out["side"].astype(int)
    out["grade"] = pd.to_numeric(out["grade"], errors="coerce").astype("Int8")
    for c in ("value", "reference", "n"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    for c in ("subject", "comparator", "certainty", "follows", "addressee", "reason_ru", "indicator"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    order = {"concern": 0, "strength": 1, "strength_note": 2, "action": 3, "standing": 4}
    out = out.sort_values(["year", "school_id", "part", "rank"], key=lambda x: x.map(order) if x.name == "part" else x,
                          kind="stable")
    return out[FIRST_SCREEN_COLUMNS].reset_index(drop=True)


def _strength_text(r: dict, cat: pd.DataFrame) -> str:
    """«Качество по ВПР (доля «4» и «5») (Математика): 56,0 % (95 % интервал 48,1–63,6 %, n = 150) — выше
    муниципального значения (44,0 %) и похожих школ (50,9 %) за пределами погрешности. Уверенность: высокая.»"""
    code, unit = r["indicator"], r["unit"] or ""
    name = cat.loc[code, "name_ru"] if code in cat.index else code
    where = f" ({r['subject']})" if isinstance(r.get("subject"), str) else ""
    text = f"{name}{where}: {value_text(r['value'], unit)}"
    if not _nan(r.get("ci_low")) and not _nan(r.get("ci_high")):
        text += f" (95 % интервал {interval_text(r['ci_low'], r['ci_high'], unit)}"
        text += f", n = {int(r['n'])})" if not _nan(r.get("n")) else ")"
    side = "ниже" if (cat.loc[code, "direction"] if code in cat.index else "higher") == "lower" else "выше"
    parts = []
    if r["side_municipality"] > 0:
        parts.append(f"муниципального значения ({value_text(r['municipality_value'], unit)})")
    if r["side_similar"] > 0:
        parts.append(f"похожих школ ({value_text(r['similar_value'], unit)})")
    sure = "высокая" if len(parts) == 2 else "достаточная"
    return f"{text} — {side} {' и '.join(parts)} за пределами погрешности. Уверенность: {sure}."
