"""The null models of three msoko level signs, each on data simulated from its own null.

- ``tasks_basic_vs_advanced`` (:func:`ev.tasks_rows`): the school's mean per-pupil residual
  r = (advanced − expected) − (basic − expected) against the median school, z divided by
  √(se² + τ²) (τ² by the median rule, :func:`robust_tau2`), p the upper tail of a Student t with
  ``tasks_t_df`` degrees of freedom scaled to the normal at its quartiles. Its null: school
  effects on r drawn from τ × that scaled t, plus pupil noise.
- ``score_swing`` (:func:`ev.swing_rows`): the standardised cell result against the mean of its
  neighbours in time, z = (swing − median) / √(se_swing² + τ²), τ² per grade × subject; p the
  normal tail (1 when both sides exist and the shape is not "rise then fall"). Its null: a school's
  stable level plus a normal deviation of each year × grade cell, plus pupil noise.
- ``inflated_mean_similar`` (:func:`ev.inflated_mean_similar_rows`): the cell mean against the
  leave-one-out mean of similar schools, z = diff / √(se² + τ² + se_peer²), p the normal tail. Its
  null: a mean per peer group (org_type × settlement_type) plus a normal school deviation with
  one between-school variance τ² per test, plus pupil noise.

Each sign is simulated from pupils (task scores or primary scores) and run through the same frames
the pipeline gives it (``TaskMatrix``, :func:`prepare`), ≥ 2,000 assessed cells. Where the statistic
is continuous the p-values must be uniform (KS against U(0, 1), scipy); at the levels that matter
they must be valid: the share of p ≤ a at most a·1.5 + 3/N.

score_swing is valid for every number of neighbours in time k: a cell's own deviation enters the
swing with variance σ²(1 + 1/k), and the sign estimates σ² on swings standardised by √(1 + 1/k)
(with one τ² for all k, cells with one neighbour had 3× the nominal share below p = 0.001 here).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity import evidence as ev
from msoko.objectivity.core import CELL_KEYS, prepare, settings

CFG = settings({})
MATH = "Математика"
LEVELS = (0.001, 0.01, 0.05)


def _shares(p) -> dict:
    p = np.asarray(p, dtype=float)
    return {a: float((p <= a).mean()) for a in LEVELS}


def _invalid(p) -> dict:
    """Levels a at which the share of p ≤ a exceeds a·1.5 + 3/N: {a: (share, bound)}."""
    p = np.asarray(p, dtype=float)
    bound = {a: a * 1.5 + 3 / len(p) for a in LEVELS}
    return {a: (s, bound[a]) for a, s in _shares(p).items() if s > bound[a]}


def _vpr(year, grade, school_id, score, max_score=30.0) -> pd.DataFrame:
    """Present pupils' works in the shape of the vpr table (what :func:`prepare` reads)."""
    n = len(score)
    return pd.DataFrame({"year": year, "grade": grade, "subject": MATH, "school_id": school_id,
                         "student_code": np.char.add("p", np.arange(n).astype(str)), "journal_mark": np.nan,
                         "class": None, "primary_score": score, "max_score": max_score, "mark": np.nan,
                         "variant": "1", "absent": False})


# ---------------------------------------------------------------- tasks_basic_vs_advanced

NU = float(CFG["tasks_t_df"])
T_SCALE = 0.6744897501960817 / st.t.ppf(0.75, NU)        # t_ν scaled to the normal at its quartiles
TASK_MAX = np.array([1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 2, 1, 2, 2, 2, 2])
TASK_LEVEL = np.array(["Б"] * 10 + ["П"] * 4 + ["В"] * 2)
TASK_DIFF = np.concatenate([np.linspace(-1.5, 0.5, 10), np.linspace(-0.3, 1.0, 6)])


