"""Nothing fails silently in ``msoko compute``.

A step of msoko that raises (one objectivity sign, one group of indicators, the management
cycle) is named in the output and in compute_log.csv, the other results are still written
and ``msoko compute`` exits with code 1. A processed folder with almost nothing in it is
computed without a traceback.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from msoko import indicators
from msoko.cli import main as cli_main
from msoko.compute import LOG_NAME, compute

SMALL_DEMO = dict(seed=11, n_schools=6, years=(2021, 2022))


@pytest.fixture(scope="module")
def small_processed(tmp_path_factory) -> Path:
    """A small demo municipality, ingested (not computed)."""
    from msoko.demo import generate
    from msoko.ingest import ingest

    raw = tmp_path_factory.mktemp("faults_raw")
    generate(out_dir=raw, **SMALL_DEMO)
    processed = tmp_path_factory.mktemp("faults_processed")
    ingest(raw_dir=raw, processed_dir=processed, jobs=1)
    assert (processed / "vpr.parquet").exists()
    return processed


@pytest.fixture
def processed(small_processed, tmp_path) -> Path:
    out = tmp_path / "processed"
    shutil.copytree(small_processed, out)
    return out


def _log(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / LOG_NAME, encoding="utf-8-sig")


def _boom(*args, **kwargs):
    raise RuntimeError("сбой для теста")


def test_clean_compute_exits_zero_with_empty_error_log(processed, capsys):
    assert cli_main(["compute", "--processed", str(processed)]) == 0
    out = capsys.readouterr().out
    assert "Готово" in out and "ОШИБКА" not in out
    log = _log(processed)
    assert list(log.columns) == ["step", "item", "scope", "level", "message_ru"]
    assert not (log["level"] == "ошибка").any()


def test_failing_sign_is_named_logged_and_exit_nonzero(processed, monkeypatch, capsys):
    from msoko.objectivity import evidence

    monkeypatch.setattr(evidence, "swing_rows", _boom)
    code = cli_main(["compute", "--processed", str(processed)])
    captured = capsys.readouterr()
    assert code == 1
    # named in the run's output, with the reason, as msoko's own error
    assert "Всплеск результата между годами" in captured.out and "score_swing" in captured.out
    assert "внутренняя ошибка msoko (RuntimeError: сбой для теста)" in captured.out
    assert "score_swing" in captured.err  # the CLI's closing summary
    assert "ошибка в исходной таблице" not in captured.out
    log = _log(processed)
    row = log.loc[(log["step"] == "objectivity") & (log["item"] == "score_swing")]
    assert len(row) == 1 and row.iloc[0]["level"] == "ошибка"
    assert "сбой для теста" in row.iloc[0]["message_ru"]
    assert (log["level"] == "ошибка").sum() == 1
    # the other signs are still written; the failed one is absent
    signs = set(pd.read_parquet(processed / "objectivity.parquet")["sign"])
    assert "score_swing" not in signs
    assert {"inflated_mean", "journal_mismatch", "bunching", "marks_lower", "combined"} <= signs
    assert (processed / "indicators.parquet").exists() and (processed / "recommendations.parquet").exists()


def test_failing_sign_group_names_every_sign(processed, monkeypatch):
    from msoko.objectivity import official

    monkeypatch.setattr(official, "cohort_rows", _boom)
    res = compute(processed, verbose=False)
    assert not res.ok
    assert {r["item"] for r in res.failures} == {"cohort_fall", "cohort_rise"}
    assert "Резкое снижение результатов параллели" in res.failures[0]["message_ru"]


def test_failing_indicator_step_is_internal_error_not_bad_input(processed, monkeypatch, capsys):
    def _teachers(tables, config, ctx):
        raise KeyError("birth_year")

    producers = [(_teachers if fn.__name__ == "_teachers" else fn, names) for fn, names in indicators.PRODUCERS]
    names = next(n for fn, n in indicators.PRODUCERS if fn.__name__ == "_teachers")
    monkeypatch.setattr(indicators, "PRODUCERS", producers)
    code = cli_main(["compute", "--processed", str(processed)])
    out = capsys.readouterr().out
    assert code == 1
    assert "ОШИБКА: Показатели «teachers»" in out and "внутренняя ошибка msoko (KeyError: 'birth_year')" in out
    assert "ошибка в исходной таблице" not in out
    log = _log(processed)
    errors = log.loc[log["level"] == "ошибка"]
    assert set(errors["item"]) == set(names) and set(errors["step"]) == {"indicators"}
    assert set(errors["scope"]) == {"система 6"}
    cat = pd.read_csv(processed / "indicator_catalogue.csv", encoding="utf-8-sig").set_index("code")
    assert not cat.loc["teachers_kpk3", "computed"]
    assert cat.loc["teachers_kpk3", "note_ru"].startswith("внутренняя ошибка msoko")
    ind = pd.read_parquet(processed / "indicators.parquet")
    assert "teachers_kpk3" not in set(ind["indicator"])
    assert {"vpr_fail_share", "olymp_awardees"} <= set(ind["indicator"])


def test_failing_cycle_is_named_indicators_kept_stale_tables_removed(processed, monkeypatch, capsys):
    import msoko.compute as compute_module

    stale = processed / "recommendations.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(stale)
    monkeypatch.setattr(compute_module, "management_cycle", _boom)
    code = cli_main(["compute", "--processed", str(processed)])
    out = capsys.readouterr().out
    assert code == 1
    assert "Управленческий цикл не рассчитан: внутренняя ошибка msoko (RuntimeError: сбой для теста)" in out
    log = _log(processed)
    assert list(log.loc[log["level"] == "ошибка", "step"]) == ["cycle"]
    assert not stale.exists()
    assert len(pd.read_parquet(processed / "indicators.parquet"))
    assert len(pd.read_parquet(processed / "objectivity.parquet"))


def test_unexpected_error_outside_steps_no_traceback(processed, monkeypatch, capsys):
    import msoko.compute as compute_module

    monkeypatch.setattr(compute_module, "compute_indicators", _boom)
    code = cli_main(["compute", "--processed", str(processed)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Внутренняя ошибка msoko" in err and "сбой для теста" in err and "Traceback" not in err
    log = _log(processed)
    assert "Расчёт прерван" in log.loc[log["level"] == "ошибка", "message_ru"].iloc[0]


def test_only_schools_registry_computes_without_crash(small_processed, tmp_path, capsys):
    """Regression: no indicator computable → the empty frame had 'indicator' twice (pyarrow refused it)."""
    shutil.copy(small_processed / "schools.parquet", tmp_path / "schools.parquet")
    assert cli_main(["compute", "--processed", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "нет результатов ВПР" in out
    ind = pd.read_parquet(tmp_path / "indicators.parquet")
    assert len(ind) == 0 and list(ind.columns) == indicators.OUTPUT_COLUMNS
    log = _log(tmp_path)
    assert set(log["level"]) == {"предупреждение"}
    assert "vpr_fail_share" in set(log["item"])
    for name in ("indicator_catalogue.csv", "cycle_systems.parquet", "recommendations.parquet"):
        assert (tmp_path / name).exists()


def test_schools_and_context_only(small_processed, tmp_path):
    """The shape of a folder made from logins.xlsx and the context questionnaire alone."""
    for name in ("schools", "context"):
        shutil.copy(small_processed / f"{name}.parquet", tmp_path / f"{name}.parquet")
    res = compute(tmp_path, verbose=False)
    assert res.ok
    assert (tmp_path / "indicators.parquet").exists()
    assert not (tmp_path / "objectivity.parquet").exists()


def test_run_for_a_year_without_data_is_refused(small_processed, tmp_path, capsys):
    from msoko.runner.plan import check_year, data_years, latest_year
    from msoko.errors import MsokoError

    assert data_years(small_processed) == [2021, 2022]
    assert latest_year(small_processed) == 2022
    check_year(small_processed, 2021)
    reports = tmp_path / "reports"
    code = cli_main(["run", "--processed", str(small_processed), "--reports", str(reports), "--only-reports",
                     "--year", "2030", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "За 2030 год" in err and "нет данных" in err and "2021, 2022" in err
    assert not list(reports.rglob("*.html"))
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(small_processed / "schools.parquet", empty / "schools.parquet")
    with pytest.raises(MsokoError, match="нет данных ни за один год"):
        latest_year(empty)


def test_real_logins_and_context_only(tmp_path, monkeypatch, capsys):
    """A folder as users send it: real logins.xlsx and the 2021 context questionnaire alone.

    ``msoko ingest`` refuses such a raw folder (no ВПР, no template); the check is bypassed
    here to get the processed folder the crash was reported on (schools only).
    """
    from conftest import REAL_DATA

    import msoko.ingest as ingest_module
    from msoko.errors import MsokoError

    context = sorted(REAL_DATA.glob("Сбор контекстных данных*.xlsx")) if REAL_DATA.is_dir() else []
    if not (REAL_DATA / "logins.xlsx").is_file() or not context:
        pytest.skip(f"нет logins.xlsx и контекстной анкеты в {REAL_DATA}")
    raw = tmp_path / "raw"
    raw.mkdir()
    for src in (REAL_DATA / "logins.xlsx", context[0]):
        shutil.copy(src, raw / src.name)
    monkeypatch.setattr(ingest_module, "_check_loadable", lambda *a, **k: None, raising=False)
    try:
        ingest_module.ingest(raw_dir=raw, processed_dir=tmp_path / "p", jobs=1)
    except MsokoError as exc:
        pytest.skip(f"ingest не загружает такую папку: {exc}")
    capsys.readouterr()
    assert cli_main(["compute", "--processed", str(tmp_path / "p")]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Готово" in captured.out
    assert (tmp_path / "p" / "indicators.parquet").exists()
    assert (tmp_path / "p" / LOG_NAME).exists()


def test_table_missing_a_template_column_is_input_not_internal(processed, capsys):
    """A loaded table without a column its template declares is worded as the data's problem (exit 0)."""
    t = pd.read_parquet(processed / "teachers.parquet").drop(columns=["birth_year"])
    t.to_parquet(processed / "teachers.parquet", index=False)
    assert cli_main(["compute", "--processed", str(processed)]) == 0
    capsys.readouterr()
    log = _log(processed)
    young = log.loc[log["item"] == "teachers_young"].iloc[0]
    assert young["level"] == "предупреждение"
    assert "нет столбца «birth_year» в таблице «teachers»" in young["message_ru"]
    assert "внутренняя ошибка" not in young["message_ru"]


