"""The objectivity diagnostics report, one function per section; each returns a :class:`~msoko.report.section.Section`.

Every sign is a reason to look at how a work was written and marked, never an accusation. Evidence is
given in words (:func:`msoko.report.fmt.chance` for a p-value, :func:`msoko.report.fmt.plain` for the
objectivity module's own sentence); a work is named with its procedure («ОГЭ, математика» is not a ВПР
class «9 кл.»); schools are listed by name.
"""
from __future__ import annotations


import pandas as pd

from msoko.vocabulary import OFFICIAL_SIGNS
from msoko.report.fmt import LIMITED_N, _plural, chance, fmt, html_heading, html_para, informativeness, plain
from msoko.report.data import ReportData, school_name, suppress_below
from msoko.report.signs import flagged_signs, objectivity_index, plan_counts, plan_of_work, plan_rows, sign_name
from msoko.report.evidence import MAX_CARDS, _evidence_charts, _picture_cells

from msoko.report import municipalities as MU
from msoko.report.section import Section


OFFICIAL_TOTAL = 14  # signs of the ФИОКО method: 6 inflated mean, 4 journal mismatch, 4 cohort rise/fall
ADDITIONAL = "дополнительный (не из методики ФИОКО)"


def _work(r) -> str:
    """«ВПР, 4 класс, математика» / «ОГЭ, русский язык»: the procedure first, a class only for ВПР."""
    proc = str(r.get("procedure") or "ВПР")
    subj = r.get("subject")
    subj = str(subj) if isinstance(subj, str) else ""
    g = r.get("grade")
    if proc == "ВПР" and g is not None and not pd.isna(g):
        return f"ВПР, {int(g)} класс" + (f", {subj}" if subj else "")
    return proc + (f", {subj}" if subj else "")


def sign_title(sign: str) -> str:
    """A sign's Russian title without the «(msoko)» mark of the module's catalogue."""
    return plain(sign_name(sign)).replace(" (МСОКО)", "").strip()


def official_coverage(data: ReportData, year: int) -> tuple[int, list[str]]:
    """How many of the 14 official signs (sign × procedure × class × subject) were computed this year,
    and which works they cover."""
    o = data.objectivity
    if o.empty:
        return 0, []
    d = o[(o["year"] == year) & o["sign"].isin(OFFICIAL_SIGNS) & o["flagged"].notna()]
    cells = d.drop_duplicates(["sign", "procedure", "grade", "subject"])
    return len(cells), sorted({f"{sign_title(r['sign'])}: {_work(r)}" for _, r in cells.iterrows()})


PLAN_NOTE = (" Школы плана работы — с мерами (уровни 1–2: находки, подтверждённые на уровне школы с поправкой на "
             "число её работ) и для самоанализа (уровень 3: одна такая находка); это число msoko, а не отдельные "
             "работы с признаками. Школы, у которых признаки отмечены лишь в отдельных работах или только "
             "официальные, в план не входят.")


def _index_note(data: ReportData, year: int) -> str:
    return _official_note(data, year) + (PLAN_NOTE if plan_counts(data, year) is not None else "")


def _official_note(data: ReportData, year: int) -> str:
    k, _ = official_coverage(data, year)
    if k >= OFFICIAL_TOTAL:
        return (f"Показатель = 100 − доля (%) школ, у которых выявлен хотя бы один из {OFFICIAL_TOTAL} официальных "
                f"признаков; в {year} году рассчитаны все {OFFICIAL_TOTAL}.")
    return (f"Показатель = 100 − доля (%) школ, у которых выявлен хотя бы один из официальных признаков. Методика "
            f"ФИОКО предусматривает {OFFICIAL_TOTAL} признаков; по данным {year} года рассчитано {fmt(k)} — "
            "для остальных нет нужных работ (например, ВПР того же класса в следующем году или ОГЭ).")


def index_table(data: ReportData) -> pd.DataFrame:
    return objectivity_index(data)


