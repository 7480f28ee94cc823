"""Indicators from ``indicators.parquet``: a school beside its comparison groups, the system tables,
the management-cycle outputs (goals, analysis, recommendations, measures, effectiveness).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import MIN_N, agree, fmt, fmt_pct, informativeness, subject_phrase
from msoko.report.data import (ReportData, all_loaded_group, limited_below, many_municipalities, names_by_id,
                               school_row, similar_schools, suppress_below, take_rows, target_value,
                               year_school_rows)


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
        c = year_school_rows(data, "contingent", year, school_id)
        if len(c):
            rows.append((f"Обучающихся в {year} г. (контингент)", int(c["students"].sum())))
            if "students_ovz" in c and c["students"].sum() > 0:
                rows.append(("Доля обучающихся с ОВЗ", fmt_pct(100 * c["students_ovz"].sum() / c["students"].sum())))
    sim = similar_schools(data, school_id)
    rows.append(("Похожие школы (тот же тип и тип населённого пункта)", f"{len(sim)}"))
    return pd.DataFrame(rows, columns=["Характеристика", "Значение"]).astype(str)


def school_vpr_counts(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР written by the school in the year: class, subject, participants (``n`` of compute's
    ``vpr_score_counts.parquet``: the pupils who wrote the work)."""
    def firsts():   # every school's works and first n, grouped once per load (a scan and a groupby per school ~5 ms)
        c = data.table("vpr_score_counts")
        g = c[c["level"] == "school"].groupby(["year", "school_id", "grade", "subject"])["n"].first().reset_index()
        return g, g.groupby([g["year"], g["school_id"]], sort=False).indices

    def build():
        c = data.table("vpr_score_counts")
        if c.empty:
            return pd.DataFrame()
        g, pos = data.memo(("_vpr_counts_firsts",), firsts)
        p = pos.get((int(year), str(school_id)))
        if p is None:   # no work with a grade and a subject: the school's rows, if any, as they were
            rows = data.memo(("_vpr_counts_pos",), lambda: c.groupby(
                [c["year"], c["level"], c["school_id"]], sort=False, observed=True, dropna=True).indices)
            r = rows.get((int(year), "school", str(school_id)))
            if r is None:
                return pd.DataFrame()
            d = c.iloc[np.sort(r)]
            return (d.groupby(["grade", "subject"])["n"].first().astype("int64").reset_index()
                    .sort_values(["grade", "subject"]).reset_index(drop=True))
        # the school's groups, in (grade, subject) order as the whole groupby sorted them
        return take_rows(g, np.sort(p))[["grade", "subject", "n"]].astype({"n": "int64"}).reset_index(drop=True)

    return data.memo(("_vpr_counts", str(school_id), int(year)), build)


# ======================================================================================
# indicators: school vs comparison groups
# ======================================================================================

def _key_mask(df: pd.DataFrame, grade, subject) -> pd.Series:
    g = df["grade"].isna() if grade is None or pd.isna(grade) else (df["grade"] == grade)
    s = df["subject"].isna() if subject is None or pd.isna(subject) else (df["subject"] == subject)
    return g.fillna(False) & s.fillna(False)


def _indicator_rows(data: ReportData, year: int, code: str, level: str, unit: str | None = None,
                    grade=None, subject=None, *, items: bool = False) -> pd.DataFrame:
    """Rows of ``indicators`` for one year × indicator × level, in table order; with ``unit``
    (a school or municipality), only its row(s) for ``grade`` × ``subject``.

    ``items``: the rows of an indicator's details (``item`` = task, level, stage, area) instead.

    Positions are indexed once per loaded data instead of a scan of the whole table per call: a
    school report asks for ~100 indicators × 4 comparison groups."""
    frame = data.indicator_items if items else data.indicators
    if frame.empty:
        return frame
    by_level, cells = _row_index(data, items)
    if unit is None:
        k = (int(year), str(code), str(level))
        pos = by_level.get(k)
    else:
        k = (int(year), str(code), str(level), str(unit), _cell_key(grade), _cell_key(subject))
        pos = cells.get(k)
    if pos is None:
        return frame.iloc[0:0]
    return data.memo(("_indicator_frame", items, k), lambda: take_rows(frame, pos))


