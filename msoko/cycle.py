"""The management cycle per system: goals → indicators → monitoring → analysis →
addressed recommendations → effectiveness of last year's measures.

Everything here works on the computed indicators frame (indicators.parquet), the
catalogue and the configuration; nothing recomputes an indicator from raw data.

- :func:`analyse` — «зоны внимания»: school and municipality values that miss their
  target, moved the wrong way (the change interval excludes zero), lie wholly on the
  wrong side of the municipality or of similar schools, or carry a flag (risk factor,
  ШНОР, level of tasks below the sufficiency threshold). Ordered by how sure we are:
  ``z`` = the shortfall in units of the standard error taken from the 95 % interval;
  ``certainty`` is «достоверно» (the interval lies wholly beyond the reference),
  «вероятно» (the value is beyond but the interval reaches it) or «точно» (a fact,
  not a sample: a flag, a count, an institution's yes/no).
- :func:`recommend` — declarative rules from ``[[recommendations]]`` in the config.
- :func:`effectiveness` — for each measure of year Y, the targeted indicator in Y and
  Y + 1 with the difference and its interval (Newcombe for shares, normal
  approximation from the published intervals otherwise) and a verdict.
- :func:`management_cycle` — all of it, per system, as :class:`SystemCycle`.

No ranking of schools is produced (Rosobrnadzor 2021, 18.04.2025 № 02-86): comparisons
with the target, the municipality, similar schools and last year only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msoko import stats
from msoko.config import by_year, target as config_target
from msoko.errors import MsokoError

SYSTEM_NAMES = {
    1: "Система оценки качества подготовки обучающихся",
    2: "Система работы со школами с низкими результатами обучения и/или школами, функционирующими "
       "в неблагоприятных социальных условиях",
    3: "Система выявления, поддержки и развития способностей и талантов у детей и молодежи",
    4: "Система работы по самоопределению и профессиональной ориентации обучающихся",
    5: "Система мониторинга эффективности руководителей образовательных организаций",
    6: "Система обеспечения профессионального развития педагогических работников",
    7: "Система организации воспитания обучающихся",
    8: "Система мониторинга качества дошкольного образования",
}

REASONS = {
    "target_miss": "не достигнуто целевое значение",
    "worse_trend": "достоверное ухудшение к прошлому году",
    "below_municipality": "хуже муниципального значения",
    "below_similar": "хуже похожих школ",
    "flag": "признак риска",
}
# flags that are analysed (task-level flags are summarised by vpr_tasks_sufficient)
FLAG_INDICATORS_PREFIX = ("risk_",)
FLAG_INDICATORS = {"shnor_flag", "shnsu_flag", "risk_profile_high", "vpr_level_completion", "context_index"}
# per-task rows are too fine for the attention list
SKIP_COMPARISON = {"vpr_task_completion", "olymp_stage_participants", "olymp_awardees", "teacher_vacancies",
                   "vpr_mark3_share", "vpr_mark4_share", "vpr_mark5_share", "vpr_journal_confirm"}
# by grade/subject these repeat another indicator's finding (complement of the «2» share, score vs % of max)
SKIP_BREAKDOWN = {"vpr_success", "vpr_mean_score", "oge_mean_mark"}
ANALYSIS_COLUMNS = ["year", "system", "level", "school_id", "school_name", "indicator", "name_ru", "grade",
                    "subject", "item", "reason", "reason_ru", "value", "ci_low", "ci_high", "n", "limited",
                    "reference", "gap", "z", "certainty", "text_ru"]
Z = stats.Z95


def fmt(v, unit: str = "") -> str:
    """Russian number: one decimal, decimal comma; '%' units glued with a thin space."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "—"
    s = f"{float(v):.1f}".replace(".", ",").replace("-", "−")
    if s.endswith(",0") and unit in ("чел.", "ед.", "факторов"):
        s = s[:-2]
    return f"{s} {unit}".strip() if unit else s


