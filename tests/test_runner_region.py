"""msoko run over several municipalities: one municipality rebuilt alone (named as loaded, or up to
case or by a part of its name), the index grouped by municipality, progress per municipality, the
per-report CPU time and kernel memory in the manifest.

The tiny project of test_runner (two municipalities: «Город» with s1, s2 and the kindergarten d1,
«Село» with s3) — every expectation worked out from it by hand.
"""
from __future__ import annotations

import json
import re

import nbformat
import pytest

import msoko.runner as runner
from msoko.errors import MsokoError
from msoko.runner.index import render_index
from msoko.runner.plan import plan, resolve_municipality
from msoko.runner.state import HashCache
from test_runner import _args, _manifest, _status, pinned_library_version, project  # noqa: F401 - fixtures

KNOWN = ["Алейский район", "Бийский район", "город Бийск", "Заринский район"]


def test_municipality_is_found_by_name_case_or_a_part_of_it():
    assert resolve_municipality("Бийский район", KNOWN) == "Бийский район"
    assert resolve_municipality("  бийский   РАЙОН ", KNOWN) == "Бийский район"
    assert resolve_municipality("алейский", KNOWN) == "Алейский район"
    assert resolve_municipality("Заринск", KNOWN) == "Заринский район"


def test_unknown_or_ambiguous_municipality_is_a_russian_error_naming_the_loaded_ones():
    with pytest.raises(MsokoError) as e:
        resolve_municipality("Нигде", KNOWN)
    msg = str(e.value)
    assert "«Нигде» не найден" in msg and "Загружены (4)" in msg
    assert all(f"«{m}»" in msg for m in KNOWN)
    with pytest.raises(MsokoError) as e:      # «Бийск» is in two names: both named, none chosen
        resolve_municipality("бийск", KNOWN)
    assert "несколько" in str(e.value) and "«Бийский район»; «город Бийск»" in str(e.value)


def test_plan_orders_each_municipalitys_reports_together(project):
    nbformat.write(nbformat.v4.new_notebook(), project / "notebooks/dou.ipynb")
    jobs, _ = plan(project / "processed", project / "notebooks", year=2023, municipality=None, schools=None,
                   lib_hash="x", cache=HashCache(None))
    # the regional report first (the heaviest), then «Город»: its municipal report, schools and
    # kindergartens, then «Село»
    assert [j.key for j in jobs] == [
        "objectivity:2023:2023", "municipality:2023:Город", "school:2023:s1", "school:2023:s2",
        "dou:2023:d1", "municipality:2023:Село", "school:2023:s3"]
    assert [j.group for j in jobs] == ["", "Город", "Город", "Город", "Город", "Село", "Село"]


def test_reports_go_to_workers_in_batches_of_one_municipality():
    """A worker's kernel keeps the slice it loaded: a municipality's reports go to one worker together,
    in batches small enough to keep every worker busy."""
    from msoko.runner.executors import MAX_BATCH, batches

    def run(groups):
        return [{"key": f"{g}{i}", "group": g} for i, g in enumerate(groups)]

    # a region: 3 municipalities of 5 reports, 2 workers → ⌈16 / 8⌉ = 2 per batch, never across two
    region = run([""] + ["A"] * 5 + ["B"] * 5 + ["C"] * 5)
    got = [[p["key"] for p in b] for b in batches(region, 2)]
    assert got == [["0"], ["A1", "A2"], ["A3", "A4"], ["A5"], ["B6", "B7"], ["B8", "B9"], ["B10"],
                   ["C11", "C12"], ["C13", "C14"], ["C15"]]
    # a large region: a municipality is one batch up to MAX_BATCH reports
    big = run([f"m{k}" for k in range(60) for _ in range(19)])
    bs = batches(big, 2)
    assert len(bs) == 60 and {len(b) for b in bs} == {19} and 19 <= MAX_BATCH
    # two municipalities of 30: ⌈60 / 8⌉ = 8 per batch
    assert [len(b) for b in batches(run(["A"] * 30 + ["B"] * 30), 2)] == [8, 8, 8, 6, 8, 8, 8, 6]
    # one municipality (and the regional report): every worker keeps its slice anyway, report by report
    assert [len(b) for b in batches(run([""] + ["A"] * 60), 2)] == [1] * 61
    # one report per batch when there are fewer reports than 4 per worker; order and reports kept
    assert [len(b) for b in batches(run(["A"] * 3 + ["B"] * 2), 2)] == [1] * 5
    assert [p for b in bs for p in b] == big


