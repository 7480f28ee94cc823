"""The re-check section of the objectivity report: «справка по итогам перепроверки» per school and work,
and msoko's precision measured against the re-checks. Everything is read from compute's
``objectivity_recheck`` and ``objectivity_recheck_precision`` tables (msoko/objectivity/recheck.py)."""
from __future__ import annotations

import pandas as pd

from msoko.report.data import ReportData, limited_below, suppress_below
from msoko.report.fmt import fmt, fmt_signed, informativeness_word, plural
from msoko.report.section import Section

NO_DATA = ("Перепроверка работ в этом году в данные не загружена (шаблон «Перепроверка работ ВПР», "
           "templates/recheck.xlsx): раздел не оценивался.")


def _of_year(data: ReportData, name: str, year: int) -> pd.DataFrame:
    """Compute's table ``name`` for one year (empty when absent)."""
    t = data.table(name)
    return t if t.empty else t[t["year"] == year]


def _school_names(data: ReportData, ids: pd.Series) -> pd.Series:
    """«Школа» column: each login's name from the registry, the login where the registry has none."""
    return ids.map(data.schools.set_index("school_id")["name"]).fillna(ids)


def _interval(lo, hi) -> str:
    return "" if pd.isna(lo) or pd.isna(hi) else f" [{fmt_signed(lo)}…{fmt_signed(hi)}]"


def _interval2(lo, hi) -> str:
    return "" if pd.isna(lo) or pd.isna(hi) else f" [{fmt_signed(lo, 2)}…{fmt_signed(hi, 2)}]"


def recheck_table(data: ReportData, year: int) -> pd.DataFrame:
    """One row per re-checked school and work, sorted by school name."""
    s = _of_year(data, "objectivity_recheck", year)
    if s.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        "Школа": _school_names(data, s["school_id"]),
        "Логин": s["school_id"],
        "Работа": s["grade"].astype(int).astype(str) + " кл., " + s["subject"],
        "Перепроверено работ": s["works"].astype(int),
        "Изменение среднего первичного балла [95 % ДИ]": [
            fmt_signed(m) + _interval(lo, hi) for m, lo, hi in zip(s["mean_change"], s["ci_low"], s["ci_high"])],
        "Отметка изменилась": [f"{int(c)} из {int(w)}" for c, w in zip(s["marks_changed"], s["works"])],
        "Задания, где изменения сосредоточены": [t if t else ("распределены по заданиям" if abs(m) >= 0.5 else "—")
                                                 for t, m in zip(s["tasks"].fillna(""), s["mean_change"])],
        "Вывод": s["verdict"],
    })
    return out.sort_values(["Школа", "Логин", "Работа"]).reset_index(drop=True)


def precision_table(data: ReportData, year: int) -> pd.DataFrame:
    p = data.table("objectivity_recheck_precision")
    if p.empty:
        return pd.DataFrame()
    p = p[p["year"] == year]
    out = pd.DataFrame({
        "Работы": p["title"],
        "Перепроверено": p["works_rechecked"].astype(int),
        "С выводом": p["with_verdict"].astype(int),
        "Подтверждено": p["confirmed"].astype(int),
        "Доля подтверждённых, % [95 % ДИ]": [
            "—" if pd.isna(v) else f"{fmt(v, 0)} [{fmt(lo, 0)}–{fmt(hi, 0)}]"
            for v, lo, hi in zip(p["share_confirmed"], p["ci_low"], p["ci_high"])],
    })
    if "schools_visited" in p and p["schools_visited"].fillna(0).sum() > 0:
        out["Школ посещено (признаки — в прошлом году)"] = p["schools_visited"].fillna(0).astype(int).to_numpy()
        out["С замечаниями или нарушениями, % [95 % ДИ]"] = [
            "—" if pd.isna(v) else f"{int(k)} из {int(n)}: {fmt(v, 0)} [{fmt(lo, 0)}–{fmt(hi, 0)}]"
            for k, n, v, lo, hi in zip(p["visits_findings"], p["schools_visited"], p["share_visits_findings"],
                                       p["visits_ci_low"], p["visits_ci_high"])]
    return out.reset_index(drop=True)


