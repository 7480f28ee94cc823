"""Indicators from ``indicators.parquet``: a school beside its comparison groups, the system tables,
the management-cycle outputs (goals, analysis, recommendations, measures, effectiveness).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from msoko import stats
from msoko.report.fmt import GROUP_MUNI, GROUP_REGION, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import LIMITED_N, MIN_N, _value_with_unit, fmt, fmt_pct, informativeness, subject_phrase
from msoko.report.data import ReportData, school_row, similar_schools, target_value


# context
# ======================================================================================

_CONTEXT_LABELS = {
    "name": "Наименование", "school_id": "Логин", "municipality": "Муниципалитет", "org_type": "Тип организации",
    "settlement_type": "Тип населённого пункта", "settlement": "Населённый пункт",
    "students_total": "Число обучающихся",
}


def school_context(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """Two columns «Характеристика / Значение»: registry, contingent, the similar-schools group."""
    row = school_row(data, school_id)
    rows = [("Логин", school_id)]
    for col, label in _CONTEXT_LABELS.items():
        if col in row.index and col != "school_id" and pd.notna(row[col]):
            rows.append((label, row[col]))
    cont = data.table("contingent")
    if not cont.empty and {"year", "school_id", "students"} <= set(cont):
        c = cont[(cont["year"] == year) & (cont["school_id"].astype(str) == school_id)]
        if len(c):
            rows.append((f"Обучающихся в {year} г. (контингент)", int(c["students"].sum())))
            if "students_ovz" in c and c["students"].sum() > 0:
                rows.append(("Доля обучающихся с ОВЗ", fmt_pct(100 * c["students_ovz"].sum() / c["students"].sum())))
    sim = similar_schools(data, school_id)
    rows.append(("Похожие школы (тот же тип и тип населённого пункта)", f"{len(sim)}"))
    return pd.DataFrame(rows, columns=["Характеристика", "Значение"]).astype(str)


def school_vpr_counts(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР written by the school in the year: class, subject, participants."""
    v = data.vpr_year(year)
    if v.empty:
        return pd.DataFrame()
    d = v[v["school_id"] == school_id]
    t = d.groupby(["grade", "subject"]).size().reset_index(name="n").sort_values(["grade", "subject"])
    return t


# ======================================================================================
# indicators: school vs comparison groups
# ======================================================================================

def _wilson(k: float, n: float) -> tuple[float, float]:
    """Scalar form of :func:`msoko.stats.wilson_ci` (0–1 scale; NaN for n = 0)."""
    low, high = stats.wilson_ci(k, n)
    return float(low), float(high)


def _key_mask(df: pd.DataFrame, grade, subject) -> pd.Series:
    g = df["grade"].isna() if grade is None or pd.isna(grade) else (df["grade"] == grade)
    s = df["subject"].isna() if subject is None or pd.isna(subject) else (df["subject"] == subject)
    return g.fillna(False) & s.fillna(False)


def _pooled(rows: pd.DataFrame) -> dict:
    """Pooled value of a group of schools from numerators and denominators.

    The scale (e.g. ×100 for a share in %) is taken from the rows themselves.
    A Wilson interval is given when the rows are shares (value = 100·num/den).
    """
    rows = rows[~rows.get("suppressed", pd.Series(False, index=rows.index)).fillna(False).astype(bool)]
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return dict(value=math.nan, ci_low=math.nan, ci_high=math.nan, n=0)
    n = int(rows["n"].fillna(0).sum()) if "n" in rows else 0
    if {"numerator", "denominator"} <= set(rows) and rows["denominator"].notna().all() and rows["denominator"].sum() > 0:
        num, den = float(rows["numerator"].sum()), float(rows["denominator"].sum())
        ratio = rows["numerator"] / rows["denominator"]
        ok = ratio.abs() > 1e-12
        scale = float(np.median(rows.loc[ok, "value"] / ratio[ok])) if ok.any() else 1.0
        value = scale * num / den
        lo = hi = math.nan
        if abs(scale - 100) < 1e-6 and 0 <= num <= den:
            lo, hi = (100 * x for x in _wilson(num, den))
        return dict(value=value, ci_low=lo, ci_high=hi, n=n)
    w = rows["n"].fillna(1) if "n" in rows else pd.Series(1.0, index=rows.index)
    return dict(value=float(np.average(rows["value"], weights=w)), ci_low=math.nan, ci_high=math.nan, n=n)


