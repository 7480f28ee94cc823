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
- :func:`recommend` — declarative rules from ``[[recommendations]]`` in the config, firing only on a
  reliable gap (the 95 % interval excludes the comparison value, n ≥ ``min_n``, confirmed against
  similar schools), combining procedures on one subject, one per subject, capped per school and
  ranked by certainty × gap size × persistence (:mod:`msoko.priorities`); objectivity signs get
  their own recommendations, worded as reasons to look.
- :func:`effectiveness` — for each measure of year Y, the targeted indicator in Y and
  Y + 1 with the difference and its interval (Newcombe for shares, normal
  approximation from the published intervals otherwise) and a verdict.
- :func:`management_cycle` — all of it, per system, as :class:`SystemCycle`.
- :func:`system_status` — per year, municipality and system (and the counts a report names: ШНОР,
  ШНСУ, рисковый профиль, ДОУ) whether it was assessed at all, and if not, which data are missing:
  the reports say «не оценивалось: нет данных (…)», never «в пределах целей», and show a count
  only when assessed.

No ranking of schools is produced (Rosobrnadzor 2021, 18.04.2025 № 02-86): comparisons
with the target, the municipality, similar schools and last year only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msoko import ru, stats
from msoko.config import by_year, target as config_target
from msoko.errors import MsokoError
from msoko.seasons import same_season, seasonal
from msoko.vocabulary import SYSTEM_NAMES  # noqa: F401 - the systems' names, used below and by compute

REASONS = {
    "target_miss": "не достигнуто целевое значение",
    "worse_trend": "достоверное ухудшение к прошлому году",
    "below_municipality": "хуже муниципального значения",
    "below_similar": "хуже похожих школ",
    "flag": "признак риска",
}
# flags that are analysed (task-level flags are summarised by vpr_tasks_sufficient)
FLAG_INDICATORS_PREFIX = ("risk_",)
# flags set by a rule applied over sample intervals (ШНОР: msoko.indicators.shnor_list)
RULE_FLAGS = {"shnor_flag"}
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
    s = ru.number(None if v is None or v is pd.NA else float(v), 1)
    if s == ru.MISSING:
        return s
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
    codes = set(indicators["indicator"].unique()) & set(conf_t)
    if not codes:
        return t
    m = indicators["indicator"].isin(codes).to_numpy()
    keys = list(zip(indicators["indicator"].to_numpy(object)[m].tolist(), indicators["year"].to_numpy()[m].tolist()))
    target = {}  # each (indicator, year) looked up once, then mapped onto the rows
    for code, y in dict.fromkeys(keys):
        v = config_target(config, code, int(y))
        target[(code, y)] = np.nan if v is None else float(v)
    t[m] = np.array([target[k] for k in keys], dtype=float)
    return t


TARGET_MET, TARGET_MISSED, TARGET_UNCLEAR = "достигнуто", "не достигнуто", "не отличается от цели достоверно"


def target_status(value, ci_low, ci_high, target, direction) -> np.ndarray:
    """Three-way verdict on a target, one per row (None without a target or a value):

    - «достигнуто» — the 95 % interval lies wholly on the good side of the target (touching it counts);
    - «не достигнуто» — the interval lies wholly on the wrong side;
    - «не отличается от цели достоверно» — the target is inside the interval.

    A value without an interval (a fact about an institution) is compared with the target directly.
    ``direction`` — ``"lower"`` where a smaller value is better, anything else for higher."""
    v, lo, hi, t = (np.asarray(x, dtype="float64") for x in (value, ci_low, ci_high, target))
    lower = np.asarray(direction, dtype=object) == "lower"
    lower = np.broadcast_to(lower, v.shape)
    has_ci = ~np.isnan(lo) & ~np.isnan(hi)
    good_end = np.where(lower, hi, lo)        # the end of the interval that must clear the target
    bad_end = np.where(lower, lo, hi)
    with np.errstate(invalid="ignore"):
        met_ci = np.where(lower, good_end <= t, good_end >= t)
        missed_ci = np.where(lower, bad_end > t, bad_end < t)
        met_fact = np.where(lower, v <= t, v >= t)
    out = np.where(has_ci, np.where(met_ci, TARGET_MET, np.where(missed_ci, TARGET_MISSED, TARGET_UNCLEAR)),
                   np.where(met_fact, TARGET_MET, TARGET_MISSED)).astype(object)
    out[np.isnan(v) | np.isnan(t)] = None
    return out


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

    # 1. targets (totals): missed only where the interval lies wholly on the wrong side (or a fact)
    tgt = _targets(ind, config)
    status = target_status(ind["value"], ind["ci_low"], ind["ci_high"], tgt, ind["direction"])
    miss = total & pd.Series(status == TARGET_MISSED, index=ind.index)
    add(miss, "target_miss", tgt, pd.Series(True, index=ind.index))
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
            "certainty", "limited", "n", "subject", "grade", "item", "indicator"]
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
    if r.get("indicator") in RULE_FLAGS:  # a list by the region's rule over sample intervals, not a fact
        sure = "по правилу региона, интервалы учтены"
    lim = "; выборка малая — информативность ограничена" if r.get("limited") else ""
    n = f", n = {int(r['n'])}" if not pd.isna(r.get("n")) and r["certainty"] != "точно" else ""
    return f"{head}{tail} ({sure}{n}){lim}."


# --------------------------------------------------------------------------- recommendations

REC_COLUMNS = ["year", "system", "school_id", "school_name", "rule", "indicator", "grade", "subject", "item",
               "value", "addressee", "text_ru",
               # why, how sure, how it ranks among the school's recommendations
               "action_ru", "reason_ru", "certainty", "reference", "gap", "ci_low", "ci_high", "n", "size",
               "persistence", "score", "rank"]
REC_DEFAULTS = {"max_per_school": 5, "min_n": 20, "min_gap": 5.0, "min_rel_gap": 0.1, "confirm_similar": True,
                "fact_size": 0.5, "group_decay": 0.5}
COMPARISONS = ("<", "<=", ">", ">=", "==")
OPS = COMPARISONS + ("flag", "target_miss", "worse_than_municipality", "worse_trend")