def show_recheck(data: ReportData, year: int) -> Section:
    sec = Section()
    t = recheck_table(data, year)
    if t.empty:
        return sec.para(NO_DATA)
    s = data.table("objectivity_recheck")
    s = s[s["year"] == year]
    n_conf = int((s["verdict"] == "подтверждено").sum())
    sec.para(f"Перепроверено {len(s)} работ школ ({int(s['works'].sum())} работ обучающихся). Перепроверка "
             f"подтвердила заметное снижение баллов в {n_conf} из них. Перепроверка — основание для разговора "
             "с руководителем о критериях проверки, а не вывод о добросовестности педагогов.")
    sec.table(t, caption="Итоги перепроверки по школам и работам",
              note="Изменение — перепроверенный балл минус первоначальный, в среднем на работу; «подтверждено» — "
                   "интервал целиком ниже нуля и снижение не меньше порога конфигурации ([recheck]); «мало работ» — "
                   "вывод не делается.")
    names = data.schools.set_index("school_id")["name"]
    sec.say([f"{names.get(r.school_id, r.school_id)} ({r.school_id}), {int(r.grade)} кл., {r.subject}: {r.text}"
             for r in s.sort_values(["school_id", "grade", "subject"]).itertuples(index=False)])
    p = precision_table(data, year)
    if not p.empty:
        visited = "Школ посещено (признаки — в прошлом году)" in p
        sec.heading("Насколько признаки подтверждаются перепроверкой" + (" и визитами" if visited else ""), 4)
        sec.table(p, caption="Точность признаков по данным перепроверки"
                  + (" и мониторинговых визитов" if visited else "") + " этого муниципалитета",
                  note="Работа может входить в несколько строк (несколько семейств признаков). Малое число "
                       "перепроверенных работ даёт широкий интервал."
                       + (" Визиты этого года сопоставлены с признаками прошлого года (план работы, составленный "
                          "по итогам года, выполняется в следующем): из посещённых школ с работой, отмеченной "
                          "признаками семейства, — у скольких визит выявил замечания или нарушения; строка «работы "
                          "без признаков» — посещённые школы без отмеченных работ." if visited else ""))
    return sec


NO_OBSERVERS = ("Работы под независимым наблюдением в данные не загружены (шаблон «Независимые наблюдатели на ВПР», "
                "templates/observers.xlsx): раздел не оценивался.")


def observed_table(data: ReportData, year: int) -> pd.DataFrame:
    o = _of_year(data, "objectivity_observed", year)
    if o.empty:
        return pd.DataFrame()

    def sd(x):
        return "—" if pd.isna(x) else fmt_signed(x, 2)

    out = pd.DataFrame({
        "Школа": _school_names(data, o["school_id"]), "Логин": o["school_id"],
        "Работа": o["grade"].astype(int).astype(str) + " кл., " + o["subject"],
        "Наблюдатель": o["observer"],
        "Результат под наблюдением, SD": o["d"].map(sd),
        "Та же работа год назад, SD": o["d_prev"].map(sd),
        "Изменение [95 % ДИ]": [("—" if pd.isna(c) else fmt_signed(c, 2) + _interval2(lo, hi))
                                 for c, lo, hi in zip(o["change"], o["ci_low"], o["ci_high"])],
        "Другие работы школы этого года, SD": o["d_other"].map(sd),
        "Вывод": o["verdict"]})
    return out.sort_values(["Школа", "Логин", "Работа"]).reset_index(drop=True)


