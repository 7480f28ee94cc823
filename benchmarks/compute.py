"""Timing of compute's indicator, cycle and priority steps on fixed inputs, with an output check.

    .venv/bin/python benchmarks/compute.py --processed DIR                 # medians of 3 runs
    .venv/bin/python benchmarks/compute.py --processed DIR --save REF      # also keep the outputs (and timings)
    .venv/bin/python benchmarks/compute.py --processed DIR --check REF     # outputs equal to REF's? timings beside REF's

``DIR`` is a processed folder after ``msoko compute`` (its ``objectivity.parquet`` is the fixed
objectivity input, so that the objectivity code of the day does not move these figures). Each
function runs ``--runs`` times in this process; the median wall time is printed, and with
``--check`` the median saved in ``REF/timings.json`` beside it. ``--check`` compares every frame
(indicators, cycle tables, recommendations, priorities, objectivity findings) with
``pandas.testing.assert_frame_equal`` and exits 1 on a difference.
"""
from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from msoko import cycle, priorities  # noqa: E402
from msoko.compute import load_tables  # noqa: E402
from msoko.config import load_config  # noqa: E402
from msoko.indicators import compute_indicators, load_catalogue  # noqa: E402
from msoko.store import read_table  # noqa: E402


CPU: dict[str, list[float]] = {}


def _timed(fn, runs, name=None):
    times, cpu, out = [], [], None
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    if name:
        CPU[name] = cpu
    return out, times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processed", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--save")
    ap.add_argument("--check")
    ap.add_argument("--only", nargs="*", help="steps to time (indicators, analyse, recommend, "
                                              "management_cycle, objectivity_findings, priorities)")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    config = load_config()
    tables = load_tables(a.processed)
    obj = read_table(a.processed, "objectivity", missing_ok=True)
    plan = read_table(a.processed, "objectivity_plan", missing_ok=True)   # compute's plan of work
    cat = load_catalogue()
    conf = priorities.settings(config)
    only = set(a.only or [])

    def want(name):
        return not only or name in only

    frames, timings = {}, {}
    res, t = _timed(lambda: compute_indicators(tables, config, objectivity=obj, objectivity_plan=plan), 1 if not want("indicators")
                    else a.runs, "indicators.compute_indicators")
    timings["indicators.compute_indicators"] = t
    ind = res.indicators
    frames["indicators"] = ind
    kw = dict(meta=res.meta)
    if want("analyse"):
        frames["analysis_all"], timings["cycle.analyse"] = _timed(
            lambda: cycle.analyse(ind, cat, config, **kw), a.runs, "cycle.analyse")
    if want("recommend"):
        frames["recommendations_all"], timings["cycle.recommend"] = _timed(
            lambda: cycle.recommend(ind, cat, config, objectivity=obj, objectivity_plan=plan, **kw), a.runs, "cycle.recommend")
    cy, t = _timed(lambda: cycle.management_cycle(ind, cat, config, measures=tables.get("measures"), notes=res.notes,
                                                  objectivity=obj, objectivity_plan=plan, **kw), a.runs if want("management_cycle") else 1,
                   "cycle.management_cycle")
    if want("management_cycle"):
        timings["cycle.management_cycle"] = t
    for name in ("targets", "monitoring", "analysis", "recommendations", "effectiveness"):
        frames[f"cycle_{name}"] = pd.concat([getattr(c, name) for c in cy.values()], ignore_index=True)
    if want("objectivity_findings"):
        frames["objectivity_findings"], timings["priorities.objectivity_findings"] = _timed(
            lambda: priorities.objectivity_findings(obj, conf, plan), a.runs, "priorities.objectivity_findings")
    if want("priorities"):
        frames["priorities"], timings["priorities.priorities"] = _timed(
            lambda: priorities.priorities(frames["cycle_analysis"], cat, config, objectivity=obj, objectivity_plan=plan, indicators=ind,
                                          **kw), a.runs, "priorities.priorities")
    med = {k: statistics.median(v) for k, v in timings.items()}
    cpu = {k: statistics.median(CPU[k]) for k in timings}
    base = {}
    if a.check:
        base = json.loads((Path(a.check) / "timings.json").read_text())
    print(f"{'function':34s} {'wall, s':>8s} {'cpu, s':>7s}" + (f" {'before':>7s} {'cpu':>7s} {'× wall':>6s}" if base else "")
          + "   wall of each run")
    for k, v in med.items():
        line = f"{k:34s} {v:8.2f} {cpu[k]:7.2f}"
        if base and k in base.get("wall", {}):
            line += f" {base['wall'][k]:7.2f} {base['cpu'].get(k, float('nan')):7.2f} {base['wall'][k] / v:6.1f}"
        print(line + "   " + ", ".join(f"{x:.2f}" for x in timings[k]))
    status = 0
    if a.save:
        ref = Path(a.save)
        ref.mkdir(parents=True, exist_ok=True)
        (ref / "timings.json").write_text(json.dumps({"wall": med, "cpu": cpu}, indent=1))
        with open(ref / "frames.pkl", "wb") as f:
            pickle.dump(frames, f)
        print(f"saved {len(frames)} frames to {ref}")
    if a.check:
        with open(Path(a.check) / "frames.pkl", "rb") as f:
            ref_frames = pickle.load(f)
        for name, df in frames.items():
            if name not in ref_frames:
                continue
            try:
                pd.testing.assert_frame_equal(df.reset_index(drop=True), ref_frames[name].reset_index(drop=True))
                print(f"  {name}: equal ({len(df)} rows)")
            except AssertionError as exc:
                status = 1
                print(f"  {name}: DIFFERENT: {str(exc)[:600]}")
    return status


if __name__ == "__main__":
    sys.exit(main())