def _where(row) -> str:
    parts = []
    if isinstance(row.get("subject"), str):
        parts.append(row["subject"])
    g = row.get("grade")
    if g is not None and not pd.isna(g):
        parts.append(f"{int(g)} кл.")
    if isinstance(row.get("item"), str):
        parts.append(f"«{row['item']}»")
    return f" ({', '.join(parts)})" if parts else ""


def _bad_sign(direction: pd.Series) -> np.ndarray:
    """+1 where lower is better (a bigger value is worse), −1 where higher is better."""
    return np.where(direction.to_numpy() == "lower", 1.0, -1.0)


def _names(meta: pd.DataFrame | None) -> dict:
    if meta is None or "name" not in meta.columns:
        return {}
    return dict(zip(meta["school_id"].astype(str), meta["name"].astype(object)))


def _targets(indicators: pd.DataFrame, config: dict) -> pd.Series:
    t = pd.Series(np.nan, index=indicators.index)
    conf_t = config.get("targets") or {}
    for code in set(indicators["indicator"].unique()) & set(conf_t):
        m = indicators["indicator"] == code
        for y in indicators.loc[m, "year"].unique():
            v = config_target(config, code, int(y))
            if v is not None:
                t[m & (indicators["year"] == y)] = v
    return t


def analyse(indicators: pd.DataFrame, catalogue: pd.DataFrame, config: dict, *,
            meta: pd.DataFrame | None = None, year: int | None = None) -> pd.DataFrame:
    """«Зоны внимания» — see the module docstring. One row per finding."""
    an = config.get("analysis") or {}
    min_gap = float(an.get("min_gap", 5.0))
    ind = indicators if year is None else indicators[indicators["year"] == year]
    ind = ind[~ind["suppressed"] & ind["value"].notna()]
    cat = catalogue.set_index("code")
    ind = ind[ind["indicator"].isin(cat.index)].copy()
    ind["direction"] = ind["indicator"].map(cat["direction"])
    ind["unit"] = ind["indicator"].map(cat["unit"])
    bad = _bad_sign(ind["direction"])
    total = ind["grade"].isna() & ind["subject"].isna() & ind["item"].isna()
    has_ci = ind["ci_low"].notna() & ind["ci_high"].notna()
    se = ((ind["ci_high"] - ind["ci_low"]) / (2 * Z)).where(has_ci)
    found = []

    def add(mask, reason, reference, ci_beyond):
        sub = ind[mask].copy()
        if sub.empty:
            return
        ref = pd.Series(reference, index=ind.index)[mask]
        b = bad[np.asarray(mask)]
        gap = (sub["value"] - ref) * b
        zz = gap / se[mask]
        sure = pd.Series(ci_beyond, index=ind.index)[mask].fillna(False).astype(bool)
        nci = ~has_ci[mask]
        sub["reason"] = reason
        sub["reference"] = ref
        sub["gap"] = gap
        sub["z"] = np.where(nci, np.inf, zz)
        sub["certainty"] = np.where(nci, "точно", np.where(sure, "достоверно", "вероятно"))
        found.append(sub)

    # 1. targets (totals)
    tgt = _targets(ind, config)
    miss = total & tgt.notna() & ((ind["value"] - tgt) * bad > 0)
    beyond = np.where(bad > 0, ind["ci_low"] > tgt, ind["ci_high"] < tgt)
    add(miss, "target_miss", tgt, beyond)
    # 2. worse trend: change interval wholly in the bad direction
    ch_lo, ch_hi = ind["change_ci_low"], ind["change_ci_high"]
    worse = np.where(bad > 0, ch_lo > 0, ch_hi < 0) & ind["change"].notna()
    worse &= ~ind["indicator"].isin(SKIP_COMPARISON)
    trend = ind[worse]
    if len(trend):
        sub = trend.copy()
        sub["reason"] = "worse_trend"
        sub["reference"] = sub["prev_value"]
        sub["gap"] = sub["change"] * bad[worse]
        cse = (sub["change_ci_high"] - sub["change_ci_low"]) / (2 * Z)
        sub["z"] = sub["gap"] / cse
        sub["certainty"] = "достоверно"
        found.append(sub)
    # 3–4. compared with the municipality / similar schools (school rows, any breakdown)
    school = (ind["level"] == "school") & ~ind["indicator"].isin(SKIP_COMPARISON)
    school &= total | ~ind["indicator"].isin(SKIP_BREAKDOWN)
    if not an.get("by_breakdown", True):
        school &= total
    pct = ind["unit"].isin(["%"])
    for col, vs, reason in (("municipality_value", "vs_municipality", "below_municipality"),
                            ("similar_value", "vs_similar", "below_similar")):
        v = ind[vs].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        gap = (ind["value"] - ind[col]) * bad
        m = school & (v * bad > 0) & (~pct | (gap >= min_gap))
        add(m, reason, ind[col], pd.Series(True, index=ind.index))
    # 5. flags
    fl = ind["flag"].astype("boolean").fillna(False).astype(bool)
    flagged = fl & (ind["indicator"].isin(FLAG_INDICATORS) | ind["indicator"].str.startswith(FLAG_INDICATORS_PREFIX))
    flagged &= (ind["level"] == "school") | (ind["indicator"] == "vpr_level_completion")
    thr = ind["threshold"]
    beyond = np.where(bad > 0, ind["ci_low"] > thr, ind["ci_high"] < thr)
    ref = thr.where(thr.notna(), np.nan)
    # flags without a threshold (ШНОР, ШНСУ, high risk profile): a fact
    fact = flagged & thr.isna()
    add(flagged & thr.notna(), "flag", ref, beyond)
    if fact.any():
        sub = ind[fact].copy()
        sub["reason"], sub["reference"], sub["gap"], sub["z"], sub["certainty"] = "flag", np.nan, np.nan, np.inf, "точно"
        found.append(sub)

    if not found:
        return pd.DataFrame(columns=ANALYSIS_COLUMNS)
    out = pd.concat(found, ignore_index=True)
    out["system"] = out["indicator"].map(cat["system"]).astype(int)
    out["name_ru"] = out["indicator"].map(cat["name_ru"])
    out["reason_ru"] = out["reason"].map(REASONS)
    names = _names(meta)
    out["school_name"] = np.where(out["level"] == "school", out["school_id"].map(names), out["school_id"])
    out["school_name"] = out["school_name"].fillna(out["school_id"])
    cols = ["level", "school_name", "name_ru", "unit", "value", "ci_low", "ci_high", "reason", "reference",
            "certainty", "limited", "n", "subject", "grade", "item"]
    arrays = [out[c].tolist() for c in cols]      # plain lists: much cheaper than to_dict("records")
    out["text_ru"] = [_sentence(dict(zip(cols, v))) for v in zip(*arrays)]
    order = {"точно": 0, "достоверно": 1, "вероятно": 2}
    out["_o"] = out["certainty"].map(order)
    out["_z"] = -out["z"].fillna(0)
    out = out.sort_values(["year", "system", "_o", "_z"], ascending=[False, True, True, True], kind="stable")
    return out[ANALYSIS_COLUMNS].reset_index(drop=True)


