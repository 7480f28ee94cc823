"""Interval estimates used by every indicator, vectorised over numpy arrays.

- :func:`wilson_ci` — Wilson score interval for a proportion (shares; statsmodels);
- :func:`mean_ci` — Student t interval for a mean, from sums (``Σx``, ``Σx²``, ``n``) — for an
  unbounded quantity only;
- :func:`bounded_mean_ci` — interval for the mean of a score bounded by ``lo…hi`` (task completion,
  primary scores, marks): a Wilson interval on the share of the scale with the effective sample size
  of the observed variance; never leaves the scale;
- :func:`poisson_ci` — exact (Garwood) interval for a count, for rates per 1000;
- :func:`newcombe_diff_ci` — Newcombe hybrid score interval for ``p1 − p2`` (statsmodels);
- :func:`welch_diff_ci` — Welch t interval for ``mean1 − mean2``;
- :func:`informativeness` — suppressed (n < 5) / limited (n < 20) flags.

All functions accept scalars or arrays and return float arrays (NaN where undefined,
e.g. ``n = 0``). Proportions are on the 0–1 scale; callers multiply by 100.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as _st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Z95 = 1.959963984540054


def _z(confidence: float) -> float:
    return Z95 if confidence == 0.95 else float(_st.norm.ppf(0.5 + confidence / 2))


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype="float64")


def wilson_ci(count, nobs, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``count / nobs``: statsmodels ``proportion_confint(method='wilson')``.

    Vectorised; NaN where ``nobs`` is not positive.
    """
    k, n = np.broadcast_arrays(_f(count), _f(nobs))
    bad = ~(n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = proportion_confint(np.where(bad, 0.0, k), np.where(bad, 1.0, n),
                                       alpha=1 - confidence, method="wilson")
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


def bounded_mean_ci(total, total_sq, n, lo=0.0, hi=100.0, confidence: float = 0.95):
    """``(mean, low, high)`` for the mean of a score bounded by ``lo…hi``; the interval stays inside.

    The mean as a share of the scale, ``p = (x̄ − lo) / (hi − lo)``, gets the Wilson score interval
    with the *effective* sample size of the observed variance (the design-effect form of Wilson used
    for survey proportions, Korn & Graubard 1998): ``n_eff = n · p(1 − p) / v``, with ``v`` the
    variance of the shares (ddof = 0) plus one pseudo-pupil of binomial variance,
    ``v = (n·v₀ + p(1 − p)) / (n + 1)``. So:

    - 0/1 scores (a one-point task) give exactly Wilson's interval for ``k / n``;
    - any score in ``lo…hi`` has ``v₀ ≤ p(1 − p)``, hence ``n_eff ≥ n``: never wider than Wilson;
    - all pupils at the bottom (or the top) give Wilson's ``0 / n`` (``n / n``) — not a zero width;
      all at the same inner score a narrow but non-degenerate interval (the pseudo-pupil);
    - Wilson lies in 0…1, so the interval lies in ``lo…hi``.

    ``hi`` may be an array (e.g. the mean maximum score of each group). NaN interval for ``n < 2``
    (one value is a fact, not a sample) or a scale of zero width.
    """
    s, ss, n = _f(total), _f(total_sq), _f(n)
    lo, hi = _f(lo), _f(hi)
    width = hi - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s / n, np.nan)
        ok = (n > 1) & (width > 0)
        p = np.clip((mean - lo) / width, 0.0, 1.0)
        v0 = np.clip((ss / n - mean * mean) / (width * width), 0.0, None)   # ddof = 0
        pq = p * (1 - p)
        v = (n * v0 + pq) / (n + 1)
        phi = np.where(pq > 0, np.clip(v / pq, 0.0, 1.0), 1.0)              # v ≤ pq in exact arithmetic
        m = n / phi                                                          # effective sample size
        z = _z(confidence)
        z2 = z * z
        centre = (p + z2 / (2 * m)) / (1 + z2 / m)
        half = z / (1 + z2 / m) * np.sqrt(pq / m + z2 / (4 * m * m))
        plo = np.clip(centre - half, 0.0, 1.0)
        phi_ = np.clip(centre + half, 0.0, 1.0)
    low = np.where(ok, lo + plo * width, np.nan)
    high = np.where(ok, lo + phi_ * width, np.nan)
    return mean, low, high


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

    statsmodels ``confint_proportions_2indep(..., method='newcomb', compare='diff')``, vectorised;
    NaN where either ``nobs`` is not positive.
    """
    k1, n1, k2, n2 = np.broadcast_arrays(*map(_f, (count1, nobs1, count2, nobs2)))
    bad = ~((n1 > 0) & (n2 > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = k1 / n1 - k2 / n2
        low, high = confint_proportions_2indep(np.where(bad, 0.0, k1), np.where(bad, 1.0, n1),
                                               np.where(bad, 0.0, k2), np.where(bad, 1.0, n2),
                                               method="newcomb", compare="diff", alpha=1 - confidence)
    return d, np.where(bad, np.nan, low), np.where(bad, np.nan, high)


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


def _n_chunks(order, n_sorted, chunk: int):
    """``order`` (units sorted by n) cut into chunks of 48 to ``chunk`` units whose largest n is, past
    the first 48, at most ¼ (or 16) above their smallest: the pmf matrix of a chunk is as wide as its
    largest n, and the cells beyond a unit's own n (zeros) were most of the work where schools of 5 and
    of 150 pupils shared one. The tails of a unit do not depend on its chunk (those zeros add nothing)."""
    s = 0
    while s < len(order):
        lo = n_sorted[s]
        e = int(np.searchsorted(n_sorted, max(1.25 * lo, lo + 16), side="right"))
        e = min(max(e, s + 48), s + chunk)          # a few dozen units at least: a chunk has its own cost
        yield order[s:e]
        s = e


def betabinom_tails(k, n, a, b, alpha: float | None = None, chunk: int = 4000):
    """Exact beta-binomial tails, vectorised: ``(P(X ≥ k), P(X = k), P(X ≤ k), crit)``.

    The pmf (that of :data:`scipy.stats.betabinom`, from log-gamma and log-beta functions) on a
    units × 0..max(n) matrix — scipy's own ``sf``/``cdf`` sum the pmf element by element in
    Python; tails by cumulative sums (checked against scipy in tests/test_marks_null.py).
    ``crit`` is the smallest k with P(X ≥ k) < ``alpha`` (n + 1 if none; NaN without alpha).
    """
    from scipy.special import betaln, gammaln

    k, n, a, b = (np.atleast_1d(_f(x)) for x in (k, n, a, b))
    k, n, a, b = np.broadcast_arrays(k, n, a, b)
    ge, eq, le, crit = (np.full(len(k), np.nan) for _ in range(4))
    good = np.isfinite(k) & np.isfinite(n) & (n >= 0) & np.isfinite(a) & (a > 0) & np.isfinite(b) & (b > 0)
    order = np.flatnonzero(good)[np.argsort(n[good], kind="stable")]   # similar n per chunk
    for sl in _n_chunks(order, n[order], chunk):
        nmax = int(n[sl].max())
        j = np.arange(nmax + 1)[None, :]
        nn = n[sl][:, None]
        aa, bb = a[sl][:, None], b[sl][:, None]
        jj = np.minimum(j, nn)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # scipy.stats.betabinom's log-pmf written out (its logpmf has a large per-call cost); with whole n
            # the log-factorials are looked up in one table (the same gammaln values, once per integer)
            if np.array_equal(n[sl], np.floor(n[sl])):
                lf = gammaln(np.arange(nmax + 1) + 1.0)
                ji, ni = jj.astype(np.int64), nn.astype(np.int64)
                lp = (lf[ni] - lf[ji] - lf[ni - ji] + betaln(jj + aa, nn - jj + bb) - betaln(aa, bb))
            else:
                lp = (gammaln(nn + 1) - gammaln(jj + 1) - gammaln(nn - jj + 1)
                      + betaln(jj + aa, nn - jj + bb) - betaln(aa, bb))
            pmf = np.where(j <= nn, np.exp(lp), 0.0)
        tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]          # tail[:, j] = P(X ≥ j)
        kk = np.clip(np.round(k[sl]), 0, nmax).astype(int)
        r = np.arange(len(sl))
        ge[sl] = np.minimum(1.0, tail[r, kk])
        eq[sl] = pmf[r, kk]
        le[sl] = np.minimum(1.0, 1.0 - tail[r, kk] + pmf[r, kk])
        if alpha is not None:
            below = tail < alpha
            crit[sl] = np.where(below.any(axis=1), below.argmax(axis=1), n[sl] + 1)
    return ge, eq, le, crit


def betabinom_rho_mom(k, n, p: float) -> float:
    """Moment estimate of the intra-unit correlation ρ of beta-binomial counts with mean ``p``.

    E Σ n_i(p̂_i − p)² = p(1 − p)·Σ(1 + (n_i − 1)ρ)  (Kleinman 1973; DerSimonian–Laird style).
    """
    k, n = _f(k), _f(n)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    k, n = k[ok], n[ok]
    if len(k) < 2 or not 0 < p < 1 or (n - 1).sum() <= 0:
        return 0.0
    s = float((n * (k / n - p) ** 2).sum()) / (p * (1 - p))
    return float(max(0.0, (s - len(k)) / (n - 1).sum()))


BETABINOM_METHOD = "Newton"   # or "Nelder-Mead" (the former derivative-free fit, kept as a reference)


def _betabinom_newton(k, n, t0: float, rho: float, lo: float, hi: float, max_iter: int = 60) -> np.ndarray:
    """Maximise the beta-binomial log-likelihood over (logit p, ρ) by Newton's method with the exact
    gradient and Hessian (digamma, trigamma), projected on ``lo ≤ ρ ≤ hi``, with backtracking.
    In ρ (not log ρ) the likelihood stays smooth up to ρ → 0, the binomial. Returns (logit p, log ρ).

    a = p·s, b = (1 − p)·s, s = 1/ρ − 1; ℓ = Σ log B(k + a, n − k + b) − m·log B(a, b).
    """
    from scipy.special import betaln, psi, zeta

    def tri(x):   # trigamma ψ₁(x) = ζ(2, x) (polygamma's Python wrapper costs more)
        return zeta(2.0, x)

    nk = n - k
    m = float(len(k))

    def ll(t0, rho):
        p = 1.0 / (1.0 + math.exp(-t0))
        s = 1.0 / rho - 1.0
        return float(betaln(k + p * s, nk + (1 - p) * s).sum()) - m * float(betaln(p * s, (1 - p) * s))

    cur = ll(t0, rho)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + math.exp(-t0))
        q = 1.0 - p
        s = 1.0 / rho - 1.0
        a, b = p * s, q * s
        # ℓ's derivatives in (a, b)
        ga = float((psi(k + a) - psi(n + s)).sum()) - m * (float(psi(a)) - float(psi(s)))
        gb = float((psi(nk + b) - psi(n + s)).sum()) - m * (float(psi(b)) - float(psi(s)))
        t_ns = float(tri(n + s).sum())
        t_s = float(tri(s))
        haa = float(tri(k + a).sum()) - t_ns - m * (float(tri(a)) - t_s)
        hbb = float(tri(nk + b).sum()) - t_ns - m * (float(tri(b)) - t_s)
        hab = -t_ns + m * t_s
        # chain rule to θ = (logit p, ρ)
        J = np.array([[s * p * q, -p / rho ** 2], [-s * p * q, -q / rho ** 2]])
        g = J.T @ np.array([ga, gb])
        H = J.T @ np.array([[haa, hab], [hab, hbb]]) @ J
        d2a = np.array([[s * p * q * (1 - 2 * p), -p * q / rho ** 2], [-p * q / rho ** 2, 2 * p / rho ** 3]])
        H += ga * d2a + gb * np.array([[-d2a[0, 0], -d2a[0, 1]], [-d2a[1, 0], 2 * q / rho ** 3]])
        at_lo, at_hi = rho <= lo * (1 + 1e-9) and g[1] < 0, rho >= hi * (1 - 1e-9) and g[1] > 0
        free = [0] if (at_lo or at_hi) else [0, 1]
        Hf, gf = -H[np.ix_(free, free)], g[free]
        step = np.zeros(2)
        try:
            ev = np.linalg.eigvalsh(Hf)
            step[free] = np.linalg.solve(Hf, gf) if ev.min() > 0 else gf / max(abs(ev).max(), 1e-12)
        except np.linalg.LinAlgError:
            step[free] = gf * 1e-6
        if float(gf @ step[free]) < 1e-12:       # Newton decrement: converged
            break
        lam, improved = 1.0, False
        for _ in range(40):
            nt0 = min(15.0, max(-15.0, t0 + lam * step[0]))
            nrho = min(hi, max(lo, rho + lam * step[1]))
            new = ll(nt0, nrho)
            if new >= cur - 1e-12:
                improved = True
                break
            lam /= 2
        if not improved:
            break
        moved = abs(nt0 - t0) + abs(math.log(nrho) - math.log(rho))
        t0, rho = nt0, nrho
        cur = new
        if moved < 1e-12:
            break
    return np.array([t0, math.log(rho)])


def betabinom_fit(k, n, rho_bounds=(1e-6, 0.5), trim: float | None = 1e-3,
                  start_trim: float = 0.05, max_iter: int = 10,
                  method: str | None = None) -> tuple[float, float]:
    """Maximum-likelihood ``(p, ρ)`` of a beta-binomial with a common mean across units.

    Counts ``k`` of ``n`` per unit (e.g. schools of one work); X_i ~ BetaBinom(n_i, pα, (1 − p)α)
    with α = 1/ρ − 1, so Var X_i = n_i p(1 − p)(1 + (n_i − 1)ρ). The log-likelihood (the
    kernel of :func:`scipy.stats.betabinom.logpmf`, B(k + a, n − k + b)/B(a, b) by
    ``scipy.special.betaln``) is maximised over (logit p, log ρ) from the moment estimate —
    deterministic — by Newton's method with the exact gradient and Hessian
    (:func:`_betabinom_newton`; ``method`` or :data:`BETABINOM_METHOD` = "Nelder-Mead" gives the
    former derivative-free fit: slower, the same optimum within its tolerance — tests/test_stats.py). ρ is clipped to ``rho_bounds``.

    With ``trim`` the fit is robust to the few schools we look for (one school with 70 % of a
    rare event would otherwise make ρ large enough to hide itself): it starts without the
    ``start_trim`` most extreme units in each tail under the pooled binomial, then refits on
    the units that are not extreme (two-sided p ≥ ``trim``) under the current fit, until that
    set no longer changes (a fixed point; under the model only ≈ 2·trim of the units drop out).
    """
    from scipy.optimize import minimize
    from scipy.special import betaln, digamma, expit, logit

    method = method or BETABINOM_METHOD
    k, n = _f(k), _f(n)
    ok = np.isfinite(k) & np.isfinite(n) & (n > 0)
    k, n = k[ok], n[ok]
    lo, hi = rho_bounds
    if len(k) == 0 or n.sum() == 0:
        return float("nan"), lo
    p_pool = float(k.sum() / n.sum())
    if len(k) < 3 or not 0 < p_pool < 1:
        return p_pool, lo

    def fit(k, n, x0=None):
        pp = float(np.clip(k.sum() / n.sum(), 1e-6, 1 - 1e-6))
        if x0 is None:
            x0 = np.array([logit(pp), np.log(np.clip(betabinom_rho_mom(k, n, pp), lo * 10, hi / 2))])
        nk = n - k

        llo, lhi = np.log(lo), np.log(hi)

        m = float(len(k))

        def nll(th):
            t0, t1 = float(th[0]), float(th[1])
            p = 1.0 / (1.0 + math.exp(-min(15.0, max(-15.0, t0))))
            ab = 1.0 / math.exp(min(lhi, max(llo, t1))) - 1.0
            a, b = p * ab, (1 - p) * ab
            return -(float(betaln(k + a, nk + b).sum()) - m * float(betaln(a, b)))

        if method == "Nelder-Mead":
            res = minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 400})
            x = res.x
        else:
            x = _betabinom_newton(k, n, float(np.clip(x0[0], -15.0, 15.0)), math.exp(np.clip(x0[1], llo, lhi)),
                                  lo, hi)
        x = np.array([np.clip(x[0], -15.0, 15.0), np.clip(x[1], llo, lhi)])
        return float(expit(x[0])), float(np.exp(x[1])), x

    if not trim:
        p, rho, _ = fit(k, n)
        return p, rho
    x = None

    def fit_kept(keep):
        nonlocal x
        p, rho, x = fit(k[keep], n[keep], x)      # warm start from the previous set
        return p, rho, (p, rho)

    return _trimmed_fixed_point(k, n, p_pool, fit_kept,
                                lambda m: m.sum() >= 3 and 0 < k[m].sum() < n[m].sum(),
                                trim, start_trim, max_iter)


def _trimmed_fixed_point(k, n, p_start, fit_kept, usable, trim: float, start_trim: float, max_iter: int):
    """The trimming of :func:`betabinom_fit` and :func:`betabinom_fit_offset`: start without the
    ``start_trim`` most extreme units in each tail under the binomial at ``p_start`` (a share, or one
    per unit), then refit on the units with two-sided p ≥ ``trim`` under the current fit until that
    set no longer changes (or ``max_iter``, or the set is not ``usable``). ``fit_kept(keep)`` returns
    (the share — common or per unit —, ρ, the result to return)."""
    up, dn = _st.binom.sf(k - 1, n, p_start), _st.binom.cdf(k, n, p_start)
    keep = (up > np.quantile(up, start_trim)) & (dn > np.quantile(dn, start_trim))
    if not usable(keep):
        keep = np.ones(len(k), dtype=bool)
    for _ in range(max_iter):
        p, rho, res = fit_kept(keep)
        ab = 1.0 / rho - 1.0
        ge, _, le, _ = betabinom_tails(k, n, p * ab, (1 - p) * ab)
        new = (ge >= trim) & (le >= trim)
        if (new == keep).all() or not usable(new):
            break
        keep = new
    return res


def betabinom_fit_offset(k, n, e, rho_bounds=(1e-6, 0.5), trim: float | None = 1e-3,
                         start_trim: float = 0.05, max_iter: int = 10) -> tuple[float, float]:
    """``(φ, ρ)`` of beta-binomial counts around a known share per unit, up to a common factor.

    X_i ~ BetaBinom(n_i, p_i·α, (1 − p_i)·α), p_i = φ·e_i, α = 1/ρ − 1, with ``e`` the share
    expected of each unit (e.g. of each school given the marks of its pupils —
    :func:`msoko.objectivity.evidence.marks_rows`): the common-mean model of :func:`betabinom_fit`
    where the mean is not common. φ = Σk / Σn·e, observed over expected — indirect
    standardisation, the standardised ratio of epidemiology (a joint maximum-likelihood φ came out
    ≈ 0.9 on the real sample where observed ≈ expected: it weighs the schools by their spread and
    the model's one factor does not hold exactly, which put 6× the nominal share of real cells
    below p = 0.001); ρ by maximum likelihood given φ (the kernel of
    :func:`scipy.stats.betabinom.logpmf`, in log ρ by :func:`scipy.optimize.minimize_scalar`,
    bounded — deterministic). ``trim`` as in :func:`betabinom_fit`: the fit starts without the
    ``start_trim`` most extreme units in each tail under the binomial, then refits on the units
    with two-sided p ≥ ``trim`` under the current fit until that set no longer changes — the school
    we look for does not set its own yardstick. Where the kept units have no event at all,
    φ = ½ / Σ n_i·e_i over them (half an event, Jeffreys' prior) and ρ = the lower bound. Units
    with e_i = 0 cannot have the event and are left out.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import betaln

    k, n, e = _f(k), _f(n), _f(e)
    lo, hi = rho_bounds
    ok = np.isfinite(k) & np.isfinite(n) & np.isfinite(e) & (n > 0) & (e > 0)
    k, n, e = k[ok], n[ok], e[ok]
    if len(k) == 0 or (n * e).sum() <= 0:
        return 1.0, lo
    if len(k) < 3 or k.sum() == 0:
        return float(max(k.sum(), 0.5) / (n * e).sum()), lo
    nk = n - k
    eps = 1e-9

    def fit(use) -> tuple[float, float]:
        kk, nnk = k[use], nk[use]
        if kk.sum() == 0:
            return float(0.5 / (n[use] * e[use]).sum()), lo
        phi = float(kk.sum() / (n[use] * e[use]).sum())
        p = np.clip(phi * e[use], eps, 1 - eps)

        def nll(t):
            s = 1.0 / math.exp(t) - 1.0
            a, b = p * s, (1 - p) * s
            return -float((betaln(kk + a, nnk + b) - betaln(a, b)).sum())

        res = minimize_scalar(nll, bounds=(math.log(lo), math.log(hi)), method="bounded", options={"xatol": 1e-5})
        return phi, float(np.clip(math.exp(res.x), lo, hi))

    if not trim:
        return fit(np.ones(len(k), dtype=bool))

    def fit_kept(keep):
        phi, rho = fit(keep)
        return np.clip(phi * e, eps, 1 - eps), rho, (phi, rho)

    return _trimmed_fixed_point(k, n, np.clip(k.sum() / (n * e).sum() * e, eps, 1 - eps), fit_kept,
                                lambda m: m.sum() >= 3, trim, start_trim, max_iter)


def negbin_sf(k, mean, r) -> np.ndarray:
    """``P(X ≥ k)`` for a negative binomial with the given ``mean`` and size ``r``
    (Var X = mean + mean²/r; a Poisson whose rate varies between units as a gamma)."""
    from scipy.special import betainc

    k, mean, r = np.broadcast_arrays(*(np.atleast_1d(_f(x)) for x in (k, mean, r)))
    with np.errstate(invalid="ignore", divide="ignore"):
        # P(X ≥ c) = I_{1−p}(c, r), p = r/(r + mean): scipy.stats.nbinom.sf without its per-call cost
        c = np.maximum(np.ceil(k), 1.0)
        out = betainc(c, r, np.maximum(mean, 1e-300) / (r + np.maximum(mean, 1e-300)))
    return np.where(np.isfinite(k) & np.isfinite(mean) & np.isfinite(r), np.where(k <= 0, 1.0, out), np.nan)


def negbin_isf(alpha: float, mean, r) -> np.ndarray:
    """The smallest k with ``P(X ≥ k) < alpha`` under :func:`negbin_sf`'s negative binomial."""
    mean, r = np.broadcast_arrays(np.atleast_1d(_f(mean)), np.atleast_1d(_f(r)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return _st.nbinom.isf(alpha, r, r / (r + np.maximum(mean, 1e-300))) + 1


def negbin_fit(k, mu0, phi_bounds=(1.0, 1e4), r_bounds=(1e-2, 1e4), trim: float | None = 1e-3,
               start_trim: float = 0.05, censor_at: float = 0.003, max_iter: int = 10,
               x0=None) -> tuple[float, float]:
    """Maximum-likelihood ``(φ, r)`` of counts ``k_i ~ NegBin(mean φ·mu0_i, size r)``.

    ``mu0`` is a model's expected count per unit; φ scales it (the model's bias) and r is the
    overdispersion between units (a gamma-distributed multiplier per unit, Var = μ + μ²/r).
    The log-likelihood (that of :data:`scipy.stats.nbinom`, from ``gammaln``) is maximised by
    Nelder–Mead over (log φ, log r).

    With ``trim`` the fit is robust to the units we look for: a unit in the extreme tail
    (P(X ≥ k) < ``trim`` under the current fit) is *censored* — it counts only as «at least
    c_i», c_i the count where its upper tail falls below ``censor_at`` (the unit is somewhere
    in that tail), whatever its own count. Outliers then cannot fatten the tail that is to
    measure them, even where they are most of a work's non-zero counts (a region where
    ordinary classes seldom repeat a string), and the uncensored units still give the null's
    own shape. The first fit censors the ``start_trim`` most extreme units under one pooled
    Poisson scale; refits follow until the censored set no longer changes (as
    :func:`betabinom_fit` trims). ``x0``: a start (φ, r), e.g. a pooled fit.
    """
    from scipy.optimize import minimize
    from scipy.special import betainc, gammaln

    k, mu0 = _f(k), _f(mu0)
    ok = np.isfinite(k) & np.isfinite(mu0) & (mu0 > 0)
    k, mu0 = k[ok], mu0[ok]
    (plo, phi_hi), (rlo, rhi) = phi_bounds, r_bounds
    if len(k) < 3 or k.sum() == 0:
        return float(plo), float(rhi)
    bounds = np.log([[plo, phi_hi], [rlo, rhi]])

    def fit(cens, c, x0):
        kk, m = k[~cens], mu0[~cens]
        lk1 = gammaln(kk + 1)
        mc, cc = mu0[cens], c[cens]

        def nll(th):
            lphi, lr = np.clip(th, bounds[:, 0], bounds[:, 1])
            r = math.exp(lr)
            phi = math.exp(lphi)
            mu = phi * m
            ll = float((gammaln(kk + r) - gammaln(r) - lk1 + r * np.log(r / (r + mu))
                        + kk * np.log(mu / (r + mu))).sum())
            if len(cc):
                ll += float(np.log(np.maximum(betainc(cc, r, phi * mc / (r + phi * mc)), 1e-300)).sum())
            return -ll

        res = minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-6, "maxiter": 300})
        return np.clip(res.x, bounds[:, 0], bounds[:, 1])

    phi0 = max(k.sum() / mu0.sum(), plo)
    x = np.clip(np.log([phi0, 1.0] if x0 is None else x0), bounds[:, 0], bounds[:, 1])
    cens = np.zeros(len(k), dtype=bool)
    c = k.copy()
    if trim:
        up = _st.poisson.sf(k - 1, phi0 * mu0)
        q0 = np.quantile(up, start_trim)
        cens = up < q0
        c = np.minimum(k, _st.poisson.isf(max(q0, censor_at), phi0 * mu0) + 1)
    for _ in range(max_iter if trim else 1):
        x = fit(cens, c, x)
        if not trim:
            break
        phi, r = np.exp(x)
        new = negbin_sf(k, phi * mu0, r) < trim
        c_new = np.minimum(k, negbin_isf(censor_at, phi * mu0, r))
        if (new == cens).all() and (c_new[new] == c[new]).all():
            break
        cens, c = new, c_new
    phi, r = np.exp(x)
    return float(phi), float(r)