def _indicator_rows(data: ReportData, year: int, code: str, level: str, unit: str | None = None,
                    grade=None, subject=None) -> pd.DataFrame:
    """Rows of ``indicators`` for one year × indicator × level, in table order; with ``unit``
    (a school or municipality), only its row(s) for ``grade`` × ``subject``.

    Positions are indexed once per loaded data instead of a scan of the whole table per call: a
    school report asks for ~100 indicators × 4 comparison groups."""
    def build():
        # positions only (``groupby.indices``): materialising ~10⁴ small frames up front costs seconds
        by_cell = data.indicators.groupby(["year", "indicator", "level", "school_id", "grade", "subject"],
                                          sort=False, observed=True, dropna=False).indices
        by_level: dict = {}
        cells: dict = {}
        for (y, c, lv, u, g, sj), pos in by_cell.items():
            y, c, lv, u = _int(y), str(c), str(lv), str(u)
            by_level.setdefault((y, c, lv), []).append(pos)
            cells[(y, c, lv, u, _cell_key(g), _cell_key(sj))] = pos
        return {k: np.sort(np.concatenate(v)) for k, v in by_level.items()}, cells

    by_level, cells = data.memo(("_indicator_rows",), build)
    if unit is None:
        k = (int(year), str(code), str(level))
        pos = by_level.get(k)
    else:
        k = (int(year), str(code), str(level), str(unit), _cell_key(grade), _cell_key(subject))
        pos = cells.get(k)
    if pos is None:
        return data.indicators.iloc[0:0]
    return data.memo(("_indicator_frame", k), lambda: data.indicators.iloc[pos])


def _int(y):
    return int(y) if pd.notna(y) else -1


