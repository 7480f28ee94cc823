"""Intervals of bounded quantities stay inside their scale (msoko.stats.bounded_mean_ci and the
indicators built on it): hand-worked values, statsmodels' Wilson interval as the 0/1 case, a
property check over many random groups, and the indicator rows of a small fixed ВПР frame."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from msoko import stats
from msoko.config import load_config
from msoko.indicators import MEAN_BOUNDS, compute_indicators, load_catalogue, mean_bounds

Z = 1.959963984540054


def ci(x, lo=0.0, hi=100.0):
    x = np.asarray(x, dtype=float)
    m, a, b = stats.bounded_mean_ci(x.sum(), (x * x).sum(), len(x), lo, hi)
    return float(m), float(a), float(b)


def test_all_zero_is_wilson_zero_of_n_by_hand():
    # 5 pupils, all 0 %: Wilson's 0/5 — upper end z² / (n + z²) = 3.8415 / 8.8415 = 43.45 %
    m, lo, hi = ci([0.0] * 5)
    assert (m, lo) == (0.0, 0.0)
    assert hi == pytest.approx(100 * Z * Z / (5 + Z * Z))
    assert hi == pytest.approx(43.448, abs=1e-3)
    # all at the maximum: the mirror image
    m, lo, hi = ci([100.0] * 5)
    assert (m, hi) == (100.0, 100.0)
    assert lo == pytest.approx(100 - 43.448, abs=1e-3)


def test_one_point_task_equals_statsmodels_wilson():
    for k, n in ((0, 7), (1, 10), (3, 12), (9, 9), (17, 40)):
        x = [100.0] * k + [0.0] * (n - k)
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert ci(x)[1:] == pytest.approx((lo * 100, hi * 100))


def test_inner_scores_by_hand():
    # primary scores 0..4 of 4 pupils: 2, 2, 3, 4 → p = 11/16, v₀ = var(0.5, 0.5, 0.75, 1) (ddof 0)
    x = np.array([2.0, 2.0, 3.0, 4.0])
    p = 11 / 16
    v0 = np.mean((x / 4) ** 2) - p * p
    assert v0 == pytest.approx(0.04296875)
    v = (4 * v0 + p * (1 - p)) / 5
    m = 4 * p * (1 - p) / v                      # effective n = (55/64) / (99/1280) = 100/9
    assert m == pytest.approx(100 / 9)
    centre = (p + Z * Z / (2 * m)) / (1 + Z * Z / m)
    half = Z / (1 + Z * Z / m) * math.sqrt(p * (1 - p) / m + Z * Z / (4 * m * m))
    got = ci(x, 0.0, 4.0)
    assert got[0] == pytest.approx(2.75)
    assert got[1:] == pytest.approx(((centre - half) * 4, (centre + half) * 4))
    # the same by statsmodels' Wilson with a fractional count
    lo, hi = proportion_confint(p * m, m, method="wilson")
    assert got[1:] == pytest.approx((lo * 4, hi * 4))


def test_constant_inner_score_is_not_degenerate():
    # 10 pupils all at 50 %: the pseudo-pupil gives n_eff = 10·11 = 110 → 50 ± 9.2
    m, lo, hi = ci([50.0] * 10)
    assert lo < 50 < hi and hi - lo > 10
    low, high = proportion_confint(55, 110, method="wilson")
    assert (lo, hi) == pytest.approx((low * 100, high * 100))


def test_never_wider_than_wilson_and_bounds_array():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(2, 60))
        top = float(rng.integers(1, 6))
        x = rng.integers(0, int(top) + 1, n).astype(float)
        _, lo, hi = ci(x, 0.0, top)
        k = x.sum() / top
        wl, wh = proportion_confint(k, n, method="wilson")
        assert hi - lo <= (wh - wl) * top + 1e-9
    # the upper end per group (mean maximum), vectorised
    m, lo, hi = stats.bounded_mean_ci([0.0, 60.0], [0.0, 1800.0], [3, 3], 0.0, np.array([10.0, 20.0]))
    assert hi[0] == pytest.approx(10 * Z * Z / (3 + Z * Z)) and hi[1] == 20.0 and lo[0] == 0.0


def test_property_no_interval_leaves_the_scale():
    """20 000 random groups of bounded scores — discrete, continuous, piled at an end, constant —
    on scales 0–1 … 2–5: every interval within the scale, containing the mean, never zero width."""
    rng = np.random.default_rng(20)
    s, ss, n, lo_b, hi_b = [], [], [], [], []
    for i in range(20000):
        lo, hi = [(0.0, 100.0), (0.0, 1.0), (0.0, 3.0), (2.0, 5.0), (0.0, 20.0)][i % 5]
        k = int(rng.integers(2, 80))
        kind = i % 4
        if kind == 0:
            x = rng.integers(0, int(hi - lo) + 1, k) + lo
        elif kind == 1:
            x = lo + (hi - lo) * rng.beta(rng.uniform(0.1, 5), rng.uniform(0.1, 5), k)
        elif kind == 2:
            x = np.where(rng.random(k) < rng.uniform(0.9, 1.0), rng.choice([lo, hi]), lo + (hi - lo) * rng.random(k))
        else:
            x = np.full(k, rng.choice([lo, hi, (lo + hi) / 2]))
        s.append(x.sum()), ss.append((x * x).sum()), n.append(k), lo_b.append(lo), hi_b.append(hi)
    lo_b, hi_b = np.array(lo_b), np.array(hi_b)
    m, a, b = stats.bounded_mean_ci(np.array(s), np.array(ss), np.array(n), lo_b, hi_b)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    assert (a >= lo_b).all() and (b <= hi_b).all()
    assert (a <= m + 1e-9).all() and (m <= b + 1e-9).all()
    assert (b - a > 0).all()


def test_one_value_has_no_interval():
    m, lo, hi = ci([40.0])
    assert m == 40.0 and np.isnan(lo) and np.isnan(hi)


def test_every_mean_indicator_has_a_scale():
    cat = load_catalogue()
    means = cat[cat["kind"].isin(["mean", "score"])]
    assert len(means) >= 15
    missing = [c for c, u in zip(means["code"], means["unit"]) if mean_bounds(c, u) is None]
    assert missing == []
    assert mean_bounds("mkdo_total_score", "балл (0–3)") == (0.0, 3.0)
    assert set(MEAN_BOUNDS) <= set(cat["code"])


def _works(school, marks, scores, max_score, task_scores):
    n = len(marks)
    codes = [f"{school}{i}" for i in range(n)]
    vpr = pd.DataFrame({"year": 2021, "grade": 5, "subject": "Математика", "school_id": school,
                        "student_code": codes, "journal_mark": pd.array([None] * n, dtype="Int8"), "sex": "м",
                        "class": "а", "variant": "1", "absent": False, "primary_score": scores,
                        "max_score": max_score, "mark": pd.array(marks, dtype="Int8")})
    tasks = pd.DataFrame({"year": 2021, "grade": 5, "subject": "Математика", "school_id": school,
                          "student_code": codes * len(task_scores),
                          "task": [str(j + 1) for j in range(len(task_scores)) for _ in range(n)],
                          "score": [v for col in task_scores for v in col]})
    return vpr, tasks


def test_indicator_rows_stay_in_scale():
    """Task 1 (max 1) none solved, task 2 (max 2) all solved by 6 pupils with 2..6 of 10 primary
    points: task completion 0 % and 100 % with a Wilson 0/6 (6/6) interval, not «0,0–0,0»; the
    mean score inside 0…10 (the t interval was −0,26…0,60); nothing outside the scale in any row."""
    # task 3 (max 7) makes the specification add up to the work's 10 points and each total to its tasks
    # (a specification that does not is set aside by msoko.spec_quality, with no task verdict)
    v1, t1 = _works("A", [2, 2, 3, 3, 3, 4], [2.0, 2, 3, 3, 4, 6], 10.0,
                    [[0.0] * 6, [2.0] * 6, [0.0, 0, 1, 1, 2, 4]])
    v2, t2 = _works("B", [2, 2, 2, 2, 2, 2], [0.0, 0, 0, 0, 0, 1], 10.0,
                    [[0.0] * 5 + [1.0], [0.0] * 6, [0.0] * 6])
    schools = pd.DataFrame({"school_id": ["A", "B"], "name": ["А", "Б"], "municipality": "М",
                            "org_type": "СОШ", "settlement_type": "село", "settlement": "x",
                            "students_total": pd.array([None, None], dtype="Int32"), "is_preschool": False})
    specs = pd.DataFrame({"grade": 5, "subject": "Математика", "task": ["1", "2", "3"], "skill": "s",
                          "level": ["Б", "П", "В"], "max_score": [1.0, 2.0, 7.0], "kes": "", "kt": ""})
    res = compute_indicators({"vpr": pd.concat([v1, v2], ignore_index=True),
                              "vpr_tasks": pd.concat([t1, t2], ignore_index=True), "task_specs": specs,
                              "schools": schools},
                             load_config())
    ind = res.indicators
    t = ind[(ind["indicator"] == "vpr_task_completion") & (ind["school_id"] == "A")].set_index("item")
    up = 100 * Z * Z / (6 + Z * Z)
    assert (t.loc["1", "value"], t.loc["1", "ci_low"]) == (0.0, 0.0)
    assert t.loc["1", "ci_high"] == pytest.approx(up)
    assert (t.loc["2", "value"], t.loc["2", "ci_high"]) == (100.0, 100.0)
    assert t.loc["2", "ci_low"] == pytest.approx(100 - up)
    ms = ind[(ind["indicator"] == "vpr_mean_score") & (ind["school_id"] == "B") & ind["grade"].notna()].iloc[0]
    assert ms["value"] == pytest.approx(1 / 6) and 0 < ms["ci_low"] < 1 / 6 < ms["ci_high"] < 10
    assert stats.mean_ci(1.0, 1.0, 6)[1] < 0       # where the t interval went below 0 points
    cat = load_catalogue().set_index("code")
    pct = ind["indicator"].map(cat["unit"]).eq("%")
    have = ind["ci_low"].notna()
    assert have.sum() > 20
    assert (ind.loc[have, "ci_low"] >= 0).all()
    assert (ind.loc[have & pct, "ci_high"] <= 100).all()
    score = ind["indicator"].eq("vpr_mean_score") & have
    assert (ind.loc[score, "ci_high"] <= 10).all()
    assert (ind.loc[have, "ci_high"] > ind.loc[have, "ci_low"]).all()
