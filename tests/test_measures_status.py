"""Measures with a deadline and a status: overdue judged once, in compute, at a stated date."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from msoko.cycle import as_of_date, measure_status


def test_status_and_overdue_by_hand():
    m = pd.DataFrame({"deadline": [dt.date(2022, 5, 31), dt.date(2022, 5, 31), dt.date(2024, 5, 31), None],
                      "status": ["выполнено", None, "не выполнено", "не выполнено"]})
    s = measure_status(m, pd.Timestamp("2023-12-31"))
    assert s["status"].tolist() == ["выполнено", "запланировано", "не выполнено", "не выполнено"]
    # done in time: not overdue; planned past its deadline: overdue; deadline ahead: not yet; no deadline: never
    assert s["overdue"].tolist() == [False, True, False, False]
    assert measure_status(m, pd.Timestamp("2022-05-30"))["overdue"].tolist() == [False, False, False, False]


def test_as_of_is_configured_or_the_end_of_the_latest_year():
    assert as_of_date({}, [2021, 2023]) == pd.Timestamp("2023-12-31")
    assert as_of_date({"measures": {"as_of": "01.06.2022"}}, [2023]) == pd.Timestamp("2022-06-01")
    assert as_of_date({"measures": {"as_of": "2022-06-01"}}, [2023]) == pd.Timestamp("2022-06-01")
    assert as_of_date({}, []) is None


def test_demo_measures_carry_deadlines_and_overdue_ones_reach_the_report(demo_processed):
    eff = pd.read_parquet(demo_processed / "effectiveness.parquet")
    assert eff["deadline"].notna().all() and set(eff["status"]) <= {"запланировано", "выполнено", "не выполнено"}
    # the demo's measures are due on 31 May of the next year; the run judges at 31 December of its last year
    late = eff[eff["overdue"]]
    assert len(late) and (late["status"] != "выполнено").all()
    assert eff.loc[eff["status"] == "выполнено", "overdue"].eq(False).all()
    from msoko import report as R
    from msoko.report.indicators import overdue_measures

    data = R.load(demo_processed)
    y = int(eff["year"].max()) + 2
    assert len(overdue_measures(data, y)) == len(late)