def show_observed(data: ReportData, year: int) -> Section:
    sec = Section()
    t = observed_table(data, year)
    if t.empty:
        return sec.para(NO_OBSERVERS)
    lower = int((t["Вывод"] == "ниже обычного для школы").sum())
    sec.para(f"Работ под наблюдением: {len(t)}; ниже, чем та же работа школы годом раньше сверх обычных колебаний, — "
             f"{lower}. Наблюдение — естественный эксперимент: если результаты без наблюдателей завышены процедурой, "
             "под наблюдением они ниже. Это повод сопоставить процедуры, а не вывод о конкретных педагогах.")
    sec.table(t, caption="Работы под независимым наблюдением",
              note="SD — результат школы относительно всех участников работы в единицах стандартного отклонения "
                   "баллов участников; интервал изменения учитывает обычные колебания результатов школ между годами.")
    return sec


def plan_document_table(data: ReportData, year: int) -> pd.DataFrame:
    """The year's plan of work as a document (compute's ``objectivity_plan_document``)."""
    d = data.table("objectivity_plan_document")
    if d.empty:
        return pd.DataFrame()
    d = d[d["year"] == year].sort_values("item")
    return pd.DataFrame({"№": d["item"].astype(int), "Мероприятие": d["measure"], "Ожидаемый результат": d["result"],
                         "Сроки исполнения": d["dates"], "Ответственные": d["responsible"],
                         "Организации": d["schools"]}).reset_index(drop=True)


def show_plan_document(data: ReportData, year: int) -> Section:
    sec = Section()
    t = plan_document_table(data, year)
    if t.empty:
        return sec.para("План работы по объективности не построен: нет признаков, которые его требуют, или "
                        "диагностика не рассчитана.")
    sec.para(f"План работы на {year + 1} год по итогам {year} года в форме, которую утверждает управление "
             "образования: мероприятия следуют из уровня плана каждой школы; ответственные — из конфигурации "
             "([objectivity_plan.responsible]). Таблица есть и в файле Excel отчёта.")
    return sec.table(t, caption=f"План работы с организациями, демонстрирующими признаки необъективности, на {year + 1} год")


def review_table(data: ReportData, year: int) -> pd.DataFrame:
    r = _of_year(data, "objectivity_review", year)
    if r.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        "Школа": _school_names(data, r["school_id"]), "Логин": r["school_id"],
        f"Уровень плана {year - 1}": r["tier_before"].astype(int),
        f"Уровень плана {year}": r["tier_now"].map(lambda t: "вне плана" if pd.isna(t) else str(int(t))),
        "Сохранились": r["persisted"].replace("", "—"), "Исчезли": r["disappeared"].replace("", "—"),
        "Появились": r["appeared"].replace("", "—"),
        "Перепроверка": r["recheck"].replace("", "—"), "Наблюдение": r["observed"].replace("", "—"),
        "Мониторинговый визит": (r["visits"] if "visits" in r else pd.Series("", index=r.index)).fillna("").replace(
            "", "—")})
    return out.sort_values(["Школа", "Логин"]).reset_index(drop=True)


def show_year_review(data: ReportData, year: int) -> Section:
    sec = Section()
    t = review_table(data, year)
    if t.empty:
        return sec.para(f"Плана работы по итогам {year - 1} года в данных нет: подводить итоги нечему.")
    left = int((t[f"Уровень плана {year}"] == "вне плана").sum())
    sec.para(f"Школ плана {year - 1} года: {len(t)}; признаков этого года нет у {left}, у остальных признаки "
             "сохраняются или сменились. Таблица — основа управленческого собеседования с руководителями по итогам "
             "реализации плана (декабрь).")
    return sec.table(t, caption=f"Школы плана {year - 1} года в {year} году")


