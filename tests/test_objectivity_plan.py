"""The plan of work on objectivity (msoko.objectivity.plan): school-level error control, tiers, measures,
official signs in their place — on small fixed frames with values worked out by hand, and against the
demo's planted truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msoko.objectivity.plan import (EXPERTISE, OBSERVERS, RECHECK, SELF_CHECK, holm, plan_and_notes, plan_of_work,
                                    school_tests, plan_settings)

SUBJECTS = ("Математика", "Русский язык", "История")
MAX = pd.DataFrame({"year": [2020, 2021], "grade": [4, 4], "subject": ["Математика"] * 2, "max_score": [20.0, 20.0]})


def cells(n_works: int = 30):
    """(grade, subject) of a school's works: grades 4–13 × three subjects."""
    return [(4 + i // 3, SUBJECTS[i % 3]) for i in range(n_works)]


def row(year, school, grade, subject, sign, p=np.nan, flagged=False, value=np.nan, threshold=np.nan, n=40):
    return {"year": year, "school_id": school, "grade": grade, "subject": subject, "sign": sign, "value": value,
            "threshold": threshold, "flagged": flagged, "n": n, "ci_low": np.nan, "ci_high": np.nan, "p_value": p,
            "procedure": "ВПР", "official": sign in ("inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise"),
            "informativeness": None, "detail": ""}


def school(year, sid, sign, special: dict, n_works=30, base_p=0.5):
    """``sign`` assessed in every work of the school (p = base_p), with ``special`` {(grade, subject): p}."""
    out = []
    for g, s in cells(n_works):
        p = special.get((g, s), base_p)
        out.append(row(year, sid, g, s, sign, p, flagged=p < 0.001))
    return out


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["flagged"] = df["flagged"].astype("boolean")
    df["n"] = df["n"].astype("Int32")
    return df


def test_holm_by_hand_and_statsmodels():
    from statsmodels.stats.multitest import multipletests
    p = [0.01, 0.0001, 0.04, 0.002]
    # sorted 0.0001·4 = 0.0004, 0.002·3 = 0.006, 0.01·2 = 0.02, 0.04·1 = 0.04 (already increasing)
    assert holm(p) == pytest.approx([0.02, 0.0004, 0.04, 0.006])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    # the step-down maximum: a later smaller product is raised to the earlier one
    assert holm([0.03, 0.031]) == pytest.approx([0.06, 0.06])


def test_holm_over_a_schools_works_decides_the_tier():
    # four bunching works of one school, p as above: school-level p = 0.0004 < strong 0.001 → tier 1, observers;
    # the works of the finding are those with an adjusted p below plan_alpha 0.005 (0.0004 only; 0.006 is not)
    ps = {(4, "Математика"): 0.01, (4, "Русский язык"): 0.0001, (4, "История"): 0.04, (5, "Математика"): 0.002}
    o = frame(school(2021, "A", "bunching", ps, n_works=4))
    t = school_tests(o, plan_settings(None)).set_index(["grade", "subject"])
    assert t.loc[(4, "Русский язык"), "adj"] == pytest.approx(0.0004)
    assert t.loc[(5, "Математика"), "adj"] == pytest.approx(0.006)
    assert (t["m"] == 4).all()
    p = plan_of_work(o).iloc[0]
    assert (p["tier"], p["measures"], p["families"], p["works"]) == (1, OBSERVERS, "distribution", "ВПР, 4 кл. Русский язык")
    assert p["p_school"] == pytest.approx(0.0004) and p["n_works_flagged"] == 1
    # the reason in words: 0.0004 < 1/1000 after the correction for the school's four works
    assert ("скопление баллов у границ отметок (ВПР, 4 кл. Русский язык): с поправкой на 4 работы школы "
            "случайно такое бывает реже чем в 1 случае из 1000") in p["reasons"]


def test_a_cell_flag_that_does_not_survive_holm_is_a_note_not_the_plan():
    # one of 30 works at p = 0.0008 (flagged at the cell level, alpha 0.001): ×30 = 0.024 ≥ 0.005 → no
    # school-level finding: not in the plan, a note (information)
    o = frame(school(2021, "B", "bunching", {(6, "История"): 0.0008}))
    plan, notes = plan_and_notes(o)
    assert plan.empty and len(plan_of_work(o)) == 0
    n = notes.iloc[0]
    assert (n["school_id"], bool(n["official_only"])) == ("B", False)
    assert n["p_school"] == pytest.approx(0.024)
    assert (n["grade"], n["subject"], n["n"]) == (6, "История", 40)
    assert "ВПР, 6 кл. История" in n["reasons"] and "не подтверждаются на уровне школы" in n["reasons"]


def test_official_inflated_mean_alone_is_a_note_not_the_plan():
    # ФИОКО's inflated mean: school mean 12.0, reference upper bound 11.5 → 0.5 point of 20 (2.5 % < 5 %),
    # similar schools assessed and not confirming it; nothing else found → not in the plan; a note, official only
    rows = [row(2021, "C", 4, "Математика", "inflated_mean", flagged=True, value=12.0, threshold=11.5),
            row(2021, "C", 4, "Математика", "inflated_mean_similar", p=0.3),
            *school(2021, "C", "combined", {})]
    plan, notes = plan_and_notes(frame(rows), None, MAX)
    assert plan.empty
    assert len(notes) == 1
    r = notes.iloc[0]
    assert (r["school_id"], bool(r["official_only"])) == ("C", True)
    assert "(ВПР, 4 кл. Математика: похожие школы его не подтверждают" in r["reasons"]
    assert "лишь на 0,5 балла из 20 (меньше 5 % максимума)" in r["reasons"]


def test_the_plan_holds_only_school_level_findings_and_the_notes_the_rest():
    # Four schools of one year, 30 works each, worked by hand:
    #   S1 bunching p 1e-6 in one work → Holm ×30 = 3e-5 < 0.001 (strong) → tier 1, observers;
    #   S2 marks_higher p 1e-5 in one work → 3e-4 (strong journal) → tier 2, expertise;
    #   S3 bunching p 1e-4 in one work → 3e-3: found (< 0.005), not strong, alone → tier 3, self-check;
    #   S4 an official inflated mean only (0.5 of 20 above, similar schools p 0.3) → a note, official only;
    #   S5 bunching p 0.0005 in one work (flagged at the cell) → 0.015 ≥ 0.005 → a note, not official only;
    #   S6 nothing flagged → neither.
    rows = school(2021, "S1", "bunching", {(4, "Математика"): 1e-6})
    rows += school(2021, "S2", "marks_higher", {(5, "Математика"): 1e-5})
    rows += school(2021, "S3", "bunching", {(6, "История"): 1e-4})
    rows += [row(2021, "S4", 4, "Математика", "inflated_mean", flagged=True, value=12.0, threshold=11.5),
             row(2021, "S4", 4, "Математика", "inflated_mean_similar", p=0.3), *school(2021, "S4", "combined", {})]
    rows += school(2021, "S5", "bunching", {(7, "Русский язык"): 0.0005})
    rows += school(2021, "S6", "bunching", {})
    plan, notes = plan_and_notes(frame(rows), None, MAX)
    assert list(zip(plan["school_id"], plan["tier"])) == [("S1", 1), ("S2", 2), ("S3", 3)]
    assert list(plan["measures"]) == [OBSERVERS, EXPERTISE, SELF_CHECK]
    assert "на уровне школы находка одна" in plan.set_index("school_id").loc["S3", "reasons"]
    assert plan["p_school"].tolist() == pytest.approx([3e-5, 3e-4, 3e-3])
    assert list(zip(notes["school_id"], notes["official_only"])) == [("S4", True), ("S5", False)]
    assert notes.set_index("school_id").loc["S5", "p_school"] == pytest.approx(0.015)
    assert "official_only" not in plan.columns
    assert not set(plan["school_id"]) & set(notes["school_id"])   # a school is in one of them at most

    # the municipalities' counts (compute's municipalities_summary): measures 2, self-check 1, notes 2
    # (1 official only), assessed 6 — S4 is counted beside the plan, never in it
    from msoko.municipalities import ALL, plan_by_unit
    scope = pd.DataFrame({"school_id": [f"S{i}" for i in range(1, 7)], "counted": True, "municipality": "Район"})
    u = plan_by_unit(plan, frame(rows), scope, notes).set_index("municipality").loc["Район"]
    assert [int(u[c]) for c in ("plan_assessed", "plan_tier1", "plan_tier2", "plan_tier3", "plan_measures",
                                "plan_notes", "plan_official_only")] == [6, 1, 1, 1, 2, 2, 1]


def test_official_inflated_mean_confirmed_by_similar_schools_is_evidence():
    # the same sign 3 points above (15 % of 20) and similar schools confirm it (p = 1e-5 in its one
    # assessed work): level_peers found at the school level, strong → tier 1, observers; not «official only»
    rows = [row(2021, "D", 4, "Математика", "inflated_mean", flagged=True, value=14.5, threshold=11.5),
            row(2021, "D", 4, "Математика", "inflated_mean_similar", p=1e-5, flagged=True)]
    plan, notes = plan_and_notes(frame(rows), None, MAX)
    r = plan.iloc[0]
    assert (r["tier"], r["measures"]) == (1, OBSERVERS) and notes.empty
    assert "Завышенный средний балл" not in r["reasons"]   # confirmed: no note


def test_journal_findings_in_two_works_ask_for_expertise():
    # marks_higher p = 1e-5 in 5 Математика, marks_far p = 5e-5 in 6 Русский язык, the other sign of each
    # work and 28 further works at 0.5. Simes in a work: 2·1e-5 = 2e-5 and 2·5e-5 = 1e-4; Holm over 30
    # works: 2e-5·30 = 6e-4 (strong), 1e-4·29 = 2.9e-3 (< 0.005) → both works, journal only → tier 2
    rows = school(2021, "E", "marks_higher", {(5, "Математика"): 1e-5})
    rows += school(2021, "E", "marks_far", {(6, "Русский язык"): 5e-5})
    r = plan_of_work(frame(rows)).iloc[0]
    assert (r["tier"], r["measures"], r["families"]) == (2, EXPERTISE, "journal")
    assert r["n_works_flagged"] == 2 and r["works"] == "ВПР, 5 кл. Математика; ВПР, 6 кл. Русский язык"
    assert r["p_school"] == pytest.approx(6e-4)


def test_simes_within_a_work_then_holm():
    # one work with marks_higher 0.001 and marks_far 0.0015: Simes min(2·0.001/1, 2·0.0015/2) = 0.0015
    rows = [row(2021, "F", 5, "Математика", "marks_higher", 0.001, True), row(2021, "F", 5, "Математика", "marks_far", 0.0015)]
    t = school_tests(frame(rows), plan_settings(None))
    assert t["p"].iloc[0] == pytest.approx(0.0015) and t["adj"].iloc[0] == pytest.approx(0.0015)


def test_identical_strings_ask_for_a_recheck_of_those_works():
    rows = school(2021, "G", "answer_similarity", {(8, "Русский язык"): 1e-7})
    r = plan_of_work(frame(rows)).iloc[0]
    assert (r["tier"], r["measures"], r["works"]) == (1, RECHECK, "ВПР, 8 кл. Русский язык")


def test_persistence_raises_tier_and_rank():
    # bunching p = 1e-4 in one of 30 works: 3e-3 at the school level — found (< 0.005), not strong.
    # School H finds it in 2020 and 2021 → tier 1 both years; school K only in 2021 → tier 3.
    # School M: p = 1e-6/3 once → 1e-5 at the school level, strong, tier 1, score 5; H's 2021 score
    # −log10(3e-3) = 2.52 + 2 for its second year = 4.52.
    rows = school(2020, "H", "bunching", {(4, "Математика"): 1e-4}) + school(2021, "H", "bunching", {(4, "Математика"): 1e-4})
    rows += school(2021, "K", "bunching", {(4, "Математика"): 1e-4})
    rows += school(2021, "M", "bunching", {(4, "Математика"): 1e-6 / 3})   # 1e-6/3·30 = 1e-5: score 5
    p = plan_of_work(frame(rows))
    y = p[p["year"] == 2021].set_index("school_id")
    assert y.loc["H", "tier"] == 1 and y.loc["H", "persistence"] == 2
    assert y.loc["K", "tier"] == 3 and y.loc["K", "persistence"] == 1
    assert y.loc["H", "score"] == pytest.approx(-np.log10(3e-3) + 2.0)
    assert y.loc["M", "score"] == pytest.approx(5.0)
    assert list(y.index) == ["M", "H", "K"]        # tier, then score
    # without its 2020 works H is K: tier 3, no bonus
    alone = plan_of_work(frame(rows[30:])).set_index("school_id")
    assert alone.loc["H", "tier"] == 3 and alone.loc["H", "score"] == pytest.approx(-np.log10(3e-3))


def test_combined_is_never_a_second_family():
    # a strong journal finding also makes its work's combined p small: still one family → tier 2, not tier 1
    rows = school(2021, "N", "marks_higher", {(5, "Математика"): 1e-7})
    rows += school(2021, "N", "combined", {(5, "Математика"): 2e-7})
    r = plan_of_work(frame(rows)).iloc[0]
    assert (r["tier"], r["families"], r["measures"]) == (2, "journal", EXPERTISE)


def test_priorities_and_the_principals_component_read_the_plan():
    from msoko.indicators import objectivity_component
    from msoko.priorities import objectivity_findings, settings
    rows = school(2021, "E", "marks_higher", {(5, "Математика"): 1e-5})
    rows += school(2021, "E", "marks_far", {(6, "Русский язык"): 5e-5})
    rows += school(2021, "E", "combined", {})
    rows += [row(2021, "C", 4, "Математика", "inflated_mean", flagged=True, value=12.0, threshold=11.5),
             row(2021, "C", 4, "Математика", "inflated_mean_similar", p=0.3), *school(2021, "C", "combined", {})]
    o = frame(rows)
    plan = plan_of_work(o, None, MAX)
    f = objectivity_findings(o, settings({}), plan)
    # the official-only school C (tier 3) is not a finding; E (tier 2) is, without the observers' flag
    assert list(f["school_id"]) == ["E"] and not f.iloc[0]["combined"] and f.iloc[0]["tier"] == 2
    c = objectivity_component(o, plan).set_index("school_id")["objectivity"]
    assert c["E"] == pytest.approx(100 - 2 / 30 * 100)   # 2 of 30 assessed works in the plan's tiers 1–2
    assert c["C"] == pytest.approx(100.0)                 # an unconfirmed official flag costs nothing


def test_demo_plan_against_planted_truth(demo_raw, demo_processed):
    """Tiers 1–2 against the demo's planted cells (moderate and strong): recall of planted school-years
    and precision against any planted school-year. Measured at commit time: recall 13/13, precision 14/18."""
    plan = pd.read_parquet(demo_processed / "objectivity_plan.parquet")
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv")
    strong = truth[truth["strength"].isin(["moderate", "strong"])]
    want = set(zip(strong["year"].astype(int), strong["school_id"]))
    planted = set(zip(truth["year"].astype(int), truth["school_id"]))
    sel = plan[plan["tier"] <= 2]
    got = set(zip(sel["year"].astype(int), sel["school_id"]))
    assert want, "the demo plants moderate and strong cases"
    assert got, "compute found none of the planted cases: that is the failure"
    recall = len(got & want) / len(want)
    precision = len(got & planted) / len(got)
    assert recall >= 0.8, (recall, sorted(want - got))
    assert precision >= 0.6, (precision, sorted(got - planted))
    # every plan row has a school-level finding; the notes (official-only or cell-level flags) are apart
    assert (plan["families"].fillna("") != "").all()
    notes = pd.read_parquet(demo_processed / "objectivity_plan_notes.parquet")
    assert not set(zip(plan["year"], plan["school_id"])) & set(zip(notes["year"], notes["school_id"]))


def test_combined_beside_another_family_is_no_year_of_persistence():
    # 2020: a strong journal finding whose work also has a small combined p; 2021: combined found once
    # (p 1e-4 in one of 30 works → 3e-3: found, not strong). The 2020 combined trace was the journal's:
    # 2021 has no second year of `combined` → tier 3, not tier 1
    rows = school(2020, "P", "marks_higher", {(5, "Математика"): 1e-7})
    rows += school(2020, "P", "combined", {(5, "Математика"): 2e-7})
    rows += school(2021, "P", "combined", {(7, "История"): 1e-4})
    p = plan_of_work(frame(rows)).set_index("year")
    assert p.loc[2020, "tier"] == 2 and p.loc[2021, "tier"] == 3
    assert p.loc[2021, "families"] == "combined" and p.loc[2021, "persistence"] == 2
