"""Every table of a report as one Excel workbook beside its HTML page.

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


class Table(list):
    """A report table as the workbook reads it: ``(column name, cells)`` pairs in order, the cells as
    pandas would hold them in the column (:func:`_column`), and its ``title``. A school's workbook has
    ~65 small tables: plain lists, not a DataFrame per table (whose construction, ``to_excel`` and
    per-cell formatting cost ~0.5 s of a report)."""

    def __init__(self, title: str, columns):
        super().__init__(columns)
        self.title = title



def notebook_tables(nb) -> list[tuple[str, pd.DataFrame]]:
    """``(title, table)`` of every section table of an executed notebook, in order, as DataFrames."""
    return [(str(t["title"]), pd.DataFrame(t["rows"], columns=t["columns"])) for t in _notebook_json(nb)]


def report_tables(nb) -> list[Table]:
    """Every section table of an executed notebook, in order, as the workbook reads it (no DataFrame)."""
    return [_json_table(t) for t in _notebook_json(nb)]


def _notebook_json(nb):
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            yield from (o.get("data") or {}).get(TABLES_MIME) or []


def _json_table(t: dict) -> Table:
    """A table's JSON (:func:`msoko.report.section.table_json`) as columns, each as pandas would infer it
    from the rows (``pd.DataFrame(rows, columns=…)``): ints → int64, numbers with a missing cell →
    float64 (NaN), text → str (NaN where missing); anything mixed stays as it is (object)."""
    rows = t["rows"]
    return Table(str(t["title"]), [_column(str(c), [r[j] for r in rows]) for j, c in enumerate(t["columns"])])


_NUMERIC = {"int", "float", "bool"}


def _column(name: str, cells: list) -> tuple[str, list, str]:
    """``(name, cells, kind)``: ``kind`` int/float/bool (a numeric dtype), str or object."""
    types = {type(v) for v in cells}
    has_none = type(None) in types
    types.discard(type(None))
    if not types:
        return name, cells, "object"
    if types == {str}:
        return name, [_NA if v is None else v for v in cells], "str"
    if types == {bool} and not has_none:
        return name, cells, "bool"
    if int in types and not all(-(1 << 63) <= v < (1 << 63) for v in cells if type(v) is int):
        pass                                 # beyond int64: left to pandas
    elif types == {int} and not has_none:
        return name, cells, "int"
    elif types <= {int, float}:
        return name, [_NA if v is None else float(v) for v in cells], "float"
    elif types <= {str, int, float, bool}:
        return name, cells, "object"
    x = pd.DataFrame({name: cells})[name]   # anything else: as pandas makes it
    return _series_column(name, x)


def _series_column(name: str, x: pd.Series) -> tuple[str, list, str]:
    if pd.api.types.is_bool_dtype(x):
        return name, x.tolist(), "bool"
    if pd.api.types.is_numeric_dtype(x):
        return name, x.tolist(), "int" if pd.api.types.is_integer_dtype(x) else "float"
    return name, x.tolist(), "object"


def _frame_table(title: str, df: pd.DataFrame) -> Table:
    return Table(str(title), [_series_column(str(c), df.iloc[:, j]) for j, c in enumerate(df.columns)])


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
    """The table with its number columns as numbers, and ``(column, what it holds)`` for each column
    (:func:`typed_columns` of a DataFrame; a column not made a number keeps its dtype)."""
    cols, about = typed_columns(_frame_table("", df))
    return pd.DataFrame({name: pd.Series(cells, index=df.index, dtype=object) if kind == "typed" else df[name]
                         for name, cells, kind in cols}, index=df.index), about


def typed_columns(table: Table) -> tuple[list[tuple[str, list, str]], list[tuple[str, str]]]:
    """The table's columns with its number columns as numbers, and ``(column, what it holds)`` for each.

    A text column becomes numbers when at least half of its filled cells are Russian numbers (with a
    unit, an interval in brackets, a mark ▲/▼): the value keeps the column's name, the interval's
    bounds follow it («…: нижняя граница 95 % ДИ», «…: верхняя…»), and the cells that are not numbers
    (and the marks) go to «…: примечание». A column made here has ``kind`` "typed"."""
    out: dict[str, tuple[str, list, str]] = {}   # by name: a later column of the same name replaces it
    about = []
    for name, cells, kind in table:
        if kind in _NUMERIC:
            out[name] = (name, cells, kind)
            about.append((name, "число"))
            continue
        n = len(cells)
        text = [None if v is None or (isinstance(v, float) and v != v) else str(v).strip() for v in cells]
        matches = [(i, t, _CELL.match(t)) for i, t in enumerate(text) if t is not None and t not in MISSING]
        good = [(i, m) for i, _, m in matches if m]
        if not matches or len(good) / len(matches) < 0.5:
            out[name] = (name, cells, kind)
            about.append((name, "текст"))
            continue
        value: list = [_NA] * n
        for i, m in good:
            value[i] = _number(m["v"])
        out[name] = (name, value, "typed")
        units = sorted({m["u"] for _, m in good if m["u"]})
        unit = f"; единица: {', '.join(units)}" if units else ""
        about.append((name, f"число{unit}"))
        with_ci = [(i, m) for i, m in good if m["lo"]]
        if with_ci:
            lo: list = [_NA] * n
            hi: list = [_NA] * n
            for i, m in with_ci:
                lo[i], hi[i] = _number(m["lo"]), _number(m["hi"])
            out[f"{name}: {LOW}"] = (f"{name}: {LOW}", lo, "typed")
            out[f"{name}: {HIGH}"] = (f"{name}: {HIGH}", hi, "typed")
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
            out[f"{name}: {NOTE}"] = (f"{name}: {NOTE}", notes, "typed")
            about.append((f"{name}: {NOTE}", f"текст: почему в «{name}» нет числа («скрыто» — группа "
                                              "меньше порога, значение не показывается) или отметка ▲/▼"))
    return list(out.values()), about


def _sheet_name(i: int, title: str) -> str:
    """Excel's sheet names: ≤ 31 characters, none of []:*?/\\ and unique (the number makes them so).
    A caption «Что — о чём» («Основные показатели — Математика, 5 класс») is named by its specific
    part first, so that what is cut at 31 characters is the kind of table, not which work it holds."""
    kind, sep, which = title.rpartition(" — ")
    if sep and which:
        title = f"{which}. {kind}"
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)
    return f"{i}. {clean}"[:31].rstrip()


def workbook_bytes(tables, *, title: str) -> bytes | None:
    """The workbook of ``tables`` (``(title, DataFrame)`` pairs or :class:`Table`; ``None`` when there
    are none). Cells are written as pandas' ``to_excel(index=False)`` writes them (header, then the
    body column by column; a missing cell left empty, ±inf as text), without building its cell objects."""
    tables = [t if isinstance(t, Table) else _frame_table(*t) for t in tables]
    if not tables:
        return None
    import xlsxwriter

    buf = io.BytesIO()
    # in memory: no temporary file per sheet (~70 files a school); the zip's entries are then dated
    # 1980-01-01 with no file mode instead of 1980-01-31 local time and the temporary file's mode
    book = xlsxwriter.Workbook(buf, {"strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False, "in_memory": True})
    book.set_properties({"title": title, "author": "МСОКО", "created": FIXED_DATE})
    names = [_sheet_name(i, t.title) for i, t in enumerate(tables, 1)]
    ws = _sheet(book, "Содержание", [("Лист", names, "str"), ("Таблица", [t.title for t in tables], "str")])
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 90)
    converted = [typed_columns(t) for t in tables]
    for name, (cols, _) in zip(names, converted):
        ws = _sheet(book, name, cols)
        for j, (c, cells, _) in enumerate(cols):
            width = max([len(c)] + [len(str(v)) for v in cells[:200]])
            ws.set_column(j, j, min(max(width, 8), 60) + 1)
    rows = [(name, c, what) for name, (_, about) in zip(names, converted) for c, what in about]
    ws = _sheet(book, ABOUT, [(h, [r[k] for r in rows], "str") for k, h in enumerate(("Лист", "Столбец", "Что содержит"))])
    for j, width in enumerate((34, 50, 90)):
        ws.set_column(j, j, width)
    book.close()
    return buf.getvalue()


def _sheet(book, name: str, cols: list[tuple[str, list, str]]):
    """A sheet of ``cols`` as ``DataFrame.to_excel(index=False)`` writes it with xlsxwriter: the header,
    then each column top to bottom (the order of the shared strings)."""
    ws = book.add_worksheet(name)
    for j, (c, _, _) in enumerate(cols):
        _write(ws, 0, j, c)
    for j, (_, cells, _) in enumerate(cols):
        for i, v in enumerate(cells, 1):
            _write(ws, i, j, v)
    return ws


def _write(ws, row: int, col: int, v) -> None:
    t = type(v)
    if v is None or v is pd.NA:
        return                                   # pandas writes "" without a format: no cell
    if t is str:
        if v:
            ws.write_string(row, col, v[:32767])
    elif t is bool:
        ws.write_boolean(row, col, v)
    elif t is int:
        ws.write_number(row, col, v)
    elif t is float:
        if v != v:
            return
        if v in (float("inf"), float("-inf")):
            ws.write_string(row, col, "inf" if v > 0 else "-inf")
        else:
            ws.write_number(row, col, v)
    else:
        ws.write(row, col, v if isinstance(v, (int, float)) else str(v))
