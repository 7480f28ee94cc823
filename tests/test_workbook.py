"""The report's tables as one Excel workbook: gathered from the executed notebook's sections,
text kept as text (no formula, no link), the same bytes on every run."""
import io
import time

import nbformat
import openpyxl
import pandas as pd

from msoko.report.section import TABLES_MIME, Section
from msoko.report.workbook import notebook_tables, workbook_bytes


def _notebook(*sections: Section):
    nb = nbformat.v4.new_notebook()
    for s in sections:
        b = s._repr_mimebundle_()
        nb.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("display_data", data=b)]))
    return nb


def test_tables_gathered_in_report_order_with_their_values():
    a = Section().table(pd.DataFrame({"Школа": ["СОШ № 1"], "n": [25]}), caption="Первая")
    b = Section().para("текст").table(pd.DataFrame({"x": [1.5, None]}), caption="Вторая")
    nb = nbformat.reads(nbformat.writes(_notebook(a, Section().para("без таблиц"), b)), as_version=4)
    got = notebook_tables(nb)
    assert [t for t, _ in got] == ["Первая", "Вторая"]
    assert got[0][1].loc[0, "n"] == 25 and got[0][1].loc[0, "Школа"] == "СОШ № 1"
    assert got[1][1]["x"].isna().tolist() == [False, True]
    assert TABLES_MIME not in Section().para("x")._repr_mimebundle_()


def test_text_stays_text_and_bytes_are_stable():
    evil = pd.DataFrame({"Школа": ["=HYPERLINK(\"http://x\",\"y\")", "+1", "http://example.org"], "n": [1, 2, 3]})
    tables = [("Таблица: с [недопустимыми] символами / длинным названием", evil)]
    one = workbook_bytes(tables, title="Отчёт")
    time.sleep(1.1)
    assert workbook_bytes(tables, title="Отчёт") == one
    wb = openpyxl.load_workbook(io.BytesIO(one))
    assert wb.sheetnames[0] == "Содержание"
    ws = wb[wb.sheetnames[1]]
    assert len(wb.sheetnames[1]) <= 31 and "[" not in wb.sheetnames[1]
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")
    assert ws["A4"].hyperlink is None
    assert ws["B3"].value == 2
    assert workbook_bytes([], title="x") is None
