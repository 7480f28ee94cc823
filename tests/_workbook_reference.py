"""The workbook as msoko wrote it up to issue 25 (pandas ``to_excel``, tables as DataFrames): the
reference tests/test_workbook.py compares msoko.report.workbook with (the same cells, widths, sheets).

Every table of a report as one Excel workbook beside its HTML page.

Each report section (:class:`msoko.report.section.Section`) leaves its tables in the executed
notebook as JSON (:data:`~msoko.report.section.TABLES_MIME`); this module gathers them in report
order and writes one sheet per table plus a contents sheet and a sheet that explains the columns.

Numbers are numbers (:func:`typed`): a column whose cells are Russian numbers as the report shows
them («1108», «6,1 %», «72,6 балла») is written as numbers, an interval «6,1 % [5,1–7,5 %]» as
three columns (the value and the bounds of its 95 % interval), and what is not a number in such a
column («скрыто (n < 5)», a mark ▲/▼) goes to a column of notes beside it. Other text is written
as text: a cell that begins with ``=`` is never a formula (``strings_to_formulas`` off), a URL
never a link. The bytes are the same on every run (fixed document dates).
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd

from msoko.report.section import TABLES_MIME

FIXED_DATE = dt.datetime(2000, 1, 1)
ABOUT = "Пояснения к столбцам"   # the last sheet: what each column of each table holds


def notebook_tables(nb) -> list[tuple[str, pd.DataFrame]]:
    """``(title, table)`` of every section table of an executed notebook, in order."""
    out: list[tuple[str, pd.DataFrame]] = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            for t in (o.get("data") or {}).get(TABLES_MIME) or []:
                out.append((str(t["title"]), pd.DataFrame(t["rows"], columns=t["columns"])))
    return out


_NUM = r"[\u2212+-]?\d[\d\u202f\u00a0 ]*(?:,\d+)?"
_UNIT = r"%(?: организаций)?|п\.\s?п\.|балл(?:а|ов)?|чел\.|ед\."
_CELL = re.compile(rf"^(?P<v>{_NUM})\s*(?P<u>{_UNIT})?"
                   rf"(?:\s*\[(?P<lo>{_NUM})\s*(?:{_UNIT})?\s*[–-]\s*(?P<hi>{_NUM})\s*(?:{_UNIT})?\])?"
                   r"\s*(?P<mark>[▲▼])?$")
MISSING = {"", "—", "-", "нет данных"}
_NA = float("nan")   # an empty cell of a typed column (as pandas fills an object column)
LOW, HIGH, NOTE = "нижняя граница 95 % ДИ", "верхняя граница 95 % ДИ", "примечание"


def _number(text: str) -> float:
    v = float(re.sub(r"[\u202f\u00a0 ]", "", text).replace("\u2212", "-").replace(",", "."))
    return int(v) if v.is_integer() and "," not in text else v


def typed(df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The table with its number columns as numbers, and ``(column, what it holds)`` for each column.

    A text column becomes numbers when at least half of its filled cells are Russian numbers (with a
    unit, an interval in brackets, a mark ▲/▼): the value keeps the column's name, the interval's
    bounds follow it («…: нижняя граница 95 % ДИ», «…: верхняя…»), and the cells that are not numbers
    (and the marks) go to «…: примечание»."""
    out, about = {}, []
    for col in df.columns:
        x = df[col]
        name = str(col)
        if pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x):
            out[name] = x
            about.append((name, "число"))
            continue
        # plain lists: a report's workbook has a few hundred small columns, and a Series per step costs
        # more than the parsing
        n = len(x)
        text = [None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip() for v in x.tolist()]
        matches = [(i, t, _CELL.match(t)) for i, t in enumerate(text) if t is not None and t not in MISSING]
        good = [(i, m) for i, _, m in matches if m]
        if not matches or len(good) / len(matches) < 0.5:
            out[name] = x
            about.append((name, "текст"))
            continue
        value: list = [_NA] * n
        for i, m in good:
            value[i] = _number(m["v"])
        out[name] = pd.Series(value, index=x.index, dtype=object)
        units = sorted({m["u"] for _, m in good if m["u"]})
        unit = f"; единица: {', '.join(units)}" if units else ""
        about.append((name, f"число{unit}"))
        with_ci = [(i, m) for i, m in good if m["lo"]]
        if with_ci:
            lo: list = [_NA] * n
            hi: list = [_NA] * n
            for i, m in with_ci:
                lo[i], hi[i] = _number(m["lo"]), _number(m["hi"])
            out[f"{name}: {LOW}"] = pd.Series(lo, index=x.index, dtype=object)
            out[f"{name}: {HIGH}"] = pd.Series(hi, index=x.index, dtype=object)
            about += [(f"{name}: {LOW}", f"число: нижняя граница 95 % доверительного интервала «{name}»"),
                      (f"{name}: {HIGH}", f"число: верхняя граница 95 % доверительного интервала «{name}»")]
        notes: list = [_NA] * n
        for i, t, m in matches:
            if not m:
                notes[i] = t
        for i, m in good:
            if m["mark"]:
                notes[i] = {"▲": "▲ лучше (различие за пределами 95 % ДИ)",
                            "▼": "▼ хуже (различие за пределами 95 % ДИ)"}.get(m["mark"], m["mark"])
        if any(v is not _NA for v in notes):
            out[f"{name}: {NOTE}"] = pd.Series(notes, index=x.index, dtype=object)
            about.append((f"{name}: {NOTE}", f"текст: почему в «{name}» нет числа («скрыто» — группа "
                                              "меньше порога, значение не показывается) или отметка ▲/▼"))
    return pd.DataFrame(out, index=df.index), about


def _sheet_name(i: int, title: str) -> str:
    """Excel's sheet names: ≤ 31 characters, none of []:*?/\\ and unique (the number makes them so).
    A caption «Что — о чём» («Основные показатели — Математика, 5 класс») is named by its specific
    part first, so that what is cut at 31 characters is the kind of table, not which work it holds."""
    kind, sep, which = title.rpartition(" — ")
    if sep and which:
        title = f"{which}. {kind}"
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)
    return f"{i}. {clean}"[:31].rstrip()


def workbook_bytes(tables: list[tuple[str, pd.DataFrame]], *, title: str) -> bytes | None:
    """The workbook of ``tables`` (``None`` when there are none)."""
    if not tables:
        return None
    buf = io.BytesIO()
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        xw.book.set_properties({"title": title, "author": "МСОКО", "created": FIXED_DATE})
        contents = pd.DataFrame({"Лист": [_sheet_name(i, t) for i, (t, _) in enumerate(tables, 1)],
                                 "Таблица": [t for t, _ in tables]})
        converted = [(t, *typed(df)) for t, df in tables]
        about = pd.DataFrame([(_sheet_name(i, t), c, what) for i, (t, _, cols) in enumerate(converted, 1)
                              for c, what in cols], columns=["Лист", "Столбец", "Что содержит"])
        contents.to_excel(xw, sheet_name="Содержание", index=False)
        xw.sheets["Содержание"].set_column(0, 0, 34)
        xw.sheets["Содержание"].set_column(1, 1, 90)
        for i, (t, df, _) in enumerate(converted, 1):
            name = _sheet_name(i, t)
            df.to_excel(xw, sheet_name=name, index=False)
            for j, c in enumerate(df.columns):
                width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)])
                xw.sheets[name].set_column(j, j, min(max(width, 8), 60) + 1)
        about.to_excel(xw, sheet_name=ABOUT, index=False)
        for j, width in enumerate((34, 50, 90)):
            xw.sheets[ABOUT].set_column(j, j, width)
    return buf.getvalue()
