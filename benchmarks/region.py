"""Benchmark of a region-sized ``msoko run`` (issue 25), before and after, side by side in one run.

    .venv/bin/python benchmarks/region.py                                 # 600 schools in 60 municipalities
    .venv/bin/python benchmarks/region.py --schools 60 --municipalities 6 --before main
    .venv/bin/python benchmarks/region.py --schools 60 --municipalities 6 --no-dask
    .venv/bin/python benchmarks/region.py --work W --no-dask --save before.json     # one sitting …
    .venv/bin/python benchmarks/region.py --work W --compare before.json             # … and a later one

A 600-school run takes a quarter of an hour or more per variant on 2 cores; ``--save``/``--compare`` put a
variant measured earlier (same ``--work``: the same raw region) beside the current one, with the date and
the machine's load of each, so that a load difference between the sittings is visible in the table.

What it does, on one generated demo region (``msoko demo --municipalities``: the same raw folder for
every variant):

* ``msoko run --jobs N`` (cold: own processed and reports folders) with the working tree's msoko and
  notebooks (copied first: edits made meanwhile do not leak in) — and, with ``--before REV``, with
  another git revision, exported by ``git archive`` into the working folder (no worktree is
  registered) and run with ``PYTHONPATH`` pointing there;
* for each: total time and the stages' times (the run's manifest), a no-change re-run's time, CPU per school report (median; from
  the manifest's ``cpu_s`` when the revision records it, and for every revision the mean CPU of the
  report processes — workers and kernels — per report built), peak memory (VmHWM) of the main process
  and of each kernel (max and median over kernels, polled from /proc every half second), output size
  (the reports folder, and its executed notebooks ``.ipynb`` alone);
* the Dask scaling (working tree only): the report stage (``--only-reports --executor dask``) on a
  ``distributed.LocalCluster`` of 1 then 2 worker processes (one thread each), by default on the first
  municipality's reports only (``--dask-scope all`` for all of them), and the projection for a country:
  median CPU per school report × 40 000 schools ÷ workers (÷ the measured 1→2 efficiency).

Everything is written under ``--work`` (default: a temporary folder) and kept for a look afterwards.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COUNTRY = 40_000


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------ sources of a variant
def snapshot_worktree(dest: Path) -> Path:
    """msoko/ and notebooks/ of the working tree, frozen for the benchmark."""
    shutil.rmtree(dest, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copytree(REPO / "msoko", dest / "msoko", ignore=ignore)
    shutil.copytree(REPO / "notebooks", dest / "notebooks", ignore=ignore)
    return dest


def export_revision(rev: str, dest: Path) -> Path:
    """msoko/ and notebooks/ of git revision ``rev`` (``git archive``: the repository is not touched)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "msoko", "notebooks"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def env_for(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("MSOKO_DEBUG", None)
    return env


# ------------------------------------------------------------------ process-tree monitor
def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class TreeMonitor(threading.Thread):
    """Polls a process and its descendants: per process its role (main, kernel, worker), peak
    memory (VmHWM, else RSS) and last seen CPU time (user + system)."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.procs: dict[int, dict] = {}
        self.stop = threading.Event()

    def _see(self, p, role: str) -> None:
        import psutil

        try:
            with p.oneshot():
                t = p.cpu_times()
                mem = _hwm_mb(p.pid) or p.memory_info().rss / (1 << 20)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return
        rec = self.procs.setdefault(p.pid, {"role": role, "peak_mb": 0.0, "cpu_s": 0.0})
        rec["peak_mb"] = max(rec["peak_mb"], mem)
        rec["cpu_s"] = max(rec["cpu_s"], t.user + t.system)

    def run(self) -> None:
        import psutil

        try:
            main = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        roles: dict[int, str] = {}
        while not self.stop.is_set():
            self._see(main, "main")
            try:
                kids = main.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for k in kids:
                if k.pid not in roles:
                    try:
                        cmd = " ".join(k.cmdline())
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                    roles[k.pid] = ("kernel" if "ipykernel" in cmd else
                                    "resource_tracker" if "resource_tracker" in cmd else "worker")
                self._see(k, roles[k.pid])
            self.stop.wait(self.every)

    def of(self, role: str) -> list[dict]:
        return [r for r in self.procs.values() if r["role"] == role]


def timed_run(cmd: list[str], env: dict[str, str], logfile: Path) -> tuple[float, int, TreeMonitor]:
    """Run in the log's folder: ``python -m`` puts the current folder ahead of PYTHONPATH, and a
    checkout there would shadow the variant's msoko."""
    t0 = time.perf_counter()
    with open(logfile, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=logfile.parent)
        mon = TreeMonitor(proc.pid)
        mon.start()
        rc = proc.wait()
    mon.stop.set()
    mon.join()
    return time.perf_counter() - t0, rc, mon


# ------------------------------------------------------------------ measures of a run
def du(path: Path, suffix: str | None = None) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and (suffix is None or p.suffix == suffix))


