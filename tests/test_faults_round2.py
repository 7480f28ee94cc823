"""Issue 23, "nothing lost, nothing silent" — round two. One test per case; every test counts the input
rows itself (openpyxl / csv), independently of msoko, and matches them against what msoko wrote
(Parquet tables, rejects.csv, ingest_report.csv) and against the exit code. Inputs are made here, in
tmp_path, from the small raw folder of tests/test_ingest.py."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from msoko.cli import main as cli_main
from tests.test_ingest import H2021, make_raw, write_xlsx

GOOD_VPR = "vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
CYRILLIC = re.compile("[а-яА-Я]")


def _count_rows(path: Path) -> dict[str, int]:
    """Non-empty rows below the first non-empty row (the header) of every sheet, by openpyxl."""
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = [r for r in ws.iter_rows(values_only=True) if any(v not in (None, "") for v in r)]
        out[ws.title] = max(len(rows) - 1, 0)
    return out


def _ingest_cli(raw: Path, processed: Path, capsys) -> tuple[int, str]:
    code = cli_main(["ingest", "--raw", str(raw), "--processed", str(processed), "--jobs", "1"])
    return code, capsys.readouterr().err


def _report(processed: Path) -> pd.DataFrame:
    return pd.read_csv(processed / "ingest_report.csv", encoding="utf-8-sig", keep_default_na=False)


def _rejects(processed: Path) -> pd.DataFrame:
    return pd.read_csv(processed / "rejects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _file_rows(rep: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return rep[rep.file.str.startswith(prefix)]


def _add_sheet(path: Path, title: str, rows: list[list]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet(title)
    for r in rows:
        ws.append(r)
    wb.save(path)


def _new_students(n: int, first=40100) -> list[list]:
    return [["sch000002", "р", str(50 + i), str(first + i), "4", "м", "а", "1", "3", "1", "1", "1", "", "", "",
             None, None] for i in range(n)]


# ---------------------------------------------------------------- 1. every sheet of a workbook
def test_vpr_export_with_data_on_two_sheets_reads_both(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    path = raw / GOOD_VPR
    _add_sheet(path, "Лист2", [H2021] + _new_students(4))
    counted = _count_rows(path)
    assert list(counted.values()) == [10, 4]
    code, err = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _file_rows(_report(tmp_path / "p"), GOOD_VPR)
    assert len(rep) == 2 and rep.file.str.contains("Лист2").sum() == 1
    assert int(rep.rows_read.sum()) == sum(counted.values()) == 14
    assert (rep.rows_read == rep.rows_written + rep.rows_rejected).all()
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    second = rep[rep.file.str.contains("Лист2")].iloc[0]
    assert second.status == "ok" and second.rows_written == 4
    assert int((vpr.source_file == second.file).sum()) == 4
    assert set(vpr[vpr.source_file == second.file].student_code) == {"40100", "40101", "40102", "40103"}
    assert code == 0


def test_gia_template_with_oge_and_ege_sheets_reads_both(tmp_path, capsys):
    from msoko.dictionary import load_dictionary

    raw = make_raw(tmp_path / "raw")
    head = [c.header for c in load_dictionary().table("gia").columns]

    def rows(exam, n, first):
        return [[2021, exam, "sch000001", str(first + i), "Математика", 10 + i, None, 4, 8] for i in range(n)]

    path = raw / "gia_2021.xlsx"
    write_xlsx(path, [head] + rows("ОГЭ", 6, 900100))
    _add_sheet(path, "ЕГЭ", [head] + rows("ЕГЭ", 5, 900200))
    counted = _count_rows(path)
    assert sum(counted.values()) == 11
    code, _ = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _file_rows(_report(tmp_path / "p"), "gia_2021.xlsx")
    assert int(rep.rows_read.sum()) == 11 and int(rep.rows_written.sum()) == 11
    gia = pd.read_parquet(tmp_path / "p" / "gia.parquet")
    assert gia.exam.value_counts().to_dict() == {"ОГЭ": 6, "ЕГЭ": 5}
    assert code == 0


def test_a_data_sheet_of_no_known_format_is_refused_by_name(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    path = raw / GOOD_VPR
    _add_sheet(path, "Итоги", [["Школа", "Примечание"], ["sch000001", "пересдача"], ["sch000002", "болел"]])
    code, err = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _file_rows(_report(tmp_path / "p"), GOOD_VPR)
    assert int(rep.rows_read.sum()) == sum(_count_rows(path).values()) == 12
    sheet = rep[rep.file.str.contains("Итоги")].iloc[0]
    assert sheet.status == "refused" and sheet.rows_rejected == 2 and sheet.rows_written == 0
    rej = _rejects(tmp_path / "p")
    assert (rej.file == sheet.file).sum() == 2
    assert rej[rej.file == sheet.file].reason.str.contains("лист «Итоги» не прочитан").all()
    assert "Итоги" in err and code == 1


# ---------------------------------------------------------------- 2. a recognised ВПР export that cannot be placed
@pytest.mark.parametrize("where", [
    "vpr/2021/8/Проведение работы по астрономии, 8 класс. ВПР 2021.xlsx",   # a subject msoko does not know
    "export.xlsx",                                                          # no year, no grade in the path
    "ссылка.xlsx",                                                          # the same, as a symbolic link
])
def test_recognised_vpr_export_that_cannot_be_placed_is_read_and_rejected(tmp_path, capsys, where):
    raw = make_raw(tmp_path / "raw")
    src = raw / GOOD_VPR
    dst = raw / where
    dst.parent.mkdir(parents=True, exist_ok=True)
    if where.startswith("ссылка"):
        dst.symlink_to(src)
    else:
        shutil.copy(src, dst)
    n = _count_rows(dst)
    code, err = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _report(tmp_path / "p").set_index("file")
    f = rep.loc[where]
    assert f.status == "refused"
    assert (f.rows_read, f.rows_written, f.rows_rejected) == (sum(n.values()), 0, 10)
    rej = _rejects(tmp_path / "p")
    assert (rej.file == where).sum() == 10 and rej[rej.file == where].reason.str.contains("не удалось определить").all()
    assert rep.loc[GOOD_VPR].rows_written > 0          # the others still load
    assert "ОТКЛОНЁН" in err and code == 1


def test_vpr_export_with_title_rows_above_its_header_is_read(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    path = raw / GOOD_VPR
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    write_xlsx(path, [["Результаты ВПР 2021, математика, 4 класс"], ["Выгрузка от 12.05.2021"], *rows])
    code, _ = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _report(tmp_path / "p").set_index("file")
    f = rep.loc[GOOD_VPR]
    # the independent count: the rows below the real header (row 3), not the title lines
    assert f.status == "ok" and f.rows_read == len(rows) - 1 == 10
    assert f.rows_read == f.rows_written + f.rows_rejected
    rej = _rejects(tmp_path / "p")
    # the row numbers are the sheet's: the first data row is row 4 now
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    assert int(vpr[vpr.source_file == GOOD_VPR].source_row.min()) == 4
    assert rej[rej.file == GOOD_VPR].row.astype(int).min() >= 4
    assert code == 0


# ---------------------------------------------------------------- 3. a formula without a cached value
def test_formula_without_cached_value_is_rejected_not_read_as_blank(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    path = raw / GOOD_VPR
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["J2"] = "=0+0"          # a score cell of row 2, saved by a tool that does not compute formulas
    wb.save(path)
    # independently: openpyxl sees a formula, and no cached value
    assert openpyxl.load_workbook(path).active["J2"].value == "=0+0"
    assert openpyxl.load_workbook(path, data_only=True).active["J2"].value is None
    code, err = _ingest_cli(raw, tmp_path / "p", capsys)
    rej = _rejects(tmp_path / "p")
    r = rej[(rej.file == GOOD_VPR) & (rej.row == "2")]
    assert len(r) == 1 and "=0+0" in r.iloc[0].value and "формула" in r.iloc[0].reason
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    assert 2 not in set(vpr[vpr.source_file == GOOD_VPR].source_row)
    f = _report(tmp_path / "p").set_index("file").loc[GOOD_VPR]
    assert f.rows_read == 10 and f.rows_read == f.rows_written + f.rows_rejected
    assert "формулы без вычисленного значения" in err


# ---------------------------------------------------------------- 4–6. the configuration
def _teachers(folder: Path) -> pd.DataFrame:
    from msoko.store import write_table

    sizes = {"A": 6, "B": 8, "C": 12}              # schools of 6, 8 and 12 teachers
    sid = [s for s, n in sizes.items() for _ in range(n)]
    t = pd.DataFrame({"year": 2022, "school_id": sid, "teacher_code": [f"t{i}" for i in range(len(sid))],
                      "birth_year": 1980, "category": "высшая",
                      "kpk_date": pd.to_datetime("2021-03-01"), "deficit_diagnostics": True,
                      "individual_route": True, "prof_contest": False})
    write_table(t, folder, "teachers")
    return t


def _school_rows(processed: Path, code: str) -> pd.DataFrame:
    ind = pd.read_parquet(processed / "indicators.parquet")
    return ind[(ind.indicator == code) & (ind.level == "school")].set_index("school_id")


def test_user_suppression_threshold_is_applied_by_compute(tmp_path, capsys):
    t = _teachers(tmp_path / "p")
    n = t.groupby("school_id").size()                       # counted here: 6, 8, 12
    cfg = tmp_path / "m.toml"
    cfg.write_text("[informativeness]\nsuppress_below = 10\n", encoding="utf-8")
    assert cli_main(["compute", "--processed", str(tmp_path / "p"), "--config", str(cfg)]) == 0
    rows = _school_rows(tmp_path / "p", "teachers_kpk3")
    assert rows.n.astype(int).to_dict() == n.to_dict()
    assert rows.suppressed.to_dict() == {"A": True, "B": True, "C": False}
    assert rows.loc[["A", "B"], "value"].isna().all() and rows.loc["C", "value"] == pytest.approx(100.0)
    # the default (5) shows all three: the setting, not the data, made the difference
    assert cli_main(["compute", "--processed", str(tmp_path / "p")]) == 0
    assert not _school_rows(tmp_path / "p", "teachers_kpk3").suppressed.any()


@pytest.mark.parametrize("text, named", [
    ("[informativeness]\nsupress_below = 10\n", ["supress_below", "возможно, вы имели в виду «suppress_below»"]),
    ("[informativness]\nsuppress_below = 10\n", ["informativness", "возможно, вы имели в виду «informativeness»"]),
    ("[objectivity]\nalfa = 0.01\n", ["alfa", "«alpha»"]),
])
def test_misspelt_configuration_key_is_named_with_a_suggestion(tmp_path, capsys, text, named):
    _teachers(tmp_path / "p")
    cfg = tmp_path / "m.toml"
    cfg.write_text(text, encoding="utf-8")
    code = cli_main(["compute", "--processed", str(tmp_path / "p"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2
    assert "нет такого" in err and all(w in err for w in named), err
    assert not (tmp_path / "p" / "indicators.parquet").exists()      # nothing computed on a wrong setting


@pytest.mark.parametrize("text, key, expected", [
    ('[informativeness]\nsuppress_below = "десять"\n', "informativeness.suppress_below", "целое число"),
    ("[analysis]\nby_breakdown = 1\n", "analysis.by_breakdown", "логическое значение"),
    ("[objectivity]\nofficial_grades = 4\n", "objectivity.official_grades", "список"),
    ('[targets]\nvpr_fail_share = { default = "10 %" }\n', "targets.vpr_fail_share", "число"),
])
def test_wrong_type_in_configuration_is_an_input_error_naming_key_and_type(tmp_path, capsys, text, key, expected):
    _teachers(tmp_path / "p")
    cfg = tmp_path / "m.toml"
    cfg.write_text(text, encoding="utf-8")
    code = cli_main(["compute", "--processed", str(tmp_path / "p"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert key in err and f"ожидается {expected}" in err and "Внутренняя ошибка" not in err, err


def test_the_built_in_configuration_passes_its_own_check():
    from msoko.config import _read_default, check_user_config

    default = _read_default()
    assert check_user_config(default, default) == []


# ---------------------------------------------------------------- 7. reports folder inside raw
def test_reports_folder_inside_raw_is_refused(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    before = sorted(p.relative_to(raw) for p in raw.rglob("*"))
    code = cli_main(["run", "--raw", str(raw), "--processed", str(tmp_path / "p"),
                     "--reports", str(raw / "reports"), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--reports" in err and "внутри папки исходных данных" in err
    assert sorted(p.relative_to(raw) for p in raw.rglob("*")) == before     # nothing written into raw
    assert not (tmp_path / "p").exists()                                     # refused before ingest


# ---------------------------------------------------------------- 8. a named pipe in raw
def test_named_pipe_in_raw_is_skipped_with_a_warning_not_opened(tmp_path):
    import subprocess
    import sys

    raw = make_raw(tmp_path / "raw")
    os.mkfifo(raw / "vpr" / "2021" / "4" / "Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx")
    os.mkfifo(raw / "pipe.csv")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-m", "msoko", "ingest", "--raw", str(raw), "--processed",
                           str(tmp_path / "p"), "--jobs", "1"], capture_output=True, text=True, timeout=120,
                          env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "pipe.csv» — именованный канал" in proc.stderr and "не открывается" in proc.stderr
    rep = _report(tmp_path / "p")
    assert "pipe.csv" not in set(rep.file)
    f = rep.set_index("file").loc[GOOD_VPR]
    assert f.rows_read == sum(_count_rows(raw / GOOD_VPR).values()) == f.rows_written + f.rows_rejected


# ---------------------------------------------------------------- 9. quiet in cron
def _tiny_notebook(folder: Path, body: str) -> Path:
    from tests.test_faults_compute import _tiny_school_notebook

    return _tiny_school_notebook(folder, body)


def _cron(args: list[str], cwd: Path, timeout: float = 300):
    """``msoko …`` as cron runs it: no terminal (pipes, a session of its own), stdin closed."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("MSOKO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "msoko", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=str(cwd), start_new_session=True, preexec_fn=lambda: os.close(0))


