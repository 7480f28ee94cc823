"""The objectivity diagnostics report, one function per section; each returns a :class:`~msoko.report.section.Section`.
"""
from __future__ import annotations


import pandas as pd

from msoko.objectivity.core import OFFICIAL_SIGNS
from msoko.report.fmt import fmt, html_heading, html_para
from msoko.report.data import ReportData, school_name
from msoko.report.signs import flagged_signs, objectivity_index, plan_of_work, sign_name, signs_table
from msoko.report.evidence import MAX_CARDS, _evidence_charts, _picture_cells

from msoko.report.section import Section


def show_objectivity_official(data: ReportData, year: int) -> Section:
    sec = Section()
    sec.table(objectivity_index(data), caption="Показатель объективности по годам",
               note="Показатель = 100 − доля (%) школ, у которых выявлен хотя бы один из 14 официальных признаков.")
    o = data.objectivity
    if o.empty:
        return sec
    d = o[(o["year"] == year) & o["sign"].isin(OFFICIAL_SIGNS)]
    if not d.empty:
        g = d.groupby("sign").agg(assessed=("flagged", lambda s: int(s.notna().sum())),
                                  flagged=("flagged", lambda s: int(s.fillna(False).astype(bool).sum())))
        t = pd.DataFrame({"Признак": [sign_name(x) for x in g.index], "Оценено случаев": g["assessed"].map(fmt).values,
                          "Выявлено": g["flagged"].map(fmt).values})
        sec.table(t, caption=f"Официальные признаки {year} года (школа × класс × предмет)")
    sec.table(signs_table(data, year, official=True), caption=f"Школы с официальными признаками, {year}",
               note="Школы перечислены по названию.")
    return sec


def show_objectivity_msoko(data: ReportData, year: int) -> Section:
    sec = Section()
    sec.html(
        "<div class=\"callout msoko\"><p><b>Собственные показатели msoko.</b> Ниже — дополнительные свидетельства, "
        "которых нет в официальной методике ФИОКО: скопления баллов у границ отметок, соотношение базовых и сложных "
        "заданий, расхождение с журналом, сопоставление с ГИА, совпадение ответов, колебания по годам, а также "
        "сводная оценка msoko. Это основания присмотреться, а не доказательство.</p>"
        "<p>Важно: на реальных региональных данных буквальное правило «завышенный средний балл» (интервал школы "
        "целиком выше интервала региона) отмечает многие сильные гимназии и лицеи — у них высокий балл объясняется "
        "составом обучающихся. Поэтому msoko показывает рядом калиброванную альтернативу — сравнение с похожими "
        "школами (тот же тип и тип населённого пункта).</p></div>")
    sec.table(signs_table(data, year, official=False), caption=f"Дополнительные признаки msoko, {year}",
               note="Школы перечислены по названию.")
    return sec


def show_objectivity_cards(data: ReportData, year: int, *, max_cards: int = MAX_CARDS) -> Section:
    """An evidence card for every school of the plan of work (by name): its signs with their numbers,
    and one picture of the work with an official sign or msoko's combined judgement."""
    sec = Section()
    plan = plan_of_work(data, year)
    if plan.empty:
        sec.html(html_para("Школ для плана работы нет: ни официальных признаков, ни сводной оценки msoko.",
                               "msoko-empty"))
        return sec
    d = flagged_signs(data, year)
    ids = list(plan["Логин"])
    if len(ids) > max_cards:
        sec.html(html_para(f"Школ в плане работы {len(ids)}; карточки приведены для первых {max_cards} по "
                               "алфавиту, полные свидетельства каждой школы — в её отчёте.", "msoko-note"))
    for sid in ids[:max_cards]:
        sec.html(html_heading(f"{school_name(data, sid)} ({sid})", 3))
        sec.table(signs_table(data, year, sid), caption="Признаки и свидетельства")
        x = d[d["school_id"] == sid]
        for grade, subject in _picture_cells(x, 1):
            y = x[(x["grade"] == grade) & (x["subject"] == subject)]
            _evidence_charts(sec, data, sid, year, grade, subject, set(y["sign"]), titled=True)
    return sec


def show_plan_of_work(data: ReportData, year: int) -> Section:
    sec = Section()
    p = plan_of_work(data, year)
    sec.table(p, caption=f"Школы для плана работы по обеспечению объективности на {year + 1} год",
               note="Как в плане работы департамента образования г. Омска (2021): совещание с руководителями, "
                    "мониторинговые визиты, перепроверка работ, собеседование по дорожным картам, экспертиза КИМ. "
                    "Школы перечислены по названию.")
    return sec
