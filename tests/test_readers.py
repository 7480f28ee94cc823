"""Readers: CSV encodings/separators/decimal commas, Excel via calamine, Russian errors."""
from __future__ import annotations

import openpyxl
import pytest

from msoko.errors import MsokoError
from msoko.readers import cell_text, read_table


def test_cell_text():
    assert cell_text("4\xa0") == "4"
    assert cell_text(40001.0) == "40001"
    assert cell_text(2.5) == "2.5"
    assert cell_text(None) == "" and cell_text(float("nan")) == ""
    assert cell_text("  нет отметки ") == "нет отметки"


@pytest.mark.parametrize("enc,sep", [("utf-8", ";"), ("utf-8-sig", ","), ("cp1251", ";"), ("cp1251", ",")])
def test_csv_encodings_and_separators(tmp_path, enc, sep):
    p = tmp_path / "t.csv"
    rows = [["Год", "Логин ОО", "Балл"], ["2021", "sch1", "12,5" if sep == ";" else "12.5"]]
    p.write_bytes("\n".join(sep.join(r) for r in rows).encode(enc))
    t = read_table(p)
    assert t.header == ["Год", "Логин ОО", "Балл"]
    assert t.data.iloc[0].tolist() == rows[1]
    assert t.encoding == ("utf-8-sig" if enc.startswith("utf") else "cp1251") and t.sep == sep
    assert t.first_data_row == 2


def test_csv_quoted_separator(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('Имя;Муниципалитет\n"МБОУ ""СОШ; №1""";г. Примерск\n', encoding="utf-8")
    t = read_table(p)
    assert t.data.iloc[0, 0] == 'МБОУ "СОШ; №1"'


def test_excel_keeps_stored_values(tmp_path):
    p = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["логин", "имя", "регион"])
    ws.append(["sch1", "СОШ", 5])
    ws.append([None, None, None])
    ws.append(["sch2", "ООШ", "г"])
    wb.save(p)
    t = read_table(p)
    assert t.header == ["логин", "имя", "регион"]
    assert len(t.data) == 3 and t.data.iloc[0, 2] == 5.0 and t.data.iloc[2, 0] == "sch2"


def test_errors_are_russian_and_name_the_file(tmp_path):
    empty = tmp_path / "пустой.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(MsokoError, match="пустой.xlsx.*пуст"):
        read_table(empty)
    broken = tmp_path / "битый.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MsokoError, match="битый.xlsx.*повреждён"):
        read_table(broken)
    u16 = tmp_path / "u16.csv"
    u16.write_bytes("Год;Логин\n".encode("utf-16"))
    with pytest.raises(MsokoError, match="u16.csv.*UTF-16"):
        read_table(u16)
    with pytest.raises(MsokoError, match="неподдерживаемый формат"):
        read_table(tmp_path / "x.pdf")