def mb(n: float | None) -> str:
    return "—" if n is None else f"{n / (1 << 20):.1f} МБ" if n > 1000 else f"{n:.1f}"


def med(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def measure(name: str, wall: float, rc: int, mon: TreeMonitor, reports: Path) -> dict:
    m = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    run, entries = m["run"], m["reports"]
    built = [e for e in entries if e["status"] == "built"]
    schools = [e for e in built if e["kind"] == "school"]
    kernels = mon.of("kernel")
    report_cpu = sum(r["cpu_s"] for r in mon.procs.values() if r["role"] in ("kernel", "worker"))
    main_peak = run.get("peak_rss_mb") or (mon.of("main")[0]["peak_mb"] if mon.of("main") else None)
    return {
        "variant": name, "lib": (m.get("library_hash") or "")[:10], "wall_s": wall, "rc": rc, "reports": len(entries), "built": len(built),
        "failed": run.get("failed"), "schools": len(schools),
        "ingest_s": run.get("ingest_s"), "compute_s": run.get("compute_s"), "reports_s": run.get("reports_s"),
        "school_cpu_median_s": med([e.get("cpu_s") for e in schools]),
        "school_wall_median_s": med([e.get("duration_s") for e in schools]),
        "report_cpu_mean_s": report_cpu / len(built) if built else None,
        "main_peak_mb": main_peak,
        "kernel_peak_max_mb": max((k["peak_mb"] for k in kernels), default=None),
        "kernel_peak_median_mb": med([k["peak_mb"] for k in kernels]),
        "kernels": len(kernels),
        "out_bytes": du(reports), "ipynb_bytes": du(reports, ".ipynb"), "html_bytes": du(reports, ".html"),
    }


ROWS = [("Версия msoko (хэш библиотеки)", "lib", "{}"), ("Замер (время окончания)", "when", "{}"),
        ("Средняя загрузка машины: начало → конец", "load", "{}"), ("Код завершения", "rc", "{}"), ("Отчётов (построено / с ошибками)", None, None),
        ("Всего, с", "wall_s", "{:.1f}"), ("  загрузка, с", "ingest_s", "{:.1f}"),
        ("  расчёт, с", "compute_s", "{:.1f}"), ("  отчёты, с", "reports_s", "{:.1f}"),
        ("Отчёт школы: CPU, медиана, с (manifest)", "school_cpu_median_s", "{:.2f}"),
        ("Отчёт школы: время, медиана, с", "school_wall_median_s", "{:.2f}"),
        ("Отчёт: CPU исполнителей и ядер / отчёт, с", "report_cpu_mean_s", "{:.2f}"),
        ("Повтор без изменений, с", "rerun_s", "{:.1f}"), ("  перестроено при повторе", "rerun_built", "{}"),
        ("Память главного процесса, пик, МБ", "main_peak_mb", "{:.0f}"),
        ("Память ядра, пик: максимум, МБ", "kernel_peak_max_mb", "{:.0f}"),
        ("Память ядра, пик: медиана, МБ", "kernel_peak_median_mb", "{:.0f}"),
        ("Папка отчётов, МБ", "out_bytes", "mb"), ("  из них .ipynb, МБ", "ipynb_bytes", "mb"),
        ("  из них .html, МБ", "html_bytes", "mb")]


def table(results: list[dict]) -> str:
    w = max(len(r[0]) for r in ROWS) + 2
    lines = [" " * w + "".join(f"{r['variant']:>24}" for r in results)]
    for label, key, fmt in ROWS:
        cells = []
        for r in results:
            if key is None:
                v = f"{r['built']} / {r['failed']}"
            elif r.get(key) is None:
                v = "нет данных"
            elif fmt == "mb":
                v = f"{r[key] / 1e6:.1f}"
            else:
                v = fmt.format(r[key])
            cells.append(f"{v:>24}")
        lines.append(f"{label:<{w}}" + "".join(cells))
    return "\n".join(lines)


# ------------------------------------------------------------------ dask
def dask_scaling(src: Path, env: dict[str, str], work: Path, raw: Path, processed: Path, jobs_scope: str,
                 municipality: str | None, workers_list=(1, 2)) -> list[dict]:
    from distributed import LocalCluster

    out = []
    old = os.environ.get("PYTHONPATH")
    # the cluster's worker processes (spawned: they get this process's sys.path) and their kernels
    # (started with this environment) import the variant's msoko
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    sys.path.insert(0, str(src))
    try:
        for n in workers_list:
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                              local_directory=str(work / "dask-space")) as cluster:
                reports = work / f"dask{n}" / "reports"
                shutil.rmtree(reports.parent, ignore_errors=True)
                cmd = [sys.executable, "-m", "msoko", "run", "--raw", str(raw), "--processed", str(processed),
                       "--reports", str(reports), "--notebooks", str(src / "notebooks"), "--only-reports",
                       "--executor", "dask", "--scheduler", cluster.scheduler_address]
                if jobs_scope == "one" and municipality:
                    cmd += ["--municipality", municipality]
                wall, rc, _ = timed_run(cmd, env, work / f"dask{n}.log")
                m = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
                built = [e for e in m["reports"] if e["status"] == "built"]
                out.append({"workers": n, "wall_s": wall, "reports_s": m["run"].get("reports_s"), "rc": rc,
                            "built": len(built),
                            "school_cpu_median_s": med([e.get("cpu_s") for e in built if e["kind"] == "school"])})
                log(f"  Dask, исполнителей {n}: этап отчётов {m['run'].get('reports_s'):.1f} с "
                    f"({len(built)} отч., код {rc})")
    finally:
        sys.path.remove(str(src))
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    return out