def _row_index(data: ReportData, items: bool) -> tuple[dict, dict]:
    """Positions of ``indicators`` (or of its item rows) by (year, indicator, level) and by the full
    cell key, built once per load."""
    frame = data.indicator_items if items else data.indicators

    return data.memo(("_indicator_rows", items), lambda: _cell_positions(frame))


def _cell_positions(frame: pd.DataFrame) -> tuple[dict, dict]:
    """``(by_level, cells)``: the ascending row positions of ``frame`` by ``(year, indicator, level)`` and by
    the full cell key ``(year, indicator, level, unit, grade, subject)`` (the keys as :func:`_indicator_rows`
    asks: ``-1`` for a missing year, ``str`` of the others, :func:`_cell_key` of grade and subject).

    Positions only — materialising ~10⁴ small frames up front costs seconds. Each column is factorised and
    its distinct values turned into keys once; the rows are ordered by their combined code once, and each
    cell's positions are a slice of that order (a region slice's ~17 000 rows are as many cells: a groupby's
    ``indices`` and a loop over its groups cost ~0.15 s per municipality)."""
    names = ("year", "indicator", "level", "school_id", "grade", "subject")
    keyers = (_int, str, str, str, _cell_key, _cell_key)
    n = len(frame)
    combined = np.zeros(n, dtype=np.int64)
    columns = []
    for name, keyer in zip(names, keyers):
        col = frame[name]
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        # code -1: the missing value, keyed as the column's own missing value
        keys = [keyer(u) for u in uniques] + [keyer(getattr(col.dtype, "na_value", np.nan))]
        columns.append((codes, keys))
        combined = combined * (len(uniques) + 1) + (codes + 1)
    order = np.argsort(combined, kind="stable")
    ordered = combined[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, dtype=np.intp)
    stops = np.r_[starts[1:], n] if n else starts
    firsts = order[starts]
    parts = [[keys[c] for c in codes[firsts].tolist()] for codes, keys in columns]
    cells: dict = {}
    by_level: dict = {}
    for key, a, b in zip(zip(*parts), starts.tolist(), stops.tolist()):
        pos = order[a:b]
        cells[key] = pos
        by_level.setdefault(key[:3], []).append(pos)
    return {k: np.sort(np.concatenate(v)) for k, v in by_level.items()}, cells


def _int(y):
    return int(y) if pd.notna(y) else -1


def _cell_key(v) -> str:
    """A grade or subject as an index key: '' for none, 4 and 4.0 alike."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def unit_year_rows(data: ReportData, year: int, level: str, unit: str) -> pd.DataFrame:
    """The rows of ``indicators`` of one school or municipality (``level``) for one year, in table
    order: positions indexed once per load, instead of a scan of the whole table by every section."""
    ind = data.indicators
    if ind.empty:
        return ind
    p = _unit_year_pos(data).get((int(year), str(level), str(unit)))
    return data.memo(("_unit_year_rows", int(year), str(level), str(unit)),
                     lambda: take_rows(ind, np.sort(p)) if p is not None else ind.iloc[0:0])


def _unit_year_pos(data: ReportData) -> dict:
    """Positions of the rows of ``indicators`` by (year, level, unit), once per load."""
    ind = data.indicators
    return data.memo(("_unit_year_pos",), lambda: {
        (_int(y), str(lv), str(u)): p for (y, lv, u), p in
        ind.groupby(["year", "level", "school_id"], sort=False, observed=True, dropna=False).indices.items()})


def school_year_rows(data: ReportData, year: int, school_id: str) -> pd.DataFrame:
    """The school's rows of ``indicators`` for one year (see :func:`unit_year_rows`)."""
    return unit_year_rows(data, year, "school", school_id)


def _school_overall_rows(data: ReportData, year: int, school_id: str) -> pd.DataFrame:
    """The school's overall rows of a year (grade and subject null), once per school: every system's
    table and headline choice starts from them (a filter of the year's rows per system cost ~3 ms)."""
    def build():
        d = school_year_rows(data, year, school_id)
        return d[d["grade"].isna() & d["subject"].isna()]
    return data.memo(("_school_overall_rows", int(year), str(school_id)), build)


