"""Benchmark of ``msoko run`` against the naive way, on the demo municipality.

Prints, in one run:

* wall time of ``msoko run`` (full pipeline on a cold reports folder; stage times
  from its manifest);
* wall time of the naive way — for each school ``papermill school.ipynb`` (CLI)
  then ``jupyter nbconvert --to html --no-input``, one after another. The naive
  way is slow, so by default only a fixed subset of schools is timed (the first
  ``--naive-schools`` by login) and the total is extrapolated to all schools;
  the output says so;
* their ratio, and the wall time of a re-run with nothing changed.

    .venv/bin/python benchmarks/run.py                    # demo, 40 schools, real notebooks
    .venv/bin/python benchmarks/run.py --trivial          # trivial report notebooks
    .venv/bin/python benchmarks/run.py --naive-schools 0  # time the naive way on all schools

The naive way builds school reports only, while ``msoko run`` also builds the
municipal and the objectivity reports, so the ratio is conservative.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


ENV = dict(os.environ)


def sh(cmd: list[str], **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, **kw)
    return time.perf_counter() - t


def snapshot(work: Path, notebooks: Path) -> Path:
    """Freeze msoko/ and the notebooks for the duration of the benchmark: the checkout is
    shared with other developers, and any edit of msoko/ changes the library version
    (which would rebuild everything in the "no-change" re-run). PYTHONPATH puts the
    copy ahead of the editable install, in msoko run, its kernels and papermill's."""
    import shutil

    lib = work / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    shutil.copytree(REPO / "msoko", lib / "msoko", ignore=shutil.ignore_patterns("__pycache__"))
    nb = work / "notebooks"
    shutil.rmtree(nb, ignore_errors=True)
    shutil.copytree(notebooks, nb, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    ENV["PYTHONPATH"] = os.pathsep.join([str(lib)] + ([ENV["PYTHONPATH"]] if ENV.get("PYTHONPATH") else []))
    return nb


def trivial_notebooks(out: Path) -> Path:
    """School/municipality/objectivity notebooks that only read schools.parquet and print a line."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    specs = {"school.ipynb": "school_id = None\nyear = None\nprocessed_dir = None",
             "municipality.ipynb": "year = None\nmunicipality = None\nprocessed_dir = None",
             "objectivity.ipynb": "year = None\nprocessed_dir = None"}
    for name, params in specs.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        p = nbformat.v4.new_code_cell(params)
        p.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell("# Отчёт"), p,
                    nbformat.v4.new_code_cell("import pandas as pd\n"
                                              "s = pd.read_parquet(processed_dir + '/schools.parquet')\n"
                                              "print(len(s), year)")]
        nbformat.write(nb, out / name)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--schools", type=int, default=40, help="schools in the demo (default 40, as `msoko demo`)")
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--naive-schools", type=int, default=4,
                    help="time the naive way on this many schools and extrapolate (0 = all)")
    ap.add_argument("--jobs", type=int, default=None, help="msoko run --jobs (default: all cores)")
    ap.add_argument("--trivial", action="store_true", help="use trivial report notebooks")
    a = ap.parse_args()

    work = Path(a.work or tempfile.mkdtemp(prefix="msoko-bench-"))
    raw, processed = work / "raw", work / "processed"
    msoko = str(BIN / "msoko")
    notebooks = trivial_notebooks(work / "nb_trivial") if a.trivial else REPO / "notebooks"
    notebooks = snapshot(work, notebooks)
    print(f"Рабочая папка: {work}; ядер: {os.cpu_count()}; блокноты: {notebooks}")

    if not (raw / "logins.xlsx").exists():
        t = sh([msoko, "demo", "--out", str(raw), "--schools", str(a.schools), "--seed", str(a.seed)])
        print(f"подготовка: msoko demo ({a.schools} школ) {t:.1f} с")
    t = sh([msoko, "ingest", "--raw", str(raw), "--processed", str(processed)])
    print(f"подготовка: msoko ingest {t:.1f} с")

    import pandas as pd

    # --- msoko run, cold reports folder ---------------------------------------------
    reports = work / "reports"
    if reports.exists():
        import shutil
        shutil.rmtree(reports)
    cmd = [msoko, "run", "--raw", str(raw), "--processed", str(processed), "--reports", str(reports),
           "--notebooks", str(notebooks)] + (["--jobs", str(a.jobs)] if a.jobs else [])
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV).returncode
    t_run = time.perf_counter() - t0
    m = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    r = m["run"]
    n_school = sum(e["kind"] == "school" for e in m["reports"])
    print(f"\nmsoko run (холодный): {t_run:.1f} с, код {rc}; отчётов {len(m['reports'])} "
          f"(школ {n_school}), с ошибками {r['failed']}; этапы: загрузка {r.get('ingest_s', 0):.1f} с, "
          f"расчёт {r.get('compute_s', 0):.1f} с, отчёты {r.get('reports_s', 0):.1f} с")

    # --- no-change re-run -------------------------------------------------------------
    t0 = time.perf_counter()
    rc2 = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV).returncode
    t_rerun = time.perf_counter() - t0
    m2 = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    print(f"повторный msoko run без изменений: {t_rerun:.2f} с, код {rc2}; "
          f"перестроено {m2['run']['built']} (ошибочные повторяются: {m2['run']['failed']})")

    # --- the naive way ----------------------------------------------------------------
    schools = pd.read_parquet(processed / "schools.parquet")
    keep = ~schools["is_preschool"].astype("boolean").fillna(False).astype(bool) if "is_preschool" in schools \
        else pd.Series(True, index=schools.index)
    ids = sorted(schools.loc[keep, "school_id"].astype(str))
    year = r["year"]
    subset = ids if a.naive_schools in (0, None) or a.naive_schools >= len(ids) else ids[:a.naive_schools]
    naive_dir = work / "naive"
    naive_dir.mkdir(exist_ok=True)
    env = {**ENV, "PATH": f"{BIN}{os.pathsep}{ENV.get('PATH', '')}"}
    times = []
    for sid in subset:
        out = naive_dir / f"{sid}.ipynb"
        t0 = time.perf_counter()
        subprocess.run([str(BIN / "papermill"), str(notebooks / "school.ipynb"), str(out),
                        "-p", "school_id", sid, "-p", "year", str(year), "-p", "processed_dir", str(processed),
                        "-k", "python3"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    per = sum(times) / len(times)
    naive_total = per * len(ids)
    how = ("измерено на всех школах" if len(subset) == len(ids) else
           f"измерено на {len(subset)} школах из {len(ids)} ({', '.join(subset)}), итог экстраполирован")
    print(f"\nнаивный способ (papermill CLI + nbconvert --no-input, по очереди): {per:.1f} с на школу, "
          f"{naive_total:.1f} с на {len(ids)} школ — {how}")
    print(f"\nотношение наивный / msoko run (весь прогон, с расчётом): {naive_total / t_run:.1f}×")
    if r.get("reports_s"):
        print(f"отношение наивный / этап отчётов msoko run (та же работа, плюс 2 отчёта сверх): "
              f"{naive_total / r['reports_s']:.1f}×")
    print(f"повторный прогон без изменений: {t_rerun:.2f} с (цель < 5 с)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
