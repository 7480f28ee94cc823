"""msoko run: failure isolation, incremental rebuilds, manifest, index, Dask.

Tiny processed tables and tiny notebooks in tmp dirs: independent of the real
report notebooks; every expected value is worked out by hand in the fixture.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import msoko.runner as runner
from msoko.cli import main as cli_main

SCHOOLS = pd.DataFrame({
    "school_id": ["s1", "s2", "s3", "d1"],
    "name": ["Школа №1", "Школа <2> & «Ко»", "Школа 3", "Детский сад"],
    "municipality": ["Город", "Город", "Село", "Город"],
    "org_type": ["СОШ", "СОШ", "ООШ", "ДОУ"],
    "is_preschool": [False, False, False, True],
})
VPR = pd.DataFrame({"year": [2022, 2023, 2023, 2023, 2023],
                    "school_id": ["s1", "s1", "s1", "s2", "s3"],
                    "score": [100.0, 1.5, 2.0, 4.0, 8.0]})
EXTRA = pd.DataFrame({"municipality": ["Город", "Село"], "value": [10, 20]})


def _nb(params: str, body: list[str], inputs: list[str] | None, kernel: str = "no-such-kernel"):
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": kernel, "display_name": kernel, "language": "python"}
    if inputs is not None:
        nb.metadata["msoko"] = {"inputs": inputs}
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Отчёт"), p] + [nbformat.v4.new_code_cell(b) for b in body]
    for i, c in enumerate(nb.cells):
        c["id"] = f"c{i}"
    return nb


SCHOOL_BODY = [
    "import sys, pandas as pd\n"
    "v = pd.read_parquet(processed_dir + '/vpr.parquet')\n"
    "v = v[(v.school_id == school_id) & (v.year == year)]",
    "if school_id == 's2':\n    raise ValueError('сломанная школа ' + school_id)",
    "print(f'ШКОЛА {school_id} {year} СУММА {v.score.sum():.2f}')",
]


@pytest.fixture(autouse=True)
def pinned_library_version(monkeypatch):
    """Other developers edit msoko/ while the tests run: pin the library version."""
    monkeypatch.setattr(runner, "library_hash", lambda: "версия-1")


@pytest.fixture
def project(tmp_path):
    proc = tmp_path / "processed"
    nbs = tmp_path / "notebooks"
    proc.mkdir()
    nbs.mkdir()
    SCHOOLS.to_parquet(proc / "schools.parquet", index=False)
    VPR.to_parquet(proc / "vpr.parquet", index=False)
    EXTRA.to_parquet(proc / "extra.parquet", index=False)
    nbformat.write(_nb("school_id = None\nyear = None\nprocessed_dir = None", SCHOOL_BODY,
                       ["vpr", "schools"]), nbs / "school.ipynb")
    nbformat.write(_nb("year = None\nmunicipality = None\nprocessed_dir = None",
                       ["import pandas as pd\ne = pd.read_parquet(processed_dir + '/extra.parquet')\n"
                        "print('МУНИЦИПАЛИТЕТ', municipality, int(e.loc[e.municipality == municipality, 'value'].sum()))"],
                       ["extra"]), nbs / "municipality.ipynb")
    # no metadata inputs: depends on every processed table
    nbformat.write(_nb("year = None\nprocessed_dir = None", ["print('ОБЪЕКТИВНОСТЬ', year)"], None),
                   nbs / "objectivity.ipynb")
    return tmp_path


def _args(project: Path, **kw) -> argparse.Namespace:
    a = dict(raw=str(project / "raw"), processed=str(project / "processed"),
             reports=str(project / "reports"), year=None, municipality=None, schools=None, jobs=1,
             executor="local", scheduler=None, config=None, log=None,
             notebooks=str(project / "notebooks"), force=False, only_reports=True,
             exporter="nbconvert", progress=False)
    a.update(kw)
    return argparse.Namespace(**a)


def _manifest(project: Path) -> dict:
    return json.loads((project / "reports" / "manifest.json").read_text(encoding="utf-8"))


def _status(project: Path) -> dict[str, str]:
    return {r["key"]: r["status"] for r in _manifest(project)["reports"]}


def _executed_stdout(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream" and o["name"] == "stdout")


def test_failing_school_is_isolated_and_exit_code_nonzero(project):
    rc = runner.run(_args(project, jobs=2))
    assert rc == runner.EXIT_FAILED == 1
    rep = project / "reports"
    st = _status(project)
    # preschool d1 excluded; latest year 2023 chosen
    assert st == {"municipality:2023:Город": "built", "municipality:2023:Село": "built",
                  "objectivity:2023:2023": "built", "school:2023:s1": "built",
                  "school:2023:s2": "failed", "school:2023:s3": "built"}
    # the others are built and hold their hand-computed values (1.5 + 2.0; 8.0)
    assert "ШКОЛА s1 2023 СУММА 3.50" in (rep / "2023/schools/s1.html").read_text(encoding="utf-8")
    assert "ШКОЛА s3 2023 СУММА 8.00" in (rep / "2023/schools/s3.html").read_text(encoding="utf-8")
    # executed notebooks only of the failed report (not asked to keep the others)
    assert sorted(p.name for p in (rep / "_executed").rglob("*.ipynb")) == ["s2.ipynb"]
    assert "МУНИЦИПАЛИТЕТ Село 20" in (rep / "2023/municipality/Село.html").read_text(encoding="utf-8")
    # the failing one: no HTML, executed copy with the error, error banner first
    assert not (rep / "2023/schools/s2.html").exists()
    bad = nbformat.read(rep / "_executed/2023/schools/s2.ipynb", as_version=4)
    assert bad.cells[0].id == "msoko-error-cell" and "ValueError" in bad.cells[0].source
    errs = [o for c in bad.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.output_type == "error"]
    assert [(e.ename, e.evalue) for e in errs] == [("ValueError", "сломанная школа s2")]
    assert bad.metadata.papermill.parameters == {"school_id": "s2", "municipality": "Город", "year": 2023,
                                                 "processed_dir": str((project / "processed").resolve())}
    # listed on the index, escaped
    index = (rep / "index.html").read_text(encoding="utf-8")
    fail_section = index.split("Отчёты с ошибками")[1].split("<h2>")[0]
    assert "Школа &lt;2&gt; &amp; «Ко»" in fail_section and "сломанная школа s2" in fail_section
    assert "Школа <2>" not in index
    assert 'href="_executed/2023/schools/s2.html"' in fail_section
    assert "сломанная школа s2" in (rep / "_executed/2023/schools/s2.html").read_text(encoding="utf-8")
    assert 'href="2023/schools/s1.html"' in index
    assert 'href="2023/municipality/%D0%93%D0%BE%D1%80%D0%BE%D0%B4.html"' in index
    # self-contained: no external hosts at all
    assert not re.search(r"(src|href)=\"(https?:)?//", index)
    # a re-run retries only the failed report
    rc = runner.run(_args(project))
    assert rc == 1
    st2 = _status(project)
    assert st2["school:2023:s2"] == "failed"
    assert [k for k, v in st2.items() if v == "built"] == []


def test_unchanged_rerun_rebuilds_nothing_and_changes_rebuild_dependents(project, monkeypatch):
    args = _args(project, schools=None, jobs=1)
    # make s2 succeed: no school fails here
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = "pass"
    nbformat.write(nb, project / "notebooks/school.ipynb")
    assert runner.run(args) == 0
    rep = project / "reports"
    assert set(_status(project).values()) == {"built"}
    mtimes = {p: p.stat().st_mtime_ns for p in rep.rglob("*.html") if p.name != "index.html"}
    first = {p: p.read_bytes() for p in mtimes}

    t = time.perf_counter()
    assert runner.run(_args(project)) == 0
    assert time.perf_counter() - t < 5
    assert set(_status(project).values()) == {"unchanged"}
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # changed input table: only reports that read it (municipality via metadata, objectivity reads all)
    EXTRA.assign(value=[11, 20]).to_parquet(project / "processed/extra.parquet", index=False)
    assert runner.run(_args(project)) == 0
    st = _status(project)
    assert {k for k, v in st.items() if v == "built"} == {
        "municipality:2023:Город", "municipality:2023:Село", "objectivity:2023:2023"}
    assert "МУНИЦИПАЛИТЕТ Город 11" in (rep / "2023/municipality/Город.html").read_text(encoding="utf-8")
    # Село's report content is identical: same inputs → same content
    assert (rep / "2023/municipality/Село.html").read_bytes() == first[rep / "2023/municipality/Село.html"]

    # changed school notebook: only school reports
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Примечание"))
    nbformat.write(nb, project / "notebooks/school.ipynb")
    assert runner.run(_args(project)) == 0
    assert {k for k, v in _status(project).items() if v == "built"} == {
        "school:2023:s1", "school:2023:s2", "school:2023:s3"}

    # changed parameters (another year) are other reports; the library version rebuilds everything
    monkeypatch.setattr(runner, "library_hash", lambda: "другая-версия")
    assert runner.run(_args(project, schools=["s1"])) == 0
    assert _status(project) == {"school:2023:s1": "built"}
    # the index of a partial run still links the reports built earlier
    index = (rep / "index.html").read_text(encoding="utf-8")
    assert 'href="2023/schools/s3.html"' in index and 'href="2023/objectivity/2023.html"' in index
    assert index.count("(ранее)") == 5


def test_executed_notebooks_only_when_asked(project):
    """By default a run writes the HTML of a report built, not its executed notebook; --keep-notebooks keeps
    them; a re-run finds the reports unchanged with or without the notebooks on disk."""
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = "pass"   # s2 succeeds: every report is built
    nbformat.write(nb, project / "notebooks/school.ipynb")
    rep = project / "reports"
    assert runner.run(_args(project)) == 0
    assert set(_status(project).values()) == {"built"}
    assert not list(rep.rglob("*.ipynb"))
    assert "ШКОЛА s1 2023 СУММА 3.50" in (rep / "2023/schools/s1.html").read_text(encoding="utf-8")
    assert {r["executed"] for r in _manifest(project)["reports"]} == {None}
    # no notebook on disk, none asked for: nothing to rebuild
    assert runner.run(_args(project)) == 0
    assert set(_status(project).values()) == {"unchanged"}
    # asked for: the reports without their notebook are built again, and the notebooks kept
    assert cli_main(["run", "--raw", str(project / "raw"), "--processed", str(project / "processed"),
                     "--reports", str(rep), "--notebooks", str(project / "notebooks"), "--only-reports",
                     "--jobs", "1", "--keep-notebooks"]) == 0
    assert set(_status(project).values()) == {"built"}
    assert "ШКОЛА s1 2023 СУММА 3.50" in _executed_stdout(rep / "_executed/2023/schools/s1.ipynb")
    assert len(list((rep / "_executed").rglob("*.ipynb"))) == 6
    assert _manifest(project)["run"]["keep_notebooks"] is True
    assert runner.run(_args(project, keep_notebooks=True)) == 0
    assert set(_status(project).values()) == {"unchanged"}
    # the notebooks of unchanged reports stay (they are of the same report); a report built again without
    # the flag drops its older notebook, which would not match the new page
    assert runner.run(_args(project)) == 0
    assert len(list((rep / "_executed").rglob("*.ipynb"))) == 6
    assert runner.run(_args(project, schools=["s1"], force=True)) == 0
    assert not (rep / "_executed/2023/schools/s1.ipynb").exists()
    assert (rep / "_executed/2023/schools/s3.ipynb").exists()


def test_manifest_records_versions_inputs_params(project):
    runner.run(_args(project, schools=["s1", "s3"], year=2023))
    m = _manifest(project)
    proc = project / "processed"
    for name in ("schools", "vpr", "extra"):
        assert m["inputs"][name] == hashlib.sha256((proc / f"{name}.parquet").read_bytes()).hexdigest()
    assert m["versions"]["msoko"] and m["versions"]["papermill"] and m["versions"]["pandas"]
    assert m["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    r = {x["key"]: x for x in m["reports"]}
    # --schools builds school reports only
    assert set(r) == {"school:2023:s1", "school:2023:s3"}
    assert r["school:2023:s1"]["params"] == {"school_id": "s1", "municipality": "Город", "year": 2023,
                                             "processed_dir": str(proc.resolve())}
    assert r["school:2023:s1"]["inputs"] == ["schools", "vpr"]
    assert r["school:2023:s1"]["duration_s"] > 0
    assert (project / "reports/run.log").read_text(encoding="utf-8").count("построен school:2023:s") == 2
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", (project / "reports/run.log").read_text(encoding="utf-8"))


def test_user_errors_exit_2(project, capsys):
    base = ["run", "--raw", str(project / "raw"), "--processed", str(project / "processed"),
            "--reports", str(project / "reports"), "--notebooks", str(project / "notebooks"), "--only-reports"]
    assert cli_main(base + ["--schools", "s1", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert cli_main(base + ["--schools", "d1"]) == 2          # preschool is not a school report
    assert cli_main(base + ["--municipality", "Нигде"]) == 2
    assert cli_main(base + ["--executor", "dask"]) == 2       # no --scheduler


def test_kernel_is_current_env_and_quiet(tmp_path):
    """Whatever kernel name the notebook carries, it runs in this interpreter, and
    no kernel/debugger warnings reach the outputs."""
    from msoko.runner.worker import execute_job, shutdown_worker_kernel

    nb = _nb("x = 1", ["import sys, os; print(os.path.realpath(sys.executable))",
                       "import pandas, scipy.stats, matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
                       "ax.plot([1, 2]); display(fig)"], None,
             kernel="kernel-that-does-not-exist")
    from msoko.runner.worker import _kernel

    try:
        res = execute_job({"key": "k", "notebook": nbformat.writes(nb), "params": {"x": 2},
                           "title": "t", "exporter": "nbconvert"})
        # IPC sockets on POSIX: no TCP port race between kernels starting together
        assert _kernel().km.transport == ("ipc" if os.name == "posix" else "tcp")
    finally:
        shutdown_worker_kernel()
    assert res["status"] == "ok", res["error"]
    out = nbformat.reads(res["executed"], as_version=4)
    streams = [o for c in out.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]
    assert [s.name for s in streams] == ["stdout"]          # nothing on stderr
    assert streams[0].text.strip() == os.path.realpath(sys.executable)
    assert out.cells[-1].outputs[-1].output_type == "display_data"  # the figure


def test_a_kernel_over_the_memory_limit_is_replaced_before_the_next_report(monkeypatch):
    """A warm kernel whose resident memory grew over MSOKO_KERNEL_MEMORY_MB (a report kept 400 MB) is
    replaced by a fresh one before the next report; under the limit the same kernel goes on."""
    from msoko.runner.worker import _kernel, execute_job, shutdown_worker_kernel

    from msoko.runner import worker

    monkeypatch.setattr(worker, "KERNEL_MIN_REPORTS", 3)
    hold = _nb("", ["import numpy as np, builtins\nbuiltins._held = np.ones(400 * 2**20 // 8)"], None)
    small = _nb("", ["x = 1"], None)
    job = {"key": "k", "params": {}, "title": "t", "exporter": "nbconvert"}
    try:
        monkeypatch.setenv("MSOKO_KERNEL_MEMORY_MB", "100000")
        assert execute_job({**job, "notebook": nbformat.writes(hold)})["status"] == "ok"
        first = _kernel()
        held = first.rss_mb()
        assert held > 400
        assert execute_job({**job, "notebook": nbformat.writes(small)})["status"] == "ok"
        assert _kernel() is first                       # under the limit: the same warm kernel
        monkeypatch.setenv("MSOKO_KERNEL_MEMORY_MB", "300")
        assert execute_job({**job, "notebook": nbformat.writes(small)})["status"] == "ok"
        assert worker._local.kernel is first            # over it, but only 2 reports run before: kept
        res = execute_job({**job, "notebook": nbformat.writes(small)})
        assert res["status"] == "ok", res["error"]
        fresh = worker._local.kernel                    # 3 reports run, over the limit: replaced
        assert fresh is not first and not first.alive() and fresh.rss_mb() < held - 300
    finally:
        shutdown_worker_kernel()


def test_many_kernels_start_at_once():
    """Eight kernels started together (the papermill/jupyter_client port race) all come up."""
    from concurrent.futures import ThreadPoolExecutor

    from msoko.runner.kernel import WarmKernel

    def start(_):
        k = WarmKernel(warm=False, retries=1)   # no retry: the transport itself must not race
        try:
            k.start()
            k.run_code("x = 6 * 7")
            return k.alive()
        finally:
            k.shutdown()

    with ThreadPoolExecutor(8) as ex:
        assert list(ex.map(start, range(8))) == [True] * 8


# a warning given by a library module (its own __warningregistry__), once per report: the polluter's
# must not hide the probe's
LIBRARY_WARNING = ("import sys, types\n"
                   "lib = sys.modules.get('msoko_probe_lib')\n"
                   "if lib is None:\n"
                   "    lib = types.ModuleType('msoko_probe_lib')\n"
                   "    exec('import warnings\\ndef f():\\n    warnings.warn(\"из библиотеки\", UserWarning)', lib.__dict__)\n"
                   "    sys.modules['msoko_probe_lib'] = lib\n"
                   "lib.f()")


def test_warm_kernel_gives_same_result_as_fresh_kernel(tmp_path):
    """A report run after a polluting one in the same warm kernel equals a fresh-kernel run."""
    from msoko.runner.worker import execute_job, shutdown_worker_kernel

    polluter = _nb("p = 0", ["import matplotlib as mpl, matplotlib.pyplot as plt, numpy as np, warnings\n"
                             "mpl.rcParams['lines.linewidth'] = 9\nleak = 42\nplt.figure()\n"
                             "warnings.simplefilter('error')\nnp.random.rand(5)",
                             "'a large result kept by IPython for %notebook ' * 10_000",
                             LIBRARY_WARNING], None)
    probe = _nb("p = 0", ["import matplotlib as mpl, numpy as np, random, warnings\n"
                          "print('leak' in globals(), mpl.rcParams['lines.linewidth'], len(__import__('matplotlib.pyplot').pyplot.get_fignums()))\n"
                          "print(np.random.randint(0, 10**6), random.randint(0, 10**6))\n"
                          "warnings.warn('видно')\nprint(get_ipython().execution_count)\n"
                          "hm = get_ipython().history_manager\n"
                          "print('kept', sum(len(str(o.bundle)) for v in hm.outputs.values() for o in v) < 10_000)",
                          LIBRARY_WARNING], None)
    job = {"key": "p", "notebook": nbformat.writes(probe), "params": {"p": 1}, "title": "t",
           "exporter": "nbconvert"}
    try:
        execute_job({**job, "notebook": nbformat.writes(polluter)})
        warm = execute_job(dict(job))
        fresh = execute_job({**job, "fresh_kernel": True})
    finally:
        shutdown_worker_kernel()
    assert warm["status"] == fresh["status"] == "ok"
    assert warm["executed"] == fresh["executed"]
    assert warm["html"] == fresh["html"]
    text = _executed_stdout_from_str(warm["executed"])
    assert text.splitlines()[0] == "False 1.5 0"
    # the polluter's 450 kB result is not kept in the history of outputs (IPython >= 9)
    assert "из библиотеки" in warm["executed"]
    assert text.splitlines()[-1] == "kept True"
    # counts restart per report: parameters (1), injected parameters (2), probe (3)
    probe_cell = nbformat.reads(warm["executed"], as_version=4).cells[-2]
    assert probe_cell.execution_count == 3


def _executed_stdout_from_str(s: str) -> str:
    nb = nbformat.reads(s, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream" and o["name"] == "stdout")


def test_dask_executor_builds_same_reports_as_local(project, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = _args(project, reports=str(tmp_path / "local"), schools=["s1", "s3"], jobs=1, keep_notebooks=True)
    assert runner.run(local) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        dask_args = _args(project, reports=str(tmp_path / "dask"), schools=["s1", "s3"],
                          executor="dask", scheduler=cluster.scheduler_address, keep_notebooks=True)
        assert runner.run(dask_args) == 0
    for rel in ("2023/schools/s1.html", "2023/schools/s3.html",
                "_executed/2023/schools/s1.ipynb", "_executed/2023/schools/s3.ipynb"):
        assert (tmp_path / "local" / rel).read_bytes() == (tmp_path / "dask" / rel).read_bytes(), rel
    assert "ШКОЛА s3 2023 СУММА 8.00" in (tmp_path / "dask/2023/schools/s3.html").read_text(encoding="utf-8")
    m = json.loads((tmp_path / "dask/manifest.json").read_text(encoding="utf-8"))
    assert m["run"]["executor"] == "dask" and m["run"]["built"] == 2


@pytest.mark.slow
def test_end_to_end_on_demo(demo_processed, tmp_path):
    repo = Path(__file__).resolve().parents[1]
    if not all((repo / "notebooks" / n).exists() for n in ("school.ipynb", "municipality.ipynb",
                                                           "objectivity.ipynb")):
        pytest.skip("блокноты отчётов ещё не готовы")
    schools = pd.read_parquet(demo_processed / "schools.parquet")
    sid = str(schools.loc[~schools["is_preschool"].astype(bool), "school_id"].sort_values().iloc[0])
    args = _args(tmp_path, processed=str(demo_processed), reports=str(tmp_path / "reports"),
                 notebooks=str(repo / "notebooks"), schools=[sid], exporter="auto", jobs=1)
    assert runner.run(args) == 0
    assert not list((tmp_path / "reports").rglob("*.ipynb"))   # executed notebooks only when asked
    # every table of the report beside it as one Excel workbook, linked from the page
    page = next((tmp_path / "reports").rglob(f"{sid}.html"))
    book = page.with_suffix(".xlsx")
    assert f'href="{book.name}"' in page.read_text(encoding="utf-8")
    contents = pd.read_excel(book, sheet_name="Содержание")
    assert "Характеристики школы" in set(contents["Таблица"]) and len(contents) >= 10
    assert runner.run(args) == 0 and set(_status(tmp_path).values()) == {"unchanged"}


def test_compute_skipped_when_processed_inputs_unchanged(project, monkeypatch):
    """Compute runs on the first run, not on an unchanged re-run, and again after a
    processed table, the configuration or the library changes."""
    import msoko.compute
    from msoko.runner.state import HashCache

    calls = []

    def fake_compute(processed_dir, config_path):
        calls.append(config_path)
        # compute writes its outputs next to the inputs
        pd.DataFrame({"v": [len(calls)]}).to_parquet(Path(processed_dir) / "indicators.parquet")

    monkeypatch.setattr(msoko.compute, "compute", fake_compute)
    proc = project / "processed"
    cfg = project / "cfg.toml"
    cfg.write_text("a = 1\n", encoding="utf-8")

    def go(config=None, lib="версия-1"):
        return runner.run_compute(proc, config, lib, HashCache(None))

    assert go() == "выполнен" and len(calls) == 1
    assert go().startswith("пропущен") and len(calls) == 1          # its own output is not a change
    EXTRA.assign(value=[1, 2]).to_parquet(proc / "extra.parquet", index=False)
    assert go() == "выполнен" and len(calls) == 2
    assert go(str(cfg)) == "выполнен" and len(calls) == 3
    assert go(str(cfg)).startswith("пропущен")
    cfg.write_text("a = 2\n", encoding="utf-8")
    assert go(str(cfg)) == "выполнен" and len(calls) == 4
    assert go(str(cfg), lib="версия-2") == "выполнен" and len(calls) == 5


def test_ingest_stage(project, tmp_path):
    # no raw data but processed tables: ingest is skipped, the tables are used
    assert runner.run_ingest(tmp_path / "нет", project / "processed", 1).startswith("пропущена")
    # neither: a user error
    with pytest.raises(runner.MsokoError):
        runner.run_ingest(tmp_path / "нет", tmp_path / "пусто", 1)


def test_workers_warm_up_while_compute_runs(project, monkeypatch):
    """With --jobs 2, one report worker (the one the idle core can carry) is started just before
    the computation, both build the reports; a skipped computation starts nothing early."""
    import multiprocessing

    import msoko.compute

    seen = []

    def fake_compute(processed_dir, config_path):
        seen.append(len(multiprocessing.active_children()))

    monkeypatch.setattr(msoko.compute, "compute", fake_compute)
    monkeypatch.setattr(runner, "run_ingest", lambda raw, processed, jobs: "пропущена")
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = "pass"  # no failing school here
    nbformat.write(nb, project / "notebooks/school.ipynb")
    assert runner.run(_args(project, jobs=2, only_reports=False)) == 0
    assert seen == [1]  # one worker was up while computing
    workers = {r["worker"] for r in _manifest(project)["reports"]}
    assert len(workers) == 2 and "" not in workers
    assert multiprocessing.active_children() == []  # and are gone after the run
    # unchanged: compute skipped, nothing rebuilt, no worker started
    assert runner.run(_args(project, jobs=2, only_reports=False)) == 0
    assert seen == [1] and set(_status(project).values()) == {"unchanged"}
    assert multiprocessing.active_children() == []


def test_report_that_kills_its_worker_is_named_and_the_others_rebuilt(project, monkeypatch):
    """A notebook that kills its worker process (as the OOM killer would) breaks the process
    pool: the reports lost with it run again one at a time; only the guilty one fails. The killed
    worker's kernel files (connection file with its key, sockets) do not stay behind."""
    import tempfile

    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = ("import os, signal\n"
                          "if school_id == 's2':\n    os.kill(os.getppid(), signal.SIGKILL)")
    nbformat.write(nb, project / "notebooks/school.ipynb")
    tmp = tempfile.mkdtemp(prefix="t")   # short: a kernel's socket paths must stay under 108 characters
    monkeypatch.setenv("TMPDIR", tmp)     # the workers' system temporary folder
    monkeypatch.setattr(tempfile, "tempdir", tmp)
    rc = runner.run(_args(project, jobs=2))
    assert [p.name for p in Path(tmp).iterdir()] == []
    os.rmdir(tmp)
    assert rc == runner.EXIT_FAILED
    st = _status(project)
    assert st.pop("school:2023:s2") == "failed"
    assert set(st.values()) == {"built"} and len(st) == 5
    err = {r["key"]: r.get("error") for r in _manifest(project)["reports"]}["school:2023:s2"]
    assert "аварийно завершился дважды" in err
    rep = project / "reports"
    assert "ШКОЛА s3 2023 СУММА 8.00" in (rep / "2023/schools/s3.html").read_text(encoding="utf-8")


