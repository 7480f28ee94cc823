"""Time per section of the report notebooks, in one process (as a warm `msoko run` worker sees it).

Runs each code cell of ``notebooks/<report>.py`` for a few schools (or ДОУ, or municipalities) in
this process, several rounds, and prints the median wall and CPU time of each cell; ``--profile FILE``
writes a cProfile of the last round. The first report warms the per-run memo (as the first report of a
worker does): its times are printed apart and left out of the medians.

The municipal report runs, as ``msoko run`` runs it, with its ``municipality`` parameter: each report
loads its municipality's slice (``R.load(processed, municipality=...)``; one loaded slice per kernel,
so every report of another municipality reads its own). ``--units K``: the first K + 1 municipalities
of the registry (by name), the first one apart as warm-up. ``--whole``: the report run without a
municipality on the whole folder (as before; one report measured again and again).

    .venv/bin/python benchmarks/sections.py --processed /tmp/b/p --schools 8
    .venv/bin/python benchmarks/sections.py --processed /tmp/b/p --report dou
    .venv/bin/python benchmarks/sections.py --processed /tmp/b/p --report municipality --units 4 --profile /tmp/m.prof
"""
from __future__ import annotations

import argparse
import cProfile
import statistics
import sys
import time
from pathlib import Path




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processed", required=True)
    ap.add_argument("--report", choices=["school", "dou", "municipality", "objectivity"], default="school")
    ap.add_argument("--schools", type=int, default=4)
    ap.add_argument("--units", type=int, help="reports measured (schools, ДОУ or municipalities); overrides --schools")
    ap.add_argument("--whole", action="store_true", help="municipality: the whole folder without a municipality")
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds over the same reports (a second round finds every chart's axes drawn: faster than a run)")
    ap.add_argument("--profile", help="cProfile output of the last round (pstats file)")
    args = ap.parse_args()

    import pandas as pd

    from msoko import report as R
    from msoko.runner.inprocess import notebook_cells, run_cells

    k = args.units if args.units is not None else args.schools
    data = R.load(args.processed)
    year = R.resolve_year(data, None)
    s = data.schools
    if args.report == "school":
        vpr_ids = set(pd.read_parquet(Path(args.processed) / "vpr.parquet", columns=["school_id"])["school_id"]
                      .astype(str))
        # as a worker sees them: schools of one municipality one after the other (the slice loaded once),
        # each once — a school drawn again finds its charts' axes already drawn (msoko.plots.embed)
        reg = s[s["school_id"].astype(str).isin(vpr_ids)].assign(school_id=lambda d: d["school_id"].astype(str))
        if "municipality" in reg and reg["municipality"].notna().any():
            muni = reg.sort_values("school_id")["municipality"].dropna().astype(str)
            sizes = muni.value_counts()
            big = sizes[sizes > k].index
            first = next((m for m in muni if m in big), muni.iloc[0])
            reg = reg[reg["municipality"].astype(str) == first]
        ids = sorted(reg["school_id"])[: k + 1]
        runs = [{"school_id": i, "year": year} for i in ids]
    elif args.report == "dou":
        ids = sorted(s.loc[s["is_preschool"].fillna(False).astype(bool), "school_id"])[: k + 1]
        runs = [{"dou_id": i, "year": year} for i in ids]
    elif args.report == "municipality" and not args.whole:
        munis = sorted(s["municipality"].dropna().astype(str).unique())[: k + 1]
        runs = [{"municipality": m, "year": year} for m in munis]
    else:
        runs = [{"year": year}] * 2
    del data   # the whole folder was read for the year and the ids only: a report loads its own
    cells = notebook_cells(args.report)
    labels = []
    for c in cells[1:]:
        line = next((ln for ln in c.splitlines() if ln.strip() and not ln.startswith("#")), "")
        labels.append(line.strip()[:60])
    times: list[list[tuple[float, float]]] = [[] for _ in cells[1:]]
    first: list[tuple[float, float]] = []
    prof = cProfile.Profile() if args.profile else None

    def one(params: dict, sink) -> None:
        t, p = time.perf_counter(), time.process_time()
        for i, _ in enumerate(run_cells(args.report, {**params, "processed_dir": args.processed})):
            sink(i, (time.perf_counter() - t, time.process_time() - p))
            t, p = time.perf_counter(), time.process_time()

    one(runs[0], lambda i, v: first.append(v))
    for r in range(args.rounds):
        if prof is not None and r == args.rounds - 1:
            prof.enable()
        for p in runs[1:]:
            one(p, lambda i, v: times[i].append(v))
        if prof is not None and r == args.rounds - 1:
            prof.disable()
    n = len(times[0])
    print(f"{args.report}: {len(runs) - 1} report(s) × {args.rounds} rounds = {n} samples; processed = {args.processed}")
    print(f"{'cell':<62}{'wall med':>9}{'CPU med':>9}{'first':>8}")
    tot_w = tot_c = 0.0
    for lab, ts, f in zip(labels, times, first):
        w, c = statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)
        tot_w, tot_c = tot_w + w, tot_c + c
        print(f"{lab:<62}{w:>9.3f}{c:>9.3f}{f[0]:>8.2f}")
    per_report = [sum(ts[k][0] for ts in times) for k in range(n)]
    print(f"{'sum of medians':<62}{tot_w:>9.3f}{tot_c:>9.3f}{sum(f[0] for f in first):>8.2f}")
    print(f"report wall time: median {statistics.median(per_report):.3f} s (min {min(per_report):.3f})")
    cpu_report = [sum(ts[k][1] for ts in times) for k in range(n)]
    print(f"report CPU time: median {statistics.median(cpu_report):.3f} s (min {min(cpu_report):.3f}, "
          f"max {max(cpu_report):.3f})")
    if prof is not None:
        prof.dump_stats(args.profile)


if __name__ == "__main__":
    sys.exit(main())
