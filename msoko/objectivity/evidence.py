"""msoko's further evidence of non-objectivity (not part of the official ФИОКО index).

Each function returns rows of the objectivity frame for one sign, with its
statistic (``value``), the decision boundary in the same units (``threshold``),
a one-sided p-value under "nothing unusual" (``p_value``) that the combined
picture uses, and a Russian ``detail``. Every sign is a reason to look, never a
proof; the texts never call a school dishonest.

Calibration: school-level statistics vary between schools more than sampling
alone explains (teachers, intake). Where a sign compares a school with others,
its z-score divides by ``sqrt(se² + τ²)`` with τ² the between-school variance
beyond sampling error, estimated robustly (median absolute deviation) so that
the few schools we look for do not widen the yardstick.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru

from msoko.objectivity.core import (CELL_KEYS, TEST_KEYS, finish, grouped_moments, grouped_tau2,
                                    in_scope, robust_tau2)
from msoko.stats import wilson_ci


def _fmt(x, nd=1) -> str:
    try:
        return _number(float(x), nd)
    except (TypeError, ValueError):
        return ru.MISSING


@functools.lru_cache(maxsize=1 << 16)
def _number(x: float, nd: int) -> str:
    """:func:`msoko.ru.number` of a float, once per value: the sentences of a region repeat the same
    shares (k of n) a million times."""
    return ru.number(x, nd)


def _zcrit(cfg) -> float:
    return float(st.norm.isf(float(cfg["alpha"])))


def _rows(df: pd.DataFrame, sign: str, cols_extra=()) -> pd.DataFrame:
    df = df.copy()
    df["sign"] = sign
    df["official"] = False
    if "procedure" not in df.columns:
        df["procedure"] = "ВПР"
    keep = ["year", "school_id", "grade", "subject", "sign", "value", "threshold", "flagged", "n",
            "ci_low", "ci_high", "p_value", "procedure", "official", "detail", *cols_extra]
    return finish(df[[c for c in keep if c in df.columns]])


def _flag(assessed, cond) -> pd.Series:
    return pd.Series(np.asarray(cond, dtype=bool), dtype=object).where(np.asarray(assessed, dtype=bool), None)


# ---------------------------------------------------------------- similar schools (calibrated inflated_mean)

def school_attributes(schools: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["school_id", "org_type", "settlement_type", "name"]
    if schools is None or len(schools) == 0 or "school_id" not in schools.columns:
        return pd.DataFrame(columns=cols)
    s = schools.copy()
    for c in cols:
        if c not in s.columns:
            s[c] = None
    s = s[cols].drop_duplicates("school_id")
    s["school_id"] = s["school_id"].astype(str)
    return s


def inflated_mean_similar_rows(cells: pd.DataFrame, schools: pd.DataFrame | None, cfg: dict,
                               grades=None, subjects=None) -> pd.DataFrame:
    """msoko's calibrated alternative to inflated_mean: the school against similar schools.

    Peers = other schools with the same org_type and settlement_type for the same
    year, grade and subject (fewer than ``similar_min_peers`` → same org_type → all
    schools). z = (x̄ − peer mean) / √(s²/n + τ² + se_peer²), τ² the between-school
    variance among peers beyond sampling error.
    """
    c = cells.loc[in_scope(cells, grades, subjects)].copy()
    if len(c) == 0:
        return finish(pd.DataFrame())
    c = c.merge(school_attributes(schools)[["school_id", "org_type", "settlement_type"]], on="school_id", how="left")
    c["org_type"] = c["org_type"].fillna("?").astype(str)
    c["settlement_type"] = c["settlement_type"].fillna("?").astype(str)
    c["se"] = c["se_pooled"] if "se_pooled" in c.columns else c["sd"] / np.sqrt(c["n"])
    ok = (c["n"] >= max(2, int(cfg["min_n"]))) & c["se"].notna()
    c["se"] = c["se"].where(ok)
    c["m"] = c["mean"].where(ok)
    min_peers = int(cfg["similar_min_peers"])
    levels = [(TEST_KEYS + ["org_type", "settlement_type"], "тот же тип ОО и тип поселения"),
              (TEST_KEYS + ["org_type"], "тот же тип ОО"),
              (TEST_KEYS, "все школы")]
    c["peer_mean"] = np.nan
    c["peer_var"] = np.nan
    c["peers"] = 0
    c["peer_label"] = None
    done = np.zeros(len(c), dtype=bool)
    for keys, label in levels:
        g = c.groupby(keys, observed=True)
        cnt = g["m"].transform("count")
        tot = g["m"].transform("sum")
        self_in = c["m"].notna().astype(int)
        peers = cnt - self_in
        pm = (tot - c["m"].fillna(0.0)) / peers.replace(0, np.nan)
        use = (~done) & (peers >= min_peers).to_numpy()
        c.loc[use, "peer_mean"] = pm[use]
        c.loc[use, "peers"] = peers[use]
        c.loc[use, "peer_label"] = label
        done |= use
    c["diff"] = c["m"] - c["peer_mean"]
    # τ² of the differences from the peers, over all schools of the test (a stable estimate;
    # per peer group there are often only a handful of schools)
    c["tau2"] = grouped_tau2(c.assign(dd=c["diff"].where(c["peer_mean"].notna())), TEST_KEYS, "dd", "se")
    se2_med = (c["se"] ** 2).groupby([c[k] for k in TEST_KEYS], observed=True).transform("median")
    c["peer_var"] = (c["tau2"] + se2_med) / c["peers"].replace(0, np.nan)   # variance of the peer mean
    scale = np.sqrt(c["se"] ** 2 + c["tau2"] + c["peer_var"])
    z = c["diff"] / scale
    assessed = ok & c["peer_mean"].notna() & np.isfinite(z)
    zc = _zcrit(cfg)
    c["value"] = c["diff"]
    c["threshold"] = zc * scale
    c["p_value"] = np.where(assessed, st.norm.sf(z), np.nan)
    c["flagged"] = _flag(assessed, z > zc)
    c["ci_low"] = c["diff"] - 1.96 * c["se"]
    c["ci_high"] = c["diff"] + 1.96 * c["se"]
    c["detail"] = [
        (f"msoko: средний балл {_fmt(m)} против {_fmt(pm)} у похожих школ ({lab}, {int(k)} шк.); "
         f"разница {_fmt(d)} балла при допустимой {_fmt(t)}") if a else
        "не оценивается: мало участников или нет похожих школ"
        for m, pm, lab, k, d, t, a in zip(c["mean"], c["peer_mean"], c["peer_label"], c["peers"], c["diff"],
                                          c["threshold"], assessed)]
    return _rows(c, "inflated_mean_similar")


# ---------------------------------------------------------------- journal marks vs ВПР marks

# the highest ВПР mark (on 2–5) a journal finding is possible from: 2 below needs ≤ 3, 1 below ≤ 4
MARK_ROOM = {"lower": 4, "far_below": 3}
MARKS_PRIOR_PUPILS = 10.0
# findings on the objectivity of current (journal) marks: flagged at ``current_marks_alpha``
CURRENT_MARKS = ("marks_lower", "marks_far_below")


def marks_rows(students: pd.DataFrame, cells: pd.DataFrame, cfg: dict, grades=None, subjects=None) -> pd.DataFrame:
    """ВПР marks against the journal mark (отметка за четверть), share of students per school.

    Four findings, each against the schools of the same work:

    * ``marks_lower`` — ВПР below the journal mark («понизили»): the journal marks may be
      inflated — like ``marks_far_below`` it does not enter the combined picture;
    * ``marks_higher`` — ВПР above the journal mark («повысили»): a possible inflation of ВПР;
    * ``marks_far`` — ВПР ≥ 2 marks ABOVE the journal mark: a possible inflation of ВПР;
    * ``marks_far_below`` — ВПР ≥ 2 marks BELOW the journal mark: the journal marks look
      inflated — a finding on the objectivity of current assessment, not of the ВПР; it does
      not enter the combined picture (:data:`msoko.objectivity.combined.NOT_COMBINED`).

    The count of a school is beta-binomial around the share expected of it. For a finding about the
    journal (lower, far below) that share is conditioned on the ВПР marks of its pupils —
    p_school = mean over its pupils of the rate of the finding among the other schools' pupils of
    the work with the same ВПР mark, shrunk by :data:`MARKS_PRIOR_PUPILS` pseudo-pupils towards the
    work's rate among all pupils for whom the finding is possible (0 for a mark it cannot come from:
    «5» is never 2 below the journal). Without it a weak school, with many «2» in the ВПР, has more
    ВПР marks far below the journal whatever its journal: on the real
    sample (Altai 2020–2021) the common-mean null put 5.5× the nominal share of cells below
    p = 0.001 for ``marks_far_below``, the flagged cells having 31 % of «2» against 11 %. A
    finding about the ВПР (higher, far above) is against the other schools' share of all pupils of
    the work: conditioning it on the journal mark was tried and made its real tail heavier
    (p < 0.001 in 0.46 % of real cells against 0.34 %, real combined at n ≥ 20 2.70 % against 2.49 %)
    with the same planted recall. A common factor φ of the expected shares and the intra-school
    correlation ρ (between-school overdispersion) are fitted over the schools of the work, trimmed
    of extreme schools (:func:`msoko.stats.betabinom_fit_offset`).
    p-value = P(X ≥ k) (exact, conservative for a discrete count); flagged when p < alpha and
    the share exceeds p by a practically large margin: marks_min_gap p.p. (15), or, for a rare
    finding, at least twice the reference share and ``marks_min_gap_rare`` p.p. (5) above it —
    min(marks_min_gap, max(marks_min_gap_rare, p)). 15 p.p. above a reference of 0.3 %
    (ВПР 2 marks below the journal) is 50 times the usual share; a class with 14 % of such
    pupils at p = 1e-14 was not flagged. The margin only decides the flag: the p-value, which the
    combined picture uses, is the same.

    A flag needs at least ``marks_min_count`` (3) such pupils: one or two pupils of a class are not a
    share to act on, however rare the finding elsewhere (one of 18 at an expected 0.04 % was flagged).

    The two findings on current marks (:data:`CURRENT_MARKS`) are flagged at
    ``current_marks_alpha`` (0.005) instead of ``alpha`` (0.001): they lead to the school's own
    review of its current assessment, not to observers, and never enter the combined picture.
    On the real sample (Altai 2020–2021) they flag 0.51 % and 0.13 % of cells with n ≥ 20 there
    (0.51 % and 0.04 % at 0.001).
    """
    agg = _marks_counts(students, grades, subjects)
    if agg is None:
        return finish(pd.DataFrame())
    groups = list(agg.groupby(TEST_KEYS, observed=True, sort=False).indices.values())
    return pd.concat([_marks_finding(agg, key, groups, cfg) for key in MARKS_WORDS], ignore_index=True)


# finding → (sign, its words); what its expected share is conditioned on: the findings on the journal
# given the ВПР mark, those on the ВПР (feeding the combined picture) against the work's share of all pupils
MARKS_WORDS = {"lower": ("marks_lower", "ВПР ниже отметки за четверть («понизили»; вопрос к объективности "
                                        "текущего оценивания, не к ВПР)"),
               "higher": ("marks_higher", "ВПР выше отметки за четверть («повысили»)"),
               "far": ("marks_far", "отметка ВПР выше отметки за четверть на 2 балла и более"),
               "far_below": ("marks_far_below", "отметка за четверть выше отметки ВПР на 2 балла и более "
                                                "(вопрос к объективности текущего оценивания, не к ВПР)")}
MARKS_GIVEN = {"lower": "mark", "far_below": "mark", "higher": "_all", "far": "_all"}
MARKS_REF_WORDS = {"mark": "доля по школам этой работы при тех же отметках ВПР", "_all": "доля по школам этой работы"}


def _marks_counts(students: pd.DataFrame, grades, subjects) -> pd.DataFrame | None:
    """Per school × work: pupils with both marks (``n``), the count of each finding and its expected count
    ``e_<finding>`` (per pupil the rate among the other schools' pupils of the work with the same ВПР mark,
    or of all pupils; shrunk towards the work's rate among the pupils for whom it is possible)."""
    s = students.loc[in_scope(students, grades, subjects) & students["journal_mark"].notna().to_numpy()
                     & students["mark"].notna().to_numpy(), CELL_KEYS + ["journal_mark", "mark"]].copy()
    if len(s) == 0:
        return None
    d = s["mark"].astype(float) - s["journal_mark"].astype(float)
    kinds = {"lower": d < 0, "higher": d > 0, "far": d >= 2, "far_below": d <= -2}
    s["_all"] = 0
    for key, m in kinds.items():
        s[key] = m.astype(float)
    agg = s.groupby(CELL_KEYS, observed=True).agg(n=("mark", "size"), **{k: (k, "sum") for k in kinds}).reset_index()
    for key in kinds:
        given = MARKS_GIVEN[key]
        # expected count: per pupil the rate of the finding among the *other* schools' pupils of the
        # work with the same ВПР mark (for "_all": all pupils) — leave-one-school-out, so that a school with
        # many pupils of a mark does not set its own yardstick
        by = s.groupby(CELL_KEYS + [given], observed=True)[key].agg(["sum", "size"]).reset_index()
        tot = by.groupby(TEST_KEYS + [given], observed=True)[["sum", "size"]].transform("sum")
        # pupils for whom the finding is possible at all (ВПР marks are 2–5: «5» cannot be 2 below)
        elig = (by[given].astype(float) <= MARK_ROOM.get(key, np.inf)).to_numpy()
        # the work's rate among such pupils: a prior of MARKS_PRIOR_PUPILS pupils for each mark, so that
        # a mark few other pupils have (a rate of 0 from 3 pupils) does not make one pupil a finding
        eh = by["sum"].where(elig, 0.0).groupby([by[k] for k in TEST_KEYS], observed=True).transform("sum")
        en = by["size"].where(elig, 0.0).groupby([by[k] for k in TEST_KEYS], observed=True).transform("sum")
        pool = np.where(elig, eh / en.where(en > 0, 1.0), 0.0)
        rest_h, rest_n = tot["sum"] - by["sum"], tot["size"] - by["size"]
        rate = (rest_h + MARKS_PRIOR_PUPILS * pool) / (rest_n + MARKS_PRIOR_PUPILS)
        by["e"] = by["size"] * np.where(elig, rate, 0.0)
        e = by.groupby(CELL_KEYS, observed=True)["e"].sum().rename(f"e_{key}").reset_index()
        agg = agg.merge(e, on=CELL_KEYS, how="left")
    return agg


def _marks_finding(agg: pd.DataFrame, key: str, groups: list, cfg: dict) -> pd.DataFrame:
    """The rows of one finding: φ and ρ fitted over the assessed schools of each work, the beta-binomial
    p-value, the flag (level, practical margin, at least ``marks_min_count`` pupils) and the sentence."""
    from msoko.stats import betabinom_fit_offset, betabinom_tails

    sign, text = MARKS_WORDS[key]
    gap = float(cfg["marks_min_gap"]) / 100.0
    gap_rare = float(cfg.get("marks_min_gap_rare", 5.0)) / 100.0
    min_count = float(cfg["marks_min_count"])
    nn = agg["n"].to_numpy(dtype=float)
    ok = nn >= int(cfg["min_n"])
    k = agg[key].to_numpy(dtype=float)
    # the school's expected share given the marks of its pupils (weak schools have more «2»
    # in the ВПР and so, with any journal, more ВПР marks far below the journal)
    e0 = agg[f"e_{key}"].to_numpy(dtype=float) / nn
    p0 = np.full(len(agg), np.nan)
    rho = np.full(len(agg), np.nan)
    for idx in groups:
        use = idx[ok[idx]]
        # φ (the others' rates include the school we look for: a common factor) and ρ (the usual
        # variation between schools) from the schools of the work that are assessed
        phi, rr = betabinom_fit_offset(k[use], nn[use], e0[use]) if len(use) else (np.nan, np.nan)
        p0[idx], rho[idx] = phi * e0[idx], rr
    pc = np.clip(p0, 1e-4, 1 - 1e-4)
    ab = 1.0 / np.clip(rho, 1e-6, 0.5) - 1.0
    # the findings on current marks (not combined) have their own, lower-stakes level
    lev = float(cfg["current_marks_alpha"]) if sign in CURRENT_MARKS else float(cfg["alpha"])
    pv, _, _, crit = betabinom_tails(k, nn, pc * ab, (1 - pc) * ab, lev)
    a = agg[CELL_KEYS + ["n"]].copy()
    share = k / nn
    a["value"] = 100 * share
    margin = np.minimum(gap, np.maximum(gap_rare, pc))   # relative (×2) for a rare finding
    a["threshold"] = 100 * np.maximum(np.maximum(pc + margin, crit / nn), min_count / nn)
    a["p_value"] = np.where(ok, pv, np.nan)
    a["flagged"] = _flag(ok, (pv < lev) & (share - pc >= margin - 1e-12) & (k >= min_count))
    lo, hi = wilson_ci(k, nn)
    a["ci_low"], a["ci_high"] = 100 * lo, 100 * hi
    a["detail"] = [(f"msoko: {text}: {int(kk)} из {int(n)} ({_fmt(100 * v)} %) при ожидаемых "
                    f"{_fmt(100 * r, 2 if r < 0.01 else 1)} % "
                    f"({MARKS_REF_WORDS[MARKS_GIVEN[key]]}, с учётом обычного разброса "
                    "между школами)") if o_ else
                   f"не оценивается: мало участников; {text}: {int(kk)} из {int(n)}"
                   for kk, n, v, r, o_ in zip(k, nn, share, pc, ok)]
    return _rows(a, sign)


def betabinom_tail(k, n, a, b, alpha: float, chunk: int = 4000):
    """Vectorised beta-binomial upper tail P(X ≥ k) and the smallest k with P(X ≥ k) < alpha.

    pmf from log-gamma functions, tails by cumulative sums (scipy's betabinom.sf/isf loop in
    Python per element, far too slow for thousands of schools).
    """
    from scipy.special import betaln, gammaln
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    p = np.full(len(k), np.nan)
    crit = np.full(len(k), np.nan)
    order = np.argsort(np.nan_to_num(n, nan=0.0), kind="stable")   # similar n per chunk: narrow matrices
    for s in range(0, len(k), chunk):
        sl = order[s:s + chunk]
        nmax = int(np.nanmax(n[sl])) if np.isfinite(n[sl]).any() else 0
        j = np.arange(nmax + 1)[None, :]
        nn, aa, bb = n[sl][:, None], a[sl][:, None], b[sl][:, None]
        with np.errstate(invalid="ignore"):
            lp = (gammaln(nn + 1) - gammaln(j + 1) - gammaln(np.maximum(nn - j, 0) + 1)
                  + betaln(j + aa, np.maximum(nn - j, 0) + bb) - betaln(aa, bb))
        pmf = np.where(j <= nn, np.exp(lp), 0.0)
        tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]          # tail[:, j] = P(X ≥ j)
        kk = np.clip(k[sl], 0, nmax).astype(int)
        p[sl] = np.minimum(1.0, tail[np.arange(len(kk)), kk])
        below = tail < alpha
        first = np.where(below.any(axis=1), below.argmax(axis=1), n[sl] + 1)
        crit[sl] = first
    return p, crit