def olympiad_table(data: ReportData, year: int) -> pd.DataFrame:
    o = _of_year(data, "objectivity_olympiad", year)
    if o.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        "Школа": _school_names(data, o["school_id"]), "Логин": o["school_id"],
        "Призёров и победителей школьного этапа на муниципальном": o["advanced"].astype(int),
        "Из них призёров муниципального этапа": o["awarded"].astype(int),
        "Доля, %": o["share"].map(lambda v: fmt(v, 0)), "У других школ, %": o["expected"].map(lambda v: fmt(v, 0)),
        "ВПР школы, SD": (o["vpr_d"] if "vpr_d" in o else pd.Series(float("nan"), index=o.index)).map(
            lambda v: "—" if pd.isna(v) else fmt_signed(v, 2)),
        "ОГЭ школы, SD": (o["oge_d"] if "oge_d" in o else pd.Series(float("nan"), index=o.index)).map(
            lambda v: "—" if pd.isna(v) else fmt_signed(v, 2)),
        "Находка": o["flagged"].map(lambda f: "да" if f is True else ("нет" if f is False else "не оценивается"))})
    return out.sort_values(["Школа", "Логин"]).reset_index(drop=True)


def show_olympiad(data: ReportData, year: int) -> Section:
    sec = Section()
    t = olympiad_table(data, year)
    if t.empty:
        return sec.para("Результаты ВсОШ в данные не загружены или никто из призёров школьного этапа не участвовал в "
                        "муниципальном: раздел не оценивался.")
    o = data.table("objectivity_olympiad")
    o = o[(o["year"] == year) & o["flagged"].fillna(False).astype(bool)]
    sec.para("Если призёры и победители школьного этапа школы заметно реже других становятся призёрами муниципального "
             "этапа, школьный этап, возможно, оценивался мягче. Это повод посмотреть на работу жюри, а не вывод: "
             "победители школьного этапа в школе с более слабыми учениками и без мягкого жюри реже проходят "
             "дальше — поэтому рядом результаты школы в ВПР и ОГЭ того же года. "
             f"Находок: {len(o)}.")
    sec.table(t, caption=f"Школьный этап ВсОШ {year}: подтверждается ли он муниципальным",
              note="Оценивается школа, у которой не меньше [olympiad_objectivity] olympiad_min_n таких участников; находка — "
                   "биномиальный критерий против доли у других школ, p < olympiad_alpha. «ВПР/ОГЭ школы» — средний "
                   "результат всех учеников школы в этом году относительно муниципалитета (в SD участников), не только "
                   "олимпиадников: коды олимпиады и ВПР/ОГЭ не связаны.")
    names = data.schools.set_index("school_id")["name"]
    sec.say([f"{names.get(r.school_id, r.school_id)} ({r.school_id}): {r.text}" for r in o.itertuples(index=False)],
            empty="")
    return sec


NO_VISITS = ("Справки мониторинговых визитов в данные не загружены (шаблон «Мониторинговые визиты в ОО», "
             "templates/visits.xlsx): раздел не оценивался.")


def _tier_word(t, year: int) -> str:
    return "вне плана" if pd.isna(t) else f"уровень {int(t)}"


def visits_table(data: ReportData, year: int) -> pd.DataFrame:
    """One row per school with a visit this year, or a tier-1 plan school without one (compute's ``objectivity_visits``)."""
    v = _of_year(data, "objectivity_visits", year)
    if v.empty:
        return pd.DataFrame()
    out = pd.DataFrame({
        "Школа": _school_names(data, v["school_id"]), "Логин": v["school_id"],
        f"План {year - 1} года": [_tier_word(t, year) for t in v["plan_tier"]],
        "Даты визитов": v["dates"].replace("", "—"),
        "Проверено пунктов": v["items"].astype(int),
        "С замечаниями": v["items_remarks"].astype(int),
        "С нарушениями": v["items_violations"].astype(int),
        "Итог": v["finding"]})
    out["_plan"] = v["plan_tier"].isna().to_numpy()
    return out.sort_values(["_plan", "Школа", "Логин"]).drop(columns="_plan").reset_index(drop=True)


