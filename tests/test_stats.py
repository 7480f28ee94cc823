"""Interval estimates against hand-worked values and independent references."""
import math

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from msoko import stats


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 4), (37, 120), (500, 1000), (1, 1)])
def test_wilson_matches_statsmodels(k, n):
    low, high = stats.wilson_ci(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert float(low) == pytest.approx(ref_low, abs=1e-12)
    assert float(high) == pytest.approx(ref_high, abs=1e-12)


def test_wilson_hand_worked():
    # k=5, n=20: p=0.25, z²/n=0.19207, centre=(0.25+0.096036)/1.19207=0.290283,
    # half = 1.96*sqrt(0.25*0.75/20 + 3.8415/1600)/1.19207 = 0.171273
    low, high = stats.wilson_ci(5, 20)
    assert float(low) == pytest.approx(0.11186, abs=1e-5)
    assert float(high) == pytest.approx(0.46870, abs=1e-5)


def test_wilson_vectorised_and_empty():
    low, high = stats.wilson_ci(np.array([1, 0]), np.array([2, 0]))
    assert low[0] == pytest.approx(proportion_confint(1, 2, method="wilson")[0])
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_mean_ci_from_sums_matches_scipy_t():
    x = np.array([12.0, 15, 9, 20, 17, 11, 14])
    mean, low, high = stats.mean_ci(x.sum(), (x ** 2).sum(), len(x))
    ref = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert float(mean) == pytest.approx(14.0)
    assert float(low) == pytest.approx(ref[0], abs=1e-10)
    assert float(high) == pytest.approx(ref[1], abs=1e-10)


def test_mean_ci_hand_worked():
    # x = 2, 4, 6: mean 4, sd 2, se 2/sqrt(3)=1.154701, t(0.975, 2)=4.302653 -> half 4.968275
    mean, low, high = stats.mean_ci(12.0, 56.0, 3)
    assert float(low) == pytest.approx(4 - 4.968275, abs=1e-6)
    assert float(high) == pytest.approx(4 + 4.968275, abs=1e-6)
    m1, l1, h1 = stats.mean_ci(5.0, 25.0, 1)
    assert float(m1) == 5.0 and math.isnan(float(l1)) and math.isnan(float(h1))


def test_newcombe_matches_statsmodels():
    for k1, n1, k2, n2 in [(12, 40, 5, 38), (0, 10, 3, 12), (30, 30, 20, 25), (250, 900, 270, 880)]:
        d, low, high = stats.newcombe_diff_ci(k1, n1, k2, n2)
        ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert float(d) == pytest.approx(k1 / n1 - k2 / n2)
        assert float(low) == pytest.approx(ref[0], abs=1e-10)
        assert float(high) == pytest.approx(ref[1], abs=1e-10)


def test_welch_matches_scipy():
    a = np.array([10.0, 12, 14, 9, 11, 13])
    b = np.array([15.0, 17, 16, 20, 18])
    d, low, high = stats.welch_diff_ci(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))
    res = st.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert float(d) == pytest.approx(a.mean() - b.mean())
    assert float(low) == pytest.approx(ci.low, abs=1e-8)
    assert float(high) == pytest.approx(ci.high, abs=1e-8)


def test_poisson_exact():
    low, high = stats.poisson_ci(np.array([0, 4]))
    assert low[0] == 0.0
    assert high[0] == pytest.approx(3.688879, abs=1e-5)   # -ln(0.025)
    assert low[1] == pytest.approx(1.089865, abs=1e-5)
    assert high[1] == pytest.approx(10.241589, abs=1e-5)


def test_informativeness():
    sup, lim = stats.informativeness(np.array([0, 4, 5, 19, 20, np.nan]))
    assert sup.tolist() == [True, True, False, False, False, True]
    assert lim.tolist() == [True, True, True, True, False, True]


def _bb_nll(k, n, p, rho):
    ab = 1.0 / rho - 1.0
    return -float(st.betabinom.logpmf(k, n, p * ab, (1 - p) * ab).sum())


@pytest.mark.parametrize("seed", range(6))
def test_betabinom_newton_matches_nelder_mead_and_scipy_likelihood(seed):
    # the Newton fit reaches the maximum of scipy.stats.betabinom's likelihood (never below the former
    # Nelder-Mead fit) and the p-values the marks signs use agree with those of the former fit
    rng = np.random.default_rng(seed)
    m = int(rng.integers(20, 150))
    n = rng.integers(5, 60, size=m)
    p, rho = [(0.1, 0.02), (0.3, 0.05), (0.05, 1e-4), (0.4, 0.15), (0.2, 0.0), (0.02, 0.01)][seed]
    if rho > 0:
        ab = 1 / rho - 1
        k = st.betabinom.rvs(n, p * ab, (1 - p) * ab, random_state=rng)
    else:
        k = rng.binomial(n, p)
    new = stats.betabinom_fit(k, n, trim=None)
    old = stats.betabinom_fit(k, n, trim=None, method="Nelder-Mead")
    assert _bb_nll(k, n, *new) <= _bb_nll(k, n, *old) + 1e-6   # log-likelihood units
    # the gradient of scipy's log-likelihood vanishes at the Newton optimum (unless ρ sits on its bound)
    from scipy.special import logit
    h = 1e-5
    f = lambda t0, r: _bb_nll(k, n, 1 / (1 + np.exp(-t0)), r)  # noqa: E731
    t0 = float(logit(new[0]))
    if new[1] > 1e-4:
        assert abs((f(t0 + h, new[1]) - f(t0 - h, new[1])) / (2 * h)) < 1e-3
        hr = new[1] * 1e-4
        assert abs((f(t0, new[1] + hr) - f(t0, new[1] - hr)) / (2 * hr)) * new[1] < 1e-3
    else:
        # near the binomial (where scipy's logpmf of huge a, b is noisy at 1e-7): the MLE of p is the
        # pooled share
        assert new[0] == pytest.approx(k.sum() / n.sum(), abs=1e-5)
    assert new[0] == pytest.approx(old[0], abs=2e-3)
    ab_n, ab_o = 1 / new[1] - 1, 1 / old[1] - 1
    pv_n = stats.betabinom_tails(k, n, new[0] * ab_n, (1 - new[0]) * ab_n)[0]
    pv_o = stats.betabinom_tails(k, n, old[0] * ab_o, (1 - old[0]) * ab_o)[0]
    assert np.max(np.abs(pv_n - pv_o)) < 0.02
    assert np.max(np.abs(np.log10(pv_n) - np.log10(pv_o))) < 0.15


def test_betabinom_newton_hand_worked_binomial_limit():
    # identical shares in every unit: no overdispersion, ρ at its lower bound and p the pooled share
    k = np.array([3, 6, 9, 12])
    n = np.array([10, 20, 30, 40])
    p, rho = stats.betabinom_fit(k, n, trim=None)
    assert p == pytest.approx(0.3, abs=1e-6)
    assert rho == pytest.approx(1e-6, rel=1e-3)
