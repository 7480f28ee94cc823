"""Journal marks against ВПР marks: the beta-binomial null of marks_* and the split of findings.

ВПР above the journal (marks_higher, marks_far) is evidence of inflated ВПР and feeds the
combined picture; the journal far above the ВПР (marks_far_below) is evidence about current
assessment and does not.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity import evidence as ev
from msoko.objectivity.combined import NOT_COMBINED, combined_rows
from msoko.objectivity.core import CELL_KEYS, settings
from msoko.stats import betabinom_fit, betabinom_rho_mom, betabinom_tails


def _simulate_counts(rng, works=10, schools=250, rho=0.05):
    """Counts from the model's own null: per work a share p, per school BetaBinom(n, p, ρ)."""
    out = []
    for w in range(works):
        p = 0.08 + 0.32 * w / max(works - 1, 1)
        n = rng.integers(8, 61, size=schools)
        ab = 1 / rho - 1
        k = st.betabinom.rvs(n, p * ab, (1 - p) * ab, random_state=rng)
        out.append(pd.DataFrame({"work": w, "n": n, "k": k}))
    return pd.concat(out, ignore_index=True)


def _pvalues(d: pd.DataFrame, rng):
    """Fit (p, ρ) per work; exact P(X ≥ k) and the randomised PIT P(X > k) + U·P(X = k)."""
    ge = np.empty(len(d))
    eq = np.empty(len(d))
    for _, idx in d.groupby("work").indices.items():
        p, rho = betabinom_fit(d["k"].to_numpy()[idx], d["n"].to_numpy()[idx])
        ab = 1 / rho - 1
        g, e, _, _ = betabinom_tails(d["k"].to_numpy()[idx], d["n"].to_numpy()[idx], p * ab, (1 - p) * ab)
        ge[idx], eq[idx] = g, e
    return ge, ge - eq + rng.random(len(d)) * eq


def test_null_pvalues_uniform():
    rng = np.random.default_rng(20261203)
    d = _simulate_counts(rng)
    assert len(d) >= 2000
    ge, pit = _pvalues(d, rng)
    # the randomised PIT under the fitted model is uniform: the model and its fit are calibrated
    assert st.kstest(pit, "uniform").pvalue > 0.01
    # the reported p-value P(X ≥ k) is valid (super-uniform) at the levels that matter
    for a in (0.001, 0.01, 0.05, 0.2):
        assert (ge <= a).mean() <= a * 1.3 + 3 / len(d)


def test_binomial_null_would_overflag():
    """Ignoring the overdispersion (ρ = 0, the old collapse) gives far too many small p-values."""
    rng = np.random.default_rng(7)
    d = _simulate_counts(rng, rho=0.05)
    p = d.groupby("work")["k"].transform("sum") / d.groupby("work")["n"].transform("sum")
    binom = st.binom.sf(d["k"] - 1, d["n"], p)
    ge, _ = _pvalues(d, rng)
    assert (binom < 0.01).mean() > 3 * 0.01
    assert (ge < 0.01).mean() <= 0.013


@pytest.mark.parametrize("rho", [0.02, 0.06, 0.15])
def test_estimator_recovers_rho(rho):
    rng = np.random.default_rng(int(rho * 1000))
    n = rng.integers(10, 60, size=600)
    p = 0.25
    ab = 1 / rho - 1
    k = st.betabinom.rvs(n, p * ab, (1 - p) * ab, random_state=rng)
    p_hat, rho_hat = betabinom_fit(k, n)
    assert p_hat == pytest.approx(p, abs=0.02)
    assert rho_hat == pytest.approx(rho, rel=0.3, abs=0.01)
    assert betabinom_rho_mom(k, n, p) == pytest.approx(rho, rel=0.4, abs=0.015)
    # deterministic
    assert betabinom_fit(k, n) == (p_hat, rho_hat)