@pytest.mark.slow
def test_cron_run_is_quiet_on_stderr_and_exit_codes_follow_scheduling_md(tmp_path):
    raw = make_raw(tmp_path / "raw")
    nb = _tiny_notebook(tmp_path / "nb", "print('ОТЧЁТ', school_id)")
    args = ["run", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--reports", str(tmp_path / "r"),
            "--notebooks", str(nb), "--jobs", "1", "--schools", "sch000001"]
    first = _cron(args, tmp_path)
    assert (first.returncode, first.stderr) == (0, ""), first.stderr      # a run after a change, no error
    again = _cron(args, tmp_path)                                          # unchanged data
    assert (again.returncode, again.stderr) == (0, ""), again.stderr
    assert "построено 0, без изменений 1" in again.stdout
    # a source file not read: exit 1, and said on stderr (cron mails it)
    bad = raw / "vpr/2021/4/Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx"
    bad.write_bytes((raw / GOOD_VPR).read_bytes()[:700])
    broken = _cron(args, tmp_path)
    assert broken.returncode == 1 and "русскому языку" in broken.stderr and "Traceback" not in broken.stderr
    # an input error: exit 2, said on stderr
    wrong = _cron([*args[:-2], "--schools", "sch424242"], tmp_path)
    assert wrong.returncode == 2 and "sch424242" in wrong.stderr