def _stuck_ignoring_sigterm(seconds: float) -> int:
    """A worker that the pool's SIGTERM does not stop (as one stayed, blocked writing its result,
    in a CI run that hung): it stays until SIGKILL."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(seconds)
    return os.getpid()


def _pid_after(delay: float) -> int:
    time.sleep(delay)
    return os.getpid()


def _die_at_once(delay: float) -> None:
    import signal
    time.sleep(delay)
    os.kill(os.getpid(), signal.SIGKILL)


def test_broken_pool_is_discarded_even_when_a_worker_ignores_sigterm():
    """The stock ``shutdown(wait=True)`` of a broken pool joins a worker that SIGTERM did not
    stop for as long as that worker lives (the CI hang); ``discard_broken`` kills it."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    from msoko.runner.executors import LocalPool

    pool = LocalPool(2).start(warm=0)
    # both workers up and seen by the pool's management thread before the test tasks
    assert len({f.result(timeout=120) for f in [pool.pool.submit(_pid_after, 0.5) for _ in range(2)]}) == 2
    stuck = pool.pool.submit(_stuck_ignoring_sigterm, 300)
    dying = pool.pool.submit(_die_at_once, 1.0)
    procs = list(pool.pool._processes.values())
    pool.remember_workers()  # as _run_on_pool does after each submit
    wait([dying], timeout=120, return_when=FIRST_COMPLETED)
    assert isinstance(dying.exception(), BrokenProcessPool)
    t0 = time.monotonic()
    pool.discard_broken()
    assert time.monotonic() - t0 < 60  # not the 300 s the stuck worker would sleep
    assert pool.pool is None
    assert len(procs) == 2 and not any(p.is_alive() for p in procs)
    assert stuck.done()