GROUP_COLUMNS = ["group", "value", "ci_low", "ci_high", "n", "suppressed", "limited"]
_ROW_COLUMNS = ("value", "ci_low", "ci_high", "n", "suppressed", "limited", "similar_value", "similar_ci_low",
                "similar_ci_high", "similar_n", "region_value")


def _first_row(data: ReportData, year: int, code: str, level: str, unit: str, grade, subject) -> dict | None:
    """The values of one row of ``indicators`` as a dict, read from column arrays made once per load
    (a school report asks for ~10⁴ of them: pandas row access would cost seconds)."""
    # the position index alone: materialising the row as a frame (``_indicator_rows``) cost ~2 ms a call
    cells = _row_index(data, False)[1]
    pos = cells.get((int(year), str(code), str(level), str(unit), _cell_key(grade), _cell_key(subject)))
    if pos is None or not len(pos):
        return None
    cols = data.memo(("_indicator_arrays",), lambda: {c: data.indicators[c].to_numpy() for c in _ROW_COLUMNS})
    i = int(pos[0])
    return {c: cols[c][i] for c in _ROW_COLUMNS}


def _item_records(data: ReportData, year: int, code: str, level: str, unit: str, grade, subject,
                  columns: Sequence[str]) -> list[dict]:
    """``_indicator_rows(..., items=True)[columns].to_dict("records")`` (the columns present), the same
    values, read from object arrays of the item rows made once per load: a frame per work and its
    records cost ~4 ms a work."""
    frame = data.indicator_items
    if frame.empty:
        return []
    pos = _row_index(data, True)[1].get((int(year), str(code), str(level), str(unit), _cell_key(grade),
                                          _cell_key(subject)))
    if pos is None or not len(pos):
        return []
    cols = [c for c in columns if c in frame.columns]
    arrays = data.memo(("_item_arrays",), dict)
    for c in cols:
        if c not in arrays:
            arrays[c] = frame[c].to_numpy(dtype=object)
    return [{c: arrays[c][i] for c in cols} for i in pos.tolist()]


def _groups(data: ReportData, school_id: str, year: int, code: str, grade=None, subject=None) -> list[dict]:
    """The rows of :func:`indicator_groups` as dicts (the fast form for the report's own loops)."""
    if data.indicators.empty:
        return []
    muni = str(school_row(data, school_id)["municipality"])
    out = []

    def add(group, r):
        if r is not None:
            out.append(dict(group=group, value=r["value"], ci_low=r["ci_low"], ci_high=r["ci_high"], n=r["n"],
                            suppressed=bool(r["suppressed"]), limited=bool(r["limited"])))

    me = _first_row(data, year, code, "school", school_id, grade, subject)
    add(GROUP_SCHOOL, me)
    if me is not None and pd.notna(me["similar_value"]):
        # pooled over the similar schools by msoko.indicators; shown as it is
        sn = me["similar_n"]
        add(GROUP_SIMILAR, dict(value=me["similar_value"], n=sn, suppressed=pd.notna(sn) and sn < suppress_below(data),
                                limited=pd.notna(sn) and sn < limited_below(data),
                                ci_low=me["similar_ci_low"], ci_high=me["similar_ci_high"]))
    add(GROUP_MUNI, _first_row(data, year, code, "municipality", muni, grade, subject))
    if me is not None and pd.notna(me["region_value"]) and many_municipalities(data):
        add(all_loaded_group(data), dict(value=me["region_value"], ci_low=math.nan, ci_high=math.nan, n=math.nan,
                                suppressed=False, limited=False))
    # suppression: a group under suppress_below never shows its value — a fact about the institution
    # (catalogue min_n = 0: its status, context index, principal, vacancies) is not a group of people
    fact = is_institution_fact(data, code)
    for r in out:
        n = r["n"]
        if fact and not (r["group"] == GROUP_SCHOOL and r["suppressed"]):
            r["suppressed"] = False
            continue
        if r["suppressed"] or (pd.notna(n) and n < suppress_below(data)):
            r.update(value=math.nan, ci_low=math.nan, ci_high=math.nan, suppressed=True)
    return out


def indicator_groups(data: ReportData, school_id: str, year: int, code: str, grade=None, subject=None) -> pd.DataFrame:
    """Long frame ``group, value, ci_low, ci_high, n, suppressed, limited`` for one indicator.

    Everything comes from ``indicators.parquet`` as compute wrote it: the school's and the
    municipality's rows, the similar schools' pooled value (``similar_*``) and the region's value
    (``region_value``, shown when the data hold more than one municipality).
    """
    return pd.DataFrame(_groups(data, school_id, year, code, grade, subject), columns=GROUP_COLUMNS)


