"""The municipal report, one function per section; each returns a :class:`~msoko.report.section.Section`.

The report reads as the annual доклад «О состоянии системы образования» does: a first screen
(:func:`show_municipal_summary` — key messages, the network at a glance, the schools that need
support and why, the systems at a glance), the conclusions and the tasks for next year per system
(:func:`show_municipal_conclusions`), one short chapter per system (:func:`show_municipal_system`)
and the detailed per-school tables in the appendices (:func:`show_municipal_appendix`).

Facts about an institution (its ШНОР/ШНСУ status, risk profile, objectivity signs) are shown with the
school's name: they are not personal data. Schools are listed by name, never ranked.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from msoko.config import section
from msoko.vocabulary import SYSTEM_NAMES, SYSTEM_SHORT
from msoko.report.fmt import GROUP_MUNI, _plural
from msoko.report.fmt import esc, fmt, html_heading, html_para, html_sentences, plain, source_words
from msoko.report.data import ReportData, names_by_id, suppress_below
from msoko.report.indicators import (
    _headline_order, catalogue_for, goals_table, indicator_meta,
    measures_table, overdue_measures, municipal_findings, recommendations_table, school_comparison_table, system_goal,
)
from msoko.report.vpr import mkdo_areas
from msoko.report import municipalities as MU
from msoko.report.common import _show_effectiveness, _vpr_source, latest_effectiveness, records

from msoko.report.section import Section
from msoko.seasons import season_note



OLYMPIAD_STAGES = ("школьный", "муниципальный", "региональный", "заключительный")
OLYMPIAD_CODES = ("olymp_stage_participants", "olymp_awardees", "olymp_awardee_share")
LEAVER_CODES = ("leavers_to_grade10", "leavers_to_spo", "leavers_to_vuz", "leavers_to_work", "leavers_not_placed",
                "leavers_profile_match", "gia_no_attestat")
# indicators broken down by an item (stage, area, task, level): read from indicators.parquet directly
ITEM_CODES = OLYMPIAD_CODES + ("mkdo_area_score", "vpr_task_completion", "vpr_level_completion")

APPENDIX = "в приложении"


# ======================================================================================
# small helpers
# ======================================================================================

def ru_name(name: str) -> str:
    """An indicator's name for a reader: the catalogue's shorthand («ВПР vs журнал», «<», «>») in words."""
    s = str(name)
    s = s.replace("ВПР vs журнал: ", "ВПР в сравнении с журналом: ")
    s = s.replace(" < ", " ниже ").replace(" > ", " выше ").replace("отметка ВПР = отметке", "отметка ВПР равна отметке")
    return s


# a fact about one institution, read for the municipality: the share of institutions
MUNICIPAL_NAMES = {
    "shnor_flag": "Доля школ с низкими образовательными результатами (ШНОР)",
    "shnsu_flag": "Доля школ в неблагоприятных социальных условиях (ШНСУ)",
    "risk_profile_high": "Доля школ с высоким рисковым профилем «500+»",
    "principal_mgmt_training": "Доля руководителей, прошедших обучение по управлению за последние 3 года",
    "principal_reserve": "Доля ОО со сформированным кадровым резервом руководителей",
    "upbr_programme_approved": "Доля школ с утверждённой рабочей программой воспитания",
    "risk_factors_count": "Среднее число факторов риска «500+» у школы",
}


def muni_name(code: str, name: str) -> str:
    """An indicator's name where the value is the municipality's (the share of schools for a fact)."""
    return MUNICIPAL_NAMES.get(str(code), ru_name(name))


def _config_value(config: dict, name: str):
    """A parameter of the municipal configuration by its name, wherever it sits (first match)."""
    def walk(d):
        if isinstance(d, dict):
            if name in d and not isinstance(d[name], (dict, list)):
                return d[name]
            for k in ("default", *d.keys()):
                v = walk(d.get(k)) if k in d else None
                if v is not None:
                    return v
        return None
    return walk(config)


def formula_words(data: ReportData, text) -> str:
    """A catalogue formula for a reader: configuration parameters replaced by their values, the
    configuration's section names by «муниципальная конфигурация»."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return "—"
    s = str(text)
    s = re.sub(r"\s*\(flag\)", "", s)
    s = re.sub(r"конфигураци(я|и) \[[\w.]+\]",
               lambda m: ("муниципальная конфигурация" if m.group(1) == "я" else "муниципальной конфигурации"), s)
    s = re.sub(r"(порог\w*|веса) — \[[\w.]+\]", r"\1 — в муниципальной конфигурации", s)
    s = re.sub(r"по порогу \[[\w.]+\]", "по порогу муниципальной конфигурации", s)

    def value(m: re.Match) -> str:
        v = _config_value(data.config, m.group(0))
        return fmt(v, 0) if isinstance(v, (int, float)) and not isinstance(v, bool) else "заданного порога"
    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", value, s)


def indicator_label(data: ReportData, code: str) -> str:
    return ru_name(indicator_meta(data, code)["name"])


def sources_ru(source) -> str:
    return source_words(source) or "—"


def _count(n: int, one: str, few: str, many: str) -> str:
    return f"{fmt(int(n))} {_plural(int(n), one, few, many)}"


def _unit_value(v, unit: str) -> str:
    """«42,0 %», «3,1 балла», «9 чел.» (the unit agrees with the number)."""
    if v is None or pd.isna(v):
        return "—"
    if unit == "%":
        return f"{fmt(float(v))} %"
    if unit in ("чел.", "ед."):
        return f"{fmt(int(round(float(v))))} {unit}"
    if unit == "балл":
        return f"{fmt(float(v))} {_plural(float(v), 'балл', 'балла', 'баллов')}"
    if unit.startswith("балл ("):
        return f"{fmt(float(v), 2)} {_plural(float(v), 'балл', 'балла', 'баллов')} {unit[5:]}"
    if unit == "факторов":
        x = float(v)
        return f"{fmt(x)} {_plural(x if not x.is_integer() else int(x), 'фактор', 'фактора', 'факторов')}"
    if unit == "на 1000":
        return f"{fmt(float(v))} на 1000 обучающихся"
    return f"{fmt(float(v))}" + (f" {unit}" if unit else "")


def _num(v, unit: str) -> str:
    """A value without its unit word but with «%»: for table cells under a «Ед.» column."""
    if v is None or pd.isna(v):
        return "—"
    if unit in ("чел.", "ед."):
        return fmt(int(round(float(v))))
    return fmt(float(v), 2 if str(unit).startswith("балл (") else 1)


def _key(v) -> str:
    """A grade or subject as a key: '' for none, 9 and 9.0 alike."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (int, float)) or hasattr(v, "is_integer"):
        try:
            return str(int(v)) if float(v).is_integer() else str(v)
        except (TypeError, ValueError):
            return str(v)
    return str(v)


def _rows_by_key(data: ReportData, level: str, unit: str) -> dict:
    """Row positions in ``indicators`` of one ``level`` and unit (a municipality or a school) by (year, indicator,
    level, unit, grade, subject), the first row of a key; built once per load and unit, when first asked (an index
    of the whole table cost ~0.1 s a load, for a few dozen look-ups)."""
    def build() -> dict:
        ind = data.indicators
        if ind.empty:
            return {}
        pos = np.flatnonzero(((ind["level"].astype(str) == level) & (ind["school_id"].astype(str) == unit)).to_numpy(bool))
        d = ind.iloc[pos]
        keys = zip(d["year"].astype(int).tolist(), d["indicator"].astype(str).tolist(),
                   d["level"].astype(str).tolist(), d["school_id"].astype(str).tolist(),
                   map(_key, d["grade"].tolist()), map(_key, d["subject"].tolist()))
        out: dict = {}
        for i, k in zip(pos.tolist(), keys):
            out.setdefault(k, i)
        return out
    return data.memo(("_municipality_rows_by_key", str(level), str(unit)), build)


def _row(data: ReportData, level: str, unit: str, year: int, code: str, grade=None, subject=None) -> dict | None:
    i = _rows_by_key(data, level, str(unit)).get((int(year), str(code), level, str(unit), _key(grade), _key(subject)))
    if i is None:
        return None
    r = data.indicators.iloc[i]
    return None if pd.isna(r["value"]) else r.to_dict()


def muni_row(data: ReportData, municipality: str, year: int, code: str, grade=None, subject=None) -> dict | None:
    """The municipality's row of ``indicators.parquet`` for one indicator (None when not computed)."""
    return _row(data, "municipality", municipality, year, code, grade, subject)


def muni_value(data: ReportData, municipality: str, year: int, code: str, grade=None, subject=None) -> float:
    r = muni_row(data, municipality, year, code, grade, subject)
    return math.nan if r is None else float(r["value"])


def _item_rows(data: ReportData, municipality: str) -> pd.DataFrame:
    """Municipal rows of the indicators broken down by an item (stage, area, task, level)."""
    def build() -> pd.DataFrame:
        it = data.indicator_items
        if it is None or it.empty:
            return pd.DataFrame(columns=["year", "indicator", "grade", "subject", "item", "value", "n"])
        d = it[(it["level"] == "municipality") & (it["school_id"].astype(str) == municipality)
               & it["indicator"].isin(ITEM_CODES)]
        return d.reset_index(drop=True)
    return data.memo(("_muni_item_rows", municipality), build)


def _ids(data: ReportData, municipality: str, *, preschool: bool | None = False) -> list[str]:
    """The municipality's organisations; those compute does not count as its schools (another region, not a
    school: ``org_scope.parquet``) are left out. Once per load and municipality (a new list each call)."""
    def build() -> list[str]:
        s = data.schools[data.schools["municipality"] == municipality]
        s = s[~s["school_id"].astype(str).isin(MU.not_counted(data))]
        if preschool is not None:
            pre = s.get("is_preschool", pd.Series(False, index=s.index)).fillna(False).astype(bool)
            s = s[pre] if preschool else s[~pre]
        return sorted(s["school_id"].astype(str))
    return list(data.memo(("_muni_ids", municipality, preschool), build))


def _muni_rows(data: ReportData, municipality: str) -> pd.DataFrame:
    """The municipality's own rows of ``indicators`` (level «municipality», every year), in table order, once
    per load: the report's tables filter these ~10³ rows instead of the whole table (~10⁴–10⁵ rows)."""
    def build() -> pd.DataFrame:
        ind = data.indicators
        return ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality)]
    return data.memo(("_muni_rows", municipality), build)


def _school_overall_codes(data: ReportData, year: int) -> set:
    """The indicators some school has an overall row of (grade and subject null) in ``year``."""
    def build() -> set:
        ind = data.indicators
        return set(ind.loc[(ind["year"] == year) & (ind["level"] == "school") & ind["grade"].isna()
                           & ind["subject"].isna(), "indicator"])
    return data.memo(("_school_overall_codes", int(year)), build)


