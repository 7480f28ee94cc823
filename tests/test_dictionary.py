"""The data dictionary: one description that templates, validation and docs all come from."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
from python_calamine import CalamineWorkbook

from msoko.dictionary import clean_value, docs_markdown, load_dictionary, write_templates
from msoko.ingest import ingest

REPO = Path(__file__).resolve().parents[1]
TABLES = ["registry", "contingent", "context", "gia", "olympiad", "addedu", "career", "leavers", "principals",
          "teachers", "upbringing", "mkdo", "preschool", "surveys", "measures", "recheck", "observers", "visits", "medals"]


def test_every_contract_table_is_described():
    assert [t.id for t in load_dictionary().tables] == TABLES


def test_blank_templates_have_headers_and_example(tmp_path):
    paths = write_templates(tmp_path)
    assert len(paths) == len(TABLES)
    for t in load_dictionary().tables:
        wb = CalamineWorkbook.from_path(str(tmp_path / f"{t.id}.xlsx"))
        assert len(wb.sheet_names) == 1
        rows = wb.get_sheet_by_index(0).to_python()
        assert rows[0] == [c.header for c in t.columns]
        assert len(rows) == 2
        for c, v in zip(t.columns, rows[1]):
            if c.example:
                assert str(v).removesuffix(".0") == c.example.removesuffix(".0")


def test_committed_templates_and_docs_are_current(tmp_path):
    write_templates(tmp_path)
    for t in TABLES:
        assert (tmp_path / f"{t}.xlsx").read_bytes() == (REPO / "data" / "templates" / f"{t}.xlsx").read_bytes(), t
    assert (REPO / "docs" / "data_dictionary.md").read_text(encoding="utf-8") == docs_markdown() + "\n"


def test_templates_round_trip_through_ingest(tmp_path):
    """The blank templates are recognised; their example rows are valid, yet refused as examples, not data."""
    raw = tmp_path / "raw" / "templates"
    write_templates(raw)
    write_templates(tmp_path / "raw" / "templates_csv", fmt="csv")      # and the CSV variant (';', UTF-8 BOM)
    # a real row beside the example in the registry (the kindergarten the preschool examples refer to)
    wb = openpyxl.load_workbook(raw / "registry.xlsx")
    wb.active.append(["dou001", "МБДОУ «Детский сад № 1»", "г. Примерск", "ДОУ", "город", "Примерск"])
    wb.save(raw / "registry.xlsx")
    res = ingest(tmp_path / "raw", tmp_path / "p", jobs=1, progress=False)
    rep = {f.file: f for f in res.files}
    for t in TABLES:
        f = rep[f"templates/{t}.xlsx"]
        n = 2 if t == "registry" else 1
        assert (f.kind, f.table, f.rows_read, f.rows_written, f.rows_rejected) == ("template", t, n, n - 1, 1), f
        c = rep[f"templates_csv/{t}.csv"]
        assert (c.table, c.rows_read, c.rows_written, c.rows_rejected) == (t, 1, 0, 1), c
    rejects = pd.read_csv(tmp_path / "p" / "rejects.csv", dtype=str)
    rejects = rejects[rejects["file"].str.startswith("templates")]
    # every example value is clean: the one reason each example row is refused is that it is the example
    assert len(rejects) == 2 * len(TABLES)
    assert rejects["reason"].str.startswith("строка-образец из пустого шаблона").all()
    schools = pd.read_parquet(tmp_path / "p" / "schools.parquet").set_index("school_id")
    assert "sch220206" not in schools.index
    assert bool(schools.loc["dou001", "is_preschool"])


def test_clean_value_by_type():
    d = load_dictionary()
    gia, teachers = d.table("gia"), d.table("teachers")
    assert clean_value(gia.column("primary_score"), "18,5", "18,5") == (18.5, None)
    assert clean_value(gia.column("primary_score"), "101", "101")[1].startswith("значение больше")
    assert clean_value(gia.column("exam"), "огэ", "огэ") == ("ОГЭ", None)
    assert "не из списка" in clean_value(gia.column("exam"), "ВПР", "ВПР")[1]
    assert clean_value(gia.column("year"), "", "")[1] == "пустое значение в обязательном столбце"
    assert clean_value(gia.column("year"), "2021.5", "2021.5")[1] == "ожидается целое число"
    kpk = teachers.column("kpk_date")
    assert clean_value(kpk, "15.03.2021", "15.03.2021") == (dt.date(2021, 3, 15), None)
    assert clean_value(kpk, 44270.0, "44270") == (dt.date(2021, 3, 15), None)
    html = '<b>Школа</b>'
    assert clean_value(d.table("registry").column("name"), html, html) == (html, None)
