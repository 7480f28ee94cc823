"""The municipal report, one function per section; each returns a :class:`~msoko.report.section.Section`.
"""
from __future__ import annotations


import pandas as pd

from msoko.report.fmt import GROUP_MUNI
from msoko.report.fmt import MIN_N, fmt, html_heading, html_para, html_sentences
from msoko.report.data import ReportData
from msoko.report.indicators import (
    _headline_order, analysis_table, catalogue_for, goals_table, indicator_meta, measures_table,
    municipal_findings, municipal_indicator_table, recommendations_table, school_comparison_table, system_goal,
)
from msoko.report.vpr import mkdo_areas
from msoko.report.signs import objectivity_index
from msoko.report.common import _show_effectiveness, _vpr_source

from msoko.report.section import Section



def municipal_headline(data: ReportData, municipality: str, year: int, system: int, k: int = 2) -> list[str]:
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    d = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == municipality)
            & ind["grade"].isna() & ind["subject"].isna() & ind["value"].notna()]
    s = ind[(ind["year"] == year) & (ind["level"] == "school") & ind["grade"].isna() & ind["subject"].isna()]
    have = set(d["indicator"]) & set(s["indicator"])
    return [c for c in _headline_order(data, system) if c in have][:k]


def municipal_trend(data: ReportData, municipality: str, code: str, year: int) -> pd.DataFrame:
    ind = data.indicators
    d = ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality) & (ind["indicator"] == code)
            & ind["grade"].isna() & ind["subject"].isna() & ind["year"].between(year - 2, year)]
    return d.assign(group=GROUP_MUNI)[["year", "group", "value", "ci_low", "ci_high", "n"]]


def municipal_vpr_marks(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """``group`` = «<grade> кл., <subject>», ``mark``, ``share``, ``n`` over the municipality's schools."""
    v = data.vpr_year(year)
    if v.empty:
        return pd.DataFrame(columns=["group", "mark", "share", "n"])
    ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"])
    d = v[v["school_id"].isin(ids)].dropna(subset=["mark"])
    out = []
    for (g, s), x in d.groupby(["grade", "subject"], sort=True):
        n = len(x)
        if n < MIN_N:
            continue
        c = x["mark"].astype(int).value_counts()
        out += [dict(group=f"{int(g)} кл., {s}", mark=m, share=100 * c.get(m, 0) / n, n=n) for m in (2, 3, 4, 5)]
    return pd.DataFrame(out, columns=["group", "mark", "share", "n"])


def show_municipal_system(data: ReportData, municipality: str, year: int, system: int) -> Section:
    """One chapter of the municipal report, following the management cycle."""
    sec = Section()
    from msoko import plots

    goal, tasks = system_goal(data, system)
    sec.html(html_heading("Цели и показатели", 3))
    if goal:
        sec.html(html_para(f"Цель: {goal}."))
    if tasks:
        sec.html(html_sentences(tasks))
    sec.table(goals_table(data, system, year), caption="Показатели системы: формулы, источники, целевые значения")

    sec.html(html_heading("Мониторинг показателей", 3))
    sec.table(municipal_indicator_table(data, municipality, year, system),
               caption=f"Муниципальные значения за {year - 2}–{year} годы",
               note="Значения муниципалитета — по всем обучающимся (объединённые), а не среднее по школам; "
                    "в квадратных скобках — 95 % ДИ.")
    if system == 1:
        mk = municipal_vpr_marks(data, municipality, year)
        if not mk.empty:
            sec.figure(plots.marks_chart(mk, source=_vpr_source(year), title=f"Отметки ВПР {year} по работам"))
    if system == 8:
        a = mkdo_areas(data, municipality, year)
        if not a.empty:
            sec.figure(plots.mkdo_areas_chart(a, source=f"МКДО {year}; расчёт msoko"))
    for code in municipal_headline(data, municipality, year, system):
        meta = indicator_meta(data, code)
        tr = municipal_trend(data, municipality, code, year)
        if len(tr) >= 2:
            sec.figure(plots.trend_chart(tr, unit=meta.get("unit", ""), title=f"{meta['name']}: динамика",
                                          source=f"{meta.get('source') or 'msoko'}; показатели msoko"))
        t = school_comparison_table(data, municipality, year, code)
        sec.table(t, caption=f"{meta['name']}: школы в сравнении с муниципалитетом ({year})",
                   note="Школы перечислены по названию; это сравнение, а не рейтинг.")

    sec.html(html_heading("Анализ результатов мониторинга", 3))
    sec.html(html_sentences(municipal_findings(data, municipality, year, system),
                                empty="На уровне муниципалитета все показатели системы в пределах целей и без "
                                      "достоверного ухудшения."))
    sec.table(analysis_table(data, municipality, year, system),
               caption="Школы и показатели, которые не достигают цели или отстают от муниципалитета",
               note="Отставание засчитывается, только если 95 % интервал школы целиком хуже муниципального значения.")

    sec.html(html_heading("Адресные рекомендации", 3))
    sec.table(recommendations_table(data, year, system=system, municipality=municipality, per_school=3),
               caption=f"Рекомендации по итогам {year} года",
               note="Школы перечислены по названию; у каждой — не более трёх рекомендаций, полный список в отчёте школы.")

    sec.html(html_heading("Меры и управленческие решения", 3))
    sec.table(measures_table(data, year, system=system, municipality=municipality),
               caption=f"Меры, принятые в {year} году")

    sec.html(html_heading("Анализ эффективности принятых мер", 3))
    _show_effectiveness(sec, data, year, f"Меры по этой системе за {year - 1} и предыдущие годы не зарегистрированы — "
                                    "оценивать нечего.", system=system, municipality=municipality)
    return sec


def show_municipal_summary(data: ReportData, municipality: str, year: int) -> Section:
    sec = Section()
    s = data.schools[data.schools["municipality"] == municipality]
    pre = s.get("is_preschool", pd.Series(False, index=s.index)).fillna(False).astype(bool)
    v = data.vpr_year(year)
    nv = int(v["school_id"].isin(s["school_id"]).sum()) if not v.empty else 0
    rows = [("Общеобразовательных организаций", fmt(int((~pre).sum()))), ("Дошкольных организаций", fmt(int(pre.sum()))),
            (f"Работ ВПР в {year} году (писавшие)", fmt(nv))]
    idx = objectivity_index(data)
    if not idx.empty and str(year) in set(idx["Год"]):
        rows.append(("Показатель объективности (ФИОКО)", idx.set_index("Год").loc[str(year), "Показатель объективности"]))
    sec.table(pd.DataFrame(rows, columns=["Характеристика", "Значение"]), caption="Муниципалитет в цифрах")
    return sec


# --- objectivity report ----------------------------------------------------------------