def _sentence(r: dict) -> str:
    unit = r.get("unit") or ""
    who = r["school_name"] if r["level"] == "school" else f"Муниципалитет {r['school_name']}"
    ci = (f" [{fmt(r['ci_low'])}; {fmt(r['ci_high'])}]"
          if not pd.isna(r.get("ci_low")) and not pd.isna(r.get("ci_high")) else "")
    head = f"{who}: «{r['name_ru']}»{_where(r)} — {fmt(r['value'], unit)}{ci}"
    reason = r["reason"]
    if reason == "target_miss":
        tail = f"; целевое значение {fmt(r['reference'], unit)} не достигнуто"
    elif reason == "worse_trend":
        tail = f"; в прошлом году {fmt(r['reference'], unit)}, ухудшение достоверно"
    elif reason == "below_municipality":
        tail = f"; хуже муниципального значения {fmt(r['reference'], unit)}"
    elif reason == "below_similar":
        tail = f"; хуже похожих школ ({fmt(r['reference'], unit)})"
    else:
        tail = (f"; порог {fmt(r['reference'], unit)}" if not pd.isna(r.get("reference")) else "")
        tail += "; признак риска"
    sure = {"достоверно": "различие достоверно", "вероятно": "различие вероятно, но интервал широк",
            "точно": "факт"}[r["certainty"]]
    lim = "; выборка малая — информативность ограничена" if r.get("limited") else ""
    n = f", n = {int(r['n'])}" if not pd.isna(r.get("n")) and r["certainty"] != "точно" else ""
    return f"{head}{tail} ({sure}{n}){lim}."