def signs_frame(data: ReportData, year: int, school_id: str | None = None, *, official: bool | None = None,
                include_combined: bool = True) -> pd.DataFrame:
    """Flagged signs with their evidence in words, the strength of the evidence and the informativeness,
    by school name; the work named with its procedure."""
    d = flagged_signs(data, year, school_id, official=official, include_combined=include_combined)
    if d.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    rows = []
    for _, r in d.iterrows():
        off = r["sign"] in OFFICIAL_SIGNS
        detail = r.get("detail")
        ev = plain(detail) if isinstance(detail, str) and detail.strip() else "—"
        p = r.get("p_value")
        strength = chance(p) if p is not None and not pd.isna(p) else ("условие методики ФИОКО выполнено" if off else "—")
        n = r.get("n")
        rows.append({"Школа": str(names.get(r["school_id"], r["school_id"])), "Логин": str(r["school_id"]),
                     "Работа": _work(r),
                     "Признак": sign_title(r["sign"]), "Чей признак": "официальный (ФИОКО)" if off else ADDITIONAL,
                     "Свидетельство": ev, "Сила свидетельства": strength,
                     "Информативность": informativeness(n, suppress_below(data)) if n is not None and not pd.isna(n) else "—"})
    out = pd.DataFrame(rows)
    if school_id is not None:
        out = out.drop(columns=["Школа", "Логин"])
    else:
        out = with_municipality(data, out)
    if official is not None:
        out = out.drop(columns=["Чей признак"])
    return out


def with_municipality(data: ReportData, df: pd.DataFrame, login: str = "Логин") -> pd.DataFrame:
    """With several municipalities loaded: a «Муниципалитет» column after «Школа» (school names are not
    unique: two «МБОУ СОШ №1») and the rows ordered by municipality, then name; the order within is kept."""
    if df.empty or login not in df or data.schools["municipality"].nunique() <= 1:
        return df
    muni = data.schools.assign(school_id=data.schools["school_id"].astype(str)).drop_duplicates("school_id") \
        .set_index("school_id")["municipality"]
    out = df.copy()
    m = out[login].astype(str).map(muni)
    out.insert(list(out.columns).index("Школа") + 1 if "Школа" in out else 0, "Муниципалитет",
               m.where(m.notna(), "не указан").astype(str))
    return out.iloc[out["Муниципалитет"].reset_index(drop=True).argsort(kind="stable").to_numpy()].reset_index(drop=True)


def show_objectivity_data_quality(data: ReportData, year: int) -> Section:
    """Rejected rows that concentrate on one school and work, and the organisations not counted as schools
    of their municipality: data quality, a reason to look at the protocol, not a verdict."""
    sec = Section()
    rej = MU.reject_findings(data, year)
    if rej.empty:
        sec.html(html_para(f"В {year} году нет работ школ, где отклонённые при загрузке строки сосредоточены "
                           "(подробный перечень отклонённых строк — rejects.csv).", "msoko-note"))
    else:
        sec.table(with_municipality(data, rej), caption=f"Качество данных: отклонённые строки по школам и работам, {year}",
                  note=MU.REJECT_NOTE)
    odd = MU.odd_organisations(data)
    if not odd.empty:
        sec.table(odd, caption="Организации, не считающиеся школами муниципалитетов", note=MU.ODD_NOTE)
    return sec


def objectivity_key_messages(data: ReportData, year: int) -> list[str]:
    """The year in three sentences: the index and its change, the schools for the plan of work, the
    signs whose p-values do not fit these data."""
    out = []
    idx = objectivity_index(data)
    if not idx.empty and str(year) in set(idx["Год"]):
        x = idx.set_index("Год")
        s = f"Показатель объективности {year} года — {x.loc[str(year), 'Показатель объективности']}"
        if str(year - 1) in x.index:
            s += f" (в {year - 1} году — {x.loc[str(year - 1), 'Показатель объективности']})"
        k, _ = official_coverage(data, year)
        out.append(s + f": официальные признаки выявлены у {x.loc[str(year), 'Школ с хотя бы одним признаком']} из "
                       f"{x.loc[str(year), 'Школ оценено']} школ (рассчитано {fmt(k)} из {OFFICIAL_TOTAL} признаков).")
    pc = plan_counts(data, year)   # compute's count of the plan's schools (municipalities_summary)
    if pc is not None:
        t12 = int(pc["plan_measures"])
        out.append(f"План работы на {year + 1} год: {fmt(t12)} {_plural(t12, 'школа', 'школы', 'школ')} с мерами из "
                   f"{fmt(int(pc['plan_assessed']))} оценённых — наблюдатели или перепроверка у "
                   f"{fmt(int(pc['plan_tier1']))}, экспертиза КИМ и сопоставление отметок у {fmt(int(pc['plan_tier2']))}; "
                   f"самоанализ без внешних мер (одна находка на уровне школы) — у {fmt(int(pc['plan_tier3']))}.")
        k = int(pc.get("plan_notes", 0) or 0)
        if k:
            out.append(notes_sentence(k, int(pc.get("plan_official_only", 0) or 0)))
    c = calibration_frame(data, year)
    if not c.empty:
        bad = c[c["Вывод"].str.startswith("в ")]
        if len(bad):
            out.append("Читать с осторожностью (p < 0,001 много чаще ожидаемого): " + "; ".join(bad["Признак"]) + ".")
    return out