def test_estimator_binomial_counts_give_small_rho():
    rng = np.random.default_rng(3)
    n = rng.integers(10, 60, size=600)
    _, rho_hat = betabinom_fit(rng.binomial(n, 0.3), n)
    assert rho_hat < 0.01


def test_estimator_not_widened_by_a_few_extreme_schools():
    rng = np.random.default_rng(11)
    n = rng.integers(15, 40, size=300)
    rho = 0.03
    ab = 1 / rho - 1
    k = st.betabinom.rvs(n, 0.2 * ab, 0.8 * ab, random_state=rng)
    k[:5] = n[:5]                            # five schools where everyone differs
    _, rho_hat = betabinom_fit(k, n)
    assert rho_hat < 0.06


def test_trimmed_fit_not_masked_by_one_school_with_a_rare_event():
    """A rare finding (1 %) and one school with 70 % of it: the untrimmed ML fit makes ρ huge,
    which would hide that very school; the trimmed fit does not."""
    rng = np.random.default_rng(21)
    n = rng.integers(15, 100, size=57)
    k = rng.binomial(n, 0.01)
    n[0], k[0] = 15, 11
    _, rho_raw = betabinom_fit(k, n, trim=None)
    p, rho = betabinom_fit(k, n)
    assert rho_raw > 0.03
    assert rho < 0.01 and p < 0.02
    ab = 1 / rho - 1
    ge, _, _, _ = betabinom_tails(k[:1], n[:1], p * ab, (1 - p) * ab)
    assert ge[0] < 1e-6


def test_tails_match_scipy():
    rng = np.random.default_rng(5)
    n = rng.integers(1, 80, size=300)
    k = rng.integers(0, 81, size=300) % (n + 1)
    a, b = rng.uniform(0.3, 20, 300), rng.uniform(0.3, 20, 300)
    ge, eq, le, crit = betabinom_tails(k, n, a, b, 0.001)
    np.testing.assert_allclose(ge, st.betabinom.sf(k - 1, n, a, b), atol=1e-12)
    np.testing.assert_allclose(eq, st.betabinom.pmf(k, n, a, b), atol=1e-12)
    np.testing.assert_allclose(le, st.betabinom.cdf(k, n, a, b), atol=1e-12)
    np.testing.assert_array_equal(crit, st.betabinom.isf(0.001, n, a, b) + 1)



def test_tails_of_a_unit_do_not_depend_on_the_others():
    # units of 1 to 300 pupils are cut into chunks of similar n (stats._n_chunks): each unit's tails and
    # critical count are exactly those it has alone (where its pmf matrix is as wide as its own n)
    rng = np.random.default_rng(11)
    n = rng.integers(1, 301, size=500).astype(float)
    k = np.floor(rng.random(500) * (n + 1))
    a, b = rng.uniform(0.05, 3, 500), rng.uniform(5, 300, 500)
    n[7] = np.nan
    together = betabinom_tails(k, n, a, b, 0.001)
    for i in list(range(0, 500, 37)) + [7, int(np.nanargmax(n)), int(np.nanargmin(n))]:
        alone = betabinom_tails(k[i:i + 1], n[i:i + 1], a[i:i + 1], b[i:i + 1], 0.001)
        for x, y in zip(together, alone):
            assert x[i] == y[0] or (np.isnan(x[i]) and np.isnan(y[0])), i


# ---------------------------------------------------------------- end to end through marks_rows