def rec_settings(config: dict) -> dict:
    """``[recommendation_settings]`` over :data:`REC_DEFAULTS`."""
    return {**REC_DEFAULTS, **(config.get("recommendation_settings") or {})}


def _interval(r, unit: str) -> str:
    from msoko.priorities import interval_text
    if pd.isna(r["ci_low"]) or pd.isna(r["ci_high"]):
        return ""
    n = f", n = {int(r['n'])}" if not pd.isna(r["n"]) else ""
    return f" (95 % интервал {interval_text(r['ci_low'], r['ci_high'], unit)}{n})"


def _condition_rows(ind: pd.DataFrame, cond: dict, config: dict, cat: pd.DataFrame, rs: dict) -> pd.DataFrame:
    """School rows meeting ``cond`` on a reliable gap, with ``_ref, _gap, _cert, _size, _reason``.

    Reliable: a sample-based value (one with an interval) needs n ≥ ``min_n`` and its 95 % interval must
    exclude the comparison value (threshold, target, municipality; for «worse_than_municipality» also
    similar schools where that comparison exists) by at least ``min_gap`` p.p. (``min_rel_gap`` for
    other units). A value without an interval is a fact about the institution."""
    from msoko.priorities import effect_size, value_text
    from msoko.priorities import settings as prio_settings

    code = cond["indicator"]
    rows = ind[(ind["indicator"] == code) & (ind["level"] == "school") & ~ind["suppressed"] & ind["value"].notna()]
    if "grade" in cond:
        rows = rows[rows["grade"].astype("Float64") == float(cond["grade"])]
    if rows.empty:
        return rows.assign(_ref=[], _gap=[], _cert=[], _size=[], _reason=[], _head=[], _phrase=[])
    total = rows["grade"].isna() & rows["subject"].isna() & rows["item"].isna()
    if cond.get("breakdown", "total") == "subject":
        rows = rows[rows["subject"].notna()]
    elif cond.get("breakdown", "total") == "any":
        rows = rows[~total] if (~total).any() else rows
    elif "grade" not in cond:
        rows = rows[total]
    op = cond.get("op", ">=")
    direction = cat.loc[code, "direction"] if code in cat.index else "higher"
    unit = cat.loc[code, "unit"] if code in cat.index else ""
    name = cat.loc[code, "name_ru"] if code in cat.index else code
    is_flag = code in cat.index and cat.loc[code, "kind"] == "flag"
    bad = 1.0 if direction == "lower" else -1.0
    v, lo, hi = rows["value"], rows["ci_low"], rows["ci_high"]
    has_ci = lo.notna() & hi.notna()
    min_n = float(cond.get("min_n", rs["min_n"]))
    min_gap = float(cond.get("min_gap", rs["min_gap"]))
    min_rel = float(cond.get("min_rel_gap", rs["min_rel_gap"]))
    enough = ~has_ci | (rows["n"] >= min_n)
    similar_ok = pd.Series(False, index=rows.index)
    if op in COMPARISONS:
        import operator
        fn = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}[op]
        x = float(cond["value"])
        ref = pd.Series(x, index=rows.index)
        excl = {"<": hi < x, "<=": hi <= x, ">": lo > x, ">=": lo >= x, "==": (lo == x) & (hi == x)}[op]
        m = fn(v, x) & (~has_ci | excl)
        word = {"<": "ниже порога", "<=": "не выше порога", ">": "выше порога", ">=": "не ниже порога",
                "==": "равно"}[op]
        strict = {"<=": "ниже порога", ">=": "выше порога"}.get(op, word)  # an interval beyond the threshold
        phrase = f"{word} {value_text(x, unit)}"
        interval_phrase = f"интервал целиком {strict} {value_text(x, unit)}"
    elif op == "flag":
        m = rows["flag"].astype("boolean").fillna(False).astype(bool)
        ref = pd.Series(np.nan, index=rows.index)
        phrase = "признак установлен"
    elif op == "target_miss":
        ref = _targets(rows, config)
        beyond = np.where(bad > 0, lo > ref, hi < ref)
        m = ref.notna() & ((v - ref) * bad > 0) & (~has_ci | beyond)
        phrase = "целевое значение {ref} не достигнуто"
    elif op == "worse_than_municipality":
        ref = rows["municipality_value"]
        vs = rows["vs_municipality"].astype("Float64").fillna(0).astype(float)
        m = vs * bad > 0
        sim = rows["vs_similar"].astype("Float64")
        similar_ok = (sim.fillna(0).astype(float) * bad > 0)
        if bool(cond.get("confirm_similar", rs["confirm_similar"])):
            m &= sim.isna() | similar_ok
        phrase = "интервал целиком {side} муниципального значения {ref}"
    elif op == "worse_trend":
        ref = rows["prev_value"]
        m = pd.Series(np.where(bad > 0, rows["change_ci_low"] > 0, rows["change_ci_high"] < 0), index=rows.index)
        phrase = "достоверное ухудшение к прошлому году ({ref})"
    else:
        raise MsokoError(f"Неизвестное условие правила рекомендации: op = «{op}» (допустимы <, <=, >, >=, ==, "
                         "flag, target_miss, worse_than_municipality, worse_trend)")
    gap = (v - ref).abs()
    big = np.where(unit == "%", gap >= min_gap, gap / ref.abs().clip(lower=1e-9) >= min_rel)
    big = pd.Series(big, index=rows.index) | ref.isna() | ~has_ci
    m = pd.Series(np.asarray(m, dtype=bool), index=rows.index) & enough & big
    out = rows[m].copy()
    if out.empty:
        return out.assign(_ref=[], _gap=[], _cert=[], _size=[], _reason=[], _head=[], _phrase=[])
    conf = prio_settings(config)
    out["_ref"] = ref[m]
    out["_gap"] = gap[m]
    se = (out["ci_high"] - out["ci_low"]) / (2 * Z)
    z = out["_gap"] / se
    nci = out["ci_low"].isna() | out["ci_high"].isna()
    # a fact is a value about the institution itself (n = 1), not a value without an interval over pupils
    fact = nci & ~(out["n"] > 1)
    sure = similar_ok[m] | (z >= float(conf["z_high"]))
    cert = np.where(fact, "факт", np.where(sure & ~nci, "высокая", "достаточная"))
    cert = np.where(~fact & (out["n"] < int(conf["limited_n"])), "достаточная", cert)
    rule = out["indicator"].map(conf["rule_flags"])  # a list made by a rule over intervals (ШНОР)
    out["_cert"] = np.where(rule.notna(), rule, cert)
    out["_size"] = [float(cond.get("size", rs["fact_size"])) if f else
                    effect_size(a, b, unit, cap=float(conf["max_size"])) for f, a, b in
                    zip(fact, out["value"], out["_ref"])]
    reasons, heads, phrases = [], [], []
    used = [c for c in ("value", "_ref", "ci_low", "ci_high", "n", "subject", "grade", "item", "similar_value")
            if c in out.columns]
    for r in out[used].to_dict("records"):
        side = "ниже" if r["value"] < r["_ref"] else "выше"
        p = phrase.format(side=side, ref=value_text(r["_ref"], unit) if not pd.isna(r["_ref"]) else "")
        shown = ("да" if r["value"] >= 50 else "нет") if is_flag else value_text(r["value"], unit)
        text = f"«{name}»{_where(r)} — {shown}{_interval(r, unit)}"
        if op in COMPARISONS and not fact_free(r):
            p = interval_phrase
        if op == "worse_than_municipality" and not pd.isna(r.get("similar_value")):
            p += f", похожих школ {value_text(r['similar_value'], unit)}"
        heads.append(text)
        phrases.append("" if is_flag else p)
        reasons.append(text if is_flag else f"{text}: {p}")
    out["_reason"], out["_head"], out["_phrase"] = reasons, heads, phrases
    return out


