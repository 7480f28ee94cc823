"""The school report, one function per section; each returns a :class:`~msoko.report.section.Section`.
"""
from __future__ import annotations


import pandas as pd

from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import LIMITED_N, MIN_N, _plural, fmt, html_heading, html_para, html_sentences, informativeness
from msoko.report.data import ReportData, comparison_groups, school_row, sufficiency_thresholds, target_value
from msoko.report.indicators import (
    CORE_SUBJECTS, KEY_BREAKDOWN_INDICATORS, MAX_DETAILED_WORKS, _wilson, headline_indicators, indicator_groups,
    indicator_meta, indicator_trend, measures_table, recommendations_table, school_context, school_vpr_counts,
    system_goal, system_indicator_table,
)
from msoko.report.vpr import (
    _cell_group, _vpr_cell, gia_table, level_completion, mark_boundaries, score_distribution, task_completion,
    vpr_summary_table,
)
from msoko.report.signs import attention_zones, flagged_signs, signs_table
from msoko.report.common import _show_effectiveness, _vpr_source
from msoko.report.evidence import MAX_EVIDENCE_CELLS, _evidence_charts, _picture_cells

from msoko.report.section import Section


def show_school_context(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    sec.table(school_context(data, school_id, year), caption="Характеристики школы")
    t = school_vpr_counts(data, school_id, year)
    if t.empty:
        sec.html(html_para(f"В {year} году школа не писала ВПР (или данные не загружены).", "msoko-note"))
    else:
        sec.html(html_para(f"ВПР {year} года: {len(t)} {_plural(len(t), 'работа', 'работы', 'работ')}, "
                               f"{fmt(int(t['n'].sum()))} работ участников; подробности — в главе 1.", "msoko-note"))
    return sec


def show_attention(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    s = attention_zones(data, school_id, year)
    sec.html(html_sentences(s, empty="Ни один показатель школы не отличается от муниципального в худшую "
                                          "сторону за пределами погрешности, признаков необъективности нет."))
    return sec


def _indicator_pair(sec: Section, data: ReportData, school_id: str, year: int, code: str) -> None:
    import textwrap

    from msoko import plots

    meta = indicator_meta(data, code)
    g = indicator_groups(data, school_id, year, code)
    tr = indicator_trend(data, school_id, code, year)
    if g.empty or g["value"].isna().all():
        return
    src = f"{meta.get('source') or 'msoko'}; показатели msoko"
    tgt = target_value(data, code, year)
    sec.figure(plots.row(
        plots.indicator_chart(g, unit=meta.get("unit", ""), source=src,
                              title="\n".join(textwrap.wrap(f"{meta['name']}, {year}", 70)),
                              target=tgt if pd.notna(tgt) else None),
        plots.trend_chart(tr, unit=meta.get("unit", ""), source=src, title="Динамика")))


def show_school_system(data: ReportData, school_id: str, year: int, system: int) -> Section:
    """Indicators of one system beside the comparison groups, with intervals and the 3-year trend."""
    sec = Section()
    goal, _ = system_goal(data, system)
    if goal:
        sec.html(html_para(f"Цель системы: {goal}.", "msoko-note"))
    t = system_indicator_table(data, school_id, year, system)
    if t.empty:
        sec.html(html_para("Для школы нет показателей этой системы за выбранный год "
                               "(данные не загружены или группа слишком мала).", "msoko-empty"))
        return sec
    sec.table(t, caption="Показатели школы и группы сравнения",
               note="В столбце «Школа» — значение и 95 % доверительный интервал в квадратных скобках.")
    for code in headline_indicators(data, school_id, year, system, k=1):
        _indicator_pair(sec, data, school_id, year, code)
    return sec



def _standout_works(data: ReportData, school_id: str, year: int) -> set[tuple[int, str]]:
    """Works where the school's interval lies on the worse side of the municipality, or a sign fires."""
    out: set[tuple[int, str]] = set()
    ind, cat = data.indicators, data.catalogue.set_index("code")
    if not ind.empty:
        muni = str(school_row(data, school_id)["municipality"])
        d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
                & ind["grade"].notna() & ind["subject"].notna() & ind["ci_low"].notna()
                & ~ind["suppressed"].fillna(False).astype(bool)]
        m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == muni)]
        keys = ["indicator", "grade", "subject"]
        d = d.merge(m[keys + ["value"]].rename(columns={"value": "muni"}), on=keys)
        d = d[d["indicator"].isin(KEY_BREAKDOWN_INDICATORS)]
        dirn = d["indicator"].map(cat["direction"]) if len(cat) else pd.Series("", index=d.index)
        worse = ((dirn == "higher") & (d["ci_high"] < d["muni"])) | ((dirn == "lower") & (d["ci_low"] > d["muni"]))
        out |= {(int(g), str(s)) for g, s in zip(d.loc[worse, "grade"], d.loc[worse, "subject"])}
    f = flagged_signs(data, year, school_id, official=True).dropna(subset=["grade", "subject"])
    out |= {(int(g), str(s)) for g, s in zip(f["grade"], f["subject"])}
    return out