def _students(seed=1, schools=80, plant_vpr=None, plant_journal=None):
    """Students of one work: school shares of ВПР −1/0/+1 against the journal from a Dirichlet
    (so every count is beta-binomial), rare ±2; planted schools on top."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(schools):
        sid = f"S{s:02d}"
        n = int(rng.integers(15, 45))
        pr = rng.dirichlet(np.array([0.25, 0.55, 0.20]) * 40)      # lower / same / higher
        d = rng.choice([-1, 0, 1], size=n, p=pr)
        far = rng.random(n)
        d = np.where(far < 0.02, -2, np.where(far > 0.99, 2, d))
        if sid == plant_vpr:           # ВПР inflated: most works a mark or two above the journal
            d = np.where(rng.random(n) < 0.7, rng.choice([1, 2], size=n, p=[0.6, 0.4]), d)
        if sid == plant_journal:       # journal inflated: «5» in the journal, «3» in the ВПР
            d = np.where(rng.random(n) < 0.6, -2, d)
        journal = np.where(d <= -2, 5, np.where(d >= 2, 3, rng.choice([3, 4], size=n)))
        rows.append(pd.DataFrame({"year": 2023, "grade": 5, "subject": "Математика", "school_id": sid,
                                  "journal_mark": journal, "mark": journal + d}))
    return pd.concat(rows, ignore_index=True)


def _cells(students):
    return students.groupby(CELL_KEYS).size().rename("n").reset_index()


def _flag(out, sign, school):
    r = out[(out.sign == sign) & (out.school_id == school)]
    return bool(r["flagged"].iloc[0])


def test_marks_rows_calibrated_on_null_schools():
    cfg = settings({})
    out = pd.concat([ev.marks_rows(_students(seed=s), None, cfg) for s in range(6)], ignore_index=True)
    assert set(out.sign) == {"marks_lower", "marks_higher", "marks_far", "marks_far_below"}
    for sign in ("marks_lower", "marks_higher"):
        pv = out.loc[out.sign == sign, "p_value"].dropna()
        assert len(pv) >= 400
        assert (pv < 0.01).mean() <= 0.02
        assert out.loc[out.sign == sign, "flagged"].astype(bool).mean() <= 0.01


def test_planted_vpr_inflation_flagged_and_combined():
    cfg = settings({})
    s = _students(seed=2, plant_vpr="S05")
    out = ev.marks_rows(s, None, cfg)
    assert _flag(out, "marks_higher", "S05")
    assert _flag(out, "marks_far", "S05")
    assert not _flag(out, "marks_far_below", "S05")
    comb = combined_rows(out, _cells(s), cfg)
    assert bool(comb.loc[comb.school_id == "S05", "flagged"].iloc[0])
    # the combined picture has its own level (combined_alpha = 0.02): a few null schools may pass it
    assert comb.loc[comb.school_id != "S05", "flagged"].astype(bool).mean() <= 0.05


def test_planted_journal_inflation_is_current_marks_finding_not_combined():
    cfg = settings({})
    s = _students(seed=3, plant_journal="S07")
    out = ev.marks_rows(s, None, cfg)
    assert _flag(out, "marks_far_below", "S07")
    assert not _flag(out, "marks_higher", "S07") and not _flag(out, "marks_far", "S07")
    row = out[(out.sign == "marks_far_below") & (out.school_id == "S07")].iloc[0]
    assert "текущего оценивания" in row["detail"]
    assert row["value"] >= row["threshold"]
    assert "marks_far_below" in NOT_COMBINED
    comb = combined_rows(out, _cells(s), cfg)
    assert not bool(comb.loc[comb.school_id == "S07", "flagged"].fillna(False).iloc[0])


def test_far_below_not_combined_even_if_configured():
    cfg = settings({"objectivity": {"combined_families": {"journal": ["marks_far_below"]}}})
    s = _students(seed=3, plant_journal="S07")
    out = ev.marks_rows(s, None, cfg)
    comb = combined_rows(out, _cells(s), cfg)
    assert comb["flagged"].isna().all() or not comb["flagged"].fillna(False).astype(bool).any()


def test_fit_is_the_scipy_betabinom_maximum():
    """The fitted (p, ρ) maximises scipy.stats.betabinom's own log-likelihood (no better nearby)."""
    rng = np.random.default_rng(9)
    n = rng.integers(10, 60, size=300)
    k = st.betabinom.rvs(n, 0.3 * 19, 0.7 * 19, random_state=rng)

    def ll(p, rho):
        ab = 1 / rho - 1
        return st.betabinom.logpmf(k, n, p * ab, (1 - p) * ab).sum()

    p, rho = betabinom_fit(k, n, trim=None)
    best = ll(p, rho)
    for dp, dr in ((0.005, 0), (-0.005, 0), (0, rho * 0.1), (0, -rho * 0.1)):
        assert ll(p + dp, rho + dr) <= best + 1e-6