# ---------------------------------------------------------------- results not confirmed by ГИА

GIA_SUBJECTS = {"Математика": ["Математика", "Математика (профиль)", "Математика (база)",
                               "Математика (профильный уровень)", "Математика (базовый уровень)"]}


def high_not_confirmed_rows(cells: pd.DataFrame, tests: pd.DataFrame, schools: pd.DataFrame | None,
                            gia: pd.DataFrame | None, cfg: dict, grades=None, subjects=None) -> pd.DataFrame:
    """ВПР far above the reference in an ordinary school, not confirmed by ОГЭ/ЕГЭ of the same school.

    e = (school mean − reference mean) / reference SD for ВПР (the cell) and for ГИА
    (same subject, years within ± gia_years_window, inverse-variance pooled over exams).
    Flagged for schools that are not лицей/гимназия/СОШ с УИОП when e_ВПР ≥ gia_far_above,
    e_ВПР − e_ГИА ≥ gia_min_gap and the gap is significant (p < alpha with τ²).
    """
    c = cells.loc[in_scope(cells, grades, subjects)].copy()
    need = {"year", "exam", "school_id", "subject", "primary_score"}
    if len(c) == 0:
        return finish(pd.DataFrame())
    c = c.merge(tests[TEST_KEYS + ["mean", "sd"]].rename(columns={"mean": "rm", "sd": "rsd"}), on=TEST_KEYS)
    c["ev"] = (c["mean"] - c["rm"]) / c["rsd"]
    c["sev"] = (c["se_pooled"] if "se_pooled" in c.columns else c["sd"] / np.sqrt(c["n"])) / c["rsd"]
    attrs = school_attributes(schools)
    c = c.merge(attrs[["school_id", "org_type"]], on="school_id", how="left")
    selective = c["org_type"].isin(cfg["selective_org_types"])
    have_gia = gia is not None and len(gia) > 0 and need <= set(gia.columns)
    if not have_gia:
        c["value"] = np.nan
        c["flagged"] = None
        c["detail"] = "не оценивается: нет результатов ОГЭ/ЕГЭ"
        return _rows(c, "high_not_confirmed")
    g = gia.loc[gia["primary_score"].notna(), ["year", "exam", "school_id", "subject", "primary_score"]].copy()
    g["year"] = g["year"].astype("int64")
    g["school_id"] = g["school_id"].astype(str)
    g["exam"] = g["exam"].astype(str)
    gk = ["year", "exam", "subject"]
    sc = grouped_moments(g, gk + ["school_id"], "primary_score")
    rf = grouped_moments(g, gk, "primary_score").rename(columns={"mean": "gm", "sd": "gsd", "n": "gn"})
    sc = sc.merge(rf, on=gk)
    sc["eg"] = (sc["mean"] - sc["gm"]) / sc["gsd"]
    sc["seg"] = (sc["sd"].fillna(sc["gsd"]) / sc["gsd"]) / np.sqrt(sc["n"])
    sc = sc.loc[np.isfinite(sc["eg"]) & (sc["seg"] > 0)]
    # map ГИА subjects to ВПР subjects
    inv = {gs: vs for vs, lst in GIA_SUBJECTS.items() for gs in lst}
    sc["vsubject"] = sc["subject"].map(lambda x: inv.get(x, x))
    sc["w"] = 1.0 / sc["seg"] ** 2
    w = int(cfg["gia_years_window"])
    base = c[["year", "school_id", "subject"]].drop_duplicates()
    parts = []
    for dy in range(-w, w + 1):
        t = sc.assign(year=sc["year"] - dy)[["year", "school_id", "vsubject", "eg", "w", "n"]]
        parts.append(base.merge(t.rename(columns={"vsubject": "subject"}), on=["year", "school_id", "subject"]))
    gg = pd.concat(parts, ignore_index=True)
    if len(gg):
        gg["ew"] = gg["eg"] * gg["w"]
        pooled = gg.groupby(["year", "school_id", "subject"]).agg(ew=("ew", "sum"), w=("w", "sum"),
                                                                   gia_n=("n", "sum")).reset_index()
        pooled["eg"] = pooled["ew"] / pooled["w"]
        pooled["seg"] = 1.0 / np.sqrt(pooled["w"])
        c = c.merge(pooled[["year", "school_id", "subject", "eg", "seg", "gia_n"]],
                    on=["year", "school_id", "subject"], how="left")
    else:
        c["eg"], c["seg"], c["gia_n"] = np.nan, np.nan, np.nan
    c["diff"] = c["ev"] - c["eg"]
    c["sed"] = np.sqrt(c["sev"] ** 2 + c["seg"] ** 2)
    ok = (c["n"] >= int(cfg["min_n"])) & c["diff"].notna() & c["sed"].notna() & ~selective
    c["dd"] = c["diff"].where(ok)
    c["tau2"] = grouped_tau2(c, TEST_KEYS, "dd", "sed")
    med = c.groupby(TEST_KEYS)["dd"].transform("median").fillna(0.0)
    scale = np.sqrt(c["sed"] ** 2 + c["tau2"])
    z = (c["diff"] - med) / scale
    zc = _zcrit(cfg)
    cond = (z > zc) & (c["ev"] >= float(cfg["gia_far_above"])) & (c["diff"] >= float(cfg["gia_min_gap"]))
    c["value"] = c["diff"]
    c["threshold"] = np.maximum(float(cfg["gia_min_gap"]), med + zc * scale)
    c["p_value"] = np.where(ok & (c["ev"] >= float(cfg["gia_far_above"])), st.norm.sf(z), np.where(ok, 1.0, np.nan))
    c["flagged"] = _flag(ok, cond)
    c["ci_low"] = c["diff"] - 1.96 * c["sed"]
    c["ci_high"] = c["diff"] + 1.96 * c["sed"]
    det = []
    for a, sel, ev, eg, d, gn in zip(ok, selective, c["ev"], c["eg"], c["diff"], c["gia_n"]):
        if sel:
            det.append("не применяется: лицей, гимназия или школа с углублённым изучением предметов")
        elif not np.isfinite(eg) if eg is not None else True:
            det.append("не оценивается: нет результатов ОГЭ/ЕГЭ школы по этому предмету")
        elif not a:
            det.append("не оценивается: мало участников")
        else:
            det.append(f"msoko: ВПР {_fmt(ev, 2)} SD от эталона, ОГЭ/ЕГЭ {_fmt(eg, 2)} SD "
                       f"(n ГИА={int(gn)}); расхождение {_fmt(d, 2)} SD")
    c["detail"] = det
    return _rows(c, "high_not_confirmed")


