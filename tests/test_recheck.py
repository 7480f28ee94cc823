"""Re-checks of ВПР works (перепроверка): the справка figures by hand and by scipy, verdicts, precision,
the template through ingest, and the demo's re-checks against its planted truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity.recheck import recheck_precision, recheck_summary, scales_from_vpr

# grade-8 maths 2021 scale (domain §5): «3» from 8, «4» from 15, «5» from 21
VPR = pd.DataFrame({"year": [2023] * 4, "grade": [8] * 4, "subject": ["Математика"] * 4,
                    "primary_score": [3.0, 8.0, 15.0, 21.0], "mark": [2, 3, 4, 5]})

# school A: ten works, first totals and changes by hand; the changes sit on task 2 except pupils 5 and 10
A_FIRST = [15, 16, 8, 21, 9, 10, 22, 15, 14, 8]
A_CHANGE = [-2, -2, -1, -2, -3, -2, -1, -2, -2, -3]
B_CHANGE = [0, 0, 0, 1, 0, 0, -1, 0, 0, 0]
D_CHANGE = [-4, 0, -4, 0, -4, 0, 0, 0, 0, 0]


def _rows(school, firsts, changes, split_first_task=()):
    rows = []
    for i, (f, c) in enumerate(zip(firsts, changes)):
        t1 = 1 if i in split_first_task else 0       # task 1's share of the change
        # first marking: task 1 gets 5 points (or the whole total if smaller), task 2 the rest
        f1 = min(5, f)
        rows.append(dict(year=2023, school_id=school, grade=8, subject="Математика", participant=f"{school}{i}",
                         task="1", score_first=float(f1), score_recheck=float(f1 - t1), checker="МПК"))
        rows.append(dict(year=2023, school_id=school, grade=8, subject="Математика", participant=f"{school}{i}",
                         task="2", score_first=float(f - f1), score_recheck=float(f - f1 + c + t1), checker="МПК"))
    return rows


@pytest.fixture()
def recheck():
    rows = _rows("A", A_FIRST, A_CHANGE, split_first_task={4, 9})
    rows += _rows("B", [12] * 10, B_CHANGE)
    rows += _rows("C", [12] * 4, [-3] * 4)
    rows += _rows("D", [12] * 10, D_CHANGE)
    return pd.DataFrame(rows)


def test_scale_read_from_the_loaded_marks():
    s = scales_from_vpr(VPR).iloc[0]
    assert (s["min3"], s["min4"], s["min5"]) == (8.0, 15.0, 21.0)


def test_summary_by_hand_and_by_scipy(recheck):
    s = recheck_summary(recheck, scales_from_vpr(VPR)).set_index("school_id")
    a = s.loc["A"]
    assert a["works"] == 10 and a["mean_change"] == pytest.approx(-2.0)
    ci = st.ttest_1samp(A_CHANGE, 0).confidence_interval(0.95)      # independent reference
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((-2.477, -1.523), abs=1e-3)  # 2 ± 2.262·(2/3)/√10
    # marks by hand: 4→3, 4→3, 3→2, 5→4, 3→2, 3→3, 5→5, 4→3, 3→3, 3→2
    assert a["marks_changed"] == 7 and a["marks_lowered"] == 7 and a["marks_changed_share"] == pytest.approx(70.0)
    assert a["tasks"] == "2"                 # 18 of the 20 points changed are on task 2
    assert a["verdict"] == "подтверждено"
    assert "согласуются с признаками завышения" in a["text"] and "нечестн" not in a["text"]
    b = s.loc["B"]
    assert b["mean_change"] == pytest.approx(0.0) and b["verdict"] == "не подтверждено"
    assert b["marks_changed"] == 0
    assert s.loc["C", "verdict"] == "мало работ" and s.loc["C", "works"] == 4
    d = s.loc["D"]
    ci = st.ttest_1samp(D_CHANGE, 0).confidence_interval(0.95)
    assert d["mean_change"] == pytest.approx(-1.2) and (d["ci_low"], d["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert d["verdict"] == "не определено"    # −2,58…0,18: neither below 0 nor clear of −1


def test_thresholds_come_from_configuration(recheck):
    s = recheck_summary(recheck, scales_from_vpr(VPR), {"recheck": {"min_works": 4, "min_mean_change": 3.0}})
    s = s.set_index("school_id")
    assert s.loc["C", "verdict"] == "подтверждено"       # four works, −3 each: zero spread, −3 ≤ −3
    # −2,48…−1,52 rules out a fall of 3 points or more: by this municipality's measure, not confirmed
    assert s.loc["A", "verdict"] == "не подтверждено" and "на 3,0 балла и более" in s.loc["A", "text"]


def test_precision_by_family(recheck):
    s = recheck_summary(recheck, scales_from_vpr(VPR))
    obj = pd.DataFrame({"year": [2023, 2023, 2023], "school_id": ["A", "A", "B"], "grade": [8, 8, 8],
                        "subject": ["Математика"] * 3, "sign": ["bunching", "combined", "inflated_mean"],
                        "flagged": [True, True, True]})
    p = recheck_precision(s, obj).set_index("family")
    assert p.loc["results", ["works_rechecked", "with_verdict", "confirmed"]].tolist() == [1, 1, 1]
    assert p.loc["official", ["works_rechecked", "with_verdict", "confirmed"]].tolist() == [1, 1, 0]
    # not flagged: C (too few, no verdict) and D (inconclusive)
    assert p.loc["none", ["works_rechecked", "with_verdict", "confirmed"]].tolist() == [2, 1, 0]
    assert "marks" not in p.index


def test_precision_by_family_with_visits(recheck):
    """Visits of 2023 against the flags of 2022 (the plan made on 2022 is carried out in 2023): per family, the
    schools visited with a work flagged by it, those whose visit found remarks or violations, and that share with
    the Wilson interval of statsmodels. A school flagged only in 2023, or never, counts under «none»; a row «визит
    не проводился» (visits = 0) is not a visit."""
    from statsmodels.stats.proportion import proportion_confint

    from msoko.objectivity.visits import NOT_VISITED

    s = recheck_summary(recheck, scales_from_vpr(VPR))
    obj = pd.DataFrame({"year": [2022, 2022, 2022, 2022, 2023], "school_id": ["S1", "S1", "S2", "S3", "S4"],
                        "grade": [8] * 5, "subject": ["Математика"] * 5,
                        "sign": ["bunching", "combined", "inflated_mean", "marks_unrelated", "bunching"],
                        "flagged": [True, True, True, False, True]})
    visits = pd.DataFrame({"year": [2023] * 6, "school_id": ["S1", "S2", "S3", "S4", "S5", "S6"],
                           "visits": [1, 2, 1, 1, 0, 1],
                           "finding": ["нарушения", "нарушений нет", "замечания", "нарушений нет", NOT_VISITED,
                                       "замечания"]})
    p = recheck_precision(s, obj, visits).set_index("family")
    cols = ["schools_visited", "visits_findings", "visits_violations"]
    assert p.loc["results", cols].tolist() == [1, 1, 1] and p.loc["results", "share_visits_findings"] == 100.0
    assert p.loc["combined", cols].tolist() == [1, 1, 1]
    assert p.loc["official", cols].tolist() == [1, 0, 0] and p.loc["official", "share_visits_findings"] == 0.0
    # S3 (its 2022 sign not flagged), S4 (flagged only in 2023) and S6: 2 of 3 with remarks; S5 was not visited
    assert p.loc["none", cols].tolist() == [3, 2, 0]
    assert p.loc["none", "share_visits_findings"] == pytest.approx(200 / 3)
    lo, hi = proportion_confint(2, 3, method="wilson")
    assert (p.loc["none", "visits_ci_low"], p.loc["none", "visits_ci_high"]) == pytest.approx((100 * lo, 100 * hi))
    lo, hi = proportion_confint(0, 1, method="wilson")
    assert (p.loc["official", "visits_ci_low"], p.loc["official", "visits_ci_high"]) == pytest.approx((0.0, 100 * hi))
    # the re-check columns are those of the table without visits (every 2023 work unflagged but S4's: none)
    assert p.loc["none", ["works_rechecked", "with_verdict", "confirmed"]].tolist() == [4, 3, 1]
    assert "marks" not in p.index
    # a year with visits and no re-checks has rows of its own; without visits the columns are empty
    # (in 2024 only S4's 2023 flag counts: S1, S2, S3 and S6 are «none»)
    p2 = recheck_precision(s, obj, visits.assign(year=2024)).set_index(["year", "family"])
    assert p2.loc[(2024, "none"), ["works_rechecked", "schools_visited"]].tolist() == [0, 4]
    assert p2.loc[(2024, "results"), ["works_rechecked", "schools_visited", "visits_findings"]].tolist() == [0, 1, 0]
    assert recheck_precision(s, obj)["schools_visited"].eq(0).all()


def test_template_through_ingest_rejects_a_bad_row(tmp_path):
    from msoko.compute import compute
    from msoko.ingest import ingest
    from tests.test_ingest import make_raw, write_xlsx

    raw = make_raw(tmp_path / "raw")
    (raw / "templates").mkdir(exist_ok=True)
    head = ["Год", "Логин ОО", "Класс", "Предмет", "Код участника", "Задание", "Балл при проверке",
            "Балл при перепроверке", "Кто перепроверял"]
    body = [[2021, "sch000001", 4, "Математика", f"p{i}", "1", 2, 1, "МПК"] for i in range(3)]
    body.append([2021, "sch000001", 4, "Математика", "p9", "1", 2, -1, "МПК"])     # a negative score
    write_xlsx(raw / "templates" / "recheck.xlsx", [head] + body)
    ingest(raw, tmp_path / "p", jobs=1, progress=False)
    got = pd.read_parquet(tmp_path / "p" / "recheck.parquet")
    assert len(got) == 3 and set(got["participant"]) == {"p0", "p1", "p2"}
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    bad = rej[rej["file"].str.endswith("recheck.xlsx")]
    assert len(bad) == 1 and bad["column"].iloc[0] == "Балл при перепроверке"
    compute(tmp_path / "p", config_path=None)
    s = pd.read_parquet(tmp_path / "p" / "objectivity_recheck.parquet")
    assert s["works"].tolist() == [3] and s["verdict"].tolist() == ["мало работ"]
    assert s["mean_change"].iloc[0] == pytest.approx(-1.0)


def test_demo_rechecks_follow_the_planted_truth(demo_raw, demo_processed):
    """The demo re-checks planted cells and as many clean ones: the planted ones come out lower."""
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv", dtype={"school_id": str})
    s = pd.read_parquet(demo_processed / "objectivity_recheck.parquet")
    assert len(s) >= 4
    key = ["year", "school_id", "grade", "subject"]
    planted = s.merge(truth[key + ["kind"]], on=key, how="left")
    is_planted = planted["kind"].isin(["inflated_scores", "boundary_push", "answer_copying"])
    assert is_planted.any() and (~is_planted).any()
    # a planted cell's re-check lowers its scores; a clean one's barely moves
    assert planted.loc[is_planted, "mean_change"].max() < -0.5
    assert planted.loc[~is_planted, "mean_change"].abs().max() < 0.5
    judged = planted[planted["verdict"] != "мало работ"]
    assert (judged.loc[judged["kind"].notna(), "verdict"] == "подтверждено").mean() >= 0.8
    assert (judged.loc[judged["kind"].isna(), "verdict"] == "подтверждено").sum() == 0
    prec = pd.read_parquet(demo_processed / "objectivity_recheck_precision.parquet")
    assert {"none"} <= set(prec["family"]) and prec["works_rechecked"].sum() >= len(s)
    # the demo visits every school with a planted manipulation the year before (remarks more often): the schools
    # msoko's combined picture flagged that year are visited, and most visits found something
    comb = prec[prec["family"] == "combined"]
    assert comb["schools_visited"].sum() > 0
    assert comb["visits_findings"].sum() / comb["schools_visited"].sum() >= 0.5


def test_precision_table_shows_the_visits_when_there_are_some(recheck, tmp_path):
    """The report's precision table: the visit columns «k из n: share [interval]» (whole %) appear only when the
    year has visits."""
    from msoko.report.data import ReportData
    from msoko.report.recheck import precision_table

    s = recheck_summary(recheck, scales_from_vpr(VPR))
    obj = pd.DataFrame({"year": [2022], "school_id": ["S1"], "grade": [8], "subject": ["Математика"],
                        "sign": ["combined"], "flagged": [True]})
    visits = pd.DataFrame({"year": [2023, 2023, 2023], "school_id": ["S1", "S2", "S3"], "visits": [1, 1, 1],
                           "finding": ["нарушения", "нарушений нет", "замечания"]})

    def table(v):
        d = ReportData(processed_dir=tmp_path, schools=pd.DataFrame({"school_id": ["S1"]}),
                       task_specs=pd.DataFrame(), indicators=pd.DataFrame(), catalogue=pd.DataFrame(),
                       objectivity=pd.DataFrame(), config={})
        d.tables["objectivity_recheck_precision"] = recheck_precision(s, obj, v)
        return precision_table(d, 2023).set_index("Работы")

    t = table(visits)
    col = "С замечаниями или нарушениями, % [95 % ДИ]"
    assert t.loc["совокупность признаков msoko", col] == "1 из 1: 100 [21–100]"   # Wilson 1/1: 0,2065…1
    assert t.loc["работы без признаков", col] == "1 из 2: 50 [9–91]"             # Wilson 1/2: 0,0945…0,9055
    assert t.loc["работы без признаков", "Школ посещено (признаки — в прошлом году)"] == 2
    assert col not in table(None)
