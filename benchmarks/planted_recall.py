"""Cell-level recall and false positives of the objectivity findings against the demo's planted truth.

The demo (``msoko demo``) plants manipulations in ВПР cells (year, school, grade, subject) and writes
them to ``_truth/objectivity_cells.csv``; every other cell is clean. This script reads the computed
``objectivity.parquet`` of such a run and prints, for the rule the plan of work starts from —
``combined`` (the ВПР evidence together) or any current-marks finding (``MARK_SIGNS`` and the official
``journal_mismatch``) —

* recall by kind and strength of the planted cases (weak ones are there to be hard),
* recall of moderate and strong cases together, and each kind's moderate cases,
* the share of clean cells flagged (false positives), overall and by sign family.

Clean cells. The demo's journal marks carry a latent school leniency (``schools.csv``, N(0; 0,25)): in a
school whose journal marks are lenient or strict by construction, a current-marks finding is true, not a
false positive. The demo lists the cells of schools at least 1 SD of the leniency from 0 in
``_truth/journal_cells.csv`` (kind lenient_journal | strict_journal, strength weak 1–1,5 SD, moderate
1,5–2 SD, strong ≥ 2 SD). Those cells are neither clean nor planted manipulations: they are kept out of
the recall of the planted cases and out of the clean cells, and their own recall (share flagged) is printed
apart. The false positives of all planted-free cells (the lenient and strict schools included) are printed
too, for comparison with runs of older demos. Without ``journal_cells.csv`` (an older demo) every
planted-free cell is clean.

boundary_push cases are also shown by the number of pupils the demo moved (``params.n_pushed``). A push of
one to four pupils (small schools; Russian language, whose 45–51-point scales put few pupils within 2 points
below a boundary) is at the limit of what the data hold: on the 200-school demo (seed 7) the five moderate
cases missed moved 1, 1, 2, 3 and 4 pupils; two had fewer than 5 works around the boundaries (not assessed),
the other three had 5 of 6, 5 of 6 and 6 of 9 works at the boundaries where about a third were expected —
bunching p = 0,02–0,04, which no test calibrated at about 0,1 % of ordinary cells can turn into a finding.
The bunching test already uses the deficit below the boundaries (it compares the works at the boundary with
those 1–2 points below, a count the push does not change), so a test of the deficit adds nothing here.

    python -m msoko demo --out D --municipalities 10 --schools 200
    python -m msoko run --raw D --processed P --reports R        # or ingest + compute
    python benchmarks/planted_recall.py P D/_truth

The goals (issue «The objectivity year closed»): moderate and strong together ≥ 0,9; each kind's
moderate cases ≥ 0,8; clean cells flagged ≤ 1 %.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.vocabulary import MARK_SIGNS

KEY = ["year", "school_id", "grade", "subject"]
CURRENT_MARKS = sorted(MARK_SIGNS | {"journal_mismatch"})


def flagged_cells(obj: pd.DataFrame) -> pd.DataFrame:
    """One row per ВПР cell: whether ``combined`` fired, whether any current-marks finding fired."""
    cells = obj[obj["grade"].notna() & obj["subject"].notna()].copy()
    cells["grade"] = cells["grade"].astype(int)
    cells["school_id"] = cells["school_id"].astype(str)
    cells["flagged"] = cells["flagged"].fillna(False).astype(bool)
    comb = cells[cells["sign"] == "combined"].groupby(KEY)["flagged"].any().rename("combined")
    marks = cells[cells["sign"].isin(CURRENT_MARKS)].groupby(KEY)["flagged"].any().rename("current_marks")
    out = pd.concat([comb, marks], axis=1).fillna(False).astype(bool)
    out["either"] = out["combined"] | out["current_marks"]
    return out.reset_index()


def evaluate(processed: Path, truth: Path) -> dict:
    obj = pd.read_parquet(processed / "objectivity.parquet")
    cells = flagged_cells(obj)
    planted = pd.read_csv(truth / "objectivity_cells.csv", dtype={"school_id": str})
    planted["grade"] = planted["grade"].astype(int)
    # a cell may carry several planted kinds: each is a case of its own
    cases = planted.merge(cells, on=KEY, how="left")
    cases[["combined", "current_marks", "either"]] = cases[["combined", "current_marks", "either"]].fillna(False)
    assessed = cases.merge(cells[KEY], on=KEY, how="inner")
    clean = cells.merge(planted[KEY].drop_duplicates(), on=KEY, how="left", indicator=True)
    clean = clean[clean["_merge"] == "left_only"]
    by = (assessed.groupby(["kind", "strength"])
          .agg(cases=("either", "size"), combined=("combined", "mean"),
               current_marks=("current_marks", "mean"), either=("either", "mean"))
          .reset_index())
    strong = assessed[assessed["strength"].isin(["moderate", "strong"])]
    moderate = assessed[assessed["strength"] == "moderate"].groupby("kind")["either"].agg(["size", "mean"])
    journal = _journal_cells(truth)
    free = clean
    if journal is not None:
        clean = clean.drop(columns="_merge").merge(journal[KEY].drop_duplicates(), on=KEY, how="left", indicator=True)
        clean = clean[clean["_merge"] == "left_only"]
        jc = journal.merge(cells, on=KEY, how="inner").merge(planted[KEY].drop_duplicates(), on=KEY, how="left",
                                                             indicator=True)
        jc = jc[jc["_merge"] == "left_only"]   # a planted cell counts with its planted kind
        journal_by = (jc.groupby(["kind", "strength"])
                      .agg(cells=("current_marks", "size"), current_marks=("current_marks", "mean"),
                           combined=("combined", "mean")).reset_index())
    else:
        journal_by = None
    bp = assessed[assessed["kind"] == "boundary_push"].copy()
    bp["moved"] = pd.cut([json.loads(x).get("n_pushed", np.nan) for x in bp["params"]],
                         [0, 4, 10, np.inf], labels=["1–4", "5–10", "> 10"])
    pushed = (bp.groupby(["strength", "moved"], observed=True)["either"].agg(cases="size", recall="mean")
              .reset_index())
    return {
        "cells": len(cells), "planted_cases": len(planted), "assessed_cases": len(assessed),
        "journal_by": journal_by, "pushed": pushed,
        "fp_planted_free": ({c: free[c].mean() for c in ("combined", "current_marks", "either")}, len(free)),
        "by_kind": by,
        "recall_moderate_strong": (strong["either"].mean(), len(strong)),
        "moderate_by_kind": moderate,
        "clean_cells": len(clean),
        "fp": {c: clean[c].mean() for c in ("combined", "current_marks", "either")},
        "fp_by_sign": _fp_by_sign(obj, clean),
    }


def _journal_cells(truth: Path) -> pd.DataFrame | None:
    """The demo's cells of schools with lenient or strict journal marks by construction (None: an older demo)."""
    f = truth / "journal_cells.csv"
    if not f.exists():
        return None
    j = pd.read_csv(f, dtype={"school_id": str})
    j["grade"] = j["grade"].astype(int)
    return j


