"""Medal candidates' annual «5» against their ЕГЭ/ОГЭ results (seed 003, item 36): figures by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity.medals import medal_rows


def _ege(sid, scores, year=2023, annual=5, start=0):
    return [dict(year=year, school_id=sid, student_code=f"{sid}{start + i}", subject="Русский язык",
                 annual_mark=annual, exam="ЕГЭ", exam_score=float(x), exam_mark=None) for i, x in enumerate(scores)]


@pytest.fixture
def medals():
    rows = (_ege("a", [50, 55, 58, 70, 80, 90, 52, 54, 85, 41, 59, 44])      # 8 of 12 under 60
            + _ege("b", [70, 75, 80, 85, 90, 95, 65, 72, 78, 59])             # 1 of 10 under 60
            + _ege("c", [60, 61, 62, 70, 80, 90, 95, 85])                     # 0 of 8
            + _ege("d", [40, 45, 50])                                         # 3 candidates: suppressed
            + _ege("b", [30], annual=4, start=50))                            # annual «4»: not a «5», not counted
    return pd.DataFrame(rows)


def test_share_interval_and_test_by_hand(medals):
    r = medal_rows(medals).set_index("school_id")
    a = r.loc["a"]
    assert (a["candidates"], a["n"], a["below"]) == (12, 12, 8)
    assert a["share"] == pytest.approx(100 * 8 / 12)
    # Wilson by hand: (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)
    z, n, p = st.norm.ppf(0.975), 12, 8 / 12
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((100 * (centre - half), 100 * (centre + half)))
    # the other schools: b 1 of 10, c 0 of 8, d 3 of 3 — suppressed groups still count for the others' share
    assert a["expected"] == pytest.approx(100 * 4 / 21)
    assert a["share_muni"] == pytest.approx(100 * 12 / 33)
    assert a["p_value"] == pytest.approx(st.binom.sf(7, 12, 4 / 21))
    assert bool(a["flagged"]) and "не вывод о необъективности" in a["text"]
    b = r.loc["b"]
    assert (b["n"], b["below"], bool(b["flagged"])) == (10, 1, False)
    # under min_n (10) results: shown, not assessed
    assert pd.isna(r.loc["c", "flagged"]) and "Вывод не делается" in r.loc["c", "text"]


def test_mean_and_gap_by_hand(medals):
    r = medal_rows(medals).set_index("school_id")
    a = np.array([50, 55, 58, 70, 80, 90, 52, 54, 85, 41, 59, 44.0])
    others = np.array([70, 75, 80, 85, 90, 95, 65, 72, 78, 59, 60, 61, 62, 70, 80, 90, 95, 85, 40, 45, 50.0])
    half = st.t.ppf(0.975, 11) * a.std(ddof=1) / math.sqrt(12)
    row = r.loc["a"]
    assert (row["mean_result"], row["mean_low"], row["mean_high"]) == pytest.approx((a.mean(), a.mean() - half,
                                                                                       a.mean() + half))
    assert row["mean_others"] == pytest.approx(others.mean())
    # Welch: the same interval scipy gives for the difference of the means
    res = st.ttest_ind(a, others, equal_var=False)
    ci = res.confidence_interval(0.95)
    assert (row["gap"], row["gap_low"], row["gap_high"]) == pytest.approx((a.mean() - others.mean(), ci.low, ci.high))


def test_small_groups_suppressed_and_oge_marks(medals):
    r = medal_rows(medals).set_index("school_id")
    d = r.loc["d"]
    assert bool(d["suppressed"]) and pd.isna(d["share"]) and pd.isna(d["mean_result"]) and d["below"] == 0
    assert pd.isna(d["flagged"]) and "меньше 5" in d["text"]
    oge = pd.DataFrame([dict(year=2023, school_id="e", student_code=f"e{i}", subject="Математика", annual_mark=5,
                             exam="ОГЭ", exam_score=None, exam_mark=m) for i, m in enumerate([5, 5, 4, 3, 3, 5])])
    e = medal_rows(oge, {"medals": {"min_exam_mark": 4}}).iloc[0]
    assert (e["n"], e["below"], e["mean_result"]) == (6, 2, pytest.approx(25 / 6))
    # the threshold is configuration: with «5» required, three of six are below
    assert medal_rows(oge, {"medals": {"min_exam_mark": 5}}).iloc[0]["below"] == 3


def test_template_through_ingest_rejects_a_bad_row(tmp_path):
    from msoko.compute import compute
    from msoko.ingest import ingest
    from tests.test_ingest import make_raw, write_xlsx

    raw = make_raw(tmp_path / "raw")
    head = ["Год", "Логин ОО", "Код участника", "Предмет", "Годовая отметка", "Экзамен", "Балл экзамена",
            "Отметка за экзамен"]
    body = [[2021, "sch000001", f"p{i}", "Русский язык", 5, "ЕГЭ", s, None] for i, s in enumerate([50, 70, 80, 90, 65])]
    body.append([2021, "sch000001", "p9", "Русский язык", 6, "ЕГЭ", 70, None])      # annual mark out of 2–5
    write_xlsx(raw / "templates" / "medals.xlsx", [head] + body)
    ingest(raw, tmp_path / "p", jobs=1, progress=False)
    got = pd.read_parquet(tmp_path / "p" / "medals.parquet")
    assert len(got) == 5
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    bad = rej[rej["file"].str.endswith("medals.xlsx")]
    assert len(bad) == 1 and bad["column"].iloc[0] == "Годовая отметка" and bad["row"].iloc[0] == "7"
    assert "больше допустимого максимума 5" in bad["reason"].iloc[0]
    compute(tmp_path / "p", config_path=None)
    m = pd.read_parquet(tmp_path / "p" / "objectivity_medals.parquet")
    assert m[["school_id", "exam", "candidates", "n", "below"]].values.tolist() == [["sch000001", "ЕГЭ", 5, 5, 1]]
    from msoko import report as R
    from msoko.report.recheck import medals_table
    t = medals_table(R.load(tmp_path / "p"), 2021)
    assert t[["Логин", "Претендентов", "Ниже обещанного, % [95 % ДИ]", "Находка"]].values.tolist() == [
        ["sch000001", 5, "20 [4–62]", "не оценивается"]]
    assert not t.astype(str).apply(lambda c: c.str.contains("p[0-9]")).any().any()   # no pupil code in the table


def test_demo_lenient_schools_name_weaker_candidates(demo_raw, demo_processed):
    """Schools with planted lenient journal marks name candidates whose exams fall short more often."""
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv", dtype={"school_id": str})
    lenient = set(truth.loc[truth["kind"] == "inflated_journal", "school_id"])
    m = pd.read_parquet(demo_processed / "medals.parquet")
    assert len(m) and lenient & set(m["school_id"])
    m = m.assign(low=np.where(m["exam"] == "ЕГЭ", m["exam_score"] < 60, m["exam_mark"] < 4))
    soft = m["school_id"].isin(lenient)
    assert m.loc[soft, "low"].mean() > 2 * m.loc[~soft, "low"].mean()
    out = pd.read_parquet(demo_processed / "objectivity_medals.parquet")
    assert len(out) and out["suppressed"].any() and (~out["suppressed"]).any()
