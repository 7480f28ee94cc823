"""Every table of a report as one Excel workbook beside its HTML page.

Each report section (:class:`msoko.report.section.Section`) leaves its tables in the executed
notebook as JSON (:data:`~msoko.report.section.TABLES_MIME`); this module gathers them in report
order and writes one sheet per table plus a contents sheet. Text is written as text: a cell that
begins with ``=`` is never a formula (``strings_to_formulas`` off), a URL never a link. The bytes
are the same on every run (fixed document dates).
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pandas as pd

from msoko.report.section import TABLES_MIME

FIXED_DATE = dt.datetime(2000, 1, 1)


def notebook_tables(nb) -> list[tuple[str, pd.DataFrame]]:
    """``(title, table)`` of every section table of an executed notebook, in order."""
    out: list[tuple[str, pd.DataFrame]] = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            for t in (o.get("data") or {}).get(TABLES_MIME) or []:
                out.append((str(t["title"]), pd.DataFrame(t["rows"], columns=t["columns"])))
    return out


def _sheet_name(i: int, title: str) -> str:
    """Excel's sheet names: ≤ 31 characters, none of []:*?/\\ and unique (the number makes them so)."""
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
        contents.to_excel(xw, sheet_name="Содержание", index=False)
        xw.sheets["Содержание"].set_column(0, 0, 34)
        xw.sheets["Содержание"].set_column(1, 1, 90)
        for i, (t, df) in enumerate(tables, 1):
            name = _sheet_name(i, t)
            df.to_excel(xw, sheet_name=name, index=False)
            for j, c in enumerate(df.columns):
                width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)])
                xw.sheets[name].set_column(j, j, min(max(width, 8), 60) + 1)
    return buf.getvalue()