def test_one_municipality_rebuilt_alone_and_the_index_keeps_the_others(project):
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = "pass"   # no failing school here
    nbformat.write(nb, project / "notebooks/school.ipynb")
    assert runner.run(_args(project)) == 0
    assert runner.run(_args(project, municipality="село", force=True)) == 0
    # only «Село»'s municipal and school reports, and the regional report (here forced; in a normal
    # run it is rebuilt only when its inputs changed)
    assert _status(project) == {"municipality:2023:Село": "built", "objectivity:2023:2023": "built",
                                "school:2023:s3": "built"}
    m = _manifest(project)
    assert m["run"]["municipality"] == "Село"     # as loaded, not as typed
    index = (project / "reports/index.html").read_text(encoding="utf-8")
    assert "<h1>Отчёты МСОКО — все муниципалитеты, 2023 год</h1>" in index
    # «Город»'s reports from the first run are listed, in its own group
    town = index.split('<h2 id="m1">Город</h2>')[1].split("<h2")[0]
    assert 'href="2023/schools/s1.html"' in town and 'href="2023/schools/s2.html"' in town
    assert town.count("(ранее)") == 3
    village = index.split('<h2 id="m2">Село</h2>')[1].split("<h2")[0]
    assert 'href="2023/schools/s3.html"' in village and "(ранее)" not in village
    assert 'href="2023/schools/s1.html"' not in village