def test_rare_finding_flagged_at_a_relative_margin():
    # far-below gaps are rare (2 % here): a class of 40 with 6 of them (15 %, p ≪ 0.001) is 13 p.p.
    # above the reference — below the 15 p.p. margin, yet more than twice the reference and 5 p.p.
    # above it: flagged; the p-value (what the combined picture uses) does not depend on the margin
    cfg = settings({})
    s = _students(seed=4)
    sid = "S07"
    rows = s.index[s.school_id == sid]
    s = s.drop(rows)
    journal = np.array([5] * 6 + [4] * 34)
    mark = np.array([3] * 6 + [4] * 34)
    s = pd.concat([s, pd.DataFrame({"year": 2023, "grade": 5, "subject": "Математика", "school_id": sid,
                                    "journal_mark": journal, "mark": mark})], ignore_index=True)
    out = ev.marks_rows(s, None, cfg)
    r = out[(out.sign == "marks_far_below") & (out.school_id == sid)].iloc[0]
    assert r["p_value"] < 1e-3
    assert r["value"] == pytest.approx(15.0)
    assert _flag(out, "marks_far_below", sid)
    # the former absolute 15 p.p. rule (margin_rare = 15) leaves it unflagged, with the same p-value
    out15 = ev.marks_rows(s, None, {**cfg, "marks_min_gap_rare": 15.0})
    r15 = out15[(out15.sign == "marks_far_below") & (out15.school_id == sid)].iloc[0]
    assert not bool(r15["flagged"])
    assert r15["p_value"] == pytest.approx(r["p_value"])
    # the margin over the school's expected share is min(15, max(5, expected)) p.p.: here the expected
    # «понизили» share given this school's ВПР marks (mostly «4» with a «4» in the journal) is small
    lo = out[(out.sign == "marks_lower") & (out.school_id == sid)].iloc[0]
    ref = float(lo["detail"].split(" при ожидаемых ")[1].split(" %")[0].replace(",", "."))
    assert lo["threshold"] >= ref + min(15.0, max(5.0, ref)) - 0.1
    # a common finding keeps the 15 p.p. margin: schools whose expected «понизили» share is ≥ 15 %
    lows = out[(out.sign == "marks_lower") & out.p_value.notna()]
    refs = lows["detail"].str.extract(r"при ожидаемых ([0-9]+,?[0-9]*) %")[0].str.replace(",", ".").astype(float)
    common = refs >= 15.0
    assert common.sum() >= 10
    assert (lows.loc[common, "threshold"] >= refs[common] + 15.0 - 0.1).all()


# ---------------------------------------------------------------- the null given the pupils' marks

def _simulate_offset_counts(rng, works=8, schools=300, rho=0.04, phi=1.3):
    """Counts from the conditional null: expected shares e_i that differ between schools (the mix
    of marks of its pupils), X_i ~ BetaBinom(n_i, p_i·α, (1 − p_i)·α) with p_i = φ·e_i."""
    out = []
    for w in range(works):
        n = rng.integers(8, 61, size=schools)
        e = np.clip(rng.beta(2, 12, size=schools) * (0.5 + w / works), 0.005, 0.6)
        p = phi * e
        ab = 1 / rho - 1
        k = st.betabinom.rvs(n, p * ab, (1 - p) * ab, random_state=rng)
        out.append(pd.DataFrame({"work": w, "n": n, "e": e, "k": k}))
    return pd.concat(out, ignore_index=True)