# ---------------------------------------------------------------- 11. a killed run takes its children
def _descendants(pid: int) -> set[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int(dict(l.split(":\t", 1) for l in (d / "status").read_text().splitlines()
                            if ":\t" in l)["PPid"])
        except (OSError, KeyError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in (Path(f"/proc/{pid}/status")).read_text()
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_killed_run_takes_its_workers_and_kernels_with_it(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    raw = make_raw(tmp_path / "raw")
    nb = _tiny_notebook(tmp_path / "nb", "import time\nprint('ОТЧЁТ', flush=True)\ntime.sleep(600)")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "msoko", "run", "--raw", str(raw), "--processed",
                             str(tmp_path / "p"), "--reports", str(tmp_path / "r"), "--notebooks", str(nb),
                             "--jobs", "2", "--schools", "sch000001"], env=env, cwd=str(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:     # until a pool worker runs a kernel
            children = _descendants(proc.pid)
            if any("ipykernel_launcher" in _cmdline(c) for c in children):
                break
            time.sleep(0.2)
        assert any("ipykernel_launcher" in _cmdline(c) for c in children), "no kernel started"
        time.sleep(1.0)
        children = _descendants(proc.pid)
        assert len(children) >= 2                   # at least a worker and its kernel
        os.kill(proc.pid, signal.SIGKILL)           # what the OOM killer does: the main process only
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.2)
        left = {c: _cmdline(c) for c in children if _alive(c)}
        assert not left, f"outlived the run: {left}"
    finally:
        for c in children:
            if _alive(c):
                os.kill(c, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


# ---------------------------------------------------------------- 10. referential check; no stale table
def test_measure_with_unknown_indicator_code_is_rejected_at_ingest_with_its_row(tmp_path, capsys):
    from msoko.dictionary import load_dictionary

    raw = make_raw(tmp_path / "raw")
    head = [c.header for c in load_dictionary().table("measures").columns]
    path = raw / "measures_2021.xlsx"
    body = [[2021, "sch000001", 1, "vpr_fail_share", "Методический десант"],
            [2021, "sch000001", 1, "vpr_fial_share", "Консультации"],          # a misspelt code
            [2021, "sch000002", 6, "teachers_kpk3", "КПК по графику"]]
    write_xlsx(path, [head] + [r + [None] * (len(head) - len(r)) for r in body])
    n = sum(_count_rows(path).values())
    code, _ = _ingest_cli(raw, tmp_path / "p", capsys)
    f = _report(tmp_path / "p").set_index("file").loc["measures_2021.xlsx"]
    assert (f.rows_read, f.rows_written, f.rows_rejected) == (n, 2, 1)
    m = pd.read_parquet(tmp_path / "p" / "measures.parquet")
    assert sorted(m.indicator) == ["teachers_kpk3", "vpr_fail_share"]
    rej = _rejects(tmp_path / "p")
    r = rej[rej.file == "measures_2021.xlsx"]
    assert list(r.row) == ["3"] and list(r.value) == ["vpr_fial_share"]
    assert "не найден в каталоге показателей" in r.iloc[0].reason and "«vpr_fail_share»" in r.iloc[0].reason
    assert code == 0


def test_table_that_cannot_be_written_leaves_no_stale_previous_version(tmp_path, capsys):
    """The issue's case: a measures table from an older ingest names a code the catalogue does not know;
    effectiveness.parquet cannot be written — last run's must not stay behind as if current."""
    from msoko.dictionary import load_dictionary
    from msoko.store import write_table

    p = tmp_path / "p"
    rows = [dict(year=y, school_id=s, teacher_code=f"{s}{i}", birth_year=1980, category="высшая",
                 kpk_date=pd.Timestamp("2018-03-01" if y == 2021 else "2022-01-01"), deficit_diagnostics=True,
                 individual_route=True, prof_contest=False)
            for y in (2021, 2022) for s, k in {"A": 6, "B": 8}.items() for i in range(k)]
    write_table(pd.DataFrame(rows), p, "teachers")
    cols = [c.id for c in load_dictionary().table("measures").columns]

    def measures(codes):
        m = pd.DataFrame({"year": 2021, "school_id": "A", "system": 6, "indicator": codes,
                          "measure": [f"мера {i}" for i in range(len(codes))]})
        for c in cols:
            if c not in m:
                m[c] = None
        m["source_file"], m["source_row"] = "measures.xlsx", range(2, 2 + len(codes))
        write_table(m, p, "measures")

    measures(["teachers_kpk3"])
    assert cli_main(["compute", "--processed", str(p)]) == 0
    assert len(pd.read_parquet(p / "effectiveness.parquet")) == 1          # the good table of the last run
    measures(["teachers_kpk3", "no_such_code"])
    assert cli_main(["compute", "--processed", str(p)]) == 1
    out = capsys.readouterr().out
    assert "effectiveness.parquet не записана" in out
    assert not (p / "effectiveness.parquet").exists()
    log = pd.read_csv(p / "compute_log.csv", encoding="utf-8-sig")
    assert "effectiveness" in set(log[log.level == "ошибка"].item)


# ---------------------------------------------------------------- also: modes, temporary files, last good report
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o640)])
def test_processed_files_are_readable_by_the_group_whatever_the_umask(tmp_path, umask, expected):
    from msoko.ingest import ingest

    raw = make_raw(tmp_path / "raw")
    old = os.umask(umask)
    try:
        ingest(raw, tmp_path / "p", jobs=1, progress=False)
    finally:
        os.umask(old)
    files = [f for f in (tmp_path / "p").rglob("*") if f.is_file() and f.name != ".msoko.lock"]
    modes = {f.relative_to(tmp_path / "p").as_posix(): f.stat().st_mode & 0o777 for f in files}
    assert "vpr.parquet" in modes and "rejects.csv" in modes and "ingest_report.csv" in modes
    assert {m for m in modes.values()} == {expected}, modes