def test_a_worker_death_the_pool_missed_is_treated_as_a_broken_pool():
    """CPython 3.11 wakes a pool's management thread before it spawns the worker for a new
    task, so that worker's death can go unseen; the run polls for dead workers itself."""
    from concurrent.futures import Future

    from msoko.runner.executors import LocalPool, _wait_some

    class Own:
        dead = False
        checks = 0

        def has_dead_worker(self):
            self.checks += 1
            return self.dead

    own, never = Own(), Future()
    own.dead = True
    assert _wait_some({never: {}}, own, poll=0.05) == set() and own.checks == 1
    done = Future()
    done.set_result(1)
    assert _wait_some({never: {}, done: {}}, Own(), poll=0.05) == {done}

    pool = LocalPool(1).start(warm=0)
    assert not pool.has_dead_worker()
    pid = pool.pool.submit(_pid_after, 0.0).result(timeout=120)
    assert not pool.has_dead_worker()
    proc = next(iter(pool.pool._processes.values()))
    assert proc.pid == pid
    proc.kill()
    proc.join(30)
    assert pool.has_dead_worker()  # whether or not the pool's own thread has noticed yet
    pool.discard_broken()
    assert pool.pool is None


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="VmHWM reset is Linux-only")
def test_reset_peak_rss_gives_the_peak_since_the_reset(tmp_path):
    """A process that held ~300 MB and freed it: its VmHWM stays high until reset_peak_rss, then is near its
    current RSS — what a warm kernel's report records as its own peak."""
    import subprocess
    import sys
    import time as _t

    from msoko.runner.kernel import reset_peak_rss

    code = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); del b; import time; time.sleep(30)"
    p = subprocess.Popen([sys.executable, "-c", code])
    try:
        def hwm_rss():
            st = Path(f"/proc/{p.pid}/status").read_text()
            get = lambda k: int(next(l for l in st.splitlines() if l.startswith(k)).split()[1]) / 1024
            return get("VmHWM:"), get("VmRSS:")
        for _ in range(100):            # until the buffer has been touched and freed
            hwm, rss = hwm_rss()
            if hwm > 290 and rss < 150:
                break
            _t.sleep(0.1)
        assert hwm > 290 and rss < 150
        done = reset_peak_rss(p.pid)
        hwm2, rss2 = hwm_rss()
        if done:
            assert hwm2 < 150 and hwm2 >= rss2 - 1
        else:   # a system that does not let us (a locked-down /proc): the lifetime peak, as documented
            assert hwm2 > 290
    finally:
        p.kill()


