"""The answer-strings null: a negative binomial per work, fitted on the region's schools,
calibrated on data simulated from it; identical works found, ordinary alike classes not;
template data entry is its own finding, not copying, and not in the combined picture."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity import calibration_table, compute_objectivity, flag_rate_by_size, pvalue_histogram
from msoko.objectivity import evidence as ev
from msoko.objectivity.combined import NOT_COMBINED, combined_rows
from msoko.objectivity.core import finish, prepare, settings
from msoko.stats import negbin_fit, negbin_sf

CFG = settings({})
MATH = "Математика"


# ---------------------------------------------------------------- the negative binomial null itself

def _simulate_nb(rng, works=40, schools=60, phi=6.0, r=0.8):
    rows = []
    for w in range(works):
        mu0 = np.exp(rng.normal(-2.5, 1.5, schools))      # expected identical pairs, tiny to several
        lam = rng.gamma(r, phi * mu0 / r)                   # a school's own alikeness (gamma)
        rows.append(pd.DataFrame({"work": w, "mu0": mu0, "k": rng.poisson(lam)}))
    return pd.concat(rows, ignore_index=True)


def test_negbin_null_pvalues_uniform():
    rng = np.random.default_rng(13)
    d = _simulate_nb(rng)
    assert len(d) >= 2000
    ge = np.empty(len(d))
    gt = np.empty(len(d))
    for _, idx in d.groupby("work").indices.items():
        k, m = d["k"].to_numpy(float)[idx], d["mu0"].to_numpy()[idx]
        phi, r = negbin_fit(k, m)
        ge[idx] = negbin_sf(k, phi * m, r)
        gt[idx] = negbin_sf(k + 1, phi * m, r)
    pit = gt + rng.random(len(d)) * (ge - gt)      # randomised PIT: exactly uniform under the model
    assert st.kstest(pit, "uniform").pvalue > 0.01
    for a in (0.001, 0.01, 0.05):
        assert (ge <= a).mean() <= a * 1.3 + 3 / len(d)


def test_negbin_fit_matches_scipy_and_recovers():
    rng = np.random.default_rng(5)
    d = _simulate_nb(rng, works=1, schools=3000, phi=4.0, r=1.5)
    phi, r = negbin_fit(d["k"], d["mu0"], trim=None)
    assert phi == pytest.approx(4.0, rel=0.15) and r == pytest.approx(1.5, rel=0.35)
    mu = phi * d["mu0"].to_numpy()
    assert negbin_sf(3, mu[:5], r) == pytest.approx(st.nbinom.sf(2, r, r / (r + mu[:5])))


def test_poisson_null_would_overflag():
    """One scaling factor without overdispersion (the old null) flags far too many schools."""
    rng = np.random.default_rng(3)
    d = _simulate_nb(rng, works=10)
    phi = d["k"].sum() / d["mu0"].sum()
    p = st.poisson.sf(d["k"] - 1, phi * d["mu0"])
    assert (p < 0.001).mean() > 0.005          # ≥ 5× nominal


# ---------------------------------------------------------------- the whole sign on simulated classes

def _region(rng, n_schools=150, n=20, teacher_sd=None, copy_school=None, copy_k=0, alike_school=None,
            template_school=None):
    """One work, two classes per school; pupils' abilities and a class × task teacher effect."""
    mx = np.array([1, 1, 1, 2, 1, 2, 1, 1, 2, 2, 1, 3])
    diff = np.linspace(-1.8, 1.2, len(mx))
    vr = []
    for s in range(n_schools):
        u = rng.normal(0, 0.4)
        for c in "АБ":
            sd = rng.uniform(0.2, 0.8) if teacher_sd is None else teacher_sd
            ab_sd = 1.0
            if s == alike_school:
                sd, ab_sd = 0.9, 0.6            # an ordinary class of pupils more alike than most
            b = rng.normal(0, sd, len(mx))      # the teacher: some tasks taught better, one way of scoring
            th = u + rng.normal(0, ab_sd, n)
            p = 1 / (1 + np.exp(-(th[:, None] - diff[None, :] + b[None, :])))
            sc = rng.binomial(mx[None, :].repeat(n, 0), p)
            if s == copy_school and c == "А":
                sc[1:1 + copy_k] = sc[0]
            if s == template_school and c == "А":
                sc[:17] = np.where(rng.random((17, len(mx))) < 0.75, 1, 0)   # 0/1 whatever the maximum
            for i in range(n):
                vr.append((f"S{s:03d}", f"{s}-{c}-{i}", f"5{c}", sc[i]))
    vpr = pd.DataFrame([dict(year=2021, grade=5, subject=MATH, school_id=s, student_code=code, journal_mark=None,
                             sex=None, **{"class": k}, variant="1", absent=False, primary_score=float(sc.sum()),
                             max_score=float(mx.sum()), mark=None) for s, code, k, sc in vr])
    vpr["journal_mark"] = pd.array(vpr["journal_mark"], dtype="Int8")
    vpr["mark"] = pd.array([None] * len(vpr), dtype="Int8")
    tasks = pd.DataFrame([(2021, 5, MATH, s, code, str(t + 1), float(sc[t])) for s, code, k, sc in vr
                          for t in range(len(mx))],
                         columns=["year", "grade", "subject", "school_id", "student_code", "task", "score"])
    specs = pd.DataFrame({"grade": 5, "subject": MATH, "task": [str(t + 1) for t in range(len(mx))], "skill": "",
                          "level": "Б", "max_score": mx.astype(float), "kes": "", "kt": ""})
    return vpr, tasks, specs


