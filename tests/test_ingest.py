"""Ingest on a small hand-made raw folder: every expected value worked out by hand."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from msoko.ingest import ingest
from msoko.marks import mark_from_score

H2021 = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
         "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов",
         "балл за 1", "балл за 2", "балл за 3", "Учебник", "Др.уч. автор", "Др.уч. название", None, None]
H2020 = ["groups", "user", "id", "code", "otc", "gender", "klass", "var-1", "var-2", "sum",
         "a-1-grade", "Учебник", "a-3-grade", "a-4-grade", "a-5-grade"]


def write_xlsx(path: Path, rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def make_raw(root: Path) -> Path:
    """Two schools, Математика 4 класс 2021 (3 tasks, max 1+2+3 = 6) and a 2020 file."""
    write_xlsx(root / "logins.xlsx", [["логин", "имя", "регион"],
                                      ["sch000001", "МБОУ СОШ №1", "г. Примерск"],
                                      ["sch000002", "МБОУ Гимназия №2", "г. Примерск"]])
    write_xlsx(root / "task_specs" / "4" / "Математика" / "ALL.xlsx", [
        ["№ КИМ", "№", "Умения", "Блоки ПООП", "Уровень сложности", "Код КЭС", "Код КТ",
         "Максимальный балл за выполнение задания"],
        [1.0, 1.0, "счёт", "", "Б", "1.1", "2.1", 1.0],
        ["2", "2", "задачи", "", "Б", "1.2", "2.2", "2"],
        ["2", "2", "задачи", "", "Б", "1.3", "2.2", "2"],   # second КЭС of task 2
        ["3К1", "3", "логика", "", "П", "3", "4", "3"],
    ])
    # rows 2..10 of the 2021 workbook
    rows = [H2021,
            ["sch000001", "р", "1", "40001", "4", "м", "а", "1", "5", "1", "2", "2", "", "", "", None, None],   # r2 ok
            ["sch000001", "р", "2", "40002", "4\xa0", "Ж", "А", "2", "3", "1", "X", "2", "", "", "", None, None],  # r3 ok, X
            ["sch000001", "р", "3", "40003", "нет отметки", "ж", "НЕТ", "отсутствовал", "", "", "", "", "", "", "", None, None],  # r4 absent
            ["sch000001", "р", "4", "40004", "8", "м", "б", "1", "4", "1", "1", "1", "", "", "", None, None],   # r5 total≠sum
            ["sch000001", "р", "5", "40005", "м", "м", "б", "2", "2", "0", "abc", "2", "", "", "", None, None],  # r6 text score
            ["sch000002", "р", "1", "40001", "5", "ж", "а", "1", "6", "1", "2", "3", "", "", "", None, None],   # r7 ok
            ["sch000002", "р", "2", "40002", "3", "м", "а", "1", "4", "1", "0", "3", "", "", "", None, None],   # r8 ok
            ["sch999999", "р", "1", "40001", "3", "м", "а", "1", "1", "1", "0", "0", "", "", "", None, None],   # r9 unknown school
            ["sch000002", "р", "1", "40001", "3", "м", "а", "1", "1", "1", "0", "0", "", "", "", None, None],   # r10 duplicate of r7
            ["sch000002", "р", "9", "40009", "3", "м", "а", "1", "3", "0", "0", "3", "", "", "", None, None],   # r11 ok
            ]
    write_xlsx(root / "vpr" / "2021" / "4" / "Проведение работы по математике, 4 класс. ВПР 2021.xlsx", rows)
    rows20 = [H2020,
              ["g", "sch000001", 1.0, 50001.0, "5", "м", "а", "1", "", 4.0, "1", "2", "1", "", ""],     # r2: Учебник = task 2
              ["g", "sch000001", 2.0, 50002.0, "", "", "", "отсутствовал", "", "", "", "", "", "", ""],  # r3 absent
              ["g", "sch000002", 1.0, 50001.0, "3", "ж", "нет", "2", "", 2.0, "X", "2", "0", "", ""],    # r4 ok
              ]
    write_xlsx(root / "vpr" / "2020" / "4" / "Математика.xlsx", rows20)
    # the demo's planted truth must never be read
    write_xlsx(root / "_truth" / "whatever.xlsx", [["a", "b"], [1, 2]])
    return root


@pytest.fixture()
def raw(tmp_path) -> Path:
    return make_raw(tmp_path / "raw")


def run(raw: Path, processed: Path):
    return ingest(raw_dir=raw, processed_dir=processed, jobs=1, progress=False)


def test_vpr_values_and_cleaning(raw, tmp_path):
    res = run(raw, tmp_path / "p")
    assert res.ok
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    v21 = vpr[vpr.year == 2021].set_index("source_row")
    # written rows: 2, 3, 4, 7, 8, 11 (5: total≠sum, 6: text score, 9: unknown school, 10: duplicate)
    assert sorted(v21.index) == [2, 3, 4, 7, 8, 11]
    r2, r3, r4 = v21.loc[2], v21.loc[3], v21.loc[4]
    assert (r2.school_id, r2.student_code, r2.journal_mark, r2.sex, r2["class"], r2.variant) == \
        ("sch000001", "40001", 4, "м", "а", "1")
    assert r2.primary_score == 5 and r2.max_score == 6 and not r2.absent
    assert r3.journal_mark == 4 and r3.sex == "ж" and r3["class"] == "а"  # '4\xa0' → 4, 'Ж' → 'ж', 'А' → 'а'
    assert r4.absent and pd.isna(r4.primary_score) and pd.isna(r4.mark) and pd.isna(r4.variant)
    assert pd.isna(r4.journal_mark) and pd.isna(r4["class"])              # 'нет отметки', 'НЕТ'
    # no scale in mark_scales for a 6-point work? the 2021 maths-4 scale (6/10/15) applies: 5 → 2, 6 → 2
    assert r2.mark == 2 and v21.loc[7].mark == 3
    assert list(vpr.columns) == ["year", "grade", "subject", "school_id", "student_code", "journal_mark", "sex",
                                 "class", "variant", "absent", "primary_score", "max_score", "mark",
                                 "source_file", "source_row"]
    assert str(vpr.journal_mark.dtype) == "Int8" and str(vpr.year.dtype) == "int16"


def test_tasks_long_table(raw, tmp_path):
    run(raw, tmp_path / "p")
    t = pd.read_parquet(tmp_path / "p" / "vpr_tasks.parquet")
    t21 = t[(t.year == 2021) & (t.school_id == "sch000001")]
    # present, written students of school 1: 40001 (r2) and 40002 (r3); 3 tasks each
    assert len(t21) == 6
    s = t21.set_index(["student_code", "task"])["score"]
    assert s[("40001", "1")] == 1 and s[("40001", "3")] == 2
    assert np.isnan(s[("40002", "2")])                      # 'X' → not done
    # 2020: 'Учебник' stands in place of a-2-grade and is read as task 2; a-4/a-5 are empty → not tasks
    t20 = t[t.year == 2020].set_index(["school_id", "task"])["score"]
    assert sorted(t[t.year == 2020].task.unique()) == ["1", "2", "3"]
    assert t20[("sch000001", "2")] == 2 and np.isnan(t20[("sch000002", "1")])


def test_rejects_and_balance(raw, tmp_path):
    res = run(raw, tmp_path / "p")
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype={"value": str})
    assert list(rej.columns) == ["file", "row", "column", "value", "reason", "school_id"]
    by_row = rej.set_index("row")
    # the school of each rejected ВПР row, in the parser (5, 6) and after it (9: unknown login, 10: repeat)
    assert by_row.loc[[5, 6, 9, 10], "school_id"].tolist() == ["sch000001", "sch000001", "sch999999", "sch000002"]
    assert "не равно сумме" in by_row.loc[5, "reason"] and by_row.loc[5, "value"] == "4"
    assert by_row.loc[6, "column"] == "балл за 2" and by_row.loc[6, "value"] == "abc"
    assert "не найден в реестре" in by_row.loc[9, "reason"]
    assert "повтор ключа" in by_row.loc[10, "reason"] and "строки 7" in by_row.loc[10, "reason"]
    rep = {r.file: r for r in res.files}
    f21 = "vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
    assert (rep[f21].rows_read, rep[f21].rows_written, rep[f21].rows_rejected) == (10, 6, 4)
    assert all(r.balanced for r in res.files)
    saved = pd.read_csv(tmp_path / "p" / "ingest_report.csv", encoding="utf-8-sig")
    assert (saved.rows_read == saved.rows_written + saved.rows_rejected).all()
    assert not any("_truth" in f for f in saved.file)
    # the stray '8' and the sex letter in the mark column are kept as missing and logged
    log = pd.read_csv(tmp_path / "p" / "cleaning_log.csv", encoding="utf-8-sig")
    assert set(log["value"].astype(str)) >= {"8"}


def test_specs_and_schools(raw, tmp_path):
    run(raw, tmp_path / "p")
    specs = pd.read_parquet(tmp_path / "p" / "task_specs.parquet")
    assert list(specs.task) == ["1", "2", "3"]
    assert list(specs.max_score) == [1, 2, 3]
    assert specs.set_index("task").loc["2", "kes"] == "1.2, 1.3"     # two КЭС rows folded into one task
    assert specs.set_index("task").loc["3", "task_label"] == "3К1"
    sch = pd.read_parquet(tmp_path / "p" / "schools.parquet").set_index("school_id")
    assert sch.loc["sch000002", "org_type"] == "гимназия" and sch.loc["sch000001", "org_type"] == "СОШ"
    assert sch.loc["sch000001", "municipality"] == "г. Примерск"


def test_incremental(raw, tmp_path):
    p = tmp_path / "p"
    first = run(raw, p)
    assert first.parsed == 4 and not first.unchanged
    again = run(raw, p)
    assert again.unchanged and again.parsed == 0
    assert [(f.file, f.rows_written) for f in again.files] == [(f.file, f.rows_written) for f in first.files]
    # touch without changing content: still nothing to do
    f20 = raw / "vpr" / "2020" / "4" / "Математика.xlsx"
    os.utime(f20, None)
    assert run(raw, p).unchanged
    # change one file: only it is parsed again
    wb = openpyxl.load_workbook(f20)
    wb.active.append(["g", "sch000002", 2.0, 50002.0, "4", "м", "а", "1", "", 3.0, "1", "1", "1", "", ""])
    wb.save(f20)
    third = run(raw, p)
    assert third.parsed == 1 and not third.unchanged
    vpr = pd.read_parquet(p / "vpr.parquet")
    assert (vpr.year == 2020).sum() == 4


def test_mark_from_score_boundaries():
    # maths 4 (domain §5): 0–5 → 2, 6–9 → 3, 10–14 → 4, 15–20 → 5
    got = mark_from_score([0, 5, 6, 9, 10, 14, 15, 20, np.nan], 6, 10, 15)
    assert got[:8].tolist() == [2, 2, 3, 3, 4, 4, 5, 5] and np.isnan(got[8])


def test_export_mark_wins_and_missing_scale_warns(tmp_path):
    raw = tmp_path / "raw"
    write_xlsx(raw / "logins.xlsx", [["логин", "имя", "регион"], ["sch000001", "СОШ", "г"]])
    h = H2021[:9] + ["балл за 1", "отметка"]
    write_xlsx(raw / "2021" / "4" / "Математика.xlsx",
               [h, ["sch000001", "р", "1", "1", "4", "м", "а", "1", "16", "16", "3"],
                ["sch000001", "р", "2", "2", "4", "м", "а", "1", "16", "16", ""]])
    write_xlsx(raw / "2019" / "4" / "Химия.xlsx",
               [h[:10], ["sch000001", "р", "1", "1", "4", "м", "а", "1", "16", "16"]])
    res = run(raw, tmp_path / "p")
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet").set_index(["subject", "student_code"])
    assert vpr.loc[("Математика", "1"), "mark"] == 3        # the export's mark wins over the scale (16 → 5)
    assert vpr.loc[("Математика", "2"), "mark"] == 5        # no export mark: scale 6/10/15
    assert pd.isna(vpr.loc[("Химия", "1"), "mark"])         # no scale for 2019 chemistry 4: null, not a reject
    no_scale = [w for w in res.warnings if "Нет шкалы" in w]
    assert len(no_scale) == 1 and "2019, 4 класс, Химия" in no_scale[0]


def test_scales_in_the_raw_folder_win(tmp_path):
    raw = tmp_path / "raw"
    write_xlsx(raw / "logins.xlsx", [["логин", "имя", "регион"], ["sch000001", "СОШ", "г"]])
    h = H2021[:9] + ["балл за 1"]
    write_xlsx(raw / "2021" / "4" / "Математика.xlsx", [h, ["sch000001", "р", "1", "1", "4", "м", "а", "1", "16", "16"]])
    write_xlsx(raw / "2023" / "4" / "Математика.xlsx", [h, ["sch000001", "р", "1", "1", "4", "м", "а", "1", "12", "12"]])
    (raw / "config").mkdir()
    (raw / "config" / "шкалы.csv").write_text(
        "# scales of this municipality\nyear;grade;subject;min3;min4;min5\n"
        "2023;4;математика;6;13;17\n2021;4;Математика;20;25;30\n2022;4;Математика;9;5;1\n", encoding="utf-8")
    res = run(raw, tmp_path / "p")
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet").set_index("year")
    assert vpr.loc[2023, "mark"] == 3      # 12 with 6/13/17
    assert vpr.loc[2021, "mark"] == 2      # the raw file's 20/25/30 wins over the built-in 6/10/15
    rep = {f.file: f for f in res.files}["config/шкалы.csv"]
    assert (rep.kind, rep.rows_read, rep.rows_written, rep.rows_rejected) == ("mark_scales", 3, 2, 1)
    assert not [w for w in res.warnings if "Нет шкалы" in w]


def test_registry_template_wins_over_logins_and_questionnaire(tmp_path):
    raw = make_raw(tmp_path / "raw")
    write_xlsx(raw / "Сбор контекстных данных.xlsx", [
        ["логин", "Название ОО", "Где расположена Ваша образовательная организация?",
         "Укажите наименование населенного пункта, где расположена Ваша образовательная организация",
         "Укажите количество обучающихся в ОО в 2020/2021 учебном году (в сумме по всем классам)"],
        ["sch000001", "СОШ 1", "4. Населенный пункт сельского типа (село, хутор, деревня и пр.)", "Ивановка", 321.0],
        ["sch000002", "Гимназия 2", "3. Населенный пункт городского типа (рабочий поселок, поселок городского типа и пр.)",
         "Заречный", "150"],
    ])
    write_xlsx(raw / "templates" / "реестр.xlsx", [
        ["Логин ОО", "Наименование ОО", "Муниципалитет", "Тип ОО", "Тип поселения", "Населённый пункт"],
        ["sch000001", "МБОУ «Лицей № 1»", "Примерский район", "лицей", "город", ""],
    ])
    run(raw, tmp_path / "p")
    s = pd.read_parquet(tmp_path / "p" / "schools.parquet").set_index("school_id")
    one, two = s.loc["sch000001"], s.loc["sch000002"]
    # the registry template wins where it has a value …
    assert (one["name"], one.municipality, one.org_type, one.settlement_type) == \
        ("МБОУ «Лицей № 1»", "Примерский район", "лицей", "город")
    # … and the questionnaire/logins fill the rest
    assert one.settlement == "Ивановка" and one.students_total == 321
    assert (two.org_type, two.settlement_type, two.settlement, two.students_total) == ("гимназия", "пгт", "Заречный", 150)
    assert two.municipality == "г. Примерск"
