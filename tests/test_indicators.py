"""Indicators on small fixed frames: every formula kind checked by hand or by statsmodels/scipy."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from msoko.config import deep_merge, load_config
from msoko.indicators import compute_indicators, load_catalogue

# the small frames' 2020 works are spring ones, comparable with 2021 (by default 2020 is autumn and
# no change «к прошлому году» is made across seasons: tests/test_shnor.py)
CFG = deep_merge(load_config(), {"vpr_seasons": {"2020": "весна"}})


def schools(*rows):
    return pd.DataFrame(rows, columns=["school_id", "name", "municipality", "org_type", "settlement_type"]).assign(
        settlement="x", students_total=pd.array([None] * len(rows), dtype="Int32"), is_preschool=False)


SCHOOLS = schools(("A", "Школа А", "М", "СОШ", "село"), ("B", "Школа Б", "М", "СОШ", "село"),
                  ("C", "Гимназия В", "М", "гимназия", "город"))


def vpr_rows(school, year, marks, grade=5, subject="Математика", journal=None, absent=0, scores=None,
             max_score=20.0):
    """One row per work: marks (list of 2..5), optional journal marks and scores; + absent rows."""
    n = len(marks)
    scores = scores if scores is not None else [float(m * 4) for m in marks]
    journal = journal if journal is not None else [None] * n
    df = pd.DataFrame({
        "year": year, "grade": grade, "subject": subject, "school_id": school,
        "student_code": [f"{school}{year}{grade}{subject}{i}" for i in range(n)],
        "journal_mark": pd.array(journal, dtype="Int8"), "sex": "м", "class": "а", "variant": "1",
        "absent": False, "primary_score": scores, "max_score": max_score, "mark": pd.array(marks, dtype="Int8")})
    if absent:
        ab = pd.DataFrame({"year": year, "grade": grade, "subject": subject, "school_id": school,
                           "student_code": [f"{school}{year}ab{i}" for i in range(absent)],
                           "journal_mark": pd.array([None] * absent, dtype="Int8"), "sex": "м", "class": "а",
                           "variant": None, "absent": True, "primary_score": np.nan, "max_score": max_score,
                           "mark": pd.array([None] * absent, dtype="Int8")})
        df = pd.concat([df, ab], ignore_index=True)
    return df


def row(ind, code, school, year=2021, level=None, grade=None, subject=None, item=None):
    level = level or ("municipality" if school == "М" else "school")
    m = (ind["indicator"] == code) & (ind["school_id"] == school) & (ind["year"] == year) & (ind["level"] == level)
    m &= ind["grade"].isna() if grade is None else (ind["grade"] == grade)
    m &= ind["subject"].isna() if subject is None else (ind["subject"] == subject)
    m &= ind["item"].isna() if item is None else (ind["item"] == item)
    out = ind[m]
    assert len(out) == 1, (code, school, year, len(out))
    return out.iloc[0]


@pytest.fixture(scope="module")
def small():
    # A: 30 works: 3×«2», 9×«3», 12×«4», 6×«5»; + 2 absent. B: 10 works: 1×«2», 9×«4». C: 4 works (suppressed).
    a = vpr_rows("A", 2021, [2] * 3 + [3] * 9 + [4] * 12 + [5] * 6, absent=2,
                 journal=[3] * 3 + [3] * 9 + [5] * 12 + [4] * 6)
    b = vpr_rows("B", 2021, [2] * 1 + [4] * 9)
    c = vpr_rows("C", 2021, [5, 5, 4, 3])
    a0 = vpr_rows("A", 2020, [2] * 10 + [3] * 10)  # last year: 10/20 «2»
    tables = {"vpr": pd.concat([a, b, c, a0], ignore_index=True), "schools": SCHOOLS}
    return compute_indicators(tables, CFG)


def test_share_and_wilson(small):
    r = row(small.indicators, "vpr_fail_share", "A")
    assert (r.numerator, r.denominator, r.n) == (3, 30, 30)
    assert r.value == pytest.approx(10.0)
    lo, hi = proportion_confint(3, 30, method="wilson")
    assert (r.ci_low, r.ci_high) == pytest.approx((lo * 100, hi * 100))
    assert row(small.indicators, "vpr_success", "A").value == pytest.approx(90.0)       # 27/30
    assert row(small.indicators, "vpr_quality", "A").value == pytest.approx(60.0)       # 18/30
    assert row(small.indicators, "vpr_mark4_share", "A").value == pytest.approx(40.0)   # 12/30
    p = row(small.indicators, "vpr_participation", "A")
    assert (p.numerator, p.denominator) == (30, 32)


def test_municipality_is_pooled_not_average(small):
    m = row(small.indicators, "vpr_fail_share", "М")
    # pooled over students: (3 + 1 + 0) / (30 + 10 + 4) — not the mean of 10 %, 10 %, 0 %
    assert (m.numerator, m.denominator) == (4, 44)
    assert m.value == pytest.approx(400 / 44)
    assert row(small.indicators, "vpr_fail_share", "A").municipality_value == pytest.approx(400 / 44)
    # grade × subject rows exist beside the total
    assert row(small.indicators, "vpr_fail_share", "A", grade=5, subject="Математика").value == pytest.approx(10.0)


def test_similar_schools_pooled_excluding_itself(small):
    a = row(small.indicators, "vpr_quality", "A")
    assert a.similar_value == pytest.approx(90.0)       # B alone: 9/10
    assert (a.similar_n, a.similar_schools) == (10, 1)
    lo, hi = proportion_confint(9, 10, method="wilson")
    assert (a.similar_ci_low, a.similar_ci_high) == pytest.approx((lo * 100, hi * 100))
    b = row(small.indicators, "vpr_quality", "B")
    assert b.similar_value == pytest.approx(60.0)       # A alone: 18/30
    assert np.isnan(row(small.indicators, "vpr_quality", "C").similar_value)  # no peer of its type
    # A's interval [~42, ~75] lies wholly below B (90) → −1; municipality 30/44 = 68.2 inside → 0
    assert a.vs_similar == -1 and a.vs_municipality == 0
    assert "rank" not in " ".join(small.indicators.columns)


def test_suppression_and_limited(small):
    c = row(small.indicators, "vpr_quality", "C")
    assert c.suppressed and c.limited and c.n == 4
    assert np.isnan(c.value) and np.isnan(c.numerator) and np.isnan(c.ci_low)
    b = row(small.indicators, "vpr_quality", "B")
    assert not b.suppressed and b.limited and b.value == pytest.approx(90.0)
    a = row(small.indicators, "vpr_quality", "A")
    assert not a.suppressed and not a.limited


def test_change_with_newcombe_interval(small):
    r = row(small.indicators, "vpr_fail_share", "A")
    assert r.prev_value == pytest.approx(50.0)
    assert r.change == pytest.approx(-40.0)
    lo, hi = confint_proportions_2indep(3, 30, 10, 20, method="newcomb", compare="diff")
    assert (r.change_ci_low, r.change_ci_high) == pytest.approx((lo * 100, hi * 100))


def bounded_wilson(x, top):
    """The bounded-mean interval worked out step by step: Wilson on the share of the scale with
    n_eff = n·p(1−p)/v, v = (n·v₀ + p(1−p)) / (n + 1) (statsmodels for the Wilson part)."""
    x = np.asarray(x, dtype=float) / top
    n, p = len(x), x.mean()
    v = (n * x.var() + p * (1 - p)) / (n + 1)
    m = n * p * (1 - p) / v if p * (1 - p) > 0 else n
    lo, hi = proportion_confint(p * m, m, method="wilson")
    return lo * top, hi * top


def test_mean_score_with_bounded_interval(small):
    scores = np.array([8.0] * 3 + [12.0] * 9 + [16.0] * 12 + [20.0] * 6)
    r = row(small.indicators, "vpr_mean_score", "A")
    assert r.value == pytest.approx(scores.mean())
    assert (r.ci_low, r.ci_high) == pytest.approx(bounded_wilson(scores, 20.0))
    # close to the t interval inside the scale (14.8: 13.43–16.17 by t)
    assert (r.ci_low, r.ci_high) == pytest.approx((13.3079, 16.0579), abs=1e-4)
    pct = row(small.indicators, "vpr_mean_pct", "A")
    assert pct.value == pytest.approx(scores.mean() / 20 * 100)


def test_journal_comparison(small):
    # A: «2» with journal 3 → lower (3); «3»=3 → confirm (9); «4» with 5 → lower (12); «5» with 4 → higher (6)
    ind = small.indicators
    assert row(ind, "vpr_journal_lower", "A").numerator == 15
    assert row(ind, "vpr_journal_confirm", "A").numerator == 9
    assert row(ind, "vpr_journal_higher", "A").numerator == 6
    assert row(ind, "vpr_journal_lower", "A").denominator == 30
    # B has no journal marks: denominator 0 → no value
    assert np.isnan(row(ind, "vpr_journal_lower", "B").value)


def test_missing_tables_are_notes_not_errors(small):
    notes = small.notes.set_index("indicator")["reason"]
    assert "таблица «gia»" in notes["gia_below_min"]
    assert "таблица «teachers»" in notes["teachers_kpk3"]
    assert set(small.notes["indicator"]) | set(small.indicators["indicator"]) == set(load_catalogue()["code"])


def test_task_and_level_completion_with_sufficiency():
    # 5 students of school A, 3 tasks: 1 (Б, max 1), 2 (Б, max 2), 3 (П, max 2); 'X' (NaN) = 0
    s1 = [1.0, 0, 0, 1, 0]
    s2 = [1.0, 2, 2, 0, 2]
    s3 = [np.nan, 2, 0, 1, 2]
    vpr = vpr_rows("A", 2021, [3, 4, 3, 3, 4], scores=[2.0, 4, 2, 2, 4], max_score=5)
    codes = list(vpr.student_code)
    tasks = pd.DataFrame({"year": 2021, "grade": 5, "subject": "Математика", "school_id": "A",
                          "student_code": codes * 3, "task": ["1"] * 5 + ["2"] * 5 + ["3"] * 5,
                          "score": s1 + s2 + s3})
    specs = pd.DataFrame({"grade": 5, "subject": "Математика", "task": ["1", "2", "3"], "skill": "s",
                          "level": ["Б", "Б", "П"], "max_score": [1.0, 2.0, 2.0], "kes": "", "kt": ""})
    res = compute_indicators({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs, "schools": SCHOOLS}, CFG)
    ind = res.indicators
    g = dict(grade=5, subject="Математика")
    t1 = row(ind, "vpr_task_completion", "A", item="1", **g)
    t2 = row(ind, "vpr_task_completion", "A", item="2", **g)
    t3 = row(ind, "vpr_task_completion", "A", item="3", **g)
    assert (t1.value, t2.value, t3.value) == pytest.approx((40.0, 70.0, 50.0))
    assert (t1.threshold, t2.threshold, t3.threshold) == (50.0, 50.0, 30.0)
    assert bool(t1.flag) and not bool(t2.flag) and not bool(t3.flag)
    # a one-point task: exactly Wilson's interval for 2 of 5
    lo, hi = proportion_confint(2, 5, method="wilson")
    assert (t1.ci_low, t1.ci_high) == pytest.approx((lo * 100, hi * 100))
    # level per student: Б = (s1 + s2) / 3, П = s3 / 2 ('X' = 0); then the mean over students
    pb = (np.array(s1) + np.array(s2)) / 3 * 100
    pp = np.nan_to_num(np.array(s3)) / 2 * 100
    b = row(ind, "vpr_level_completion", "A", item="Б", **g)
    p = row(ind, "vpr_level_completion", "A", item="П", **g)
    assert b.value == pytest.approx(pb.mean()) and b.value == pytest.approx(60.0)
    assert p.value == pytest.approx(pp.mean()) and p.value == pytest.approx(50.0)
    assert (p.ci_low, p.ci_high) == pytest.approx(bounded_wilson(pp, 100.0))
    assert (b.threshold, p.threshold) == (50.0, 30.0)
    suff = row(ind, "vpr_tasks_sufficient", "A", **g)
    assert (suff.numerator, suff.denominator) == (2, 3)
    assert suff.value == pytest.approx(200 / 3)
    # the tasks of a work scattered over the table (not as the ingest writes them): same result
    shuffled = tasks.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ind2 = compute_indicators({"vpr": vpr, "vpr_tasks": shuffled, "task_specs": specs, "schools": SCHOOLS},
                              CFG).indicators
    b2 = row(ind2, "vpr_level_completion", "A", item="Б", **g)
    assert (b2.value, b2.ci_low) == pytest.approx((b.value, b.ci_low))


def test_rate_per_1000_and_flag_share():
    up = pd.DataFrame({"year": 2021, "school_id": ["A", "B"], "students": [500, 1500], "in_clubs": [100, 300],
                       "volunteers": 0, "youth_movements": 0, "offences": [2, 1], "pdn_kdn_registered": [4, 2],
                       "removed_improved": [1, 0], "programme_approved": [True, False]})
    ind = compute_indicators({"upbringing": up, "schools": SCHOOLS}, CFG).indicators
    assert row(ind, "upbr_pdn_kdn_rate", "A").value == pytest.approx(8.0)
    m = row(ind, "upbr_pdn_kdn_rate", "М")
    assert m.value == pytest.approx(6 / 2000 * 1000)
    assert m.ci_low == pytest.approx(st.chi2.ppf(0.025, 12) / 2 / 2000 * 1000)
    assert row(ind, "upbr_removed_improved", "A").value == pytest.approx(20.0)   # 1 / (4 + 1)
    # an institution fact is never suppressed at school level; municipality = share of schools
    a = row(ind, "upbr_programme_approved", "A")
    assert a.value == 100 and not a.suppressed
    assert row(ind, "upbr_programme_approved", "М").value == pytest.approx(50.0)
    assert row(ind, "upbr_clubs", "М").value == pytest.approx(20.0)           # (100 + 300) / 2000


# the ШНОР rule (pooled units, intervals, seasons): tests/test_shnor.py


def test_risk_profile_thresholds_from_config():
    ctx = pd.DataFrame({"year": 2021, "school_id": ["A", "B"], "equipment_index": [55.0, 80.0],
                        "teacher_vacancies": [3, 0], "students_risk_failure": [30, 5], "families_at_risk": [10, 1],
                        "parent_involvement": [40.0, 70.0], "learning_motivation": [45.0, 60.0],
                        "school_climate": [50.0, 80.0], "teacher_competence": [70.0, 70.0]})
    cont = pd.DataFrame({"year": 2021, "school_id": ["A", "B"], "grade": 5, "students": [100, 100],
                         "students_ovz": [12, 2]})
    res = compute_indicators({"context": ctx, "contingent": cont, "schools": SCHOOLS}, CFG)
    ind = res.indicators
    eq = row(ind, "risk_low_equipment", "A")
    assert (eq.value, eq.threshold, bool(eq.flag)) == (55.0, 60.0, True)
    assert not bool(row(ind, "risk_low_equipment", "B").flag)
    assert row(ind, "risk_high_ovz", "A").value == pytest.approx(12.0) and bool(row(ind, "risk_high_ovz", "A").flag)
    # A: equipment, failure risk (30 %), ОВЗ (12 %), parents, motivation, climate = 6 (vacancy rate unknown: no staff table)
    assert row(ind, "risk_factors_count", "A").value == 6
    assert row(ind, "risk_factors_count", "B").value == 0
    assert row(ind, "risk_profile_high", "М").value == pytest.approx(50.0)


def test_specification_not_applied_to_an_export_with_other_tasks():
    # the export has 2 tasks, the specification 3 (as for the 2020 ВПР against 2021 specs):
    # no difficulty levels, no thresholds, the observed maximum is used
    vpr = vpr_rows("A", 2020, [3] * 5, scores=[2.0] * 5, max_score=4)
    tasks = pd.DataFrame({"year": 2020, "grade": 5, "subject": "Математика", "school_id": "A",
                          "student_code": list(vpr.student_code) * 2, "task": ["1"] * 5 + ["2"] * 5,
                          "score": [1.0, 1, 0, 0, 0] + [2.0, 1, 1, 0, 0]})
    specs = pd.DataFrame({"grade": 5, "subject": "Математика", "task": ["1", "2", "3"], "skill": "s",
                          "level": ["Б", "Б", "П"], "max_score": [1.0, 1.0, 2.0], "kes": "", "kt": ""})
    res = compute_indicators({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs, "schools": SCHOOLS}, CFG)
    ind = res.indicators
    t2 = row(ind, "vpr_task_completion", "A", year=2020, grade=5, subject="Математика", item="2")
    assert t2.value == pytest.approx(40.0)        # (2 + 1 + 1) / 5 / observed max 2
    assert np.isnan(t2.threshold)
    notes = res.notes.set_index("indicator")["reason"]
    assert "уровни сложности заданий неизвестны" in notes["vpr_level_completion"]


def test_olympiad_people_not_diplomas_and_contingent_optional():
    o = pd.DataFrame({"year": 2021, "stage": ["школьный"] * 4 + ["муниципальный"] * 2, "school_id": "A",
                      "student_code": ["p1", "p1", "p2", "p3", "p1", "p2"], "grade": [7, 7, 8, 4, 7, 8],
                      "subject": ["Математика", "Физика", "Математика", "Математика", "Математика", "Физика"],
                      "status": ["победитель", "призёр", "участник", "участник", "призёр", "участник"]})
    res = compute_indicators({"olympiad": o, "schools": SCHOOLS}, CFG)
    ind = res.indicators
    assert row(ind, "olymp_stage_participants", "A", item="школьный").value == 3      # p1 twice = 1 person
    assert row(ind, "olymp_awardees", "A", item="школьный").value == 1               # two diplomas of p1
    assert row(ind, "olymp_awardees", "A", item="муниципальный").value == 1
    assert "contingent" in res.notes.set_index("indicator").loc["olymp_school_participation", "reason"]
    cont = pd.DataFrame({"year": 2021, "school_id": "A", "grade": [4, 7, 8, 9], "students": [10, 10, 10, 10]})
    ind2 = compute_indicators({"olympiad": o, "contingent": cont, "schools": SCHOOLS}, CFG).indicators
    r = row(ind2, "olymp_school_participation", "A")
    assert (r.numerator, r.denominator) == (3, 40)
    assert row(ind2, "olymp_municipal_share", "A").numerator == 2                    # p1, p2 (grades 7–11)


def test_table_without_a_column_is_a_note_not_a_crash():
    up = pd.DataFrame({"year": 2021, "school_id": ["A"], "students": [500]})   # an old, short template
    t = pd.DataFrame({"year": 2021, "school_id": "A", "teacher_code": ["t1", "t2", "t3", "t4", "t5"],
                      "birth_year": 1980, "category": "первая", "kpk_date": pd.Timestamp("2020-10-01"),
                      "deficit_diagnostics": True, "individual_route": False, "prof_contest": False})
    res = compute_indicators({"upbringing": up, "teachers": t, "schools": SCHOOLS}, CFG)
    notes = res.notes.set_index("indicator")["reason"]
    assert "нет столбца" in notes["upbr_clubs"]
    assert row(res.indicators, "teachers_kpk3", "A").value == 100.0