def _cell_key(v) -> str:
    """A grade or subject as an index key: '' for none, 4 and 4.0 alike."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def indicator_groups(data: ReportData, school_id: str, year: int, code: str, grade=None, subject=None) -> pd.DataFrame:
    """Long frame ``group, value, ci_low, ci_high, n, suppressed, limited`` for one indicator.

    The school and the municipality come from ``indicators.parquet`` as they are;
    similar schools are pooled from their rows (unless a ``similar`` level exists);
    the region is shown when ``indicators.parquet`` has a ``region`` level.
    """
    ind = data.indicators
    if ind.empty:
        return pd.DataFrame(columns=["group", "value", "ci_low", "ci_high", "n", "suppressed", "limited"])
    muni = school_row(data, school_id)["municipality"]
    out = []

    def rows(level: str, unit: str | None = None) -> pd.DataFrame:
        if unit is not None:
            return _indicator_rows(data, year, code, level, unit, grade, subject)
        d = _indicator_rows(data, year, code, level)
        return d[_key_mask(d, grade, subject)]

    def add(group, r):
        if r is None:
            return
        out.append(dict(group=group, value=r.get("value"), ci_low=r.get("ci_low", math.nan),
                        ci_high=r.get("ci_high", math.nan), n=r.get("n", math.nan),
                        suppressed=bool(r.get("suppressed", False)) if pd.notna(r.get("suppressed", False)) else False,
                        limited=bool(r.get("limited", False)) if pd.notna(r.get("limited", False)) else False))

    sch = rows("school", school_id)
    me = sch.iloc[0].to_dict() if len(sch) else None
    add(GROUP_SCHOOL, me)
    sim_level = rows("similar", school_id)
    if len(sim_level):
        add(GROUP_SIMILAR, sim_level.iloc[0].to_dict())
    elif me is not None and "similar_value" in me:
        # computed by msoko.indicators (pooled over the similar schools); shown as it is
        sn = me.get("similar_n")
        if pd.notna(me.get("similar_value")):
            add(GROUP_SIMILAR, dict(value=me["similar_value"], n=sn, suppressed=pd.notna(sn) and sn < MIN_N,
                                    limited=pd.notna(sn) and sn < LIMITED_N,
                                    ci_low=me.get("similar_ci_low", math.nan), ci_high=me.get("similar_ci_high", math.nan)))
    else:
        sim = similar_schools(data, school_id)
        d = rows("school")
        d = d[d["school_id"].isin(sim)]
        if len(d):
            p = _pooled(d)
            p.update(suppressed=p["n"] < MIN_N, limited=p["n"] < LIMITED_N)
            add(GROUP_SIMILAR, p)
    m = rows("municipality", str(muni))
    add(GROUP_MUNI, m.iloc[0].to_dict() if len(m) else None)
    r = rows("region")
    if len(r):
        add(GROUP_REGION, r.iloc[0].to_dict())
    elif me is not None and pd.notna(me.get("region_value")) and data.schools["municipality"].nunique() > 1:
        add(GROUP_REGION, dict(value=me["region_value"], n=math.nan))
    # suppression: a group under MIN_N never shows its value
    for r in out:
        n = pd.to_numeric(r["n"], errors="coerce")
        if r["suppressed"] or (pd.notna(n) and n < MIN_N):
            r.update(value=math.nan, ci_low=math.nan, ci_high=math.nan, suppressed=True)
    return pd.DataFrame(out, columns=["group", "value", "ci_low", "ci_high", "n", "suppressed", "limited"])


def catalogue_for(data: ReportData, system: int) -> pd.DataFrame:
    c = data.catalogue
    return c[c["system"] == system].sort_values("order")


def _value_cell(value, lo, hi, unit: str, suppressed: bool, n) -> str:
    if suppressed:
        return f"скрыто (n < {MIN_N})"
    if pd.isna(value):
        return "—"
    u = f" {unit}" if unit and unit != "%" else (" %" if unit == "%" else "")
    s = f"{fmt(value)}{u}"
    if pd.notna(lo) and pd.notna(hi):
        s += f" [{fmt(lo)}–{fmt(hi)}]"
    return s


def _compare_word(row_school: dict, ref_value, direction: str) -> str:
    """«выше» / «ниже» / «не отличается» by the school's interval against a reference value."""
    v, lo, hi = row_school.get("value"), row_school.get("ci_low"), row_school.get("ci_high")
    if pd.isna(v) or pd.isna(ref_value):
        return ""
    if pd.notna(lo) and pd.notna(hi):
        if lo > ref_value:
            word = "выше"
        elif hi < ref_value:
            word = "ниже"
        else:
            return "в пределах погрешности"
    else:
        word = "выше" if v > ref_value else ("ниже" if v < ref_value else "равно")
    if direction in ("higher", "lower") and word in ("выше", "ниже"):
        good = (word == "выше") == (direction == "higher")
        word += " (лучше)" if good else " (хуже)"
    return word


def system_indicator_table(data: ReportData, school_id: str, year: int, system: int, *,
                           all_breakdowns: bool = False) -> pd.DataFrame:
    """The school's indicators of one system beside similar schools, municipality and region.

    One row per indicator (overall rows: grade and subject null; with
    ``all_breakdowns`` every grade × subject). Values carry their 95 % interval.
    """
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & ind["indicator"].isin(cat["code"])]
    if not all_breakdowns:
        d = d[d["grade"].isna() & d["subject"].isna()]
    prev = ind[(ind["year"] == year - 1) & (ind["level"] == "school") & (ind["school_id"] == school_id)]
    rows = []
    order = dict(zip(cat["code"], cat["order"]))
    for _, r in d.assign(_o=d["indicator"].map(order)).sort_values(["_o", "grade", "subject"]).iterrows():
        c = cat.set_index("code").loc[r["indicator"]]
        g = indicator_groups(data, school_id, year, r["indicator"], r["grade"], r["subject"])
        gd = g.set_index("group")
        me = gd.loc[GROUP_SCHOOL].to_dict() if GROUP_SCHOOL in gd.index else {}
        name = c["name"] + (f" — {subject_phrase(r['subject'], r['grade'])}" if pd.notna(r["grade"]) or pd.notna(r["subject"]) else "")
        row = {"Показатель": name}
        row[GROUP_SCHOOL] = _value_cell(me.get("value"), me.get("ci_low"), me.get("ci_high"), c["unit"],
                                        bool(me.get("suppressed", False)), me.get("n"))
        row["n"] = fmt(int(me["n"])) if pd.notna(me.get("n")) else "—"
        for grp in (GROUP_SIMILAR, GROUP_MUNI, GROUP_REGION):
            if grp in gd.index:
                x = gd.loc[grp]
                row[grp] = _value_cell(x["value"], math.nan, math.nan, c["unit"], bool(x["suppressed"]), x["n"])
            else:
                row[grp] = "—"
        pv = prev[(prev["indicator"] == r["indicator"]) & _key_mask(prev, r["grade"], r["subject"])]
        if len(pv) and pd.notna(me.get("value")) and not bool(pv.iloc[0].get("suppressed", False)):
            delta = round(float(me["value"] - pv.iloc[0]["value"]), 1)
            row["Изменение за год"] = ("+" if delta >= 0 else "−") + fmt(abs(delta)) + \
                (" п. п." if c["unit"] == "%" else (f" {c['unit']}" if c["unit"] else ""))
        else:
            row["Изменение за год"] = "—"
        muni_v = gd.loc[GROUP_MUNI, "value"] if GROUP_MUNI in gd.index else math.nan
        row["Сравнение с муниципалитетом"] = _compare_word(me, muni_v, c["direction"]) if not me.get("suppressed") else ""
        n = me.get("n")
        row["Информативность"] = informativeness(n) if pd.notna(n) else "—"
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty and (out[GROUP_REGION] == "—").all():
        out = out.drop(columns=[GROUP_REGION])
    return out


