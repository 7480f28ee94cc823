"""The school report, one function per section; each returns a :class:`~msoko.report.section.Section`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import (
    _plural, count, esc, fmt, html_heading, html_para, html_sentences, informativeness, plain,
    subject_phrase, agree, source_words, html_table, plain_text_rows,
)
from msoko.report.data import (ReportData, limited_below, school_row, suppress_below, sufficiency_thresholds,
                               take_rows, target_value, year_school_rows)
from msoko.report.indicators import (
    CORE_SUBJECTS, KEY_BREAKDOWN_INDICATORS, MAX_DETAILED_WORKS, _groups, _unit_year_pos, headline_indicators,
    indicator_groups,
    indicator_meta, indicator_trend, measures_table, not_computed, school_context, school_recommendation_rows,
    school_vpr_counts,
    system_goal, system_indicator_table, unit_year_rows,
)
from msoko.report.vpr import (
    JOURNAL_SHARES, MARK_SHARES, gia_text, journal_comparison, level_completion, mark_boundaries, marks_distribution,
    _item_parts, max_score, score_distribution, share_records, spec_note, task_completion, vpr_summary_table,
    vpr_summary_text,
)
from msoko.report.signs import attention_zones, flagged_signs, official_sign_works, signs_table
from msoko.report import municipalities as MU
from msoko.report.common import _show_effectiveness, _vpr_source, how_to_read, records
from msoko.report.evidence import MAX_EVIDENCE_CELLS, _evidence_charts, _picture_cells

from msoko.report.section import Section, TextTable
from msoko.report.skills import show_folded_works, show_work_skills
from msoko.seasons import season_note, work_title
from msoko.vocabulary import SYSTEM_SHORT


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


MAX_ATTENTION = 10


def show_attention(data: ReportData, school_id: str, year: int) -> Section:
    """The school's attention zones in compute's priority order (certainty × size of the gap × persistence):
    the first :data:`MAX_ATTENTION` as sentences, the rest folded in a short table."""
    sec = Section()
    p = _priorities(data, school_id, year)
    if len(p) and "text_ru" in p:
        p = p.dropna(subset=["text_ru"])
        sec.say([plain(t) for t in p["text_ru"].head(MAX_ATTENTION)])
        rest = p.iloc[MAX_ATTENTION:]
        if len(rest):
            where = records(rest, [c for c in ("grade", "subject") if c in rest])
            t = pd.DataFrame({"Зона внимания": [plain(x).split(" — ")[0] + (f" ({_where(r)})" if _where(r) else "")
                                               for x, r in zip(rest["text_ru"], where)],
                              "Уверенность": rest.get("certainty", pd.Series("—", index=rest.index)).fillna("—")})
            sec.tables["Остальные зоны внимания"] = t
            sec.html(f"<details class=\"more\"><summary>Ещё {count(len(rest), ('зона', 'зоны', 'зон'))} внимания "
                     "меньшей важности</summary>" + html_table(t) + "</details>")
        return sec
    s = attention_zones(data, school_id, year)
    if not s and MU.has_vpr(data, school_id, year) is False:
        sec.html(html_para(f"Объективность {MU.NO_VPR} {year} года; показатели ВПР не рассчитаны.", "msoko-empty"))
        return sec
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
    src = "; ".join(x for x in (source_words(meta.get("source")), "расчёт МСОКО") if x)
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
    missing = not_computed(data, system, school_id, year)
    if t.empty:
        sec.html(html_para("Для школы нет показателей этой системы за выбранный год "
                               "(данные не загружены или группа слишком мала).", "msoko-empty"))
    else:
        sec.table(t, caption="Показатели школы и группы сравнения",
                  note="В столбце «Школа» — значение и 95 % доверительный интервал в квадратных скобках.")
        for code in headline_indicators(data, school_id, year, system, k=1):
            _indicator_pair(sec, data, school_id, year, code)
    if missing:
        sec.html(html_para("Не рассчитано: " + " ".join(missing), "msoko-note"))
    return sec



def _standout_works(data: ReportData, school_id: str, year: int) -> set[tuple[int, str]]:
    """Works where the school's interval lies on the worse side of the municipality, or a sign fires."""
    out: set[tuple[int, str]] = set()
    if not data.indicators.empty:
        out |= _worse_than_municipality(data, school_id, year)
    return out | official_sign_works(data, year, school_id)


def _worse_than_municipality(data: ReportData, school_id: str, year: int) -> set[tuple[int, str]]:
    """(grade, subject) of the school's rows of a key indicator whose interval (not suppressed) lies on the
    worse side (the catalogue's direction) of a municipality's value of the same indicator, grade and subject.
    Dicts instead of a merge and masks (~10 ms a school); the municipality's values once per load."""
    muni = str(school_row(data, school_id)["municipality"])
    keys = ["indicator", "grade", "subject"]

    def muni_values():
        m = unit_year_rows(data, year, "municipality", muni)
        out: dict = {}
        for k, v in zip(zip(*(m[c].to_numpy(dtype=object, na_value=None).tolist() for c in keys)),
                        m["value"].to_numpy(dtype=float, na_value=np.nan).tolist()):
            out.setdefault(k, []).append(v)
        return out

    mv = data.memo(("_standout_muni_values", int(year), muni), muni_values)
    cat = data.catalogue
    direction = data.memo(("_catalogue_direction",), lambda: dict(zip(cat["code"].tolist(), cat["direction"].tolist()))
                          if len(cat) else {})
    d = unit_year_rows(data, year, "school", school_id)
    d = d[d["grade"].notna() & d["subject"].notna() & d["ci_low"].notna() & ~d["suppressed"].fillna(False).astype(bool)]
    out: set[tuple[int, str]] = set()
    cols = [d[c].to_numpy(dtype=object, na_value=None).tolist() for c in keys]
    lo, hi = (d[c].to_numpy(dtype=float, na_value=np.nan).tolist() for c in ("ci_low", "ci_high"))
    for (ind, g, subj), low, high in zip(zip(*cols), lo, hi):
        if ind not in KEY_BREAKDOWN_INDICATORS:
            continue
        dirn = direction.get(ind)
        for v in mv.get((ind, g, subj), ()):
            if (dirn == "higher" and high < v) or (dirn == "lower" and low > v):
                out.add((int(g), str(subj)))
    return out


def vpr_overview_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """One row per ВПР the school wrote: participants, «2», «4»–«5» — school beside similar schools and
    the municipality (``indicators.parquet``)."""
    return _overview_text(data, school_id, year).build()


def _overview_text(data: ReportData, school_id: str, year: int) -> TextTable:
    """:func:`vpr_overview_table` as a :class:`TextTable` (its frame built when read)."""
    rows, cols = _overview_records(data, school_id, year)
    return TextTable(cols, [[r[c] for c in cols] for r in rows],
                     lambda: pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame())


def _overview_records(data: ReportData, school_id: str, year: int) -> tuple[list[dict], list[str]]:
    """The rows of :func:`vpr_overview_table` as dicts, and its columns."""
    rows = []
    for g, subj, n in _taken_works(data, school_id, year):
        row = {"Работа": f"{g} кл., {subj}", "Участников": fmt(n)}
        for code, label in (("vpr_fail_share", "«2», %"), ("vpr_quality", "«4»–«5», %")):
            t = {x["group"]: x for x in _groups(data, school_id, year, code, g, subj)}
            for grp, short in ((GROUP_SCHOOL, "школа"), (GROUP_SIMILAR, "похожие"), (GROUP_MUNI, "муниц.")):
                x = t.get(grp)
                if x is None or x["suppressed"] or pd.isna(x["value"]):
                    row[f"{label} ({short})"] = "скрыто" if grp == GROUP_SCHOOL else "—"
                elif grp == GROUP_SCHOOL:
                    row[f"{label} ({short})"] = f"{fmt(x['value'], 0)} [{fmt(x['ci_low'], 0)}–{fmt(x['ci_high'], 0)}]"
                else:
                    row[f"{label} ({short})"] = fmt(x["value"], 0)
        row["Информативность"] = informativeness(n, suppress_below(data))
        rows.append(row)
    cols = ["Работа", "Участников"] + [f"{label} ({short})" for label in ("«2», %", "«4»–«5», %")
                                       for short in ("школа", "похожие", "муниц.")] + ["Информативность"]
    return rows, cols