def _joined_reason(r: dict, others: list) -> str:
    """The reasons of a rule's conditions; two conditions on one value share its head."""
    parts = [r["_reason"]]
    for o in others:
        if o["_head"] == r["_head"] and o["_phrase"]:
            parts[0] += f" и {o['_phrase'].replace('интервал целиком ', '')}"
        else:
            parts.append(o["_reason"])
    return "; ".join(parts)


def fact_free(r: dict) -> bool:
    """A value without an interval (a fact about the institution)."""
    return pd.isna(r.get("ci_low")) or pd.isna(r.get("ci_high"))


def _format(template: str, r: dict, name: str, unit: str, extra: dict) -> str:
    from msoko.priorities import value_text
    return template.format(
        school=name, value=value_text(r.get("value"), unit), indicator=r.get("indicator", ""),
        subject=r["subject"] if isinstance(r.get("subject"), str) else "все предметы",
        grade=int(r["grade"]) if r.get("grade") is not None and not pd.isna(r.get("grade")) else "все",
        item=r["item"] if isinstance(r.get("item"), str) else "", **extra)


def _validate_rule(rule: dict) -> None:
    rid = rule.get("id", "?")
    if "text" not in rule:
        raise MsokoError(f"Правило рекомендации «{rid}»: не задан text")
    for c in rule.get("when") or []:
        if "objectivity" in c:
            if c["objectivity"] not in ("objectivity", "objectivity_marks"):
                raise MsokoError(f"Правило рекомендации «{rid}»: objectivity = «{c['objectivity']}» (допустимы "
                                 "objectivity, objectivity_marks)")
            from msoko.objectivity.plan import MEASURE_KEYS
            if c.get("measure") is not None and c["measure"] not in MEASURE_KEYS:
                raise MsokoError(f"Правило рекомендации «{rid}»: measure = «{c['measure']}» (допустимы "
                                 + ", ".join(MEASURE_KEYS) + ")")
            continue
        if "indicator" not in c or (c.get("op", ">=") in COMPARISONS and "value" not in c):
            raise MsokoError(f"Правило рекомендации «{rid}»: в условии нужны indicator, op и (для сравнения) value")


def _objectivity_rule(rule: dict, found: pd.DataFrame) -> list[dict]:
    """Rows of an objectivity rule: every school × year whose objectivity finding meets ``when``."""
    out = []
    for c in rule.get("when") or []:
        f = found[found["kind"] == c["objectivity"]]
        if c.get("combined"):
            f = f[f["combined"].astype(bool)]
        if c.get("measure"):   # the plan's measure (msoko.objectivity.plan.MEASURE_KEYS)
            from msoko.objectivity.plan import MEASURE_KEYS
            f = f[f["measures"].astype(str).str.contains(MEASURE_KEYS[c["measure"]], regex=False)]
        out.append(f)
    if not out:
        return []
    keys = set(zip(out[0]["year"], out[0]["school_id"]))
    for f in out[1:]:
        keys &= set(zip(f["year"], f["school_id"]))
    first = out[0][[k in keys for k in zip(out[0]["year"], out[0]["school_id"])]]
    return first.to_dict("records")


def recommend(indicators: pd.DataFrame, catalogue: pd.DataFrame, config: dict, *,
              meta: pd.DataFrame | None = None, year: int | None = None,
              objectivity: pd.DataFrame | None = None, objectivity_plan: pd.DataFrame | None = None,
              skills: pd.DataFrame | None = None) -> pd.DataFrame:
    """Addressed recommendations per school from the ``[[recommendations]]`` rules.

    A rule fires only on a reliable gap (see :func:`_condition_rows`); its conditions (AND) are
    matched on the school and year and, with ``match = ["subject"]``, on the subject too — so one
    rule can combine procedures (ВПР and ОГЭ in one subject, as the seed of Стрежевой does). Rules
    with ``objectivity`` conditions read the objectivity signs (:func:`msoko.priorities.objectivity_findings`).
    Then: one recommendation per rule, school, year and subject (the grades listed); a rule's
    ``supersedes`` drops the narrower rules it replaces; the rest ranked by score = certainty weight ×
    size of the gap × persistence (procedures and years, :mod:`msoko.priorities`) and capped at
    ``[recommendation_settings] max_per_school``. ``text_ru`` = action + «Основание: …» + certainty.
    ``{skills}`` in a rule's text names the tasks of the school's works below their threshold with the skill
    each checks (``skills``: :func:`msoko.skills.task_skills` of the specifications; compute's
    ``vpr_task_completion`` rows with ``flag``; none for a specification that does not fit, which has no
    task rows)."""
    from msoko import priorities as pr

    rs = rec_settings(config)
    conf = pr.settings(config)
    cat = catalogue.set_index("code")
    out = _fired_rules(indicators, cat, config, rs, conf, objectivity, objectivity_plan, skills)
    if not out:
        return pd.DataFrame(columns=REC_COLUMNS)
    res = _supersede(_merge_breakdowns(pd.DataFrame(out), conf))
    res = _ranked(res, cat, config, rs, conf, year)
    names = _names(meta)
    res["school_name"] = [names.get(s) or s for s in res["school_id"]]
    res["action_ru"], res["text_ru"] = _rec_texts(res, conf)
    res["grade"] = pd.to_numeric(res["grade"], errors="coerce").astype("Int8")
    for c in ("subject", "item"):
        res[c] = res[c].astype(object).where(res[c].notna(), None)
    for c in ("value", "reference", "gap", "ci_low", "ci_high", "n", "size", "score"):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype(float)
    res["system"] = res["system"].astype(int)
    res["rank"] = res["rank"].astype(int)
    return res[REC_COLUMNS].reset_index(drop=True)