# The indicators a chapter draws first (when computed); otherwise the catalogue order decides.
HEADLINE: dict[int, list[str]] = {
    1: ["vpr_fail_share", "vpr_quality", "gia_below_min"],
    2: ["risk_factors_count", "context_index", "shnor_low_procedures"],
    3: ["olymp_school_participation", "addedu_coverage"],
    4: ["profmin_basic_share", "leavers_profile_match"],
    5: ["principal_composite", "principal_mgmt_training"],
    6: ["teachers_kpk3", "teachers_top_category"],
    7: ["upbr_clubs", "upbr_pdn_kdn_rate"],
    8: ["mkdo_total_score", "preschool_availability_3_7"],
}


def _headline_order(data: ReportData, system: int) -> list[str]:
    codes = list(catalogue_for(data, system)["code"])
    first = [c for c in HEADLINE.get(system, []) if c in codes]
    return first + [c for c in codes if c not in first]


def headline_indicators(data: ReportData, school_id: str, year: int, system: int, k: int = 2) -> list[str]:
    """The first ``k`` catalogue indicators of the system the school has an overall, unsuppressed value for."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & ind["grade"].isna() & ind["subject"].isna() & ind["value"].notna()
            & ~ind["suppressed"].fillna(False).astype(bool)]
    have = set(d["indicator"])
    return [c for c in _headline_order(data, system) if c in have][:k]


def indicator_trend(data: ReportData, school_id: str, code: str, year: int, *, grade=None, subject=None,
                    n_years: int = 3) -> pd.DataFrame:
    """Long frame ``year, group, value, ci_low, ci_high, n`` for the last ``n_years`` years."""
    frames = []
    for y in range(year - n_years + 1, year + 1):
        g = indicator_groups(data, school_id, y, code, grade, subject)
        if not g.empty:
            frames.append(g.assign(year=y))
    if not frames:
        return pd.DataFrame(columns=["year", "group", "value", "ci_low", "ci_high", "n"])
    out = pd.concat(frames, ignore_index=True)
    return out[out["group"].isin([GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI])]


def indicator_meta(data: ReportData, code: str) -> dict:
    c = data.catalogue.set_index("code")
    if code not in c.index:
        return dict(name=code, unit="", direction="", formula="", source="", target=math.nan)
    return c.loc[code].to_dict()


# ======================================================================================
CORE_SUBJECTS = ("Русский язык", "Математика")
# Indicators whose grade × subject breakdowns count as «stands out» (the overall rows count for all):
# with a dozen indicators per work, testing each breakdown would flag something by chance everywhere.
KEY_BREAKDOWN_INDICATORS = {"vpr_fail_share", "vpr_quality", "vpr_mean_pct", "vpr_fail", "vpr_quality_share",
                            "gia_below_min", "oge_mark45_share", "s1_bad", "s1_good"}
MAX_DETAILED_WORKS = 8

# management cycle: goals, analysis, recommendations, effectiveness
# ======================================================================================

def _cycle_table(data: ReportData, *names: str) -> pd.DataFrame:
    for n in names:
        t = data.table(n)
        if not t.empty:
            return t
    return pd.DataFrame()


def system_goal(data: ReportData, system: int) -> tuple[str, list[str]]:
    """The goal and tasks of a system from the municipal configuration."""
    sec = (data.config.get("systems", {}) or {}).get(str(system), {}) or {}
    return str(sec.get("goal", "")), [str(t) for t in sec.get("tasks", [])]


def goals_table(data: ReportData, system: int, year: int) -> pd.DataFrame:
    """The system's indicators: formula, unit, direction, data source and the configured target for ``year``."""
    cat = catalogue_for(data, system)
    if cat.empty:
        return pd.DataFrame()
    t = cat[["code", "name", "formula", "unit", "direction", "source"]].copy()
    t["target"] = [target_value(data, c, year) for c in t["code"]]
    t["direction"] = t["direction"].map({"higher": "больше — лучше", "lower": "меньше — лучше"}).fillna("—")
    t["target"] = t["target"].map(lambda v: fmt(v) if pd.notna(v) else "не задано")
    t = t.drop(columns="code")
    return t.rename(columns={"name": "Показатель", "formula": "Формула", "unit": "Ед.", "direction": "Направление",
                             "source": "Источник данных", "target": f"Цель на {year} г."}).fillna("—").astype(str)


