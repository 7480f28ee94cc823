"""Each pupil's textbook kept from the 2021 layout and counted per work."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msoko.textbooks import textbook_label, textbook_use

HEADER = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
          "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов",
          "балл за 1", "балл за 2", "Учебник", "Др.уч. автор", "Др.уч. название"]
BOOK_A = "Канакина В.П. Русский язык 4 класс"
BOOK_B = "Иванов С.В. Русский язык 4 класс"
ROWS = [  # s1: 3 × A, 1 «другое» naming A word for word; s2: 2 × B, 1 «другое» with its own title, 1 absent, 1 blank
    ["s1", "22", "1", "101", "4", "М", "а", "1", "3", "1", "2", BOOK_A, "", ""],
    ["s1", "22", "2", "102", "4", "Ж", "а", "1", "2", "1", "1", BOOK_A, "", ""],
    ["s1", "22", "3", "103", "5", "М", "а", "2", "1", "1", "0", BOOK_A, "", ""],
    ["s1", "22", "4", "104", "3", "Ж", "а", "2", "0", "0", "0", "другое", "Канакина", BOOK_A],
    ["s2", "22", "1", "201", "4", "М", "б", "1", "3", "1", "2", BOOK_B, "", ""],
    ["s2", "22", "2", "202", "4", "Ж", "б", "1", "3", "1", "2", BOOK_B, "", ""],
    ["s2", "22", "3", "203", "4", "М", "б", "2", "2", "1", "1", "другое", "Петров П.П.", "Своя книга"],
    ["s2", "22", "4", "204", "4", "Ж", "б", "отсутствовал", "", "", "", BOOK_B, "", ""],
    ["s2", "22", "5", "205", "4", "М", "б", "1", "1", "1", "0", "", "", ""],
]


def test_label_rules():
    assert textbook_label(BOOK_A, None, None) == BOOK_A
    assert textbook_label("другое", "Петров П.П.", "Своя книга") == "другое: Своя книга (Петров П.П.)"
    assert textbook_label("другое", "0", None) == "другое"
    assert textbook_label(None, None, None) == "не указан"


def test_textbooks_kept_and_counted(tmp_path: Path):
    from msoko.ingest import ingest

    raw = tmp_path / "raw" / "vpr_results" / "2021" / "4"
    raw.mkdir(parents=True)
    lines = [";".join(HEADER)] + [";".join(r) for r in ROWS]
    (raw / "Проведение работы по русскому языку, 4 класс. ВПР 2021.csv").write_text("\n".join(lines) + "\n",
                                                                                     encoding="utf-8")
    processed = tmp_path / "p"
    ingest(raw_dir=tmp_path / "raw", processed_dir=processed, jobs=1)
    pupils = pd.read_parquet(processed / "vpr_textbooks.parquet")
    assert len(pupils) == 8                                   # the absent pupil wrote nothing
    assert set(pupils["student_code"]) == {"101", "102", "103", "104", "201", "202", "203", "205"}
    assert pupils.loc[pupils["student_code"] == "203", "other_title"].item() == "Своя книга"
    schools = pd.DataFrame({"school_id": ["s1", "s2"], "municipality": ["М", "М"]})
    use = textbook_use(pupils, schools)
    m = use[use["level"] == "municipality"].set_index("textbook")
    assert m["pupils"].to_dict() == {BOOK_A: 4, BOOK_B: 2, "другое: Своя книга (Петров П.П.)": 1, "не указан": 1}
    assert (m["work_pupils"] == 8).all()
    assert m.loc[BOOK_A, "share"] == pytest.approx(50.0)
    s2 = use[(use["level"] == "school") & (use["school_id"] == "s2")].set_index("textbook")
    assert s2.loc[BOOK_B, "pupils"] == 2 and s2.loc[BOOK_B, "share"] == pytest.approx(50.0)   # 2 of 4
    assert use["school_id"].isna().sum() == 4                 # municipality rows carry no school
