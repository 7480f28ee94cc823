"""Parts shared by the three reports: the title block and the effectiveness of last year's measures.
"""
from __future__ import annotations


import pandas as pd

from msoko.report.fmt import SRC_VPR, esc, html_para
from msoko.report.data import ReportData, limited_below, school_name, school_row, suppress_below
from msoko.report.indicators import effectiveness_table

from msoko.report.section import Section


# ======================================================================================
# notebook sections: each displays one part of a report (tables, charts, sentences)
# ======================================================================================

def _vpr_source(year: int) -> str:
    return f"{SRC_VPR} {year}; расчёт МСОКО"


def show_title(data: ReportData, *, kind: str, year: int, school_id: str | None = None,
               municipality: str | None = None) -> Section:
    """A short header block: who the report is about and how to read it."""
    sec = Section()
    lines = []
    if school_id is not None:
        # a school report: one line; how to read it follows the first screen (:func:`how_to_read`)
        row = school_row(data, school_id)
        muni = row.get("municipality")
        # a missing municipality is said so, never «nan»
        muni = "муниципалитет не указан" if muni is None or pd.isna(muni) or str(muni).strip() in ("", "nan") else str(muni)
        sec.html(f"<p class=\"title-line\"><b>{esc(school_name(data, school_id))}</b> (логин {esc(school_id)}), "
                 f"{esc(muni)}. Учебный год: {year}.</p>")
        from msoko.report import municipalities as MU
        note = MU.scope_note(data, school_id)
        if note:
            sec.html(html_para(f"Качество данных: организация не считается школой муниципалитета — {note}; "
                               "её данные не входят в показатели муниципалитета.", "msoko-note"))
        return sec
    if municipality is not None:
        lines.append(f"<p><b>{esc(municipality)}</b>. Учебный год: {year}.</p>")
    else:
        lines.append(f"<p>Учебный год: {year}.</p>")
    lines.append(
        "<p class=\"msoko-note\">Как читать: значения показаны рядом с муниципалитетом"
        + (", похожими школами (тот же тип организации и тип населённого пункта)" if school_id else "")
        + " и, где есть данные, со всеми загруженными муниципалитетами (регионом — когда загружен весь регион); в квадратных скобках — 95 % доверительный интервал. "
        f"Группы меньше {suppress_below(data)} участников не показываются, меньше {limited_below(data)} — "
        "отмечены как малоинформативные. "
        "Результаты ВПР сравниваются, а не ранжируются: школы в таблицах упорядочены по названию.</p>")
    lines.append(
        "<p class=\"msoko-note\">Цвета на всех графиках: <span style=\"color:#1f4e79\">■</span> школа, "
        "<span style=\"color:#4d9221\">■</span> похожие школы, <span style=\"color:#e08214\">■</span> муниципалитет, "
        "<span style=\"color:#7f7f7f\">■</span> все загруженные муниципалитеты (регион).</p>")
    sec.html(f"<div class=\"callout\">{''.join(lines)}</div>")
    return sec


def how_to_read(data: ReportData, *, school: bool = True) -> str:
    """One paragraph: what the comparisons, intervals, suppression and colours mean."""
    return (
        "<p class=\"msoko-note how-to-read\">Как читать: значения показаны рядом с муниципалитетом"
        + (", похожими школами (тот же тип организации и тип населённого пункта)" if school else "")
        + " и, где есть данные, со всеми загруженными муниципалитетами (регионом — когда загружен весь регион); в квадратных скобках — 95 % доверительный интервал. "
        f"Группы меньше {suppress_below(data)} обучающихся или педагогов не показываются, меньше {limited_below(data)} — "
        "отмечены как "
        "группы ограниченной информативности; факты об организации (статус, индекс контекста, руководитель) "
        "показываются всегда. Результаты ВПР сравниваются, а не ранжируются. Цвета на графиках: "
        "<span style=\"color:#1f4e79\">■</span> школа, <span style=\"color:#4d9221\">■</span> похожие школы, "
        "<span style=\"color:#e08214\">■</span> муниципалитет, <span style=\"color:#7f7f7f\">■</span> все загруженные муниципалитеты (регион).</p>")


def records(df: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """``df[columns].to_dict("records")`` (all columns by default) from each column's ``tolist()``: the same
    values, without boxing every cell of Arrow-backed columns one by one (~25 ms for 30 rows × 26 columns)."""
    cols = list(df.columns) if columns is None else list(columns)
    if not cols:
        return [{} for _ in range(len(df))]
    return [dict(zip(cols, row)) for row in zip(*(_cells(df[c]) for c in cols))]


def _cells(s: pd.Series) -> list:
    """A column's values as ``to_dict`` gives them: a missing value of a nullable column (Int8, boolean) is None."""
    vals = s.tolist()
    if getattr(s.dtype, "na_value", None) is pd.NA:
        vals = [None if v is pd.NA else v for v in vals]
    return vals


def latest_effectiveness(data: ReportData, year: int, **where) -> tuple[pd.DataFrame, int]:
    """The effectiveness of last year's measures; when none were recorded, of the latest earlier
    year that has any (returned as the report year ``y`` in which they were judged).

    Once per load and arguments (a municipal report asks for each system's twice): the frame is shared —
    read it, never modify it. A year without any measure of the year before is not looked into
    (:func:`effectiveness_table` is empty for it)."""
    return data.memo(("_latest_effectiveness", int(year), tuple(sorted(where.items()))),
                     lambda: _latest_effectiveness(data, year, **where))


def _measure_years(data: ReportData) -> set[int]:
    """The years of the measures compute judged (``effectiveness``), once per load."""
    def build() -> set[int]:
        e = data.table("effectiveness")
        return set() if e.empty or "year" not in e else {int(y) for y in e["year"].dropna().unique()}
    return data.memo(("_measure_years",), build)


def _latest_effectiveness(data: ReportData, year: int, **where) -> tuple[pd.DataFrame, int]:
    known = _measure_years(data)
    for y in range(year, year - 6, -1):
        if y - 1 not in known:   # effectiveness_table(data, y) reads the measures of y − 1: none
            continue
        t = effectiveness_table(data, y, **where)
        if not t.empty:
            return t, y
    return pd.DataFrame(), year


def _show_effectiveness(sec: Section, data: ReportData, year: int, empty: str, **where) -> None:
    t, y = latest_effectiveness(data, year, **where)
    if t.empty:
        sec.html(html_para(empty, "msoko-empty"))
        return
    if y != year:
        sec.html(html_para(f"Мер {year - 1} года не зарегистрировано; ниже — последние оценённые меры "
                               f"({y - 1} год, эффект к {y} году).", "msoko-note"))
    sec.table(t, caption=f"Меры {y - 1} года и изменение показателей к {y} году",
               note="Вывод — по 95 % интервалу изменения: «достоверное улучшение», если интервал целиком "
                    "по лучшую сторону нуля; иначе изменение не доказано.")