def show_visits(data: ReportData, year: int) -> Section:
    sec = Section()
    t = visits_table(data, year)
    if t.empty:
        return sec.para(NO_VISITS)
    v = _of_year(data, "objectivity_visits", year)
    done = v[v["visits"] > 0]
    plan = v[v["plan_tier"].notna()]
    plan_done = plan[plan["visits"] > 0]
    not_done = plan[plan["visits"] == 0]
    n_vio, n_rem = int((done["finding"] == "нарушения").sum()), int((done["finding"] == "замечания").sum())
    sec.para(f"Мониторинговые визиты {year} года: {len(done)} {plural(len(done), 'школа', 'школы', 'школ')}, из них "
             f"школ плана работы по итогам {year - 1} года — {len(plan_done)}"
             + (f"; школ уровня 1 без справки о визите — {len(not_done)}" if len(not_done) else "")
             + f". Нарушения отмечены у {n_vio} {plural(n_vio, 'школы', 'школ', 'школ')}, только замечания — у "
               f"{n_rem}. Справка говорит о порядке проведения и проверки работ, а не о добросовестности педагогов; "
               "сопоставляйте её с признаками школы.")
    sec.table(t, caption=f"Мониторинговые визиты {year} года по школам",
              note=f"«План {year - 1} года» — уровень школы в плане работы, составленном по итогам {year - 1} года "
                   "(визиты плана — для уровня 1); «визит не проводился» — школа уровня 1, справки о визите которой "
                   "в данных нет.")
    bt = _of_year(data, "objectivity_visits_by_tier", year)
    if not bt.empty:
        sec.table(pd.DataFrame({
            f"Уровень в плане {year - 1} года": bt["title"], "Посещено школ": bt["visited"].astype(int),
            "С нарушениями": bt["with_violations"].astype(int),
            "С замечаниями или нарушениями, % [95 % ДИ]": [
                f"{int(k)} — {fmt(v, 0)} [{fmt(lo, 0)}–{fmt(hi, 0)}]"
                for k, v, lo, hi in zip(bt["with_findings"], bt["share_findings"], bt["ci_low"], bt["ci_high"])]}),
            caption="Что нашли визиты у школ разных уровней плана",
            note="Проверка плана на собственных данных муниципалитета: если признаки указывают на процедуру, у школ "
                 "уровня 1 замечаний и нарушений больше, чем у школ вне плана. Школ мало — интервалы широкие.")
    names = data.schools.set_index("school_id")["name"]
    flagged = plan_done[plan_done["finding"] == "нарушения"].sort_values("school_id")
    if len(flagged):
        sec.heading("Школы плана, в справках которых отмечены нарушения", 4)
        sec.say([f"{names.get(r.school_id, r.school_id)} ({r.school_id}, {_tier_word(r.plan_tier, year)} плана "
                 f"{year - 1} года): {r.text}" for r in flagged.itertuples(index=False)])
    return sec


NO_MEDALS = ("Сведения о претендентах на медаль «За успехи в учении» в данные не загружены (шаблон «Претенденты на "
             "медаль «За успехи в учении»», templates/medals.xlsx): раздел не оценивался.")