def _fp_by_sign(obj: pd.DataFrame, clean: pd.DataFrame) -> pd.Series:
    """Share of the clean cells in which each current-marks finding fired."""
    o = obj[obj["sign"].isin(CURRENT_MARKS) & obj["grade"].notna()].copy()
    o["grade"] = o["grade"].astype(int)
    o["school_id"] = o["school_id"].astype(str)
    o["flagged"] = o["flagged"].fillna(False).astype(bool)
    o = o.merge(clean[KEY], on=KEY, how="inner")
    return (o.groupby("sign")["flagged"].sum() / max(len(clean), 1)).sort_values(ascending=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("processed", type=Path)
    ap.add_argument("truth", type=Path)
    a = ap.parse_args()
    r = evaluate(a.processed, a.truth)
    pd.set_option("display.width", 140)
    print(f"ВПР cells assessed: {r['cells']}; planted cases: {r['planted_cases']} "
          f"(in assessed cells: {r['assessed_cases']}); clean cells: {r['clean_cells']}")
    print("\nrecall by kind and strength (share of cases flagged):")
    print(r["by_kind"].round(3).to_string(index=False))
    rec, n = r["recall_moderate_strong"]
    print(f"\nmoderate + strong, combined or current marks: {rec:.3f} of {n}   (goal ≥ 0.9)")
    print("moderate cases by kind (goal ≥ 0.8 each):")
    print(r["moderate_by_kind"].round(3).to_string())
    print("\nclean cells flagged (goal ≤ 0.01): "
          + ", ".join(f"{k} {v:.4f}" for k, v in r["fp"].items()))
    print("  by current-marks finding: " + ", ".join(f"{k} {v:.4f}" for k, v in r["fp_by_sign"].items()))
    fp, nfree = r["fp_planted_free"]
    print(f"all planted-free cells ({nfree}, lenient and strict schools included): "
          + ", ".join(f"{k} {v:.4f}" for k, v in fp.items()))
    if r["journal_by"] is not None:
        print("\njournal marks lenient or strict by construction (journal_cells.csv; true findings, not planted "
              "manipulations), share of cells flagged:")
        print(r["journal_by"].round(3).to_string(index=False))
    print("\nboundary_push by pupils moved (params.n_pushed), combined or current marks:")
    print(r["pushed"].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