def _fired_rules(indicators: pd.DataFrame, cat: pd.DataFrame, config: dict, rs: dict, conf: dict,
                 objectivity: pd.DataFrame | None, objectivity_plan: pd.DataFrame | None,
                 skills: pd.DataFrame | None = None) -> list[dict]:
    """One row per rule that fires on a school, year (and matched column): the rules on indicators through
    :func:`_condition_rows` (all conditions, AND), the objectivity rules through the plan's findings."""
    from msoko import priorities as pr

    found = None
    out = []
    # the school rows a condition can use, split by indicator once (each condition reads only its own)
    # (only the columns the conditions and the rows read: every filter below copies fewer blocks)
    read = ["year", "level", "school_id", "indicator", "grade", "subject", "item", "value", "ci_low", "ci_high", "n",
            "suppressed", "flag", "municipality_value", "vs_municipality", "vs_similar", "similar_value",
            "prev_value", "change_ci_low", "change_ci_high"]
    read += [c for rule in config.get("recommendations") or [] for c in rule.get("match") or [] if c not in read]
    usable = indicators[(indicators["level"] == "school") & ~indicators["suppressed"] & indicators["value"].notna()]
    usable = usable[[c for c in dict.fromkeys(read) if c in usable.columns]]
    by_code = {code: part for code, part in usable.groupby("indicator", sort=False)}
    unformed = _unformed_skills(by_code.get("vpr_task_completion"), skills)
    for rule in config.get("recommendations") or []:
        conds = rule.get("when") or []
        if not conds:
            continue
        _validate_rule(rule)
        base = {"rule": rule.get("id", ""), "addressee": rule.get("addressee", ""), "_template": rule["text"],
                "_supersedes": tuple(rule.get("supersedes") or ()),
                "_per_school": rule.get("merge") == "school" or any("objectivity" in c for c in conds),
                "_group": rule.get("group")}
        if any("objectivity" in c for c in conds):
            if found is None:
                found = pr.objectivity_findings(objectivity, conf, objectivity_plan)
            out += [{**base, "year": int(f["year"]), "system": int(rule.get("system", 1)),
                     "school_id": f["school_id"], "indicator": f["kind"], "grade": f["grade"],
                     "subject": f["subject"], "item": None, "value": np.nan, "unit": "",
                     "reason_ru": f["text"], "certainty": f["certainty"], "reference": np.nan, "gap": np.nan,
                     "ci_low": np.nan, "ci_high": np.nan, "n": f["n"], "size": f["size"],
                     "procedures": max(1, len(f["cells"].split(", "))), "_look": pr.LOOK[f["kind"]],
                     "_grades": "", "_items": ""} for f in _objectivity_rule(rule, found)]
            continue
        matched = [_condition_rows(by_code.get(c["indicator"], usable.iloc[:0]),
                                   {"size": rule.get("size", rs["fact_size"]), **c}, config, cat, rs)
                   for c in conds]
        out += _joined_conditions(rule, base, matched, cat, unformed)
    return out


def _joined_conditions(rule: dict, base: dict, matched: list[pd.DataFrame], cat: pd.DataFrame,
                       unformed: dict) -> list[dict]:
    """The rows of a rule whose every condition holds on the same school, year (and ``match`` columns): the
    first condition's row with the strongest row of each other condition; certainty of the least certain;
    ``unformed``: the work's tasks below their threshold with their skills (:func:`_unformed_skills`)."""
    from msoko import priorities as pr

    first = matched[0]
    if first.empty or any(m.empty for m in matched):
        return []
    match = ["year", "school_id"] + list(rule.get("match") or [])
    extra = []
    for mrows in matched[1:]:
        best = mrows.assign(_s=mrows["_size"]).sort_values("_s", ascending=False).drop_duplicates(match)
        extra.append(best.set_index(match))
    code = rule["when"][0]["indicator"]
    unit = cat.loc[code, "unit"] if code in cat.index else ""
    out = []
    for r in first.to_dict("records"):
        k = tuple(r[c] for c in match)
        others = [e.loc[k] for e in extra if k in e.index]
        if len(others) < len(extra):
            continue
        certs = [r["_cert"]] + [o["_cert"] for o in others]
        cert = max(certs, key=lambda c: pr.CERTAINTY.index(c))  # the least certain condition
        out.append({**base, "year": int(r["year"]),
                    "system": int(rule.get("system", cat.loc[code, "system"] if code in cat.index else 1)),
                    "school_id": r["school_id"], "indicator": code, "grade": r["grade"],
                    "subject": r["subject"], "item": r["item"], "value": r["value"], "unit": unit,
                    "reason_ru": _joined_reason(r, others),
                    "certainty": cert, "reference": r["_ref"], "gap": r["_gap"], "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"], "n": r["n"],
                    "size": float(np.mean([r["_size"]] + [o["_size"] for o in others])),
                    "procedures": 1 + len(others), "_look": "", "_grades": "", "_items": "",
                    "_skill_list": unformed.get((int(r["year"]), str(r["school_id"]),
                                                 None if pd.isna(r["grade"]) else int(r["grade"]),
                                                 r["subject"] if isinstance(r["subject"], str) else None), ())})
    return out


