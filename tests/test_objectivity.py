"""Objectivity diagnostics on small fixed frames: hand-worked values for the official signs,
the quartile fences and the index; msoko's evidence signs on planted patterns."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from msoko.objectivity import compute_objectivity, sign_catalogue, school_card, cell_evidence
from msoko.objectivity import evidence as ev
from msoko.objectivity import official as off
from msoko.objectivity.combined import combined_rows
from msoko.objectivity.core import finish, informativeness, prepare, settings

MATH, RUS = "Математика", "Русский язык"


def vpr_frame(rows, **const):
    """rows: (year, grade, subject, school_id, primary_score[, journal_mark[, class]])."""
    out = []
    for i, r in enumerate(rows):
        year, grade, subject, school, score = r[:5]
        journal = r[5] if len(r) > 5 else None
        klass = r[6] if len(r) > 6 else None
        out.append(dict(year=year, grade=grade, subject=subject, school_id=school, student_code=f"s{i}",
                        journal_mark=journal, sex=None, **{"class": klass}, variant="1", absent=False,
                        primary_score=float(score), max_score=20.0, mark=None))
    df = pd.DataFrame(out)
    for k, v in const.items():
        df[k] = v
    df["journal_mark"] = pd.array(df["journal_mark"], dtype="Int8")
    df["mark"] = pd.array(df["mark"], dtype="Int8")
    return df


CFG = settings({})


# ---------------------------------------------------------------- inflated_mean

def test_inflated_mean_hand_worked():
    rows = [(2021, 4, MATH, "A", s) for s in (18, 20, 22)] + \
           [(2021, 4, MATH, "B", s) for s in (2, 4, 6, 8)] + [(2021, 4, MATH, "C", 10)]
    vpr = vpr_frame(rows)
    # an absent student with a score must be ignored (present students only)
    vpr = pd.concat([vpr, vpr_frame([(2021, 4, MATH, "B", 20)]).assign(absent=True, student_code="x")])
    p = prepare(vpr)
    r = off.inflated_mean_rows(p.cells, p.tests, CFG).set_index("school_id")
    # reference: all 8 present scores, mean 90/8 = 11.25, Σ(x − x̄)² = 415.5, s² = 415.5/7
    ref_hi = 11.25 + 1.96 * math.sqrt(415.5 / 7) / math.sqrt(8)
    assert ref_hi == pytest.approx(16.58893, abs=1e-4)
    assert r.loc["A", "threshold"] == pytest.approx(ref_hi)
    # school A: mean 20, s = 2 (ddof=1), n = 3 → low = 20 − 1.96·2/√3 = 17.7368 > 16.5889
    assert r.loc["A", "value"] == 20.0
    assert r.loc["A", "ci_low"] == pytest.approx(20 - 1.96 * 2 / math.sqrt(3))
    assert r.loc["A", "ci_low"] == pytest.approx(17.73676, abs=1e-4)
    assert r.loc["A", "flagged"] is np.True_ or r.loc["A", "flagged"] == True  # noqa: E712
    # school B: mean 5, s² = 20/3 → interval 2.47–7.53, not above
    assert r.loc["B", "ci_high"] == pytest.approx(5 + 1.96 * math.sqrt(20 / 3) / 2)
    assert r.loc["B", "flagged"] == False  # noqa: E712
    assert r.loc["B", "n"] == 4
    # school C: n = 1 → not assessed
    assert pd.isna(r.loc["C", "flagged"])


def test_inflated_mean_configured_reference():
    rows = [(2021, 4, MATH, "A", s) for s in (18, 20, 22)]
    p = prepare(vpr_frame(rows))
    cfg = settings({"objectivity": {"reference_stats": [
        dict(year=2021, grade=4, subject=MATH, mean=15.0, sd=4.0, n=10000)]}})
    r = off.inflated_mean_rows(p.cells, p.tests, cfg)
    assert r.loc[0, "threshold"] == pytest.approx(15 + 1.96 * 4 / 100)
    assert bool(r.loc[0, "flagged"]) is True


def test_inflated_mean_oge():
    gia = pd.DataFrame({"year": 2021, "exam": "ОГЭ", "school_id": ["A"] * 3 + ["B"] * 4 + ["A"],
                        "student_code": list("abcdefgh"),
                        "subject": [MATH] * 7 + ["Химия"],
                        "primary_score": [18, 20, 22, 2, 4, 6, 8, 30.0]})
    out = compute_objectivity({"gia": gia}, {})
    r = out[(out.sign == "inflated_mean") & (out.procedure == "ОГЭ")].set_index("school_id")
    assert list(r["grade"]) == [9, 9]
    # reference over the 7 ОГЭ maths works: mean 80/7
    x = np.array([18, 20, 22, 2, 4, 6, 8.0])
    assert r.loc["A", "threshold"] == pytest.approx(x.mean() + 1.96 * x.std(ddof=1) / math.sqrt(7))
    assert bool(r.loc["A", "flagged"]) is True and bool(r.loc["B", "flagged"]) is False


# ---------------------------------------------------------------- journal_mismatch

def test_journal_mismatch_hand_worked_and_rules():
    rows = [(2021, 5, RUS, "A", s, j) for s, j in zip((1, 2, 3, 4, 5), (5, 4, 4, 3, 2))]
    rows += [(2021, 5, RUS, "B", s, j) for s, j in zip((1, 2, 3, 4), (5, 4, 3, 2))]          # n = 4
    rows += [(2021, 5, RUS, "C", s, 4) for s in (1, 2, 3, 4, 5, 6)]                           # constant mark
    rows += [(2021, 5, RUS, "D", s, j) for s, j in zip((1, 2, 3, 4, 5, 6), (2, 3, 3, 4, 5, None))]
    p = prepare(vpr_frame(rows))
    r = off.journal_mismatch_rows(p.students, p.cells, CFG).set_index("school_id")
    # A: ranks of marks (5, 3.5, 3.5, 2, 1) vs scores (1..5): Σdxdy = −9.5, Σdx² = 9.5, Σdy² = 10
    assert r.loc["A", "value"] == pytest.approx(-9.5 / math.sqrt(95))
    assert r.loc["A", "value"] == pytest.approx(-0.974679, abs=1e-6)
    assert bool(r.loc["A", "flagged"]) is True and r.loc["A", "threshold"] == 0
    assert pd.isna(r.loc["B", "flagged"]) and r.loc["B", "n"] == 4
    assert pd.isna(r.loc["C", "flagged"])
    assert bool(r.loc["D", "flagged"]) is False and r.loc["D", "n"] == 5   # the student without a mark is left out


def test_spearman_matches_scipy():
    rng = np.random.default_rng(3)
    rows = []
    for s in range(12):
        n = rng.integers(5, 30)
        sc = rng.integers(0, 21, n)
        jm = np.clip(np.round(2 + sc / 6 + rng.normal(0, 1.2 if s % 3 else 3, n)), 2, 5)
        rows += [(2021, 4, MATH, f"S{s}", a, int(b)) for a, b in zip(sc, jm)]
    vpr = vpr_frame(rows)
    p = prepare(vpr)
    r = off.journal_mismatch_rows(p.students, p.cells, CFG).set_index("school_id")
    for school, g in vpr.groupby("school_id"):
        rho = stats.spearmanr(g["journal_mark"].astype(float), g["primary_score"]).statistic
        assert r.loc[school, "value"] == pytest.approx(rho, abs=1e-12)
        assert bool(r.loc[school, "flagged"]) == (rho < 0)


# ---------------------------------------------------------------- cohort signs and quartile fences

K_VALUES = {"A": 1.0, "B": 1.02, "C": 0.98, "D": 1.01, "E": 0.99, "F": 1.03, "G": 1.6, "H": 0.5}


def cohort_vpr():
    rows = []
    for school, k in K_VALUES.items():
        rows += [(2021, 5, MATH, school, 10.0)] * 2            # S5 = 10/20 = 0.5
        rows += [(2020, 4, MATH, school, 10.0 * k)] * 2        # S4 = 0.5·K
    rows += [(2020, 4, MATH, "only4", 12.0)] * 2               # no grade 5 next year → not in the quartiles
    return vpr_frame(rows)


def test_cohort_quartiles_linear_and_fences():
    p = prepare(cohort_vpr())
    t = off.cohort_table(p.cells, CFG).set_index("school_id")
    assert len(t) == 8 and t["year"].unique().tolist() == [2021]
    for school, k in K_VALUES.items():
        assert t.loc[school, "k"] == pytest.approx(k)
    # sorted K: 0.5, 0.98, 0.99, 1.0, 1.01, 1.02, 1.03, 1.6; linear (numpy default, Excel КВАРТИЛЬ.ВКЛ):
    # Q1 at position 0.25·7 = 1.75 → 0.98 + 0.75·0.01 = 0.9875; Q3 at 5.25 → 1.02 + 0.25·0.01 = 1.0225
    assert t["q1"].iloc[0] == pytest.approx(0.9875)
    assert t["q3"].iloc[0] == pytest.approx(1.0225)
    assert t["iqr"].iloc[0] == pytest.approx(0.035)
    assert t["high_fence"].iloc[0] == pytest.approx(1.0225 + 3 * 0.035)   # 1.1275
    assert t["low_fence"].iloc[0] == pytest.approx(0.9875 - 3 * 0.035)    # 0.8825
    # another quartile definition would differ (exclusive/Weibull: Q1 = 0.9825) — we use the linear one
    assert np.percentile(list(K_VALUES.values()), 25, method="weibull") == pytest.approx(0.9825)

    r = off.cohort_rows(p.cells, CFG)
    fall = r[r.sign == "cohort_fall"].set_index("school_id")
    rise = r[r.sign == "cohort_rise"].set_index("school_id")
    assert fall.loc["G", "flagged"] and not rise.loc["G", "flagged"]
    assert rise.loc["H", "flagged"] and not fall.loc["H", "flagged"]
    assert fall["flagged"].sum() == 1 and rise["flagged"].sum() == 1
    assert (r["grade"] == 5).all() and (r["year"] == 2021).all()
    assert fall.loc["G", "threshold"] == pytest.approx(1.1275)


def test_cohort_too_few_schools_not_assessed():
    vpr = cohort_vpr()
    vpr = vpr[vpr.school_id.isin(["A", "B", "G"])]
    r = off.cohort_rows(prepare(vpr).cells, CFG)
    assert len(r) == 6 and r["flagged"].isna().all()


# ---------------------------------------------------------------- index

def test_index_hand_worked():
    rows = finish(pd.DataFrame({
        "year": [2021] * 7 + [2022],
        "school_id": ["A", "A", "B", "B", "C", "D", "D", "A"],
        "sign": ["inflated_mean", "journal_mismatch", "inflated_mean", "cohort_fall", "inflated_mean",
                 "cohort_rise", "journal_mismatch", "inflated_mean"],
        "flagged": [True, False, False, None, None, True, True, False]}))
    idx = off.index_rows(rows, off_signs()).set_index("year")
    # 2021: assessed A, B, D (C has no assessed sign); marked A, D → 100 − 2/3·100
    assert idx.loc[2021, "value"] == pytest.approx(100 - 200 / 3)
    assert idx.loc[2021, "n"] == 3
    assert idx.loc[2022, "value"] == 100.0
    assert idx["school_id"].isna().all()


def off_signs():
    from msoko.objectivity.core import OFFICIAL_SIGNS
    return OFFICIAL_SIGNS


def test_index_end_to_end():
    out = compute_objectivity({"vpr": cohort_vpr()}, {})
    idx = out[out.sign == "objectivity_index"].set_index("year")
    # 2021: G (fall) and H (rise) marked; 8 schools assessed on the cohort signs
    # (inflated_mean for grade 5 with n = 2 and s = 0 marks nobody: equal scores everywhere)
    im = out[(out.sign == "inflated_mean") & (out.year == 2021)]
    assert not im["flagged"].fillna(False).any()
    assert idx.loc[2021, "value"] == pytest.approx(100 - 100 * 2 / 8)
    # 2020: only grade 4; G's S4 = 0.8 well above the others (interval width 0 with equal scores)
    flagged2020 = set(out[(out.year == 2020) & out.official & out.flagged.fillna(False)].school_id)
    assert idx.loc[2020, "value"] == pytest.approx(100 - 100 * len(flagged2020) / 9)


# ---------------------------------------------------------------- general contract

def test_contract_columns_and_missing_tables():
    empty = compute_objectivity({}, {})
    assert list(empty.columns)[:10] == ["year", "school_id", "grade", "subject", "sign", "value", "threshold",
                                        "flagged", "n", "ci_low"]
    assert len(empty) == 0
    out = compute_objectivity({"vpr": cohort_vpr(), "schools": None, "gia": None}, {"objectivity": {}})
    assert str(out["flagged"].dtype) == "boolean"
    assert out.duplicated(["year", "school_id", "grade", "subject", "sign", "procedure"]).sum() == 0
    assert {"inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise", "combined",
            "objectivity_index"} <= set(out.sign)
    # no ГИА → high_not_confirmed present but not assessed
    h = out[out.sign == "high_not_confirmed"]
    assert len(h) and h["flagged"].isna().all()
    texts = " ".join(out["detail"].dropna())
    assert "нечестн" not in texts.lower() and "недобросовест" not in texts.lower()


def test_informativeness_labels():
    lab = informativeness([5, 19, 20, 49, 50, 300])
    assert list(lab) == ["ограниченно", "ограниченно", "минимально", "минимально", "информативна", "информативна"]
    cat = sign_catalogue()
    assert set(cat.loc[cat.official, "sign"]) == {"inflated_mean", "journal_mismatch", "cohort_fall",
                                                   "cohort_rise", "objectivity_index"}


# ---------------------------------------------------------------- msoko's evidence on planted patterns

def region(seed=0, n_schools=30, n=40, grade=4, subject=MATH, year=2021, tasks=True):
    """A clean region: Rasch-like items; returns vpr, vpr_tasks, task_specs."""
    rng = np.random.default_rng(seed)
    mx = np.array([1, 1, 2, 1, 2, 1, 1, 2, 2, 1, 3, 3])
    levels = ["Б"] * 8 + ["П"] * 2 + ["В"] * 2
    diff = np.linspace(-1.5, 1.5, len(mx))
    vr, tr = [], []
    for s in range(n_schools):
        u = rng.normal(0, 0.35)
        for i in range(n):
            th = u + rng.normal()
            p = 1 / (1 + np.exp(-(th - diff)))
            sc = rng.binomial(mx, p).astype(float)
            code = f"{s}-{i}"
            j = int(np.clip(np.round(3.4 + 0.8 * th + rng.normal(0, 0.5)), 2, 5))
            vr.append((year, grade, subject, f"S{s:02d}", code, j, f"{grade}{'АБ'[i % 2]}", sc))
    return vr, mx, levels


def build(vr, mx, levels, grade=4, subject=MATH):
    vpr = pd.DataFrame([dict(year=y, grade=g, subject=sj, school_id=s, student_code=c, journal_mark=j, sex=None,
                             **{"class": k}, variant="1", absent=False, primary_score=float(sc.sum()),
                             max_score=float(mx.sum()), mark=None) for y, g, sj, s, c, j, k, sc in vr])
    tot = vpr["primary_score"]
    vpr["mark"] = pd.array(np.select([tot >= 15, tot >= 10, tot >= 6], [5, 4, 3], 2), dtype="Int8")
    vpr["journal_mark"] = pd.array(vpr["journal_mark"], dtype="Int8")
    tasks = pd.DataFrame([(y, g, sj, s, c, str(t + 1), float(sc[t])) for y, g, sj, s, c, j, k, sc in vr
                          for t in range(len(mx))],
                         columns=["year", "grade", "subject", "school_id", "student_code", "task", "score"])
    specs = pd.DataFrame({"grade": grade, "subject": subject, "task": [str(t + 1) for t in range(len(mx))],
                          "skill": "", "level": levels, "max_score": mx.astype(float), "kes": "", "kt": ""})
    return vpr, tasks, specs


@pytest.fixture(scope="module")
def planted():
    vr, mx, levels = region(seed=11)
    vr = [list(r) for r in vr]
    # S00: six works in one class copied from one answer string
    src = next(r for r in vr if r[3] == "S00" and r[6] == "4А")
    for r in [r for r in vr if r[3] == "S00" and r[6] == "4А"][1:7]:
        r[7] = src[7].copy()
    # S01: works 1–2 points below the «3»/«4»/«5» boundaries (6, 10, 15) pushed up to the boundary
    for r in [r for r in vr if r[3] == "S01"]:
        t = r[7].sum()
        for b in (6, 10, 15):
            if b - 2 <= t < b:
                need = b - t
                for j in range(len(mx)):
                    add = min(need, mx[j] - r[7][j])
                    r[7][j] += add
                    need -= add
                    if need == 0:
                        break
    # S02: all advanced tasks given full marks (a leaked/filled-in pattern), basic ones as they were
    for r in [r for r in vr if r[3] == "S02"]:
        r[7][8:] = mx[8:]
    # S03: journal marks inflated to «5»
    for r in [r for r in vr if r[3] == "S03"]:
        r[5] = 5
    vpr, tasks, specs = build([tuple(r) for r in vr], mx, levels)
    out = compute_objectivity({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs}, {})
    return vpr, tasks, specs, out


def flagged_schools(out, sign):
    r = out[(out.sign == sign) & out.flagged.fillna(False)]
    return set(r.school_id)


def test_answer_similarity_planted(planted):
    out = planted[3]
    assert flagged_schools(out, "answer_similarity") == {"S00"}
    r = out[(out.sign == "answer_similarity") & (out.school_id == "S00")].iloc[0]
    assert r["value"] >= 6  # a group of 7 identical works: 6 that repeat the first (not C(7, 2) pairs)


def test_bunching_planted(planted):
    assert flagged_schools(planted[3], "bunching") == {"S01"}


def test_tasks_planted(planted):
    assert flagged_schools(planted[3], "tasks_basic_vs_advanced") == {"S02"}


def test_marks_planted(planted):
    out = planted[3]
    assert "S03" in flagged_schools(out, "marks_lower")
    vpr = planted[0]
    g = vpr[vpr.school_id == "S03"]
    k = int((g["mark"] < g["journal_mark"]).sum())
    r = out[(out.sign == "marks_lower") & (out.school_id == "S03")].iloc[0]
    assert r["value"] == pytest.approx(100 * k / len(g))


def test_combined_finds_planted_and_spares_clean(planted):
    out = planted[3]
    comb = flagged_schools(out, "combined")
    assert {"S00", "S01", "S02"} <= comb
    # S03's journal marks are inflated, not its ВПР: a finding about current assessment, outside combined
    assert "S03" not in comb and "S03" in flagged_schools(out, "marks_lower")
    assert len(comb - {"S00", "S01", "S02"}) <= 1
    card = school_card(out, "S00", 2021)
    assert (card["sign"] == "answer_similarity").any()
    assert card.loc[card.sign == "answer_similarity", "status"].iloc[0] == "признак есть"


def test_expected_identical_pairs_equals_pair_enumeration():
    """E from per-class counts by total (matrix form) equals Σ over explicit pairs of Q[T_i, T_j]."""
    rng = np.random.default_rng(5)
    T = rng.integers(0, 6, 9)
    Q = rng.uniform(0, 0.3, (6, 6))
    Q = (Q + Q.T) / 2
    Cg = np.bincount(T, minlength=6)[None, :].astype(float)
    E = 0.5 * (np.einsum("ga,ab,gb->g", Cg, Q, Cg) - Cg @ np.diag(Q))
    brute = sum(Q[T[i], T[j]] for i, j in itertools.combinations(range(len(T)), 2))
    assert E[0] == pytest.approx(brute)


def test_smooth_counterfactual_recovers_log_polynomial():
    x = np.arange(21) / 20
    true = np.exp(3 + 4 * x - 6 * x * x) * 1e6
    excl = np.zeros(21, dtype=bool)
    excl[[4, 5, 6, 7]] = True
    hist = true.copy()
    hist[6] *= 2          # a peak inside the excluded window does not move the fit
    f = ev.smooth_counterfactual(hist, excl, 5)
    np.testing.assert_allclose(f, true / true.sum(), rtol=1e-4)
    # the exponential tilt matches a requested mean
    p = ev._tilt(f, np.array([0.3, 0.6]))
    np.testing.assert_allclose(p @ x, [0.3, 0.6], atol=1e-6)


def test_combined_fisher_tippett_hand_worked():
    cells = pd.DataFrame({"year": [2021], "grade": [4], "subject": [MATH], "school_id": ["A"], "n": [30]})
    rows = finish(pd.DataFrame({
        "year": 2021, "grade": 4, "subject": MATH, "school_id": "A",
        "sign": ["bunching", "marks_higher", "marks_far", "answer_similarity"],
        "flagged": [False, False, False, False], "p_value": [0.01, 0.02, 0.5, 0.2]}))
    r = combined_rows(rows, cells, settings({})).iloc[0]
    # families: distribution p=0.01; journal min(0.02, 0.5)·2 = 0.04; strings 0.2
    x = -2 * (math.log(0.01) + math.log(0.04) + math.log(0.2))
    p_f = stats.chi2.sf(x, 6)
    p_t = 1 - (1 - 0.01) ** 3
    assert r["p_value"] == pytest.approx(min(1, 2 * min(p_f, p_t)))
    assert r["value"] == pytest.approx(-math.log10(r["p_value"]))
    # by hand: χ²₆ tail = e^(−x/2)·(1 + x/2 + (x/2)²/2) at x = 18.867 → 0.0043944; times 2
    h = x / 2
    assert r["p_value"] == pytest.approx(2 * math.exp(-h) * (1 + h + h * h / 2))
    assert r["p_value"] == pytest.approx(0.008789, abs=1e-6)
    assert bool(r["flagged"]) is True                              # < combined_alpha = 0.02
    # Simes within a family: journal p's 0.004 and 0.005 → min(2·0.004/1, 2·0.005/2) = 0.005 (Bonferroni: 0.008)
    rows2 = rows.assign(p_value=[0.9, 0.004, 0.005, 0.9])
    r2 = combined_rows(rows2, cells, settings({})).iloc[0]
    x2 = -2 * (math.log(0.9) + math.log(0.005) + math.log(0.9))
    p2 = 2 * min(stats.chi2.sf(x2, 6), 1 - (1 - 0.005) ** 3)
    assert r2["p_value"] == pytest.approx(p2)


def test_cell_evidence_picture_data(planted):
    vpr, tasks, specs, out = planted
    e = cell_evidence({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs}, {}, 2021, 4, MATH, "S01")
    sc = e["scores"]
    assert sc["observed"].sum() == (vpr.school_id == "S01").sum()
    assert sc["expected"].sum() == pytest.approx(sc["observed"].sum())
    assert set(sc.loc[sc.boundary, "score"]) == {6, 10, 15}
    sim = cell_evidence({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs}, {}, 2021, 4, MATH, "S00")["similarity"]
    assert (sim["same_tasks"] == sim["tasks"]).sum() >= 21
    assert (sim["class"] == "4А").any()


def test_config_section_matches_defaults():
    from msoko.config import load_config
    from msoko.objectivity.core import DEFAULTS
    sec = load_config()["objectivity"]
    assert set(sec) == set(DEFAULTS)
    for k, v in DEFAULTS.items():
        assert sec[k] == v, k


def test_demo_planted_truth(demo_raw, demo_processed):
    """On the session demo municipality: strong copying is found by the combined picture, strongly
    inflated journal marks by their own finding (not combined: they say nothing against the ВПР), and
    few clean cells are flagged (the benchmark measures this on larger demos)."""
    from msoko.store import read_table
    obj = read_table(demo_processed, "objectivity", missing_ok=True)
    if obj is None:
        tables = {n: read_table(demo_processed, n, missing_ok=True)
                  for n in ("vpr", "vpr_tasks", "task_specs", "schools", "gia")}
        obj = compute_objectivity({k: v for k, v in tables.items() if v is not None}, {})
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv")
    keys = ["year", "school_id", "grade", "subject"]
    comb = obj[(obj.sign == "combined") & obj.flagged.notna()].astype({"year": int, "grade": int})
    m = comb.merge(truth[keys + ["kind", "strength"]], on=keys, how="left")
    strong = m[m.strength.eq("strong") & m.kind.eq("answer_copying")]
    assert len(strong) >= 1 and strong["flagged"].astype(bool).all()
    journal = truth[truth.strength.eq("strong") & truth.kind.eq("inflated_journal")]
    own = obj[obj.sign.isin(["marks_far_below", "marks_lower"]) & obj.flagged.fillna(False).astype(bool)]
    own = set(own.astype({"year": int, "grade": int})[keys].apply(tuple, axis=1))
    found = [tuple(r) in own for r in journal[keys].itertuples(index=False)]
    assert len(found) >= 1 and sum(found) >= 0.5 * len(found)
    spike = truth[truth.kind == "cohort_spike"]
    partners = {(y + 1, s, 5, subj) for y, s, subj in spike[["year", "school_id", "subject"]].itertuples(index=False)}
    clean = m[m.kind.isna() & ~m[keys].apply(tuple, axis=1).isin(partners)]
    assert len(clean) > 300
    assert clean["flagged"].astype(bool).mean() <= 0.03


def test_betabinom_tail_matches_scipy():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 80, 200)
    k = rng.integers(0, 80, 200) % (n + 1)
    a, b = rng.uniform(0.1, 30, 200), rng.uniform(0.1, 30, 200)
    p, crit = ev.betabinom_tail(k, n, a, b, 0.001)
    np.testing.assert_allclose(p, stats.betabinom.sf(k - 1, n, a, b), atol=1e-12)
    np.testing.assert_array_equal(crit, stats.betabinom.isf(0.001, n, a, b) + 1)


def test_robust_tau2_recovers_between_variance():
    from msoko.objectivity.core import robust_tau2
    rng = np.random.default_rng(2)
    se = rng.uniform(0.1, 0.5, 4000)
    est = rng.normal(0, 0.3, 4000) + rng.normal(0, se)
    est[:40] += 5                                   # a few extreme units do not widen the yardstick
    assert robust_tau2(est, se) == pytest.approx(0.09, rel=0.1)
    assert robust_tau2(rng.normal(0, se), se) < 0.01


def test_plan_of_work_on_planted_schools_and_note(planted):
    # the plan of work (msoko.objectivity.plan) names the planted schools at tiers 1–2 with their measures
    from msoko.objectivity import INFLATED_MEAN_NOTE
    from msoko.objectivity.plan import plan_of_work
    plan = plan_of_work(planted[3])
    top = set(plan.loc[plan["tier"] <= 2, "school_id"])
    assert {"S00", "S01", "S02"} <= top
    assert "гимназии" in INFLATED_MEAN_NOTE


def test_categorical_inputs_and_index_rows(planted):
    vpr, tasks, specs, out = planted
    cat = vpr.astype({c: "category" for c in ("subject", "school_id", "student_code", "class")})
    tcat = tasks.astype({c: "category" for c in ("subject", "school_id", "student_code", "task")})
    out2 = compute_objectivity({"vpr": cat, "vpr_tasks": tcat, "task_specs": specs}, {})
    a = out.set_index(["school_id", "sign"])["flagged"].dropna().sort_index()
    b = out2.set_index(["school_id", "sign"])["flagged"].dropna().sort_index()
    pd.testing.assert_series_equal(a, b)
    idx = out[out.sign.str.startswith("objectivity_index")]
    assert idx["informativeness"].isna().all() and idx["school_id"].isna().all()


def test_level_signs_planted():
    """A one-year spike (swing), a school far above similar schools, ВПР not confirmed by ОГЭ."""
    rng = np.random.default_rng(4)
    rows, gia = [], []
    u = rng.normal(0, 0.3, 40)
    for year in (2021, 2022, 2023):
        for grade in (4, 5, 6):
            for s in range(40):
                shift = 2.5 if (s == 5 and year == 2022 and grade == 5) else 0.0
                sc = np.clip(np.round(10 + 3 * (u[s] + shift + rng.normal(0, 1, 30))), 0, 20)
                rows += [(year, grade, MATH, f"S{s:02d}", float(x)) for x in sc]
        for s in range(40):
            g = np.clip(np.round(15 + 4 * (u[s] + rng.normal(0, 1, 25))), 0, 31)
            gia += [dict(year=year, exam="ОГЭ", school_id=f"S{s:02d}", student_code=f"{year}-{s}-{i}",
                         subject=MATH, primary_score=float(x)) for i, x in enumerate(g)]
    vpr = vpr_frame(rows)
    schools = pd.DataFrame({"school_id": [f"S{s:02d}" for s in range(40)], "org_type": "СОШ",
                            "settlement_type": ["город", "село"] * 20})
    out = compute_objectivity({"vpr": vpr, "gia": pd.DataFrame(gia), "schools": schools}, {})
    cell = (out.year == 2022) & (out.grade == 5) & (out.school_id == "S05")
    for sign in ("score_swing", "inflated_mean_similar", "high_not_confirmed", "combined"):
        r = out[cell & (out.sign == sign)]
        assert bool(r["flagged"].iloc[0]), sign
    for sign in ("score_swing", "inflated_mean_similar", "high_not_confirmed"):
        others = out[(out.sign == sign) & ~cell]
        assert others["flagged"].fillna(False).mean() < 0.02, sign
    # the swing value is the cell against the mean of its neighbours (hand check with pandas)
    p = prepare(vpr)
    t = p.tests.set_index(["year", "grade"])
    c = p.cells[p.cells.school_id == "S05"].set_index(["year", "grade"])
    e = {k: (c.loc[k, "mean"] - t.loc[k, "mean"]) / t.loc[k, "sd"] for k in c.index}
    nb = [e[(2021, 4)], e[(2021, 5)], e[(2023, 6)], e[(2023, 5)]]
    r = out[cell & (out.sign == "score_swing")].iloc[0]
    assert r["value"] == pytest.approx(e[(2022, 5)] - np.mean(nb))


def test_picture_evidence_is_what_cell_evidence_gives(planted):
    # compute writes the pictures' data (objectivity_evidence.parquet) for every work with a flagged official
    # sign or combined picture: the same numbers as cell_evidence computes for that one work
    from msoko.objectivity import picture_cells, picture_evidence
    vpr, tasks, specs, out = planted
    tables = {"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs}
    ev = picture_evidence(tables, {}, out)
    cells = picture_cells(out)
    assert "S01" in set(cells["school_id"])              # the planted bunching school is drawn
    for r in cells.itertuples():
        one = cell_evidence(tables, {}, int(r.year), int(r.grade), r.subject, r.school_id)
        mine = ev[(ev.school_id == r.school_id) & (ev.year == r.year) & (ev.grade == r.grade) & (ev.subject == r.subject)]
        sc = mine[mine.kind == "scores"][["score", "observed", "expected", "window", "boundary"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(sc.astype({"score": "int64", "window": bool, "boundary": bool}),
                                      one["scores"].reset_index(drop=True), check_dtype=False)
        iv = mine[mine.kind == "intervals"][["group", "mean", "ci_low", "ci_high", "n"]].reset_index(drop=True)
        pd.testing.assert_frame_equal(iv, one["intervals"].reset_index(drop=True), check_dtype=False)