# ---------------------------------------------------------------- swings across years (Jacob & Levitt)

def swing_table(cells: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """Standardised school results e = (x̄ − reference)/SD with their neighbours in time.

    before = mean of (Y−1, g−1) [same cohort] and (Y−1, g) [same grade]; after = mean of
    (Y+1, g+1) and (Y+1, g); rise = e − before, fall = e − after; swing = e − mean of all
    neighbours present.
    """
    c = cells.merge(tests[TEST_KEYS + ["mean", "sd"]].rename(columns={"mean": "rm", "sd": "rsd"}), on=TEST_KEYS)
    c = c.astype({k: "float64" for k in ("mean", "sd", "rm", "rsd", "n")})
    c["e"] = (c["mean"] - c["rm"]) / c["rsd"]
    if "se_pooled" in c.columns:
        c["se2"] = (c["se_pooled"].astype("float64") / c["rsd"]) ** 2
    else:
        c["se2"] = (c["sd"].fillna(c["rsd"]) / c["rsd"]) ** 2 / c["n"]
    base = c[CELL_KEYS + ["e", "se2", "n", "mean"]].copy()
    k = ["year", "grade", "subject", "school_id"]
    acc = {}
    for side, shifts in (("before", [(-1, -1), (-1, 0)]), ("after", [(1, 1), (1, 0)])):
        s_e = np.zeros(len(base))
        s_v = np.zeros(len(base))
        cnt = np.zeros(len(base))
        for dy, dg in shifts:
            nb = base[k + ["e", "se2"]].copy()
            nb["year"] = nb["year"] - dy
            nb["grade"] = nb["grade"] - dg
            m = base[k].merge(nb, on=k, how="left")
            has = m["e"].notna().to_numpy()
            s_e += np.where(has, m["e"].to_numpy(), 0.0)
            s_v += np.where(has, m["se2"].to_numpy(), 0.0)
            cnt += has
        with np.errstate(invalid="ignore", divide="ignore"):
            acc[side] = np.where(cnt > 0, s_e / cnt, np.nan)
        acc[side + "_s"], acc[side + "_vs"], acc[side + "_n"] = s_e, s_v, cnt
    base["before"], base["after"] = acc["before"], acc["after"]
    rise = base["e"] - base["before"]
    fall = base["e"] - base["after"]
    base["rise"], base["fall"] = rise, fall
    # the statistic: the cell against the mean of every neighbour present (more neighbours,
    # less noise); "rise then fall" is required when both sides exist (see swing_rows)
    k = acc["before_n"] + acc["after_n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        nb = (acc["before_s"] + acc["after_s"]) / k
        nbv = (acc["before_vs"] + acc["after_vs"]) / k ** 2
    base["neighbours"] = k
    base["swing"] = np.where(k > 0, base["e"] - nb, np.nan)
    base["se_swing"] = np.sqrt(base["se2"] + np.where(k > 0, nbv, np.nan))
    return base


def swing_rows(cells: pd.DataFrame, tests: pd.DataFrame, cfg: dict, grades=None, subjects=None) -> pd.DataFrame:
    if len(cells) == 0:
        return finish(pd.DataFrame())
    c = swing_table(cells, tests)
    c = c.loc[in_scope(c, grades, subjects)].copy()
    if len(c) == 0:
        return finish(pd.DataFrame())
    ok = (c["n"] >= int(cfg["min_n"])) & c["swing"].notna() & c["se_swing"].notna()
    # a cell's own deviation from the school's level (variance σ²) enters the swing with the mean of
    # its k neighbours' deviations: σ²(1 + 1/k). σ² is estimated on swings standardised by
    # √(1 + 1/k) — one τ² for all k judged a cell with one neighbour against too small a spread
    # (on data simulated from this null: 3× the nominal share below p = 0.001 at k = 1)
    infl = np.sqrt(1.0 + 1.0 / c["neighbours"].where(c["neighbours"] > 0))
    c["sw"] = (c["swing"] / infl).where(ok)
    c["se_sw"] = c["se_swing"] / infl
    c["tau2"] = grouped_tau2(c, ["grade", "subject"], "sw", "se_sw")
    med = c.groupby(["grade", "subject"])["sw"].transform("median").fillna(0.0) * infl
    scale = np.sqrt(c["se_swing"] ** 2 + c["tau2"] * infl ** 2)
    z = (c["swing"] - med) / scale
    zc = _zcrit(cfg)
    c["value"] = c["swing"]
    c["threshold"] = np.maximum(float(cfg["swing_min"]), med + zc * scale)
    c["p_value"] = np.where(ok, st.norm.sf(z), np.nan)
    both = c["rise"].notna() & c["fall"].notna()
    shape = ~both | ((c["rise"] > 0) & (c["fall"] > 0))   # rise then fall when both sides exist
    c["p_value"] = np.where(ok & shape, c["p_value"], np.where(ok, 1.0, np.nan))
    c["flagged"] = _flag(ok, (z > zc) & (c["swing"] >= float(cfg["swing_min"])) & shape)
    c["ci_low"] = c["swing"] - 1.96 * c["se_swing"]
    c["ci_high"] = c["swing"] + 1.96 * c["se_swing"]
    c["detail"] = [
        (f"msoko: результат {_fmt(e, 2)} SD от эталона; до: {_fmt(b, 2)}, после: {_fmt(a, 2)} "
         f"(та же параллель и тот же класс в соседние годы); всплеск {_fmt(s, 2)} SD") if o else
        "не оценивается: нет результатов школы в соседние годы или мало участников"
        for e, b, a, s, o in zip(c["e"], c["before"], c["after"], c["swing"], ok)]
    return _rows(c, "score_swing")


# ---------------------------------------------------------------- bunching at mark boundaries

def mark_boundaries(students: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """min3/min4/min5 per test: msoko's mark scales (msoko.marks), else inferred from the marks in the data.

    Inference: the lowest primary score at which most works carry a mark ≥ k.
    """
    out = tests[TEST_KEYS].copy()
    try:
        from msoko.marks import load_scales
        sc = load_scales()[["year", "grade", "subject", "min3", "min4", "min5"]].astype({"year": "int64", "grade": "int64"})
        out = out.merge(sc, on=TEST_KEYS, how="left")
    except Exception:  # noqa: BLE001 - scales are optional here
        out[["min3", "min4", "min5"]] = np.nan
    s = students.loc[students["mark"].notna(), TEST_KEYS + ["primary_score", "mark"]]
    if len(s):
        s = s.assign(score=s["primary_score"].round())
        for k in (3, 4, 5):
            t = s.assign(hit=(s["mark"] >= k).astype(float)).groupby(TEST_KEYS + ["score"])["hit"].mean().reset_index()
            t = t.loc[t["hit"] > 0.5].groupby(TEST_KEYS)["score"].min().rename(f"inf{k}").reset_index()
            out = out.merge(t, on=TEST_KEYS, how="left")
            out[f"min{k}"] = out[f"min{k}"].fillna(out[f"inf{k}"])
            out = out.drop(columns=f"inf{k}")
    return out


def smooth_counterfactual(hist: np.ndarray, excluded: np.ndarray, max_degree: int) -> np.ndarray:
    """Dee et al. (2019)-style counterfactual: a polynomial in the score fitted to log counts
    outside the windows around the mark boundaries (i.e. with a dummy for each excluded
    score), evaluated everywhere and normalised to a distribution."""
    m = len(hist) - 1
    x = np.arange(m + 1) / max(m, 1)
    keep = ~excluded
    kept = int(keep.sum())
    if kept < 3:
        p = hist + 0.5
        return p / p.sum()
    deg = int(min(max_degree, max(1, kept // 3), kept - 2))
    y = np.log(hist[keep] + 0.5)
    w = np.sqrt(hist[keep] + 0.5)
    coef = np.polyfit(x[keep], y, deg, w=w)
    f = np.exp(np.clip(np.polyval(coef, x), -30, 30))
    return f / f.sum()


def _tilt(f0: np.ndarray, target: np.ndarray, iters: int = 40) -> np.ndarray:
    """Exponential tilts p_s(x) ∝ f0(x)·exp(θ_s·x) (x = score/max) matching each school's mean."""
    m = len(f0) - 1
    x = np.arange(m + 1) / max(m, 1)
    lf = np.log(np.maximum(f0, 1e-300))
    th = np.zeros(len(target))
    tgt = np.clip(target, 0.5 / max(m, 1), 1 - 0.5 / max(m, 1))
    for _ in range(iters):
        lp = lf[None, :] + th[:, None] * x[None, :]
        lp -= lp.max(axis=1, keepdims=True)
        p = np.exp(lp)
        p /= p.sum(axis=1, keepdims=True)
        mu = p @ x
        var = np.maximum(p @ (x * x) - mu * mu, 1e-6)
        step = np.clip((tgt - mu) / var, -10, 10)
        th = np.clip(th + step, -80, 80)
        if np.max(np.abs(step)) < 1e-7:
            break
    lp = lf[None, :] + th[:, None] * x[None, :]
    lp -= lp.max(axis=1, keepdims=True)
    p = np.exp(lp)
    return p / p.sum(axis=1, keepdims=True)


def _windows(bounds, m, cfg):
    above, below = int(cfg["bunching_above"]), int(cfg["bunching_below"])
    out = []
    for b in bounds:
        if not np.isfinite(b):
            continue
        b = int(round(b))
        if b < 1 or b > m:
            continue
        a = np.arange(b, min(b + above, m + 1))
        z = np.arange(max(b - below, 0), b)
        if len(a) and len(z):
            out.append((b, a, z))
    return out


def bunching_rows(students: pd.DataFrame, tests: pd.DataFrame, cfg: dict, grades=None, subjects=None,
                  keep_reference: list | None = None) -> pd.DataFrame:
    """Excess of works at/just above the mark boundaries against a smooth reference-adjusted distribution.

    For each boundary b the works in A = [b, b+above) and B = [b−below, b) of a school are
    compared with π = p(A)/(p(A)+p(B)) under the school's counterfactual p: the
    reference population's smooth polynomial fit (windows excluded), exponentially tilted
    to the school's mean. O = Σ works in A, E = Σ N·π over the boundaries; p = P(X ≥ O),
    X ~ Binomial(N, E/N).
    ``value`` = (O − E)/N in p.p. of the window works, with a Wilson interval.
    """
    s = students.loc[in_scope(students, grades, subjects)]
    if len(s) == 0:
        return finish(pd.DataFrame())
    bnd = mark_boundaries(s, tests.loc[in_scope(tests, grades, subjects)])
    marks = [int(k) for k in cfg["bunching_marks"]]
    zc = _zcrit(cfg)
    parts = []
    for (year, grade, subject), grp in s.groupby(TEST_KEYS, sort=True, observed=True):
        row = bnd.loc[(bnd["year"] == year) & (bnd["grade"] == grade) & (bnd["subject"] == subject)]
        mx = grp["test_max"].max()
        if not np.isfinite(mx) or len(row) == 0:
            continue
        m = int(round(mx))
        bounds = [row.iloc[0].get(f"min{k}", np.nan) for k in marks]
        wins = _windows(bounds, m, cfg)
        if not wins:
            continue
        sc = grp["primary_score"].round().clip(0, m).astype(int).to_numpy()
        sid, schools = pd.factorize(grp["school_id"], sort=True)
        ns = len(schools)
        counts = np.bincount(sid * (m + 1) + sc, minlength=ns * (m + 1)).reshape(ns, m + 1).astype(float)
        hist = counts.sum(axis=0)
        excluded = np.zeros(m + 1, dtype=bool)
        for _, a, z in wins:
            excluded[a] = True
            excluded[z] = True
        f0 = smooth_counterfactual(hist, excluded, int(cfg["bunching_max_degree"]))
        if keep_reference is not None:
            keep_reference.append(pd.DataFrame({"year": year, "grade": grade, "subject": subject,
                                                "score": np.arange(m + 1), "count": hist, "smooth": f0 * hist.sum(),
                                                "window": excluded,
                                                "boundaries": [",".join(str(w[0]) for w in wins)] * (m + 1)}))
        n = counts.sum(axis=1)
        mean = (counts @ np.arange(m + 1)) / np.maximum(n, 1)
        p = _tilt(f0, mean / m)
        O = np.zeros(ns)
        E = np.zeros(ns)
        V = np.zeros(ns)
        N = np.zeros(ns)
        for _, a, z in wins:
            pa, pb = p[:, a].sum(axis=1), p[:, z].sum(axis=1)
            pi = pa / np.maximum(pa + pb, 1e-300)
            oa, ob = counts[:, a].sum(axis=1), counts[:, z].sum(axis=1)
            O += oa
            N += oa + ob
            E += (oa + ob) * pi
            V += (oa + ob) * pi * (1 - pi)
        ok = (n >= int(cfg["min_n"])) & (N >= int(cfg["bunching_min_window"])) & (V > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            pbar = np.clip(E / N, 1e-9, 1 - 1e-9)
            d = O / N - pbar
            se = np.sqrt(pbar * (1 - pbar) / N)
        # Calibration against the reference population ("typical"): where every school shows
        # the peaks (a regional pattern), a school is flagged when its excess is unusual among
        # schools — the regional excess is reported in the detail. "smooth": the plain Dee test.
        centre, tau2 = 0.0, 0.0
        if cfg.get("bunching_reference", "typical") == "typical" and ok.sum() >= 5:
            centre = max(0.0, float(np.median(d[ok])))
            tau2 = robust_tau2(d[ok], se[ok])
        pstar = np.clip(pbar + centre, 1e-6, 1 - 1e-6)
        rho = np.clip(tau2 / (pstar * (1 - pstar)), 1e-6, 0.5)
        ab = 1.0 / rho - 1.0
        # beta-binomial tail (binomial when τ² = 0; exact for one boundary, slightly conservative
        # for several — a Poisson-binomial is less dispersed)
        pv, crit = betabinom_tail(O, N, pstar * ab, (1 - pstar) * ab, float(cfg["alpha"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            value = 100 * (O - E) / N
            thr = 100 * (crit - E) / N
            lo, hi = wilson_ci(O, N)
            lo, hi = 100 * (lo - E / N), 100 * (hi - E / N)
        typical = (f"; типичный избыток по школам эталона {_fmt(100 * centre)} п.п." if centre > 0.005 else "")
        parts.append(pd.DataFrame({
            "year": year, "grade": grade, "subject": subject, "school_id": np.asarray(schools), "n": n,
            "value": value, "threshold": thr, "ci_low": lo, "ci_high": hi,
            "p_value": np.where(ok, pv, np.nan), "flagged": _flag(ok, pv < float(cfg["alpha"])),
            "detail": [(f"msoko: на границах отметок ({', '.join(str(w[0]) for w in wins)} б.)"
                        + (f" и до {int(cfg['bunching_above']) - 1} б. выше" if int(cfg['bunching_above']) > 1 else "")
                        + f" — {int(o)} работ из {int(nn)} в окрестности границ (от {int(cfg['bunching_below'])} б. ниже) "
                        f"при ожидаемых {_fmt(e)} по гладкому распределению" + typical)
                       if a_ else "не оценивается: мало работ около границ отметок"
                       for o, nn, e, a_ in zip(O, N, E, ok)]}))
    if not parts:
        return finish(pd.DataFrame())
    return _rows(pd.concat(parts, ignore_index=True), "bunching")


def school_bunching_curve(students: pd.DataFrame, tests: pd.DataFrame, cfg: dict, year, grade, subject,
                          school_id, cache: dict | None = None) -> pd.DataFrame:
    """Picture data for one school: score, observed, expected (tilted smooth), is_window, boundary.

    What is the same for every school of the work (its scores, mark boundaries, windows and smooth
    counterfactual) is kept in ``cache`` when one is given: compute draws ~170 works of a municipality."""
    key = (year, grade, subject)
    work = cache.get(key) if cache is not None else None
    if work is None:
        if cache is not None:
            # the rows of every work at once: a comparison of the whole frame per work (and per school of a
            # work without pupils, which is not kept) grew with works × pupils on a region
            rows = cache.get("_rows")
            if rows is None:
                rows = cache["_rows"] = students.groupby(["year", "grade", "subject"], observed=True,
                                                         sort=False).indices
            s = students.iloc[rows.get(key, np.array([], dtype=np.int64))]
        else:
            s = students.loc[(students["year"] == year) & (students["grade"] == grade)
                             & (students["subject"] == subject)]
        if len(s) == 0:
            return pd.DataFrame(columns=["score", "observed", "expected", "window", "boundary"])
        m = int(round(s["test_max"].max()))
        if cache is not None:
            # the boundaries of every work at once (a work's rows are those mark_boundaries gives it alone)
            allb = cache.get("_boundaries")
            if allb is None:
                allb = cache["_boundaries"] = mark_boundaries(students, tests)
            bnd = allb.loc[(allb["year"] == year) & (allb["grade"] == grade) & (allb["subject"] == subject)]
        else:
            bnd = mark_boundaries(s, tests.loc[(tests["year"] == year) & (tests["grade"] == grade)
                                               & (tests["subject"] == subject)])
        bounds = [bnd.iloc[0].get(f"min{k}", np.nan) for k in cfg["bunching_marks"]] if len(bnd) else []
        wins = _windows(bounds, m, cfg)
        sc = s["primary_score"].round().clip(0, m).astype(int)
        hist = np.bincount(sc, minlength=m + 1).astype(float)
        excluded = np.zeros(m + 1, dtype=bool)
        for _, a, z in wins:
            excluded[a] = True
            excluded[z] = True
        f0 = smooth_counterfactual(hist, excluded, int(cfg["bunching_max_degree"]))
        work = (m, wins, sc.to_numpy(), s["school_id"].to_numpy(), excluded, f0)
        if cache is not None:
            cache[key] = work
    m, wins, sc_all, ids, excluded, f0 = work
    own = sc_all[ids == school_id]
    obs = np.bincount(own, minlength=m + 1).astype(float)
    p = _tilt(f0, np.array([own.mean() / m if len(own) else 0.5]))[0]
    bset = {w[0] for w in wins}
    return pd.DataFrame({"score": np.arange(m + 1), "observed": obs, "expected": p * len(own), "window": excluded,
                         "boundary": [x in bset for x in range(m + 1)]})


# ---------------------------------------------------------------- task-level signs (wide matrix)

def _changes(s: pd.Series) -> np.ndarray:
    """Boolean array: row i differs from row i−1 in ``s`` (first row True)."""
    n = len(s)
    out = np.ones(n, dtype=bool)
    if n < 2:
        return out
    if isinstance(s.dtype, pd.CategoricalDtype):
        # a missing code (−1) differs from its neighbour, as a missing string does below
        v = s.cat.codes.to_numpy()
        out[1:] = (v[1:] != v[:-1]) | (v[1:] < 0) | (v[:-1] < 0)
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        out[1:] = ~((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1])))
    else:
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
            a = pa.array(s.array) if hasattr(s.array, "__arrow_array__") else pa.array(s.astype(str).to_numpy())
            ne = pc.fill_null(pc.not_equal(a.slice(1), a.slice(0, n - 1)), True)
            out[1:] = ne.to_numpy(zero_copy_only=False)
        except Exception:  # noqa: BLE001 - plain numpy fallback
            v = s.astype(str).to_numpy()
            out[1:] = v[1:] != v[:-1]
    return out


def _take(s: pd.Series, idx: np.ndarray):
    """Values of ``s`` at positions ``idx`` as a plain array (Arrow take on combined chunks for strings)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
        return s.to_numpy()[idx]
    if isinstance(s.dtype, pd.CategoricalDtype):
        # the values in the dtype of the categories (Arrow-backed strings as when read as strings)
        cats = s.cat.categories
        return pd.array(cats.take(s.cat.codes.to_numpy()[idx], allow_fill=True), dtype=cats.dtype)
    if hasattr(s.array, "__arrow_array__") and not isinstance(s.dtype, pd.CategoricalDtype):
        try:
            import pyarrow as pa
            a = pa.array(s.array)
            out = a.take(pa.array(idx))
            if isinstance(out, pa.ChunkedArray):
                out = out.combine_chunks()
            return pd.array(out, dtype=s.dtype)
        except Exception:  # noqa: BLE001
            pass
    return s.take(idx).to_numpy()


def _factorize(s: pd.Series):
    """pd.factorize, through Arrow's dictionary encoding for Arrow-backed strings (much faster)."""
    if hasattr(s.array, "__arrow_array__") and not isinstance(s.dtype, pd.CategoricalDtype):
        try:
            import pyarrow as pa
            import pyarrow.compute as pc
            d = pc.dictionary_encode(pa.array(s.array))
            if isinstance(d, pa.ChunkedArray):
                d = d.combine_chunks()
            codes = d.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            return codes, pd.Index(d.dictionary.to_pylist())
        except Exception:  # noqa: BLE001
            pass
    return pd.factorize(s, sort=False)


def _student_ids(t: pd.DataFrame, keys: list[str], expected: int | None = None):
    """Integer id per student work of the long task table, and the first row of each.

    Exports list a student's tasks on consecutive rows, so ids come from runs of equal keys
    (a few vectorised comparisons instead of hashing millions of strings). The runs are
    trusted when there are no more of them than present students (``expected``) or no key
    turns up in two runs; otherwise the general grouping is used.
    """
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.zeros(len(t), dtype=bool)
    for k in keys:
        change |= _changes(t[k])
    sid = np.cumsum(change) - 1
    first = np.flatnonzero(change)
    if expected is not None and len(first) <= expected:
        return sid, first
    if not t.iloc[first][keys].duplicated().any():
        return sid, first
    sid = t.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    return sid, np.unique(sid, return_index=True)[1]


class TaskMatrix:
    """Present students × tasks score matrix per test, built once from vpr_tasks (no Python loop over rows)."""

    CACHE_TESTS = True

    def __init__(self, tasks: pd.DataFrame, students: pd.DataFrame, specs: pd.DataFrame | None,
                 grades=None, subjects=None):
        keys = CELL_KEYS + ["student_code"]
        scope = in_scope(tasks, grades, subjects)
        t = tasks if scope.all() else tasks.loc[scope, keys + ["task", "score"]]
        sid, first = _student_ids(t, keys, expected=int(in_scope(students, grades, subjects).sum()))
        tid, tnames = _factorize(t["task"])
        tnames = pd.Index(tnames).astype(str)
        ns = int(sid.max()) + 1 if len(sid) else 0
        self.scores = np.full((ns, len(tnames)), np.nan)
        self.present = np.zeros((ns, len(tnames)), dtype=bool)
        self.scores[sid, tid] = t["score"].to_numpy(dtype="float64", na_value=np.nan)
        self.present[sid, tid] = True
        info = pd.DataFrame({k: _take(t[k], first) for k in keys})
        info = info.astype({"year": "int64", "grade": "int64"})
        for c in ("subject", "school_id", "student_code"):
            if isinstance(info[c].dtype, pd.CategoricalDtype):
                info[c] = info[c].astype(str)
        stu = students[keys + ["class"]]
        info = info.merge(stu, on=keys, how="left")
        # integer codes used by the per-test statistics (no string hashing per test)
        self.school_code, self.school_names = _factorize(info["school_id"])
        cls = _factorize(info["class"].fillna(""))[0]
        self.group_code = pd.factorize(self.school_code.astype(np.int64) * (int(cls.max()) + 2 if len(cls) else 1)
                                       + cls)[0]
        self.info = info
        self.tasks = np.asarray(tnames)
        self.specs = specs

    def tests(self):
        """Yield (year, grade, subject, row indices, column indices, task names, max per task, levels).

        Computed once and kept (three signs walk the same tests; ``CACHE_TESTS = False`` recomputes
        them per walk, as before — benchmarks/objectivity.py --speed)."""
        if not self.CACHE_TESTS:
            yield from self._make_tests()
            return
        if getattr(self, "_tests", None) is None:
            self._tests = list(self._make_tests())
        yield from self._tests

    def _make_tests(self):
        if len(self.info) == 0:
            return
        sp = self.specs
        by_work = {}
        if sp is not None and len(sp) and {"grade", "subject", "task"} <= set(sp.columns):
            g = pd.to_numeric(sp["grade"], errors="coerce")
            by_work = {key: q for key, q in sp.assign(_g=g).groupby(["_g", "subject"], observed=True, sort=False)}
        unique_tasks = {}   # a work's specification once for all its years
        for (year, grade, subject), idx in self.info.groupby(TEST_KEYS, sort=True).indices.items():
            cols = np.flatnonzero(self.present[idx].any(axis=0))
            if len(cols) == 0:
                continue
            names = self.tasks[cols]
            X = self.scores[np.ix_(idx, cols)]
            mx = np.nanmax(np.where(np.isnan(X), -np.inf, X), axis=0)
            levels = np.array([None] * len(cols), dtype=object)
            if by_work:
                q = by_work.get((grade, subject))
                if q is not None and len(q):
                    if (grade, subject) not in unique_tasks:
                        u = q.drop_duplicates("task")
                        unique_tasks[(grade, subject)] = u.set_index(u["task"].astype(str))
                    q = unique_tasks[(grade, subject)]
                    if "max_score" in q.columns:
                        smx = q["max_score"].reindex(names).to_numpy(dtype="float64", na_value=np.nan)
                        mx = np.where(np.isfinite(smx) & (smx > 0), smx, mx)
                    if "level" in q.columns:
                        levels = q["level"].reindex(names).to_numpy(dtype=object)
            mx = np.where(np.isfinite(mx) & (mx > 0), mx, 1.0)
            yield year, grade, subject, idx, cols, names, mx, levels


def _logit(p):
    return np.log(p) - np.log1p(-p)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def tasks_rows(tm: TaskMatrix, cfg: dict, level_table: list | None = None) -> pd.DataFrame:
    """Basic (Б) tasks done worse than advanced (П/В) ones, relative to the reference population.

    Rasch-like expectation: the school's completion of task j is expit(logit p_j + δ_s), p_j the
    reference completion, δ_s matched to the school's overall completion (this removes the
    ceiling effect: strong schools gain less on easy tasks). Per student
    r = (advanced − expected advanced) − (basic − expected basic); statistic = mean r (p.p.)
    with a t interval; z uses the between-school variance τ² (median rule, :func:`robust_tau2`).

    p-value: the upper tail of a Student t with ``tasks_t_df`` (10) degrees of freedom scaled to
    the normal at its quartiles — a heavy-tailed between-school distribution. The normal tail
    did not hold on the real sample (Altai 2020–2021, 3,521 cells): 1.76 % of cells below
    p = 0.01 and 0.45 % below 0.001 (nominal 1 % and 0.1 %), the normal quantiles matched up to
    the 75th percentile of z but not beyond (99.9th: 3.98 against 3.09), and its flags were
    corroborated by no other family nor repeated in the same cell the next year; t₁₀ gives
    5.0 %, 0.80 % and 0.11 % there (benchmarks/objectivity.py --real).
    """
    parts = []
    for year, grade, subject, idx, cols, names, mx, levels in tm.tests():
        lv = np.array([str(x) if x is not None and x == x else "" for x in levels])
        bmask = lv == "Б"
        amask = np.isin(lv, ["П", "В"])
        if bmask.sum() == 0 or amask.sum() == 0:
            continue
        X = np.nan_to_num(tm.scores[np.ix_(idx, cols)], nan=0.0)
        X = np.minimum(X, mx[None, :])
        sid, scodes = pd.factorize(tm.school_code[idx])
        schools = np.asarray(tm.school_names)[scodes]
        ns = len(schools)
        pj = np.clip(X.sum(axis=0) / (len(idx) * mx), 0.005, 0.995)
        share = X.sum(axis=1) / mx.sum()
        n = np.bincount(sid, minlength=ns).astype(float)
        target = np.bincount(sid, weights=share, minlength=ns) / np.maximum(n, 1)
        d = np.zeros(ns)
        lj = _logit(pj)
        for _ in range(40):
            q = _expit(lj[None, :] + d[:, None])
            f = (q * mx).sum(axis=1) / mx.sum() - target
            fp = (q * (1 - q) * mx).sum(axis=1) / mx.sum()
            step = np.clip(f / np.maximum(fp, 1e-9), -5, 5)
            d -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        q = _expit(lj[None, :] + d[:, None])
        eb = (q[:, bmask] * mx[bmask]).sum(axis=1) / mx[bmask].sum()
        ea = (q[:, amask] * mx[amask]).sum(axis=1) / mx[amask].sum()
        b = X[:, bmask].sum(axis=1) / mx[bmask].sum()
        a = X[:, amask].sum(axis=1) / mx[amask].sum()
        r = (a - ea[sid]) - (b - eb[sid])
        sr = np.bincount(sid, weights=r, minlength=ns)
        sr2 = np.bincount(sid, weights=r * r, minlength=ns)
        mean_r = sr / np.maximum(n, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            # pooled within-school variance of r: stable for small schools
            ssw = np.where(n > 1, sr2 - sr * sr / np.maximum(n, 1), 0.0)
            pooled_var = ssw.sum() / max((n - 1).clip(min=0).sum(), 1)
            se = np.where(n > 1, np.sqrt(pooled_var / n), np.nan)
        ok = (n >= int(cfg["min_n"])) & np.isfinite(se)
        tau2 = robust_tau2(np.where(ok, mean_r, np.nan), se)
        scale = np.sqrt(se ** 2 + tau2)
        med = float(np.nanmedian(np.where(ok, mean_r, np.nan))) if ok.any() else 0.0
        ok &= scale > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (mean_r - med) / scale
        # heavy-tailed between-school reference: Student t with tasks_t_df degrees of freedom,
        # scaled to the normal at its quartiles (the median rule above fits the centre)
        nu = float(cfg["tasks_t_df"])
        ts = st.norm.ppf(0.75) / st.t.ppf(0.75, nu)
        zc = ts * float(st.t.isf(float(cfg["alpha"]), nu))
        gap = float(cfg["tasks_min_gap"]) / 100
        bo = np.bincount(sid, weights=b, minlength=ns) / np.maximum(n, 1)
        ao = np.bincount(sid, weights=a, minlength=ns) / np.maximum(n, 1)
        pb_ref = (X[:, bmask].sum() / (len(idx) * mx[bmask].sum()))
        pa_ref = (X[:, amask].sum() / (len(idx) * mx[amask].sum()))
        if level_table is not None:
            level_table.append(pd.DataFrame({"year": year, "grade": grade, "subject": subject,
                                             "school_id": np.asarray(schools), "basic": 100 * bo,
                                             "basic_expected": 100 * eb, "advanced": 100 * ao,
                                             "advanced_expected": 100 * ea, "basic_reference": 100 * pb_ref,
                                             "advanced_reference": 100 * pa_ref, "n": n}))
        parts.append(pd.DataFrame({
            "year": year, "grade": grade, "subject": subject, "school_id": np.asarray(schools), "n": n,
            "value": 100 * mean_r, "threshold": 100 * np.maximum(gap, med + zc * scale),
            "ci_low": 100 * (mean_r - 1.96 * se), "ci_high": 100 * (mean_r + 1.96 * se),
            "p_value": np.where(ok, st.t.sf(z / ts, nu), np.nan),
            "flagged": _flag(ok, (z > zc) & (mean_r >= gap)),
            "detail": [(f"msoko: базовые задания {_fmt(100 * x)} % (ожидалось {_fmt(100 * ex)} %), "
                        f"повышенные и высокие {_fmt(100 * y)} % (ожидалось {_fmt(100 * ey)} %) "
                        f"при уровне школы; эталон {_fmt(100 * pb_ref)} % / {_fmt(100 * pa_ref)} %") if o_ else
                       "не оценивается: мало участников"
                       for x, ex, y, ey, o_ in zip(bo, eb, ao, ea, ok)]}))
    if not parts:
        return finish(pd.DataFrame())
    return _rows(pd.concat(parts, ignore_index=True), "tasks_basic_vs_advanced")


TEMPLATE_KINDS = {
    "flat": "одинаковый балл за каждое задание",
    "binary": "только 0 и 1 балл, в том числе за задания с максимумом 2 и более",
    "trailing": "подряд нулевые баллы за все последние задания работы",
}


def _scores_int(tm: "TaskMatrix", idx, cols) -> np.ndarray:
    """Task scores as integers ≥ 0; a task not done ('X') is 0 points, as in the total (copied works
    stay identical when the exports mark some of their zeros as 'X' and others not)."""
    raw = tm.scores[np.ix_(idx, cols)]
    return np.clip(np.round(np.nan_to_num(raw, nan=0.0)), 0, None).astype(np.int64)


def _template_masks(C: np.ndarray, mx: np.ndarray) -> dict[str, np.ndarray]:
    """Per pattern of :data:`TEMPLATE_KINDS`, the works that show it (a work may show several)."""
    n, J = C.shape
    out = {k: np.zeros(n, dtype=bool) for k in TEMPLATE_KINDS}
    if n == 0 or J == 0:
        return out
    nz = C > 0
    out["flat"] = (C == C[:, :1]).all(axis=1) & (C[:, 0] > 0) & ~(C == mx[None, :]).all(axis=1)
    poly = mx >= 2
    if poly.sum() >= 3:
        out["binary"] = ((C[:, poly] == 1).sum(axis=1) >= 3) & ~(C[:, poly] > 1).any(axis=1)
    last = np.where(nz.any(axis=1), J - 1 - np.argmax(nz[:, ::-1], axis=1), -1)
    out["trailing"] = nz.any(axis=1) & (J - 1 - last >= max(5, int(np.ceil(J / 2))))
    return out


def template_patterns(C: np.ndarray, mx: np.ndarray) -> np.ndarray:
    """Per work, the template data-entry pattern it shows ('' for none): see :data:`TEMPLATE_KINDS`.

    * ``flat`` — the same score ≥ 1 on every task (not full marks);
    * ``binary`` — the test has ≥ 3 tasks worth 2+ points and the work has exactly 1 point on at
      least 3 of them and more than 1 on none (scores that ignore the task's maximum);
    * ``trailing`` — the last max(5, J/2) tasks or more all 0 after a task with points.

    A work showing several is labelled by the first of flat, binary, trailing. Each pattern
    occurs in ordinary works too (weak pupils); the finding is a school where far more works
    show it than elsewhere (:func:`template_rows`).
    """
    masks = _template_masks(C, mx)
    out = np.full(len(C), "", dtype=object)
    for kind in ("trailing", "binary", "flat"):
        out[masks[kind]] = kind
    return out


def template_rows(tm: "TaskMatrix", cfg: dict, exclude: dict | None = None) -> pd.DataFrame:
    """Template data entry (sign ``data_entry_template``): a school where far more works than in the
    other schools of the work show one of the :func:`template_patterns` — a data-entry finding
    shown with the pattern, not evidence of copying, and not part of the combined picture.

    Per pattern, the count of such works per school (the school's largest group of identical
    pattern strings counted once: copies of one work are the answer-strings sign's business) is
    beta-binomial against the schools of the
    work (:func:`msoko.stats.betabinom_fit`, trimmed), as for the journal marks; the school's p is
    Bonferroni over the patterns (3 × the smallest) and its finding the most unusual pattern;
    flagged when p < alpha with at least ``template_min_works`` works and ``template_min_share``
    of the school's works showing that pattern.
    ``exclude`` (optional dict) receives, per test (year, grade, subject), a boolean mask over the
    test's works: the template works of flagged schools, which the answer-string sign leaves out.
    """
    from msoko.stats import betabinom_fit, betabinom_tails

    alpha = float(cfg["alpha"])
    min_k = int(cfg.get("template_min_works", 3))
    min_share = float(cfg.get("template_min_share", 0.2))
    parts = []
    for year, grade, subject, idx, cols, names, mx, levels in tm.tests():
        J = len(cols)
        if J < int(cfg["similarity_min_tasks"]):
            continue
        C = _scores_int(tm, idx, cols)
        pat = template_patterns(C, mx)
        sid, scodes = pd.factorize(tm.school_code[idx])
        ns = len(scodes)
        n = np.bincount(sid, minlength=ns).astype(float)
        ok = n >= int(cfg["min_n"])
        # each pattern against its own rate in the other schools (weak pupils show some of them),
        # Bonferroni over the patterns; the school's finding is its most unusual pattern
        kinds = list(TEMPLATE_KINDS)
        masks = _template_masks(C, mx)
        # the pattern beyond one copied work: the school's largest group of identical pattern
        # strings counts once, so copying from a work that happens to show a pattern is not
        # «template» (that is the answer-strings sign's business), while a protocol filled in
        # by a template (the pattern on many different strings) still is
        mult = np.random.default_rng(12345).integers(1, 2 ** 62, size=J, dtype=np.int64) | 1
        with np.errstate(over="ignore"):
            h = (C * mult[None, :]).sum(axis=1)
        hid = pd.factorize(h)[0].astype(np.int64)
        cols_k, raw_k = [], []
        for kk in kinds:
            w = masks[kk]
            cnt = np.bincount(sid, weights=w, minlength=ns)
            key, size = np.unique(sid[w].astype(np.int64) * (int(hid.max()) + 1) + hid[w], return_counts=True)
            big = np.zeros(ns)
            np.maximum.at(big, key // (int(hid.max()) + 1), size)
            cols_k.append(cnt - np.maximum(big - 1, 0))
            raw_k.append(cnt)
        kc = np.stack(cols_k, axis=1)
        kraw = np.stack(raw_k, axis=1)
        pk = np.ones((ns, len(kinds)))
        p0k = np.zeros(len(kinds))
        for j in range(len(kinds)):
            kj = kc[:, j]
            if kj[ok].sum() == 0:
                continue
            p0, rho = betabinom_fit(kj[ok], n[ok])
            pc = float(np.clip(p0, 1e-4, 1 - 1e-4))
            ab = 1.0 / float(np.clip(rho, 1e-6, 0.5)) - 1.0
            pk[:, j] = betabinom_tails(kj, n, pc * ab, (1 - pc) * ab)[0]
            p0k[j] = p0
        best = pk.argmin(axis=1)
        rr = np.arange(ns)
        pv = np.where(ok, np.minimum(1.0, len(kinds) * pk[rr, best]), np.nan)
        k = kc[rr, best]
        k_shown = kraw[rr, best]            # the works that show it, for the reader
        top = np.array(kinds, dtype=object)[best]
        p0 = p0k[best]
        share = k / np.maximum(n, 1)
        flag = ok & (pv < alpha) & (k >= min_k) & (share >= min_share)
        is_t = pat != ""
        if exclude is not None:
            exclude[(year, grade, subject)] = is_t & flag[sid]
        example = np.full(ns, "", dtype=object)
        for s in np.flatnonzero(flag):
            rows_s = np.flatnonzero((sid == s) & masks[top[s]])
            strings = pd.Series(["-".join(map(str, r)) for r in C[rows_s]]).value_counts()
            example[s] = f"«{strings.index[0]}» у {int(strings.iloc[0])} работ"
        parts.append(pd.DataFrame({
            "year": year, "grade": grade, "subject": subject,
            "school_id": np.asarray(tm.school_names)[scodes], "n": n, "value": 100 * k_shown / np.maximum(n, 1),
            "threshold": 100 * np.maximum(min_share, p0), "p_value": pv,
            "flagged": _flag(ok, flag),
            "detail": [(f"msoko: шаблонное заполнение протокола — {int(kk)} из {int(nn)} работ "
                        f"({_fmt(100 * sh)} %): {TEMPLATE_KINDS[t]}, при {_fmt(100 * q)} % по школам этой "
                        f"работы"
                        + (f"; например, баллы по заданиям {e}" if e else "")
                        + "; это вопрос к вводу данных, а не признак списывания") if o_ else
                       "не оценивается: мало участников"
                       for kk, nn, sh, t, q, e, o_ in zip(k_shown, n, k_shown / np.maximum(n, 1), top, p0, example,
                                                         ok)]}))
    if not parts:
        return finish(pd.DataFrame())
    return _rows(pd.concat(parts, ignore_index=True), "data_entry_template")


def _string_counts(C: np.ndarray, T: np.ndarray, school: np.ndarray, group: np.ndarray, prior_pairs: float):
    """Identical answer strings of one test, counted by class, with the expected count.

    Returns per class: ``n``, ``D`` = works that repeat a string already in the class
    (Σ over groups of identical works of (size − 1): a group of c works counts c − 1, not
    C(c, 2) pairs), ``O`` identical pairs, ``in_groups`` works in groups, ``largest`` group
    size, ``E`` the expected number of identical pairs if the class's works matched as often
    as works with the same total do in the OTHER schools of the region, and ``school``.

    The region's collision rate of works with total t, leaving the school out, is
    Σ_s N_s(N_s − 1) / (N_t(N_t − 1)) over the strings s of total t (it keeps whatever makes
    strings common — easy patterns, correlated tasks — that a model of independent tasks misses),
    shrunk towards the test's overall rate with ``prior_pairs`` pairs of weight.
    """
    n = len(T)
    mult = np.random.default_rng(12345).integers(1, 2 ** 62, size=C.shape[1], dtype=np.int64) | 1
    with np.errstate(over="ignore"):
        h = (C * mult[None, :]).sum(axis=1)
    vid = pd.factorize(h)[0]
    nv = int(vid.max()) + 1 if n else 0
    m = int(T.max()) + 1 if n else 1
    Nv = np.bincount(vid, minlength=nv).astype(float)
    t_of_v = np.zeros(nv, dtype=np.int64)
    t_of_v[vid] = T
    Nt = np.bincount(T, minlength=m).astype(float)
    pairs_t = np.bincount(t_of_v, weights=Nv * (Nv - 1), minlength=m)
    c0 = pairs_t.sum() / max((Nt * (Nt - 1)).sum(), 1.0)
    # per school × string, then per school × total: the school's own share of the colliding pairs
    ns = int(school.max()) + 1
    sv, sv_n = np.unique(school.astype(np.int64) * nv + vid, return_counts=True)
    s_of, v_of = sv // nv, sv % nv
    N = Nv[v_of]
    dlt = N * (N - 1) - (N - sv_n) * (N - sv_n - 1)
    st_key = s_of * m + t_of_v[v_of]
    st_u, st_inv = np.unique(st_key, return_inverse=True)
    dlt_st = np.bincount(st_inv, weights=dlt)
    nt_st = np.bincount(np.unique(school.astype(np.int64) * m + T, return_inverse=True)[1])
    own_key = np.unique(school.astype(np.int64) * m + T)
    nt_map = pd.Series(nt_st, index=own_key)
    nt = nt_map.reindex(st_u).to_numpy(dtype=float)
    tt = st_u % m
    rest = (Nt[tt] - nt) * (Nt[tt] - nt - 1)
    coll = (pairs_t[tt] - dlt_st + prior_pairs * c0) / np.maximum(rest + prior_pairs, 1e-12)
    coll_map = pd.Series(coll, index=st_u)
    # per class × total: expected pairs
    ng = int(group.max()) + 1
    gt, gt_n = np.unique(group.astype(np.int64) * m + T, return_counts=True)
    g_school = np.zeros(ng, dtype=np.int64)
    g_school[group] = school
    g_of = gt // m
    q = coll_map.reindex(g_school[g_of] * m + gt % m).to_numpy(dtype=float)
    E = np.bincount(g_of, weights=gt_n * (gt_n - 1) / 2 * np.nan_to_num(q), minlength=ng)
    # identical strings per class
    gv, gv_n = np.unique(group.astype(np.int64) * nv + vid, return_counts=True)
    gg = gv // nv
    D = np.bincount(gg, weights=gv_n - 1, minlength=ng)
    O = np.bincount(gg, weights=gv_n * (gv_n - 1) / 2, minlength=ng)
    in_groups = np.bincount(gg, weights=np.where(gv_n >= 2, gv_n, 0), minlength=ng)
    groups = np.bincount(gg, weights=gv_n >= 2, minlength=ng)
    largest = np.zeros(ng)
    np.maximum.at(largest, gg, gv_n)
    # the school's largest group L: expected identical L-tuples at the region's rate (leaving the
    # school out), Σ over its classes and totals of C(c_gt, L)·q_L, q_L = Σ_s N_s^(L)/N_t^(L)
    # (falling factorials), at least coll^(L−1) (Σp^L ≥ (Σp²)^(L−1))
    L_s = np.zeros(ns)
    np.maximum.at(L_s, g_school, largest)
    Lg = L_s[g_school[g_of]]
    need = (Lg >= 3) & (gt_n >= Lg)
    tuples = np.zeros(ng)
    if need.any():
        from scipy.special import gammaln

        def ff(x, L):
            with np.errstate(invalid="ignore"):
                return np.where(x >= L, np.exp(gammaln(np.maximum(x, 0) + 1) - gammaln(np.maximum(x - L, 0) + 1)), 0.0)

        k_n, t_n, L_n = g_school[g_of[need]], gt[need] % m, Lg[need]
        cand = np.flatnonzero(Nv >= 3)
        cand = cand[np.argsort(t_of_v[cand], kind="stable")]
        ct = t_of_v[cand]
        lo, hi = np.searchsorted(ct, t_n, "left"), np.searchsorted(ct, t_n, "right")
        cnt = hi - lo
        row = np.repeat(np.arange(len(t_n)), cnt)
        pos = np.repeat(lo - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())
        v_c = cand[pos]
        key = k_n[row] * nv + v_c
        at = np.clip(np.searchsorted(sv, key), 0, len(sv) - 1)
        own = np.where(sv[at] == key, sv_n[at], 0)
        num = np.bincount(row, weights=ff(Nv[v_c] - own, L_n[row]), minlength=len(t_n))
        nkt = nt_map.reindex(k_n * m + t_n).to_numpy(dtype=float)
        den = ff(Nt[t_n] - nkt, L_n)
        cl = coll_map.reindex(k_n * m + t_n).to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            qL = np.maximum(np.where(den > 0, num / den, 0.0), np.nan_to_num(cl) ** (L_n - 1))
            comb = np.exp(gammaln(gt_n[need] + 1) - gammaln(L_n + 1) - gammaln(gt_n[need] - L_n + 1))
        tuples = np.bincount(g_of[need], weights=comb * qL, minlength=ng)
    return pd.DataFrame({"school": g_school, "n": np.bincount(group, minlength=ng), "D": D, "O": O,
                         "in_groups": in_groups, "groups": groups, "largest": largest, "E": E,
                         "tuples": tuples})


def similarity_rows(tm: TaskMatrix, cfg: dict, exclude: dict | None = None) -> pd.DataFrame:
    """Improbably many identical answer strings (task-score vectors) within the classes of a school.

    Statistic: D = works that repeat a string already in their class, summed over the
    school's classes (a group of c identical works counts c − 1). Expected value: the
    number of identical pairs the classes would have if their works matched as often as
    works with the same total in the other schools of the region (:func:`_string_counts`).

    Null: works of one class are alike (one teacher, one way of scoring), more so in some
    classes than in others. D of a school is negative binomial, NegBin(mean φ·E, size r):
    φ (how much more alike a class is than the region) and r (how much that varies between
    schools) are fitted by maximum likelihood on the schools of the work, trimmed of the
    extreme ones (:func:`msoko.stats.negbin_fit`); a work with fewer than
    ``similarity_min_schools`` schools, or fewer than ``similarity_min_repeating`` that repeat
    a string, takes r from the fit pooled over
    all works (φ still its own). The floor
    ``similarity_floor`` on E keeps tests whose strings are nearly all unique in the region
    from turning one coincidence into evidence. The fit censors the extreme schools (they count
    only as «in the tail»), so the copying we look for does not widen its own yardstick.

    One large group is not the same as many pairs: when the school's largest group has
    L ≥ ``similarity_group_min`` works, it is also tested on its own — P(an identical L-tuple in
    the school) ≤ E[λ^(L−1)] × the expected identical L-tuples at the region's rate (falling
    factorial moments of the string counts in the other schools, at least coll^(L−1)), with
    λ = φ·G, G ~ Gamma(r, 1/r) the same alikeness of classes; p = min(1, 2·min(p_D, p_L))
    (Bonferroni), else p = P(X ≥ D). Flagged when p < similarity_alpha and D ≥ 2. A school
    flagged for template data entry is not assessed (its strings say nothing about copying). Works of a school flagged for template data entry (``exclude``,
    :func:`template_rows`) are left out: they are a data-entry finding, not copying.
    """
    from scipy.special import gammaln

    from msoko.stats import negbin_fit, negbin_isf, negbin_sf

    alpha = float(cfg["similarity_alpha"])
    floor = float(cfg.get("similarity_floor", 1e-3))
    min_schools = int(cfg.get("similarity_min_schools", 15))
    min_repeat = int(cfg.get("similarity_min_repeating", 10))
    prior = float(cfg.get("similarity_prior_pairs", 20))
    cells = []
    for year, grade, subject, idx, cols, names, mx, levels in tm.tests():
        J = len(cols)
        if J < int(cfg["similarity_min_tasks"]):
            continue
        C = _scores_int(tm, idx, cols)
        keep = np.ones(len(idx), dtype=bool)
        if exclude is not None and (year, grade, subject) in exclude:
            keep = ~exclude[(year, grade, subject)]
        sid, scodes = pd.factorize(tm.school_code[idx])
        gid = pd.factorize(tm.group_code[idx])[0]
        n_all = np.bincount(sid, minlength=len(scodes))
        if keep.sum() < 2:
            continue
        g2, _ = pd.factorize(gid[keep])
        cls = _string_counts(C[keep], C[keep].sum(axis=1), sid[keep], g2, prior)
        ns = len(scodes)
        sch = cls["school"].to_numpy()
        a = {k: np.bincount(sch, weights=cls[k].to_numpy(dtype=float), minlength=ns)
             for k in ("D", "O", "E", "in_groups", "groups", "tuples")}
        largest = np.zeros(ns)
        np.maximum.at(largest, sch, cls["largest"].to_numpy(dtype=float))
        a["largest"] = largest
        a["n"] = n_all
        a["template"] = np.bincount(sid, weights=~keep, minlength=len(scodes)) > 0
        a["school_id"] = np.asarray(tm.school_names)[scodes]
        a.update(year=year, grade=grade, subject=subject, J=J, test=len(cells))   # scalars: one value per row
        cells.append(pd.DataFrame(a))
    if not cells:
        return finish(pd.DataFrame())
    c = pd.concat(cells, ignore_index=True)
    # a school whose protocol was filled in by a template: its strings are no evidence of copying
    templ = c["template"].to_numpy(dtype=bool)
    ok = (c["n"] >= int(cfg["min_n"])).to_numpy() & ~templ
    m0 = np.maximum(c["E"].to_numpy(dtype=float), floor)
    D = c["D"].to_numpy(dtype=float)
    censor = float(cfg.get("similarity_censor_at", 0.003))
    pooled = negbin_fit(D[ok], m0[ok], censor_at=censor)
    phi = np.full(len(c), pooled[0])
    r = np.full(len(c), pooled[1])
    for _, ix in c.groupby("test").indices.items():
        use = ix[ok[ix]]
        if len(use) >= min_schools and (D[use] > 0).sum() >= min_repeat:
            phi[ix], r[ix] = negbin_fit(D[use], m0[use], censor_at=censor, x0=pooled)
        elif len(use) >= 3 and (D[use] > 0).any():
            # too few schools that repeat a string to tell the spread r apart from the few copying
            # schools themselves: r from all works of the region, only φ fitted on this work
            phi[ix], r[ix] = negbin_fit(D[use], m0[use], r_bounds=(pooled[1], pooled[1]), censor_at=censor,
                                        x0=pooled)
    mu = phi * m0
    p_d = negbin_sf(D, mu, r)
    # the largest group: P(an identical L-tuple) ≤ E[λ^(L−1)]·(expected L-tuples at the region's rate),
    # λ = φ·G, G ~ Gamma(r, 1/r) the school's alikeness of the negative binomial above
    L = c["largest"].to_numpy(dtype=float)
    gmin = int(cfg.get("similarity_group_min", 4))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lam = (L - 1) * np.log(phi / r) + gammaln(r + L - 1) - gammaln(r)
        p_l = np.where((L >= gmin) & (c["tuples"].to_numpy() > 0),
                       np.minimum(1.0, np.exp(np.minimum(lam + np.log(c["tuples"].to_numpy()), 0.0))), 1.0)
    p = np.where(L >= gmin, np.minimum(1.0, 2 * np.minimum(p_d, p_l)), p_d)
    crit = negbin_isf(alpha / 2, mu, r)
    c["value"] = D
    c["threshold"] = np.maximum(crit, 2)
    c["p_value"] = np.where(ok, p, np.nan)
    c["flagged"] = _flag(ok, (p < alpha) & (D >= 2))
    c["detail"] = [
        (f"msoko: в классах школы {int(g)} групп(ы) работ с полностью совпадающими баллами по всем {int(j)} "
         f"заданиям, в них {int(ig)} обучающихся (крупнейшая группа — {int(lg)}); повторяющих уже "
         f"встретившуюся в классе работу — {int(d)} при ожидаемых {_fmt(e, 2)} с учётом обычного сходства "
         f"работ одного класса в регионе")
        if o_ else ("не оценивается: протокол школы заполнен по шаблону (см. «Шаблонное заполнение протокола»), "
                    "совпадения работ не говорят о списывании") if tp else "не оценивается: мало участников"
        for g, j, ig, lg, d, e, o_, tp in zip(c["groups"], c["J"], c["in_groups"], c["largest"], D, mu, ok, templ)]
    return _rows(c, "answer_similarity")


def class_similarity_matrix(tm: TaskMatrix, year, grade, subject, school_id, klass=None) -> pd.DataFrame:
    """Picture data: pairwise number of tasks with identical scores within a class (long form)."""
    m = ((tm.info["year"] == year) & (tm.info["grade"] == grade) & (tm.info["subject"] == subject)
         & (tm.info["school_id"] == school_id))
    if klass is not None:
        m &= tm.info["class"] == klass
    idx = np.flatnonzero(m.to_numpy())
    if len(idx) == 0:
        return pd.DataFrame(columns=["student_a", "student_b", "same_tasks", "tasks", "class"])
    cols = np.flatnonzero(tm.present[idx].any(axis=0))
    raw = tm.scores[np.ix_(idx, cols)]
    Cc = np.round(np.nan_to_num(raw, nan=0.0))
    same = (Cc[:, None, :] == Cc[None, :, :]).sum(axis=2)
    codes = tm.info.iloc[idx]["student_code"].to_numpy()
    kl = tm.info.iloc[idx]["class"].astype(object).where(tm.info.iloc[idx]["class"].notna(), "").to_numpy()
    ia, ib = np.triu_indices(len(idx), 1)
    keep = kl[ia] == kl[ib]
    ia, ib = ia[keep], ib[keep]
    return pd.DataFrame({"student_a": codes[ia], "student_b": codes[ib], "same_tasks": same[ia, ib],
                         "tasks": len(cols), "class": kl[ia]})