def is_institution_fact(data: ReportData, code: str) -> bool:
    """A fact about one institution (catalogue ``min_n = 0``: never suppressed by compute), not a group."""
    def build():
        c = data.catalogue
        if "min_n" not in c:
            return set()
        return set(c.loc[pd.to_numeric(c["min_n"], errors="coerce") == 0, "code"].astype(str))
    return str(code) in data.memo(("_institution_facts",), build)


def catalogue_for(data: ReportData, system: int) -> pd.DataFrame:
    """The system's catalogue rows in catalogue order (memoised per load; read it, never modify it)."""
    def build():
        c = data.catalogue
        return c[c["system"] == system].sort_values("order")
    return data.memo(("_catalogue_for", int(system)), build)


def not_computed(data: ReportData, system: int, school_id: str | None = None, year: int | None = None) -> list[str]:
    """«не рассчитано: причина» for each of the system's catalogue indicators compute did not compute
    (its ``computed`` / ``note_ru`` in ``indicator_catalogue.csv``); with a school, also the principal's
    composite computed elsewhere but not for this school (too few components: compute's note)."""
    c = catalogue_for(data, system)

    def build():   # the catalogue's part, the same for every school: once per load
        off = c["computed"].astype("boolean").fillna(True) == False  # noqa: E712 - a nullable column
        return ([f"«{r.name}» не рассчитан: {str(r.note_ru).rstrip('.') if pd.notna(r.note_ru) else 'причина не указана'}."
                 for r in c[off].itertuples()], "principal_composite" in set(c.loc[~off, "code"]))

    base, composite = data.memo(("_not_computed", int(system)), build)
    out = list(base)
    if school_id is not None and year is not None and composite:
        note = composite_note(data, school_id, year)
        if note.startswith("не рассчитан"):
            name = c.loc[c["code"] == "principal_composite", "name"].iloc[0]
            out.append(f"«{name}» {note}.")
    return out


def composite_note(data: ReportData, school_id: str, year: int) -> str:
    """compute's sentence on the principal's composite of the school — «рассчитан по 4 из 6
    составляющих; нет данных: …» or «не рассчитан: есть 2 из 6 …» (``principal_components``); "" if none."""
    pc = data.table("principal_components")
    if pc.empty or "composite_note" not in pc.columns:
        return ""
    x = year_school_rows(data, "principal_components", year, school_id)
    return str(x["composite_note"].iloc[0]) if len(x) and pd.notna(x["composite_note"].iloc[0]) else ""


def _value_cell(value, lo, hi, unit: str, suppressed: bool, n, kind: str = "", *, min_n: int = MIN_N) -> str:
    if suppressed:
        return f"скрыто (n < {min_n})"
    if pd.isna(value):
        return "—"
    if kind == "flag":  # a school's yes/no (at the municipality: a share of schools, kind left empty)
        return "да" if float(value) >= 50 else "нет"
    if unit != "%" and float(value).is_integer():
        value = int(value)
    u = f" {unit}" if unit and unit not in ("%", "ед.") and not unit.startswith("на ") else (" %" if unit == "%" else "")
    s = agree(f"{fmt(value)}{u}")
    if pd.notna(lo) and pd.notna(hi):
        s += f" [{fmt(lo)}–{fmt(hi)}{u}]"
    return s


def _compare_word(vs, direction: str) -> str:
    """compute's comparison with a reference (``vs_municipality``: +1 the interval above, −1 below,
    0 overlapping) in words, with «лучше»/«хуже» by the indicator's direction."""
    if pd.isna(vs):
        return ""
    if vs == 0:
        return "в пределах погрешности"
    word = "выше" if vs > 0 else "ниже"
    if direction in ("higher", "lower"):
        word += " (лучше)" if (vs > 0) == (direction == "higher") else " (хуже)"
    return word


_TABLE_COLUMNS = ["indicator", "grade", "subject", "change", "suppressed", "vs_municipality"]