def notes_sentence(k: int, official: int) -> str:
    """«Для сведения: у N школ признаки … не подтвердились на уровне школы …» — the plan's notes as a
    count (compute's ``plan_notes``, ``plan_official_only``): information, never a list to act on."""
    return (f"Для сведения: ещё у {fmt(k)} {_plural(k, 'школы', 'школ', 'школ')} признаки отмечены в отдельных "
            "работах, но не подтвердились на уровне школы с поправкой на число её работ"
            + (f" (у {fmt(official)} из них — только официальные признаки ФИОКО, они показаны в разделе "
               "официальных признаков)" if official else "")
            + "; в план работы эти школы не входят и мер не требуют, пояснение — в отчёте каждой школы.")


def show_objectivity_official(data: ReportData, year: int) -> Section:
    sec = Section()
    sec.say(objectivity_key_messages(data, year), empty="Диагностика объективности за этот год не рассчитана.")
    sec.table(index_table(data), caption="Показатель объективности по годам", note=_index_note(data, year))
    if MU.municipalities_count(data) > 1:
        sec.table(MU.side_by_side(data, year), caption=f"Показатель объективности по муниципалитетам, {year}",
                  note="Показатель каждого муниципалитета — 100 − % школ хотя бы с одним официальным признаком среди "
                       "оценённых школ этого муниципалитета (интервалы признаков по-прежнему сравниваются со всеми "
                       "загруженными школами). Муниципалитеты перечислены по названию.")
    o = data.objectivity
    if o.empty:
        return sec
    d = o[(o["year"] == year) & o["sign"].isin(OFFICIAL_SIGNS)]
    if not d.empty:
        rows = []
        for (sign, proc, g, s), x in d.groupby(["sign", "procedure", "grade", "subject"], dropna=False, sort=True):
            rows.append({"Признак": sign_title(sign), "Работа": _work({"procedure": proc, "grade": g, "subject": s}),
                         "Оценено школ": fmt(int(x["flagged"].notna().sum())),
                         "Выявлено": fmt(int(x["flagged"].fillna(False).astype(bool).sum()))})
        sec.table(pd.DataFrame(rows), caption=f"Официальные признаки {year} года по работам")
    sec.table(signs_frame(data, year, official=True), caption=f"Школы с официальными признаками, {year}",
              note="Школы перечислены по названию. Признак — повод присмотреться к проведению и проверке работы, "
                   "а не доказательство нарушений.")
    return sec


def show_objectivity_msoko(data: ReportData, year: int) -> Section:
    sec = Section()
    sec.html(
        "<div class=\"callout msoko\"><p><b>Дополнительные признаки.</b> Ниже — свидетельства, которых нет в "
        "официальной методике ФИОКО: скопления баллов у границ отметок, соотношение базовых и сложных заданий, "
        "расхождение с журналом, сопоставление с ГИА, совпадение ответов, колебания по годам, а также их "
        "совокупность. Это основания присмотреться, а не доказательство.</p>"
        "<p>Сила свидетельства сказана словами: «случайно такое бывает реже чем в 1 случае из 1000» значит, что "
        "у обычной школы с тем же числом участников такой результат встречается реже, чем раз на тысячу.</p>"
        "<p>Важно: на реальных региональных данных буквальное правило «завышенный средний балл» (интервал школы "
        "целиком выше интервала региона) отмечает многие сильные гимназии и лицеи — у них высокий балл объясняется "
        "составом обучающихся. Поэтому рядом показано сравнение с похожими школами (тот же тип и тип населённого "
        "пункта).</p></div>")
    sec.table(signs_frame(data, year, official=False), caption=f"Дополнительные признаки, {year}",
              note="Школы перечислены по названию.")
    return sec