def vpr_overview_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """One row per ВПР the school wrote: participants, «2», качество, mean % — school beside the municipality."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    rows = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        row = {"Работа": f"{g} кл., {subj}", "Участников": fmt(int(r["n"]))}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            x = _cell_group(data, year, g, subj, groups.get(grp, []))
            marks = x["mark"].dropna().astype(int)
            short = {GROUP_SCHOOL: "школа", GROUP_SIMILAR: "похожие", GROUP_MUNI: "муниц."}[grp]
            if len(marks) < MIN_N:
                row[f"«2», % ({short})"] = row[f"«4»–«5», % ({short})"] = "—" if grp != GROUP_SCHOOL else "скрыто"
                continue
            k2, k45, n = int((marks == 2).sum()), int((marks >= 4).sum()), len(marks)
            if grp == GROUP_SCHOOL:
                lo, hi = _wilson(k2, n)
                row[f"«2», % ({short})"] = f"{fmt(100 * k2 / n, 0)} [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
                lo, hi = _wilson(k45, n)
                row[f"«4»–«5», % ({short})"] = f"{fmt(100 * k45 / n, 0)} [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
            else:
                row[f"«2», % ({short})"] = fmt(100 * k2 / n, 0)
                row[f"«4»–«5», % ({short})"] = fmt(100 * k45 / n, 0)
        row["Информативность"] = informativeness(int(r["n"]))
        rows.append(row)
    return pd.DataFrame(rows)


def vpr_overview_marks(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """Marks of every ВПР of the school, each beside the municipality (long form for plot_marks_distribution)."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    out = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        for grp, label in ((GROUP_SCHOOL, "школа"), (GROUP_MUNI, "муниципалитет")):
            x = _cell_group(data, year, g, subj, groups.get(grp, [])).dropna(subset=["mark"])
            n = len(x)
            if n < MIN_N:
                continue
            c = x["mark"].astype(int).value_counts()
            out += [dict(group=f"{g} кл., {subj}: {label}", mark=m, share=100 * c.get(m, 0) / n, n=n)
                    for m in (2, 3, 4, 5)]
    return pd.DataFrame(out, columns=["group", "mark", "share", "n"])


