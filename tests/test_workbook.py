"""The report's tables as one Excel workbook: gathered from the executed notebook's sections,
text kept as text (no formula, no link), the same bytes on every run."""
import io
import time
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd

from msoko.report.section import TABLES_MIME, Section
from msoko.report.workbook import notebook_tables, report_tables, workbook_bytes


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


def test_numbers_are_numbers_intervals_and_notes_in_their_own_columns():
    """A report table as the page shows it («6,1 % [5,1–7,5 %]», «1 108», «скрыто (n < 5)») becomes
    number cells an analyst can sort and chart: the value, the bounds of its interval, n, and a note."""
    shown = pd.DataFrame({
        "Школа": ["СОШ № 1", "СОШ № 2", "СОШ № 3"],
        "Доля «2»": ["6,1 % [5,1–7,5 %]", "скрыто (n < 5)", "20 % [15–27 %] ▼"],
        "n": ["62", "1\u202f108", "—"],
        "Средний балл": ["72,6 балла", "\u22123,5", "—"],
        "Логин": ["sch1", "sch2", "sch3"],
    })
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes([("Показатели школы — Математика, 5 класс", shown)],
                                                          title="Отчёт")))
    # the sheet's name begins with which work it holds (the full caption is on the contents sheet)
    assert wb.sheetnames == ["Содержание", "1. Математика, 5 класс. Показат", "Пояснения к столбцам"]
    ws = wb[wb.sheetnames[1]]
    header = [c.value for c in ws[1]]
    assert header == ["Школа", "Доля «2»", "Доля «2»: нижняя граница 95 % ДИ", "Доля «2»: верхняя граница 95 % ДИ",
                      "Доля «2»: примечание", "n", "Средний балл", "Логин"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows[0][:4] == ["СОШ № 1", 6.1, 5.1, 7.5] and rows[0][4] is None
    assert rows[1][1:5] == [None, None, None, "скрыто (n < 5)"]
    assert rows[2][1:4] == [20, 15, 27] and rows[2][4].startswith("▼ хуже")
    assert [r[5] for r in rows] == [62, 1108, None]
    assert [r[6] for r in rows] == [72.6, -3.5, None]
    for r in ws.iter_rows(min_row=2):
        assert r[0].data_type == "s" and r[7].data_type == "s"            # text stays text
        for c in (r[1], r[2], r[3], r[5], r[6]):
            assert c.value is None or c.data_type == "n"                # numbers are numbers
    about = {(r[1].value): r[2].value for r in wb["Пояснения к столбцам"].iter_rows(min_row=2)}
    assert about["Доля «2»"] == "число; единица: %" and about["Логин"] == "текст"
    assert "нижняя граница 95 % доверительного интервала" in about["Доля «2»: нижняя граница 95 % ДИ"]


def test_a_text_column_with_few_numbers_stays_text():
    t = pd.DataFrame({"Работы": ["5 кл., Математика", "нет", "3"], "Код": ["2023", "=1+1", "x"]})
    from msoko.report.workbook import typed

    out, about = typed(t)
    assert out["Работы"].tolist() == t["Работы"].tolist() and dict(about)["Работы"] == "текст"
    assert out["Код"].tolist() == ["2023", "=1+1", "x"]                   # 1 of 3 a number: text


# ---------------------------------------------------------------- the same workbook as pandas' to_excel wrote

def _members(data: bytes) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _as_reference(nb) -> bytes:
    """The workbook the previous code (pandas DataFrames and ``to_excel``, tests/_workbook_reference.py) wrote."""
    import _workbook_reference as ref

    return ref.workbook_bytes(ref.notebook_tables(nb), title="Отчёт")


def test_same_sheets_cells_and_widths_as_the_pandas_writer():
    """Every kind of column a section's JSON can hold (ints, numbers with a missing cell, yes/no with and
    without a gap, text with gaps, an empty column, mixed cells, Russian numbers with intervals and notes,
    an empty table, a long text): the workbook written from the JSON cells holds the same parts, byte for
    byte, as the one pandas' ``to_excel`` wrote from DataFrames (only the zip's entry dates differ)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    a = Section().table(pd.DataFrame({"Школа": ["СОШ № 1", None, "СОШ № 3"], "n": [25, 3, 1108],
                                      "доля": [0.5, None, 0.25], "есть": [True, False, True],
                                      "было": [True, None, False], "пусто": [None, None, None],
                                      "смесь": [1, "два", 3.5], "=формула": ["=1+1", "", "x" * 40_000]}),
                        caption="Первая — Математика, 5 класс")
    b = Section().table(pd.DataFrame({"Доля «2»": ["6,1 % [5,1–7,5 %]", "скрыто (n < 5)", "20 % [15–27 %] ▼"],
                                      "n": ["62", "1\u202f108", "—"], "Средний балл": ["72,6 балла", "\u22123,5", None],
                                      "большое": [2 ** 40, -5, 0], "дробь": [1.0, 2.0, 1e16]}),
                        caption="Вторая").table(pd.DataFrame({"x": [], "y": []}), caption="Пустая")
    nb = nbformat.reads(nbformat.writes(_notebook(a, b)), as_version=4)
    new = workbook_bytes(report_tables(nb), title="Отчёт")
    assert _members(new) == _members(_as_reference(nb))
    assert workbook_bytes(notebook_tables(nb), title="Отчёт") == new      # from DataFrames: the same


def test_a_demo_school_report_workbook_is_the_same_as_the_pandas_writer(demo_processed):
    """A whole school report of the demo (~60 tables from every section), run in this process."""
    import sys

    from msoko.runner.inprocess import run_cells

    sys.path.insert(0, str(Path(__file__).parent))
    school = sorted(pd.read_parquet(demo_processed / "vpr.parquet", columns=["school_id"])["school_id"].unique())[0]
    values = [v for _, v in run_cells("school", {"processed_dir": str(demo_processed), "school_id": school})]
    nb = _notebook(*[v for v in values if isinstance(v, Section)])
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert len(report_tables(nb)) >= 30
    assert _members(workbook_bytes(report_tables(nb), title="Отчёт")) == _members(_as_reference(nb))
