"""Interval estimates used by every indicator, vectorised over numpy arrays.

- :func:`wilson_ci` — Wilson score interval for a proportion (shares);
- :func:`mean_ci` — Student t interval for a mean, from sums (``Σx``, ``Σx²``, ``n``);
- :func:`poisson_ci` — exact (Garwood) interval for a count, for rates per 1000;
- :func:`newcombe_diff_ci` — Newcombe hybrid score interval for ``p1 − p2``;
- :func:`welch_diff_ci` — Welch t interval for ``mean1 − mean2``;
- :func:`informativeness` — suppressed (n < 5) / limited (n < 20) flags.

All functions accept scalars or arrays and return float arrays (NaN where undefined,
e.g. ``n = 0``). Proportions are on the 0–1 scale; callers multiply by 100.
"""
from __future__ import annotations

import numpy as np
from scipy import stats as _st

Z95 = 1.959963984540054


def _z(confidence: float) -> float:
    return Z95 if confidence == 0.95 else float(_st.norm.ppf(0.5 + confidence / 2))


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def wilson_ci(count, nobs, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``count / nobs`` (same as statsmodels ``method='wilson'``)."""
    k, n = _f(count), _f(nobs)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low, high = centre - half, centre + half
    bad = ~(n > 0)
    low = np.where(bad, np.nan, np.clip(low, 0.0, 1.0))
    high = np.where(bad, np.nan, np.clip(high, 0.0, 1.0))
    return low, high


def mean_sd(total, total_sq, n) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation (ddof=1) from ``Σx``, ``Σx²`` and ``n``."""
    s, ss, n = _f(total), _f(total_sq), _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        var = np.where(n > 1, (ss - s * s / n) / (n - 1), np.nan)
    var = np.where(var < 0, 0.0, var)  # rounding on constant groups
    return mean, np.sqrt(var)


def mean_ci(total, total_sq, n, confidence: float = 0.95):
    """``(mean, low, high)``: ``x̄ ± t(n−1)·s/√n`` from sums; NaN interval for ``n < 2``."""
    mean, sd = mean_sd(total, total_sq, n)
    n = _f(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t_quantile(np.where(n > 1, n - 1, np.nan), confidence)
        half = t * sd / np.sqrt(n)
    return mean, mean - half, mean + half


def t_quantile(df, confidence: float = 0.95) -> np.ndarray:
    """Two-sided Student t quantile for each ``df`` (computed once per distinct df)."""
    df = _f(df)
    flat = df.ravel()
    out = np.full(flat.shape, np.nan)
    ok = np.isfinite(flat) & (flat > 0)
    if ok.any():
        uniq, inv = np.unique(flat[ok], return_inverse=True)
        out[ok] = _st.t.ppf(0.5 + confidence / 2, uniq)[inv]
    return out.reshape(df.shape)


def poisson_ci(count, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson count."""
    k = _f(count)
    a = 1 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, _st.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
        high = _st.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    nan = np.isnan(k)
    return np.where(nan, np.nan, low), np.where(nan, np.nan, high)


def newcombe_diff_ci(count1, nobs1, count2, nobs2, confidence: float = 0.95):
    """``(diff, low, high)`` for ``p1 − p2``: Newcombe's hybrid score interval (method 10).

    Matches statsmodels ``confint_proportions_2indep(..., method='newcomb', compare='diff')``.
    """
    k1, n1, k2, n2 = _f(count1), _f(nobs1), _f(count2), _f(nobs2)
    l1, u1 = wilson_ci(k1, n1, confidence)
    l2, u2 = wilson_ci(k2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


def welch_diff_ci(mean1, sd1, n1, mean2, sd2, n2, confidence: float = 0.95):
    """``(diff, low, high)`` for ``mean1 − mean2`` (Welch t with Satterthwaite df)."""
    m1, s1, n1, m2, s2, n2 = map(_f, (mean1, sd1, n1, mean2, sd2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        v1, v2 = s1 * s1 / n1, s2 * s2 / n2
        se = np.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
        t = _st.t.ppf(0.5 + confidence / 2, df)
        d = m1 - m2
    return d, d - t * se, d + t * se


def wald_diff_ci(value1, se1, value2, se2, confidence: float = 0.95):
    """``(diff, low, high)`` for a difference of two independent estimates (normal approx.)."""
    v1, e1, v2, e2 = map(_f, (value1, se1, value2, se2))
    d = v1 - v2
    half = _z(confidence) * np.sqrt(e1 * e1 + e2 * e2)
    return d, d - half, d + half


def informativeness(n, suppress_below: int = 5, limited_below: int = 20):
    """``(suppressed, limited)`` boolean arrays: ``n < suppress_below``, ``n < limited_below``."""
    n = _f(n)
    nn = np.nan_to_num(n, nan=0.0)
    return nn < suppress_below, nn < limited_below
