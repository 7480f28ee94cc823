"""The null model of the ``bunching`` sign (excess of works at the mark boundaries).

bunching_rows compares, per school, the works at a boundary b (window A = [b, b+above)) with the
works just below it (B = [b−below, b)) against a counterfactual: the region's smooth polynomial
fit of the log score histogram (windows excluded), exponentially tilted to the school's mean.
O = works in A, N = works in A ∪ B, p = P(X ≥ O) with X ~ BetaBinom(N, p*, ρ) — a binomial at
p* = E/N under the plain "smooth" reference, and with the region's typical excess (median) and
spread (robust τ²) added under the default "typical" reference.

Checked here: p-values are valid on data simulated from that null; a school whose pupils just
below the boundaries were pushed up to them is found; and under a regional pattern (every school
with the same modest excess) the "typical" reference spares ordinary schools where the plain
Dee-style "smooth" test would flag many of them — which is why "typical" is the default.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity import evidence as ev
from msoko.objectivity.core import TEST_KEYS, robust_tau2, settings

CFG = settings({})
SMOOTH = settings({"objectivity": {"bunching_reference": "smooth"}})
# No mark scale of msoko.marks covers this year, so mark_boundaries infers the boundaries from the
# simulated marks (checked in the first test): the boundaries are exactly the ones chosen here.
YEAR = 2030
# grade, subject, maximum score, boundaries (min3, min4, min5), smooth shape: centre, width, skew
WORKS = [
    (4, "Математика", 20, (6, 10, 15), 0.55, 0.20, 0.0),
    (5, "Математика", 31, (10, 16, 22), 0.45, 0.18, 0.5),
    (6, "Математика", 28, (9, 15, 21), 0.50, 0.22, -0.5),
    (4, "Русский язык", 38, (14, 24, 33), 0.60, 0.17, 0.0),
    (5, "Русский язык", 45, (18, 29, 39), 0.55, 0.20, 0.8),
    (6, "Русский язык", 51, (21, 33, 45), 0.50, 0.19, -0.3),
    (7, "Математика", 19, (7, 12, 16), 0.45, 0.24, 0.0),
    (8, "Математика", 25, (8, 14, 20), 0.40, 0.21, 0.4),
]
PLANT = 7          # index of the planted school (school_id "S007")


def _smooth(m, centre, width, skew):
    """A smooth score distribution on 0..m: log-density a cubic in x = score/m, no boundary effect."""
    x = np.arange(m + 1) / m
    lf = -0.5 * ((x - centre) / width) ** 2 + skew * (x - centre) ** 3
    f = np.exp(lf - lf.max())
    return f / f.sum()


def _simulate(rng, works=WORKS, schools=300, n_lo=15, n_hi=80, level_sd=2.0, push=0.0,
              plant_push=None, plant_n=None):
    """Students and tests of the sign's own null, optionally with pushes at the boundaries.

    Per work one smooth distribution f0; school s draws its pupils' scores from
    f0(x)·exp(θ_s·x) (the exponential tilt the sign uses), θ_s ~ N(0, level_sd²). Then, per
    boundary b, each pupil at b−2 or b−1 is moved up to b with probability ``push`` (every
    school: a regional pattern) or ``plant_push`` (the planted school only). Marks follow
    the boundaries: mark = 2 + number of boundaries ≤ score.
    """
    rows = []
    for grade, subject, m, bounds, centre, width, skew in works:
        f0 = _smooth(m, centre, width, skew)
        x = np.arange(m + 1) / m
        theta = rng.normal(0.0, level_sd, schools)
        p = f0[None, :] * np.exp(theta[:, None] * x[None, :])
        p /= p.sum(axis=1, keepdims=True)
        n = rng.integers(n_lo, n_hi + 1, schools)
        if plant_n is not None:
            n[PLANT] = plant_n
        school = np.repeat(np.arange(schools), n)
        cdf = np.cumsum(p, axis=1)[school]
        score = (rng.random(len(school))[:, None] > cdf).sum(axis=1).clip(0, m)   # inverse-CDF draw
        q = np.full(len(school), float(push))
        if plant_push is not None:
            q[school == PLANT] = plant_push
        for b in bounds:
            moved = (score >= b - 2) & (score < b) & (rng.random(len(score)) < q)
            score = np.where(moved, b, score)
        mark = 2 + (score[:, None] >= np.asarray(bounds)[None, :]).sum(axis=1)
        rows.append(pd.DataFrame({"year": YEAR, "grade": grade, "subject": subject,
                                  "school_id": [f"S{s:03d}" for s in school],
                                  "primary_score": score.astype(float), "max_score": float(m),
                                  "test_max": float(m), "mark": mark.astype(float)}))
    students = pd.concat(rows, ignore_index=True)
    tests = pd.DataFrame([{"year": YEAR, "grade": g, "subject": sj, "max_score": float(m)}
                          for g, sj, m, *_ in works])
    return students, tests


def _ordinary(out):
    return out[out["school_id"] != f"S{PLANT:03d}"]


def _planted(out):
    return out[out["school_id"] == f"S{PLANT:03d}"]


def _function_law(students, out, cfg, works=WORKS):
    """Per assessed row: O and N counted here from the scores, and the beta-binomial the sign used.

    O and N come straight from the simulated scores and the known boundaries (independently of
    the function); E is read back from ``value`` = 100·(O − E)/N; p* and ρ follow the documented
    rule (median excess and robust τ² of the work's schools under "typical", none under "smooth").
    """
    above, below = int(cfg["bunching_above"]), int(cfg["bunching_below"])
    parts = []
    for grade, subject, m, bounds, *_ in works:
        s = students[(students["grade"] == grade) & (students["subject"] == subject)]
        sc = s["primary_score"].to_numpy().round().astype(int)
        in_a = np.isin(sc, [b + j for b in bounds for j in range(above)])
        in_b = np.isin(sc, [b - j for b in bounds for j in range(1, below + 1)])
        cnt = (pd.DataFrame({"school_id": s["school_id"].to_numpy(), "O": in_a, "N": in_a | in_b})
               .groupby("school_id")[["O", "N"]].sum())
        rows = out[(out["grade"] == grade) & (out["subject"] == subject) & out["p_value"].notna()]
        d = rows.set_index("school_id")[["value", "p_value"]].join(cnt, how="left")
        O, N = d["O"].to_numpy(float), d["N"].to_numpy(float)
        pbar = np.clip((O - d["value"].to_numpy() * N / 100) / N, 1e-9, 1 - 1e-9)
        centre, tau2 = 0.0, 0.0
        if cfg["bunching_reference"] == "typical":
            dev, se = O / N - pbar, np.sqrt(pbar * (1 - pbar) / N)
            centre, tau2 = max(0.0, float(np.median(dev))), robust_tau2(dev, se)
        pstar = np.clip(pbar + centre, 1e-6, 1 - 1e-6)
        rho = np.clip(tau2 / (pstar * (1 - pstar)), 1e-6, 0.5)
        ab = 1 / rho - 1
        parts.append(pd.DataFrame({"p_value": d["p_value"].to_numpy(), "O": O, "N": N,
                                   "a": pstar * ab, "b": (1 - pstar) * ab}))
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------- 1. validity under the sign's own null

@pytest.mark.parametrize("reference", ["typical", "smooth"])
def test_null_pvalues_valid(reference):
    """Data from the sign's own null (8 works × 300 schools, smooth tilted scores, no boundary
    excess): the randomised PIT is uniform (KS) and the reported p-value is super-uniform.

    Why the randomised PIT and not the raw p: p = P(X ≥ O) is an exact discrete upper tail, so it
    is conservative and piles up at its few attainable values — a KS on raw p would fail for
    discreteness, which is not a defect. The PIT P(X > O) + U·P(X = O), U ~ U(0, 1), is exactly
    uniform when the law of X is right. It is reachable: O and N are counted here from the scores,
    E is read back from ``value``, p* and ρ follow the documented rule, and scipy.stats.betabinom
    then reproduces every row's p-value — so the PIT is taken under exactly the law the sign used.
    The KS thus checks the whole null (smooth fit, tilt, typical centre and τ²), and the levels
    check that the p-values actually reported are valid where they matter.
    """
    cfg = settings({"objectivity": {"bunching_reference": reference}})
    rng = np.random.default_rng(20261204)
    students, tests = _simulate(rng)
    bnd = ev.mark_boundaries(students, tests).set_index(["grade", "subject"])
    for grade, subject, _, bounds, *_ in WORKS:
        assert tuple(bnd.loc[(grade, subject), ["min3", "min4", "min5"]]) == bounds
    out = ev.bunching_rows(students, tests, cfg)
    assert set(out["sign"]) == {"bunching"}
    law = _function_law(students, out, cfg)
    assert len(law) >= 2000
    ge = st.betabinom.sf(law["O"] - 1, law["N"], law["a"], law["b"])
    eq = st.betabinom.pmf(law["O"], law["N"], law["a"], law["b"])
    np.testing.assert_allclose(law["p_value"], ge, rtol=1e-6, atol=1e-7)
    pit = ge - eq + rng.random(len(law)) * eq
    assert st.kstest(pit, "uniform").pvalue > 0.01
    p = law["p_value"].to_numpy()
    for a in (0.001, 0.01, 0.05, 0.2):
        assert (p <= a).mean() <= a * 1.3 + 3 / len(p)
    assert out["flagged"].astype(float).mean() <= 0.005


# ---------------------------------------------------------------- 2. power on a planted school

def test_planted_push_to_boundary_flagged():
    """One school (80 pupils) where 70 % of the pupils 1–2 points below each boundary were pushed
    up to it is flagged (p < alpha); the ordinary schools of the work mostly are not."""
    rng = np.random.default_rng(101)
    students, tests = _simulate(rng, works=WORKS[:1], schools=150, plant_push=0.7, plant_n=80)
    out = ev.bunching_rows(students, tests, CFG)
    r = _planted(out).iloc[0]
    assert r["p_value"] < CFG["alpha"] and bool(r["flagged"])
    assert r["value"] >= r["threshold"] > 0
    assert _ordinary(out)["flagged"].astype(float).mean() <= 0.01


# ---------------------------------------------------------------- 3. the regional pattern

def test_regional_excess_spares_ordinary_schools_under_typical_reference():
    """Every school moves 20 % of its pupils 1–2 points below a boundary up to it (a regional
    pattern, ~13 p.p. excess of the window works). The plain "smooth" test reads that as every
    school's own excess and flags many ordinary schools; the default "typical" reference
    measures a school against the region's typical excess and flags ≤ 1 % of them — yet a
    school far beyond the regional pattern (90 % pushed) is still found in every work.
    """
    rng = np.random.default_rng(303)
    students, tests = _simulate(rng, works=WORKS[:4], schools=250, n_lo=30, n_hi=120, push=0.2,
                                plant_push=0.9, plant_n=100)
    typical = ev.bunching_rows(students, tests, CFG)
    smooth = ev.bunching_rows(students, tests, SMOOTH)
    rate_typical = _ordinary(typical)["flagged"].astype(float).mean()
    rate_smooth = _ordinary(smooth)["flagged"].astype(float).mean()
    assert rate_typical <= 0.01
    assert rate_smooth >= 0.03 and rate_smooth >= 5 * rate_typical
    # the regional excess is reported, not hidden
    assessed = typical["p_value"].notna()
    assert assessed.mean() > 0.99
    assert typical.loc[assessed, "detail"].str.contains("типичный избыток по школам эталона").all()
    assert not smooth["detail"].str.contains("типичный избыток").any()
    assert _planted(typical)["flagged"].astype(bool).all()
    assert len(_planted(typical)) == len(WORKS[:4])