def _ranked(res: pd.DataFrame, cat: pd.DataFrame, config: dict, rs: dict, conf: dict, year: int | None) -> pd.DataFrame:
    """Persistence (procedures combined + earlier years of the window in which the rule fired too; ВПР-based
    indicators only in years of the same season), score, the decay within a group of rules, the rank per
    school and year and the cap ``max_per_school``."""
    from msoko import priorities as pr

    fired = set(zip(res["year"], res["school_id"], res["rule"], res["_subj"]))
    win = int(conf["years"])
    src = res["indicator"].map(cat["source"]) if "source" in cat.columns else pd.Series("", index=res.index)
    by_season = src.map(seasonal).fillna(False).to_numpy(bool)
    res["_before"] = [sum((y - d, s, ru, sj) in fired and (not bs or same_season(y - d, y, config))
                          for d in range(1, win))
                      for y, s, ru, sj, bs in zip(res["year"], res["school_id"], res["rule"], res["_subj"], by_season)]
    res["persistence"] = res["procedures"] + res["_before"]
    res["persistence"] = res["persistence"].clip(upper=int(conf["max_persistence"])).astype(int)
    res["score"] = [pr.score(c, sz, pr.persistence_factor(p, conf), conf)
                    for c, sz, p in zip(res["certainty"], res["size"], res["persistence"])]
    # rules of one group (the three objectivity actions) are one plan: the 2nd, 3rd… of a school and year
    # count group_decay, group_decay², … of their score, so that one plan does not fill the cap
    g = res["_group"].fillna("")
    order = res.assign(_g=g).sort_values("score", ascending=False, kind="stable")
    nth = order[order["_g"] != ""].groupby(["year", "school_id", "_g"]).cumcount()
    res.loc[nth.index, "score"] = res.loc[nth.index, "score"] * float(rs["group_decay"]) ** nth
    if year is not None:
        res = res[res["year"] == year]
    res = res.sort_values(["year", "school_id", "score", "system", "rule"], ascending=[False, True, False, True, True],
                          kind="stable")
    res["rank"] = res.groupby(["year", "school_id"]).cumcount() + 1
    return res[res["rank"] <= int(rs["max_per_school"])].copy()


def _rec_texts(res: pd.DataFrame, conf: dict) -> tuple[list[str], list[str]]:
    """The action of each recommendation and its full text: action, «Основание: …», the years in a row, what
    to look at, the certainty in words."""
    from msoko import priorities as pr

    texts, actions = [], []
    for r in res.to_dict("records"):
        years = int(r["_before"])
        action = _format(r["_template"], r, r["school_name"], r["unit"],
                         {"grades": r["_grades"], "items": r["_items"], "subjects": r["_subjects"],
                          "next_year": int(r["year"]) + 1,
                          "where": pr._cell(r["grade"], r["subject"]), "reason": r["reason_ru"],
                          "skills": r.get("_skills") or ""}).strip()
        actions.append(action)
        t = action if "{reason}" in r["_template"] else \
            f"{action.rstrip('.')}. Основание: {r['reason_ru'].rstrip('.')}"
        if years:
            t += f"; то же в предыдущие годы ({years + 1} {pr.plural(years + 1, 'год', 'года', 'лет')} подряд)"
        if r["_look"]:
            t += f". {r['_look']}"
        texts.append(f"{t.rstrip('.')}. {pr.certainty_sentence(r['certainty'], r['indicator'] in conf['rule_flags'])}")
    return actions, texts


def _merge_breakdowns(res: pd.DataFrame, conf: dict) -> pd.DataFrame:
    """One recommendation per rule, school, year and subject: the strongest row, the others' grades and
    items named in ``_grades`` / ``_items`` (placeholders {grades}, {items}) and counted as procedures."""
    from msoko.priorities import CERTAINTY, score
    res = res.copy()
    res["_s"] = [score(c, s, 1, conf) - CERTAINTY.index(c) * 1e-6 for c, s in zip(res["certainty"], res["size"])]
    res["_subj"] = np.where(res["_per_school"], "", res["subject"].astype(object).fillna(""))
    res = res.sort_values("_s", ascending=False, kind="stable")
    # groups by code (numbered in order of first appearance, as a groupby without sorting iterates them)
    # over the rows as dicts made once: row access per group was most of the time
    codes = res.groupby(["year", "school_id", "rule", "_subj"], sort=False).ngroup().to_numpy()
    records = res.to_dict("records")
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    rows = []
    for part in np.split(order, bounds):
        if not len(part) or codes[part[0]] < 0:
            continue
        recs = [records[i] for i in part]
        r = dict(recs[0])
        g = {"grade": [x["grade"] for x in recs], "item": [x["item"] for x in recs],
             "subject": [x["subject"] for x in recs]}
        grades = sorted({int(x) for x in g["grade"] if x is not None and not pd.isna(x)})
        items = list(dict.fromkeys(x for x in g["item"] if isinstance(x, str)))
        # an action names at most MAX_WORKS works, then «и ещё N» (one action once listed 19 works)
        r["_grades"] = (f"{', '.join(map(str, grades[:MAX_WORKS]))} кл." + _more(len(grades))) if grades else ""
        r["_items"] = ", ".join(f"«{x}»" for x in items[:MAX_WORKS]) + _more(len(items))
        pairs = list(dict.fromkeys((sj, None if gr is None or pd.isna(gr) else int(gr))
                                   for sj, gr in zip(g["subject"], g["grade"]) if isinstance(sj, str)))
        by_subject = {}
        for sj, gr in pairs[:MAX_WORKS]:
            by_subject.setdefault(sj, set()).update([] if gr is None else [gr])
        r["_skills"] = _skills_text([(x["grade"], x.get("_skill_list")) for x in recs])
        r["_subjects"] = ", ".join(f"{sj} ({', '.join(map(str, sorted(gs)))} кл.)" if gs else sj
                                   for sj, gs in by_subject.items()) + _more(len(pairs))
        if len(recs) > 1:
            r["procedures"] = int(r["procedures"]) + len(recs) - 1
            more = list(dict.fromkeys(_short(x) for x in recs[1:]))
            r["reason_ru"] = r["reason_ru"] + "; также " + ", ".join(more[:MAX_WORKS - 1]) + _more(len(more), MAX_WORKS - 1)
        rows.append(r)
    return pd.DataFrame(rows).drop(columns=["_s"])