def test_output_schema_breach_is_named_and_the_other_tables_written(processed, monkeypatch, capsys):
    import msoko.compute as compute_module
    from msoko.outputs import OutputSchemaError

    real = compute_module.validate_output

    def validate(name, df, *a, **k):
        if name == "recommendations":
            raise OutputSchemaError("внутренняя ошибка msoko: таблица «recommendations», столбец «x» (тест)")
        return real(name, df, *a, **k)

    good = pd.DataFrame({"x": [1]})
    good.to_parquet(processed / "recommendations.parquet")
    monkeypatch.setattr(compute_module, "validate_output", validate)
    assert cli_main(["compute", "--processed", str(processed)]) == 1
    out = capsys.readouterr().out
    assert "ОШИБКА: Таблица recommendations.parquet не записана" in out
    log = _log(processed)
    errors = log.loc[log["level"] == "ошибка"]
    assert list(errors["item"]) == ["recommendations"] and list(errors["step"]) == ["cycle"]
    # last run's table is removed, not left for the reports to show as current
    assert not (processed / "recommendations.parquet").exists()
    assert "удалена устаревшая таблица recommendations.parquet" in out
    assert len(pd.read_parquet(processed / "cycle_analysis.parquet"))


# ---------------------------------------------------------------- msoko run
def _tiny_school_notebook(folder: Path, body: str) -> Path:
    """A one-cell school report: the runner's contract, not the real notebooks (fast)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "python3", "language": "python"}
    params = nbformat.v4.new_code_cell("school_id = None\nyear = None\nprocessed_dir = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Отчёт"), params, nbformat.v4.new_code_cell(body)]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "school.ipynb")
    return folder


def _run_args(processed: Path, tmp_path: Path, notebooks: Path, *extra: str) -> list[str]:
    school = str(pd.read_parquet(processed / "schools.parquet").query("~is_preschool")["school_id"].min())
    return ["run", "--raw", str(tmp_path / "нет_исходных"), "--processed", str(processed),
            "--reports", str(tmp_path / "reports"), "--notebooks", str(notebooks), "--jobs", "1",
            "--schools", school, *extra]


def test_run_exits_nonzero_when_compute_logged_failures(processed, tmp_path, monkeypatch, capsys):
    """msoko run: a failing sign is named in the summary and on index.html, the reports are still
    built, the exit code is 1; the partial compute is not remembered as done (the next run computes
    again and says so again)."""
    from msoko.objectivity import evidence

    import msoko.runner as runner

    monkeypatch.setattr(runner, "library_hash", lambda: "версия-теста")  # others edit msoko/ meanwhile
    monkeypatch.setattr(evidence, "swing_rows", _boom)
    notebooks = _tiny_school_notebook(tmp_path / "nb", "print('ОТЧЁТ', school_id)")
    args = _run_args(processed, tmp_path, notebooks)
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    summary = captured.out.split("Прогон завершён")[1]
    assert "расчёт: выполнен с ошибками: не выполнено — score_swing" in summary
    assert "compute_log.csv" in summary and "с ошибками 0" in summary
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "Расчёт выполнен с ошибками" in index and "score_swing" in index
    manifest = (tmp_path / "reports" / "manifest.json").read_text(encoding="utf-8")
    assert '"compute_failed": true' in manifest and '"status": "built"' in manifest
    # the same inputs again: computed again (not «пропущен»), still exit 1
    assert cli_main(args) == 1
    assert "score_swing" in capsys.readouterr().out.split("Прогон завершён")[1]
    # the fault gone: exit 0, and the run after that skips the computation
    monkeypatch.undo()
    monkeypatch.setattr(runner, "library_hash", lambda: "версия-теста")
    assert cli_main(args) == 0
    assert "расчёт: выполнен." in capsys.readouterr().out
    assert cli_main(args) == 0
    assert "расчёт: пропущен" in capsys.readouterr().out


@pytest.mark.parametrize("body, reason", [
    ("raise ValueError('сломано для теста')",
     "внутренняя ошибка msoko в блокноте отчёта (ValueError: сломано для теста)"),
    ("from msoko.errors import MsokoError\nraise MsokoError('Нет данных ВПР за 2022 год для школы')",
     "Нет данных ВПР за 2022 год для школы"),
])
def test_failed_report_error_page_shows_russian_reason_not_traceback(small_processed, tmp_path, monkeypatch,
                                                                     capsys, body, reason):
    import nbformat

    import msoko.runner as runner

    monkeypatch.setattr(runner, "library_hash", lambda: "версия-теста")
    notebooks = _tiny_school_notebook(tmp_path / "nb", body)
    assert cli_main(_run_args(small_processed, tmp_path, notebooks, "--only-reports")) == 1
    out = capsys.readouterr().out
    assert reason in out and "Traceback" not in out
    page = next((tmp_path / "reports" / "_executed").rglob("*.html")).read_text(encoding="utf-8")
    assert f"Отчёт не построен: {reason}" in page
    assert "Traceback" not in page and "most recent call last" not in page and 'File "' not in page
    assert "_executed/2022/schools/" in page and "run.log" in page  # where the traceback is kept
    # the executed notebook keeps the traceback for developers
    executed = nbformat.read(next((tmp_path / "reports" / "_executed").rglob("*.ipynb")), as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].traceback
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert reason in index.replace("&#x27;", "'")


def test_full_disk_during_compute_is_a_russian_message_naming_the_folder(processed, monkeypatch, capsys):
    import errno
    import types

    import msoko.store as store

    def mkstemp(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "tempfile", types.SimpleNamespace(mkstemp=mkstemp))
    code = cli_main(["compute", "--processed", str(processed)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "Errno" not in err
    assert f"Нет места на диске: не удалось записать в папку «{processed}»" in err
    assert not (processed / ".msoko.lock").exists()          # the lock is released on the way out


def test_pool_workers_ignore_ctrl_c_so_only_the_run_answers_it(tmp_path):
    """Ctrl-C reaches every process of the terminal's group: a report worker ignores it (no worker
    KeyboardInterrupt traceback), the run stops and kills its workers."""
    import signal

    from msoko.runner.executors import LocalPool

    pool = LocalPool(1, None).start()
    try:
        assert pool.pool.submit(signal.getsignal, signal.SIGINT).result(timeout=300) == signal.SIG_IGN
    finally:
        pool.discard_broken()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler     # the run itself still stops


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_during_compute_of_msoko_run_prints_no_traceback(small_processed, tmp_path):
    """The terminal's Ctrl-C (SIGINT to the whole process group) while msoko run computes and its
    report worker starts: «Прервано пользователем.», exit 130, no traceback, no worker left. The
    worker is hit as soon as it exists — in multiprocessing's bootstrap a worker that merely ignored
    SIGINT in its initializer still printed a KeyboardInterrupt traceback (seen under load)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    processed = tmp_path / "processed"
    shutil.copytree(small_processed, processed)
    notebooks = _tiny_school_notebook(tmp_path / "nb", "print('ОТЧЁТ')")
    args = _run_args(processed, tmp_path, notebooks)
    args[args.index("--jobs") + 1] = "2"
    script = ("import sys, time\nimport msoko.compute\n"
              "def slow(*a, **k):\n    print('РАСЧЁТ', flush=True)\n    time.sleep(300)\n"
              "msoko.compute.compute = slow\nfrom msoko.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, cwd=str(tmp_path))

    def children() -> dict[int, int]:
        """Child processes of the run → the mask of the signals they block or ignore."""
        out = {}
        for d in Path("/proc").iterdir():
            try:
                st = (d / "status").read_text()
            except (OSError, ValueError):
                continue
            fields = dict(line.split(":\t", 1) for line in st.splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() == str(proc.pid):
                try:
                    if b"spawn_main" not in (d / "cmdline").read_bytes():
                        continue                           # the resource tracker, not a worker
                except OSError:
                    continue
                out[int(d.name)] = int(fields["SigIgn"].strip(), 16) | int(fields["SigBlk"].strip(), 16)
        return out

    try:
        assert proc.stdout.readline().strip() == "РАСЧЁТ"
        deadline = time.monotonic() + 240                    # one worker warms beside the computation
        while time.monotonic() < deadline:
            kids = children()
            workers = kids
            if workers:
                break
            time.sleep(0.05)
        assert workers, "no report worker started"
        sigint = 1 << (signal.SIGINT - 1)
        assert all(mask & sigint for mask in workers.values()), "a worker is born open to Ctrl-C"
        # at once: the worker may still be starting (multiprocessing's bootstrap, before init_worker)
        os.killpg(proc.pid, signal.SIGINT)                   # what the terminal does on Ctrl-C
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "Прервано пользователем." in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    time.sleep(1.0)
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                   for pid in workers), "a worker outlived the run"


def test_run_exits_nonzero_when_an_input_file_could_not_be_read(tmp_path, monkeypatch, capsys):
    """msoko run, like msoko ingest, says with its exit code that a file was not read (the rest is
    loaded, computed and reported)."""
    import msoko.runner as runner
    from tests.test_ingest import make_raw

    monkeypatch.setattr(runner, "library_hash", lambda: "версия-теста")
    raw = make_raw(tmp_path / "raw")
    good = raw / "vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
    bad = good.with_name("Проведение работы по русскому языку, 4 класс. ВПР 2021.xlsx")
    bad.write_bytes(good.read_bytes()[:700])
    notebooks = _tiny_school_notebook(tmp_path / "nb", "print('ОТЧЁТ', school_id)")
    args = ["run", "--raw", str(raw), "--processed", str(tmp_path / "p"), "--reports", str(tmp_path / "reports"),
            "--notebooks", str(notebooks), "--jobs", "1", "--schools", "sch000001"]
    for _ in range(2):                       # and again with nothing changed: still said
        assert cli_main(args) == 1
        out = capsys.readouterr().out
        assert f"Загрузка: выполнена с ошибками: не прочитаны: «{bad.relative_to(raw).as_posix()}»" in out
        assert "с ошибками 0" in out and "Traceback" not in out
    assert (tmp_path / "reports" / "2021" / "schools" / "sch000001.html").exists()