def test_unknown_municipality_exits_2_with_the_list(project, capsys):
    from msoko.cli import main as cli_main

    rc = cli_main(["run", "--raw", str(project / "raw"), "--processed", str(project / "processed"),
                   "--reports", str(project / "reports"), "--notebooks", str(project / "notebooks"),
                   "--only-reports", "--municipality", "Нигде"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "Муниципалитет «Нигде» не найден" in err and "Загружены (2): «Город»; «Село»" in err


def _entry(key, kind, label, group, html):
    return {"key": key, "kind": kind, "title": f"Отчёт {label}", "label": label, "group": group,
            "status": "built", "html": html, "built_at": "2024-01-01T00:00", "data_version": "v"}


def test_index_groups_reports_by_municipality():
    reports = [_entry("municipality:2023:Б", "municipality", "Б", "Б", "m/b.html"),
               _entry("municipality:2023:А", "municipality", "А", "А", "m/a.html"),
               _entry("objectivity:2023:2023", "objectivity", "2023", "", "o.html"),
               _entry("school:2023:s1", "school", "s1", "А", "s/1.html"),
               _entry("school:2023:s2", "school", "s2", "Б", "s/2.html"),
               _entry("school:2023:s3", "school", "s3", "А", "s/3.html"),
               _entry("dou:2023:d1", "dou", "d1", "Б", "d/1.html"),
               _entry("school:2023:s9", "school", "s9", "", "s/9.html")]
    page = render_index({"run": {"year": 2023, "finished": "2024-01-01T00:00"}, "versions": {"msoko": "0"},
                         "reports": reports})
    hrefs = re.findall(r'href="([^"#]+\.html)"', page)
    # the regional report, then А: its municipal report then its schools; then Б; then the school
    # of no municipality
    assert hrefs == ["o.html", "m/a.html", "s/1.html", "s/3.html", "m/b.html", "s/2.html", "d/1.html", "s/9.html"]
    assert 'Муниципалитетов: 2. <a href="#m1">А</a> · <a href="#m2">Б</a>' in page
    assert page.index('<h2 id="m1">А</h2>') < page.index("m/a.html") < page.index('<h2 id="m2">Б</h2>')
    assert "<h2>Муниципалитет не указан</h2>" in page
    # the school table keeps its columns in a group
    assert page.count("<th>Объективность</th>") == 3
    # one municipality: the tables by kind, as before (no groups)
    one = render_index({"run": {"year": 2023, "finished": None}, "versions": {"msoko": "0"},
                        "reports": [r for r in reports if r["group"] in ("А", "")]})
    assert 'id="m1"' not in one and "<h2>Отчёты школ</h2>" in one


def test_progress_per_municipality_on_a_terminal_and_silence_off_it(project, capsys):
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = "if school_id == 's3':\n    raise ValueError('нет')"
    nbformat.write(nb, project / "notebooks/school.ipynb")
    jobs, _ = plan(project / "processed", project / "notebooks", year=2023, municipality=None, schools=None,
                   lib_hash="x", cache=HashCache(None))
    runner.build_reports(jobs, project / "r1", n_jobs=1, exporter="nbconvert", progress=True)
    err = capsys.readouterr().err
    lines = [x.strip() for x in re.split(r"[\r\n]", err) if x.strip().startswith("Муниципалитет ")]
    # jobs run in plan order: Город's municipal report, Село's, the regional one, s1, s2, then s3
    assert lines == ["Муниципалитет 1 из 2 готов — «Город»: отчётов 3",
                     "Муниципалитет 2 из 2 готов — «Село»: отчётов 2, с ошибками 1"]
    runner.build_reports(jobs, project / "r2", n_jobs=1, exporter="nbconvert", progress=False)
    assert capsys.readouterr().err == ""            # cron: stderr stays empty


BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass"
IDLE = "import time\ntime.sleep(0.6)"


def test_manifest_has_each_reports_cpu_time_and_kernel_memory(project):
    nb = nbformat.read(project / "notebooks/school.ipynb", as_version=4)
    nb.cells[3].source = f"if school_id == 's1':\n    {BUSY.replace(chr(10), chr(10) + '    ')}\nelse:\n    " \
                         f"{IDLE.replace(chr(10), chr(10) + '    ')}"
    nbformat.write(nb, project / "notebooks/school.ipynb")
    assert runner.run(_args(project, schools=["s1", "s2"])) == 0
    m = _manifest(project)
    r = {e["key"]: e for e in m["reports"]}
    busy, idle = r["school:2023:s1"], r["school:2023:s2"]
    # s1 spins 0.6 s of CPU in its kernel; s2 sleeps 0.6 s (wall time, no CPU)
    assert busy["kernel_cpu_s"] >= 0.55 and busy["cpu_s"] >= busy["kernel_cpu_s"]
    assert idle["kernel_cpu_s"] < 0.4 and idle["duration_s"] >= 0.6
    # a kernel with pandas loaded holds tens of MB at least, and not gigabytes here
    assert 30 < busy["kernel_peak_rss_mb"] < 2000
    assert 30 < m["run"]["peak_rss_mb"] < 5000
    # an unchanged re-run keeps what the reports cost when they were built
    assert runner.run(_args(project, schools=["s1", "s2"])) == 0
    again = {e["key"]: e for e in _manifest(project)["reports"]}
    assert again["school:2023:s1"]["status"] == "unchanged"
    assert again["school:2023:s1"]["kernel_cpu_s"] == busy["kernel_cpu_s"]


def _content(html: str) -> str:
    """A report page without anything that may name the moment it was built."""
    return re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:?\d\d|Z)?", "<время>", html)


def test_dask_cluster_of_two_worker_processes_builds_the_same_reports(demo_processed, tmp_path):
    """The report stage on a Dask LocalCluster of two worker processes (the way a cluster runs it: the
    notebook travels with the task, the page comes back) gives the same pages as the local executor."""
    distributed = pytest.importorskip("distributed")
    from pathlib import Path

    import pandas as pd

    repo = Path(__file__).resolve().parents[1]
    schools = pd.read_parquet(demo_processed / "schools.parquet")
    ids = sorted(schools.loc[~schools["is_preschool"].astype(bool), "school_id"].astype(str))[:3]
    common = dict(processed=str(demo_processed), notebooks=str(repo / "notebooks"), schools=ids,
                  exporter="auto")
    assert runner.run(_args(tmp_path, reports=str(tmp_path / "local"), jobs=1, **common)) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  local_directory=str(tmp_path / "dask-space")) as cluster:
        assert runner.run(_args(tmp_path, reports=str(tmp_path / "dask"), executor="dask",
                                scheduler=cluster.scheduler_address, **common)) == 0
    m = json.loads((tmp_path / "dask/manifest.json").read_text(encoding="utf-8"))
    assert m["run"]["executor"] == "dask" and m["run"]["built"] == 3
    assert len({e["worker"] for e in m["reports"]}) == 2          # both workers built reports
    for sid in ids:
        local = (tmp_path / f"local/{m['run']['year']}/schools/{sid}.html").read_text(encoding="utf-8")
        dask = (tmp_path / f"dask/{m['run']['year']}/schools/{sid}.html").read_text(encoding="utf-8")
        assert sid in dask and len(dask) > 10_000
        assert _content(dask) == _content(local), sid


def test_index_lists_numbered_municipalities_in_number_order():
    reports = [_entry(f"municipality:2023:Округ № {n}", "municipality", f"Округ № {n}", f"Округ № {n}", f"m/{n}.html")
               for n in (10, 2, 1)]
    page = render_index({"run": {"year": 2023, "finished": None}, "versions": {"msoko": "0"}, "reports": reports})
    assert re.findall(r'<h2 id="m\d">([^<]+)</h2>', page) == ["Округ № 1", "Округ № 2", "Округ № 10"]
    assert "<h3>Отчёт муниципалитета</h3>" in page