def _task_region(seed, effects, tests=8, schools=500, tau=0.05, level_sd=0.3):
    """Pupils' task scores, ``tests`` works of ``schools`` schools (20–40 pupils each).

    Rasch-like success probability expit(θ − β_j), θ = school level + N(0, 1); per school an
    effect u_s added to the success probabilities of the advanced (П/В) tasks with weight w_a and
    subtracted from the basic ones with w_b, w_a·M_a = w_b·M_b (M the points of each level), so
    the school's overall share does not move (its fitted δ_s stays) and the expected r moves by
    (w_a + w_b)·u_s = u_s. ``effects``: "t" → u_s = τ·(scaled t_ν), "normal" → u_s = τ·N(0, 1),
    both as quantiles of the same uniforms: every other random number is shared, so the two
    regions are the same data but for the distribution of the school effects.
    """
    rng = np.random.default_rng(seed)
    adv = TASK_LEVEL != "Б"
    ma, mb = TASK_MAX[adv].sum(), TASK_MAX[~adv].sum()
    w = np.where(adv, mb / (ma + mb), -ma / (ma + mb))
    k = len(TASK_MAX)
    names = np.array([str(j + 1) for j in range(k)])
    tasks, students = [], []
    for t in range(tests):
        n = rng.integers(20, 41, size=schools)
        q = rng.random(schools)
        u = tau * (T_SCALE * st.t.ppf(q, NU) if effects == "t" else st.norm.ppf(q))
        sch = np.repeat(np.arange(schools), n)
        th = rng.normal(0, level_sd, schools)[sch] + rng.standard_normal(len(sch))
        p = np.clip(1 / (1 + np.exp(-(th[:, None] - TASK_DIFF[None, :]))) + w[None, :] * u[sch][:, None], 0, 1)
        v = rng.random((len(sch), k, 2))               # one uniform per point of a task
        sc = (v[:, :, 0] < p) + (TASK_MAX >= 2)[None, :] * (v[:, :, 1] < p)
        sid = np.char.add("S", sch.astype(str))
        code = np.char.add(f"{t}-", np.arange(len(sch)).astype(str))
        year = 2019 + t
        students.append(pd.DataFrame({"year": year, "grade": 5, "subject": MATH, "school_id": sid,
                                      "student_code": code, "class": "5А"}))
        tasks.append(pd.DataFrame({"year": year, "grade": 5, "subject": MATH, "school_id": np.repeat(sid, k),
                                   "student_code": np.repeat(code, k), "task": np.tile(names, len(sch)),
                                   "score": sc.ravel().astype(float)}))
    specs = pd.DataFrame({"grade": 5, "subject": MATH, "task": names, "skill": "", "level": TASK_LEVEL,
                          "max_score": TASK_MAX.astype(float), "kes": "", "kt": ""})
    return pd.concat(tasks, ignore_index=True), pd.concat(students, ignore_index=True), specs


def _tasks_p(effects):
    tasks, students, specs = _task_region(2026, effects)
    out = ev.tasks_rows(ev.TaskMatrix(tasks, students, specs), CFG)
    assert set(out["sign"]) == {"tasks_basic_vs_advanced"}
    return out["p_value"].dropna().to_numpy()


@pytest.fixture(scope="module")
def tasks_p():
    return {e: _tasks_p(e) for e in ("t", "normal")}


def test_tasks_null_pvalues_uniform(tasks_p):
    """School effects τ × scaled t₁₀ (the sign's own null): the p-values are uniform and valid."""
    p = tasks_p["t"]
    assert len(p) >= 2000
    assert ((p > 0) & (p <= 1)).all()
    assert st.kstest(p, "uniform").pvalue > 0.01
    assert not _invalid(p), _invalid(p)


def test_tasks_t_reference_conservative_for_normal_effects(tasks_p):
    """The point of the t reference: it costs little when the school effects are normal (the same
    data, normal effects: p < 0.001 and p < 0.01 no more often than nominal), while the normal
    reference on the heavy-tailed null flags cells at p < 0.001 at least twice as often as nominal.
    The normal tail is recomputed from z = scale·t_ν.isf(p), scipy's t and normal."""
    pn = tasks_p["normal"]
    assert len(pn) >= 2000
    assert (pn < 0.001).mean() <= 0.001
    assert (pn < 0.01).mean() <= 0.01
    pt = tasks_p["t"]
    z = T_SCALE * st.t.isf(pt, NU)
    assert (st.norm.sf(z) < 0.001).mean() >= 2 * 0.001
    assert (pt < 0.001).mean() <= 0.001 * 1.5 + 3 / len(pt)


# ---------------------------------------------------------------- score_swing

def _panel(seed, schools, years=range(2019, 2025), grades=range(4, 9), level_sd=0.4, dev_sd=0.4,
           nmin=10, nmax=30):
    """Primary scores of every school in every year × grade: 15 + 4·(a_s + d_syg + ε), a_s ~ N(0,
    level_sd) the school's stable level, d_syg ~ N(0, dev_sd) its cell's deviation (the
    between-school variance of the sign's null), ε ~ N(0, 1) the pupil; nmin–nmax pupils a cell."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, level_sd, schools)
    ys, gs, ss, xs = [], [], [], []
    for y in years:
        for g in grades:
            n = rng.integers(nmin, nmax + 1, size=schools)
            d = rng.normal(0, dev_sd, schools)
            sch = np.repeat(np.arange(schools), n)
            ys.append(np.full(len(sch), y))
            gs.append(np.full(len(sch), g))
            ss.append(sch)
            xs.append(15 + 4 * (a[sch] + d[sch] + rng.standard_normal(len(sch))))
    ys, gs, ss, xs = map(np.concatenate, (ys, gs, ss, xs))
    return prepare(_vpr(ys, gs, np.char.add("S", ss.astype(str)), xs))


def _swing(prep) -> pd.DataFrame:
    """swing_rows with the cell's neighbour count and whether both sides exist (swing_table)."""
    out = ev.swing_rows(prep.cells, prep.tests, CFG)
    tab = ev.swing_table(prep.cells, prep.tests)[CELL_KEYS + ["neighbours", "rise", "fall"]]
    o = out.astype({"year": "int64", "grade": "int64"}).merge(tab, on=CELL_KEYS, how="left")
    assert len(o) == len(out) and o["neighbours"].notna().all()
    o["two_sided"] = o["rise"].notna() & o["fall"].notna()
    return o[o["p_value"].notna()]