def _school_rows_records(data: ReportData, year: int, school_id: str, all_breakdowns: bool = False) -> list[dict]:
    """The school's overall rows of a year (every row with ``all_breakdowns``) as records of
    :data:`_TABLE_COLUMNS`, once per school (read them, never modify them)."""
    from msoko.report.common import records

    def build():
        d = school_year_rows(data, year, school_id) if all_breakdowns else _school_overall_rows(data, year, school_id)
        return records(d, [c for c in _TABLE_COLUMNS if c in d.columns]) if not d.empty else []
    return data.memo(("_school_rows_records", int(year), str(school_id), bool(all_breakdowns)), build)


def _catalogue_records(data: ReportData, system: int) -> dict[str, dict]:
    """The system's catalogue rows by code (the first row of a code), once per load (read them, never modify them)."""
    from msoko.report.common import records

    def build():
        out: dict = {}
        for r in records(catalogue_for(data, system)):
            out.setdefault(r["code"], r)
        return out
    return data.memo(("_catalogue_records", int(system)), build)


def _sort_key(v) -> tuple:
    """A sort key of a grade or subject as ``sort_values`` orders them: missing last."""
    return (1, 0) if v is None or (not isinstance(v, str) and pd.isna(v)) else (0, v)


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
    # dicts, not pandas rows: the school's rows as records once per school (every system's table reads
    # them), the catalogue's once per load (``iterrows`` and a ``.loc`` per indicator cost ~8 ms a table)
    cat_rows = _catalogue_records(data, system)
    d = [r for r in _school_rows_records(data, year, school_id, all_breakdowns) if r["indicator"] in cat_rows]
    d.sort(key=lambda r: (cat_rows[r["indicator"]]["order"], *_sort_key(r["grade"]), *_sort_key(r["subject"])))
    rows = []
    min_n, region = suppress_below(data), all_loaded_group(data)
    for r in d:
        c = cat_rows[r["indicator"]]
        gd = {x["group"]: x for x in _groups(data, school_id, year, r["indicator"], r["grade"], r["subject"])}
        me = gd.get(GROUP_SCHOOL, {})
        name = c["name"] + (f" — {subject_phrase(r['subject'], r['grade'])}" if pd.notna(r["grade"]) or pd.notna(r["subject"]) else "")
        row = {"Показатель": name}
        row[GROUP_SCHOOL] = _value_cell(me.get("value"), me.get("ci_low"), me.get("ci_high"), c["unit"],
                                        bool(me.get("suppressed", False)), me.get("n"), str(c.get("kind", "")),
                                        min_n=min_n)
        row["n"] = fmt(int(me["n"])) if pd.notna(me.get("n")) else "—"
        for grp in (GROUP_SIMILAR, GROUP_MUNI, region):
            if grp in gd:
                x = gd[grp]
                row[grp] = _value_cell(x["value"], math.nan, math.nan, c["unit"], bool(x["suppressed"]), x["n"],
                                       min_n=min_n)
            else:
                row[grp] = "—"
        if pd.notna(r["change"]) and not r["suppressed"] and str(c.get("kind", "")) == "flag":
            row["Изменение за год"] = "без изменений" if abs(float(r["change"])) < 1e-9 else (
                "появился" if float(r["change"]) > 0 else "снят")
        elif pd.notna(r["change"]) and not r["suppressed"]:
            delta = round(float(r["change"]), 1)
            row["Изменение за год"] = agree(("+" if delta >= 0 else "−") + fmt(abs(delta)) +
                (" п. п." if c["unit"] == "%" else (f" {c['unit']}" if c["unit"] and c["unit"] != "ед." else "")))
        else:
            row["Изменение за год"] = "—"
        row["Сравнение с муниципалитетом"] = "" if r["suppressed"] else _compare_word(r["vs_municipality"], c["direction"])
        n = me.get("n")
        row["Информативность"] = "факт об организации" if is_institution_fact(data, r["indicator"]) and not (
            pd.notna(n) and n > 1) else (
            informativeness(n, min_n) if pd.notna(n) else "—")
        if r["indicator"] == "principal_composite" and (note := composite_note(data, school_id, year)):
            row["Информативность"] = note          # a composite says from how many components it is
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty and (out[all_loaded_group(data)] == "—").all():
        out = out.drop(columns=[all_loaded_group(data)])
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
    """The system's indicators in the order a chapter draws them, once per load (read it, never modify it)."""
    def build():
        codes = list(catalogue_for(data, system)["code"])
        first = [c for c in HEADLINE.get(system, []) if c in codes]
        return first + [c for c in codes if c not in first]
    return data.memo(("_headline_order", int(system)), build)