def test_one_print_split_by_a_flush_gives_the_same_notebook_as_unsplit():
    """Where the kernel's output thread flushes inside one ``print`` is a matter of timing (the Dask
    and local runs of one report once differed by it under load): the executed notebook and its page
    hold one stdout output either way; a stderr chunk between two stdout chunks keeps them apart."""
    from msoko.runner.worker import _normalise

    def nb_with(outputs):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("print('ШКОЛА')", outputs=outputs, execution_count=7)]
        nb.cells[0]["id"] = "c0"
        return nb

    stream = nbformat.v4.new_output
    split = nb_with([stream("stream", name="stdout", text="ШКОЛА s3"), stream("stream", name="stdout", text="\n")])
    whole = nb_with([stream("stream", name="stdout", text="ШКОЛА s3\n")])
    apart = nb_with([stream("stream", name="stdout", text="a"), stream("stream", name="stderr", text="w\n"),
                     stream("stream", name="stdout", text="b\n")])
    for nb in (split, whole, apart):
        _normalise(nb)
    assert nbformat.writes(split) == nbformat.writes(whole)
    assert [o["text"] for o in split.cells[0].outputs] == ["ШКОЛА s3\n"]
    assert split.cells[0].execution_count == 1
    assert [(o["name"], o["text"]) for o in apart.cells[0].outputs] == [("stdout", "a"), ("stderr", "w\n"),
                                                                        ("stdout", "b\n")]