def test_state_write_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno

    from msoko.runner.state import atomic_write

    target = tmp_path / "_state" / "reports.json"
    atomic_write(target, "{}")
    real = Path.write_text

    def full(self, *a, **k):                      # what a full disk does: the file is made, nothing fits
        real(self, "")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        atomic_write(target, '{"a": 1}')
    assert sorted(p.name for p in target.parent.iterdir()) == ["reports.json"]
    assert real is not None and target.read_text(encoding="utf-8") == "{}"


@pytest.mark.slow
def test_failed_rebuild_keeps_the_last_good_report_marked_outdated(tmp_path):
    raw = make_raw(tmp_path / "raw")
    nb = _tiny_notebook(tmp_path / "nb", "print('ОТЧЁТ ХОРОШИЙ', school_id)")
    args = ["run", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--reports", str(tmp_path / "r"),
            "--notebooks", str(nb), "--jobs", "1", "--schools", "sch000001"]
    assert _cron(args, tmp_path).returncode == 0
    html = tmp_path / "r" / "2021" / "schools" / "sch000001.html"
    good = html.read_text(encoding="utf-8")
    assert "ОТЧЁТ ХОРОШИЙ" in good
    _tiny_notebook(tmp_path / "nb", "raise ValueError('сломался')")
    broken = _cron(args, tmp_path)
    assert broken.returncode == 1
    assert html.read_text(encoding="utf-8") == good                 # the last good report is kept
    index = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    failed = index.split("Отчёты с ошибками")[1].split("<h2>")[0]
    assert "устаревшая версия" in failed and "2021/schools/sch000001.html" in failed
    rest = index.split("Отчёты с ошибками")[1].split("</table>", 1)[1]
    assert "sch000001.html" not in rest                              # never listed as current


