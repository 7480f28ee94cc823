"""Issue 14, "nothing fails silently", for ingest: symbolic links, a raw folder with nothing to
load, unreadable files, formulas in the CSVs msoko writes, damaged cache/state files, and a
processed folder that is (inside) the raw folder. Inputs are made here, in tmp_path; the real
sample is used only where named (and skipped when absent)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from msoko.cli import main as cli_main
from msoko.errors import MsokoError
from msoko.ingest import CACHE_DIR, STATE_FILE, discover, ingest
from msoko.store import atomic_path, csv_safe, csv_unsafe, write_csv
from tests.test_ingest import H2021, make_raw, write_xlsx

GOOD_VPR = "vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
CYRILLIC = re.compile("[а-яА-Я]")
VPR_KEY = ["source_file", "source_row"]


def _run(raw: Path, processed: Path, jobs: int = 1):
    return ingest(raw, processed, jobs=jobs, progress=False)


def _vpr(processed: Path) -> pd.DataFrame:
    return pd.read_parquet(processed / "vpr.parquet").sort_values(VPR_KEY).reset_index(drop=True)


def _rows(res) -> dict:
    return {f.file: (f.kind, f.status, f.rows_read, f.rows_written, f.rows_rejected) for f in res.files}


def _link_tree(src: Path, dst: Path) -> Path:
    """``dst`` made only of symbolic links, one per top-level entry of ``src``."""
    dst.mkdir(parents=True)
    for entry in sorted(src.iterdir()):
        (dst / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return dst


def _assert_balanced(res, processed: Path):
    rej = pd.read_csv(processed / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    vpr = pd.read_parquet(processed / "vpr.parquet")
    for f in res.files:
        if f.kind in ("vpr2020", "vpr2021") and f.status == "ok":
            n_rej = int((rej.file == f.file).sum())
            assert f.rows_rejected == n_rej, f.file
            assert int((vpr.source_file == f.file).sum()) == f.rows_read - n_rej, f.file


# ---------------------------------------------------------------- 1. symbolic links
def test_raw_folder_of_symlinks_loads_the_same_rows(tmp_path):
    src = make_raw(tmp_path / "src")
    links = _link_tree(src, tmp_path / "links")
    assert (links / "vpr").is_symlink() and (links / "logins.xlsx").is_symlink()
    direct = _run(src, tmp_path / "p_direct")
    linked = _run(links, tmp_path / "p_links")
    assert _rows(linked) == _rows(direct)
    vpr_links = _vpr(tmp_path / "p_links")
    assert len(vpr_links) > 0
    assert {GOOD_VPR, "vpr/2020/4/Математика.xlsx"} <= set(vpr_links.source_file)
    pd.testing.assert_frame_equal(vpr_links, _vpr(tmp_path / "p_direct"))
    assert len(pd.read_parquet(tmp_path / "p_links" / "task_specs.parquet")) == 3
    _assert_balanced(linked, tmp_path / "p_links")


def test_symlinked_subfolder_deep_inside_is_followed(tmp_path):
    src = make_raw(tmp_path / "src")
    store = tmp_path / "elsewhere"
    (src / "vpr" / "2021").rename(store)
    (src / "vpr" / "2021").symlink_to(store, target_is_directory=True)
    res = _run(src, tmp_path / "p")
    f = {r.file: r for r in res.files}[GOOD_VPR]
    assert f.status == "ok" and f.rows_read == 10
    assert f.rows_written == f.rows_read - f.rows_rejected
    assert int((_vpr(tmp_path / "p").source_file == GOOD_VPR).sum()) == f.rows_written


def test_symlink_cycle_does_not_hang_or_duplicate(tmp_path):
    src = make_raw(tmp_path / "src")
    before = [p.relative_to(src) for p in discover(src)]
    baseline = _rows(_run(src, tmp_path / "p0"))
    (src / "vpr" / "2021" / "4" / "loop").symlink_to(src, target_is_directory=True)     # back to the root
    (src / "vpr" / "again").symlink_to(src / "vpr" / "2021", target_is_directory=True)  # the same folder twice
    notes: list[str] = []
    assert [p.relative_to(src) for p in discover(src, notes)] == before
    assert notes and all(CYRILLIC.search(n) for n in notes)
    assert any("vpr/again" in n for n in notes) and any("vpr/2021/4/loop" in n for n in notes)
    res = _run(src, tmp_path / "p")
    assert _rows(res) == baseline
    assert any("vpr/again" in w and "ссылк" in w for w in res.warnings)


def test_real_sample_through_symlinks_equals_the_folder_itself(real_data, tmp_path):
    links = _link_tree(real_data, tmp_path / "links")
    direct = _run(real_data, tmp_path / "p_direct", jobs=2)
    linked = _run(links, tmp_path / "p_links", jobs=2)
    n_vpr = len(list((real_data / "vpr_results").rglob("*.xlsx")))
    assert sum(f.kind in ("vpr2020", "vpr2021") for f in linked.files) == n_vpr >= 70
    assert _rows(linked) == _rows(direct)
    assert linked.rows_written == direct.rows_written > 100_000
    pd.testing.assert_frame_equal(_vpr(tmp_path / "p_links"), _vpr(tmp_path / "p_direct"))
    _assert_balanced(linked, tmp_path / "p_links")


# ---------------------------------------------------------------- 2. nothing to load / unreadable file
def test_empty_raw_folder_is_a_russian_error_naming_it(tmp_path):
    raw = tmp_path / "пустая_папка"
    raw.mkdir()
    (raw / "readme.md").write_text("ничего", encoding="utf-8")
    with pytest.raises(MsokoError) as e:
        _run(raw, tmp_path / "p")
    msg = str(e.value)
    assert "пустая_папка" in msg and "нечего загружать" in msg and CYRILLIC.search(msg)


def test_raw_folder_whose_only_vpr_is_broken_is_an_error_naming_the_file(tmp_path):
    raw = tmp_path / "raw"
    good = make_raw(tmp_path / "src") / GOOD_VPR
    bad = raw / "vpr" / "2021" / "4" / good.name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(good.read_bytes()[:500])
    write_xlsx(raw / "logins.xlsx", [["логин", "имя", "регион"], ["sch000001", "МБОУ СОШ №1", "г. Примерск"]])
    with pytest.raises(MsokoError) as e:
        _run(raw, tmp_path / "p")
    msg = str(e.value)
    assert str(raw) in msg and good.name in msg and "повреждён" in msg


def test_cli_exit_code_when_nothing_to_load(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    code = cli_main(["ingest", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code != 0 and "нечего загружать" in err and str(raw) in err and "Traceback" not in err


def test_dangling_symlink_is_an_unreadable_file(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    baseline = _rows(_run(make_raw(tmp_path / "src"), tmp_path / "p0"))
    dead = raw / "vpr" / "2021" / "4" / "Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx"
    dead.symlink_to(tmp_path / "нет_такого.xlsx")
    res = _run(raw, tmp_path / "p")
    err = capsys.readouterr().err
    rel = dead.relative_to(raw).as_posix()
    assert [f.file for f in res.unreadable] == [rel]
    msg = res.unreadable[0].message
    assert rel in msg and "не удалось открыть" in msg and "ОШИБКА:" in err and "Traceback" not in err
    assert {k: v for k, v in _rows(res).items() if k != rel} == baseline   # nothing else lost
    # a re-run without changes still reports it (the error is not cached into silence)
    again = _run(raw, tmp_path / "p")
    assert [f.file for f in again.unreadable] == [rel]


def test_truncated_file_is_flagged_unreadable(tmp_path):
    raw = make_raw(tmp_path / "raw")
    src = raw / GOOD_VPR
    dst = src.with_name("Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx")
    dst.write_bytes(src.read_bytes()[:700])
    res = _run(raw, tmp_path / "p")
    assert [f.file for f in res.unreadable] == [dst.relative_to(raw).as_posix()]
    assert res.ok  # the balance itself holds; the CLI decides the exit code from .unreadable
    clean = _run(make_raw(tmp_path / "src"), tmp_path / "p0")
    assert clean.unreadable == []


# ---------------------------------------------------------------- 3. formulas in CSVs
@pytest.mark.parametrize("value,expected", [
    ("=1+2", "'=1+2"), ("+7 913", "'+7 913"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("sch000001", "sch000001"), ("", ""), ("a=b", "a=b"),
    ("'quoted", "'quoted"), (5, 5), (-1.5, -1.5), (None, None),
])
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected
    assert csv_unsafe(csv_safe(value)) == value


def test_write_csv_neutralises_text_cells_only(tmp_path):
    df = pd.DataFrame({"file": ["=HYPERLINK(\"http://x\")", "ok.xlsx"], "row": [-3, 4], "value": ["@x", None]})
    write_csv(df, tmp_path / "out.csv")
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'@x" in text and "-3" in text and "'-3" not in text
    back = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert back.file.tolist() == ["'=HYPERLINK(\"http://x\")", "ok.xlsx"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]   # no temporary file left


def test_rejects_and_cleaning_log_have_no_live_formulas(tmp_path):
    raw = make_raw(tmp_path / "raw")
    rows = [H2021,
            ["sch000001", "р", "1", "40001", "4", "м", "а", "1", "5", "1", "2", "2", "", "", "", None, None],
            ["sch000001", "р", "2", "40002", "4", "м", "а", "1", "5", "1", "=1+1", "2", "", "", "", None, None],
            ["sch000001", "р", "3", "40003", "4", "@cmd", "а", "1", "5", "1", "2", "2", "", "", "", None, None],
            ["sch000001", "р", "4", "40004", "+6", "ж", "а", "1", "5", "1", "2", "2", "", "", "", None, None],
            ["sch000002", "р", "5", "40005", "4", "ж", "а", "1", "-1", "0", "0", "-1", "", "", "", None, None]]
    write_xlsx(raw / GOOD_VPR, rows)
    wb = openpyxl.load_workbook(raw / GOOD_VPR)
    cell = wb.active.cell(row=3, column=11)
    cell.value, cell.data_type = "=1+1", "s"     # text, as an export stores it (not a formula)
    wb.save(raw / GOOD_VPR)
    res = _run(raw, tmp_path / "p")
    f = {r.file: r for r in res.files}[GOOD_VPR]
    assert (f.rows_read, f.rows_rejected, f.rows_written) == (5, 2, 3)
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == GOOD_VPR].set_index("row")
    assert mine.loc["3", "value"] == "'=1+1"
    assert mine.loc["6", "value"].startswith("'-")
    cl = pd.read_csv(tmp_path / "p" / "cleaning_log.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = cl[cl.file == GOOD_VPR]
    assert "'@cmd" in set(mine.value) and "'+6" in set(mine.value)
    for df in (rej, cl, pd.read_csv(tmp_path / "p" / "ingest_report.csv", encoding="utf-8-sig", dtype=str,
                                    keep_default_na=False)):
        for c in df.columns:
            assert not df[c].str.match(r"[=+\-@\t\r]").any(), c
    assert len(_vpr(tmp_path / "p").query("source_file == @GOOD_VPR")) == f.rows_read - f.rows_rejected


def test_report_of_a_file_named_like_a_formula_survives_the_no_change_rerun(tmp_path):
    raw = make_raw(tmp_path / "raw")
    write_xlsx(raw / "=cmd.xlsx", [["a", "b"], [1, 2]])      # unknown layout: skipped, but listed
    first = _run(raw, tmp_path / "p")
    assert "=cmd.xlsx" in _rows(first)
    rep = pd.read_csv(tmp_path / "p" / "ingest_report.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert "'=cmd.xlsx" in set(rep.file) and "=cmd.xlsx" not in set(rep.file)
    again = _run(raw, tmp_path / "p")
    assert again.unchanged and _rows(again) == _rows(first)


# ---------------------------------------------------------------- 4. atomic writes, damaged cache/state
def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "meta.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp != target
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("crash while writing")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]


def _cache_meta(processed: Path, file: str) -> Path:
    for mp in (processed / CACHE_DIR).glob("*/meta.json"):
        if json.loads(mp.read_text(encoding="utf-8"))["file"] == file:
            return mp
    raise AssertionError(file)


@pytest.mark.parametrize("damage", [b"", b"{\"file\": ", b"[]"])
def test_damaged_cache_meta_is_rebuilt(tmp_path, damage):
    raw = make_raw(tmp_path / "raw")
    first = _run(raw, tmp_path / "p")
    mp = _cache_meta(tmp_path / "p", GOOD_VPR)
    mp.write_bytes(damage)
    # another input changes, so the cache of the untouched workbook is consulted
    write_xlsx(raw / "templates" / "noise.xlsx", [["x", "y"], [1, 2]])
    res = _run(raw, tmp_path / "p")
    assert res.parsed == 2   # the damaged entry and the new file
    assert {k: v for k, v in _rows(res).items() if not k.startswith("templates/")} == _rows(first)
    assert any("Кэш" in w and GOOD_VPR in w and "повреждён" in w for w in res.warnings)
    json.loads(_cache_meta(tmp_path / "p", GOOD_VPR).read_text(encoding="utf-8"))   # valid again
    _assert_balanced(res, tmp_path / "p")


def test_cache_meta_whose_fragment_is_missing_is_rebuilt(tmp_path):
    raw = make_raw(tmp_path / "raw")
    first = _run(raw, tmp_path / "p")
    mp = _cache_meta(tmp_path / "p", GOOD_VPR)
    (mp.parent / "vpr.parquet").write_bytes(b"")
    (tmp_path / "p" / STATE_FILE).unlink()
    res = _run(raw, tmp_path / "p")
    assert _rows(res) == _rows(first) and res.parsed == 1
    assert any(GOOD_VPR in w and "повреждён" in w for w in res.warnings)


@pytest.mark.parametrize("damage", [b"", b"{oops", b"[1, 2]"])
def test_damaged_state_file_is_ignored_with_a_note(tmp_path, damage):
    raw = make_raw(tmp_path / "raw")
    first = _run(raw, tmp_path / "p")
    (tmp_path / "p" / STATE_FILE).write_bytes(damage)
    res = _run(raw, tmp_path / "p")
    assert _rows(res) == _rows(first) and not res.unchanged
    assert any(STATE_FILE in w and "повреждён" in w for w in res.warnings)
    assert json.loads((tmp_path / "p" / STATE_FILE).read_text(encoding="utf-8"))["files"]


def test_outputs_leave_no_temporary_files(tmp_path):
    raw = make_raw(tmp_path / "raw")
    _run(raw, tmp_path / "p")
    left = [p for p in (tmp_path / "p").rglob("*") if p.name.endswith(".tmp")]
    assert left == []


# ---------------------------------------------------------------- 5. processed vs raw
@pytest.mark.parametrize("where", ["same", "inside_raw", "contains_raw"])
def test_processed_must_be_apart_from_raw(tmp_path, where):
    raw = make_raw(tmp_path / "data" / "raw")
    processed = {"same": raw, "inside_raw": raw / "processed", "contains_raw": tmp_path / "data"}[where]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(MsokoError) as e:
        _run(raw, processed)
    msg = str(e.value)
    assert CYRILLIC.search(msg) and str(raw) in msg
    assert ("--processed" in msg) or ("раздельно" in msg)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before   # nothing written


def test_processed_equal_to_raw_through_a_symlink_is_refused(tmp_path):
    raw = make_raw(tmp_path / "raw")
    (tmp_path / "alias").symlink_to(raw, target_is_directory=True)
    with pytest.raises(MsokoError, match="совпадает"):
        _run(raw, tmp_path / "alias")


# ---------------------------------------------------------------- 6. contradictions are findings, not merges
@pytest.mark.parametrize("rel, conflict", [
    ("vpr/2022/4/Проведение работы по математике, 5 класс. ВПР 2021.xlsx",
     "год: 2021 в имени файла, 2022 по папке; класс: 5 в имени файла, 4 по папке"),
    ("vpr/2021/4/Русский язык/Проведение работы по математике, 4 класс. ВПР 2021.xlsx",
     "предмет: Математика в имени файла, Русский язык по папке"),
])
def test_file_name_disagreeing_with_its_folder_is_rejected_not_merged(tmp_path, capsys, rel, conflict):
    raw = make_raw(tmp_path / "raw")
    baseline = _rows(_run(make_raw(tmp_path / "src"), tmp_path / "p0"))
    base_vpr = _vpr(tmp_path / "p0")
    capsys.readouterr()
    (raw / rel).parent.mkdir(parents=True, exist_ok=True)
    (raw / rel).write_bytes((raw / GOOD_VPR).read_bytes())
    res = _run(raw, tmp_path / "p")
    err = capsys.readouterr().err
    f = {r.file: r for r in res.files}[rel]
    assert (f.status, f.rows_read, f.rows_written, f.rows_rejected) == ("ok", 10, 0, 10)   # 10 = 0 + 10
    assert {k: v for k, v in _rows(res).items() if k != rel} == baseline     # nothing else changed
    pd.testing.assert_frame_equal(_vpr(tmp_path / "p"), base_vpr)           # no row merged elsewhere
    tasks = pd.read_parquet(tmp_path / "p" / "vpr_tasks.parquet")
    assert len(tasks) == len(pd.read_parquet(tmp_path / "p0" / "vpr_tasks.parquet"))
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == rel]
    assert sorted(mine.row.astype(int)) == list(range(2, 12))
    assert set(mine.value) == {Path(rel).name} and all(conflict in r for r in mine.reason)
    warning = next(w for w in res.warnings if rel in w)
    assert conflict in warning and "все 10 строк файла отклонены" in warning
    assert f"Предупреждение: «{rel}»: имя файла и папка расходятся ({conflict})" in err
    assert "Traceback" not in err
    _assert_balanced(res, tmp_path / "p")


def _contingent_csv(rows: list[str]) -> str:
    return "Год;Логин ОО;Класс;Обучающихся\n" + "".join(r + "\n" for r in rows)


CONTINGENT = [f"2021;sch000001;{g};{20 + g}" for g in range(1, 12)] + \
             [f"2021;sch000002;{g};{30 + g}" for g in range(1, 7)]          # 17 rows, one per line


def test_csv_whose_unclosed_quote_swallows_rows_does_not_balance(tmp_path, capsys):
    """The issue's case: a quote opened in row 4 (line 5) closes 13 lines later; the csv module reads
    4 rows. The balance counts the file's lines independently: 17 read = 3 loaded + 1 rejected, the
    13 swallowed lines are named; the file does not balance and ingest exits 1."""
    rows = list(CONTINGENT)
    rows[3] = rows[3].replace(";sch000001;", ';"sch000001;')     # line 5: the quote opens …
    rows[16] = rows[16].replace("sch000002;", 'sch000002";')     # … and closes on line 18
    raw = make_raw(tmp_path / "raw")
    (raw / "templates").mkdir()
    rel = "templates/contingent.csv"
    (raw / rel).write_text(_contingent_csv(rows), encoding="utf-8")
    code = cli_main(["ingest", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    rep = pd.read_csv(tmp_path / "p" / "ingest_report.csv", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False).set_index("file")
    assert rep.loc[rel, ["rows_read", "rows_written", "rows_rejected"]].tolist() == ["17", "3", "1"]
    # off a terminal the balance table is not printed: the file that does not balance is an error line
    assert f"ОШИБКА: «{rel}»: баланс строк не сходится: прочитано 17, записано 3, отклонено 1." in err
    assert f"Предупреждение: «{rel}»: незакрытая кавычка в строке 5 (столбец «Логин ОО») поглотила " \
           "строки 6–18 файла (13 стр.)" in err
    loaded = pd.read_parquet(tmp_path / "p" / "contingent.parquet")
    assert sorted(loaded.grade.tolist()) == [1, 2, 3] and loaded.school_id.str.len().max() < 20
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == rel]
    assert mine.row.tolist() == ["5"] and "строки 6–18 файла (13)" in mine.reason.iloc[0]
    assert mine.value.iloc[0].startswith("sch000001;4;24 ⏎ 2021;sch000001;5;25")


def test_csv_with_quotes_closed_and_a_real_multiline_cell_balances(tmp_path):
    rows = list(CONTINGENT)
    rows[0] = '2021;"sch000001";1;21'                          # quoted, closed: an ordinary cell
    rows[1] = '2021;sch000001;2;"22\nучеников"'                  # a line break inside a cell: one row
    raw = make_raw(tmp_path / "raw")
    (raw / "templates").mkdir()
    (raw / "templates" / "contingent.csv").write_text(_contingent_csv(rows), encoding="utf-8")
    res = _run(raw, tmp_path / "p")
    f = {r.file: r for r in res.files}["templates/contingent.csv"]
    assert (f.rows_read, f.rows_written, f.rows_rejected) == (17, 16, 1) and res.ok  # 17 = 16 + 1
    assert not any("кавычк" in w for w in res.warnings)


def test_second_logins_file_with_conflicting_names_is_rejected_row_by_row(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    second = "Новый реестр/logins.xlsx"
    write_xlsx(raw / second, [["логин", "имя", "регион"],
                              ["sch000001", "МБОУ Лицей №1", "г. Примерск"],         # r2 name differs
                              ["sch000002", "МБОУ Гимназия №2", "г. Примерск"],      # r3 the same row
                              ["sch000003", "МБОУ ООШ №3", "с. Новое"]])             # r4 new school
    res = _run(raw, tmp_path / "p")
    err = capsys.readouterr().err
    f = {r.file: r for r in res.files}
    assert (f[second].rows_read, f[second].rows_written, f[second].rows_rejected) == (3, 1, 2)   # 3 = 1 + 2
    assert (f["logins.xlsx"].rows_read, f["logins.xlsx"].rows_written) == (2, 2)
    schools = pd.read_parquet(tmp_path / "p" / "schools.parquet").set_index("school_id")
    assert schools.loc["sch000001", "name"] == "МБОУ СОШ №1" and schools.loc["sch000003", "name"] == "МБОУ ООШ №3"
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == second].set_index("row")
    assert list(mine.index) == ["2", "3"]
    assert ("с другими данными: здесь название «МБОУ Лицей №1», а там «МБОУ СОШ №1»" in mine.loc["2", "reason"]
            and "строки 2 файла «logins.xlsx»" in mine.loc["2", "reason"])
    assert "повтор логина" in mine.loc["3", "reason"] and "строки 3 файла «logins.xlsx»" in mine.loc["3", "reason"]
    assert (f"Предупреждение: «{second}»: логины, уже загруженные из «logins.xlsx» с другим названием или "
            "муниципалитетом (строк: 1)") in err
    assert res.ok and "Traceback" not in err


@pytest.mark.parametrize("src, column, renamed, letters", [
    (GOOD_VPR, 12, "балл за 2", "K, L"),                        # «балл за 3» renamed «балл за 2»
    ("vpr/2020/4/Математика.xlsx", 13, "a-4-grade", "M, N"),   # «a-3-grade» renamed «a-4-grade»
])
def test_duplicate_task_columns_are_rejected_never_loaded_twice(tmp_path, capsys, src, column, renamed, letters):
    raw = make_raw(tmp_path / "raw")
    baseline = _rows(_run(make_raw(tmp_path / "src"), tmp_path / "p0"))
    base_tasks = pd.read_parquet(tmp_path / "p0" / "vpr_tasks.parquet")
    capsys.readouterr()
    wb = openpyxl.load_workbook(raw / src)
    wb.active.cell(row=1, column=column).value = renamed
    wb.save(raw / src)
    res = _run(raw, tmp_path / "p")
    err = capsys.readouterr().err
    f = {r.file: r for r in res.files}[src]
    n = baseline[src][2]
    assert (f.status, f.rows_read, f.rows_written, f.rows_rejected) == ("ok", n, 0, n)
    assert {k: v for k, v in _rows(res).items() if k != src} == {k: v for k, v in baseline.items() if k != src}
    assert src not in set(_vpr(tmp_path / "p").source_file)
    tasks = pd.read_parquet(tmp_path / "p" / "vpr_tasks.parquet")
    year = int(src.split("/")[1])
    assert len(tasks[tasks.year == year]) == 0 and len(tasks) == len(base_tasks[base_tasks.year != year])
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == src]
    assert len(mine) == n and set(mine.column) == {renamed} and set(mine.value) == {f"столбцы {letters}"}
    assert all(f"столбец «{renamed}» повторяется (столбцы {letters})" in r for r in mine.reason)
    assert f"Предупреждение: «{src}»: столбец «{renamed}» повторяется (столбцы {letters})" in err
    _assert_balanced(res, tmp_path / "p")


def _excel_error(path: Path, cells: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        cell = wb.active[ref]
        cell.value, cell.data_type = value, "e"      # an error value as Excel stores it (t="e")
    wb.save(path)


def test_excel_error_values_are_rejected_with_file_row_column_and_value(tmp_path, capsys):
    from msoko.readers import read_excel

    raw = make_raw(tmp_path / "raw")
    baseline = _rows(_run(make_raw(tmp_path / "src"), tmp_path / "p0"))
    capsys.readouterr()
    # K3: task 2 of a good row; I8: «всего баллов» of a good row; M11: «Учебник», a column not read
    _excel_error(raw / GOOD_VPR, {"K3": "#N/A", "I8": "#DIV/0!", "M11": "#REF!"})
    assert read_excel(raw / GOOD_VPR).rows[1][10] == ""          # what the reader alone would give
    res = _run(raw, tmp_path / "p")
    err = capsys.readouterr().err
    kind, status, read, written, rejected = baseline[GOOD_VPR]
    f = {r.file: r for r in res.files}[GOOD_VPR]
    assert (f.rows_read, f.rows_written, f.rows_rejected) == (read, written - 2, rejected + 2)
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    mine = rej[rej.file == GOOD_VPR].set_index("row")
    assert mine.loc["3", ["column", "value"]].tolist() == ["балл за 2", "#N/A"]
    assert "ошибка Excel «#N/A» в ячейке K3" in mine.loc["3", "reason"]
    assert mine.loc["8", ["column", "value"]].tolist() == ["всего баллов", "#DIV/0!"]
    assert "11" not in mine.index                                  # an error where nothing is read
    vpr = _vpr(tmp_path / "p")
    assert {3, 8}.isdisjoint(vpr[vpr.source_file == GOOD_VPR].source_row) and 11 in set(vpr.source_row)
    assert (f"Предупреждение: «{GOOD_VPR}»: ошибки Excel (#DIV/0!, #N/A) вместо значений, ячеек: 2; "
            "отклонено строк: 2") in err
    assert {k: v for k, v in _rows(res).items() if k != GOOD_VPR} == \
        {k: v for k, v in baseline.items() if k != GOOD_VPR}
    _assert_balanced(res, tmp_path / "p")


def _encrypted_workbook(path: Path) -> Path:
    """A password-protected .xlsx as Excel stores one: an OLE compound file (CFB v3) with the streams
    EncryptionInfo and EncryptedPackage (their content is irrelevant here: nothing can decrypt it)."""
    import struct

    end, free, fat_sect, dir_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 1
    streams = [("EncryptionInfo", b"\x04\x00\x04\x00" + bytes(4092)), ("EncryptedPackage", bytes(4096))]
    fat, data, start = [fat_sect, end], [], 2
    for _, body in streams:                       # ≥ 4096 bytes: regular sectors, no mini stream
        n = len(body) // 512
        fat += [start + i + 1 for i in range(n - 1)] + [end]
        data.append(body)
        start += n
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, left: int, right: int, child: int, sect: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        return (raw.ljust(64, b"\x00") + struct.pack("<HBB3I", len(raw), kind, 1, left, right, child)
                + bytes(16) + bytes(4) + bytes(16) + struct.pack("<IQ", sect, size))

    nostream = 0xFFFFFFFF
    directory = (entry("Root Entry", 5, nostream, nostream, 1, end, 0)
                 + entry("EncryptionInfo", 2, nostream, 2, nostream, 2, 4096)
                 + entry("EncryptedPackage", 2, nostream, nostream, nostream, 10, 4096)
                 + entry("", 0, nostream, nostream, nostream, 0, 0))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + bytes(6) + struct.pack("<IIIIIIII", 0, 1, dir_sect, 0, 4096, end, 0, end)
              + struct.pack("<I", end) + struct.pack("<109I", 0, *([free] * 108)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + struct.pack("<128I", *fat) + directory + b"".join(data))
    return path


def test_password_protected_workbook_is_named_so_in_russian(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    baseline = _rows(_run(make_raw(tmp_path / "src"), tmp_path / "p0"))
    capsys.readouterr()
    rel = "vpr/2021/4/Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx"
    _encrypted_workbook(raw / rel)
    code = cli_main(["ingest", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"ОШИБКА: Файл «{Path(rel).name}» защищён паролем" in err
    assert "повреждён" not in err and "PasswordError" not in err and "Cfb" not in err
    rep = pd.read_csv(tmp_path / "p" / "ingest_report.csv", encoding="utf-8-sig", dtype=str,
                      keep_default_na=False).set_index("file")
    assert rep.loc[rel, "status"] == "error" and "защищён паролем" in rep.loc[rel, "message"]
    assert {k: v for k, v in _rows(ingest(raw, tmp_path / "p", jobs=1, progress=False)).items()
            if k != rel} == baseline


def test_a_workbook_encrypted_by_msoffcrypto_is_named_so(tmp_path):
    """The same with a workbook really encrypted (when msoffcrypto-tool is installed)."""
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    from msoko.readers import read_table

    plain = write_xlsx(tmp_path / "plain.xlsx", [["a", "b"], [1, 2]])
    with open(plain, "rb") as src, open(tmp_path / "secret.xlsx", "wb") as out:
        ooxml.OOXMLFile(src).encrypt("пароль", out)
    with pytest.raises(MsokoError, match="«secret.xlsx» защищён паролем"):
        read_table(tmp_path / "secret.xlsx")


# ---------------------------------------------------------------- 7. a folder that cannot be written, a busy folder
def _no_room(code: int):
    import errno
    import types

    def mkstemp(*args, dir=None, **kwargs):
        raise OSError(code, os.strerror(code), os.path.join(str(dir), "x.tmp") if code == errno.EACCES else None)

    return types.SimpleNamespace(mkstemp=mkstemp)


@pytest.mark.parametrize("code, said", [(28, "Нет места на диске: не удалось записать в папку"),      # ENOSPC
                                        (30, "файловая система доступна только для чтения"),          # EROFS
                                        (13, "Нет прав на запись в папку")])                          # EACCES
def test_unwritable_output_during_ingest_is_a_russian_message_naming_the_folder(tmp_path, monkeypatch, capsys,
                                                                                  code, said):
    import msoko.store as store

    raw = make_raw(tmp_path / "raw")
    processed = tmp_path / "p"
    args = ["ingest", "--raw", str(raw), "--processed", str(processed), "--jobs", "1"]
    assert cli_main(args) == 0
    before = {p.name: p.read_bytes() for p in processed.iterdir() if p.is_file()}
    capsys.readouterr()
    write_xlsx(raw / "vpr" / "2021" / "4" / "Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx",
               [H2021, ["sch000001", "р", "1", "40001", "4", "м", "а", "1", "1", "1", "0", "0"]])
    monkeypatch.setattr(store, "tempfile", _no_room(code))   # every write of msoko fails as the disk would
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert said in err and f"«{processed}»" in err and "Traceback" not in err and "Errno" not in err
    assert {p.name: p.read_bytes() for p in processed.iterdir() if p.is_file()} == before  # nothing half-written
    monkeypatch.undo()
    assert cli_main(args) == 0                               # room again: the run goes through
    err = capsys.readouterr().err
    assert "повреждён" not in err and "Traceback" not in err
    assert (processed / STATE_FILE).stat().st_size > 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_processed_folder_is_a_russian_message(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    processed = tmp_path / "p"
    processed.mkdir()
    processed.chmod(0o555)
    try:
        code = cli_main(["ingest", "--raw", str(raw), "--processed", str(processed), "--jobs", "1"])
    finally:
        processed.chmod(0o755)
    err = capsys.readouterr().err
    assert code == 2 and "Нет прав на запись в папку" in err and str(processed) in err and "Traceback" not in err


def _sleeper():
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def test_second_ingest_into_a_busy_folder_is_refused(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    processed = tmp_path / "p"
    processed.mkdir()
    other = _sleeper()                                         # «another msoko» holding the folder
    try:
        (processed / ".msoko.lock").write_text(str(other.pid), encoding="utf-8")
        code = cli_main(["ingest", "--raw", str(raw), "--processed", str(processed), "--jobs", "1"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert f"Папка «{processed}» занята: в неё уже пишет другой процесс msoko (процесс {other.pid})" in err
        assert [p.name for p in processed.iterdir()] == [".msoko.lock"]          # nothing written
        assert cli_main(["compute", "--processed", str(processed)]) == 2           # compute waits its turn too
        assert "занята" in capsys.readouterr().err
    finally:
        other.kill()
        other.wait()
    # the holder is gone: its lock is stale, the next ingest takes it over and releases it
    assert cli_main(["ingest", "--raw", str(raw), "--processed", str(processed), "--jobs", "1"]) == 0
    assert not (processed / ".msoko.lock").exists() and (processed / "vpr.parquet").exists()