MAX_WORKS = 3  # works an action or its reason names before «и ещё N»
MAX_SKILLS = 4  # skills an action names before «и ещё N»
SKILL_LEN = 50  # characters of a skill's name in an action (whole words, «…»)


def _unformed_skills(tasks: pd.DataFrame | None, skills: pd.DataFrame | None) -> dict:
    """(year, school, grade, subject) → the tasks below their threshold (``flag``), each «label «skill»», in
    the specification's order; a task without a specification row is named by its number."""
    if tasks is None or not len(tasks) or "flag" not in tasks:
        return {}
    t = tasks[tasks["flag"].fillna(False).astype(bool)]
    if not len(t):
        return {}
    from msoko.skills import short
    names = {}
    order = {}
    if skills is not None and len(skills):
        for i, (g, sj, task, label, sk) in enumerate(zip(skills["grade"], skills["subject"], skills["task"],
                                                          skills["label"], skills["skill"])):
            names[(int(g), str(sj), str(task))] = (str(label), short(sk, SKILL_LEN) if sk else "")
            order[(int(g), str(sj), str(task))] = i
    out: dict = {}
    for y, sid, g, sj, item in zip(t["year"], t["school_id"], t["grade"], t["subject"], t["item"]):
        if pd.isna(g) or not isinstance(sj, str):
            continue
        k = (int(g), sj, str(item))
        out.setdefault((int(y), str(sid), int(g), sj), []).append((order.get(k, 10 ** 6),
                                                                   names.get(k, (str(item), ""))))
    res = {}
    for k, v in out.items():
        # tasks checking the same skill (3К1, 3К2, 3К3) are named once: «3К1, 3К2, 3К3 «Говорение…»»
        by_skill: dict = {}
        for _, (label, skill) in sorted(v):
            by_skill.setdefault(skill or label, []).append(label)
        res[k] = tuple(f"{', '.join(labels)} «{skill}»" if skill != labels[0] else skill
                       for skill, labels in by_skill.items())
    return res


def _skills_text(parts) -> str:
    """«: 4 кл. — 1 «…», 5.1 «…»; 6 кл. — 3 «…» и ещё 2» for the merged works' unformed skills ("" when none);
    the grade is named only when several works are merged."""
    parts = [(None if g is None or pd.isna(g) else int(g), list(names)) for g, names in parts
             if isinstance(names, (tuple, list)) and names]
    if not parts:
        return ""
    several = len(parts) > 1
    total = sum(len(n) for _, n in parts)
    left, chunks = MAX_SKILLS, []
    for g, names in sorted(parts, key=lambda x: (x[0] is None, x[0] or 0)):
        if left <= 0:
            break
        named = ", ".join(names[:left])
        left -= len(names[:left])
        chunks.append(f"{g} кл. — {named}" if several and g is not None else named)
    return ": " + "; ".join(chunks) + _more(total, MAX_SKILLS)


def _more(total: int, shown: int = MAX_WORKS) -> str:
    """« и ещё N» for the works left unnamed («» when all are named)."""
    return f" и ещё {total - shown}" if total > shown else ""


def _short(r: dict) -> str:
    parts = [r["subject"]] if r.get("_per_school") and isinstance(r.get("subject"), str) else []
    if r.get("grade") is not None and not pd.isna(r.get("grade")):
        parts.append(f"{int(r['grade'])} кл.")
    if isinstance(r.get("item"), str):
        parts.append(f"«{r['item']}»")
    from msoko.priorities import value_text
    return " ".join(parts) + (f" — {value_text(r['value'], r.get('unit') or '')}" if not pd.isna(r.get("value"))
                              else "")


def _supersede(res: pd.DataFrame) -> pd.DataFrame:
    """Drop a rule's row where a rule that ``supersedes`` it fired for the same school, year (and subject,
    when the superseding row has one)."""
    drop = set()
    sup = res["_supersedes"].map(len).to_numpy() > 0
    if not sup.any():
        return res.drop(index=[])
    # the rows of each rule, school and year, found once (not a mask over every row per superseding row)
    rows_of: dict[tuple, list] = {}
    for i, ru, y, sid, sj in zip(res.index, res["rule"], res["year"], res["school_id"], res["subject"]):
        rows_of.setdefault((ru, y, sid), []).append((i, sj))
    for y, sid, sj, victims in zip(res["year"].to_numpy()[sup], res["school_id"].to_numpy()[sup],
                                   res["subject"].to_numpy()[sup], res["_supersedes"].to_numpy()[sup]):
        subj = sj if isinstance(sj, str) else None
        for victim in victims:
            for i, other in rows_of.get((victim, y, sid), ()):
                if subj is None or (isinstance(other, str) and other == subj):
                    drop.add(i)
    return res.drop(index=list(drop))


# --------------------------------------------------------------------------- effectiveness

EFF_COLUMNS = ["year", "school_id", "school_name", "system", "indicator", "name_ru", "measure", "decision",
               "responsible", "target_value", "value_before", "value_after", "change", "change_ci_low",
               "change_ci_high", "municipality_change", "effect_vs_municipality", "target_reached", "n_before",
               "n_after", "verdict", "text_ru", "deadline", "status", "overdue"]

MEASURE_STATUSES = ("запланировано", "выполнено", "не выполнено")


def as_of_date(config: dict | None, years) -> pd.Timestamp | None:
    """The date measures are judged overdue at: ``[measures] as_of`` (ДД.ММ.ГГГГ or ГГГГ-ММ-ДД), else
    31 December of the latest year in the data — the same answer on every run of the same data."""
    raw = str(((config or {}).get("measures") or {}).get("as_of") or "").strip()
    if raw:
        return pd.Timestamp(pd.to_datetime(raw, dayfirst="." in raw))
    ys = [int(y) for y in years]
    return pd.Timestamp(f"{max(ys)}-12-31") if ys else None