def headline_indicators(data: ReportData, school_id: str, year: int, system: int, k: int = 2) -> list[str]:
    """The first ``k`` catalogue indicators of the system the school has an overall, unsuppressed value for."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    def build():   # once per school: every system asks (a filter of the school's rows cost ~0.7 ms)
        d = _school_overall_rows(data, year, school_id)
        return set(d.loc[d["value"].notna() & ~d["suppressed"].fillna(False).astype(bool), "indicator"])
    have = data.memo(("_school_headline_have", int(year), str(school_id)), build)
    return [c for c in _headline_order(data, system) if c in have][:k]


def indicator_trend(data: ReportData, school_id: str, code: str, year: int, *, grade=None, subject=None,
                    n_years: int = 3) -> pd.DataFrame:
    """Long frame ``year, group, value, ci_low, ci_high, n`` for the last ``n_years`` years."""
    # one frame of the years' groups (dicts), not a frame per year concatenated (~5 ms a trend)
    rows = [{**g, "year": y} for y in range(year - n_years + 1, year + 1)
            for g in _groups(data, school_id, y, code, grade, subject)]
    if not rows:
        return pd.DataFrame(columns=["year", "group", "value", "ci_low", "ci_high", "n"])
    out = pd.DataFrame(rows, columns=[*GROUP_COLUMNS, "year"])
    return out[[g["group"] in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI) for g in rows]]


def indicator_meta(data: ReportData, code: str) -> dict:
    def build():
        c = data.catalogue.set_index("code")
        return {k: c.loc[k].to_dict() for k in c.index.unique()}
    meta = data.memo(("_indicator_meta",), build).get(code)
    if meta is None:
        return dict(name=code, unit="", direction="", formula="", source="", target=math.nan)
    return dict(meta)


# ======================================================================================
CORE_SUBJECTS = ("Русский язык", "Математика")
# Indicators whose grade × subject breakdowns count as «stands out» (the overall rows count for all):
# with a dozen indicators per work, testing each breakdown would flag something by chance everywhere.
KEY_BREAKDOWN_INDICATORS = {"vpr_fail_share", "vpr_quality", "vpr_mean_pct", "vpr_fail", "vpr_quality_share",
                            "gia_below_min", "oge_mark45_share", "s1_bad", "s1_good"}
MAX_DETAILED_WORKS = 8

# management cycle: goals, analysis, recommendations, effectiveness
# ======================================================================================


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
                row[str(y)] = _value_cell(r["value"], r["ci_low"], r["ci_high"], "", bool(r["suppressed"]), r["n"],
                                          min_n=suppress_below(data))
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
    names = s.set_index("school_id")["name"]
    rows = []
    for _, r in d.iterrows():
        sup = bool(r["suppressed"])
        rows.append({
            "Школа": names.get(r["school_id"], r["school_id"]), "Логин": r["school_id"],
            "Значение [95 % ДИ]": _value_cell(r["value"], r["ci_low"], r["ci_high"], meta["unit"], sup, r["n"],
                                              min_n=suppress_below(data)),
            "n": fmt(int(r["n"])) if pd.notna(r["n"]) else "—",
            "Сравнение с муниципалитетом": "" if sup else _compare_word(r["vs_municipality"], meta["direction"]),
            "Информативность": informativeness(r["n"], suppress_below(data)),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["Школа", "Логин"]).reset_index(drop=True)


def _municipal_ids(data: ReportData, municipality: str) -> set[str]:
    return set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"].astype(str))


def municipal_findings(data: ReportData, municipality: str, year: int, system: int, *, limit: int = 8) -> list[str]:
    """The cycle's sentences about the municipality itself (target missed, worse trend), most certain first."""
    c = data.table("cycle_analysis")
    if c.empty:
        return []
    c = c[(c["year"] == year) & (c["system"] == system) & (c["level"] == "municipality")
          & (c["school_id"].astype(str) == municipality)]
    return [str(t) for t in c.sort_values("z", ascending=False)["text_ru"].dropna().head(limit)]