def show_objectivity_cards(data: ReportData, year: int, *, max_cards: int = MAX_CARDS) -> Section:
    """An evidence card for every school of the plan of work with measures (tiers 1–2, in the plan's
    order): its signs with their numbers, and one picture of the work with a sign."""
    sec = Section()
    plan = plan_rows(data, year)
    plan = plan[plan["tier"] <= 2] if len(plan) else plan
    if plan.empty:
        sec.html(html_para("Школ с мерами по плану работы нет: ни одна находка не подтвердилась на уровне школы.",
                           "msoko-empty"))
        return sec
    d = flagged_signs(data, year)
    ids = list(plan["school_id"])
    if len(ids) > max_cards:
        sec.html(html_para(f"Школ с мерами в плане работы {fmt(len(ids))}; карточки приведены для первых "
                           f"{fmt(max_cards)} по силе свидетельств, полные свидетельства каждой школы — в её отчёте.",
                           "msoko-note"))
    for sid in ids[:max_cards]:
        sec.html(html_heading(school_name(data, sid), 3))
        sec.table(signs_frame(data, year, sid), caption="Признаки и свидетельства")
        x = d[d["school_id"] == sid]
        for grade, subject in _picture_cells(x, 1):
            y = x[(x["grade"] == grade) & (x["subject"] == subject)]
            _evidence_charts(sec, data, sid, year, grade, subject, set(y["sign"]), titled=True)
    return sec


def plan_table(data: ReportData, year: int) -> pd.DataFrame:
    """The plan of work as a ranked table (tier, then the strength and persistence of the evidence):
    школа, уровень, меры, основания; no logins."""
    p = plan_of_work(data, year)
    if p.empty:
        return p
    # the login stays beside the name: school names are not unique across municipalities
    return with_municipality(data, p)


def show_plan_of_work(data: ReportData, year: int) -> Section:
    sec = Section()
    t = plan_table(data, year)
    if t.empty:
        sec.para("План работы по объективности не построен: нет находок на уровне школы или нет таблицы "
                 "objectivity_plan.", "msoko-empty")
    else:
        sec.table(t, caption=f"План работы по обеспечению объективности на {year + 1} год",
                  note="Как в плане работы департамента образования г. Омска (2021), меры соответствуют найденному: "
                       "расхождение с отметками за четверть — экспертиза КИМ и сопоставление отметок; совпадающие "
                       "работы — перепроверка этих работ; скопление баллов у границ отметок и результаты выше похожих "
                       "школ — наблюдатели на следующей ВПР. Находка засчитывается школе только с поправкой Холма на "
                       "число её работ; уровни 1–2 — сильная находка, две находки или находка два года подряд; "
                       "уровень 3 — одна находка без подтверждения, самоанализ. Школа, у которой признаки отмечены "
                       "лишь в отдельных работах или только официальные (например, «завышенный средний балл», который "
                       "похожие школы не подтверждают), в план не входит. Школы упорядочены по уровню, затем по силе "
                       "и устойчивости свидетельств.")
    pc = plan_counts(data, year)
    if pc is not None and int(pc.get("plan_notes", 0) or 0):
        sec.para(notes_sentence(int(pc["plan_notes"]), int(pc.get("plan_official_only", 0) or 0)), "msoko-note")
    return sec


# ======================================================================================
# calibration: are the signs honest on these data?
# ======================================================================================

_BARS = "▁▂▃▄▅▆▇█"


def _spark(shares) -> str:
    """A p-value histogram as a row of bars (one per bin, the highest bin full)."""
    vals = [float(v) for v in shares]
    top = max(vals) if vals and max(vals) > 0 else 1.0
    return "".join(_BARS[min(len(_BARS) - 1, int(round(v / top * (len(_BARS) - 1))))] for v in vals)


def _year_rows(data: ReportData, name: str, year: int | None) -> pd.DataFrame:
    t = data.table(name)
    if t.empty or year is None:
        return t
    return t[t["year"] == int(year)]


def calibration_frame(data: ReportData, year: int | None = None) -> pd.DataFrame:
    """Per sign: cells with a p-value, the share with p < 0,001 against the nominal 0,1 %, the p-value
    histogram (20 bins from 0 to 1) and a verdict in words — as compute wrote them
    (``objectivity_calibration_years``, ``objectivity_pvalue_bins``). Empty when not computed."""
    c = _year_rows(data, "objectivity_calibration_years", year)
    h = _year_rows(data, "objectivity_pvalue_bins", year)
    if c.empty or h.empty:
        return pd.DataFrame()
    c = c[c["cells"] > 0]
    rows = []
    for r in c.to_dict("records"):
        x = h[(h["sign"] == r["sign"]) & (h["year"] == r["year"])].sort_values("bin")
        k, share = int(r["below_001"]), float(r["share_001"])
        if r["warning"]:
            verdict = (f"в {fmt(round(share / 0.001))} раз больше ожидаемого: либо много настоящих отклонений, "
                       "либо модель признака не подходит к этим данным — читать с осторожностью")
        elif k:
            verdict = "близко к ожидаемому"
        else:
            verdict = "ни одной ячейки с p < 0,001"
        rows.append({"Признак": sign_title(r["sign"]),
                     "Чей признак": "официальный (ФИОКО)" if r["sign"] in OFFICIAL_SIGNS else ADDITIONAL,
                     "Ячеек": fmt(int(r["cells"])), "p < 0,001": f"{fmt(k)} ({fmt(100 * share, 2)} % при ожидаемых 0,1 %)",
                     "Распределение p-значений (от 0 до 1)": _spark(x["share"]),
                     "Вывод": verdict})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).sort_values(["Чей признак", "Признак"], ascending=[False, True]).reset_index(drop=True)


