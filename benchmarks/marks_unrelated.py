"""The ``marks_unrelated`` finding: its null on real data and its power on shuffled journal marks.

    python benchmarks/marks_unrelated.py --processed /path/to/processed [--reps 5]

Prints the share of assessed cells flagged at p < 0.01 and p < 0.001 (all cells and n ≥ 20) on the data as
they are — most schools mark honestly, so the bulk should be near the nominal shares — and then, for
``--reps`` random draws, the recall when one cell's journal marks are shuffled among 90 % of its pupils
(the official sign, Spearman < 0, for comparison).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.objectivity import official as off
from msoko.objectivity.core import prepare, settings
from msoko.objectivity.correlation import unrelated_rows


def shares(rows: pd.DataFrame) -> dict:
    a = rows[rows["p_value"].notna()]
    big = a[a["n"] >= 20]
    return {"cells": len(a), "p<0.01": (a["p_value"] < 0.01).mean(), "p<0.001": (a["p_value"] < 0.001).mean(),
            "cells n≥20": len(big), "n≥20 p<0.01": (big["p_value"] < 0.01).mean(),
            "n≥20 p<0.001": (big["p_value"] < 0.001).mean(), "flagged": int(a["flagged"].fillna(False).sum())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processed", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--cells", type=int, default=40, help="shuffled cells per repetition")
    a = ap.parse_args()
    vpr = pd.read_parquet(Path(a.processed) / "vpr.parquet")
    cfg = settings(None)
    prep = prepare(vpr)
    rows = unrelated_rows(prep.students, prep.cells, cfg)
    print("null (data as they are):", {k: (round(v * 100, 2) if isinstance(v, float) else v) for k, v in shares(rows).items()},
          "(shares in %)")
    rng = np.random.default_rng(1)
    big = rows[(rows["n"] >= 20) & rows["p_value"].notna() & (rows["p_value"] > 0.05)]
    hits = off_hits = tried = 0
    bands: dict = {}
    for rep in range(a.reps):
        pick = big.sample(min(a.cells, len(big)), random_state=int(rng.integers(0, 2**31)))
        s = prep.students.copy()
        key = list(zip(s["year"], s["school_id"], s["grade"], s["subject"]))
        chosen = set(zip(pick["year"], pick["school_id"], pick["grade"], pick["subject"]))
        mask = np.array([k in chosen for k in key]) & s["journal_mark"].notna().to_numpy()
        for cell, idx in s[mask].groupby(["year", "school_id", "grade", "subject"], observed=True).groups.items():
            idx = np.asarray(idx)
            sub = idx[rng.random(len(idx)) < 0.9]
            s.loc[sub, "journal_mark"] = rng.permutation(s.loc[sub, "journal_mark"].to_numpy())
        r = unrelated_rows(s, prep.cells, cfg)
        o = off.journal_mismatch_rows(s, prep.cells, cfg)
        k = ["year", "school_id", "grade", "subject"]
        r = r.merge(pick[k], on=k)
        o = o.merge(pick[k], on=k)
        hits += int(r["flagged"].fillna(False).sum())
        for lo_, hi_ in ((20, 40), (40, 80), (80, 10**6)):
            b = r[(r["n"] >= lo_) & (r["n"] < hi_)]
            h, t = bands.get((lo_, hi_), (0, 0))
            bands[(lo_, hi_)] = (h + int(b["flagged"].fillna(False).sum()), t + len(b))
        off_hits += int(o["flagged"].fillna(False).sum())
        tried += len(pick)
    print(f"power, journal marks shuffled among 90 % of a class (cells n ≥ 20, {tried} cells): "
          f"marks_unrelated {hits / tried:.2f}, official Spearman < 0 {off_hits / tried:.2f}")
    for (lo_, hi_), (h, t) in bands.items():
        if t:
            print(f"  n {lo_}–{hi_ if hi_ < 10**6 else '…'}: marks_unrelated {h / t:.2f} of {t} cells")


if __name__ == "__main__":
    main()