def test_offset_null_pvalues_uniform_and_parameters_recovered():
    from msoko.stats import betabinom_fit_offset
    rng = np.random.default_rng(20261204)
    d = _simulate_offset_counts(rng)
    assert len(d) >= 2000
    pit = np.empty(len(d))
    ge = np.empty(len(d))
    for _, idx in d.groupby("work").indices.items():
        k, n, e = (d[c].to_numpy()[idx] for c in ("k", "n", "e"))
        phi, rho = betabinom_fit_offset(k, n, e)
        assert phi == pytest.approx(1.3, rel=0.1)
        assert rho == pytest.approx(0.04, rel=0.35)
        p = phi * e
        ab = 1 / rho - 1
        g, eq, _, _ = betabinom_tails(k, n, p * ab, (1 - p) * ab)
        ge[idx], pit[idx] = g, g - eq + rng.random(len(idx)) * eq
    assert st.kstest(pit, "uniform").pvalue > 0.01
    for a in (0.001, 0.01, 0.05):
        assert (ge <= a).mean() <= a * 1.3 + 3 / len(d)
    # deterministic; φ = observed / expected; ρ the likelihood's optimum given φ (scipy's logpmf)
    k, n, e = (d[c].to_numpy()[d.work.to_numpy() == 0] for c in ("k", "n", "e"))
    f1, r1 = betabinom_fit_offset(k, n, e, trim=None)
    assert (f1, r1) == betabinom_fit_offset(k, n, e, trim=None)
    assert f1 == pytest.approx(k.sum() / (n * e).sum())

    def ll(r):
        ab = 1 / r - 1
        return st.betabinom.logpmf(k, n, f1 * e * ab, (1 - f1 * e) * ab).sum()
    assert ll(r1) >= max(ll(r1 * 0.97), ll(r1 * 1.03)) - 1e-6


def test_offset_fit_when_only_the_extreme_school_has_the_event():
    """Every other school has none: the one school with 18 of 73 is not absorbed by a large ρ."""
    from msoko.stats import betabinom_fit_offset
    k = np.array([0] * 12 + [18])
    n = np.array([40, 35, 30, 28, 25, 30, 33, 45, 50, 38, 29, 31, 73])
    e = np.full(13, 0.02)
    phi, rho = betabinom_fit_offset(k, n, e)
    p = phi * e
    ab = 1 / rho - 1
    ge, _, _, _ = betabinom_tails(k[-1:], n[-1:], p[-1:] * ab, (1 - p[-1:]) * ab)
    assert ge[0] < 1e-10
    # half an event expected over the kept schools (the start trims a few of the zeros as well)
    assert phi * 0.02 * n[:12].sum() == pytest.approx(0.5, rel=0.2)