def flag_rate_frame(data: ReportData, year: int | None = None) -> pd.DataFrame:
    """The flag rate of each sign by the number of participants of the school's work and by the number
    of tasks of the work, as compute wrote it (``objectivity_flag_rates``): a sign that flags big classes
    or short works more often is not calibrated there."""
    r = _year_rows(data, "objectivity_flag_rates", year)
    if r.empty:
        return pd.DataFrame()
    size = r[r["kind"] == "size"].groupby(["sign", "band", "band_order"])[["assessed", "flagged"]].sum().reset_index()
    tasks = r[r["kind"] == "tasks"].groupby(["sign", "band", "band_order"])[["assessed", "flagged"]].sum().reset_index()
    bands = size.drop_duplicates("band").sort_values("band_order")["band"].tolist()
    out = []
    for sign in sorted(set(r["sign"])):
        by = size[size["sign"] == sign].set_index("band")
        row = {"Признак": sign_title(sign)}
        for lab in bands:
            if lab in by.index and by.loc[lab, "assessed"]:
                a, f = int(by.loc[lab, "assessed"]), int(by.loc[lab, "flagged"])
                row[f"{lab} участников"] = f"{fmt(100 * f / a)} % ({fmt(f)} из {fmt(a)})"
            else:
                row[f"{lab} участников"] = "—"
        bt = tasks[tasks["sign"] == sign].sort_values("band_order")
        row["По числу заданий в работе"] = "; ".join(
            f"{b} заданий: {fmt(100 * f / a)} %" for b, a, f in zip(bt["band"], bt["assessed"], bt["flagged"]) if a) or "—"
        out.append(row)
    return pd.DataFrame(out).sort_values("Признак").reset_index(drop=True)


def size_bias(data: ReportData, year: int) -> list[str]:
    """Signs whose flag rate climbs with the number of participants (compute's ``size_bias`` of
    ``objectivity_calibration_years``): a sentence per sign."""
    c = _year_rows(data, "objectivity_calibration_years", year)
    if c.empty:
        return []
    out = []
    for r in c[c["size_bias"].astype(bool)].sort_values("sign").to_dict("records"):
        rb = r["flagged_large"] / r["assessed_large"]
        rs = r["flagged_small"] / r["assessed_small"]
        out.append(f"«{sign_title(r['sign'])}» отмечает большие работы намного чаще: {fmt(100 * rb)} % работ с 50 и более "
                   f"участниками против {fmt(100 * rs)} % — у меньших. Правило зависит от числа участников "
                   "(при большом числе участников узкий интервал отделяет от эталона даже небольшое превышение); "
                   "его отметки у крупных школ — повод сравнить с похожими школами, а не вывод.")
    return out


def show_objectivity_calibration(data: ReportData, year: int) -> Section:
    """Is each sign honest on these data: its p-value histogram and its flag rate by class size and by the
    number of tasks."""
    sec = Section()
    c = calibration_frame(data, year)
    if c.empty:
        sec.para("Проверка калибровки признаков для этих данных не рассчитана.", "msoko-empty")
        return sec
    sec.para("Если школы в основном обычные, p-значения признака распределены почти равномерно: столбики ровные, "
             "с подъёмом слева только там, где есть настоящие отклонения; у счётных признаков бывает всплеск справа "
             "(много работ без единого случая). Признак, у которого p < 0,001 встречается намного чаще 0,1 %, "
             "либо находит много настоящих отклонений, либо не подходит к этим данным.")
    sec.table(c, caption=f"Калибровка признаков, {year}")
    sec.say(size_bias(data, year), empty="Ни один признак не отмечает большие работы заметно чаще малых.")
    sec.table(flag_rate_frame(data, year), caption=f"Доля отмеченных работ по числу участников и числу заданий, {year}",
              note="Доля работ школы (школа × класс × предмет), у которых признак выявлен. Если доля растёт с числом "
                   "участников или в коротких работах, а у других признаков — нет, признак там не откалиброван.")
    return sec
