"""Cell-level recall and false positives of the objectivity findings against the demo's planted truth.

The demo (``msoko demo``) plants manipulations in ВПР cells (year, school, grade, subject) and writes
them to ``_truth/objectivity_cells.csv``; every other cell is clean. This script reads the computed
``objectivity.parquet`` of such a run and prints, for the rule the plan of work starts from —
``combined`` (the ВПР evidence together) or any current-marks finding (``MARK_SIGNS`` and the official
``journal_mismatch``) —

* recall by kind and strength of the planted cases (weak ones are there to be hard),
* recall of moderate and strong cases together, and each kind's moderate cases,
* the share of clean cells flagged (false positives), overall and by sign family.

    python -m msoko demo --out D --municipalities 10 --schools 200
    python -m msoko run --raw D --processed P --reports R        # or ingest + compute
    python benchmarks/planted_recall.py P D/_truth

The goals (issue «The objectivity year closed»): moderate and strong together ≥ 0,9; each kind's
moderate cases ≥ 0,8; clean cells flagged ≤ 1 %.
"""
from __future__ import annotations

import argparse
from pathlib import Path

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
    return {
        "cells": len(cells), "planted_cases": len(planted), "assessed_cases": len(assessed),
        "by_kind": by,
        "recall_moderate_strong": (strong["either"].mean(), len(strong)),
        "moderate_by_kind": moderate,
        "clean_cells": len(clean),
        "fp": {c: clean[c].mean() for c in ("combined", "current_marks", "either")},
        "fp_ordinary_journal": _ordinary_journal_fp(clean, truth),
    }


def _ordinary_journal_fp(clean: pd.DataFrame, truth: Path) -> dict:
    """The false positives again, in schools whose journal leniency (a latent school parameter of the demo,
    ``schools.csv``, not a planted cell) is within one SD: a current-marks finding in a school whose journal
    marks are lenient or strict by construction is a true finding that ``objectivity_cells.csv`` does not list."""
    f = truth / "schools.csv"
    if not f.exists():
        return {}
    s = pd.read_csv(f, dtype={"school_id": str})
    if "journal_leniency" not in s:
        return {}
    lim = s["journal_leniency"].std()
    ordinary = set(s.loc[(s["journal_leniency"] - s["journal_leniency"].mean()).abs() <= lim, "school_id"])
    c = clean[clean["school_id"].isin(ordinary)]
    return {"cells": len(c), **{k: c[k].mean() for k in ("combined", "current_marks", "either")}}


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
    o = r["fp_ordinary_journal"]
    if o:
        print(f"  in schools with ordinary journal leniency (within 1 SD; {o['cells']} clean cells): "
              + ", ".join(f"{k} {o[k]:.4f}" for k in ("combined", "current_marks", "either")))


if __name__ == "__main__":
    main()
