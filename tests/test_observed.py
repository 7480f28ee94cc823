"""Works under independent observers against the same school's previous year (the natural experiment)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msoko.objectivity.core import robust_tau2
from msoko.objectivity.observed import effect_sizes, observed_works


def _vpr(rng, shifts: dict, n=60, schools=12, years=(2022, 2023)):
    rows = []
    for y in years:
        for i in range(schools):
            sid = f"s{i:02d}"
            mu = 10 + 0.4 * (i % 4) + shifts.get((y, sid), 0.0)
            x = np.clip(np.round(rng.normal(mu, 3.0, n)), 0, 20)
            rows.append(pd.DataFrame({"year": y, "grade": 5, "subject": "Математика", "school_id": sid,
                                      "student_code": [f"{sid}-{k}" for k in range(n)], "journal_mark": 4,
                                      "primary_score": x, "max_score": 20.0, "absent": False, "mark": 3}))
    return pd.concat(rows, ignore_index=True)


def _obs(*sids, year=2023):
    return pd.DataFrame({"year": year, "school_id": list(sids), "grade": 5, "subject": "Математика",
                         "observer": "муниципальный"})


def test_effect_size_by_hand():
    v = pd.DataFrame({"year": 2023, "grade": 5, "subject": "Математика", "school_id": ["a"] * 3 + ["b"] * 3,
                      "student_code": list("123456"), "journal_mark": 4, "primary_score": [1.0, 2, 3, 5, 6, 7],
                      "max_score": 10.0, "absent": False, "mark": 3})
    d = effect_sizes(v).set_index("school_id")
    allx = np.array([1, 2, 3, 5, 6, 7.0])
    assert d.loc["a", "d"] == pytest.approx((2 - allx.mean()) / allx.std(ddof=1))
    assert d.loc["b", "n"] == 3


def test_inflated_previous_year_shows_under_observers():
    rng = np.random.default_rng(8)
    # s03's results of 2022 were inflated by 3 points (1 SD); in 2023 it writes under observers, clean
    v = _vpr(rng, {(2022, "s03"): 3.0})
    out = observed_works(_obs("s03", "s05"), v).set_index("school_id")
    a = out.loc["s03"]
    assert a["verdict"] == "ниже обычного для школы" and a["ci_high"] < 0 and a["change"] < -0.6
    b = out.loc["s05"]
    assert b["verdict"] in ("не ниже", "не определено") and b["ci_low"] < 0 < b["ci_high"]
    # the interval: change ± 1.96·√(1/n + 1/n_prev + τ²), τ² from the other schools' year-to-year changes
    d = effect_sizes(v)
    w = d.pivot_table(index="school_id", columns="year", values="d")
    others = w.drop(index=["s03", "s05"])
    t2 = robust_tau2((others[2023] - others[2022]).to_numpy(), np.full(len(others), np.sqrt(2 / 60)))
    half = 1.959963984540054 * np.sqrt(2 / 60 + t2)
    assert a["change"] == pytest.approx(w.loc["s03", 2023] - w.loc["s03", 2022])
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((a["change"] - half, a["change"] + half))
    assert "нечестн" not in a["text"] and "повод сопоставить процедуры" in a["text"]


def test_no_previous_year_or_another_season_is_no_comparison():
    rng = np.random.default_rng(2)
    v = _vpr(rng, {}, years=(2023,))
    out = observed_works(_obs("s01"), v)
    assert out["verdict"].tolist() == ["нет сравнения"]
    v2 = _vpr(rng, {})
    autumn = observed_works(_obs("s01"), v2, {"vpr_seasons": {"2022": "осень"}})
    assert autumn["verdict"].tolist() == ["нет сравнения"]


def test_demo_observers_follow_the_planted_truth(demo_raw, demo_processed):
    o = pd.read_parquet(demo_processed / "objectivity_observed.parquet")
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv", dtype={"school_id": str})
    prev = truth.assign(year=truth["year"] + 1)[["year", "school_id", "grade", "subject", "kind"]]
    m = o.merge(prev, on=["year", "school_id", "grade", "subject"], how="left")
    planted = m[m["kind"].notna() & (m["verdict"] != "нет сравнения")]
    clean = m[m["kind"].isna() & (m["verdict"] != "нет сравнения")]
    assert len(planted) and len(clean)
    assert planted["change"].mean() < clean["change"].mean()
    assert (clean["verdict"] == "ниже обычного для школы").sum() == 0