# --------------------------------------------------------------------------- recommendations

REC_COLUMNS = ["year", "system", "school_id", "school_name", "rule", "indicator", "grade", "subject", "item",
               "value", "addressee", "text_ru"]


def _condition_rows(ind: pd.DataFrame, cond: dict, config: dict, cat: pd.DataFrame) -> pd.DataFrame:
    code = cond["indicator"]
    rows = ind[(ind["indicator"] == code) & (ind["level"] == "school") & ~ind["suppressed"] & ind["value"].notna()]
    if rows.empty:
        return rows
    total = rows["grade"].isna() & rows["subject"].isna() & rows["item"].isna()
    if cond.get("breakdown", "total") == "any":
        rows = rows[~total] if (~total).any() else rows
    else:
        rows = rows[total]
    op = cond.get("op", ">=")
    direction = cat.loc[code, "direction"] if code in cat.index else "higher"
    bad = 1.0 if direction == "lower" else -1.0
    v = rows["value"]
    if op in ("<", "<=", ">", ">=", "=="):
        import operator
        fn = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}[op]
        m = fn(v, float(cond["value"]))
    elif op == "flag":
        m = rows["flag"].astype("boolean").fillna(False).astype(bool)
    elif op == "target_miss":
        t = _targets(rows, config)
        m = t.notna() & ((v - t) * bad > 0)
    elif op == "worse_than_municipality":
        m = rows["vs_municipality"].astype("Float64").fillna(0).astype(float) * bad > 0
    elif op == "worse_trend":
        m = np.where(bad > 0, rows["change_ci_low"] > 0, rows["change_ci_high"] < 0)
    else:
        raise MsokoError(f"Неизвестное условие правила рекомендации: op = «{op}» (допустимы <, <=, >, >=, ==, "
                         "flag, target_miss, worse_than_municipality, worse_trend)")
    return rows[np.asarray(m, dtype=bool)]


