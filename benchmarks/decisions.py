"""What msoko decides, in figures, from a processed folder (``msoko compute`` output).

    python benchmarks/decisions.py /path/to/processed [--truth /path/to/raw/_truth]

Prints, per year (and per municipality where asked with ``--by-municipality``):

- ШНОР: schools listed / assessed (the support list a УО acts on; domain §8 sizes it);
- the plan of work on objectivity: schools per tier / schools with ВПР (tiers 1–2 cost the school:
  observers, a re-check, an expertise of its tests), and beside it the notes (schools with flagged signs
  but no school-level finding, ``objectivity_plan_notes``);
- first screens: items (concerns, strengths, actions) resting on a group under the configured minimum;
- indicator intervals outside their scale (a share outside 0…100 %, a mean below 0 or above its maximum);
- principals' composites shown although fewer than half of their components exist.

With ``--truth`` (a demo's ``_truth`` folder) also the ШНОР list and the plan's tiers against the planted
truth: precision and recall of the ШНОР list against ``low_result_schools.csv``, and of the plan's schools
(any tier, tiers 1–2) against the schools with a planted moderate or strong manipulation that year.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def _read(p: Path, name: str) -> pd.DataFrame:
    f = p / f"{name}.parquet"
    return pd.read_parquet(f) if f.exists() else pd.DataFrame()


def _min_n(p: Path) -> int:
    cfg = p / "config_used.json"
    if cfg.exists():
        return int((json.loads(cfg.read_text(encoding="utf-8")).get("recommendation_settings") or {}).get("min_n", 20))
    return 20


def shnor(p: Path) -> pd.DataFrame:
    s = _read(p, "shnor_list")
    if s.empty:
        return pd.DataFrame()
    a = s[s["assessed"].fillna(True).astype(bool)] if "assessed" in s else s
    return a.groupby("year").agg(listed=("shnor", "sum"), assessed=("school_id", "nunique")).assign(
        share=lambda d: (100 * d["listed"] / d["assessed"]).round(1))


def plan(p: Path) -> pd.DataFrame:
    pl, v = _read(p, "objectivity_plan"), _read(p, "vpr_score_counts")
    if pl.empty:
        return pd.DataFrame()
    with_vpr = (v[v["level"] == "school"].groupby("year")["school_id"].nunique() if not v.empty
                else pl.groupby("year")["school_id"].nunique())
    t = pl.pivot_table(index="year", columns="tier", values="school_id", aggfunc="nunique", fill_value=0)
    t.columns = [f"tier {int(c)}" for c in t.columns]
    t["schools with ВПР"] = with_vpr.reindex(t.index)
    heavy = [c for c in ("tier 1", "tier 2") if c in t]
    t["tiers 1–2, %"] = (100 * t[heavy].sum(axis=1) / t["schools with ВПР"]).round(1)
    t["plan (tiers 1–3), %"] = (100 * t[[c for c in t if c.startswith("tier ")]].sum(axis=1)
                                / t["schools with ВПР"]).round(1)
    notes = _read(p, "objectivity_plan_notes")   # beside the plan: information, not acted on
    if not notes.empty:
        t["notes (not the plan)"] = notes.groupby("year")["school_id"].nunique().reindex(t.index).fillna(0).astype(int)
        t["of them official only"] = notes[notes["official_only"]].groupby("year")["school_id"].nunique() \
            .reindex(t.index).fillna(0).astype(int)
    return t


def first_screen(p: Path) -> pd.DataFrame:
    f = _read(p, "first_screen")
    if f.empty:
        return pd.DataFrame()
    f = f[f["part"].isin(["concern", "strength", "action"])]
    small = f["n"].notna() & (f["n"] > 1) & (f["n"] < _min_n(p))
    return f.assign(small=small).groupby(["year", "part"]).agg(items=("part", "size"), under_min=("small", "sum"))


def intervals(p: Path) -> dict:
    i = _read(p, "indicators")
    cat = p / "indicator_catalogue.csv"
    if i.empty or not cat.exists():
        return {}
    units = pd.read_csv(cat, encoding="utf-8-sig").set_index("code")["unit"].astype(str)
    u = i["indicator"].map(units).fillna("")
    has = i["ci_low"].notna() & i["ci_high"].notna()
    eps = 1e-9
    pct = u.str.strip().eq("%")
    out = has & ((i["ci_low"] < -eps) | (pct & (i["ci_high"] > 100 + eps)))
    zero = has & (i["ci_high"] - i["ci_low"] <= eps) & (i["n"] > 1)
    return {"rows with an interval": int(has.sum()), "outside the scale": int(out.sum()),
            "zero-width": int(zero.sum())}


def composites(p: Path) -> dict:
    c = _read(p, "principal_components")
    if c.empty:
        return {}
    comp = [x for x in c.columns if x.startswith("component_")]
    present = c[comp].notna().sum(axis=1)
    shown = c["composite"].notna()
    return {"composites shown": int(shown.sum()),
            "shown from fewer than half of the components": int((shown & (present < len(comp) / 2)).sum())}


def truth(p: Path, t: Path) -> pd.DataFrame:
    rows = []
    low = pd.read_csv(t / "low_result_schools.csv", dtype={"school_id": str}) if (t / "low_result_schools.csv").exists() \
        else pd.DataFrame(columns=["school_id"])
    s = _read(p, "shnor_list")
    if not s.empty:
        for y, g in s.groupby("year"):
            listed = set(g.loc[g["shnor"].astype(bool), "school_id"].astype(str))
            planted = set(low["school_id"])
            tp = len(listed & planted)
            rows.append(dict(year=y, what="ШНОР", listed=len(listed), planted=len(planted), hits=tp,
                             precision=tp / len(listed) if listed else np.nan,
                             recall=tp / len(planted) if planted else np.nan))
    cells = pd.read_csv(t / "objectivity_cells.csv", dtype={"school_id": str}) if (t / "objectivity_cells.csv").exists() \
        else pd.DataFrame()
    pl = _read(p, "objectivity_plan")
    if not pl.empty and not cells.empty:
        strong = cells[cells["strength"].isin(["moderate", "strong"]) & (cells["kind"] != "cohort_spike")]
        for y, g in pl.groupby("year"):
            planted = set(strong.loc[strong["year"] == y, "school_id"])
            for label, part in (("план, все уровни", g), ("план, уровни 1–2", g[g["tier"] <= 2])):
                listed = set(part["school_id"].astype(str))
                tp = len(listed & planted)
                rows.append(dict(year=y, what=label, listed=len(listed), planted=len(planted), hits=tp,
                                 precision=tp / len(listed) if listed else np.nan,
                                 recall=tp / len(planted) if planted else np.nan))
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("processed")
    ap.add_argument("--truth", help="a demo's _truth folder")
    a = ap.parse_args()
    p = Path(a.processed)
    pd.set_option("display.width", 160)
    print("ШНОР (listed / assessed schools):\n", shnor(p).to_string(), "\n")
    print("Plan of work on objectivity (schools per tier):\n", plan(p).to_string(), "\n")
    print(f"First screens (items on groups under {_min_n(p)}):\n", first_screen(p).to_string(), "\n")
    print("Indicator intervals:", intervals(p))
    print("Principals' composites:", composites(p))
    if a.truth:
        print("\nAgainst the planted truth:\n", truth(p, Path(a.truth)).round(2).to_string())


if __name__ == "__main__":
    main()