def analysis_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Schools that fall short on the system's indicators (``cycle_analysis``), one row per school,
    sorted by name (compare, never rank)."""
    c = data.table("cycle_analysis")
    if c.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    c = c[(c["year"] == year) & (c["system"] == system) & (c["level"] == "school")]
    c = c.assign(school_id=c["school_id"].astype(str))
    c = c[c["school_id"].isin(_municipal_ids(data, municipality))]
    rows = []
    for sid, x in c.groupby("school_id", sort=False):
        where = [f"{lab} ({subject_phrase(s, g).replace('по ', '', 1)})" if pd.notna(g) or pd.notna(s) else str(lab)
                 for lab, g, s in zip(x["name_ru"], x["grade"], x["subject"])]
        uniq = list(dict.fromkeys(where))
        rows.append({"Школа": names.get(sid, sid), "Логин": sid, "Зон внимания": fmt(len(x)),
                     "Из них достоверно": fmt(int((x["certainty"] == "достоверно").sum())),
                     "Причины": "; ".join(sorted(set(x["reason_ru"].dropna().astype(str)))),
                     "Показатели": "; ".join(uniq[:4]) + (f" и ещё {len(uniq) - 4}" if len(uniq) > 4 else "")})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["Школа", "Логин"]).reset_index(drop=True)


def recommendations_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                          municipality: str | None = None, per_school: int | None = None) -> pd.DataFrame:
    """Addressed recommendations of the management cycle (``recommendations``): schools by name, each
    school's in compute's order (``rank``).

    ``per_school`` keeps the first recommendations of each school (the rest are counted
    in a last line per school: every one is in the school's own report)."""
    r = data.table("recommendations")
    if r.empty:
        return pd.DataFrame()
    if school_id is not None and municipality is None and per_school is None:
        rows = school_recommendation_rows(data, year, school_id, system=system)
        return pd.DataFrame(rows) if rows else pd.DataFrame()
    r = r[r["year"] == year].assign(school_id=lambda x: x["school_id"].astype(str))
    if school_id is not None:
        r = r[r["school_id"] == school_id]
    if municipality is not None:
        r = r[r["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
    if system is not None:
        r = r[r["system"] == system]
    if r.empty:
        return pd.DataFrame()
    names = names_by_id(data)
    r = r.assign(_name=r["school_id"].map(names).fillna(r["school_id"]).astype(str))
    r = r.sort_values(["_name", "school_id", "rank"], kind="stable")
    rows = []
    for sid, x in r.groupby("school_id", sort=False):
        shown = x if per_school is None else x.head(per_school)
        for _, y in shown.iterrows():
            row = {}
            if school_id is None:
                row["Школа"] = y["_name"]
            rows.append(_recommendation_row(row, y, system))
        if per_school is not None and len(x) > per_school:
            row = {"Рекомендация": f"…и ещё {len(x) - per_school} (см. отчёт школы)", "Адресат": ""}
            if school_id is None:
                row = {"Школа": x["_name"].iloc[0], **row}
            if system is None:
                row["Система"] = ""
            rows.append(row)
    return pd.DataFrame(rows)


def _recommendation_row(row: dict, y, system: int | None) -> dict:
    """A row of :func:`recommendations_table` after its school (``y``: the recommendation's row or record)."""
    if system is None:
        row["Система"] = str(int(y["system"])) if pd.notna(y["system"]) else "—"
    row["Рекомендация"] = y["text_ru"] if pd.notna(y["text_ru"]) else "—"
    row["Адресат"] = y["addressee"] if pd.notna(y["addressee"]) else "—"
    return row


def school_recommendation_rows(data: ReportData, year: int, school_id: str, *, system: int | None = None) -> list[dict]:
    """The rows of ``recommendations_table(data, year, school_id=school_id, system=system)``, in compute's order,
    from the school's rows (positions indexed once per load) and their records: a scan of the year, a sort by
    name, a groupby and ``iterrows`` per school cost ~5 ms."""
    from msoko.report.common import records

    r = data.table("recommendations")
    if r.empty:
        return []
    x = year_school_rows(data, "recommendations", year, school_id)
    if system is not None:
        x = x[x["system"] == system]
    if x.empty:
        return []
    x = x.sort_values("rank", kind="stable")   # one school: the table's order by name, login, rank
    cols = [c for c in ("system", "text_ru", "addressee") if c in x]
    return [_recommendation_row({}, y, system) for y in records(x, cols)]


def measures_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                   municipality: str | None = None) -> pd.DataFrame:
    """Measures and management decisions recorded for a year, with their deadline and status — compute's
    ``effectiveness`` rows (one per measure of the template ``measures``); «просрочено» as compute judged it."""
    m = data.table("effectiveness")
    if m.empty:
        return pd.DataFrame()
    m = (year_school_rows(data, "effectiveness", year, school_id) if school_id is not None
         else m[m["year"] == year]).copy()
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
    names = names_by_id(data)

    def col(name):
        return m[name] if name in m else pd.Series(None, index=m.index, dtype=object)

    deadline = pd.to_datetime(col("deadline"), errors="coerce")
    overdue = col("overdue").fillna(False).astype(bool)
    status = col("status").fillna("запланировано").astype(str)
    out = pd.DataFrame({"Школа": m["school_id"].map(names).fillna(m["school_id"]),
                        "Показатель": m["indicator"].map(lambda x: indicator_meta(data, x)["name"]),
                        "Мера": m["measure"],
                        "Управленческое решение": col("decision"),
                        "Ответственный": col("responsible"),
                        "Срок": deadline.dt.strftime("%d.%m.%Y").where(deadline.notna(), None),
                        "Статус": [f"{s} — просрочено" if o else s for s, o in zip(status, overdue)]})
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True).fillna("—")


def overdue_measures(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                     municipality: str | None = None) -> pd.DataFrame:
    """Measures of ``year`` and earlier that compute judged overdue (deadline passed, not «выполнено»)."""
    eff = data.table("effectiveness")
    years = sorted({int(y) for y in eff["year"]}) if "year" in eff else []
    frames = []
    for y in (y for y in years if y <= year):
        f = measures_table(data, y, school_id=school_id, system=system, municipality=municipality)
        if not f.empty:
            frames.append(f.assign(Год=y))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[out["Статус"].str.endswith("просрочено")].reset_index(drop=True)


def effectiveness_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                        municipality: str | None = None) -> pd.DataFrame:
    """Did the measures of ``year − 1`` move their indicator? Before / after, the change with its interval
    and the verdict — as the management cycle wrote them (``effectiveness``)."""
    e = data.table("effectiveness")
    if e.empty:
        return pd.DataFrame()
    names = names_by_id(data)
    # a measure of year Y is judged by Y + 1: the report of ``year`` shows the measures of year − 1
    e = (year_school_rows(data, "effectiveness", year - 1, school_id) if school_id is not None
         else e[e["year"] == year - 1]).assign(school_id=lambda x: x["school_id"].astype(str))
    if school_id is not None:
        e = e[e["school_id"] == school_id]
    if system is not None:
        e = e[e["system"] == system]
    if municipality is not None:
        e = e[e["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
    if e.empty:
        return pd.DataFrame()
    unit = e["indicator"].map(lambda c: indicator_meta(data, c)["unit"])

    def value(v, u):
        return fmt(float(v)) + (f" {u}" if u else "") if pd.notna(v) else "—"

    def change(r):
        if pd.isna(r["change"]):
            return "—"
        s_ = ("+" if r["change"] >= 0 else "−") + fmt(abs(float(r["change"])))
        if pd.notna(r["change_ci_low"]) and pd.notna(r["change_ci_high"]):
            s_ += f" [{fmt(float(r['change_ci_low']))}; {fmt(float(r['change_ci_high']))}]"
        return s_

    out = pd.DataFrame({
        "Школа": e["school_id"].map(names).fillna(e["school_id"]),
        "Показатель": e["name_ru"].fillna(e["indicator"]),
        "Мера": e["measure"],
        f"Было ({year - 1})": [value(v, u) for v, u in zip(e["value_before"], unit)],
        f"Стало ({year})": [value(v, u) for v, u in zip(e["value_after"], unit)],
        "Изменение [95 % ДИ]": [change(r) for _, r in e.iterrows()],
        "Вывод": e["verdict"].fillna("—"),
    })
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True)


# ======================================================================================
