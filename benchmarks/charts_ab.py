"""Chart CPU per school report, two source trees side by side, and the bytes of every chart compared.

``record`` runs the school report's cells for a few schools in this process (the tree on PYTHONPATH) with
the ``msoko.plots`` builders a report calls wrapped to keep their inputs, and pickles them. ``ab`` replays
those calls in fresh processes, alternating tree A and tree B (``PYTHONPATH`` set to each), as a warm
report kernel draws them: school after school in one process, the first school a warm-up left out of the
figures. Each replay writes every chart's HTML; ``ab`` says whether A and B gave the same bytes.

    python benchmarks/charts_ab.py record --processed /tmp/region/w/after/processed --schools 13 --out /tmp/c/calls.pkl
    python benchmarks/charts_ab.py ab --calls /tmp/c/calls.pkl --a /work/main --b . --pairs 3
    python benchmarks/charts_ab.py interleaved --calls /tmp/c/calls.pkl --a /work/main --b . --rounds 3

``interleaved`` keeps one warm kernel per tree alive and alternates them school by school (the figure to
trust on a loaded machine); it compares no bytes (``ab`` does).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILDERS = ("indicator_chart", "trend_chart", "marks_chart", "vpr_vs_journal_chart", "vpr_detail_chart",
            "evidence_panel", "mkdo_areas_chart", "score_histogram_chart", "task_completion_chart",
            "task_levels_chart", "interval_chart", "bunching_chart", "cohort_k_chart")


def record(processed: str, schools: int, out: str, report: str = "school") -> None:
    import pandas as pd

    from msoko import plots
    from msoko import report as R
    from msoko.runner.inprocess import run_cells

    data = R.load(processed)
    year = R.resolve_year(data, None)
    if report == "school":
        ids = sorted(set(pd.read_parquet(Path(processed) / "vpr.parquet", columns=["school_id"])["school_id"]
                         .astype(str)))[:schools]
        runs = [{"school_id": i} for i in ids]
    elif report == "dou":
        s = data.schools
        ids = sorted(s.loc[s["is_preschool"].fillna(False).astype(bool), "school_id"])[:schools]
        runs = [{"dou_id": i} for i in ids]
    else:  # municipality, objectivity: one report
        ids, runs = [report], [{}]
    saved = {n: getattr(plots, n) for n in BUILDERS if hasattr(plots, n)}
    per_school: list = []

    def wrap(name, fn):
        def inner(*a, **k):
            per_school[-1].append((name, a, k))
            return fn(*a, **k)
        return inner

    for n, fn in saved.items():
        setattr(plots, n, wrap(n, fn))
    try:
        for params in runs:
            per_school.append([])
            for _ in run_cells(report, {**params, "year": year, "processed_dir": processed}):
                pass
    finally:
        for n, fn in saved.items():
            setattr(plots, n, fn)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        pickle.dump({"schools": ids, "calls": per_school}, fh)
    print(f"{len(ids)} schools, {sum(len(c) for c in per_school)} builder calls → {out}")


def replay(calls_path: str, out: str) -> None:
    """One warm kernel: every school's charts in order; CPU per school to ``out`` (JSON) and the charts' HTML."""
    from msoko import plots

    plots.use_theme()
    with open(calls_path, "rb") as fh:
        rec = pickle.load(fh)
    cpu, html = [], []
    for calls in rec["calls"]:
        c = time.process_time()
        got = [str(getattr(plots, n)(*a, **k) or "") for n, a, k in calls]
        cpu.append(time.process_time() - c)
        html.append(got)
    Path(out).write_text(json.dumps({"cpu": cpu, "html": html, "file": plots.__file__}), encoding="utf-8")


def serve(calls_path: str) -> None:
    """A warm kernel that draws the school it is told (an index on stdin) and answers its CPU seconds."""
    from msoko import plots

    plots.use_theme()
    with open(calls_path, "rb") as fh:
        rec = pickle.load(fh)
    print(plots.__file__, flush=True)
    for line in sys.stdin:
        calls = rec["calls"][int(line)]
        c = time.process_time()
        for n, a, k in calls:
            getattr(plots, n)(*a, **k)
        print(time.process_time() - c, flush=True)


def ab_interleaved(calls: str, a: str, b: str, rounds: int) -> None:
    """Two warm kernels, one per tree, alive together; each school drawn by A then B (B then A the next
    round): load that changes from second to second weighs on both alike."""
    with open(calls, "rb") as fh:
        n = len(pickle.load(fh)["calls"])
    procs = {}
    for key, tree in (("A", a), ("B", b)):
        env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
        procs[key] = subprocess.Popen([sys.executable, __file__, "serve", "--calls", calls], env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        print(key, procs[key].stdout.readline().strip())

    def draw(key: str, i: int) -> float:
        procs[key].stdin.write(f"{i}\n")
        procs[key].stdin.flush()
        return float(procs[key].stdout.readline())

    for key in procs:  # the first school warms each kernel's caches
        draw(key, 0)
    cpu: dict = {"A": [], "B": []}
    for r in range(rounds):
        for i in range(1, n):
            for key in ("A", "B") if (r + i) % 2 == 0 else ("B", "A"):
                cpu[key].append(draw(key, i))
    for p in procs.values():
        p.stdin.close()
        p.wait()
    ra = [y / x for x, y in zip(cpu["A"], cpu["B"])]
    print(f"{n - 1} schools × {rounds} rounds, A and B alternated per school in two warm kernels")
    for key in ("A", "B"):
        print(f"{key}: CPU s/school median {statistics.median(cpu[key]):.3f}, mean {statistics.mean(cpu[key]):.3f}")
    print(f"B/A per school: median {statistics.median(ra):.3f} (quartiles "
          f"{statistics.quantiles(ra, n=4)[0]:.3f}–{statistics.quantiles(ra, n=4)[2]:.3f}); "
          f"B/A of the totals {sum(cpu['B']) / sum(cpu['A']):.3f}")


def ab(calls: str, a: str, b: str, pairs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="charts_ab."))
    res: dict = {"A": [], "B": []}
    outs: dict = {}
    for i in range(pairs):
        for key, tree in (("A", a), ("B", b)) if i % 2 == 0 else (("B", b), ("A", a)):
            o = tmp / f"{key}{i}.json"
            env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
            subprocess.run([sys.executable, __file__, "replay", "--calls", calls, "--out", str(o)], env=env,
                           check=True)
            r = json.loads(o.read_text(encoding="utf-8"))
            skip = 1 if len(r["cpu"]) > 1 else 0  # the first report warms the process's caches
            res[key].extend(r["cpu"][skip:])
            outs[key] = r
    n = len(res["A"]) // pairs
    print(f"charts of a report: {n} reports × {pairs} processes per tree (the first of several left out)")
    for key, tree in (("A", a), ("B", b)):
        v = res[key]
        print(f"{key} {outs[key]['file']}: CPU s/school median {statistics.median(v):.3f}, "
              f"mean {statistics.mean(v):.3f}, min–max {min(v):.3f}–{max(v):.3f}")
    a_, b_ = res["A"], res["B"]  # the same schools in the same order: paired
    print(f"B − A: {statistics.mean(b_) - statistics.mean(a_):+.3f} s CPU per school "
          f"(B/A of the totals {sum(b_) / sum(a_):.3f}; per school B/A median "
          f"{statistics.median(y / x for x, y in zip(a_, b_)):.3f})")
    # each school's least CPU over the processes: contention on a shared machine only adds time
    n_s = n
    mins = {k: [min(v[i::n_s]) for i in range(n_s)] for k, v in res.items()}
    print(f"least of each school, summed over {n_s} schools: A {sum(mins['A']):.3f} s, B {sum(mins['B']):.3f} s "
          f"(B/A {sum(mins['B']) / sum(mins['A']):.3f}; per school A {sum(mins['A']) / n_s:.3f}, "
          f"B {sum(mins['B']) / n_s:.3f} s)")
    ha, hb = outs["A"]["html"], outs["B"]["html"]
    diff = [(s, j) for s, (xa, xb) in enumerate(zip(ha, hb)) for j, (ca, cb) in enumerate(zip(xa, xb)) if ca != cb]
    total = sum(len(x) for x in ha)
    print(f"same bytes: {total - len(diff)} of {total} builder outputs" + (f"; differ: {diff[:10]}" if diff else ""))
    (tmp / "diff.json").write_text(json.dumps(diff), encoding="utf-8")
    print(f"outputs in {tmp}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--processed", required=True)
    r.add_argument("--schools", type=int, default=13)
    r.add_argument("--report", choices=["school", "dou", "municipality", "objectivity"], default="school")
    r.add_argument("--out", required=True)
    p = sub.add_parser("replay")
    p.add_argument("--calls", required=True)
    p.add_argument("--out", required=True)
    x = sub.add_parser("ab")
    x.add_argument("--calls", required=True)
    x.add_argument("--a", required=True)
    x.add_argument("--b", required=True)
    x.add_argument("--pairs", type=int, default=3)
    v = sub.add_parser("serve")
    v.add_argument("--calls", required=True)
    w = sub.add_parser("interleaved")
    w.add_argument("--calls", required=True)
    w.add_argument("--a", required=True)
    w.add_argument("--b", required=True)
    w.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.processed, args.schools, args.out, args.report)
    elif args.cmd == "replay":
        replay(args.calls, args.out)
    elif args.cmd == "serve":
        serve(args.calls)
    elif args.cmd == "interleaved":
        ab_interleaved(args.calls, args.a, args.b, args.rounds)
    else:
        ab(args.calls, args.a, args.b, args.pairs)


if __name__ == "__main__":
    sys.exit(main())
