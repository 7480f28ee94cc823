"""Chart time per report: the former hand-written SVG engine against matplotlib + seaborn.

Runs the report notebook's own cells (``notebooks/school.py`` or ``municipality.py``) in this process
on a processed folder, with the ``msoko.plots`` builders the report calls wrapped to record their
inputs; then draws exactly those inputs with both engines, alternating old/new, and prints the
per-report medians side by side. The old engine is ``msoko/plots.py`` at ``--old-rev`` (the last
commit before the package), loaded from git as a standalone module — no checkout.

    .venv/bin/msoko demo --out /tmp/b/raw && .venv/bin/msoko ingest --raw /tmp/b/raw --processed /tmp/b/p \\
        && .venv/bin/msoko compute --processed /tmp/b/p
    .venv/bin/python benchmarks/charts.py --processed /tmp/b/p              # 4 schools × 3 rounds
    .venv/bin/python benchmarks/charts.py --processed /tmp/b/p --report municipality
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OLD_REV = "41a7a42"  # msoko/plots.py, the hand-written SVG engine, before msoko/plots/
# builder the report calls now → the old engine's function drawing the same chart
OLD_NAMES = {"indicator_chart": "plot_indicator", "trend_chart": "plot_trend", "marks_chart": "plot_marks_distribution",
             "vpr_vs_journal_chart": "plot_vpr_vs_journal", "vpr_detail_chart": "plot_vpr_detail",
             "evidence_panel": "plot_evidence_panel", "mkdo_areas_chart": "plot_mkdo_areas"}


def old_engine(rev: str):
    src = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:msoko/plots.py"], check=True, capture_output=True,
                         text=True).stdout
    path = Path(tempfile.mkdtemp()) / "msoko_plots_svg.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("msoko_plots_svg", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def record(report: str, processed: str, params: dict) -> list[tuple[str, tuple, dict]]:
    """The builder calls one report makes (name, args, kwargs), in order."""
    from msoko import plots

    calls: list = []
    saved = {n: getattr(plots, n) for n in OLD_NAMES}

    def wrap(name, fn):
        def inner(*a, **k):
            calls.append((name, a, k))
            return fn(*a, **k)
        return inner

    for n, fn in saved.items():
        setattr(plots, n, wrap(n, fn))
    try:
        from msoko.runner.inprocess import run_cells

        for _ in run_cells(report, {**params, "processed_dir": processed}):
            pass
    finally:
        for n, fn in saved.items():
            setattr(plots, n, fn)
    return calls


def draw_all(calls, resolve) -> tuple[float, float]:
    """(wall, CPU) seconds to draw one report's charts. CPU time is the number to compare on a
    shared machine: the wall time of both engines grows with whatever else runs."""
    t, c = time.perf_counter(), time.process_time()
    for name, a, k in calls:
        resolve(name)(*a, **k)
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processed", required=True, help="обработанные данные (msoko ingest + compute)")
    ap.add_argument("--report", choices=["school", "municipality"], default="school")
    ap.add_argument("--schools", type=int, default=4, help="сколько школ (первые по логину, писавшие ВПР)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--old-rev", default=OLD_REV)
    args = ap.parse_args()

    import pandas as pd

    from msoko import plots
    from msoko import report as R

    old = old_engine(args.old_rev)
    data = R.load(args.processed)
    year = R.resolve_year(data, None)
    if args.report == "school":
        vpr_schools = sorted(set(pd.read_parquet(Path(args.processed) / "vpr.parquet", columns=["school_id"])
                                 ["school_id"].astype(str)))
        runs = [{"school_id": s, "year": year} for s in vpr_schools[: args.schools]]
    else:
        runs = [{"year": year}]
    recorded = [record(args.report, args.processed, p) for p in runs]
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for calls in recorded:
            times["old"].append(draw_all(calls, lambda n: getattr(old, OLD_NAMES[n])))
            times["new"].append(draw_all(calls, lambda n: getattr(plots, n)))
    n_svg = [sum(str(getattr(plots, n)(*a, **k) or "").count('role="img"') for n, a, k in calls) for calls in recorded]
    print(f"{args.report} report, {len(recorded)} report(s) × {args.rounds} rounds, "
          f"{statistics.median(n_svg):.0f} charts per report (median), processed = {args.processed}")
    print(f"{'engine':<48}{'CPU s/report':>13}{'wall s/report':>15}  (medians; CPU min–max)")
    med = {}
    for key, label in (("old", f"hand-written SVG (msoko/plots.py @ {args.old_rev})"),
                       ("new", "matplotlib + seaborn (msoko/plots/)")):
        wall, cpu = [w for w, _ in times[key]], [c for _, c in times[key]]
        med[key] = statistics.median(cpu)
        print(f"{label:<48}{med[key]:>13.3f}{statistics.median(wall):>15.3f}  ({min(cpu):.3f}–{max(cpu):.3f})")
    print(f"new − old: {med['new'] - med['old']:+.3f} s CPU per report ({med['new'] / med['old']:.1f}×)")


if __name__ == "__main__":
    sys.exit(main())