def _memo_call(data: ReportData, fn, *args, **kw):
    """``fn(data, *args, **kw)`` once per load and arguments: a section and its appendix (or the summary and
    the conclusions) ask for the same table; the frame is shared — read it, never modify it."""
    return data.memo(("_muni_call", fn.__module__, fn.__name__, args, tuple(sorted(kw.items()))),
                     lambda: fn(data, *args, **kw))


def _monitoring(data: ReportData, municipality: str, year: int, system: int | None = None) -> pd.DataFrame:
    """The municipality's rows of ``cycle_monitoring`` for ``year`` (one ``system``'s), once per load."""
    m = data.table("cycle_monitoring")
    if m.empty:
        return m
    m = data.memo(("_muni_monitoring", municipality, int(year), None), lambda: m[
        (m["year"] == year) & (m["municipality"].astype(str) == municipality)])
    if system is not None:
        m = data.memo(("_muni_monitoring", municipality, int(year), int(system)), lambda: m[m["system"] == system])
    return m


def _status(data: ReportData, municipality: str, year: int, system: int, topic: str = "system") -> dict | None:
    """compute's verdict on whether a system (or a named count) was assessed (``system_status``); None
    when the processed folder has no such table (then the report renders as before)."""
    st = data.table("system_status")
    if st.empty:
        return None
    return _status_index(data, municipality).get((int(year), str(municipality), int(system), str(topic)))


def _status_index(data: ReportData, municipality: str) -> dict:
    """The municipality's ``system_status`` rows as dicts by (year, municipality, system, topic), the first row of
    a key (as ``x.iloc[0].to_dict()`` of the filter), once per load and municipality."""
    def build() -> dict:
        st = data.table("system_status")
        out: dict = {}
        keep = st[st["year"].notna() & (st["municipality"].astype(str) == str(municipality)) & st["system"].notna()
                  & st["topic"].notna()]
        for k, r in zip(zip(keep["year"].astype(int).tolist(), keep["municipality"].astype(str).tolist(),
                            keep["system"].astype(int).tolist(), keep["topic"].astype(str).tolist()),
                        records(keep)):
            out.setdefault(k, r)
        return out
    return data.memo(("_muni_status_index", municipality), build)


def _not_assessed(data: ReportData, municipality: str, year: int, system: int, topic: str = "system") -> str:
    """«не оценивалось: нет данных (…)» when compute says so; "" when assessed or unknown."""
    st = _status(data, municipality, year, system, topic)
    return str(st["text_ru"]) if st is not None and not bool(st["assessed"]) else ""


def _unassessed_counts(data: ReportData, municipality: str, year: int) -> list[str]:
    """The named counts of system 2 that were not assessed, each with its reason."""
    return [t for topic in ("shnor", "shnsu", "risk_profile") if (t := _not_assessed(data, municipality, year, 2, topic))]


