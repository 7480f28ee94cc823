"""Time the demo generator: the default municipality and a region-sized one (700 schools).

    .venv/bin/python benchmarks/demo.py [--schools 40 700] [--out /tmp/msoko_demo_bench]

Prints wall-clock and CPU seconds (this process + the writer processes) and the number of
ВПР rows; on a shared machine the CPU seconds are the figure to compare. Target:
700 schools (about a million ВПР rows or more) in under 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from msoko.demo import generate


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children (the writer pool)."""
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, nargs="*", default=[40, 700])
    ap.add_argument("--out", default="/tmp/msoko_demo_bench")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    for n in args.schools:
        out = Path(args.out) / f"n{n}"
        shutil.rmtree(out, ignore_errors=True)
        c0 = _cpu()
        t0 = time.perf_counter()
        summary = generate(out_dir=out, seed=2021, n_schools=n, years=(2021, 2023), jobs=args.jobs)
        wall = time.perf_counter() - t0
        c1 = _cpu()
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        print(f"schools={n:4d}  wall={wall:6.1f} s  cpu={c1 - c0:6.1f} s  vpr_rows={summary['vpr_rows']:,}  "
              f"files={sum(1 for p in out.rglob('*.xlsx'))}  size={size:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