def _cells_nb(sources: list, tags: dict[int, list[str]] | None = None):
    nb = nbformat.v4.new_notebook()
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_markdown_cell(src[1:]) if src.startswith("#") else nbformat.v4.new_code_cell(src)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    return nb


REQUEST_IDS = "import sys\nsys._msoko_test_ids = getattr(sys, '_msoko_test_ids', []) + [get_ipython().parent_header['header']['msg_id']]"


def test_one_request_per_notebook_gives_the_notebook_nbclient_gives(tmp_path):
    """WarmKernel.execute sends the reset and all code cells as one request; the executed notebook is
    the one nbclient's request per cell gives: streams, display, results, clear_output, display ids
    updated from a later cell, an allowed error, the error that stops the run and the cells not run."""
    import copy

    from nbclient.exceptions import CellExecutionError

    from msoko.runner.kernel import WarmKernel
    from msoko.runner.worker import _normalise

    nb = _cells_nb([
        "print('a'); import sys; print('b', file=sys.stderr); print('c')",
        "from IPython.display import display, HTML, clear_output\ndisplay(HTML('<b>x</b>'))\n40 + 2",
        "print('before clear'); clear_output(wait=True); print('after clear')",
        "   ",
        "#Заголовок",
        "h = display(HTML('1'), display_id='d')",
        "h.update(HTML('2')); print('updated')",
        "1 / 0",
        "x = 5\nx",
        "raise ValueError('стоп')",
        "print('never')",
    ], tags={7: ["raises-exception"]})
    k = WarmKernel(stderr_path=None).start()
    try:
        one, each = copy.deepcopy(nb), copy.deepcopy(nb)
        with pytest.raises(CellExecutionError, match="стоп"):
            k.execute(one, cwd=str(tmp_path))
        with pytest.raises(CellExecutionError, match="стоп"):
            k._execute_nbclient(each, str(tmp_path), None)
        ids = _cells_nb(["import sys; sys._msoko_test_ids = []", REQUEST_IDS, REQUEST_IDS,
                         "print(len(set(sys._msoko_test_ids)))"])
        batched, separate = copy.deepcopy(ids), copy.deepcopy(ids)
        k.execute(batched, cwd=str(tmp_path))
        k._execute_nbclient(separate, str(tmp_path), None)
    finally:
        k.shutdown()
    for x in (one, each):
        _normalise(x)
    assert nbformat.writes(one) == nbformat.writes(each)
    nbformat.validate(one)   # its outputs are not checked one by one as nbclient's are: the whole is valid
    outs = [c.get("outputs", []) for c in one.cells]
    assert outs[0][0]["text"] == "a\nc\n" and outs[0][1]["text"] == "b\n"
    assert outs[1][0]["data"]["text/html"] == "<b>x</b>" and outs[1][1]["data"]["text/plain"] == "42"
    assert [o["text"] for o in outs[2]] == ["after clear\n"]
    assert outs[5][0]["data"]["text/html"] == "2"          # updated by the next cell
    assert outs[7][0]["ename"] == "ZeroDivisionError"       # allowed: the run went on
    assert outs[9][0]["ename"] == "ValueError"
    assert outs[10] == [] and one.cells[10].execution_count is None
    assert [c.execution_count for c in one.cells if c.cell_type == "code"] == [1, 2, 3, None, 4, 5, 6, 7, 8, None]
    # one request for the whole notebook (the reset and its cells), one per cell through nbclient
    assert batched.cells[-1].outputs[0]["text"] == "1\n"
    assert separate.cells[-1].outputs[0]["text"] == "2\n"