@pytest.fixture(scope="module")
def swing_null():
    """1,000 schools × 6 years × grades 4–8 (30,000 cells), no swings: level SD 0.4, cell
    deviation SD 0.4 (pupil SD units), 10–30 pupils a cell."""
    return _swing(_panel(11, 1000))


def test_swing_null_pvalues_valid(swing_null):
    """Over all cells the p-values are valid at every level. (KS does not apply to all of them:
    with both sides, a cell that does not rise and fall gets p = 1; uniformity where only one side
    exists is the next test.) Without τ² (sampling error alone, z = swing / se_swing) the same
    cells are flagged ≥ 20× as often as nominal."""
    o = swing_null
    assert len(o) >= 2000
    p = o["p_value"].to_numpy()
    assert ((p > 0) & (p <= 1)).all()
    assert not _invalid(p), _invalid(p)
    se = (o["ci_high"] - o["ci_low"]) / (2 * 1.96)
    assert (st.norm.sf(o["value"] / se) < 0.001).mean() >= 20 * 0.001


def test_swing_null_uniform_with_one_neighbour_and_valid_within_neighbour_count(swing_null):
    """Cells with a single neighbour (k = 1, always one side only, one per school and edge, so
    independent) have uniform p-values (KS), and within every neighbour count k the p-values are
    valid: the null holds for each cell, not only on average over the panel."""
    o = swing_null
    bad = {int(k): inv for k, g in o.groupby("neighbours") if (inv := _invalid(g["p_value"]))}
    k1 = o.loc[o["neighbours"] == 1, "p_value"].to_numpy()
    assert len(k1) >= 2000
    ks = st.kstest(k1, "uniform").pvalue
    assert not bad and ks > 0.01, (bad, ks)


# ---------------------------------------------------------------- inflated_mean_similar

# org_type, settlement_type, group mean (pupil SD units), schools; the rural lyceums (3 schools, so
# 2 peers each) fall back to all lyceums, which have the same mean under this null
SIMILAR_GROUPS = [("СОШ", "город", 0.0, 240), ("СОШ", "село", -0.25, 210), ("гимназия", "город", 0.45, 60),
                  ("лицей", "город", 0.6, 42), ("лицей", "село", 0.6, 3), ("ООШ", "село", -0.4, 30),
                  ("гимназия", "село", 0.3, 18)]


def _similar_region(seed, tau=0.3, works=((2022, 5), (2022, 6), (2023, 5), (2023, 6))):
    """Primary scores 15 + 5·(μ_group + u_s + ε) for every school in every work: μ_group the peer
    group's mean, u_s ~ N(0, τ) the school's deviation (drawn anew per work), ε ~ N(0, 1) the pupil;
    8–45 pupils a cell."""
    rng = np.random.default_rng(seed)
    org = np.repeat([g[0] for g in SIMILAR_GROUPS], [g[3] for g in SIMILAR_GROUPS])
    sett = np.repeat([g[1] for g in SIMILAR_GROUPS], [g[3] for g in SIMILAR_GROUPS])
    mu = np.repeat([g[2] for g in SIMILAR_GROUPS], [g[3] for g in SIMILAR_GROUPS])
    sid = np.char.add("S", np.arange(len(org)).astype(str))
    schools = pd.DataFrame({"school_id": sid, "org_type": org, "settlement_type": sett, "name": sid})
    ys, gs, ss, xs = [], [], [], []
    for y, g in works:
        n = rng.integers(8, 46, size=len(sid))
        u = rng.normal(0, tau, len(sid))
        sch = np.repeat(np.arange(len(sid)), n)
        ys.append(np.full(len(sch), y))
        gs.append(np.full(len(sch), g))
        ss.append(sch)
        xs.append(15 + 5 * (mu[sch] + u[sch] + rng.standard_normal(len(sch))))
    ys, gs, ss, xs = map(np.concatenate, (ys, gs, ss, xs))
    return prepare(_vpr(ys, gs, sid[ss], xs)), schools


def test_similar_null_pvalues_uniform():
    """603 schools × 4 works, no inflated school: the p-values are uniform and valid, the fallback
    to the same org_type included. Without τ² the same cells are flagged ≥ 20× as often."""
    prep, schools = _similar_region(5)
    out = ev.inflated_mean_similar_rows(prep.cells, schools, CFG)
    assert set(out["sign"]) == {"inflated_mean_similar"}
    a = out[out["p_value"].notna()]
    assert len(a) >= 2000
    assert a["detail"].str.contains(r"\(тот же тип ОО, ", regex=True).sum() == 3 * 4
    p = a["p_value"].to_numpy()
    assert ((p > 0) & (p <= 1)).all()
    assert st.kstest(p, "uniform").pvalue > 0.01
    assert not _invalid(p), _invalid(p)
    se = (a["ci_high"] - a["ci_low"]) / (2 * 1.96)
    assert (st.norm.sf(a["value"] / se) < 0.001).mean() >= 20 * 0.001
