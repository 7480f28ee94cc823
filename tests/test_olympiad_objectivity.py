"""Objectivity of the school stage of ВсОШ: school-stage awardees against the municipal stage."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity.olympiad import olympiad_rows


def _school(sid, n, won, year=2023):
    rows = []
    for i in range(n):
        code = f"{sid}-{i}"
        rows.append(dict(year=year, stage="школьный", school_id=sid, student_code=code, grade=9, subject="Математика",
                         status="победитель" if i % 2 else "призёр"))
        rows.append(dict(year=year, stage="муниципальный", school_id=sid, student_code=code, grade=9,
                         subject="Математика", status="призёр" if i < won else "участник"))
    return rows


def test_lenient_school_stage_is_found_by_hand():
    rows = _school("a", 20, 1) + _school("b", 20, 8) + _school("c", 20, 9)
    # a school-stage participant who was not an awardee does not count
    rows.append(dict(year=2023, stage="школьный", school_id="c", student_code="x", grade=9, subject="Математика",
                     status="участник"))
    rows.append(dict(year=2023, stage="муниципальный", school_id="c", student_code="x", grade=9, subject="Математика",
                     status="участник"))
    r = olympiad_rows(pd.DataFrame(rows)).set_index("school_id")
    assert r.loc["a", ["advanced", "awarded"]].tolist() == [20, 1] and r.loc["c", "advanced"] == 20
    # the others' share for «a»: (8 + 9) / 40
    assert r.loc["a", "expected"] == pytest.approx(100 * 17 / 40)
    assert r.loc["a", "p_value"] == pytest.approx(st.binom.cdf(1, 20, 17 / 40))
    assert bool(r.loc["a", "flagged"]) and not bool(r.loc["b", "flagged"])
    assert "мягче" in r.loc["a", "text"] and "не вывод о нарушениях" in r.loc["a", "text"]


def test_small_schools_are_not_assessed():
    r = olympiad_rows(pd.DataFrame(_school("a", 5, 0) + _school("b", 20, 8))).set_index("school_id")
    assert pd.isna(r.loc["a", "flagged"]) and "нужно не менее 10" in r.loc["a", "text"]


def test_school_standing_in_vpr_and_oge_by_hand():
    """Beside each row, the school's ВПР and ОГЭ standing (pupil SD within each work / subject), and a finding says
    whether weaker pupils may explain it."""
    rows = _school("a", 20, 1) + _school("b", 20, 8) + _school("c", 20, 9)
    vpr = pd.DataFrame({"year": 2023, "grade": [5] * 4 + [6] * 4, "subject": "Математика",
                        "school_id": ["a", "a", "b", "c", "a", "b", "b", "c"],
                        "primary_score": [2.0, 4, 6, 8, 1, 3, 5, 7], "absent": [False] * 7 + [True]})
    gia = pd.DataFrame({"year": 2023, "exam": ["ОГЭ", "ОГЭ", "ОГЭ", "ЕГЭ"], "school_id": ["a", "b", "c", "a"],
                        "subject": "Математика", "primary_score": [10.0, 20, 30, 99]})
    r = olympiad_rows(pd.DataFrame(rows), vpr=vpr, gia=gia).set_index("school_id")
    # grade 5: mean 5, sd √(20/3); grade 6 (without the absent pupil): mean 3, sd 2
    s5 = np.sqrt(20 / 3)
    za = [(2 - 5) / s5, (4 - 5) / s5, (1 - 3) / 2]
    assert r.loc["a", "vpr_d"] == pytest.approx(np.mean(za))
    assert r.loc["c", "vpr_d"] == pytest.approx((8 - 5) / s5)
    # ОГЭ only (the ЕГЭ row is another exam): mean 20, sd 10
    assert r.loc["a", "oge_d"] == pytest.approx(-1.0) and r.loc["b", "oge_d"] == pytest.approx(0.0)
    assert bool(r.loc["a", "flagged"]) and "более слабые ученики могут объяснять часть разрыва" in r.loc["a", "text"]
    stronger = olympiad_rows(pd.DataFrame(rows), vpr=vpr.assign(school_id=vpr["school_id"].replace({"a": "c", "c": "a"})),
                             gia=gia.assign(school_id=["c", "b", "a", "a"])).set_index("school_id")
    assert "разрыв, по-видимому, не объясняется" in stronger.loc["a", "text"]
