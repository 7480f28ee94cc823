"""Objectivity of the school stage of ВсОШ: school-stage awardees against the municipal stage."""
from __future__ import annotations

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