def test_one_request_falls_back_for_await_and_fails_like_nbclient(tmp_path):
    """A notebook with top-level ``await`` runs a request per cell; a cell over the timeout and a kernel
    that dies raise what nbclient raises (the worker then replaces the kernel)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from msoko.runner.kernel import WarmKernel

    k = WarmKernel(stderr_path=None).start()
    try:
        nb = _cells_nb(["import sys; sys._msoko_test_ids = []", REQUEST_IDS,
                        "import asyncio\nawait asyncio.sleep(0)\n" + REQUEST_IDS,
                        "print(len(set(sys._msoko_test_ids)))"])
        k.execute(nb, cwd=str(tmp_path))
        assert nb.cells[-1].outputs[0]["text"] == "2\n"
        slow = _cells_nb(["print('first')", "import time; time.sleep(30)", "print('never')"])
        t0 = time.monotonic()
        with pytest.raises(CellTimeoutError):
            k.execute(slow, cwd=str(tmp_path), timeout=1)
        assert time.monotonic() - t0 < 10
        assert slow.cells[0].outputs[0]["text"] == "first\n" and slow.cells[2].outputs == []
    finally:
        k.shutdown()
    k = WarmKernel(stderr_path=None).start()
    try:
        with pytest.raises(DeadKernelError):
            k.execute(_cells_nb(["print('a')", "import os; os._exit(1)", "print('b')"]), cwd=str(tmp_path))
    finally:
        k.shutdown()