def projection(cpu: float, efficiency: float | None) -> str:
    """Hours of the school reports of a country: CPU per report × schools ÷ workers, at perfect scaling
    and at the measured 1 → 2 efficiency (on a busy machine that one mostly measures the others' load)."""
    lines = [f"Проекция на страну ({COUNTRY:,} школ; CPU на отчёт школы {cpu:.2f} с):".replace(",", " "),
             f"{'исполнителей':>14}{'часов, 100 %':>16}"
             + (f"{f'часов, {efficiency:.0%}':>16}" if efficiency else "")]
    for w in (2, 16, 64, 256, 1024):
        s = cpu * COUNTRY / w
        lines.append(f"{w:>14}{s / 3600:>16.2f}" + (f"{s / 3600 / max(efficiency, 0.05):>16.2f}" if efficiency else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=600, help="schools in the region (default 600)")
    ap.add_argument("--municipalities", type=int, default=60, help="municipalities (default 60)")
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--jobs", type=int, default=2, help="msoko run --jobs (default 2)")
    ap.add_argument("--before", default=None, metavar="REV", help="also run git revision REV, side by side")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one, kept)")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask scaling")
    ap.add_argument("--save", default=None, metavar="FILE", help="write the variants' measures as JSON")
    ap.add_argument("--compare", default=None, metavar="FILE",
                    help="put the variants saved by an earlier run (--save) first in the table, with their date "
                         "and the machine's load during them: a region-sized before and after that do not fit "
                         "in one sitting")
    ap.add_argument("--dask-scope", choices=["one", "all"], default="one",
                    help="Dask scaling on the first municipality's reports (default) or on all")
    a = ap.parse_args()

    work = Path(a.work or tempfile.mkdtemp(prefix="msoko-region-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log(f"Рабочая папка: {work}; ядер: {os.cpu_count()}; регион: {a.schools} школ в {a.municipalities} "
        f"муниципалитетах; --jobs {a.jobs}; средняя загрузка машины: {os.getloadavg()[0]:.1f}")
    variants: list[tuple[str, Path]] = []
    if a.before:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", a.before], check=True,
                             capture_output=True, text=True).stdout.strip()
        variants.append((f"до ({rev})", export_revision(a.before, work / "src-before")))
    variants.append(("после (рабочее дерево)" if a.before else "рабочее дерево", snapshot_worktree(work / "src-after")))
    after_src = variants[-1][1]

    raw = work / "raw"
    if not (raw / "logins.xlsx").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "msoko", "demo", "--out", str(raw), "--schools", str(a.schools),
                        "--municipalities", str(a.municipalities), "--seed", str(a.seed)],
                       check=True, env=env_for(after_src), stdout=subprocess.DEVNULL, cwd=work)
        log(f"подготовка: msoko demo {time.perf_counter() - t:.1f} с")

    results = []
    for i, (name, src) in enumerate(variants):
        tag = "before" if a.before and i == 0 else "after"
        processed, reports = work / tag / "processed", work / tag / "reports"
        shutil.rmtree(work / tag, ignore_errors=True)
        cmd = [sys.executable, "-m", "msoko", "run", "--raw", str(raw), "--processed", str(processed),
               "--reports", str(reports), "--notebooks", str(src / "notebooks"), "--jobs", str(a.jobs)]
        log(f"{name}: msoko run …")
        load0 = os.getloadavg()[0]
        wall, rc, mon = timed_run(cmd, env_for(src), work / f"{tag}.log")
        r = measure(name, wall, rc, mon, reports)
        r["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        r["load"] = f"{load0:.1f} → {os.getloadavg()[0]:.1f}"
        again, _, _ = timed_run(cmd, env_for(src), work / f"{tag}-again.log")   # nothing changed
        r["rerun_s"] = again
        r["rerun_built"] = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))["run"].get("built")
        results.append(r)
        log(f"{name}: {wall:.1f} с, код {rc}, отчётов {r['reports']} (с ошибками {r['failed']})")

    if a.save:
        Path(a.save).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    earlier = json.loads(Path(a.compare).read_text(encoding="utf-8")) if a.compare else []
    log("\n" + table(earlier + results))

    if not a.no_dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            log("\nDask: пакет distributed не установлен — масштабирование не измерено")
            return 0
        import pandas as pd

        processed = work / "after" / "processed"
        sch = pd.read_parquet(processed / "schools.parquet")
        first = sorted(sch["municipality"].dropna().astype(str).unique())[0]
        scope = f"отчёты муниципалитета «{first}» и региональный" if a.dask_scope == "one" else "все отчёты"
        log(f"\nDask LocalCluster (процессы, по 1 потоку), этап отчётов — {scope}:")
        logging.getLogger("distributed").setLevel(logging.ERROR)   # «worker still alive … killing» at close
        dk = dask_scaling(after_src, env_for(after_src), work, raw, processed, a.dask_scope, first)
        eff = None
        if len(dk) == 2 and dk[0]["reports_s"] and dk[1]["reports_s"]:
            speed = dk[0]["reports_s"] / dk[1]["reports_s"]
            eff = min(1.0, speed / 2)
            log(f"  ускорение 1 → 2 исполнителя: {speed:.2f}× (эффективность {speed / 2:.0%}; "
                f"средняя загрузка машины за минуту: {os.getloadavg()[0]:.1f} при {os.cpu_count()} ядрах)")
        cpu = results[-1]["school_cpu_median_s"] or (dk[-1]["school_cpu_median_s"] if dk else None)
        if cpu:
            log("\n" + projection(cpu, eff))
    return 0


if __name__ == "__main__":
    sys.exit(main())
