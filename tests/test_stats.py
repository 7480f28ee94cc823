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