def _signs(vpr, tasks, specs):
    prep = prepare(vpr)
    tm = ev.TaskMatrix(tasks, prep.students, specs)
    excl: dict = {}
    tmpl = ev.template_rows(tm, CFG, exclude=excl)
    sim = ev.similarity_rows(tm, CFG, exclude=excl)
    return tmpl, sim


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(2026)
    return _signs(*_region(rng, copy_school=0, copy_k=7, alike_school=1, template_school=2))


def test_identical_works_found(planted):
    _, sim = planted
    r = sim.set_index("school_id").loc["S000"]
    assert bool(r["flagged"]) and r["value"] >= 7 and r["p_value"] < 1e-6
    assert "крупнейшая группа — 8" in r["detail"]


def test_alike_class_not_found(planted):
    """Pupils of one class with a strong same-teacher effect and little spread of ability: alike, not copied."""
    _, sim = planted
    assert not bool(sim.set_index("school_id").loc["S001", "flagged"])
    clean = sim[~sim["school_id"].isin(["S000", "S002"])]
    assert clean["flagged"].fillna(False).astype(bool).sum() == 0
    assert (clean["p_value"] < 0.01).mean() <= 0.03


def test_template_entry_is_its_own_finding(planted):
    tmpl, sim = planted
    t = tmpl.set_index("school_id")
    assert bool(t.loc["S002", "flagged"]) and "только 0 и 1" in t.loc["S002", "detail"]
    assert "списывания" in t.loc["S002", "detail"]
    assert t["flagged"].astype(bool).sum() == 1
    # a school whose protocol was filled in by a template: its strings are not assessed as copying
    r = sim.set_index("school_id").loc["S002"]
    assert pd.isna(r["flagged"]) and pd.isna(r["p_value"]) and "шаблону" in r["detail"]


def test_template_patterns():
    mx = np.array([1, 2, 2, 3, 1, 2, 2, 1, 1, 1])
    C = np.array([[1] * 10,                              # flat
                  [1, 1, 1, 1, 0, 1, 0, 0, 1, 0],        # 0/1 on tasks worth 2–3
                  [1, 2, 1, 2, 0, 0, 0, 0, 0, 0],        # trailing zeros
                  [1, 2, 2, 3, 1, 2, 2, 1, 1, 1],        # full marks
                  [0, 2, 1, 0, 1, 2, 1, 0, 1, 1]])       # ordinary
    assert list(ev.template_patterns(C, mx)) == ["flat", "binary", "trailing", "", ""]


def test_strings_need_corroboration():
    """A moderate string excess alone does not put a cell into the combined picture; a far one does."""
    cells = pd.DataFrame({"year": 2021, "grade": 5, "subject": MATH, "school_id": ["A", "B", "C"], "n": 25})
    rows = finish(pd.DataFrame({"year": 2021, "grade": 5, "subject": MATH,
                                "school_id": ["A", "A", "B", "C", "C"],
                                "sign": ["answer_similarity", "bunching", "answer_similarity", "answer_similarity",
                                         "bunching"],
                                "p_value": [1e-5, 0.5, 1e-9, 1e-5, 0.01], "flagged": [True, False, True, True, False],
                                "n": 25}))
    comb = combined_rows(rows, cells, CFG).set_index("school_id")
    assert not bool(comb.loc["A", "flagged"]) and comb.loc["A", "p_value"] > 0.5
    assert "совпадение работ" not in comb.loc["A", "detail"]
    assert bool(comb.loc["B", "flagged"])
    assert bool(comb.loc["C", "flagged"])        # corroborated by another family


def test_template_not_combined():
    assert "data_entry_template" in NOT_COMBINED


def test_calibration_outputs(planted):
    tmpl, sim = planted
    obj = pd.concat([tmpl, sim], ignore_index=True)
    cal = calibration_table(obj).set_index("sign")
    assert set(cal.index) == {"answer_similarity", "data_entry_template"}
    assert cal.loc["answer_similarity", "cells"] == 149      # S002 (template entry) not assessed
    assert cal.loc["answer_similarity", "nominal_001"] == 0.001
    # 3 of 150 cells far out is 2 % at p < 0.001: more than 5× nominal, so it is warned about
    fake = sim.assign(p_value=np.where(np.arange(len(sim)) < 3, 1e-5, 0.5))
    c2 = calibration_table(fake).set_index("sign")
    assert bool(c2.loc["answer_similarity", "warning"]) and "0,1 %" in c2.loc["answer_similarity", "message_ru"]
    h = pvalue_histogram(obj, bins=10)
    assert h.groupby("sign")["cells"].sum().loc["answer_similarity"] == 149
    assert np.allclose(h.groupby("sign")["share"].sum(), 1.0)
    fr = flag_rate_by_size(obj, pd.DataFrame({"year": [2021], "grade": [5], "subject": [MATH], "tasks": [12]}))
    assert set(fr["size_band"]) == {"20–49"} and set(fr["tasks_band"]) == {"11–14"}
    assert fr.loc[fr.sign == "answer_similarity", "flagged"].sum() == sim["flagged"].fillna(False).astype(bool).sum()


def test_compute_objectivity_has_template_sign(planted):
    rng = np.random.default_rng(1)
    vpr, tasks, specs = _region(rng, n_schools=40, template_school=3)
    out = compute_objectivity({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs}, {})
    t = out[out.sign == "data_entry_template"].set_index("school_id")
    assert bool(t.loc["S003", "flagged"])
    comb = out[out.sign == "combined"].set_index("school_id")
    assert "шаблон" not in (comb.loc["S003", "detail"] or "")