def measure_status(measures: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """``deadline, status, overdue`` per measure: an empty status is «запланировано»; a measure is overdue
    when its deadline is before ``as_of`` and it is not «выполнено»."""
    deadline = pd.to_datetime(measures["deadline"], errors="coerce") if "deadline" in measures else \
        pd.Series(pd.NaT, index=measures.index)
    status = (measures["status"] if "status" in measures else pd.Series(None, index=measures.index, dtype=object))
    status = status.astype(object).where(status.notna() & (status.astype(str).str.strip() != ""), "запланировано")
    overdue = (deadline.notna() & (status != "выполнено") & (deadline < as_of)) if as_of is not None else \
        pd.Series(False, index=measures.index)
    return pd.DataFrame({"deadline": deadline.dt.date.astype(object).where(deadline.notna(), None),
                         "status": status.astype(str), "overdue": overdue.astype(bool)}, index=measures.index)


def effectiveness(measures: pd.DataFrame | None, indicators: pd.DataFrame, catalogue: pd.DataFrame, *,
                  meta: pd.DataFrame | None = None, config: dict | None = None,
                  as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Did the indicator a measure of year Y aimed at move by Y + 1? One row per measure (a ВПР-based
    indicator only between years of the same ВПР season, :func:`msoko.seasons.same_season`), with its
    deadline, status and whether it is overdue at ``as_of`` (:func:`measure_status`)."""
    if measures is None or len(measures) == 0:
        return pd.DataFrame(columns=EFF_COLUMNS)
    measures = pd.concat([measures.drop(columns=[c for c in ("deadline", "status") if c in measures]),
                          measure_status(measures, as_of)], axis=1)
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
                "target_value": m.get("target_value"), "deadline": m.get("deadline"), "status": m.get("status"),
                "overdue": bool(m.get("overdue"))}
        if code not in cat.index:
            rows.append({**base, "verdict": "показатель не найден в каталоге",
                         "text_ru": f"Показатель «{code}» меры «{m.get('measure')}» не найден в каталоге."})
            continue
        direction, unit, kind = cat.loc[code, "direction"], cat.loc[code, "unit"], cat.loc[code, "kind"]
        if seasonal(cat.loc[code, "source"] if "source" in cat.columns else "") and not same_season(y, y + 1, config):
            rows.append({**base, "verdict": "не сравнимо",
                         "text_ru": f"{base['school_name']}: мера «{m.get('measure')}» ({y}) — эффективность по "
                                    f"ВПР не оценить: работы {y} и {y + 1} годов написаны в разные сезоны "
                                    "(осень и весна) и не сравниваются."})
            continue
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
        tstatus = None if tv is None or pd.isna(tv) else target_status(
            [a["value"]], [a["ci_low"]], [a["ci_high"]], [float(tv)], [direction])[0]
        reached = {TARGET_MET: True, TARGET_MISSED: False}.get(tstatus)
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
        if tstatus is not None:
            text += {TARGET_MET: "; целевое значение достигнуто", TARGET_MISSED: "; целевое значение не достигнуто",
                     TARGET_UNCLEAR: f"; от целевого значения {fmt(float(tv), unit)} не отличается достоверно"}[tstatus]
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
    d = pd.to_datetime(out["deadline"], errors="coerce")
    out["deadline"] = d.dt.strftime("%Y-%m-%d").astype(object).where(d.notna(), None)   # ISO date text
    out["overdue"] = out["overdue"].fillna(False).astype(bool)
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
    status = target_status(ind["value"], ind["ci_low"], ind["ci_high"], ind["target"], ind["direction"])
    ind["target_status"] = status
    # met / missed as a yes-no; unknown (NA) where the target is inside the interval
    ind["target_met"] = pd.array([True if x == TARGET_MET else False if x == TARGET_MISSED else pd.NA
                                  for x in status], dtype="boolean")
    cols = ["year", "system", "school_id", "indicator", "name_ru", "unit", "direction", "value", "ci_low",
            "ci_high", "n", "numerator", "denominator", "change", "change_ci_low", "change_ci_high", "target",
            "target_met", "target_status", "limited"]
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
                     notes: pd.DataFrame | None = None,
                     objectivity: pd.DataFrame | None = None,
                     objectivity_plan: pd.DataFrame | None = None,
                     skills: pd.DataFrame | None = None) -> dict[int, SystemCycle]:
    """All eight systems. Returns ``{system: SystemCycle}`` (``objectivity``: for its recommendations)."""
    years = sorted(int(y) for y in indicators["year"].unique()) if len(indicators) else []
    an = analyse(indicators, catalogue, config, meta=meta)
    rec = recommend(indicators, catalogue, config, meta=meta, objectivity=objectivity, objectivity_plan=objectivity_plan,
                    skills=skills)
    eff = effectiveness(measures, indicators, catalogue, meta=meta, config=config, as_of=as_of_date(config, years))
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


# --------------------------------------------------------------------------- assessed or not

STATUS_COLUMNS = ["year", "municipality", "system", "topic", "assessed", "indicators_computed", "indicators_total",
                  "count", "of", "text_ru"]
# the counts a report names, each decided by one indicator (its municipality row: numerator of denominator)
STATUS_TOPICS = {"shnor": (2, "shnor_flag", "ШНОР"),
                 "shnsu": (2, "shnsu_flag", "ШНСУ"),
                 "risk_profile": (2, "risk_profile_high", "высокий рисковый профиль «500+»"),
                 "preschool": (8, None, "дошкольные организации")}


# indicators the context questionnaire gives only where the staff template is absent: where their
# counterpart from the template is computed, they are replaced, not missing
QUESTIONNAIRE_STANDS_IN = {"q_teachers_highest": "teachers_highest_category", "q_teachers_young30": "teachers_young",
                           "q_teachers_pension": "teachers_60plus", "q_kpk_per_100_teachers": "teachers_kpk3"}
# input tables that are not templates of the data dictionary, in a reader's words
TABLE_WORDS = {"vpr": "результаты ВПР", "vpr_tasks": "баллы ВПР по заданиям", "task_specs": "спецификации заданий ВПР",
               "context_questionnaire": "контекстная анкета ФИС ОКО", "schools": "реестр организаций",
               "gia_vpr": "результаты ГИА и ВПР"}


def _table_words(t: str) -> str:
    """A reader's name of an input table: the template's title (data dictionary), else :data:`TABLE_WORDS`."""
    if t in TABLE_WORDS:
        return TABLE_WORDS[t]
    try:
        from msoko.dictionary import load_dictionary
        return load_dictionary().table(t).title
    except Exception:  # noqa: BLE001 - an unknown name is shown as it is
        return t


def _missing_tables(codes, notes: dict, sources: dict) -> list[str]:
    """The input tables named by the notes of ``codes`` (else the catalogue's sources), in order."""
    out = []
    for c in codes:
        found = re.findall(r"таблиц[аы]? «([^»]+)»", str(notes.get(c, "")))
        if not found:
            found = [t.strip() for t in str(sources.get(c, "")).split(",") if t.strip() and t.strip() != "objectivity"]
        out += found
    return list(dict.fromkeys(out))


def _tables_text(tables: list[str]) -> str:
    names = [_table_words(t) for t in tables]
    return ("шаблон или выгрузка " if len(names) == 1 else "шаблоны и выгрузки ") + ", ".join(f"«{t}»" for t in names)


def _no_data(tables: list[str], year: int, extra: str = "") -> str:
    what = _tables_text(tables) if tables else f"нет значений за {year} год"
    return f"не оценивалось: нет данных ({what}{extra})"


def system_status(indicators: pd.DataFrame, catalogue: pd.DataFrame, notes: pd.DataFrame | None = None,
                  meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """Whether each system (topic ``system``) and each named count (ШНОР, ШНСУ, рисковый профиль, ДОУ)
    was assessed, per year and municipality — decided here, rendered by the reports.

    A system is assessed when at least one of its indicators has a municipality value (any breakdown)
    that year (``indicators_computed`` of ``indicators_total``); a count when its indicator has a
    municipality row (``count`` of ``of``); ДОУ when the registry lists kindergartens (``count``).
    ``text_ru``: «оценено по 5 из 7 показателей; нет данных: таблица «olympiad»» or «не оценивалось:
    нет данных (таблицы «olympiad», «addedu»)»."""
    if indicators is None or len(indicators) == 0:
        return pd.DataFrame(columns=STATUS_COLUMNS)
    cat = catalogue.set_index("code")
    note = {} if notes is None or len(notes) == 0 else dict(zip(notes["indicator"], notes["reason"]))
    sources = cat["source"].to_dict() if "source" in cat.columns else {}
    ind = indicators
    mun = ind[(ind["level"] == "municipality") & (ind["value"].notna() | ind["numerator"].notna())]
    have = {k: set(g["indicator"]) for k, g in mun.groupby(["year", "school_id"])}   # any breakdown
    tot = mun[mun["grade"].isna() & mun["subject"].isna() & mun["item"].isna()]
    rows_of = {(y, m, c): r for y, m, c, r in zip(tot["year"], tot["school_id"], tot["indicator"],
                                                 tot.to_dict("records"))}
    munis = sorted(set(ind.loc[ind["level"] == "municipality", "school_id"].astype(str))
                   | (set(meta["municipality"].dropna().astype(str)) if meta is not None and len(meta) else set()))
    years = sorted(int(y) for y in ind["year"].unique())
    out = []
    for y in years:
        for m in munis:
            got = have.get((y, m), set())
            for s in range(1, 9):
                codes = [c for c in cat.index[cat["system"] == s]
                         if not (c in QUESTIONNAIRE_STANDS_IN and c not in got and QUESTIONNAIRE_STANDS_IN[c] in got)]
                done = [c for c in codes if c in got]
                miss = [c for c in codes if c not in got]
                tables = _missing_tables(miss, note, sources)
                if not done:
                    text = _no_data(tables, y)
                elif miss:
                    text = (f"оценено по {len(done)} из {len(codes)} показателей; нет данных: "
                            + (_tables_text(tables) if tables else f"значений за {y} год"))
                else:
                    text = f"оценено по всем {len(codes)} показателям"
                out.append({"year": y, "municipality": m, "system": s, "topic": "system", "assessed": bool(done),
                            "indicators_computed": len(done), "indicators_total": len(codes), "count": np.nan,
                            "of": np.nan, "text_ru": text})
            for topic, (s, code, name) in STATUS_TOPICS.items():
                row = {"year": y, "municipality": m, "system": s, "topic": topic, "indicators_computed": np.nan,
                       "indicators_total": np.nan}
                if code is None:       # kindergartens: the registry
                    k = 0
                    if meta is not None and len(meta) and "is_preschool" in meta.columns:
                        mm = meta[meta["municipality"].astype(str) == m]
                        k = int(mm["is_preschool"].fillna(False).astype(bool).sum())
                    row.update(assessed=k > 0, count=float(k) if k else np.nan, of=np.nan,
                               text_ru=f"{name}: {k}" if k else _no_data(["registry"], y, ": организации с типом «ДОУ»"))
                else:
                    r = rows_of.get((y, m, code))
                    if r is not None and pd.notna(r.get("numerator")):
                        row.update(assessed=True, count=float(r["numerator"]), of=float(r["denominator"]),
                                   text_ru=f"{name}: {int(r['numerator'])} из {int(r['denominator'])}")
                    else:
                        row.update(assessed=False, count=np.nan, of=np.nan,
                                   text_ru=f"{name} — " + _no_data(_missing_tables([code], note, sources), y))
                out.append(row)
    res = pd.DataFrame(out, columns=STATUS_COLUMNS)
    res["year"] = res["year"].astype(int)
    res["system"] = res["system"].astype(int)
    res["assessed"] = res["assessed"].astype(bool)
    for c in ("indicators_computed", "indicators_total"):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype("Int16")
    for c in ("count", "of"):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype(float)
    return res