def _taken_works(data: ReportData, school_id: str, year: int) -> list[tuple[int, str, int]]:
    """(grade, subject, participants) of each ВПР the school wrote, in the order of :func:`school_vpr_counts`
    (its columns as lists: ``iterrows`` boxed every row)."""
    def build():
        t = school_vpr_counts(data, school_id, year)
        if t.empty:
            return []
        return [(int(g), str(x), int(n)) for g, x, n in zip(t["grade"].tolist(), t["subject"].tolist(), t["n"].tolist())]
    return data.memo(("_taken_works", str(school_id), int(year)), build)


def _overview_long(data: ReportData, school_id: str, year: int, codes: dict, column: str) -> pd.DataFrame:
    """Shares of every ВПР of the school, school beside the municipality (long form for the charts)."""
    # the works' rows as dicts and one frame for all works (a frame per work, a concatenation, a filter
    # and an assign per work and group cost ~0.2 s per overview); the school's rows come before the
    # municipality's
    recs, works = [], []
    for g, subj, _ in _taken_works(data, school_id, year):
        d = share_records(data, school_id, year, g, subj, codes, column)
        recs.extend(d)
        works.extend([f"{g} кл., {subj}"] * len(d))
    if recs:
        big = pd.DataFrame(recs, columns=["group", column, "share", "n"])
        grp = big["group"].to_numpy(dtype=object)
        keep = (grp == GROUP_SCHOOL) | (grp == GROUP_MUNI)
        if keep.any():
            label = np.where(grp == GROUP_SCHOOL, ": школа", ": муниципалитет").astype(object)
            out = big[keep].reset_index(drop=True)
            out["group"] = np.array(works, dtype=object)[keep] + label[keep]
            return out
    return pd.DataFrame(columns=["group", column, "share", "n"])