def _work_with_marks(seed=1, schools=120, weak=None, lenient=None):
    """Pupils of one work: a school level sets the mix of ВПР marks; the journal mark is
    ≥ 2 above the ВПР mark at the same rate everywhere *given the ВПР mark* (25 % of «2», 6 % of «3»).
    ``weak``: a school with 70 % of «2» (and so many far-below gaps, honestly); ``lenient``: a
    school of the usual mix whose journal is far above the ВПР for 75 % of «2» and 40 % of «3»."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(schools):
        sid = f"S{s:03d}"
        n = int(rng.integers(20, 50))
        lvl = rng.normal(0, 0.5)
        pr = np.array([0.12, 0.38, 0.35, 0.15]) * np.exp(lvl * np.array([-1, -0.3, 0.3, 1]))
        if sid == weak:
            pr, n = np.array([0.7, 0.25, 0.04, 0.01]), 60
        if sid == lenient:
            pr, n = np.array([0.12, 0.38, 0.35, 0.15]), 60
        mark = rng.choice([2, 3, 4, 5], size=n, p=pr / pr.sum())
        q = (np.where(mark == 2, 0.75, np.where(mark == 3, 0.4, 0.0)) if sid == lenient else
             np.where(mark == 2, 0.25, np.where(mark == 3, 0.06, 0.0)))
        far = rng.random(n) < q
        journal = np.where(far, np.minimum(5, mark + 2 + (rng.random(n) < 0.3)), np.clip(mark + rng.choice([-1, 0, 0, 1], size=n), 2, 5))
        journal = np.where(~far & (journal - mark >= 2), mark + 1, journal)
        if sid == weak:   # exactly the region's rates given the marks: 42 «2» (10 far), 15 «3» (1 far), 3 «4»
            mark = np.array([2] * 42 + [3] * 15 + [4] * 3)
            journal = np.array([4] * 10 + [3] * 32 + [5] + [3] * 14 + [4] * 3)
        rows.append(pd.DataFrame({"year": 2023, "grade": 6, "subject": "Математика", "school_id": sid,
                                  "journal_mark": journal, "mark": mark}))
    return pd.concat(rows, ignore_index=True)


def test_far_below_given_vpr_marks_does_not_flag_a_weak_school():
    """A weak school has many ВПР «2» and so many journal marks far above them, at the region's
    rate given the ВПР mark: not a finding. The common-mean model (the share of the work for every
    school) puts it at p < 0.01; the model given the pupils' marks at p > 0.3."""
    from msoko.stats import betabinom_fit
    cfg = settings({})
    s = _work_with_marks(seed=5, weak="S010", lenient="S020")
    out = ev.marks_rows(s, None, cfg)
    fb = out[out.sign == "marks_far_below"].set_index("school_id")
    assert fb.loc["S010", "p_value"] > 0.3
    assert not bool(fb.loc["S010", "flagged"])
    # the lenient school (3–7× the rate given its marks) is found
    assert fb.loc["S020", "p_value"] < 1e-3 and bool(fb.loc["S020", "flagged"])
    # the counterfactual: a common mean for every school
    d = s.assign(fb=(s.mark - s.journal_mark <= -2)).groupby("school_id")["fb"].agg(["sum", "size"])
    p, rho = betabinom_fit(d["sum"].to_numpy(), d["size"].to_numpy())
    ab = 1 / rho - 1
    ge, _, _, _ = betabinom_tails(d.loc[["S010"], "sum"], d.loc[["S010"], "size"], p * ab, (1 - p) * ab)
    assert ge[0] < 0.01
    # the expected share in the explanation is the school's own (given its marks), not the work's
    assert "при тех же отметках ВПР" in fb.loc["S010", "detail"]
    # null schools stay quiet
    assert fb.drop(index=["S010", "S020"])["flagged"].astype(bool).mean() <= 0.01


def test_one_or_two_pupils_are_never_a_flag():
    """A finding rare elsewhere (no other school has it): one or two pupils of a class give a tiny
    p-value but are not a share to act on — not flagged below marks_min_count (3); three are."""
    cfg = settings({})
    s = _work_with_marks(seed=8, schools=60)
    s = s[~((s.mark - s.journal_mark) <= -2)]          # no far-below gap anywhere ...
    out = {}
    for c in (1, 2, 3):                                  # ... except c pupils of one class of 25
        extra = pd.DataFrame({"year": 2023, "grade": 6, "subject": "Математика", "school_id": "SX",
                              "journal_mark": [5] * c + [3] * (25 - c), "mark": [3] * c + [3] * (25 - c)})
        r = ev.marks_rows(pd.concat([s, extra], ignore_index=True), None, cfg)
        out[c] = r[(r.sign == "marks_far_below") & (r.school_id == "SX")].iloc[0]
    assert out[1]["p_value"] < cfg["current_marks_alpha"] and out[2]["p_value"] < cfg["current_marks_alpha"]
    assert not bool(out[1]["flagged"]) and not bool(out[2]["flagged"])
    assert bool(out[3]["flagged"])
    assert out[2]["threshold"] >= 100 * 3 / 25 - 1e-9
