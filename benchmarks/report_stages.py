"""CPU per stage of a school report as `msoko run` builds it: one warm kernel, the runner's own
:func:`msoko.runner.worker.execute_job`, the schools of one municipality in the runner's order.

Stages of the worker (``stage_cpu_s`` of the result, as in manifest.json): ``prepare`` (read the
notebook, inject the parameters), ``execute`` (nbclient's side of the execution: messages, outputs),
``export`` (HTML), ``workbook`` (Excel), ``serialise`` (the executed notebook, only with
``--keep-notebook``); and the kernel's CPU (``kernel_cpu_s``). The first report of the kernel
(it loads the municipality's slice) is printed apart and left out of the medians.
``--profile-worker FILE`` / ``--profile-kernel FILE`` write cProfile stats (pstats) of the worker's
and of the kernel's side of the reports after the first.

    PYTHONPATH=. .venv/bin/python benchmarks/report_stages.py --processed /tmp/p --municipality "г. Алейск"
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

KERNEL_PROFILE_ON = "import cProfile, sys\nsys._msoko_prof = cProfile.Profile()\nsys._msoko_prof.enable()"
KERNEL_PROFILE_OFF = "import sys\nsys._msoko_prof.disable()\nsys._msoko_prof.dump_stats({path!r})"


def school_jobs(processed: Path, municipality: str | None, limit: int | None) -> list:
    from msoko.runner.plan import latest_year, plan
    from msoko.runner.state import HashCache

    jobs, _ = plan(processed, REPO / "notebooks", year=latest_year(processed), municipality=municipality,
                   schools=None, lib_hash="bench", cache=HashCache(None), kinds=("school",))
    return jobs[: limit] if limit else jobs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processed", required=True)
    ap.add_argument("--municipality", help="the schools of this municipality (default: the first one's)")
    ap.add_argument("--schools", type=int, help="at most this many schools")
    ap.add_argument("--keep-notebook", action="store_true", help="serialise the executed notebook too")
    ap.add_argument("--save", help="write each report's executed notebook, HTML and workbook to this folder")
    ap.add_argument("--profile-worker", help="cProfile stats of the worker's side (pstats file)")
    ap.add_argument("--profile-kernel", help="cProfile stats of the kernel's side (pstats file)")
    args = ap.parse_args()

    import cProfile

    from msoko.runner import worker

    processed = Path(args.processed).resolve()
    jobs = school_jobs(processed, args.municipality, args.schools)
    if not args.municipality and jobs:
        jobs = [j for j in jobs if j.group == jobs[0].group]
    worker._quiet()
    kernel = worker._kernel()
    prof = cProfile.Profile() if args.profile_worker else None
    rows = []
    for n, j in enumerate(jobs):
        if n == 1 and args.profile_kernel:
            kernel.run_code(KERNEL_PROFILE_ON)
        payload = j.payload(timeout=None, cwd=str(j.notebook.parent),
                            keep_notebook=args.keep_notebook or bool(args.save))
        t = time.perf_counter()
        if prof is not None and n >= 1:
            prof.enable()
        res = worker.execute_job(payload)
        if prof is not None and n >= 1:
            prof.disable()
        if res["status"] != "ok":
            print(f"{j.key}: {res['status']} {res.get('error')}", file=sys.stderr)
            continue
        if args.save:
            out = Path(args.save) / j.label
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".ipynb").write_text(res["executed"], encoding="utf-8")
            out.with_suffix(".html").write_text(res["html"], encoding="utf-8")
            if res.get("xlsx"):
                out.with_suffix(".xlsx").write_bytes(res["xlsx"])
        row = {**res["stage_cpu_s"], "kernel": res.get("kernel_cpu_s") or 0.0, "cpu_s": res["cpu_s"],
               "wall": time.perf_counter() - t, "html_kb": len(res["html"]) / 1024}
        rows.append((j.key, row))
    if args.profile_kernel and len(jobs) > 1:
        kernel.run_code(KERNEL_PROFILE_OFF.format(path=str(Path(args.profile_kernel).resolve())))
    if prof is not None:
        prof.dump_stats(args.profile_worker)
    worker.shutdown_all_kernels()
    if not rows:
        print("no report built", file=sys.stderr)
        return 1
    cols = ["prepare", "kernel_start", "execute", "export", "workbook", "serialise", "kernel", "cpu_s", "wall",
            "html_kb"]
    cols = [c for c in cols if any(c in r for _, r in rows)]
    print(f"{len(rows)} school report(s) of {jobs[0].group!r}; processed = {processed}")
    print(f"{'':<34}" + "".join(f"{c:>13}" for c in cols))
    print(f"{'first (loads the slice)':<34}" + "".join(f"{rows[0][1].get(c, 0.0):>13.3f}" for c in cols))
    rest = [r for _, r in rows[1:]] or [rows[0][1]]
    print(f"{f'median of the other {len(rest)}':<34}"
          + "".join(f"{statistics.median(r.get(c, 0.0) for r in rest):>13.3f}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
