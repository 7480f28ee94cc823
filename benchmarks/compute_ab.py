"""Whole ``msoko compute`` of two checkouts side by side, and every output table compared with a reference.

    .venv/bin/python benchmarks/compute_ab.py --input P --ref REF [--base /work/main] [--runs 3]
    .venv/bin/python benchmarks/compute_ab.py --input P --ref REF --runs 0      # only the identity check

``P`` is a processed folder as ingest left it (no compute outputs); ``REF`` is the same folder after a
compute of the reference code (the base checkout). Each run copies ``P`` into a fresh temporary folder and
runs ``python -m msoko compute`` there in a subprocess, alternating the base checkout (``--base``, default
/work/main) and this one (``--this``, e.g. a ``git archive`` of a commit), ``--runs`` times each; wall, CPU (user + system of the child) and
the child's peak RSS (``os.wait4``) are printed per run with the medians; each child's output is kept in ``<work>/<label>.log``. Then the last output of this checkout is compared with ``REF``: every Parquet table
with ``pandas.testing.assert_frame_equal`` (exact), the CSV outputs (compute_log.csv,
indicator_catalogue.csv) and config_used.json byte for byte. Exits 1 on any difference or missing table.

Measured 2026-12-07, branch fastcompute (ee07a02..7db938d) against its base 3a6a430 (``--base`` a ``git archive``
of it: /work/main moved during the day), 2 cores shared with other sessions (load 3–5), so wall times move with
the load; CPU is the steadier figure:

| input | runs | base wall / CPU, s | fastcompute wall / CPU, s | identity |
|---|---|---|---|---|
| demo, 40 schools | 2 | 61.6 / 32.9 | 38.6 / 25.1 | 68 of 68 tables equal |
| real Altai sample, 90 schools | 2 | 42.6 / 25.6 | 30.3 / 21.4 | 61 of 61 tables equal |
| demo region, 200 schools in 10 municipalities | 1 | 145.1 / 103.4 | 110.3 / 78.3 | 68 of 68 tables equal |

From 40 to 200 schools the CPU grows 3.1× on both (25.1 → 78.3 s here): nothing in compute grows much faster
than the schools now (the ШНОР list looked each school up in the whole index of units — fixed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BYTE_EQUAL = ("compute_log.csv", "indicator_catalogue.csv", "config_used.json")


def run_compute(checkout: Path, src: Path, dst: Path) -> tuple[float, float, float]:
    """(wall, cpu, peak RSS in MB) of ``msoko compute`` of ``checkout`` on a fresh copy of ``src`` in ``dst``
    (the child's own rusage: ``os.wait4``)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t = time.perf_counter()
    log = open(dst.parent / f"{dst.name}.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "msoko", "compute", "--processed", str(dst)], env=env,
                            cwd=str(checkout), stdout=log, stderr=subprocess.STDOUT, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        log.seek(0)
        print(log.read()[-3000:])
        raise SystemExit(f"compute of {checkout} failed with code {proc.returncode}")
    log.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def compare(out: Path, ref: Path) -> int:
    """0 when every output of ``ref`` is in ``out`` and equal; prints one line per table."""
    status = 0
    names = sorted(p.name for p in ref.iterdir() if p.suffix == ".parquet" or p.name in BYTE_EQUAL)
    extra = sorted(p.name for p in out.iterdir() if p.suffix == ".parquet" and not (ref / p.name).exists())
    for name in extra:
        status = 1
        print(f"  {name}: NOT IN THE REFERENCE")
    equal = 0
    for name in names:
        mine = out / name
        if not mine.exists():
            status = 1
            print(f"  {name}: MISSING")
            continue
        if name.endswith(".parquet"):
            a, b = pd.read_parquet(mine), pd.read_parquet(ref / name)
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
            except AssertionError as exc:
                status = 1
                print(f"  {name}: DIFFERENT: {str(exc)[:800]}")
                continue
        elif mine.read_bytes() != (ref / name).read_bytes():
            status = 1
            print(f"  {name}: DIFFERENT (bytes)")
            continue
        equal += 1
    print(f"identity: {equal} of {len(names)} outputs equal to {ref}" + ("" if status else " — all equal"))
    return status


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True, help="processed folder after ingest, before compute")
    ap.add_argument("--ref", required=True, help="the same folder after the base checkout's compute")
    ap.add_argument("--base", default="/work/main", help="the base checkout (default /work/main)")
    ap.add_argument("--this", default=str(REPO), help="the checkout measured against it (default: this one)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", help="scratch folder (default: a temporary one)")
    a = ap.parse_args(argv)
    src, ref = Path(a.input), Path(a.ref)
    work = Path(a.work or tempfile.mkdtemp(prefix="msoko-compute-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    checkouts = {"base": Path(a.base), "this": Path(a.this)}
    times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in checkouts}
    for i in range(a.runs):
        for label, checkout in checkouts.items():
            wall, cpu, rss = run_compute(checkout, src, work / label)
            times[label].append((wall, cpu, rss))
            print(f"run {i + 1} {label:4s} wall {wall:6.1f} s  cpu {cpu:6.1f} s  peak RSS {rss:7.0f} MB", flush=True)
    if a.runs:
        print(f"{'':6s} {'wall, s':>8s} {'cpu, s':>8s} {'peak, MB':>9s}   (median of {a.runs})")
        for label, rows in times.items():
            print(f"{label:6s} {statistics.median(r[0] for r in rows):8.1f} {statistics.median(r[1] for r in rows):8.1f}"
                  f" {statistics.median(r[2] for r in rows):9.0f}   {checkouts[label]}")
        ratio = statistics.median(r[0] for r in times["base"]) / statistics.median(r[0] for r in times["this"])
        print(f"speed-up (wall): {ratio:.2f}×")
    else:
        run_compute(Path(a.this), src, work / "this")
    status = compare(work / "this", ref)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