def recommend(indicators: pd.DataFrame, catalogue: pd.DataFrame, config: dict, *,
              meta: pd.DataFrame | None = None, year: int | None = None) -> pd.DataFrame:
    """Addressed recommendations per school from the ``[[recommendations]]`` rules."""
    ind = indicators if year is None else indicators[indicators["year"] == year]
    cat = catalogue.set_index("code")
    names = _names(meta)
    out = []
    for rule in config.get("recommendations") or []:
        conds = rule.get("when") or []
        if not conds:
            continue
        for c in conds:
            if "indicator" not in c or (c.get("op", ">=") in ("<", "<=", ">", ">=", "==") and "value" not in c):
                raise MsokoError(f"Правило рекомендации «{rule.get('id', '?')}»: в условии нужны indicator, op "
                                 "и (для сравнения) value")
        if "text" not in rule:
            raise MsokoError(f"Правило рекомендации «{rule.get('id', '?')}»: не задан text")
        matched = [_condition_rows(ind, c, config, cat) for c in conds]
        first = matched[0]
        if first.empty:
            continue
        keys = set(zip(first["year"], first["school_id"]))
        for mrows in matched[1:]:
            keys &= set(zip(mrows["year"], mrows["school_id"]))
        first = first[[k in keys for k in zip(first["year"], first["school_id"])]]
        unit = cat.loc[conds[0]["indicator"], "unit"] if conds[0]["indicator"] in cat.index else ""
        for r in first[["year", "school_id", "indicator", "grade", "subject", "item", "value"]].to_dict("records"):
            name = names.get(r["school_id"]) or r["school_id"]
            text = rule["text"].format(
                school=name, value=fmt(r["value"], unit), indicator=r["indicator"],
                subject=r["subject"] if isinstance(r["subject"], str) else "все предметы",
                grade=int(r["grade"]) if not pd.isna(r["grade"]) else "все",
                item=r["item"] if isinstance(r["item"], str) else "")
            out.append({"year": int(r["year"]), "system": int(rule.get("system", cat.loc[r["indicator"], "system"])),
                        "school_id": r["school_id"], "school_name": name, "rule": rule.get("id", ""),
                        "indicator": r["indicator"], "grade": r["grade"], "subject": r["subject"],
                        "item": r["item"], "value": r["value"], "addressee": rule.get("addressee", ""),
                        "text_ru": text})
    if not out:
        return pd.DataFrame(columns=REC_COLUMNS)
    res = pd.DataFrame(out)[REC_COLUMNS]
    res["grade"] = res["grade"].astype("Int8")
    return res.sort_values(["year", "system", "school_id", "rule"], ascending=[False, True, True, True],
                           kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- effectiveness

EFF_COLUMNS = ["year", "school_id", "school_name", "system", "indicator", "name_ru", "measure", "decision",
               "responsible", "target_value", "value_before", "value_after", "change", "change_ci_low",
               "change_ci_high", "municipality_change", "effect_vs_municipality", "target_reached", "n_before",
               "n_after", "verdict", "text_ru"]


def effectiveness(measures: pd.DataFrame | None, indicators: pd.DataFrame, catalogue: pd.DataFrame, *,
                  meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """Did the indicator a measure of year Y aimed at move by Y + 1? One row per measure."""
    if measures is None or len(measures) == 0:
        return pd.DataFrame(columns=EFF_COLUMNS)
    cat = catalogue.set_index("code")
    names = _names(meta)
    ind = indicators[indicators["grade"].isna() & indicators["subject"].isna() & indicators["item"].isna()]
    key = ["level", "school_id", "indicator", "year"]
    ind = ind.drop_duplicates(key).set_index(key)
    rows = []
    for m in measures.to_dict("records"):
        y, sid, code = int(m["year"]), str(m["school_id"]), str(m["indicator"])
        base = {"year": y, "school_id": sid, "school_name": names.get(sid, sid), "system": m.get("system"),
                "indicator": code, "name_ru": cat.loc[code, "name_ru"] if code in cat.index else code,
                "measure": m.get("measure"), "decision": m.get("decision"), "responsible": m.get("responsible"),
                "target_value": m.get("target_value")}
        if code not in cat.index:
            rows.append({**base, "verdict": "показатель не найден в каталоге",
                         "text_ru": f"Показатель «{code}» меры «{m.get('measure')}» не найден в каталоге."})
            continue
        direction, unit, kind = cat.loc[code, "direction"], cat.loc[code, "unit"], cat.loc[code, "kind"]
        b = ind.loc[("school", sid, code, y)] if ("school", sid, code, y) in ind.index else None
        a = ind.loc[("school", sid, code, y + 1)] if ("school", sid, code, y + 1) in ind.index else None
        if b is None or a is None or pd.isna(b["value"]) or pd.isna(a["value"]):
            miss = y + 1 if a is None or pd.isna(a["value"]) else y
            rows.append({**base, "value_before": None if b is None else b["value"],
                         "value_after": None if a is None else a["value"],
                         "verdict": "нет данных",  # the year is in text_ru
                         "text_ru": f"{base['school_name']}: мера «{m.get('measure')}» ({y}) — "
                                    f"эффективность пока не оценить: нет значения показателя за {miss} год."})
            continue
        d = a["value"] - b["value"]
        if kind in ("share", "flag") and not pd.isna(a["numerator"]) and not pd.isna(b["numerator"]) \
                and a["denominator"] > 1 and b["denominator"] > 1:
            _, lo, hi = stats.newcombe_diff_ci(a["numerator"], a["denominator"], b["numerator"], b["denominator"])
            lo, hi = float(lo) * 100, float(hi) * 100
        elif not any(pd.isna(x) for x in (a["ci_low"], a["ci_high"], b["ci_low"], b["ci_high"])):
            _, lo, hi = stats.wald_diff_ci(a["value"], (a["ci_high"] - a["ci_low"]) / (2 * Z),
                                           b["value"], (b["ci_high"] - b["ci_low"]) / (2 * Z))
            lo, hi = float(lo), float(hi)
        else:
            lo = hi = np.nan
        good = -1.0 if direction == "lower" else 1.0
        mb = ind.loc[("municipality", b["municipality"], code, y), "value"] \
            if ("municipality", b["municipality"], code, y) in ind.index else np.nan
        ma = ind.loc[("municipality", b["municipality"], code, y + 1), "value"] \
            if ("municipality", b["municipality"], code, y + 1) in ind.index else np.nan
        mch = ma - mb
        tv = m.get("target_value")
        reached = None if tv is None or pd.isna(tv) else bool((a["value"] - float(tv)) * good >= 0)
        if np.isnan(lo):
            verdict = ("улучшение (без интервала)" if d * good > 0 else
                       "ухудшение (без интервала)" if d * good < 0 else "без изменений")
        elif (lo > 0 and good > 0) or (hi < 0 and good < 0):
            verdict = "достоверное улучшение"
        elif (hi < 0 and good > 0) or (lo > 0 and good < 0):
            verdict = "достоверное ухудшение"
        else:
            verdict = "изменение не доказано"
        ci = "" if np.isnan(lo) else f" [{fmt(lo)}; {fmt(hi)}]"
        text = (f"{base['school_name']}: мера «{m.get('measure')}» ({y}) — показатель «{base['name_ru']}» "
                f"{fmt(b['value'], unit)} → {fmt(a['value'], unit)} (изменение {fmt(d)}{ci}); {verdict}")
        if not np.isnan(mch):
            text += f"; в муниципалитете за то же время {fmt(mch)}"
        if reached is not None:
            text += "; целевое значение достигнуто" if reached else "; целевое значение не достигнуто"
        rows.append({**base, "value_before": b["value"], "value_after": a["value"], "change": d,
                     "change_ci_low": lo, "change_ci_high": hi, "municipality_change": mch,
                     "effect_vs_municipality": d - mch if not np.isnan(mch) else np.nan,
                     "target_reached": reached, "n_before": b["n"], "n_after": a["n"], "verdict": verdict,
                     "text_ru": text + "."})
    out = pd.DataFrame(rows)
    for c in EFF_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    out = out[EFF_COLUMNS]
    for c in ("value_before", "value_after", "change", "change_ci_low", "change_ci_high", "municipality_change",
              "effect_vs_municipality", "n_before", "n_after", "target_value"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["target_reached"] = out["target_reached"].astype("boolean")
    out["system"] = pd.to_numeric(out["system"], errors="coerce").astype("Int8")
    return out


# --------------------------------------------------------------------------- per system

@dataclass
class SystemCycle:
    """The management cycle of one system, ready for a report (nothing to recompute)."""

    system: int
    name: str
    goal: str
    tasks: list[str]
    targets: pd.DataFrame          # indicator, name_ru, year, target, direction, unit, municipality value, met
    indicators: pd.DataFrame       # catalogue rows of the system
    monitoring: pd.DataFrame       # municipality totals by year (with target)
    analysis: pd.DataFrame
    recommendations: pd.DataFrame
    effectiveness: pd.DataFrame
    not_computed: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> str:
        return (f"Система {self.system}. {self.name}: показателей {len(self.indicators)}, "
                f"зон внимания {len(self.analysis)}, рекомендаций {len(self.recommendations)}, "
                f"мер оценено {len(self.effectiveness)}")


def monitoring(indicators: pd.DataFrame, catalogue: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Municipality totals of every indicator by year with the target and whether it is met."""
    ind = indicators[(indicators["level"] == "municipality") & indicators["grade"].isna()
                     & indicators["subject"].isna() & indicators["item"].isna()].copy()
    cat = catalogue.set_index("code")
    ind["system"] = ind["indicator"].map(cat["system"])
    ind["name_ru"] = ind["indicator"].map(cat["name_ru"])
    ind["unit"] = ind["indicator"].map(cat["unit"])
    ind["direction"] = ind["indicator"].map(cat["direction"])
    ind["target"] = _targets(ind, config)
    bad = _bad_sign(ind["direction"])
    ind["target_met"] = pd.array(np.where(ind["target"].notna() & ind["value"].notna(),
                                          (ind["value"] - ind["target"]) * bad <= 0, pd.NA), dtype="boolean")
    cols = ["year", "system", "school_id", "indicator", "name_ru", "unit", "direction", "value", "ci_low",
            "ci_high", "n", "numerator", "denominator", "change", "change_ci_low", "change_ci_high", "target",
            "target_met", "limited"]
    return ind.rename(columns={})[cols].rename(columns={"school_id": "municipality"}).reset_index(drop=True)


def targets_table(catalogue: pd.DataFrame, config: dict, years: list[int]) -> pd.DataFrame:
    rows = []
    for r in catalogue.to_dict("records"):
        for y in years:
            t = config_target(config, r["code"], int(y))
            if t is not None:
                rows.append((int(r["system"]), r["code"], r["name_ru"], int(y), t, r["direction"], r["unit"]))
    return pd.DataFrame(rows, columns=["system", "indicator", "name_ru", "year", "target", "direction", "unit"])


def management_cycle(indicators: pd.DataFrame, catalogue: pd.DataFrame, config: dict, *,
                     measures: pd.DataFrame | None = None, meta: pd.DataFrame | None = None,
                     notes: pd.DataFrame | None = None) -> dict[int, SystemCycle]:
    """All eight systems. Returns ``{system: SystemCycle}``."""
    years = sorted(int(y) for y in indicators["year"].unique()) if len(indicators) else []
    an = analyse(indicators, catalogue, config, meta=meta)
    rec = recommend(indicators, catalogue, config, meta=meta)
    eff = effectiveness(measures, indicators, catalogue, meta=meta)
    mon = monitoring(indicators, catalogue, config)
    tg = targets_table(catalogue, config, years)
    systems = config.get("systems") or {}
    out = {}
    for s in range(1, 9):
        sc = systems.get(str(s)) or systems.get(s) or {}
        sc = by_year(sc, max(years) if years else None) or {}
        cat_s = catalogue[catalogue["system"] == s].reset_index(drop=True)
        codes = set(cat_s["code"])
        eff_s = eff[eff["indicator"].isin(codes) | (eff["system"].astype("Float64") == s)] if len(eff) else eff
        out[s] = SystemCycle(
            system=s, name=SYSTEM_NAMES[s], goal=sc.get("goal", ""), tasks=list(sc.get("tasks", [])),
            targets=tg[tg["system"] == s].reset_index(drop=True), indicators=cat_s,
            monitoring=mon[mon["system"] == s].reset_index(drop=True),
            analysis=an[an["system"] == s].reset_index(drop=True),
            recommendations=rec[rec["system"] == s].reset_index(drop=True),
            effectiveness=eff_s.reset_index(drop=True),
            not_computed=(notes[notes["system"] == s].reset_index(drop=True) if notes is not None
                          else pd.DataFrame()))
    return out