def _target_split(tg: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows with a target: (met, missed, not reliably different) — compute's ``target_status``."""
    st = tg["target_status"] if "target_status" in tg.columns else tg["target_met"].map(
        {True: "достигнуто", False: "не достигнуто"})
    return (tg[st == "достигнуто"], tg[st == "не достигнуто"],
            tg[st == "не отличается от цели достоверно"])


def _monitoring_parts(data: ReportData, municipality: str, year: int, system: int | None) -> dict:
    """The monitoring rows with a value (``m``), those with a target (``tg``) and their records: all (``recs``),
    met, missed, not reliably different (:func:`_target_split`) — once per load: the summary, the overview and the
    conclusions read the same rows."""
    def build() -> dict:
        m = _monitoring(data, municipality, year, system)
        m = m[m["value"].notna()] if not m.empty else m
        if m.empty:
            return {"m": m, "tg": m, "recs": [], "met": [], "miss": [], "unclear": [], "missed": set()}
        tg = m[m["target"].notna()]
        met, miss, unclear = _target_split(tg)
        return {"m": m, "tg": tg, "recs": records(m), "met": records(met), "miss": records(miss),
                "unclear": records(unclear), "missed": set(miss["indicator"])}
    return data.memo(("_muni_monitoring_parts", municipality, int(year), None if system is None else int(system)), build)


def _target_item(r) -> str:
    return (f"«{muni_name(r['indicator'], r['name_ru'])}» — {_unit_value(r['value'], r['unit'])} "
            f"при цели {_unit_value(r['target'], r['unit'])}")


def _changed(r, better: bool) -> bool:
    """The change interval excludes zero on the better (or worse) side."""
    lo, hi, d = r.get("change_ci_low"), r.get("change_ci_high"), r.get("direction")
    if pd.isna(lo) or pd.isna(hi) or d not in ("higher", "lower"):
        return False
    up, down = lo > 0, hi < 0
    good = up if d == "higher" else down
    bad = down if d == "higher" else up
    return good if better else bad


def _list(items: list[str], k: int = 3) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= k:
        return "; ".join(items)
    return "; ".join(items[:k]) + f" и ещё {len(items) - k}"


# ======================================================================================
# the first screen
# ======================================================================================

def municipal_at_glance(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """The network, the contingent and the staff at a glance: «Характеристика / Значение / Пояснение»."""
    sch = data.schools[data.schools["municipality"] == municipality]
    ids, dous = _ids(data, municipality), _ids(data, municipality, preschool=True)
    rows = []
    st = sch[sch["school_id"].isin(ids)]["settlement_type"].astype("string").fillna("не указан").value_counts()
    rows.append(("Общеобразовательных организаций", fmt(len(ids)),
                 ", ".join(f"{k} — {fmt(int(v))}" for k, v in st.items())))
    pre = data.table("preschool")
    note = ""
    if dous and not pre.empty and "dou_id" in pre:
        p = pre[(pre["year"] == year) & pre["dou_id"].astype(str).isin(dous)]
        if len(p):
            kids = int(p.get("enrolled_3_7", 0).sum() + p.get("enrolled_0_3", 0).sum())
            note = f"воспитанников {fmt(kids)}, мест {fmt(int(p['places'].sum()))}" if "places" in p else \
                f"воспитанников {fmt(kids)}"
    no_dou = _not_assessed(data, municipality, year, 8, "preschool")
    rows.append(("Дошкольных организаций", "не оценивалось", no_dou.removeprefix("не оценивалось: ")) if no_dou
                else ("Дошкольных организаций", fmt(len(dous)), note))
    cont = data.table("contingent")
    if not cont.empty and {"year", "school_id", "students"} <= set(cont):
        c = cont[cont["school_id"].astype(str).isin(ids)]
        now, before = int(c.loc[c["year"] == year, "students"].sum()), int(c.loc[c["year"] == year - 1, "students"].sum())
        if now:
            parts = []
            if "students_ovz" in c:
                ovz = int(c.loc[c["year"] == year, "students_ovz"].sum())
                parts.append(f"с ОВЗ — {fmt(ovz)} ({fmt(100 * ovz / now)} %)")
            if before:
                parts.append(f"в {year - 1} году — {fmt(before)}")
            rows.append(("Обучающихся в школах", fmt(now), "; ".join(parts)))
    n = _count_rows(data, "teachers", year, ids)
    if n is not None:
        if n:
            parts = []
            for code, label in (("teachers_top_category", "с высшей и первой категорией"),
                                ("teachers_young", "моложе 35 лет"), ("teachers_60plus", "60 лет и старше"),
                                ("teachers_kpk3", "прошли КПК за 3 года")):
                v = muni_value(data, municipality, year, code)
                if not pd.isna(v):
                    parts.append(f"{label} — {fmt(v)} %")
            rows.append(("Педагогов в школах", fmt(n), "; ".join(parts)))
    v = muni_value(data, municipality, year, "teacher_vacancies")
    if not pd.isna(v):
        rows.append(("Вакансии педагогов (незакрытые ставки)", fmt(int(round(v))), ""))
    g9 = muni_row(data, municipality, year, "leavers_to_grade10", grade=9)
    g11 = muni_row(data, municipality, year, "leavers_to_vuz", grade=11)
    if g9 or g11:
        parts = []
        if g9:
            parts.append(f"9 классов — {fmt(int(g9['denominator']))}")
        if g11:
            parts.append(f"11 классов — {fmt(int(g11['denominator']))}")
        total = sum(int(r["denominator"]) for r in (g9, g11) if r)
        rows.append(("Выпускников", fmt(total), "; ".join(parts)))
    counts = data.table("vpr_score_counts")
    if not counts.empty:
        # participants of each school × work (compute's vpr_score_counts), summed over the schools
        c = counts[(counts["year"] == int(year)) & (counts["level"] == "school") & counts["school_id"].isin(ids)]
        if len(c):
            written = int(c.groupby(["school_id", "grade", "subject"])["n"].first().sum())
            rows.append((f"Работ ВПР в {year} году (писавшие)", fmt(written), ""))
    for code, label in (("shnor_flag", "Школ с низкими результатами (ШНОР)"),
                        ("shnsu_flag", "Школ в неблагоприятных социальных условиях (ШНСУ)"),
                        ("risk_profile_high", "Школ с высоким рисковым профилем «500+»")):
        r = muni_row(data, municipality, year, code)
        if r and pd.notna(r.get("numerator")):
            r0 = muni_row(data, municipality, year - 1, code)
            prev = f"в {year - 1} году — {fmt(int(r0['numerator']))}" if r0 and pd.notna(r0.get("numerator")) else ""
            rows.append((label, f"{fmt(int(r['numerator']))} из {fmt(int(r['denominator']))}", prev))
    line = MU.objectivity_line(data, municipality, year)   # the municipality's own index (compute)
    if line is not None:
        rows.append(("Показатель объективности оценки (ФИОКО)", *line))
    v = muni_value(data, municipality, year, "preschool_availability_3_7")
    if not pd.isna(v):
        rows.append(("Доступность дошкольного образования для детей 3–7 лет", f"{fmt(v)} %", ""))
    return pd.DataFrame(rows, columns=["Характеристика", "Значение", "Пояснение"])


def _count_rows(data: ReportData, name: str, year: int, ids) -> int | None:
    """Rows of a table of the whole region (``teachers``: a row per teacher) of ``year`` and the schools ``ids``,
    counted in Arrow from its two columns: the table is not read into pandas for one municipality's count
    (~0.1 s a report on a 600-school region). None when the table or its columns are absent (as an empty
    ``data.table(name)`` was)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if name in data.tables:   # already read whole: count there
        t = data.tables[name]
        if t.empty or not {"year", "school_id"} <= set(t):
            return None
        return int(((t["year"] == year) & t["school_id"].astype(str).isin(ids)).sum())
    path = data.processed_dir / f"{name}.parquet"
    if not path.exists():
        return None
    if not {"year", "school_id"} <= set(pq.read_schema(path).names):
        return None
    t = pq.read_table(path, columns=["year", "school_id"])
    if t.num_rows == 0:
        return None
    sid = t["school_id"]
    if not pa.types.is_string(sid.type) and not pa.types.is_large_string(sid.type):
        # as ``astype(str)`` writes them
        sid = pa.chunked_array([pa.array(pd.Series(sid.to_pandas()).astype(str).tolist(), pa.string())])
    mine = pc.and_(pc.equal(t["year"], pa.scalar(int(year), t["year"].type)) if pa.types.is_integer(t["year"].type)
                   else pc.equal(t["year"], float(year)),
                   pc.is_in(sid, value_set=pa.array(sorted(ids), sid.type)))
    return int(pc.sum(pc.fill_null(mine, False)).as_py() or 0)


def _of(n: int, one_gen: str, many_gen: str) -> str:
    """The noun after «из N»: «из 21 процедуры», «из 25 процедур»."""
    n = abs(int(n))
    return one_gen if n % 10 == 1 and n % 100 != 11 else many_gen


def _shnor_low_share(data: ReportData, year: int) -> float:
    """The ШНОР threshold «share of results below «3»» of the year, from the configuration compute used."""
    return float((section(data.config, "shnor", year) or {}).get("low_share", 30.0))


def _shnor_reason(r, detail: bool = True) -> str:
    """Why a school is ШНОР: compute's ``reason`` (shnor_list.parquet) in full; on the first screen
    (``detail=False``) only its counts."""
    if detail:
        reason = r.get("reason")
        return str(reason) if isinstance(reason, str) and reason.strip() else "по региональным критериям"
    k, n = r.get("low_procedures"), r.get("procedures")
    rep = r.get("repeated")
    rep = [x.strip() for x in rep.split(";") if x.strip()] if isinstance(rep, str) else []
    where = [x.strip() for x in str(r.get("low_list") or "").split(";") if x.strip()] or rep
    if not detail:
        if bool(r.get("by_count")) and pd.notna(k) and pd.notna(n):
            out = f"{fmt(int(k))} из {fmt(int(n))} {_of(int(n), 'процедуры', 'процедур')}"
            return out + (f", {fmt(len(rep))} — два года подряд" if rep else "")
        return f"{_count(len(rep), 'процедура', 'процедуры', 'процедур')} два года подряд" if rep else "по критериям"
    if isinstance(r.get("reason"), str) and r["reason"]:  # compute's reason: units, shares, intervals, n
        return r["reason"].split(": ", 1)[1] if r["reason"].startswith("ШНОР по") else r["reason"]
    if bool(r.get("by_count")) and pd.notna(k) and pd.notna(n):
        out = f"{fmt(int(k))} из {fmt(int(n))} {_of(int(n), 'процедуры', 'процедур')}"
        return out + (f", {fmt(len(rep))} — два года подряд" if rep else "")
    return f"{_count(len(rep), 'процедура', 'процедуры', 'процедур')} два года подряд" if rep else "по критериям"


def shnor_criteria_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """What the ШНОР rule does in this municipality: the schools by the number of their low units (0, 1, 2,
    3 and more; not assessed), how many of them the rule lists and by which criterion (compute's
    ``shnor_list``: ``low_procedures``, ``by_count``, ``repeated``, ``criteria_met``)."""
    sl = data.table("shnor_list")
    if sl.empty or not {"year", "school_id", "shnor", "low_procedures"} <= set(sl):
        return pd.DataFrame()
    ids = set(_ids(data, municipality))
    sl = sl[(sl["year"] == year) & sl["school_id"].astype(str).isin(ids)]
    if sl.empty:
        return pd.DataFrame()
    assessed = sl["assessed"].fillna(False).astype(bool) if "assessed" in sl else pd.Series(True, index=sl.index)
    k = sl["low_procedures"].fillna(0).astype(int)
    groups = [("ни одной", assessed & (k == 0)), ("одна", assessed & (k == 1)), ("две", assessed & (k == 2)),
              ("три и более", assessed & (k >= 3)), ("не оценивались (нет процедур нужного размера)", ~assessed)]
    crit = sl["criteria_met"].fillna(0).astype(int) if "criteria_met" in sl else pd.Series(0, index=sl.index)
    rep = sl["repeated"].notna() if "repeated" in sl else pd.Series(False, index=sl.index)
    shnor = sl["shnor"].fillna(False).astype(bool)
    rows = []
    for label, m in groups:
        if label.startswith("не оценивались") and not m.any():
            continue
        rows.append({"Процедур с низким результатом": label, "Школ": fmt(int(m.sum())),
                     "Из них ШНОР": fmt(int((m & shnor).sum())),
                     "в т. ч. по правилу «два года подряд»": fmt(int((m & rep).sum())),
                     "выполнены оба критерия": fmt(int((m & (crit >= 2)).sum()))})
    return pd.DataFrame(rows)


def _shnor_rule_note(data: ReportData) -> str:
    """The rule in one sentence, from the configuration (``[shnor.default]``)."""
    cfg = (data.config.get("shnor", {}) or {}).get("default", {}) or {}
    thr = fmt(float(cfg.get("low_share", 30)), 0)
    mp, cy, mn = int(cfg.get("min_procedures", 2)), int(cfg.get("consecutive_years", 2)), int(cfg.get("min_participants", 20))
    sure = " по нижней границе 95 % интервала доли" if cfg.get("require_interval", True) else ""
    return (f"Правило ШНОР (критерии региона): не менее {thr} % результатов ниже «3»{sure} в {fmt(mp)} и более "
            f"процедурах или в одной процедуре {fmt(cy)} {_plural(cy, 'год', 'года', 'лет')} подряд (ВПР — только "
            f"работы одного сезона: осенние ВПР 2020 года не сравниваются с весенними). Процедура — предмет ВПР по "
            f"всем классам вместе или предмет ОГЭ, не менее {fmt(mn)} участников.")


# short names of the «500+» risk factors (the first screen); the full ones are in the configuration
FACTOR_SHORT = {
    "low_equipment": "оснащение", "teacher_shortage": "дефицит кадров", "low_competence": "компетенции педагогов",
    "failure_risk": "риски неуспешности", "high_ovz": "доля ОВЗ", "low_parent_involvement": "вовлечённость родителей",
    "low_motivation": "учебная мотивация", "weak_climate": "школьный климат",
}


OBJECTIVITY_COLUMN = "Объективность (план работы)"


def _objectivity_reasons(data: ReportData, year: int, detail: bool = True) -> dict[str, str]:
    """Schools of the plan of work with measures (``objectivity_plan.parquet``, tiers 1–2) → the tier
    and the measures, with the plan's reasons in the detailed list. An official sign that msoko's
    evidence does not confirm (tier 3, self-check) is not a reason for support."""
    from msoko.report.signs import plan_rows

    p = plan_rows(data, year)
    if p.empty:
        return {}
    p = p[p["tier"] <= 2]
    return {str(r["school_id"]): (f"уровень {int(r['tier'])}: {r['measures']}"
                                  + (f" — {plain(r['reasons'])}" if detail else f" ({r['works']})"))
            for r in records(p)}


def plan_tier_counts(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """Schools of the municipality per tier of the plan of work, as compute counted them
    (``municipalities_summary``, msoko.municipalities.plan_by_unit)."""
    from msoko.report.signs import TIER_NAMES, plan_counts

    pc = plan_counts(data, year, municipality)
    if pc is None or not pc["plan_assessed"]:
        return pd.DataFrame()
    notes = int(pc.get("plan_notes", 0) or 0)
    return pd.DataFrame([{"Уровень плана работы": TIER_NAMES[t], "Школ": fmt(int(pc[f"plan_tier{t}"]))}
                         for t in (1, 2, 3)]
                        + [{"Уровень плана работы": "вне плана, для сведения: признаки не подтвердились на уровне "
                                                    "школы" + (f" (из них только официальные — "
                                                               f"{fmt(int(pc['plan_official_only']))})" if notes else ""),
                            "Школ": fmt(notes)},
                           {"Уровень плана работы": "оценено школ", "Школ": fmt(int(pc["plan_assessed"]))}])


def support_table(data: ReportData, municipality: str, year: int, *, detail: bool = False) -> pd.DataFrame:
    """The schools that need support and why, one row per school, sorted by name: ШНОР (the procedures
    below the threshold), ШНСУ (the context index), the risk profile «500+» (its factors), objectivity
    (the official signs or the combined judgement). A fact about a school is shown, not suppressed.
    Once per load (the summary, the key messages, the conclusions ask for it): read it, never modify it."""
    return data.memo(("_muni_support", municipality, int(year), bool(detail)),
                     lambda: _support_table(data, municipality, year, detail=detail))


def _support_table(data: ReportData, municipality: str, year: int, *, detail: bool = False) -> pd.DataFrame:
    ids = set(_ids(data, municipality))
    reasons: dict[str, dict[str, str]] = {}

    def put(sid, col, text):
        if sid in ids:
            reasons.setdefault(sid, {})[col] = text

    sl = data.table("shnor_list")
    if not sl.empty and {"year", "school_id", "shnor"} <= set(sl):
        # the municipality's schools only (put() keeps no other): the table is the whole region's
        for _, r in sl[(sl["year"] == year) & sl["shnor"].fillna(False).astype(bool)
                       & sl["school_id"].astype(str).isin(ids)].iterrows():
            put(str(r["school_id"]), "ШНОР", _shnor_reason(r, detail))
    ind = data.indicators
    thr = float((data.config.get("context_index", {}) or {}).get("shnsu_threshold", 50.0))
    cm = data.table("context_metrics")
    cm = cm[cm["year"] == year].assign(school_id=lambda x: x["school_id"].astype(str)).set_index("school_id") \
        if not cm.empty and "year" in cm else pd.DataFrame()
    if not ind.empty:
        d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["indicator"] == "shnsu_flag")
                & ind["grade"].isna() & ind["subject"].isna() & (ind["value"] > 0)]
        for sid in d["school_id"].astype(str):
            ci = muni_school_value(data, sid, year, "context_index")
            why = [f"индекс контекста {fmt(ci)} при пороге {fmt(thr, 0)}"] if not pd.isna(ci) else []
            if sid in cm.index and detail:
                c = cm.loc[sid]
                if isinstance(c.get("settlement_type"), str):
                    why.append(c["settlement_type"])
                for col, label in (("ovz_share", "обучающихся с ОВЗ"), ("families_at_risk_share", "семей группы риска"),
                                   ("vacancy_rate", "вакансий педагогов")):
                    if pd.notna(c.get(col)) and float(c[col]) >= 5:
                        why.append(f"{label} {fmt(float(c[col]), 0)} %")
            put(sid, "ШНСУ", "; ".join(why) or "по индексу контекста")
        hi = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["indicator"] == "risk_profile_high")
                 & ind["grade"].isna() & ind["subject"].isna() & (ind["value"] > 0)]
        rp = data.table("risk_profile")
        if not rp.empty:   # the year's flagged factors once, not a scan of the region's table per school
            rp = rp[(rp["year"] == year) & rp["flagged"].fillna(False).astype(bool)]
            rp_ids = rp["school_id"].astype(str)
        for sid in hi["school_id"].astype(str):
            names = []
            if not rp.empty:
                x = rp[rp_ids == sid]
                names = ([str(n)[:1].lower() + str(n)[1:] for n in x["name"].dropna()] if detail else
                         [FACTOR_SHORT.get(str(f), str(n)) for f, n in zip(x["factor"], x["name"])])
            k = len(names)
            put(sid, "Рисковый профиль «500+»",
                (f"{_count(k, 'фактор', 'фактора', 'факторов')}: " + ("; " if detail else ", ").join(names)) if k else "высокий")
    for sid, text in _objectivity_reasons(data, year, detail).items():
        put(sid, OBJECTIVITY_COLUMN, text)
    cols = ["ШНОР", "ШНСУ", "Рисковый профиль «500+»", OBJECTIVITY_COLUMN]
    if not reasons:
        return pd.DataFrame(columns=["Школа", "Оснований"] + cols)
    names = names_by_id(data)
    rows = []
    for sid, why in reasons.items():
        row = {"Школа": str(names.get(sid, sid)), "Оснований": fmt(len(why))}
        row.update({c: why.get(c, "—") for c in cols})
        rows.append(row)
    out = pd.DataFrame(rows).sort_values("Школа").reset_index(drop=True)
    return out[["Школа", "Оснований"] + [c for c in cols if (out[c] != "—").any()]]


def muni_school_value(data: ReportData, school_id: str, year: int, code: str) -> float:
    r = _row(data, "school", school_id, year, code)
    return math.nan if r is None else float(r["value"])


def confirmed_gaps(data: ReportData, municipality: str, year: int, system: int | None = None) -> pd.DataFrame:
    """Overall indicators on which an organisation is reliably worse both than the municipality and than
    similar schools (the cycle's analysis, both intervals wholly on the worse side): ``system, school_id,
    indicator, name_ru, value, reference``. A confirmed gap, not a difference of one comparison."""
    an = data.table("cycle_analysis")
    cols = ["system", "school_id", "indicator", "name_ru"]
    if an.empty or not {"reason", "certainty", "level"} <= set(an):
        return pd.DataFrame(columns=cols)

    def year_rows() -> pd.DataFrame:
        ids = set(_ids(data, municipality, preschool=None))
        a = an[(an["year"] == year) & (an["level"] == "school") & an["school_id"].astype(str).isin(ids)
               & an["grade"].isna() & an["subject"].isna() & an["certainty"].eq("достоверно")]
        if "item" in a:
            a = a[a["item"].isna()]
        return a

    def build() -> pd.DataFrame:
        a = data.memo(("_muni_gap_rows", municipality, int(year)), year_rows)
        return _gaps(a, cols)
    if system is None:
        return data.memo(("_muni_gaps", municipality, int(year), None), build)

    def by_system() -> dict:
        # every system's gaps in one merge (the system a key of it, as each system's own merge matches
        # only its own rows): the summary, the conclusions, the chapter and the appendix ask for each
        a = data.memo(("_muni_gap_rows", municipality, int(year)), year_rows)
        return _gaps_by_system(a, cols)
    got = data.memo(("_muni_gaps_by_system", municipality, int(year)), by_system).get(system)
    return got if got is not None else data.memo(("_muni_gaps_none", municipality, int(year)), lambda: _gaps(
        data.memo(("_muni_gap_rows", municipality, int(year)), year_rows).iloc[0:0], cols))


def _gaps(a: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Rows of ``a`` (cycle_analysis) below the municipality whose (school, indicator) is also below similar schools."""
    a = a.assign(school_id=a["school_id"].astype(str))
    m = a[a["reason"] == "below_municipality"]
    s = a[a["reason"] == "below_similar"][["school_id", "indicator"]]
    return m.merge(s, on=["school_id", "indicator"])[cols + ["value", "reference"]] \
        .drop_duplicates(["school_id", "indicator"])


def _gaps_by_system(a: pd.DataFrame, cols: list[str]) -> dict:
    """``{system: _gaps(a[a["system"] == system], cols)}`` for every system of ``a`` in one merge, each frame
    with a fresh index (as the merge of that system's rows alone gives it)."""
    a = a.assign(school_id=a["school_id"].astype(str))
    m = a[a["reason"] == "below_municipality"]
    s = a[a["reason"] == "below_similar"][["school_id", "indicator", "system"]]
    g = m.merge(s, on=["school_id", "indicator", "system"])[cols + ["value", "reference"]] \
        .drop_duplicates(["school_id", "indicator", "system"])
    return {k: x.reset_index(drop=True) for k, x in g.groupby("system", sort=False)}


def confirmed_gaps_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """One row per organisation (by name): the indicators of its confirmed gaps."""
    g = confirmed_gaps(data, municipality, year, system)
    if g.empty:
        return pd.DataFrame()
    names = names_by_id(data)
    rows = [{"Организация": str(names.get(sid, sid)),
             "Показатели, по которым отставание подтверждено": "; ".join(sorted(ru_name(n) for n in x["name_ru"].astype(str)))}
            for sid, x in g.groupby("school_id")]
    return pd.DataFrame(rows).sort_values("Организация").reset_index(drop=True)


def systems_overview(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """Per system: indicators computed, targets met of set, reliable changes, schools with reliable
    shortfalls — the eight systems at a glance."""
    rows = []
    for s, name in SYSTEM_NAMES.items():
        # the system's rows of the municipality's year (as ``mon[mon["system"] == s]``), once per load
        parts = _monitoring_parts(data, municipality, year, s)
        m, tg, recs = parts["m"], parts["tg"], parts["recs"]
        met = len(parts["met"])
        better = sum(_changed(r, True) for r in recs)
        worse = sum(_changed(r, False) for r in recs)
        schools = confirmed_gaps(data, municipality, year, s)["school_id"].nunique()
        if (no := _not_assessed(data, municipality, year, s)):
            rows.append({"Система": f"{s}. {SYSTEM_SHORT[s]}", "Показателей": no, "Цели достигнуты": "—",
                         "Достоверно улучшились": "—", "Достоверно ухудшились": "—",
                         "Организаций с подтверждённым отставанием": "—"})
            continue
        st = _status(data, municipality, year, s)
        shown = fmt(len(m)) if st is None else \
            f"{fmt(int(st['indicators_computed']))} из {fmt(int(st['indicators_total']))}"
        rows.append({"Система": f"{s}. {SYSTEM_SHORT[s]}", "Показателей": shown,
                     "Цели достигнуты": f"{fmt(met)} из {fmt(len(tg))}" if len(tg) else "цели не заданы",
                     "Достоверно улучшились": fmt(int(better)), "Достоверно ухудшились": fmt(int(worse)),
                     "Организаций с подтверждённым отставанием": fmt(int(schools))})
    return pd.DataFrame(rows)


def municipal_key_messages(data: ReportData, municipality: str, year: int) -> list[str]:
    """The key messages of the year, in plain Russian sentences."""
    out: list[str] = []
    mon = _monitoring(data, municipality, year)
    if not mon.empty:
        parts = _monitoring_parts(data, municipality, year, None)
        tg, met, miss, unclear = parts["tg"], parts["met"], parts["miss"], parts["unclear"]
        if len(tg):
            s = f"Целевые значения достигнуты по {fmt(len(met))} из {_count(len(tg), 'показателя', 'показателей', 'показателей')}, для которых они заданы"
            if len(miss):
                s += "; не достигнуты (интервал целиком хуже цели): " + _list([_target_item(r) for r in miss], 3)
            if len(unclear):
                s += "; от цели достоверно не отличаются: " + _list([_target_item(r) for r in unclear], 3)
            out.append(s + ".")
        recs = parts["recs"]
        for better, word in ((False, "Достоверно ухудшились за год"), (True, "Достоверно улучшились за год")):
            x = [r for r in recs if _changed(r, better)]
            if x:
                x.sort(key=lambda r: -abs(float(r["change"]) / max(float(r["change_ci_high"] - r["change_ci_low"]), 1e-9)))
                out.append(f"{word}: " + _list([f"«{muni_name(r['indicator'], r['name_ru'])}» ({_unit_value(r['value'] - r['change'], r['unit'])} → "
                                                f"{_unit_value(r['value'], r['unit'])})" for r in x], 3) + ".")
    sup = support_table(data, municipality, year)
    if len(sup):
        parts = []
        for col, label in (("ШНОР", "ШНОР"), ("ШНСУ", "ШНСУ"), ("Рисковый профиль «500+»", "высокий рисковый профиль «500+»"),
                           (OBJECTIVITY_COLUMN, "меры по плану работы по объективности")):
            if col in sup:
                parts.append(f"{label} — {fmt(int((sup[col] != '—').sum()))}")
        multi = int((pd.to_numeric(sup["Оснований"], errors="coerce") >= 2).sum())
        out.append(f"Адресная поддержка нужна {fmt(len(sup))} {_plural(len(sup), 'школе', 'школам', 'школам')} из "
                   f"{fmt(len(_ids(data, municipality)))}: " + ", ".join(parts)
                   + (f"; по двум основаниям и более — {fmt(multi)}" if multi else "") + " (список ниже, с причинами).")
    msg = MU.objectivity_message(data, municipality, year)   # the municipality's own index (compute)
    if msg:
        out.append(msg)
    gia = muni_row(data, municipality, year, "gia_below_min")
    hi = muni_row(data, municipality, year, "ege_80plus", grade=11)
    top = muni_row(data, municipality, year, "ege_100", grade=11)
    if gia or hi:
        parts = []
        if gia:
            parts.append(f"ниже минимального порога — {fmt(gia['value'])} % результатов ГИА")
        if hi:
            parts.append(f"80 баллов и выше на ЕГЭ — {fmt(hi['value'])} % результатов ({fmt(int(hi['numerator']))})")
        if top:
            k = int(round(float(top["value"])))
            parts.append(f"стобалльных результатов — {fmt(k)}")
        out.append("ГИА: " + "; ".join(parts) + ".")
    it = _item_rows(data, municipality)
    if not it.empty:
        a = it[(it["year"] == year) & (it["indicator"] == "olymp_awardees")].set_index("item")["value"]
        parts = [f"{st} этап — {_count(int(a[st]), 'человек', 'человека', 'человек')}" for st in OLYMPIAD_STAGES[1:] if st in a.index]
        if parts:
            out.append("Победители и призёры ВсОШ: " + "; ".join(parts) + ".")
    eff, y = latest_effectiveness(data, year, municipality=municipality)
    if not eff.empty and "Вывод" in eff:
        good = int(eff["Вывод"].astype(str).str.contains("улучшение").sum())
        proven = int((eff["Вывод"] == "достоверное улучшение").sum())
        out.append(f"Из {_count(len(eff), 'меры', 'мер', 'мер')} {y - 1} года, эффект которых оценён к {y} году, "
                   f"доказанное улучшение — {fmt(proven)}" + (f", улучшение без оценки интервала — {fmt(good - proven)}"
                                                               if good > proven else "") + ".")
    return out


def show_municipal_summary(data: ReportData, municipality: str, year: int) -> Section:
    """The first screen: key messages, the network at a glance, the schools that need support and why,
    the eight systems at a glance."""
    sec = Section()
    sec.heading("Главное", 3)
    sec.say(municipal_key_messages(data, municipality, year), empty="Данных за год недостаточно для выводов.")
    sec.table(municipal_at_glance(data, municipality, year), caption=f"Сеть, контингент и кадры, {year}",
              key="Муниципалитет в цифрах")
    sec.heading("Школы, которым нужна адресная поддержка", 3)
    sup = support_table(data, municipality, year)
    unassessed = _unassessed_counts(data, municipality, year)
    if sup.empty:
        st = {t: _status(data, municipality, year, 2, t) for t in ("shnor", "shnsu", "risk_profile")}
        if all(v is None for v in st.values()):
            sec.para("Ни одна школа не отнесена к ШНОР или ШНСУ, нет высоких рисковых профилей и школ с мерами по плану "
                     "работы по объективности.")
        else:
            said = [w for t, w in (("shnor", "ни одна школа не отнесена к ШНОР"), ("shnsu", "к ШНСУ — ни одна"),
                                   ("risk_profile", "высоких рисковых профилей «500+» нет"))
                    if st[t] is not None and bool(st[t]["assessed"])]
            said.append("школ с мерами по плану работы по объективности нет")
            sec.para("; ".join(said)[:1].upper() + "; ".join(said)[1:] + ".")
    else:
        sec.table(sup, caption=f"Основания для поддержки, {year}",
                  note="ШНОР — число процедур с низким результатом из всех процедур школы (" + _shnor_rule_note(data)
                       + "); ШНСУ — индекс контекста; рисковый профиль — "
                       "факторы риска «500+»; объективность — уровень плана работы (1–2: меры по находкам, подтверждённым на "
                       "уровне школы с поправкой на число её работ) и основания, повод присмотреться к проведению и "
                       "проверке работ, а не обвинение. Полные основания — в приложении 2. Это факты об "
                       "организациях, а не сведения о людях; школы перечислены по названию.")
    if unassessed:
        sec.para("; ".join(unassessed)[:1].upper() + "; ".join(unassessed)[1:] + ".", "msoko-note")
    if MU.municipalities_count(data) > 1:
        t = MU.side_by_side(data, year)
        if not t.empty:
            sec.heading("Муниципалитет среди загруженных", 3)
            sec.table(t, caption=f"Муниципалитеты рядом, {year}", key="Муниципалитеты рядом",
                      note="Каждый показатель — по школам своего муниципалитета; показатель объективности — 100 − % "
                           "школ хотя бы с одним официальным признаком среди оценённых школ. Муниципалитеты "
                           "перечислены по названию, а не ранжированы.")
    _data_quality(sec, data, municipality, year)
    tiers = plan_tier_counts(data, municipality, year)
    if not tiers.empty:
        sec.table(tiers, caption=f"План работы по объективности: школ по уровням, {year}",
                  note="Уровни 1–2 — меры (наблюдатели, перепроверка, экспертиза КИМ) по находкам, подтверждённым на "
                       "уровне школы с поправкой на число её работ; уровень 3 — самоанализ без внешних мер по одной "
                       "такой находке. Школы, у которых признаки отмечены лишь в отдельных работах или только "
                       "официальные (например, «завышенный средний балл», который похожие школы не подтверждают), в "
                       "план не входят: это сведения, а не перечень для мер. Перечень плана — в отчёте об объективности.")
    sec.heading("Системы МСОКО в цифрах", 3)
    sec.table(systems_overview(data, municipality, year), caption=f"Восемь систем: цели, изменения, отставания ({year})",
              note="«Достоверно» — 95 % интервал изменения не включает ноль; отставание подтверждено, если показатель "
                   "организации достоверно хуже и муниципального значения, и значения похожих школ; перечни — "
                   f"{APPENDIX}.")
    return sec


def _data_quality(sec: Section, data: ReportData, municipality: str, year: int) -> None:
    """Organisations of the registry not counted as the municipality's schools, and the rejected rows that
    concentrate on one of its schools and works — said once, as data quality."""
    odd = MU.odd_organisations(data, municipality)
    rej = MU.reject_findings(data, year, set(_ids(data, municipality)))
    if odd.empty and rej.empty:
        return
    sec.heading("Качество данных", 3)
    if not odd.empty:
        sec.table(odd, caption="Организации, не считающиеся школами муниципалитета", note=MU.ODD_NOTE)
    if not rej.empty:
        sec.table(rej, caption="Отклонённые строки, сосредоточенные в одной работе школы", note=MU.REJECT_NOTE)


# ======================================================================================
# conclusions and tasks for next year
# ======================================================================================

def system_conclusions(data: ReportData, municipality: str, year: int, system: int) -> tuple[list[str], list[str]]:
    """The conclusions of one system and its tasks for next year, as the annual доклад ends."""
    concl: list[str] = []
    tasks: list[str] = []
    st = _status(data, municipality, year, system)
    if st is not None and not bool(st["assessed"]):
        tables = re.findall(r"«([^»]+)»", str(st["text_ru"]))
        return ([f"Система в {year} году не оценивалась: {str(st['text_ru']).removeprefix('не оценивалось: ')}."],
                ["Организовать сбор данных по системе" + (
                    f" ({', '.join(f'«{t}»' for t in tables)}; шаблоны — папка data/templates или команда "
                    "msoko templates)"
                    if tables else "") + ", чтобы оценить её по итогам следующего года."])
    if st is not None and int(st["indicators_computed"]) < int(st["indicators_total"]):
        concl.append(f"Оценка системы неполная: {st['text_ru']}.")
    parts = _monitoring_parts(data, municipality, year, system)
    m = parts["m"]
    if not m.empty:
        tg, met, miss, unclear = parts["tg"], parts["met"], parts["miss"], parts["unclear"]
        if len(met):
            concl.append("Достигнуты целевые значения: " + _list([_target_item(r) for r in met], 3) + ".")
        if len(miss):
            concl.append("Не достигнуты целевые значения (интервал целиком хуже цели): " + _list(
                [_target_item(r) for r in miss], 3) + ".")
            for r in miss[:3]:
                tasks.append(f"Довести показатель «{muni_name(r['indicator'], r['name_ru'])}» до целевого значения "
                             f"{_unit_value(r['target'], r['unit'])} (в {year} году — {_unit_value(r['value'], r['unit'])}).")
        if len(unclear):
            concl.append("От целевого значения достоверно не отличаются: " + _list(
                [_target_item(r) for r in unclear], 3) + ".")
        recs = parts["recs"]
        good = [r for r in recs if _changed(r, True)]
        bad = [r for r in recs if _changed(r, False)]
        if good:
            concl.append("Достоверно улучшились за год: " + _list(
                [f"«{muni_name(r['indicator'], r['name_ru'])}» ({_unit_value(r['value'] - r['change'], r['unit'])} → {_unit_value(r['value'], r['unit'])})"
                 for r in good], 3) + ".")
        if bad:
            concl.append("Достоверно ухудшились за год: " + _list(
                [f"«{muni_name(r['indicator'], r['name_ru'])}» ({_unit_value(r['value'] - r['change'], r['unit'])} → {_unit_value(r['value'], r['unit'])})"
                 for r in bad], 3) + ".")
            missed = parts["missed"] if len(tg) else set()
            for r in [r for r in bad if r["indicator"] not in missed][:2]:
                tasks.append(f"Остановить ухудшение показателя «{muni_name(r['indicator'], r['name_ru'])}»: "
                             f"{_unit_value(r['value'] - r['change'], r['unit'])} в {year - 1} году, "
                             f"{_unit_value(r['value'], r['unit'])} в {year}.")
        if not (len(tg) or good or bad):
            concl.append("Целевые значения не заданы, достоверных изменений за год нет.")
    if system == 2:
        sup = support_table(data, municipality, year)
        n_shnor = int((sup["ШНОР"] != "—").sum()) if "ШНОР" in sup else 0
        n_shnsu = int((sup["ШНСУ"] != "—").sum()) if "ШНСУ" in sup else 0
        n_risk = int((sup["Рисковый профиль «500+»"] != "—").sum()) if "Рисковый профиль «500+»" in sup else 0
        known = {t: _status(data, municipality, year, 2, t) for t in ("shnor", "shnsu", "risk_profile")}
        ok = {t: v is None or bool(v["assessed"]) for t, v in known.items()}   # a count only when assessed
        if (n_shnor or n_shnsu or n_risk) and any(ok.values()):
            parts = ([f"к ШНОР отнесено {_count(n_shnor, 'школа', 'школы', 'школ')}"] if ok["shnor"] else []) \
                + ([f"к ШНСУ — {fmt(n_shnsu)}"] if ok["shnsu"] else []) \
                + ([f"высокий рисковый профиль «500+» — у {fmt(n_risk)}"] if ok["risk_profile"] else [])
            text = ", ".join(parts)
            concl.append(text[:1].upper() + text[1:] + " (перечень с причинами — в сводке).")
        for t in _unassessed_counts(data, municipality, year):
            concl.append(t[:1].upper() + t[1:] + ".")
        if (n_shnor or n_shnsu or n_risk) and (ok["shnsu"] or ok["risk_profile"]):
            tasks.append("Продолжить адресную поддержку школ ШНОР и ШНСУ: программы развития с мерами по каждому "
                         "выявленному фактору риска «500+», методическое сопровождение, мониторинг результатов.")
        elif n_shnor:   # ШНСУ and the risk profile not assessed: nothing to say about their factors
            tasks.append("Продолжить адресную поддержку школ ШНОР: программы развития, методическое сопровождение, "
                         "мониторинг результатов.")
    if system == 3:
        it = _item_rows(data, municipality)
        if not it.empty:
            a = it[(it["indicator"] == "olymp_awardees") & (it["item"] == "региональный")].set_index("year")["value"]
            if year in a.index:
                s = f"Победителей и призёров регионального этапа ВсОШ — {_count(int(a[year]), 'человек', 'человека', 'человек')}"
                if year - 1 in a.index:
                    s += f" (в {year - 1} году — {fmt(int(a[year - 1]))})"
                concl.append(s + ".")
    if system == 4:
        r = muni_row(data, municipality, year, "leavers_not_placed", grade=9)
        r11 = muni_row(data, municipality, year, "leavers_not_placed", grade=11)
        if r or r11:
            parts = [f"{g} класса — {fmt(x['value'])} %" for g, x in ((9, r), (11, r11)) if x]
            concl.append("Не учатся и не работают выпускники " + ", ".join(parts) + ".")
    k = confirmed_gaps(data, municipality, year, system)["school_id"].nunique()
    if k:
        concl.append(f"Отставание и от муниципалитета, и от похожих школ подтверждено у {fmt(k)} "
                     f"{_plural(k, 'организации', 'организаций', 'организаций')} (перечень — {APPENDIX} {system}).")
        tasks.append(f"Включить в план адресной работы {fmt(k)} {_plural(k, 'организацию', 'организации', 'организаций')} "
                     f"с подтверждённым отставанием (перечень — {APPENDIX} {system}).")
    eff, y = latest_effectiveness(data, year, system=system, municipality=municipality)
    if not eff.empty and "Вывод" in eff:
        proven = int((eff["Вывод"] == "достоверное улучшение").sum())
        concl.append(f"Оценено {_count(len(eff), 'мера', 'меры', 'мер')} {y - 1} года: " +
                     (f"доказанное улучшение — {fmt(proven)} из {fmt(len(eff))}." if proven else "ни одна не дала доказанного улучшения."))
        if proven < len(eff):
            tasks.append("Пересмотреть меры, не давшие доказанного улучшения, или продлить их с повторной оценкой через год.")
    if not tasks:
        _, configured = system_goal(data, system)
        tasks = [t.rstrip(".") + "." for t in configured] or ["Сохранить достигнутые значения показателей."]
    return concl, tasks


def show_municipal_conclusions(data: ReportData, municipality: str, year: int) -> Section:
    """Per system, the conclusions and the tasks for next year — the closing part of the annual доклад."""
    sec = Section()
    sec.para(f"По каждой системе: что показал мониторинг {year} года и какие задачи из этого следуют на {year + 1} год. "
             "Выводы опираются только на достоверные различия (95 % интервал не включает сравниваемое значение).",
             "msoko-note")
    for s, name in SYSTEM_NAMES.items():
        concl, tasks = system_conclusions(data, municipality, year, s)
        sec.heading(f"{s}. {name}", 3)
        sec.html("<p><b>Выводы</b></p>")
        sec.say(concl, empty="Достоверных изменений и невыполненных целей нет.")
        sec.html(f"<p><b>Задачи на {year + 1} год</b></p>")
        sec.say(tasks)
    return sec


# ======================================================================================
# the chapters
# ======================================================================================

def municipal_headline(data: ReportData, municipality: str, year: int, system: int, k: int = 2) -> list[str]:
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    def build() -> set:
        d = _muni_rows(data, municipality)
        d = d[(d["year"] == year) & d["grade"].isna() & d["subject"].isna() & d["value"].notna()]
        return set(d["indicator"]) & _school_overall_codes(data, year)
    have = data.memo(("_muni_headline_codes", municipality, int(year)), build)
    return [c for c in _headline_order(data, system) if c in have][:k]


def municipal_trend(data: ReportData, municipality: str, code: str, year: int) -> pd.DataFrame:
    def build() -> dict:
        ind = _muni_rows(data, municipality)
        d = ind[ind["grade"].isna() & ind["subject"].isna()]
        return dict(tuple(d.groupby("indicator", sort=False))) if len(d) else {}
    d = data.memo(("_muni_overall_by_code", municipality), build).get(code)
    d = _muni_rows(data, municipality).iloc[0:0] if d is None else d
    d = d[d["year"].between(year - 2, year)]
    return d.assign(group=GROUP_MUNI)[["year", "group", "value", "ci_low", "ci_high", "n"]]


def municipal_vpr_marks(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """``group`` = «<grade> кл., <subject>», ``mark``, ``share``, ``n`` over the municipality's schools:
    the municipal shares of marks «2»–«5» as compute wrote them (``indicators.parquet``)."""
    from msoko.report.indicators import unit_year_rows
    from msoko.report.vpr import MARK_SHARES

    cols = ["group", "mark", "share", "n"]
    rows = unit_year_rows(data, year, "municipality", municipality)
    mark_of = {code: mark for mark, code in MARK_SHARES.items()}
    if rows.empty:
        return pd.DataFrame(columns=cols)
    m = rows[rows["indicator"].isin(mark_of) & rows["grade"].notna() & rows["subject"].notna()
             & rows["value"].notna() & ~rows["suppressed"].fillna(False).astype(bool) & (rows["n"] >= suppress_below(data))]
    if "item" in m:
        m = m[m["item"].isna()]
    m = m.assign(mark=m["indicator"].map(mark_of), grade=m["grade"].astype(int)) \
        .sort_values(["grade", "subject", "mark"], kind="stable")
    return pd.DataFrame({"group": [f"{g} кл., {s}" for g, s in zip(m["grade"], m["subject"])],
                         "mark": m["mark"].to_numpy(), "share": m["value"].to_numpy(float),
                         "n": m["n"].to_numpy().astype(int)}, columns=cols).reset_index(drop=True)


def monitoring_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Every indicator of the system the municipality has a value for, over three years, with the
    interval, the target and the verdict. An indicator computed only by class (leavers, ЕГЭ) is shown
    by class; one broken down by an item (stage, area, task) has its own table."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = _muni_rows(data, municipality)
    d = d[d["indicator"].isin(cat["code"]) & d["subject"].isna() & d["year"].between(year - 2, year)]
    by_code: dict = {}   # each indicator's rows as dicts, in table order
    for r in records(d, ["indicator", "year", "grade", "value", "ci_low", "ci_high", "n"]):
        by_code.setdefault(r["indicator"], []).append(r)
    mon = _monitoring(data, municipality, year, system)
    mon_first: dict = {}   # each indicator's first monitoring row (as ``mon.set_index("indicator").loc[code]``)
    if not mon.empty:
        for r in records(mon):
            mon_first.setdefault(r["indicator"], r)
    rows = []
    for c in records(cat, ["code", "name", "unit"]):
        x = by_code.get(c["code"])
        if not x:
            continue
        overall = [r for r in x if pd.isna(r["grade"])]
        grades = [None] if overall else sorted({int(r["grade"]) for r in x if pd.notna(r["grade"])})
        for g in grades:
            y_ = _by_year(overall if g is None else [r for r in x if pd.notna(r["grade"]) and int(r["grade"]) == g])
            label = muni_name(c["code"], c["name"]) + (f" — {g} класс" if g is not None and len(grades) > 1 else "")
            row = {"Показатель": label, "Ед.": c["unit"] or "—"}
            for yy in range(year - 2, year + 1):
                if yy in y_:
                    r = y_[yy]
                    cell = _num(r["value"], c["unit"])
                    if yy == year and pd.notna(r.get("ci_low")) and pd.notna(r.get("ci_high")):
                        cell += f" [{_num(r['ci_low'], c['unit'])}–{_num(r['ci_high'], c['unit'])}]"
                    row[str(yy)] = cell
                else:
                    row[str(yy)] = "—"
            r = y_.get(year)
            row[f"n ({year})"] = fmt(int(r["n"])) if r is not None and pd.notna(r.get("n")) else "—"
            verdict = []
            tgt = math.nan
            if g is None and c["code"] in mon_first:
                mr = mon_first[c["code"]]
                tgt = mr.get("target", math.nan)
                if pd.notna(tgt):
                    st = mr.get("target_status")
                    if not isinstance(st, str):
                        tm = mr.get("target_met")
                        st = "" if tm is None or pd.isna(tm) else "достигнуто" if bool(tm) else "не достигнуто"
                    verdict.append({"достигнуто": "цель достигнута", "не достигнуто": "цель не достигнута",
                                    "не отличается от цели достоверно": "от цели достоверно не отличается"}.get(st, "")
                                   or "цель: нет вердикта")
                mrd = mr
                if _changed(mrd, True):
                    verdict.append("достоверное улучшение")
                elif _changed(mrd, False):
                    verdict.append("достоверное ухудшение")
            row["Цель"] = _num(tgt, c["unit"]) if pd.notna(tgt) else "—"
            row["Оценка"] = "; ".join(verdict) or "—"
            rows.append(row)
    return pd.DataFrame(rows)


def _by_year(recs: list[dict]) -> dict:
    """Rows (dicts) by their year, the first of a year (a year names one row of an indicator × grade)."""
    out: dict = {}
    for r in recs:
        out.setdefault(int(r["year"]), r)
    return out


def gia_tables(data: ReportData, municipality: str, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ОГЭ and ЕГЭ by subject: participants, the share below the minimum, marks «4» and «5» (ОГЭ),
    the mean score, results of 80 and more and of 100 points (ЕГЭ)."""
    ind = data.indicators
    if ind.empty:
        return pd.DataFrame(), pd.DataFrame()
    d = _muni_rows(data, municipality)
    d = d[(d["year"] == year) & d["subject"].notna() & d["grade"].isin([9, 11])]
    first = _first_records(d, ["indicator", "grade", "subject"])

    def get(code, g, s, col="value"):
        r = first.get((code, g, s))
        return r[col] if r is not None and pd.notna(r[col]) else math.nan

    oge, ege = [], []
    for s in sorted(d.loc[d["grade"] == 9, "subject"].unique()):
        n = get("gia_below_min", 9, s, "n")
        if pd.isna(n) or n < suppress_below(data):
            continue
        oge.append({"Предмет": s, "Участников": fmt(int(n)), "Ниже минимума, %": _num(get("gia_below_min", 9, s), "%"),
                    "Отметки «4» и «5», %": _num(get("oge_mark45_share", 9, s), "%"),
                    "Средняя отметка": fmt(get("oge_mean_mark", 9, s), 2)})
    for s in sorted(d.loc[d["grade"] == 11, "subject"].unique()):
        n = get("gia_below_min", 11, s, "n")
        if pd.isna(n):
            n = get("ege_80plus", 11, s, "n")
        if pd.isna(n) or n < suppress_below(data):
            continue
        k80, p80, k100 = get("ege_80plus", 11, s, "numerator"), get("ege_80plus", 11, s), get("ege_100", 11, s)
        ege.append({"Предмет": s, "Участников": fmt(int(n)), "Ниже минимума, %": _num(get("gia_below_min", 11, s), "%"),
                    "Средний балл": fmt(get("ege_mean_score", 11, s)),
                    "80 баллов и выше": f"{fmt(int(k80))} ({_num(p80, '%')} %)" if pd.notna(k80) else "—",
                    "100 баллов": fmt(int(k100)) if pd.notna(k100) else "—"})
    return pd.DataFrame(oge), pd.DataFrame(ege)


def _first_records(df: pd.DataFrame, keys: list[str]) -> dict:
    """The first row (in table order) of each combination of ``keys`` as a dict of the row's values, by the
    tuple of its key values: a dict lookup instead of a filter of ``df`` per cell."""
    out: dict = {}
    for k, r in zip(zip(*(df[c].tolist() for c in keys)), records(df)):
        out.setdefault(k, r)
    return out


def olympiad_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """Participants, winners and prize-winners (people, not diplomas) by stage of ВсОШ, this year and last."""
    it = _item_rows(data, municipality)
    if it.empty:
        return pd.DataFrame()
    rows = []
    for code in OLYMPIAD_CODES:
        unit = indicator_meta(data, code).get("unit", "")
        for yy in (year - 1, year):
            x = it[(it["indicator"] == code) & (it["year"] == yy)].set_index("item")["value"]
            if x.empty:
                continue
            row = {"Показатель": indicator_label(data, code), "Год": str(yy)}
            for st in OLYMPIAD_STAGES:
                row[st[:1].upper() + st[1:] + " этап"] = _num(x.get(st, math.nan), unit) + (" %" if unit == "%" and st in x.index else "")
            rows.append(row)
    return pd.DataFrame(rows)


def leavers_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """Where the leavers of grades 9 and 11 went: 10th grade, СПО, вуз, work, neither; shares with counts."""
    rows = []
    for code in LEAVER_CODES:
        row = {"Показатель": indicator_label(data, code)}
        any_ = False
        for g in (9, 11):
            r = muni_row(data, municipality, year, code, grade=g)
            if r:
                any_ = True
                num = f" ({fmt(int(r['numerator']))} из {fmt(int(r['denominator']))})" if pd.notna(r.get("numerator")) \
                    and pd.notna(r.get("denominator")) else ""
                row[f"Выпускники {g} класса"] = f"{fmt(r['value'])} %{num}"
            else:
                row[f"Выпускники {g} класса"] = "—"
        if any_:
            rows.append(row)
    return pd.DataFrame(rows)


def mkdo_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """«Балл МКДО по области качества» for three years (the municipality's mean)."""
    it = _item_rows(data, municipality)
    x = it[it["indicator"] == "mkdo_area_score"] if not it.empty else it
    if x.empty:
        return pd.DataFrame()
    p = x[x["year"].between(year - 2, year)].pivot_table(index="item", columns="year", values="value", sort=False)
    out = pd.DataFrame({"Область качества": [str(i)[:1].upper() + str(i)[1:] for i in p.index]})
    for yy in p.columns:
        out[str(int(yy))] = [fmt(v, 2) for v in p[yy]]
    return out


def _clean_skill(s) -> str:
    """The specification's skill in one line, at most 160 characters (msoko.skills)."""
    from msoko.skills import short
    return short(s, 160) or "—"


def weak_tasks_table(data: ReportData, municipality: str, year: int, *, per_work: int = 2) -> pd.DataFrame:
    """Per ВПР work, the tasks the municipality did worst, with the skill they check (task specifications)."""
    it = _item_rows(data, municipality)
    x = it[(it["indicator"] == "vpr_task_completion") & (it["year"] == year)] if not it.empty else it
    if x.empty:
        return pd.DataFrame()
    specs = _task_spec_index(data)
    rows = []
    for (g, s), w in x.groupby(["grade", "subject"], sort=True):
        for r in _smallest(w, per_work, "value", ["item", "value"]):
            sk = specs.get((g, s, str(r["item"])))   # the first matching row of the specifications
            label = sk["task_label"] if sk is not None and "task_label" in sk and pd.notna(sk["task_label"]) \
                else r["item"]
            rows.append({"Работа": f"{int(g)} класс, {s}", "Задание": str(label),
                         "Уровень": str(sk["level"]) if sk is not None and pd.notna(sk["level"]) else "—",
                         "Проверяемое умение": _clean_skill(sk["skill"]) if sk is not None else "—",
                         "Выполнили, %": fmt(r["value"])})
    return pd.DataFrame(rows)


def _smallest(df: pd.DataFrame, k: int, column: str, columns: list[str]) -> list[dict]:
    """``df.nsmallest(k, column)[columns]`` as dicts of the rows: the non-missing values in a stable sort (ties in
    table order), then the rows without a value in table order, the first ``k`` of them (``nsmallest`` cost ~5 ms
    a frame)."""
    v = df[column].to_numpy(dtype=float, na_value=np.nan)
    known = np.isnan(v)
    keep = np.flatnonzero(~known)
    pos = np.concatenate([keep[np.argsort(v[keep], kind="stable")], np.flatnonzero(known)])[:k]
    return records(df.iloc[pos], columns)


def _task_spec_index(data: ReportData) -> dict:
    """The first row of ``task_specs`` of each (grade, subject, task as text), as a dict of the row's values, once
    per load: a filter of the specifications per task cost ~1 ms."""
    def build() -> dict:
        spec = data.task_specs
        if spec.empty:
            return {}
        out: dict = {}
        for k, r in zip(zip(spec["grade"].tolist(), spec["subject"].tolist(), spec["task"].astype(str).tolist()),
                        records(spec)):
            out.setdefault(k, r)
        return out
    return data.memo(("_task_spec_index",), build)


def level_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """«Процент выполнения заданий по уровню сложности (Б/П/В)» per work."""
    it = _item_rows(data, municipality)
    x = it[(it["indicator"] == "vpr_level_completion") & (it["year"] == year)] if not it.empty else it
    if x.empty:
        return pd.DataFrame()
    p = x.pivot_table(index=["grade", "subject"], columns="item", values="value")
    out = pd.DataFrame({"Работа": [f"{int(g)} класс, {s}" for g, s in p.index]})
    names = {"Б": "Базовый (Б), %", "П": "Повышенный (П), %", "В": "Высокий (В), %"}
    for lv in ("Б", "П", "В"):
        if lv in p.columns:
            out[names[lv]] = [fmt(v) for v in p[lv]]
    return out


def show_municipal_system(data: ReportData, municipality: str, year: int, system: int) -> Section:
    """One chapter of the municipal report, following the management cycle; the per-school tables are
    in the appendix (:func:`show_municipal_appendix`)."""
    sec = Section()
    from msoko import plots

    goal, tasks = system_goal(data, system)
    sec.html(html_heading("Цели и показатели", 3))
    if goal:
        sec.html(html_para(f"Цель: {goal}." + (" Задачи: " + "; ".join(t[:1].lower() + t[1:] for t in tasks) + "."
                                               if tasks else "")))
    sec.para(f"Формулы показателей, источники данных и целевые значения — {APPENDIX} {system}.", "msoko-note")

    sec.html(html_heading("Мониторинг показателей", 3))
    st = _status(data, municipality, year, system)
    assessed = st is None or bool(st["assessed"])
    if not assessed:
        sec.para(f"В {year} году система не оценивалась: {str(st['text_ru']).removeprefix('не оценивалось: ')}. "
                 "Шаблоны таблиц для сбора данных — команда msoko templates.", "msoko-empty")
    elif st is not None and int(st["indicators_computed"]) < int(st["indicators_total"]):
        sec.para(f"Оценка системы неполная: {st['text_ru']}.", "msoko-note")
    sec.table(monitoring_table(data, municipality, year, system),
              caption=f"Значения муниципалитета за {year - 2}–{year} годы",
              note="Значения муниципалитета — по всем обучающимся (объединённые), а не среднее по школам; "
                   f"в квадратных скобках — 95 % доверительный интервал {year} года.")
    if system == 1:
        oge, ege = gia_tables(data, municipality, year)
        if not oge.empty:
            sec.table(oge, caption=f"ОГЭ {year} по предметам",
                      note="Показатели: доля результатов ГИА ниже минимального порога; доля отметок «4» и «5» на ОГЭ; "
                           "средняя отметка ОГЭ.")
        if not ege.empty:
            sec.table(ege, caption=f"ЕГЭ {year} по предметам: высокобалльники и стобалльники",
                      note="Показатели: средний тестовый балл ЕГЭ; доля высокобалльников ЕГЭ (80 баллов и выше) — "
                           "число результатов и доля от участников; стобалльники ЕГЭ (число результатов 100 баллов).")
    if system == 2:
        sec.table(shnor_criteria_table(data, municipality, year),
                  caption=f"Что делает правило ШНОР: школы по числу процедур с низким результатом ({year})",
                  note=_shnor_rule_note(data) + " Таблица показывает, сколько школ у порога правила и по какому "
                                                "критерию школы попали в список.")
    if system == 3:
        sec.table(olympiad_table(data, municipality, year), caption="Всероссийская олимпиада школьников по этапам",
                  note="Победители и призёры считаются людьми, а не дипломами.")
    if system == 4:
        sec.table(leavers_table(data, municipality, year), caption=f"Куда пошли выпускники {year} года")
    if system == 8:
        sec.table(mkdo_table(data, municipality, year), caption="Балл МКДО по области качества (шкала 0–3)")
    if system == 1:
        mk = municipal_vpr_marks(data, municipality, year)
        if not mk.empty:
            if season_note(year, data.config):
                sec.para(season_note(year, data.config), "msoko-note")
            sec.figure(plots.marks_chart(mk, source=_vpr_source(year), title=f"Отметки ВПР {year} по работам"))
    if system == 8:
        a = mkdo_areas(data, municipality, year)
        if not a.empty:
            sec.figure(plots.mkdo_areas_chart(a, source=f"МКДО {year}; расчёт msoko"))
    for code in municipal_headline(data, municipality, year, system):
        meta = indicator_meta(data, code)
        # the chart names the indicator and its data source in words, never by the catalogue's codes
        meta = {**meta, "name": ru_name(meta["name"]), "source": source_words(meta.get("source")) or "МСОКО"}
        tr = municipal_trend(data, municipality, code, year)
        if len(tr) >= 2:
            sec.figure(plots.trend_chart(tr, unit=meta.get("unit", ""), title=f"{meta['name']}: динамика",
                                          source=f"{meta.get('source') or 'msoko'}; показатели msoko"))

    sec.html(html_heading("Анализ результатов мониторинга", 3))
    partial = st is not None and assessed and int(st["indicators_computed"]) < int(st["indicators_total"])
    empty = ("Анализ не проводился: система не оценивалась — нет данных." if not assessed else
             f"На уровне муниципалитета рассчитанные показатели системы ({fmt(int(st['indicators_computed']))} из "
             f"{fmt(int(st['indicators_total']))}) в пределах целей и без достоверного ухудшения; остальные не "
             "оценивались — нет данных." if partial else
             "На уровне муниципалитета все показатели системы в пределах целей и без достоверного ухудшения.")
    sec.html(html_sentences([plain(ru_name(s)) for s in municipal_findings(data, municipality, year, system, limit=5)],
                            empty=empty))
    k = confirmed_gaps(data, municipality, year, system)["school_id"].nunique()
    if not assessed:
        k = -1
    sec.para("Отставания организаций не оценивались: нет данных." if k < 0 else f"Отставание и от муниципалитета, и от похожих школ подтверждено у {fmt(k)} "
             f"{_plural(k, 'организации', 'организаций', 'организаций')}; перечень с показателями — {APPENDIX} {system}. "
             "Все зоны внимания каждой организации, по важности, — в её отчёте." if k else
             "Подтверждённых отставаний организаций по показателям системы нет; зоны внимания каждой организации — "
             "в её отчёте.")

    sec.html(html_heading("Адресные рекомендации", 3))
    rec = recommendations_table(data, year, system=system, municipality=municipality)
    if rec.empty:
        sec.para(f"Рекомендаций по итогам {year} года по этой системе нет.", "msoko-empty")
    else:
        k = rec["Школа"].nunique() if "Школа" in rec else 0
        sec.para(f"Рекомендаций по итогам {year} года: {fmt(len(rec))}, адресатов — {_count(k, 'организация', 'организации', 'организаций')}; "
                 f"по организациям — {APPENDIX} {system}, полностью — в отчётах школ.")

    sec.html(html_heading("Меры и управленческие решения", 3))
    ms = _memo_call(data, measures_table, year, system=system, municipality=municipality)
    sec.para(f"Мер, принятых в {year} году: {fmt(len(ms))}; перечень — {APPENDIX} {system}." if len(ms) else
             f"Меры {year} года по этой системе не зарегистрированы.", None if len(ms) else "msoko-empty")
    late = overdue_measures(data, year, system=system, municipality=municipality)
    if len(late):
        sec.table(late[[c for c in ("Год", "Школа", "Мера", "Срок", "Ответственный") if c in late]],
                  caption=f"Просроченные меры (срок прошёл, мера не отмечена как выполненная): {fmt(len(late))}")

    sec.html(html_heading("Анализ эффективности принятых мер", 3))
    _show_effectiveness(sec, data, year, f"Меры по этой системе за {year - 1} и предыдущие годы не зарегистрированы — "
                                    "оценивать нечего.", system=system, municipality=municipality)
    return sec


# ======================================================================================
# appendices
# ======================================================================================

def show_municipal_appendix(data: ReportData, municipality: str, year: int, system: int) -> Section:
    """The detailed tables of one system: indicators with formulas and sources, every school beside the
    municipality, the schools that fall short, recommendations and measures by school."""
    sec = Section()
    g = goals_table(data, system, year)
    if not g.empty and "Источник данных" in g:
        g = g.assign(**{"Показатель": g["Показатель"].map(ru_name), "Источник данных": g["Источник данных"].map(sources_ru)})
        if "Формула" in g:
            g = g.assign(**{"Формула": g["Формула"].map(lambda f: formula_words(data, f))})
    sec.table(g, caption="Показатели системы: формулы, источники, целевые значения")
    for code in municipal_headline(data, municipality, year, system):
        t = school_comparison_table(data, municipality, year, code)
        if not t.empty and "Логин" in t:
            t = t.drop(columns="Логин")
        sec.table(t, caption=f"{indicator_label(data, code)}: школы в сравнении с муниципалитетом ({year})",
                  note="Школы перечислены по названию; это сравнение, а не рейтинг.")
    if system == 2:
        sec.table(support_table(data, municipality, year, detail=True),
                  caption=f"Школы, которым нужна адресная поддержка, с полными основаниями ({year})",
                  note="Все процедуры, по которым школа отнесена к ШНОР; составляющие индекса контекста; факторы риска "
                       "«500+»; объективность — уровень плана работы, меры и их основания. Школы перечислены по названию.")
    if system == 1:
        sec.table(level_table(data, municipality, year),
                  caption=f"Процент выполнения заданий по уровню сложности (Б/П/В), муниципалитет, {year}")
        sec.table(weak_tasks_table(data, municipality, year),
                  caption=f"Процент выполнения задания ВПР: задания, выполненные в муниципалитете хуже всего ({year})",
                  note="По каждой работе — два задания с наименьшим процентом выполнения и умение, которое они "
                       "проверяют (по спецификации КИМ ВПР): темы для методических объединений.")
    sec.table(confirmed_gaps_table(data, municipality, year, system),
              caption="Организации с подтверждённым отставанием (хуже и муниципалитета, и похожих школ)",
              note="Организации перечислены по названию.")
    sec.table(recommendations_table(data, year, system=system, municipality=municipality, per_school=3),
              caption=f"Рекомендации по итогам {year} года",
              note="Организации перечислены по названию; у каждой — не более трёх рекомендаций, полный список в её отчёте.")
    sec.table(_memo_call(data, measures_table, year, system=system, municipality=municipality),
              caption=f"Меры, принятые в {year} году")
    return sec


def priorities_table(data: ReportData, municipality: str, year: int, *, per_school: int = 1) -> pd.DataFrame:
    """Each organisation's first priorities (compute's ``priorities``: certainty × size of the gap ×
    persistence), as on the first screen of its own report; organisations by name."""
    p = data.table("priorities")
    if p.empty or not {"year", "school_id", "rank", "text_ru"} <= set(p):
        return pd.DataFrame()
    ids = set(_ids(data, municipality, preschool=None))
    p = p[(p["year"] == year) & p["school_id"].astype(str).isin(ids)]
    if "top" in p:
        p = p[p["top"].fillna(False).astype(bool)]
    if p.empty:
        return pd.DataFrame()
    names = names_by_id(data)
    p = p.assign(_name=p["school_id"].astype(str).map(names).fillna(p["school_id"].astype(str)))
    p = p.sort_values(["_name", "rank"]).groupby("school_id", sort=False).head(per_school)
    return pd.DataFrame({"Организация": p["_name"].astype(str), "№": p["rank"].map(lambda r: fmt(int(r))),
                         "Что важнее всего": p["text_ru"].map(plain),
                         "Уверенность": p.get("certainty", pd.Series("—", index=p.index)).fillna("—")}).reset_index(drop=True)


def spec_quality_table(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """Works of the year written in the municipality whose task specification does not fit the scores
    (``spec_quality.parquet``, decided in compute: msoko/spec_quality.py)."""
    from msoko.spec_quality import VERDICTS

    sq = data.table("spec_quality")
    if sq.empty:
        return pd.DataFrame()
    sq = sq[sq["year"] == year]
    works = sq[sq["task"].isna() & sq["verdict"].isin(["misfit", "partial", "tasks_mismatch"])]
    # the works written in the municipality: its schools' score counts (compute's vpr_score_counts), not the
    # pupils' rows of the whole region
    c = data.table("vpr_score_counts")
    if not c.empty and len(works):
        ids = set(_ids(data, municipality, preschool=None))
        mine = c[(c["year"] == year) & (c["level"] == "school") & c["school_id"].astype(str).isin(ids)]
        mine = mine[["grade", "subject"]].drop_duplicates()
        works = works.merge(mine.astype({"grade": "int64"}), on=["grade", "subject"], how="inner")
    rows = []
    for w in works.sort_values(["grade", "subject"]).itertuples(index=False):
        tasks = sq[(sq["grade"] == w.grade) & (sq["subject"] == w.subject) & sq["task"].notna()]
        held = tasks[~tasks["task_verdicts"].astype(bool)]["task"].astype(str).tolist()
        rows.append({"Работа": f"{w.subject}, {int(w.grade)} класс", "Проверка": VERDICTS.get(w.verdict, w.verdict),
                     "Что не так": w.reason,
                     "Задания без выводов": ("все" if w.verdict == "misfit" else ", ".join(held) if held else "—"),
                     "Участников (все загруженные)": int(w.n)})
    return pd.DataFrame(rows)


def show_municipal_data_quality(data: ReportData, municipality: str, year: int) -> Section:
    """«Качество данных»: the task specifications that do not fit the scores, and what follows from it."""
    sec = Section()
    t = spec_quality_table(data, municipality, year)
    sq = data.table("spec_quality")
    if sq.empty or not (sq["year"] == year).any():
        sec.para(f"Сверка спецификаций заданий с баллами за {year} год не выполнялась: нет данных "
                 "(нет результатов ВПР по заданиям).")
        return sec
    if t.empty:
        sec.para(f"Спецификации заданий всех работ ВПР {year} года согласуются с баллами участников.")
        return sec
    sec.para("Спецификация задаёт максимальный балл каждого задания. Если баллы участников с ним не согласуются "
             "(никто из многих участников не получает максимум или баллы выше максимума), процент выполнения "
             "заданий и выводы об умениях по такой спецификации не делаются; первичный балл и отметки за работу "
             "учитываются. Это свойство выгрузки и спецификации, а не школ.")
    sec.table(t, caption=f"Спецификации заданий, не согласующиеся с баллами, ВПР {year}",
              note="Решение принимает расчёт (таблица spec_quality.parquet; пороги — раздел [spec_quality] "
                   "муниципальной конфигурации).")
    return sec


def show_municipal_appendices(data: ReportData, municipality: str, year: int) -> Section:
    """All eight appendices, one per system, and each organisation's first priorities."""
    sec = Section()
    for s, name in SYSTEM_NAMES.items():
        sec.html(f"<h3>Приложение {s}. {esc(name)}</h3>")
        sec.extend(show_municipal_appendix(data, municipality, year, s))
    pr = priorities_table(data, municipality, year)
    if not pr.empty:
        sec.html("<h3>Приложение 9. Главное для каждой организации</h3>")
        sec.table(pr.drop(columns="№"), caption=f"Главный приоритет каждой организации, {year}",
                  note="Первая тема первого экрана отчёта организации: самая важная по уверенности, величине разрыва и "
                       "устойчивости (несколько процедур или лет); остальные — в её отчёте. Организации перечислены "
                       "по названию.")
    return sec