def vpr_overview_journal(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР vs journal for every ВПР of the school, each beside the municipality (long form)."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    out = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        for grp, label in ((GROUP_SCHOOL, "школа"), (GROUP_MUNI, "муниципалитет")):
            x = _cell_group(data, year, g, subj, groups.get(grp, [])).dropna(subset=["mark", "journal_mark"])
            n = len(x)
            if n < MIN_N:
                continue
            diff = x["mark"].astype(int) - x["journal_mark"].astype(int)
            for cat, k in (("Понизили", (diff < 0).sum()), ("Подтвердили", (diff == 0).sum()),
                           ("Повысили", (diff > 0).sum())):
                out.append(dict(group=f"{g} кл., {subj}: {label}", category=cat, share=100 * k / n, n=n))
    return pd.DataFrame(out, columns=["group", "category", "share", "n"])


def level_table(data: ReportData, school_id: str, year: int, grade: int, subject: str, tasks: pd.DataFrame) -> pd.DataFrame:
    """Completion by difficulty level (Б/П/В), school beside the comparison groups, with the threshold."""
    lv = level_completion(tasks, data, grade, subject)
    if lv.empty:
        return pd.DataFrame()
    thr = sufficiency_thresholds(data, year)
    w = lv.pivot_table(index="level", columns="group", values="value", aggfunc="first")
    rows = []
    for level in [x for x in ("Б", "П", "В") if x in w.index]:
        row = {"Уровень": f"{level} — {({'Б': 'базовый', 'П': 'повышенный', 'В': 'высокий'})[level]}"}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            if grp in w.columns:
                row[f"{grp}, %"] = fmt(w.loc[level, grp], 0)
        row["Порог достаточности, %"] = fmt(thr.get(level), 0) if level in thr else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def show_vpr_views(data: ReportData, school_id: str, year: int, *, detail: str = "auto") -> Section:
    """ФИС ОКО views of the school's ВПР: an overview of every work, then the detailed views
    (marks, scores with the mark boundaries, tasks and levels, ВПР vs journal) —
    ``detail="auto"``: for Russian and mathematics and every work where something stands out;
    ``detail="all"``: for every work."""
    sec = Section()
    from msoko import plots

    taken = school_vpr_counts(data, school_id, year)
    if taken.empty:
        sec.html(html_para(f"В {year} году школа не писала ВПР (или данные не загружены).", "msoko-empty"))
        return sec
    sec.table(vpr_overview_table(data, school_id, year), caption=f"Все ВПР {year} года: школа и группы сравнения",
               note="Для школы в квадратных скобках — 95 % доверительный интервал; «похожие» — школы того же типа "
                    "и типа населённого пункта.")
    ov = vpr_overview_marks(data, school_id, year)
    if not ov.empty:
        sec.figure(plots.marks_chart(ov, source=_vpr_source(year), title="Отметки по всем работам"))
    oj = vpr_overview_journal(data, school_id, year)
    if not oj.empty:
        sec.figure(plots.vpr_vs_journal_chart(oj, source=f"{_vpr_source(year)}; отметка за четверть",
                                                title="Отметка ВПР и отметка в журнале по всем работам"))
    standout = _standout_works(data, school_id, year)
    thr = sufficiency_thresholds(data, year)
    shown = 0
    if detail == "all":
        chosen = list(zip(taken["grade"].astype(int), taken["subject"].astype(str)))
    else:
        core = [(int(g), str(x)) for g, x in zip(taken["grade"], taken["subject"]) if x in CORE_SUBJECTS]
        other = [(int(g), str(x)) for g, x in zip(taken["grade"], taken["subject"])
                 if x not in CORE_SUBJECTS and (int(g), str(x)) in standout]
        chosen = set((core + other)[:MAX_DETAILED_WORKS])
    for _, r in taken.iterrows():
        grade, subject, n = int(r["grade"]), str(r["subject"]), int(r["n"])
        if (grade, subject) not in chosen:
            continue
        shown += 1
        sec.html(html_heading(f"ВПР {year}: {subject}, {grade} класс", 3))
        if n < MIN_N:
            sec.html(html_para(f"Участников меньше {MIN_N} — результаты не показываются.", "msoko-empty"))
            continue
        if n < LIMITED_N:
            sec.html(html_para(f"Участников {n}: информативность ограничена, выводы предварительные.", "msoko-note"))
        sec.table(vpr_summary_table(data, school_id, year, grade, subject), caption="Основные показатели")
        tasks = task_completion(data, school_id, year, grade, subject)
        sec.table(level_table(data, school_id, year, grade, subject, tasks),
                   caption="Выполнение по уровням сложности (% от максимального балла)")
        fig = plots.vpr_detail_chart(
            scores=score_distribution(data, school_id, year, grade, subject), tasks=tasks,
            boundaries=mark_boundaries(data, year, grade, subject), max_score=_max_score(data, year, grade, subject),
            thresholds=thr, source=_vpr_source(year))
        sec.figure(fig)
    if shown < len(taken):
        sec.html(html_para(
            f"Подробно показаны {shown} из {len(taken)} работ: русский язык, математика и работы, где доля «2», "
            "качество или средний процент выполнения школы хуже муниципальных за пределами погрешности либо есть "
            f"официальный признак необъективности (не более {MAX_DETAILED_WORKS}). "
            "Чтобы показать все, выполните show_vpr_views(..., detail=\"all\").", "msoko-note"))
    return sec


def _max_score(data: ReportData, year: int, grade: int, subject: str):
    d = _vpr_cell(data, year, grade, subject)
    return float(d["max_score"].max()) if "max_score" in d and d["max_score"].notna().any() else None


def show_gia(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    t = gia_table(data, school_id, year)
    sec.table(t, caption=f"ГИА {year}: школа и муниципалитет",
               note="Средний балл: тестовый для ЕГЭ, первичный для ОГЭ; «ниже минимума» — доля участников "
                    "ниже минимального порога, в скобках 95 % ДИ.")
    return sec


def show_school_objectivity(data: ReportData, school_id: str, year: int) -> Section:
    """The school's objectivity signs with their evidence (numbers and pictures)."""
    sec = Section()
    t = signs_table(data, year, school_id)
    if t.empty:
        o = data.objectivity
        assessed = (not o.empty) and ((o["year"] == year) & (o["school_id"].astype(str) == school_id)).any()
        sec.html(html_para("Признаков необъективности за год не выявлено." if assessed else
                               "Диагностика объективности за этот год не рассчитана.", "msoko-note"))
        return sec
    sec.html("<div class=\"callout msoko\"><p>Признак — повод внимательно посмотреть на проведение и проверку "
                 "работы, а не доказательство нарушений. Официальные признаки рассчитаны по методике ФИОКО; "
                 "дополнительные — собственные показатели msoko.</p></div>")
    sec.table(t, caption="Выявленные признаки")
    d = flagged_signs(data, year, school_id)
    cells = _picture_cells(d, MAX_EVIDENCE_CELLS)
    for grade, subject in cells:
        x = d[(d["grade"] == grade) & (d["subject"] == subject)]
        sec.html(html_heading(f"Свидетельства: {subject}, {grade} класс", 4))
        _evidence_charts(sec, data, school_id, year, grade, subject, set(x["sign"]))
    rest = d.dropna(subset=["grade", "subject"])[["grade", "subject"]].drop_duplicates()
    if len(rest) > len(cells):
        sec.html(html_para("Рисунки приведены для работ с официальными признаками или сводной оценкой msoko "
                               f"(не более {MAX_EVIDENCE_CELLS}); числа по остальным — в таблице выше.", "msoko-note"))
    return sec


def show_school_recommendations(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    t = recommendations_table(data, year, school_id=school_id)
    sec.table(t, caption=f"Адресные рекомендации по итогам {year} года")
    m = measures_table(data, year, school_id=school_id)
    if not m.empty:
        sec.table(m, caption=f"Меры и управленческие решения {year} года")
    return sec



def show_school_effectiveness(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    _show_effectiveness(sec, data, year, f"Мер в отношении школы за {year - 1} и предыдущие годы не зарегистрировано.",
                        school_id=school_id)
    return sec


