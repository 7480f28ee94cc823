"""The broken-input corpus: each broken file gives a clear Russian message, no traceback,
and no good row of the other files is lost. The corpus is generated here, in tmp_path."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from msoko.cli import main as cli_main
from msoko.ingest import ingest
from tests.test_ingest import make_raw, write_xlsx

GOOD_VPR = "vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
CYRILLIC = re.compile("[а-яА-Я]")


def _baseline(tmp_path) -> dict:
    raw = make_raw(tmp_path / "base")
    res = ingest(raw, tmp_path / "base_p", jobs=1, progress=False)
    return {f.file: f.rows_written for f in res.files}


def _run_with(tmp_path, capsys, name: str, make) -> tuple:
    raw = make_raw(tmp_path / "raw")
    make(raw)
    res = ingest(raw, tmp_path / "p", jobs=1, progress=False)
    err = capsys.readouterr().err
    rep = {f.file: f for f in res.files}
    return res, rep, err


def _assert_good_rows_kept(tmp_path, rep):
    base = _baseline(tmp_path)
    for f, n in base.items():
        assert rep[f].rows_written == n, f


def _truncated(raw: Path):
    src = raw / GOOD_VPR
    data = src.read_bytes()
    dst = raw / "vpr" / "2021" / "4" / "Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx"
    dst.write_bytes(data[: len(data) // 2])


def _wrong_encoding(raw: Path):
    text = "Год;Логин ОО;Класс;Обучающихся\n2021;sch000001;4;52\n"
    (raw / "templates").mkdir(exist_ok=True)
    (raw / "templates" / "contingent_utf16.csv").write_bytes(text.encode("utf-16"))


def _koi8(raw: Path):
    text = "Год;Логин ОО;Класс;Обучающихся\n2021;sch000001;4;52\n"
    (raw / "templates").mkdir(exist_ok=True)
    (raw / "templates" / "contingent_koi8.csv").write_bytes(text.encode("koi8-r"))


def _missing_column(raw: Path):
    write_xlsx(raw / "vpr" / "2021" / "4" / "Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx",
               [["логин школы", "регион", "номер обучающегося", "код обучающегося",
                 "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "балл за 1"],
                ["sch000001", "р", "1", "1", "4", "м", "а", "1", "1"]])


def _empty(raw: Path):
    (raw / "templates").mkdir(exist_ok=True)
    (raw / "templates" / "gia.xlsx").write_bytes(b"")
    (raw / "templates" / "olympiad.csv").write_bytes(b"")


def _unknown(raw: Path):
    write_xlsx(raw / "vpr" / "2022" / "Анкета учебники 2022.xlsx",
               [["Логин", "Предмет", "Автор учебника", "Издательство"], ["sch000001", "Математика", "Моро", "П"]])


@pytest.mark.parametrize("name,make,expect", [
    ("truncated", _truncated, r"Проведение работы по русскому языку.*(повреждён|обрезан)"),
    ("utf16", _wrong_encoding, r"contingent_utf16\.csv.*кодировк"),
    ("koi8", _koi8, r"contingent_koi8\.csv.*неизвестный формат.*кодировке"),
    ("missing_column", _missing_column, r"нет столбцов: «всего баллов»"),
    ("empty", _empty, r"gia\.xlsx.*пуст"),
    ("unknown_layout", _unknown, r"Анкета учебники 2022\.xlsx.*не удалось сопоставить столбцы: «Логин», «Предмет», «Автор учебника»"),
])
def test_broken_file_is_reported_and_skipped(tmp_path, capsys, name, make, expect):
    res, rep, err = _run_with(tmp_path, capsys, name, make)
    assert res.ok
    assert "Traceback" not in err
    assert re.search(expect, err, re.S), err[-2000:]
    bad = [f for f in res.files if f.status in ("error", "skipped")]
    assert bad and all(CYRILLIC.search(f.message) for f in bad)
    _assert_good_rows_kept(tmp_path, rep)


def test_empty_csv_message(tmp_path, capsys):
    res, rep, err = _run_with(tmp_path, capsys, "empty", _empty)
    assert "olympiad.csv» пуст" in err


def test_text_in_score_column_rejects_only_that_row(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    res = ingest(raw, tmp_path / "p", jobs=1, progress=False)
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    r = rej[(rej.file == GOOD_VPR) & (rej.row == "6")].iloc[0]
    assert r.column == "балл за 2" and r.value == "abc" and "не число" in r.reason
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    assert 6 not in set(vpr.source_row[vpr.source_file == GOOD_VPR])
    assert {2, 3, 7, 8, 11} <= set(vpr.source_row[vpr.source_file == GOOD_VPR])


def test_html_in_school_name_is_kept_as_text(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    evil = 'МБОУ <b>СОШ</b> №3 <script>alert("x")</script>'
    write_xlsx(raw / "logins.xlsx", [["логин", "имя", "регион"],
                                     ["sch000001", "МБОУ СОШ №1", "г. Примерск"],
                                     ["sch000002", "МБОУ Гимназия №2", "г. Примерск"],
                                     ["sch000003", evil, "г. Примерск"]])
    res = ingest(raw, tmp_path / "p", jobs=1, progress=False)
    schools = pd.read_parquet(tmp_path / "p" / "schools.parquet").set_index("school_id")
    assert schools.loc["sch000003", "name"] == evil
    assert rep_ok(res, "logins.xlsx", read=3, written=3)


def rep_ok(res, file, read, written):
    f = {r.file: r for r in res.files}[file]
    return f.rows_read == read and f.rows_written == written and f.rows_rejected == 0


def test_cli_prints_russian_message_without_traceback(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    _truncated(raw)
    code = cli_main(["ingest", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "ОШИБКА:" in err   # the other files are loaded; 1 says one was not
    code = cli_main(["ingest", "--raw", str(tmp_path / "nope"), "--processed", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 2 and "не найдена" in err and "Traceback" not in err