def medals_table(data: ReportData, year: int) -> pd.DataFrame:
    """Per school and exam: candidates' «5» against their exam results (compute's ``objectivity_medals``)."""
    m = _of_year(data, "objectivity_medals", year)
    m = m[~m["suppressed"].astype(bool)] if not m.empty else m
    if m.empty:
        return pd.DataFrame()
    hidden = m["suppressed"].astype(bool)

    def share(r):
        return "—" if r.suppressed else f"{fmt(r.share, 0)} [{fmt(r.ci_low, 0)}–{fmt(r.ci_high, 0)}]"

    def mean(r):
        if r.suppressed or pd.isna(r.mean_result):
            return "—"
        d = 1 if r.exam == "ОГЭ" else 0
        return f"{fmt(r.mean_result, d + 1)} [{fmt(r.mean_low, d + 1)}–{fmt(r.mean_high, d + 1)}]"

    def gap(r):
        if r.suppressed or pd.isna(r.gap):
            return "—"
        d = 2 if r.exam == "ОГЭ" else 1
        return fmt_signed(r.gap, d) + _interval2(r.gap_low, r.gap_high) if d == 2 else (
            fmt_signed(r.gap, d) + _interval(r.gap_low, r.gap_high))

    rows = list(m.itertuples(index=False))
    out = pd.DataFrame({
        "Школа": _school_names(data, m["school_id"]), "Логин": m["school_id"], "Экзамен": m["exam"],
        "Претендентов": m["candidates"].astype(int),
        "Результатов с годовой «5»": [("—" if h else str(int(n))) for h, n in zip(hidden, m["n"])],
        "Ниже обещанного, % [95 % ДИ]": [share(r) for r in rows],
        "У других школ, %": m["expected"].map(lambda v: fmt(v, 0)),
        "Средний результат [95 % ДИ]": [mean(r) for r in rows],
        "Разрыв с другими школами [95 % ДИ]": [gap(r) for r in rows],
        "Информативность": [informativeness_word(r.candidates, limited_below=limited_below(data)) for r in rows],
        "Находка": [("не оценивается" if pd.isna(r.flagged) else "да" if bool(r.flagged) else "нет") for r in rows]})
    return out.sort_values(["Школа", "Логин", "Экзамен"]).reset_index(drop=True)


def show_medals(data: ReportData, year: int) -> Section:
    sec = Section()
    m = _of_year(data, "objectivity_medals", year)
    if m.empty:
        return sec.para(NO_MEDALS)
    t = medals_table(data, year)
    conf = {"ege_min_score": 60, "min_exam_mark": 4, "min_n": 10, **(data.config.get("medals") or {})}
    flagged = m[m["flagged"].fillna(False).astype(bool)].sort_values(["school_id", "exam"])
    shown = m[~m["suppressed"].astype(bool)]
    n_hidden = len(m) - len(shown)
    sec.para(f"Годовая «5» претендента на медаль обещает хороший результат экзамена. «Ниже обещанного» — тестовый "
             f"балл ЕГЭ меньше {fmt(conf['ege_min_score'], 0)} или отметка за экзамен (ОГЭ, ЕГЭ базового уровня) ниже "
             f"«{int(conf['min_exam_mark'])}» ([medals] конфигурации). Школ с результатами претендентов: "
             f"{m['school_id'].nunique()}, в таблице — {shown['school_id'].nunique()}; не показаны {n_hidden} "
             f"{plural(n_hidden, 'строка', 'строки', 'строк')} «школа × экзамен», где претендентов меньше "
             f"{suppress_below(data)}. Находок: {len(flagged)}. Находка — "
             "повод сопоставить требования к отметкам претендентов с требованиями экзамена, а не вывод: претендент "
             "мог и просто неудачно написать экзамен.")
    if t.empty:
        return sec
    sec.table(t, caption=f"Претенденты на медаль {year}: годовые «5» и результаты ГИА",
              note="Средний результат — тестовый балл ЕГЭ или отметка за ОГЭ; разрыв — с претендентами других школ "
                   "(интервал Уэлча). Находка — доля «ниже обещанного» больше, чем у других школ (биномиальный "
                   f"критерий, p < {fmt(conf.get('alpha', 0.01), 2)}) при не менее {int(conf['min_n'])} результатах; "
                   f"информативность — по числу претендентов (меньше {limited_below(data)} — ограничена).")
    names = data.schools.set_index("school_id")["name"]
    sec.say([f"{names.get(r.school_id, r.school_id)} ({r.school_id}): {r.text}" for r in flagged.itertuples(index=False)],
            empty="")
    return sec