def municipal_indicator_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Municipal values of a system's indicators over three years, with intervals and targets."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality) & ind["indicator"].isin(cat["code"])
            & ind["grade"].isna() & ind["subject"].isna() & ind["year"].between(year - 2, year)]
    rows = []
    for _, c in cat.iterrows():
        x = d[d["indicator"] == c["code"]].set_index("year")
        if x.empty:
            continue
        row = {"Показатель": c["name"], "Ед.": c["unit"] or "—"}
        for y in range(year - 2, year + 1):
            if y in x.index:
                r = x.loc[y]
                row[str(y)] = _value_cell(r["value"], r.get("ci_low"), r.get("ci_high"), "", bool(r.get("suppressed", False)), r.get("n"))
            else:
                row[str(y)] = "—"
        if year in x.index:
            row[f"n ({year})"] = fmt(int(x.loc[year, "n"])) if pd.notna(x.loc[year, "n"]) else "—"
        tgt = target_value(data, c["code"], year)
        row["Цель"] = fmt(tgt) if pd.notna(tgt) else "не задана"
        rows.append(row)
    return pd.DataFrame(rows)


def school_comparison_table(data: ReportData, municipality: str, year: int, code: str, *, grade=None,
                            subject=None) -> pd.DataFrame:
    """Every school's value of one indicator beside the municipality — sorted by school name, never by value."""
    ind = data.indicators
    if ind.empty:
        return pd.DataFrame()
    meta = indicator_meta(data, code)
    s = data.schools[data.schools["municipality"] == municipality]
    d = ind[(ind["year"] == year) & (ind["indicator"] == code) & (ind["level"] == "school")
            & ind["school_id"].isin(s["school_id"])]
    d = d[_key_mask(d, grade, subject)]
    m = ind[(ind["year"] == year) & (ind["indicator"] == code) & (ind["level"] == "municipality")
            & (ind["school_id"] == municipality)]
    m = m[_key_mask(m, grade, subject)]
    mv = m["value"].iloc[0] if len(m) else math.nan
    names = s.set_index("school_id")["name"]
    rows = []
    for _, r in d.iterrows():
        sup = bool(r.get("suppressed", False)) or (pd.notna(r["n"]) and r["n"] < MIN_N)
        rows.append({
            "Школа": names.get(r["school_id"], r["school_id"]), "Логин": r["school_id"],
            "Значение [95 % ДИ]": _value_cell(r["value"], r["ci_low"], r["ci_high"], meta["unit"], sup, r["n"]),
            "n": fmt(int(r["n"])) if pd.notna(r["n"]) else "—",
            "Сравнение с муниципалитетом": "" if sup else _compare_word(r.to_dict(), mv, meta["direction"]),
            "Информативность": informativeness(r["n"]),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["Школа", "Логин"]).reset_index(drop=True)


def _municipal_ids(data: ReportData, municipality: str) -> set[str]:
    return set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"].astype(str))


def municipal_findings(data: ReportData, municipality: str, year: int, system: int, *, limit: int = 8) -> list[str]:
    """The cycle's sentences about the municipality itself (target missed, worse trend), most certain first."""
    cyc = _cycle_table(data, "cycle_analysis")
    if cyc.empty or "text_ru" not in cyc:
        return []
    c = cyc[(cyc["year"] == year) & (cyc["system"] == system) & (cyc.get("level", "") == "municipality")
            & (cyc["school_id"].astype(str) == municipality)]
    if "z" in c:
        c = c.sort_values("z", ascending=False)
    return [str(t) for t in c["text_ru"].dropna().head(limit)]


def analysis_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Schools that fall short on the system's indicators, one row per school, sorted by name
    (compare, never rank). From the management cycle (``cycle_analysis``) when computed, else
    worked out here: the school's interval wholly on the worse side of the municipality, or the
    target missed."""
    cyc = _cycle_table(data, "cycle_analysis")
    cat = catalogue_for(data, system)
    names = data.schools.set_index("school_id")["name"]
    if not cyc.empty and {"school_id", "indicator", "system"} <= set(cyc):
        c = cyc[(cyc["year"] == year) & (cyc["system"] == system)]
        c = c[(c.get("level", "school") == "school") & c["school_id"].astype(str).isin(_municipal_ids(data, municipality))]
        if c.empty:
            return pd.DataFrame()
        c = c.assign(school_id=c["school_id"].astype(str))
        rows = []
        for sid, x in c.groupby("school_id", sort=False):
            cert = x["certainty"].value_counts() if "certainty" in x else pd.Series(dtype=int)
            label = x["name_ru"] if "name_ru" in x else x["indicator"]
            where = [f"{lab} ({subject_phrase(s, g).replace('по ', '', 1)})" if pd.notna(g) or pd.notna(s) else str(lab)
                     for lab, g, s in zip(label, x.get("grade", pd.Series(pd.NA, index=x.index)),
                                          x.get("subject", pd.Series(pd.NA, index=x.index)))]
            uniq = list(dict.fromkeys(where))
            rows.append({"Школа": names.get(sid, sid), "Логин": sid, "Зон внимания": fmt(len(x)),
                         "Из них достоверно": fmt(int(cert.get("достоверно", 0))),
                         "Причины": "; ".join(sorted(set(x["reason_ru"].dropna().astype(str)))) if "reason_ru" in x else "—",
                         "Показатели": "; ".join(uniq[:4]) + (f" и ещё {len(uniq) - 4}" if len(uniq) > 4 else "")})
        return pd.DataFrame(rows).sort_values(["Школа", "Логин"]).reset_index(drop=True)
    ind = data.indicators
    if ind.empty or cat.empty:
        return pd.DataFrame()
    s = data.schools[data.schools["municipality"] == municipality]
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & ind["school_id"].isin(s["school_id"])
            & ind["indicator"].isin(cat["code"]) & ind["grade"].isna() & ind["subject"].isna()
            & ~ind["suppressed"].fillna(False).astype(bool)]
    m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == municipality)
            & ind["grade"].isna() & ind["subject"].isna()].set_index("indicator")["value"]
    c = cat.set_index("code")
    rows = []
    for _, r in d.iterrows():
        meta = c.loc[r["indicator"]]
        mv = m.get(r["indicator"], math.nan)
        if meta["direction"] not in ("higher", "lower") or pd.isna(mv) or pd.isna(r["ci_low"]):
            continue
        worse = (r["ci_high"] < mv) if meta["direction"] == "higher" else (r["ci_low"] > mv)
        tgt = target_value(data, r["indicator"], year)
        miss_target = pd.notna(tgt) and ((r["value"] < tgt) if meta["direction"] == "higher" else (r["value"] > tgt))
        if not (worse or miss_target):
            continue
        why = []
        if worse:
            why.append(f"{'ниже' if meta['direction'] == 'higher' else 'выше'} муниципального значения "
                       f"{_value_with_unit(mv, meta['unit'])} за пределами погрешности")
        if miss_target:
            why.append(f"не достигнута цель {_value_with_unit(tgt, meta['unit'])}")
        rows.append({"Школа": names.get(r["school_id"], r["school_id"]), "Логин": r["school_id"],
                     "Показатель": meta["name"],
                     "Значение [95 % ДИ]": _value_cell(r["value"], r["ci_low"], r["ci_high"], meta["unit"], False, r["n"]),
                     "Что не так": "; ".join(why), "Информативность": informativeness(r["n"])})
    out = pd.DataFrame(rows)
    return out.sort_values(["Школа", "Логин", "Показатель"]).reset_index(drop=True) if not out.empty else out


def recommendations_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                          municipality: str | None = None, per_school: int | None = None) -> pd.DataFrame:
    """Addressed recommendations of the management cycle (``recommendations``), sorted by school name.

    ``per_school`` keeps the first recommendations of each school (the rest are counted
    in a last line per school: every one is in the school's own report)."""
    r = _cycle_table(data, "recommendations", "cycle_recommendations")
    if r.empty:
        return pd.DataFrame()
    r = r.copy()
    if "year" in r:
        r = r[r["year"] == year]
    r["school_id"] = r["school_id"].astype(str)
    if school_id is not None:
        r = r[r["school_id"] == school_id]
    if municipality is not None:
        r = r[r["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
    if system is not None and "system" in r:
        r = r[r["system"] == system]
    if r.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    r["_name"] = r["school_id"].map(names).fillna(r["school_id"]).astype(str)
    sort = ["_name", "school_id"] + [c for c in ("system", "indicator", "grade", "subject") if c in r]
    r = r.sort_values(sort, na_position="first")
    text_col = next((c for c in ("text_ru", "recommendation", "text") if c in r), None)
    rows = []
    for sid, x in r.groupby("school_id", sort=False):
        shown = x if per_school is None else x.head(per_school)
        for _, y in shown.iterrows():
            row = {}
            if school_id is None:
                row["Школа"] = y["_name"]
            if system is None and "system" in y:
                row["Система"] = str(int(y["system"])) if pd.notna(y["system"]) else "—"
            row["Рекомендация"] = y[text_col] if text_col else "—"
            row["Адресат"] = y.get("addressee", "—") if pd.notna(y.get("addressee", pd.NA)) else "—"
            rows.append(row)
        if per_school is not None and len(x) > per_school:
            row = {"Рекомендация": f"…и ещё {len(x) - per_school} (см. отчёт школы)", "Адресат": ""}
            if school_id is None:
                row = {"Школа": x["_name"].iloc[0], **row}
            if system is None and "system" in x:
                row["Система"] = ""
            rows.append(row)
    return pd.DataFrame(rows)


def measures_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                   municipality: str | None = None) -> pd.DataFrame:
    """Measures and management decisions recorded for a year (template ``measures``)."""
    m = data.table("measures")
    if m.empty:
        return pd.DataFrame()
    m = m[m["year"] == year].copy()
    m["school_id"] = m["school_id"].astype(str)
    if school_id is not None:
        m = m[m["school_id"] == school_id]
    if municipality is not None:
        ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"]) | {municipality}
        m = m[m["school_id"].isin(ids)]
    if system is not None:
        m = m[m["system"] == system]
    if m.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    out = pd.DataFrame({"Школа": m["school_id"].map(names).fillna(m["school_id"]),
                        "Показатель": m["indicator"].map(lambda x: indicator_meta(data, x)["name"]),
                        "Мера": m["measure"],
                        "Управленческое решение": m.get("decision", pd.Series("—", index=m.index)),
                        "Ответственный": m.get("responsible", pd.Series("—", index=m.index))})
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True).fillna("—")


def effectiveness_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                        municipality: str | None = None) -> pd.DataFrame:
    """Did the measures of ``year − 1`` move their indicator? Before / after with intervals and a verdict.

    The cycle's ``effectiveness`` table is shown when present; otherwise the
    verdict is worked out here from ``indicators.parquet``: «улучшение», when the
    new interval lies entirely on the better side of last year's value;
    «ухудшение» for the opposite; else «изменение в пределах погрешности».
    """
    eff = _cycle_table(data, "effectiveness", "cycle_effectiveness")
    names = data.schools.set_index("school_id")["name"]
    if not eff.empty and {"school_id", "indicator", "verdict"} <= set(eff):
        e = eff.assign(school_id=eff["school_id"].astype(str), year=pd.to_numeric(eff["year"], errors="coerce"))
        # a measure of year Y is judged by Y + 1: the report of ``year`` shows the measures of year − 1
        e = e[e["year"] == year - 1]
        if school_id is not None:
            e = e[e["school_id"] == school_id]
        if system is not None and "system" in e:
            e = e[pd.to_numeric(e["system"], errors="coerce") == system]
        if municipality is not None:
            e = e[e["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
        if e.empty:
            return pd.DataFrame()
        unit = e["indicator"].map(lambda c: indicator_meta(data, c).get("unit", ""))

        def ch(r):
            if pd.isna(r["change"]):
                return "—"
            s_ = ("+" if r["change"] >= 0 else "−") + fmt(abs(float(r["change"])))
            if pd.notna(r.get("change_ci_low")) and pd.notna(r.get("change_ci_high")):
                s_ += f" [{fmt(float(r['change_ci_low']))}; {fmt(float(r['change_ci_high']))}]"
            return s_

        out = pd.DataFrame({
            "Школа": e["school_id"].map(names).fillna(e["school_id"]),
            "Показатель": e["name_ru"] if "name_ru" in e else e["indicator"],
            "Мера": e.get("measure", pd.Series("—", index=e.index)),
            f"Было ({year - 1})": [fmt(float(v)) + (f" {u}" if u else "") if pd.notna(v) else "—"
                                   for v, u in zip(e["value_before"], unit)],
            f"Стало ({year})": [fmt(float(v)) + (f" {u}" if u else "") if pd.notna(v) else "—"
                                for v, u in zip(e["value_after"], unit)],
            "Изменение [95 % ДИ]": [ch(r) for _, r in e.iterrows()],
            "Вывод": e["verdict"].fillna("—"),
        })
        if school_id is not None:
            out = out.drop(columns=["Школа"])
        return out.sort_values(list(out.columns[:2])).reset_index(drop=True)
    m = data.table("measures")
    ind = data.indicators
    if m.empty or ind.empty:
        return pd.DataFrame()
    m = m[m["year"] == year - 1].assign(school_id=lambda x: x["school_id"].astype(str))
    if school_id is not None:
        m = m[m["school_id"] == school_id]
    if system is not None:
        m = m[m["system"] == system]
    if municipality is not None:
        ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"])
        m = m[m["school_id"].isin(ids)]
    rows = []
    for _, r in m.iterrows():
        meta = indicator_meta(data, r["indicator"])
        x = ind[(ind["indicator"] == r["indicator"]) & (ind["school_id"] == r["school_id"]) & (ind["level"] == "school")
                & ind["grade"].isna() & ind["subject"].isna()].set_index("year")
        if year - 1 not in x.index or year not in x.index:
            verdict, before, after = "нет данных за оба года", "—", "—"
        else:
            b, a = x.loc[year - 1], x.loc[year]
            before = _value_cell(b["value"], b["ci_low"], b["ci_high"], meta["unit"], bool(b["suppressed"]), b["n"])
            after = _value_cell(a["value"], a["ci_low"], a["ci_high"], meta["unit"], bool(a["suppressed"]), a["n"])
            if bool(a["suppressed"]) or bool(b["suppressed"]) or pd.isna(a["ci_low"]):
                verdict = "нельзя оценить (мало участников)"
            else:
                better_hi = a["ci_low"] > b["value"]
                better_lo = a["ci_high"] < b["value"]
                if meta["direction"] == "higher":
                    verdict = "улучшение" if better_hi else ("ухудшение" if better_lo else "изменение в пределах погрешности")
                elif meta["direction"] == "lower":
                    verdict = "улучшение" if better_lo else ("ухудшение" if better_hi else "изменение в пределах погрешности")
                else:
                    verdict = "изменение" if (better_hi or better_lo) else "изменение в пределах погрешности"
        rows.append({"Школа": names.get(r["school_id"], r["school_id"]), "Показатель": meta["name"],
                     "Мера": r["measure"], f"Было ({year - 1})": before, f"Стало ({year})": after, "Вывод": verdict})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True)


# ======================================================================================