def vpr_overview_marks(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """Marks of every ВПР of the school, each beside the municipality (long form for plot_marks_distribution)."""
    return _overview_long(data, school_id, year, MARK_SHARES, "mark")


def vpr_overview_journal(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР vs journal for every ВПР of the school, each beside the municipality (long form)."""
    return _overview_long(data, school_id, year, JOURNAL_SHARES, "category")


def _first_values(index, columns, values) -> dict:
    """``{(index, column): value}`` — the first non-missing value of each pair, the cells of
    ``pivot_table(index=…, columns=…, values=…, aggfunc="first")`` that hold a value (rows or columns
    with no value are absent there too); pairs with a missing key left out. A dict: the pivot cost
    ~20 ms per work."""
    out: dict = {}
    for i, c, v in zip(list(index), list(columns), np.asarray(values, dtype=float).tolist()):
        if pd.isna(i) or pd.isna(c) or v != v or (i, c) in out:
            continue
        out[(i, c)] = v
    return out


def level_table(data: ReportData, school_id: str, year: int, grade: int, subject: str, tasks: pd.DataFrame) -> pd.DataFrame:
    """Completion by difficulty level (Б/П/В), school beside the comparison groups, with the threshold."""
    t = _level_text(data, school_id, year, grade, subject)
    return t.build() if isinstance(t, TextTable) else t


def _level_text(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> TextTable | pd.DataFrame:
    """:func:`level_table` as a :class:`TextTable` (its frame built when read)."""
    rows = _level_records(data, school_id, year, grade, subject)
    return pd.DataFrame() if rows is None else TextTable.of_records(rows, lambda: pd.DataFrame(rows))


def _level_records(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> list[dict] | None:
    """The rows of :func:`level_table` as dicts; None without level rows."""
    lv = _item_parts(data, school_id, year, "vpr_level_completion", grade, subject)   # level_completion's columns
    if lv is None:
        return None
    thr = sufficiency_thresholds(data, year)
    w = _first_values(lv[0], lv[1], lv[2])
    groups = {g for _, g in w}
    rows = []
    for level in [x for x in ("Б", "П", "В") if any(lv_ == x for lv_, _ in w)]:
        row = {"Уровень": f"{level} — {({'Б': 'базовый', 'П': 'повышенный', 'В': 'высокий'})[level]}"}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            if grp in groups:
                row[f"{grp}, %"] = fmt(w.get((level, grp), math.nan), 0)
        row["Порог достаточности, %"] = fmt(thr.get(level), 0) if level in thr else "—"
        rows.append(row)
    return rows


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
    if season_note(year, data.config):
        sec.para(season_note(year, data.config), "msoko-note")
    sec.table(_overview_text(data, school_id, year), caption=f"Все ВПР {year} года: школа и группы сравнения",
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
    folded = []   # every work not detailed is still reachable, folded (msoko.report.skills)
    if detail == "all":
        chosen = [(g, x) for g, x, _ in _taken_works(data, school_id, year)]
    else:
        works = _taken_works(data, school_id, year)
        core = [(g, x) for g, x, _ in works if x in CORE_SUBJECTS]
        other = [(g, x) for g, x, _ in works if x not in CORE_SUBJECTS and (g, x) in standout]
        chosen = set((core + other)[:MAX_DETAILED_WORKS])
    for grade, subject, n in _taken_works(data, school_id, year):
        if (grade, subject) not in chosen:
            folded.append((grade, subject, n))
            continue
        shown += 1
        sec.html(html_heading(work_title(year, grade, subject, data.config), 3))
        if n < suppress_below(data):
            sec.html(html_para(f"Участников меньше {suppress_below(data)} — результаты не показываются.",
                               "msoko-empty"))
            continue
        if n < limited_below(data):
            sec.html(html_para(f"Участников {n}: информативность ограничена, выводы предварительные.", "msoko-note"))
        work = f"{subject}, {grade} класс"   # the caption names the work: it is the sheet's title in Excel too
        sec.table(vpr_summary_text(data, school_id, year, grade, subject), caption=f"Основные показатели — {work}")
        tasks = task_completion(data, school_id, year, grade, subject)
        note = spec_note(data, year, grade, subject)
        if note:
            sec.html(html_para(note, "msoko-note"))
        sec.table(_level_text(data, school_id, year, grade, subject),
                   caption=f"Выполнение по уровням сложности (% от максимального балла) — {work}")
        fig = plots.vpr_detail_chart(
            scores=score_distribution(data, school_id, year, grade, subject), tasks=tasks,
            boundaries=mark_boundaries(data, year, grade, subject), max_score=max_score(data, year, grade, subject),
            thresholds=thr, source=_vpr_source(year))
        sec.figure(fig)
        sec.extend(show_work_skills(data, school_id, year, grade, subject))
    if shown < len(taken):
        sec.html(html_para(
            f"Подробно, с рисунками, показаны {shown} из {len(taken)} работ: русский язык, математика и работы, где "
            "доля «2», качество или средний процент выполнения школы хуже муниципальных за пределами погрешности либо "
            f"есть официальный признак необъективности (не более {MAX_DETAILED_WORKS}).", "msoko-note"))
    sec.extend(show_folded_works(data, school_id, year, folded, vpr_summary_text))
    return sec


def show_gia(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    t = gia_text(data, school_id, year)
    sec.table(t, caption=f"ГИА {year}: школа и муниципалитет",
               note="Средний результат: отметка для ОГЭ, тестовый балл для ЕГЭ; «ниже минимума» — доля участников "
                    "ниже минимального порога, в скобках 95 % ДИ.")
    return sec


def show_school_objectivity(data: ReportData, school_id: str, year: int) -> Section:
    """The school's objectivity signs with their evidence (numbers and pictures)."""
    sec = Section()
    t = signs_table(data, year, school_id)
    if t.empty:
        o = data.objectivity
        assessed = (not o.empty) and not year_school_rows(data, "objectivity", year, school_id).empty
        sec.html(html_para(f"Объективность {MU.NO_VPR} {year} года." if MU.has_vpr(data, school_id, year) is False else
                           "Признаков необъективности за год не выявлено." if assessed else
                           "Диагностика объективности за этот год не рассчитана.", "msoko-note"))
        return sec
    sec.html("<div class=\"callout msoko\"><p>Признак — повод внимательно посмотреть на проведение и проверку "
                 "работы, а не доказательство нарушений. Официальные признаки рассчитаны по методике ФИОКО; "
                 "дополнительные — собственные показатели МСОКО.</p></div>")
    sec.table(t, caption="Выявленные признаки")
    d = flagged_signs(data, year, school_id)
    cells = _picture_cells(d, MAX_EVIDENCE_CELLS)
    for grade, subject in cells:
        x = d[(d["grade"] == grade) & (d["subject"] == subject)]
        sec.html(html_heading(f"Свидетельства: {subject}, {grade} класс", 4))
        _evidence_charts(sec, data, school_id, year, grade, subject, set(x["sign"]))
    rest = d.dropna(subset=["grade", "subject"])[["grade", "subject"]].drop_duplicates()
    if len(rest) > len(cells):
        sec.html(html_para("Рисунки приведены для работ с официальными признаками или сводной оценкой МСОКО "
                               f"(не более {MAX_EVIDENCE_CELLS}); числа по остальным — в таблице выше.", "msoko-note"))
    return sec


def show_school_recommendations(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    rows = school_recommendation_rows(data, year, school_id)

    def frame():   # recommendations_table(data, year, school_id=school_id) with its text in plain words
        t = pd.DataFrame(rows) if rows else pd.DataFrame()
        return t.assign(**{c: t[c].map(lambda v: plain(v) if isinstance(v, str) else v) for c in t.columns}) \
            if not t.empty else t
    sec.table(TextTable.of_records([{k: plain(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows],
                                   frame), caption=f"Адресные рекомендации по итогам {year} года")
    m = measures_table(data, year, school_id=school_id)
    if not m.empty:
        sec.table(m, caption=f"Меры и управленческие решения {year} года")
    return sec



def show_school_effectiveness(data: ReportData, school_id: str, year: int) -> Section:
    sec = Section()
    _show_effectiveness(sec, data, year, f"Мер в отношении школы за {year - 1} и предыдущие годы не зарегистрировано.",
                        school_id=school_id)
    return sec




# ======================================================================================
# the first screen: where the school stands, strengths, concerns, objectivity, actions
# ======================================================================================

# per system, the indicators the first screen shows (the first ones the school has a value for)
SUMMARY_INDICATORS: dict[int, list[str]] = {
    1: ["vpr_fail_share", "vpr_quality", "gia_below_min", "oge_mark45_share", "ege_mean_score"],
    2: ["shnor_flag", "shnsu_flag", "risk_factors_count", "context_index"],
    3: ["olymp_school_participation", "addedu_coverage"],
    4: ["profmin_basic_share", "leavers_profile_match"],
    5: ["principal_composite", "principal_mgmt_training", "school_parent_satisfaction"],
    6: ["teachers_kpk3", "teachers_top_category", "teacher_vacancies"],
    7: ["upbr_clubs", "upbr_pdn_kdn_rate"],
    8: ["mkdo_total_score", "preschool_availability_3_7"],
}
SUMMARY_PER_SYSTEM = 2
MAX_ACTIONS = 5
MAX_POINTS = 3
OBJECTIVITY_TOPICS = {"objectivity", "objectivity_marks"}


def _school_overall(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """The school's overall rows (no grade, subject, item) of ``indicators.parquet`` for the year, by indicator
    (once per school: the summary asks twice; from the school's rows, not a scan of the whole table, ~5 ms).
    Read it, never modify it."""
    ind = data.indicators
    if ind.empty:
        return ind

    def build():
        d = unit_year_rows(data, year, "school", school_id)
        d = d[d["grade"].isna() & d["subject"].isna()]
        if "item" in d:
            d = d[d["item"].isna()]
        return d.drop_duplicates("indicator").set_index("indicator")
    return data.memo(("_school_overall_by_code", int(year), str(school_id)), build)


# the columns of the school's overall rows the first screen reads
_OVERALL_COLUMNS = ("value", "ci_low", "ci_high", "n", "suppressed", "similar_value", "municipality_value",
                    "vs_municipality", "vs_similar")


def _school_overall_records(data: ReportData, school_id: str, year: int) -> dict[str, dict]:
    """:func:`_school_overall` as records by indicator (:data:`_OVERALL_COLUMNS`, the values ``.loc[code]`` of the
    frame gives, a missing value of a nullable column ``pd.NA``), read from column arrays made once per load: the
    school's frame and a ``.loc`` row per indicator cost ~5 ms a school."""
    ind = data.indicators
    if ind.empty:
        return {}

    def arrays() -> dict:
        overall = ind["grade"].isna().to_numpy() & ind["subject"].isna().to_numpy()
        if "item" in ind:
            overall &= ind["item"].isna().to_numpy()
        return {"_overall": overall, "_code": ind["indicator"].to_numpy(dtype=object),
                **{c: ind[c].to_numpy(dtype=object) for c in _OVERALL_COLUMNS if c in ind}}

    def build() -> dict:
        p = _unit_year_pos(data).get((int(year), "school", str(school_id)))
        if p is None:
            return {}
        a = data.memo(("_overall_arrays",), arrays)
        cols = [c for c in _OVERALL_COLUMNS if c in ind]
        out: dict = {}
        for i in np.sort(p)[a["_overall"][np.sort(p)]].tolist():
            code = a["_code"][i]
            if code not in out:
                out[code] = {c: a[c][i] for c in cols}
        return out
    return data.memo(("_school_overall_records", int(year), str(school_id)), build)


def _catalogue_directions(data: ReportData) -> dict:
    """code → direction of the loaded catalogue, once per load."""
    return data.memo(("_catalogue_directions",), lambda: dict(zip(data.catalogue["code"], data.catalogue["direction"]))
                     if len(data.catalogue) else {})


def _num(x) -> float:
    try:
        return float(x) if x is not None and not pd.isna(x) else math.nan
    except (TypeError, ValueError):
        return math.nan


def _verdict(vs, direction: str) -> int:
    """+1 better, −1 worse, 0 within the interval / unknown (``vs`` = +1 above, −1 below the reference)."""
    v = _num(vs)
    if math.isnan(v) or v == 0 or direction not in ("higher", "lower"):
        return 0
    return int(v) if direction == "higher" else -int(v)


def _fact_verdict(value, direction: str, kind: str) -> int:
    """A yes/no fact about the institution on the worse side of its direction is a concern."""
    v = _num(value)
    if kind != "flag" or math.isnan(v) or direction not in ("higher", "lower"):
        return 0
    yes = v >= 50  # only the wrong side is marked: a fact has no interval to be «better» beyond
    return (0 if yes else -1) if direction == "higher" else (-1 if yes else 0)


def _show_value(value, unit: str, kind: str, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "—"
    if kind == "flag":
        return "да" if float(value) >= 50 else "нет"
    if unit == "%":
        return f"{fmt(float(value), 0 if abs(float(value)) >= 10 else 1)} %"
    if kind == "count":
        return fmt(int(round(float(value))))
    u = "" if not unit or unit.startswith("на ") else f" {unit}"
    return agree(f"{fmt(float(value), digits)}{u}")


def _indicator_label(meta: dict) -> str:
    name = str(meta.get("name", ""))
    unit = str(meta.get("unit", "") or "")
    if unit.startswith("на ") and unit not in name:
        name += f" ({unit})"
    return name


def summary_rows(data: ReportData, school_id: str, year: int, *, indicators: dict[int, list[str]] | None = None,
                 per_system: int = SUMMARY_PER_SYSTEM) -> list[dict]:
    """The first-screen table: per system its headline indicators — the school with its interval,
    similar schools, the municipality, and the verdict (+1 better / −1 worse beyond the interval, 0 not)."""
    d = _school_overall_records(data, school_id, year)
    if not d:
        return []
    cat = _catalogue_directions(data)
    kinds = _catalogue_column(data, "kind")
    st = _first_screen_records(data, school_id, year, "standing", ("indicator", "comparator", "side"))
    standing = None if st is None else {(r["indicator"], r["comparator"]): r["side"] for r in st}
    rows = []
    for system, codes in (indicators or SUMMARY_INDICATORS).items():
        shown = 0
        for code in codes:
            if shown >= per_system or code not in d or code not in cat:
                continue
            r = d[code]
            if pd.isna(r.get("value")) or bool(r.get("suppressed")) is True:
                continue
            meta = indicator_meta(data, code)
            unit, direction, kind = str(meta.get("unit") or ""), str(cat[code]), kinds.get(code, "")
            vm, vs = _verdict(r.get("vs_municipality"), direction), _verdict(r.get("vs_similar"), direction)
            if kind == "flag":
                vm = vs = _fact_verdict(r.get("value"), direction, kind)
            school = _show_value(r["value"], unit, kind)
            if pd.notna(r.get("ci_low")) and pd.notna(r.get("ci_high")) and kind != "flag":
                school += f" [{_show_value(r['ci_low'], unit, kind).replace(' %', '')}–{_show_value(r['ci_high'], unit, kind)}]"
            if code == "principal_composite":   # from how many of its components (compute's note)
                from msoko.report.indicators import composite_note
                note = composite_note(data, school_id, year)
                school += f" ({note})" if note else ""
            sim = _show_value(r.get("similar_value"), unit, "share" if kind == "flag" else kind)
            muni = _show_value(r.get("municipality_value"), unit, "share" if kind == "flag" else kind)
            if kind == "flag":  # at the municipality a fact is a share of schools
                sim = f"{sim} организаций" if sim != "—" else sim
                muni = f"{muni} организаций" if muni != "—" else muni
            if kind != "flag" and standing is not None:  # compute's arrows (the evidence rule)
                vm = int(standing.get((code, "municipality"), 0))
                vs = int(standing.get((code, "similar"), 0))
            rows.append(dict(system=system, code=code, name=_indicator_label(meta), school=school, similar=sim,
                             municipality=muni, vs_similar=vs, vs_municipality=vm, n=r.get("n"), kind=kind,
                             direction=direction, unit=unit, value=r["value"], ci_low=r.get("ci_low"),
                             ci_high=r.get("ci_high"), muni_value=r.get("municipality_value"),
                             similar_value=r.get("similar_value")))
            shown += 1
    return rows


def _catalogue_column(data: ReportData, column: str) -> dict:
    """A column of the indicator catalogue the report's loaded catalogue may lack (``kind``, ``min_n``):
    read from the processed folder's catalogue, else from msoko's own."""
    def build():
        from importlib import resources

        path = data.processed_dir / "indicator_catalogue.csv"
        try:
            cat = pd.read_csv(path, encoding="utf-8-sig") if path.exists() else pd.read_csv(
                resources.files("msoko").joinpath("resources/indicator_catalogue.csv").open(encoding="utf-8-sig"))
        except Exception:  # noqa: BLE001 — the first screen degrades, it does not fail
            return pd.DataFrame(columns=["code"])
        return cat
    def column_dict() -> dict:
        cat = data.memo(("_catalogue_raw",), build)
        if column not in cat or "code" not in cat:
            return {}
        return dict(zip(cat["code"].astype(str), cat[column].astype(str)))
    return data.memo(("_catalogue_column", column), column_dict)


_VERDICT_WORD = {1: "лучше", -1: "хуже", 0: "не отличается"}


def _summary_table_html(rows: list[dict], *, unit_word: str = "Школа", similar_word: str = "Похожие школы") -> str:
    head = (f"<tr><th>Система</th><th>Показатель</th><th>{esc(unit_word)}</th><th>{esc(similar_word)}</th>"
            "<th>Муниципалитет</th></tr>")
    body, last = [], None
    for r in rows:
        sys_cell = esc(SYSTEM_SHORT.get(r["system"], str(r["system"]))) if r["system"] != last else ""
        last = r["system"]
        cls = {1: "better", -1: "worse", 0: ""}
        worst = min(r["vs_similar"], r["vs_municipality"])
        best = max(r["vs_similar"], r["vs_municipality"])
        # one colour only when every comparison agrees; each arrow names its comparator
        school_cls = "worse" if worst < 0 and best <= 0 else "better" if best > 0 and worst >= 0 else ""
        mark = "".join(f" {a}" for a in _arrows(r))
        body.append(
            f"<tr><td class=\"sys\">{sys_cell}</td><td>{esc(r['name'])}</td>"
            f"<td class=\"{school_cls}\">{esc(r['school'])}{esc(mark)}</td>"
            f"<td class=\"{cls[r['vs_similar']] if r['kind'] != 'flag' else ''}\">{esc(r['similar'])}</td>"
            f"<td class=\"{cls[r['vs_municipality']] if r['kind'] != 'flag' else ''}\">{esc(r['municipality'])}</td></tr>")
    return ("<div class=\"table-wrap\"><table class=\"msoko-table summary-table\"><thead>" + head + "</thead><tbody>"
            + "".join(body) + "</tbody></table></div>")


def _arrows(r: dict) -> list[str]:
    """«▼ ниже муниципалитета», «▲ выше похожих школ»: each arrow with its comparator; a fact on the wrong
    side «▼ факт об организации»."""
    if r.get("kind") == "flag":
        return ["▼ факт об организации"] if min(r["vs_similar"], r["vs_municipality"]) < 0 else []
    out = []
    for key, ref, word in (("vs_municipality", "muni_value", "муниципалитета"),
                           ("vs_similar", "similar_value", "похожих школ")):
        v = r.get(key, 0)
        if not v:
            continue
        side = "выше" if _num(r.get("value")) > _num(r.get(ref)) else "ниже"
        out.append(f"{'▲' if v > 0 else '▼'} {side} {word}")
    return out


def _first_screen_part(data: ReportData, school_id: str, year: int, part: str) -> pd.DataFrame | None:
    """The rows of ``first_screen.parquet`` (compute's decisions) for one part of one school's
    first screen, in rank order; ``None`` when the table is absent (an older processed folder)."""
    fs = data.table("first_screen")
    if fs.empty or not {"year", "school_id", "part"} <= set(fs):
        return None
    p = _first_screen_positions(data, school_id, year).get(part)
    return take_rows(fs, p) if p is not None else fs.iloc[0:0]


def _first_screen_positions(data: ReportData, school_id: str, year: int) -> dict:
    """part → the positions in ``first_screen.parquet`` of one school's rows of that part, in rank order (ties in
    table order), once per school; the rows' positions by (year, school) once per load (a scan of the whole table
    per part cost ~2 ms)."""
    fs = data.table("first_screen")
    pos = data.memo(("_first_screen_pos",), lambda: {
        (int(y), str(sc)): p for (y, sc), p in
        fs.groupby([fs["year"], fs["school_id"].astype(str)], sort=False, observed=True, dropna=True).indices.items()})

    def build():
        p = pos.get((int(year), str(school_id)))
        if p is None:
            return {}
        part, rank = data.memo(("_first_screen_arrays",), lambda: (fs["part"].to_numpy(dtype=object),
                                                                    fs["rank"].to_numpy()))
        p = np.sort(p)
        parts = {}
        for k in dict.fromkeys(part[p].tolist()):
            if isinstance(k, str):
                q = p[part[p] == k]
                parts[k] = q[np.argsort(rank[q], kind="stable")]
        return parts
    return data.memo(("_first_screen_parts", int(year), str(school_id)), build)


def _first_screen_records(data: ReportData, school_id: str, year: int, part: str,
                          columns: tuple[str, ...]) -> list[dict] | None:
    """:func:`_first_screen_part` as records of ``columns`` (the values its ``to_dict("records")`` gives), read from
    column arrays made once per load: the part's frame cost ~1 ms, and the first screen reads five parts."""
    fs = data.table("first_screen")
    if fs.empty or not {"year", "school_id", "part"} <= set(fs):
        return None
    p = _first_screen_positions(data, school_id, year).get(part)
    if p is None:
        return []
    arrays = data.memo(("_first_screen_columns",), dict)
    for c in columns:
        if c not in arrays:
            arrays[c] = fs[c].to_numpy(dtype=object)
    return [{c: arrays[c][i] for c in columns} for i in p.tolist()]


def _gap_size(r: dict) -> float:
    """The gap as an effect size: Cohen's h for shares, the relative gap otherwise (for ranking only)."""
    v, ref = _num(r.get("value")), _num(r.get("ref"))
    if math.isnan(v) or math.isnan(ref):
        return 0.0
    if r.get("unit") == "%":
        p1, p2 = (min(max(x / 100, 0.0), 1.0) for x in (v, ref))
        return abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    return abs(v - ref) / max(abs(ref), 1e-9)


def _comparison_points(data: ReportData, school_id: str, year: int, sign: int) -> list[dict]:
    """Indicators (overall and per subject of the key ВПР indicators) where the school is better
    (``sign`` = +1) or worse (−1) than the municipality beyond the interval; ranked by certainty
    (also beyond similar schools) and the size of the gap; one per indicator."""
    ind = data.indicators
    if ind.empty:
        return []
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & ind["value"].notna() & ~ind["suppressed"].fillna(False).astype(bool)]
    if "item" in d:
        d = d[d["item"].isna()]
    d = d[d["grade"].isna() & (d["subject"].isna() | d["indicator"].isin(KEY_BREAKDOWN_INDICATORS))]
    cat = data.catalogue.set_index("code") if len(data.catalogue) else pd.DataFrame()
    d = d[d["indicator"].isin(cat.index)]
    skip = {"vpr_participation", "vpr_mark3_share", "vpr_mark4_share", "vpr_mark5_share", "vpr_journal_confirm",
            "vpr_journal_lower", "vpr_journal_higher", "shnor_low_procedures"}
    out = []
    for _, r in d.iterrows():
        code = str(r["indicator"])
        if code in skip or (sign > 0 and (code.startswith("risk_") or code.startswith("context"))):
            continue  # a low risk factor is the school's context, not its achievement
        direction = str(cat.loc[code, "direction"])
        vm, vs = _verdict(r.get("vs_municipality"), direction), _verdict(r.get("vs_similar"), direction)
        if vm != sign:
            continue
        meta = indicator_meta(data, code)
        unit = str(meta.get("unit") or "")
        where = subject_phrase(r.get("subject"), None) if pd.notna(r.get("subject")) else ""
        both = vs == sign
        p = dict(code=code, subject=r.get("subject"), value=r["value"], ref=r.get("municipality_value"), unit=unit,
                 n=r.get("n"), both=both, name=meta.get("name", code), where=where,
                 similar=r.get("similar_value"), ci_low=r.get("ci_low"), ci_high=r.get("ci_high"))
        p["size"] = _gap_size(p) * (1.5 if both else 1.0)
        out.append(p)
    out.sort(key=lambda p: (-p["size"], p["code"]))
    seen, best = set(), []
    for p in out:
        if p["code"] in seen:
            continue
        seen.add(p["code"])
        best.append(p)
    return best


def _point_sentence(p: dict, better: bool) -> str:
    kind = "share" if p["unit"] == "%" else ""
    val = _show_value(p["value"], p["unit"], kind)
    ref = _show_value(p["ref"], p["unit"], kind)
    where = f" {p['where']}" if p["where"] else ""
    cmp_ = "выше" if p["value"] > p["ref"] else "ниже"
    tail = " и похожих школ" if p["both"] else ""
    sure = "уверенность высокая" if p["both"] else "уверенность достаточная"
    return plain(f"{p['name']}{where}: {val} — {cmp_} муниципального значения ({ref}){tail} "
                 f"за пределами погрешности; {sure}.")


def _where(r) -> str:
    g, subj = r.get("grade"), r.get("subject")
    parts = [str(subj)] if isinstance(subj, str) else []
    if g is not None and not pd.isna(g):
        parts.append(f"{int(g)} класс")
    return ", ".join(parts)


def _priorities(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    p = data.table("priorities")
    if p.empty or not {"year", "school_id"} <= set(p):
        return pd.DataFrame()

    def build():   # once per school: the attention zones and the concerns ask
        x = year_school_rows(data, "priorities", year, school_id)
        return x.sort_values("rank") if "rank" in x else x
    return data.memo(("_priorities", int(year), str(school_id)), build)


def _texts(records: list[dict]) -> list:
    """The ``text_ru`` of records, missing ones left out (``dropna``)."""
    return [t for t in (r["text_ru"] for r in records) if not (t is None or (not isinstance(t, str) and pd.isna(t)))]


def summary_concerns(data: ReportData, school_id: str, year: int, k: int = MAX_POINTS) -> list[str]:
    """The school's top concerns: from ``priorities.parquet`` (ranked by compute) when present, else the
    indicators worse than the municipality beyond the interval; objectivity has its own line."""
    fs = _first_screen_records(data, school_id, year, "concern", ("text_ru",))
    if fs is not None:
        return [plain(t) for t in _texts(fs)[:k]]
    p = _priorities(data, school_id, year)
    if len(p) and "text_ru" in p:
        topic = p["topic"].astype(str) if "topic" in p else pd.Series("", index=p.index)
        p = p[~topic.isin(OBJECTIVITY_TOPICS)]
        return [plain(t) for t in p["text_ru"].dropna().head(k)]
    out = []
    shnor = _shnor(data, school_id, year)
    if shnor:
        out.append(shnor)
    out += [_point_sentence(x, False) for x in _comparison_points(data, school_id, year, -1)]
    return out[:k]


def summary_strengths(data: ReportData, school_id: str, year: int, k: int = MAX_POINTS) -> list[str]:
    """The school's strengths as compute decided them (``first_screen.parquet``: the evidence rule, no
    indicator of a concern, nothing from works under objectivity review)."""
    fs = _first_screen_records(data, school_id, year, "strength", ("text_ru",))
    if fs is not None:
        return [plain(t) for t in _texts(fs)[:k]]
    return [_point_sentence(x, True) for x in _comparison_points(data, school_id, year, +1)[:k]]


def _shnor_row(data: ReportData, school_id: str, year: int) -> dict | None:
    """The school's row of ``shnor_list`` when it is on the ШНОР list with a reason; None otherwise (once per
    school: the status, the concerns and the details ask; read it, never modify it)."""
    s = data.table("shnor_list")
    if s.empty or not {"year", "school_id", "shnor", "reason"} <= set(s):
        return None

    def build():
        x = year_school_rows(data, "shnor_list", year, school_id)
        x = x[x["shnor"].fillna(False).astype(bool)]
        if x.empty or pd.isna(x["reason"].iloc[0]):
            return None
        return x.iloc[0].to_dict()
    return data.memo(("_shnor_row", int(year), str(school_id)), build)


def _shnor(data: ReportData, school_id: str, year: int) -> str:
    """Compute's reason why the school is on the ШНОР list (the units, their shares with intervals and n,
    the margin over the threshold); empty when it is not."""
    r = _shnor_row(data, school_id, year)
    return plain(str(r["reason"])) if r is not None else ""


def shnor_short(data: ReportData, school_id: str, year: int) -> str:
    """«ШНОР по региональным критериям (доля результатов ниже «3» не менее 30 %): 4 из 7 процедур; запас над
    порогом — 5,9 п. п.»: the counts of
    compute's ``shnor_list`` row for the first screen (the procedures with their intervals are folded
    under it, :func:`shnor_details_html`); "" when the school is not on the list."""
    from msoko.report.municipality import _shnor_low_share, _shnor_reason
    r = _shnor_row(data, school_id, year)
    if r is None:
        return ""
    margin = r.get("strength")
    from msoko.ru import short
    rule = f"доля результатов ниже «3» не менее {short(_shnor_low_share(data, year))} %"
    return plain(f"ШНОР по региональным критериям ({rule}): " + _shnor_reason(r, detail=False)
                 + (f"; запас над порогом — {fmt(float(margin))} п. п." if margin is not None and pd.notna(margin)
                    else "."))


def shnor_details_html(data: ReportData, school_id: str, year: int) -> str:
    """The ШНОР reason in full (each procedure with its share, interval and n), folded: «» when not ШНОР."""
    full = _shnor(data, school_id, year)
    if not full:
        return ""
    return ("<details class=\"more shnor\"><summary>Процедуры ШНОР: доли результатов ниже «3» с интервалами"
            f"</summary><p>{esc(full)}</p></details>")


SHNOR_UNASSESSED = "ШНОР: не оценивалась (мало участников{detail})"


def shnor_unassessed(data: ReportData, school_id: str, year: int) -> str:
    """«ШНОР: не оценивалась (мало участников)» with compute's reason when the rule could not judge the school
    (``shnor_list.assessed`` false: no pooled unit large enough); "" otherwise (docs/shnor.md)."""
    s = data.table("shnor_list")
    if s.empty or not {"year", "school_id", "assessed"} <= set(s):
        return ""
    s = year_school_rows(data, "shnor_list", year, school_id)
    if s.empty or bool(s["assessed"].fillna(True).iloc[0]):
        return ""
    reason = s["reason"].iloc[0] if "reason" in s else None
    detail = plain(str(reason)).rstrip(".").partition(": ")[2] if isinstance(reason, str) else ""
    return SHNOR_UNASSESSED.format(detail=f": {detail}" if detail else "")


def summary_status(data: ReportData, school_id: str, year: int) -> str:
    """The school's status in one sentence: ШНОР, ШНСУ, the «500+» risk profile and the context index."""
    d = _school_overall_records(data, school_id, year)
    parts = []

    def flag(code):
        return None if code not in d or pd.isna(d[code]["value"]) else float(d[code]["value"]) >= 50

    for code, yes, no in (("shnor_flag", "школа с низкими результатами (ШНОР)", "не ШНОР"),
                          ("shnsu_flag", "в неблагоприятных социальных условиях (ШНСУ)", "не ШНСУ"),
                          ("risk_profile_high", "высокий рисковый профиль «500+»", None)):
        f = flag(code)
        if f is True:
            parts.append(yes)
        elif f is False and no:
            parts.append(no)
        elif f is None and code == "shnor_flag" and (unassessed := shnor_unassessed(data, school_id, year)):
            parts.append(unassessed)
    if "risk_factors_count" in d and pd.notna(d["risk_factors_count"]["value"]):
        parts.append(f"факторов риска «500+»: {fmt(int(round(float(d['risk_factors_count']['value']))))}")
    if "context_index" in d and pd.notna(d["context_index"]["value"]):
        m = d["context_index"]["municipality_value"]
        parts.append(f"индекс контекста {fmt(float(d['context_index']['value']))}"
                     + (f" (в среднем по муниципалитету {fmt(float(m))})" if pd.notna(m) else ""))
    shnor = shnor_short(data, school_id, year)   # the counts; the procedures are folded under the status
    return (("Статус школы в " + f"{year} году: " + "; ".join(parts) + ".") if parts else "") \
        + (f" {shnor}" if shnor and parts else shnor)


def _evidence_min_n(data: ReportData) -> int:
    from msoko.config import evidence_min_n
    return evidence_min_n(getattr(data, "config", None) or {})


def summary_objectivity(data: ReportData, school_id: str, year: int) -> str:
    """The objectivity status of the school in one sentence (a reason to look, never a verdict): per kind
    of finding — the results of a procedure (ВПР, ОГЭ) or the current marks (journal against ВПР) — the
    number of signs and at most three works."""
    o = data.objectivity
    if o.empty:
        return "Диагностика объективности не рассчитана."
    if MU.has_vpr(data, school_id, year) is False:   # no works: not assessed, never «не выявлено»
        return f"Не оценивалась: нет работ ВПР {year} года."
    # the (year, school) pairs the diagnostics covered, once per load: a scan of the whole table cost ~8 ms
    covered = data.memo(("_objectivity_units",), lambda: set(zip(o["year"].tolist(), o["school_id"].astype(str).tolist())))
    if (year, str(school_id)) not in covered:
        return f"Диагностика объективности за {year} год для школы не рассчитана."
    d = flagged_signs(data, year, school_id)
    if d.empty:
        return f"Признаков необъективности результатов ВПР и текущих отметок за {year} год не выявлено."
    from msoko.ru import works_list
    from msoko.vocabulary import MARK_SIGNS, OFFICIAL_SIGNS

    parts = []
    for marks, part in ((False, d[~d["sign"].isin(MARK_SIGNS)]), (True, d[d["sign"].isin(MARK_SIGNS)])):
        if part.empty:
            continue
        procs = {p.strip() for x in part.get("procedure", pd.Series(dtype=object)).dropna().astype(str)
                 for p in x.split(",")} or {"ВПР"}
        proc = " и ".join(sorted(procs, key=lambda p: ("ВПР", "ОГЭ", "ЕГЭ").index(p) if p in ("ВПР", "ОГЭ", "ЕГЭ") else 9))
        cells = part.dropna(subset=["grade", "subject"])[["grade", "subject"]].drop_duplicates()
        works = works_list([f"{str(s).lower()}, {int(g)} класс" for g, s in zip(cells["grade"], cells["subject"])])
        signs = part[part["sign"] != "combined"]
        off = signs[signs["sign"].isin(OFFICIAL_SIGNS)]
        what = (f"признаки необъективности текущих отметок (отметки за четверть расходятся с результатами {proc})"
                if marks else f"признаки необъективности результатов {proc}")
        how = (f"{count(len(signs), 'признак')}"
               + (f", из них официальных по методике ФИОКО — {fmt(len(off))}" if len(off) else ", все — дополнительные")
               if len(signs) else "по сводной оценке МСОКО")
        where = f" в {len(cells)} {_plural(len(cells), 'работе', 'работах', 'работах')}: {works}" if len(cells) else ""
        text = f"{what} ({how}){where}"
        parts.append(text)
    from msoko.report.signs import plan_note, plan_tier
    plan = plan_tier(data, school_id, year)
    note = plan_note(data, school_id, year) if plan is None else None
    if plan is not None:
        parts.append(f"план работы по объективности: уровень {int(plan['tier'])} — {plan['measures']}")
    elif note is not None or (d["sign"] == "combined").any():   # the plan's note: information, not a measure
        parts.append("на уровне школы с поправкой на число её работ находки не подтверждаются, в план работы "
                     "по объективности школа не входит"
                     + (" (официальные признаки похожие школы не подтверждают; они отмечены по методике ФИОКО "
                        "и видны региону)" if note is not None and bool(note["official_only"]) else ""))
    txt = "; ".join(parts)
    if plan is None and note is not None:   # the plan's note: information, no measure
        return plain(txt[0].upper() + txt[1:] + ". Это сведения для самой школы, а не основание для мер.")
    return plain(txt[0].upper() + txt[1:] + ". Это повод внимательно посмотреть на проведение и проверку работ и "
                 "на текущее оценивание, а не вывод о нарушениях." if any(d["sign"].isin(MARK_SIGNS))
                 else txt[0].upper() + txt[1:] + ". Это повод внимательно посмотреть на проведение и проверку работ, "
                 "а не вывод о нарушениях.")


def _certainty_of(data: ReportData, school_id: str, year: int, r: dict) -> str:
    """Certainty of a recommendation without one: a fact, or how far the interval excludes the comparison."""
    kinds = _catalogue_column(data, "kind")
    code = str(r.get("indicator", ""))
    if kinds.get(code) in ("flag", "score") or code.startswith("objectivity"):
        return "факт" if kinds.get(code) in ("flag", "score") else "достаточная"
    ind = data.indicators
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & (ind["indicator"] == code)]
    g, s = r.get("grade"), r.get("subject")
    d = d[(d["grade"] == g) if g is not None and pd.notna(g) else d["grade"].isna()]
    d = d[(d["subject"] == s) if isinstance(s, str) else d["subject"].isna()]
    if d.empty:
        return "низкая"
    x = d.iloc[0]
    k = sum(1 for c in ("vs_municipality", "vs_similar") if pd.notna(x.get(c)) and x.get(c) != 0)
    return {2: "высокая", 1: "достаточная"}.get(k, "низкая")


def summary_actions(data: ReportData, school_id: str, year: int, k: int = MAX_ACTIONS) -> list[dict]:
    """The 3–5 actions that matter most (``recommendations.parquet``, in compute's rank order): each with
    its addressee, reason and certainty."""
    fs = _first_screen_records(data, school_id, year, "action",
                               ("text_ru", "reason_ru", "addressee", "certainty", "follows"))
    if fs is not None:
        out = []
        first: dict[str, int] = {}
        for i, x in enumerate(fs[:k], 1):
            reason = plain(str(x["reason_ru"])).rstrip(".")
            head, _, rest = reason.partition(": ")
            if rest and rest in first:  # one reason behind several actions is written out once
                reason = f"{head}: то же, что в действии {first[rest]}"
            elif rest:
                first[rest] = i
            out.append(dict(action=plain(str(x["text_ru"])).rstrip("."),
                            addressee=plain(str(x["addressee"] or "руководитель школы")), reason=reason,
                            certainty=str(x["certainty"]), follows=str(x["follows"])))
        return out
    r = data.table("recommendations")
    if r.empty or not {"year", "school_id"} <= set(r):
        return []
    r = r[(r["year"] == year) & (r["school_id"].astype(str) == school_id)]
    if r.empty:
        return []
    if "rank" in r:
        r = r.sort_values("rank", kind="stable")
    elif "score" in r:
        r = r.sort_values("score", ascending=False, kind="stable")
    out = []
    for _, x in r.head(k).iterrows():
        text = str(x.get("text_ru") or "")
        action = x.get("action_ru") if isinstance(x.get("action_ru"), str) and x.get("action_ru") else \
            text.split(" Основание:")[0]
        reason = x.get("reason_ru") if isinstance(x.get("reason_ru"), str) and x.get("reason_ru") else (
            text.split("Основание:", 1)[1].split(" Уверенность:")[0] if "Основание:" in text else
            f"показатель «{indicator_meta(data, str(x.get('indicator')))['name']}» школы")
        cert = x.get("certainty") if isinstance(x.get("certainty"), str) and x.get("certainty") else \
            _certainty_of(data, school_id, year, x.to_dict())
        addressee = x.get("addressee") if isinstance(x.get("addressee"), str) and x.get("addressee") else "руководитель школы"
        out.append(dict(action=plain(action).rstrip("."), addressee=plain(addressee), reason=plain(reason).rstrip("."),
                        certainty=str(cert)))
    # one reason behind several actions is written out once
    first: dict[str, int] = {}
    for i, a in enumerate(out, 1):
        if a["reason"] in first:
            a["reason"] = f"то же, что в пункте {first[a['reason']]}"
        else:
            first[a["reason"]] = i
    return out


def _text_table(records: list[dict]) -> "TextTable | pd.DataFrame":
    """A workbook table of ``records`` kept as their rows when every cell is text (its frame built when read), else
    the frame: the workbook writes the same cells either way (a frame of text and its JSON cost ~1 ms a table)."""
    t = TextTable.of_records(records, lambda: pd.DataFrame(records))
    return t if plain_text_rows(t.columns, t.rows) else t.build()


def _li(items) -> str:
    return "<ul class=\"msoko-list\">" + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul>"


def show_school_summary(data: ReportData, school_id: str, year: int) -> Section:
    """The first screen: where the school stands on each system's headline indicators against similar
    schools and the municipality (coloured only beyond the interval), three strengths, three concerns,
    the objectivity status in one sentence and the 3–5 actions that matter most."""
    sec = Section()
    status = summary_status(data, school_id, year)
    rows = summary_rows(data, school_id, year)
    strengths = summary_strengths(data, school_id, year)
    concerns = summary_concerns(data, school_id, year)
    actions = summary_actions(data, school_id, year)
    sec.sentences += strengths + concerns
    parts = ["<section class=\"first-screen\">"]
    if status:
        parts.append(f"<p class=\"status\">{esc(status)}</p>" + shnor_details_html(data, school_id, year))
    parts.append("<div class=\"fs-grid\">")
    rule = (f"группа от {_evidence_min_n(data)} обучающихся, различие за пределами погрешности и больше чем на "
            "двух обучающихся")
    concerns_html = ("<ol class=\"msoko-list\">" + "".join(f"<li>{esc(x)}</li>" for x in concerns) + "</ol>") \
        if concerns else f"<p>Ни один показатель школы не хуже муниципального или похожих школ достоверно ({rule}).</p>"
    parts.append("<div class=\"fs-box concerns\"><h3>Что требует внимания</h3>" + concerns_html + "</div>")
    note = _first_screen_records(data, school_id, year, "strength_note", ("text_ru",))
    note_html = "".join(f"<p class=\"msoko-note\">{esc(plain(r['text_ru']))}</p>" for r in note) if note else ""
    parts.append("<div class=\"fs-box strengths\"><h3>Сильные стороны</h3>"
                 + (_li(strengths) if strengths else "" if note_html else
                    f"<p>Ни один показатель школы не лучше муниципального или похожих школ достоверно ({rule}).</p>")
                 + note_html + "</div>")
    parts.append("</div>")
    parts.append(f"<p class=\"objectivity-status\"><b>Объективность.</b> {esc(summary_objectivity(data, school_id, year))}</p>")
    parts.append("<h3>Что сделать в первую очередь</h3>")
    if actions:
        items = "".join(
            f"<li><b>{esc(a['action'])}.</b> <span class=\"who\">Кому: {esc(a['addressee'])}.</span> "
            f"<span class=\"why\">Почему: {esc(a['reason'])}.</span> "
            f"<span class=\"sure sure-{esc(a['certainty'])}\">Уверенность: {esc(a['certainty'])}.</span></li>"
            for a in actions)
        parts.append(f"<ol class=\"actions\">{items}</ol>")
        sec.tables["Что сделать в первую очередь"] = _text_table(
            [{"Действие": a["action"], "Кому": a["addressee"], "Почему": a["reason"], "Уверенность": a["certainty"]}
             for a in actions])
    else:
        parts.append("<p>Адресных рекомендаций школе на этот год нет.</p>")
    if rows:
        parts.append("<h3>Где школа стоит</h3>")
        parts.append(_summary_table_html(rows))
        parts.append("<p class=\"msoko-note\">Стрелка называет, с чем сравнивается школа (▲ лучше, ▼ хуже); "
                     f"стрелкой и цветом отмечены только различия, на которых стоят выводы первого экрана: {rule}. "
                     "В квадратных скобках — 95 % доверительный интервал. Для фактов об организации (да/нет) у "
                     "муниципалитета и похожих школ — доля таких организаций.</p>")
        sec.tables["Где школа стоит"] = _text_table(
            [{"Система": SYSTEM_SHORT.get(r["system"]), "Показатель": r["name"], "Школа": r["school"],
              "Похожие школы": r["similar"], "Муниципалитет": r["municipality"],
              "Сравнение с похожими": _VERDICT_WORD[r["vs_similar"]],
              "Сравнение с муниципалитетом": _VERDICT_WORD[r["vs_municipality"]]} for r in rows])
    parts.append(how_to_read(data, school=True))
    parts.append("</section>")
    sec.html("".join(parts))
    return sec


def index_facts(processed_dir, year: int) -> dict[str, dict[str, str]]:
    """What the runs' index shows beside each school report: the attention zones on its first screen
    (of all ranked ones) and its objectivity status in a few words — read from ``priorities.parquet``
    and ``objectivity_plan.parquet``; ``{}`` when they are absent."""
    from pathlib import Path

    processed = Path(processed_dir)
    out: dict[str, dict[str, str]] = {}
    pr = processed / "priorities.parquet"
    if pr.exists():
        p = pd.read_parquet(pr, columns=["year", "school_id", "top"])
        p = p[p["year"] == year]
        shown = {}
        fsp = processed / "first_screen.parquet"
        if fsp.exists():  # the concerns the first screen shows: the index says what the report says
            f = pd.read_parquet(fsp, columns=["year", "school_id", "part"])
            f = f[(f["year"] == year) & (f["part"] == "concern")]
            shown = f.groupby(f["school_id"].astype(str)).size().to_dict()
            p = p[~pd.read_parquet(pr, columns=["year", "topic"]).loc[p.index, "topic"].isin(OBJECTIVITY_TOPICS)]
        for sid, x in p.groupby(p["school_id"].astype(str)):
            k = int(shown.get(sid, 0)) if fsp.exists() else int(x["top"].sum())
            out.setdefault(sid, {})["concerns"] = f"{k} из {len(x)}"
    from msoko.report.signs import index_objectivity   # the school's tier of the plan of work
    for sid, words in index_objectivity(processed, year).items():
        out.setdefault(sid, {})["objectivity"] = words
    sc = processed / "org_scope.parquet"
    if sc.exists():   # an organisation with no ВПР that year was not assessed: never «признаков нет»
        s = pd.read_parquet(sc, columns=["school_id", "vpr_years"])
        for sid, years in zip(s["school_id"].astype(str), s["vpr_years"].fillna("")):
            if str(year) not in str(years).split(", "):
                out.setdefault(sid, {})["objectivity"] = "не оценивалась: нет работ ВПР"
    return out


# ======================================================================================
# the one-page report of a kindergarten (system 8)
# ======================================================================================

DOU_INDICATORS: dict[int, list[str]] = {
    8: ["mkdo_total_score", "preschool_availability_3_7", "preschool_availability_0_3", "preschool_occupancy",
        "preschool_staff_higher_ed", "preschool_staff_category", "dou_parent_satisfaction"],
    5: ["principal_composite", "principal_mgmt_training"],
    6: ["teachers_kpk3"],
}
MKDO_BASE_LEVEL = 1.0  # МКДО scale 0–3: the base level, when the configuration's rule names none


def first_dou(data: ReportData) -> str:
    """The first kindergarten by login (the default of the ДОУ report)."""
    s = data.schools
    pre = s.get("is_preschool", pd.Series(False, index=s.index)).fillna(False).astype(bool)
    ids = sorted(s.loc[pre, "school_id"].astype(str))
    if not ids:
        from msoko.errors import MsokoError

        raise MsokoError("В реестре нет детских садов (ДОУ): отчёт детского сада строить не для кого.")
    return ids[0]


def _mkdo_base(data: ReportData) -> float:
    for rule in (data.config or {}).get("recommendations", []) or []:
        if isinstance(rule, dict) and rule.get("id") == "mkdo_area_low":
            for w in rule.get("when", []) or []:
                if w.get("indicator") == "mkdo_area_score" and w.get("value") is not None:
                    return float(w["value"])
    return MKDO_BASE_LEVEL


def mkdo_area_table(data: ReportData, dou_id: str, year: int) -> pd.DataFrame:
    """The kindergarten's МКДО score per area beside similar kindergartens and the municipality (facts about
    the institution: shown, never suppressed), with the areas below the base level marked."""
    items = getattr(data, "indicator_items", None)
    if items is None or len(items) == 0:
        return pd.DataFrame()
    d = items[(items["year"] == year) & (items["level"] == "school") & (items["school_id"].astype(str) == dou_id)
              & (items["indicator"] == "mkdo_area_score")]
    if d.empty:
        return pd.DataFrame()
    base = _mkdo_base(data)
    rows = []
    for _, r in d.iterrows():
        v = r["value"]
        rows.append({"Область качества МКДО": str(r["item"]), "Детский сад": fmt(v, 1),
                     "Похожие детские сады": fmt(r.get("similar_value"), 1),
                     "Муниципалитет": fmt(r.get("municipality_value"), 1),
                     "Уровень": "ниже базового" if pd.notna(v) and float(v) < base else "базовый и выше"})
    return pd.DataFrame(rows)


def show_dou_summary(data: ReportData, dou_id: str, year: int) -> Section:
    """The one-page report of a kindergarten: its МКДО result and availability against similar kindergartens
    and the municipality (coloured only beyond the interval), what needs attention, strengths, the МКДО
    areas with those below the base level marked, and the 3–5 actions with addressee, reason, certainty."""
    sec = Section()
    rows = summary_rows(data, dou_id, year, indicators=DOU_INDICATORS, per_system=7)
    strengths = summary_strengths(data, dou_id, year)
    concerns = summary_concerns(data, dou_id, year)
    actions = summary_actions(data, dou_id, year)
    areas = mkdo_area_table(data, dou_id, year)
    d = _school_overall(data, dou_id, year)
    parts = ["<section class=\"first-screen dou\">"]
    if "mkdo_total_score" in d.index and pd.notna(d.loc["mkdo_total_score", "value"]):
        m = d.loc["mkdo_total_score", "municipality_value"]
        low = int((areas["Уровень"] == "ниже базового").sum()) if len(areas) else 0
        status = (f"Средний балл МКДО {year} года — {agree(fmt(float(d.loc['mkdo_total_score', 'value']), 1) + ' балл')} "
                  f"по шкале 0–3" + (f" (в среднем по муниципалитету {fmt(float(m), 1)})" if pd.notna(m) else "")
                  + ((f"; ниже базового уровня {count(low, ('область', 'области', 'областей'))} из {len(areas)}."
                      if low else f"; все {len(areas)} областей на базовом уровне и выше.") if len(areas) else "."))
        parts.append(f"<p class=\"status\">{esc(status)}</p>")
    parts.append("<div class=\"fs-grid\">")
    parts.append("<div class=\"fs-box concerns\"><h3>Что требует внимания</h3>"
                 + (_li(concerns) if concerns else "<p>Ни один показатель детского сада не хуже муниципального за "
                                                   "пределами погрешности.</p>") + "</div>")
    parts.append("<div class=\"fs-box strengths\"><h3>Сильные стороны</h3>"
                 + (_li(strengths) if strengths else "<p>Ни один показатель детского сада не лучше муниципального за "
                                                     "пределами погрешности.</p>") + "</div>")
    parts.append("</div>")
    parts.append("<h3>Что сделать в первую очередь</h3>")
    if actions:
        parts.append("<ol class=\"actions\">" + "".join(
            f"<li><b>{esc(a['action'])}.</b> <span class=\"who\">Кому: {esc(a['addressee'])}.</span> "
            f"<span class=\"why\">Почему: {esc(a['reason'])}.</span> "
            f"<span class=\"sure\">Уверенность: {esc(a['certainty'])}.</span></li>" for a in actions) + "</ol>")
        sec.tables["Что сделать в первую очередь"] = pd.DataFrame(
            [{"Действие": a["action"], "Кому": a["addressee"], "Почему": a["reason"], "Уверенность": a["certainty"]}
             for a in actions])
    else:
        parts.append("<p>Адресных рекомендаций детскому саду на этот год нет.</p>")
    parts.append("<div class=\"dou-tables\"><div>")
    if rows:
        parts.append("<h3>Где детский сад стоит</h3>")
        parts.append(_summary_table_html(rows, unit_word="Детский сад", similar_word="Похожие детские сады"))
        sec.tables["Где детский сад стоит"] = pd.DataFrame(
            [{"Система": SYSTEM_SHORT.get(r["system"]), "Показатель": r["name"], "Детский сад": r["school"],
              "Похожие детские сады": r["similar"], "Муниципалитет": r["municipality"]} for r in rows])
    if len(areas):
        sec.tables["Области качества МКДО"] = areas
        parts.append("</div><div>")
        parts.append(f"<h3>Области качества МКДО</h3>" + html_table(
            areas.rename(columns={"Похожие детские сады": "Похожие", "Муниципалитет": "Муниц."}),
            caption=f"{year} год, шкала 0–3, базовый уровень — {fmt(_mkdo_base(data), 1)}"))
    parts.append("</div></div>")
    parts.append("<p class=\"msoko-note\">Цветом выделены только различия за пределами 95 % доверительного "
                 "интервала (▲ лучше, ▼ хуже). Баллы МКДО и показатели руководителя — факты об организации, "
                 "они показываются всегда; группы меньше 5 человек не показываются.</p>")
    parts.append("</section>")
    sec.html("".join(parts))
    return sec
