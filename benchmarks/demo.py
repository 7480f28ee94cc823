"""Time the demo generator: the default municipality and a region-sized one (700 schools).

    .venv/bin/python benchmarks/demo.py [--schools 40 700] [--out /tmp/msoko_demo_bench]

Prints wall-clock and CPU seconds and the number of ВПР rows. Target (issue 3):
700 schools (about a million ВПР rows or more) in under 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

from msoko.demo import generate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, nargs="*", default=[40, 700])
    ap.add_argument("--out", default="/tmp/msoko_demo_bench")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    for n in args.schools:
        out = Path(args.out) / f"n{n}"
        shutil.rmtree(out, ignore_errors=True)
        c0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        t0 = time.perf_counter()
        summary = generate(out_dir=out, seed=2021, n_schools=n, years=(2021, 2023), jobs=args.jobs)
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        print(f"schools={n:4d}  wall={wall:6.1f} s  cpu={c1 - c0:6.1f} s  vpr_rows={summary['vpr_rows']:,}  "
              f"files={sum(1 for p in out.rglob('*.xlsx'))}  size={size:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