# ---------------------------------------------------------------- the real sample (skipped when absent)
REAL_HISTORY = "vpr_results/2021/8/Проведение работы по истории, 8 класс. ВПР 2021.xlsx"


def _real_raw(real_data: Path, root: Path) -> Path:
    """A small raw folder of real files: the registry and the real history export of 2021, grade 8."""
    (root / Path(REAL_HISTORY).parent).mkdir(parents=True)
    shutil.copy(real_data / "logins.xlsx", root / "logins.xlsx")
    shutil.copy(real_data / REAL_HISTORY, root / REAL_HISTORY)
    return root


def test_real_export_under_an_unknown_subject_and_split_over_two_sheets(real_data, tmp_path, capsys):
    raw = _real_raw(real_data, tmp_path / "raw")
    n = sum(_count_rows(raw / REAL_HISTORY).values())
    assert n > 800
    astro = "vpr_results/2021/8/Проведение работы по астрономии, 8 класс. ВПР 2021.xlsx"
    shutil.copy(raw / REAL_HISTORY, raw / astro)
    # the same export with its last 100 rows moved to a second sheet
    split = "vpr_results/2021/8/Проведение работы по физике, 8 класс. ВПР 2021.xlsx"
    wb = openpyxl.load_workbook(raw / REAL_HISTORY)
    ws = wb.active
    head = [c.value for c in ws[1]]
    tail = [[c.value for c in row] for row in ws.iter_rows(min_row=ws.max_row - 99)]
    ws.delete_rows(ws.max_row - 99, 100)
    ws2 = wb.create_sheet("Лист2")
    for r in [head] + tail:
        ws2.append(r)
    wb.save(raw / split)
    assert list(_count_rows(raw / split).values()) == [n - 100, 100]
    code, err = _ingest_cli(raw, tmp_path / "p", capsys)
    rep = _report(tmp_path / "p").set_index("file")
    a = rep.loc[astro]
    assert (a.status, a.rows_read, a.rows_written, a.rows_rejected) == ("refused", n, 0, n)
    h = rep.loc[REAL_HISTORY]
    both = rep[rep.index.str.startswith(split)]
    assert len(both) == 2 and int(both.rows_read.sum()) == n == h.rows_read
    assert int(both.rows_written.sum()) == h.rows_written      # the same rows load, wherever the sheet
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet", columns=["source_file", "subject"])
    assert int((vpr.source_file == REAL_HISTORY).sum()) == h.rows_written
    assert "Астрономия" not in set(vpr.subject)
    assert code == 1 and "астрономии" in err
