"""Monitoring visits taken in: the справки per school and year, the plan's tier-1 schools not visited,
the year review, the template through ingest and the demo against its planted truth."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from msoko.objectivity.plan_document import year_review
from msoko.objectivity.visits import NOT_VISITED, visit_rows, visits_by_tier


def _visits():
    d1, d2 = dt.date(2023, 2, 10), dt.date(2023, 3, 1)
    rows = [("a", d1, "протокол проведения ВПР", "нарушений нет", None),
            ("a", d1, "хранение работ", "замечания", "работы в кабинете учителя"),
            ("a", d2, "проверка работ комиссией", "нарушения", "проверял учитель класса"),
            ("b", d1, "протокол проведения ВПР", "нарушений нет", None),
            ("b", d1, "хранение работ", "нарушений нет", None),
            ("c", dt.date(2022, 2, 5), "хранение работ", "замечания", None)]
    return pd.DataFrame([dict(school_id=s, date=pd.Timestamp(d), visit_kind="мониторинговый", item=i, finding=f,
                              note=n, inspector="ИМЦ", source_row=k) for k, (s, d, i, f, n) in enumerate(rows)])


def _plan():
    return pd.DataFrame({"year": [2022, 2022, 2022, 2021], "school_id": ["a", "d", "b", "c"], "tier": [1, 1, 3, 2],
                         "families": ["strings", "level_peers", "journal", "journal"], "measures": ""})


def test_visit_rows_by_hand():
    v = visit_rows(_visits(), _plan()).set_index(["year", "school_id"])
    a = v.loc[(2023, "a")]
    # two visits, three items: one remark, one violation → the worst finding is «нарушения»
    assert (a["visits"], a["items"], a["items_remarks"], a["items_violations"]) == (2, 3, 1, 1)
    assert a["finding"] == "нарушения" and a["dates"] == "10.02.2023, 01.03.2023" and a["plan_tier"] == 1
    assert a["violations"] == "проверка работ комиссией (проверял учитель класса)"
    assert a["remarks"] == "хранение работ (работы в кабинете учителя)"
    # the evidence is in the sentence, and the sentence does not accuse
    assert "проверял учитель класса" in a["text"] and "а не о добросовестности педагогов" in a["text"]
    b = v.loc[(2023, "b")]
    assert (b["finding"], b["items"], b["plan_tier"]) == ("нарушений нет", 2, 3) and "не выявлено" in b["text"]
    # a visit of 2022 is matched with the plan of 2021 (tier 2 there)
    assert v.loc[(2022, "c"), "plan_tier"] == 2 and v.loc[(2022, "c"), "finding"] == "замечания"
    # «d» was tier 1 in the plan of 2022 and has no visit in 2023: the plan said visit, the data say nothing
    d = v.loc[(2023, "d")]
    assert (d["finding"], d["visits"], d["plan_tier"]) == (NOT_VISITED, 0, 1)
    # no plan of 2020: nobody is owed a visit in 2021, and no row is made up for 2022's tier-1 schools beyond «d»
    assert set(v.index) == {(2023, "a"), (2023, "b"), (2022, "c"), (2023, "d")}


def test_visits_by_tier_by_hand():
    b = visits_by_tier(visit_rows(_visits(), _plan())).set_index(["year", "group"])
    # 2023: «a» (tier 1, violations) and «b» (tier 3, none); «d» was not visited and does not count
    assert b.loc[(2023, 1), ["visited", "with_violations", "with_findings"]].tolist() == [1, 1, 1]
    assert b.loc[(2023, 3), ["visited", "with_findings", "share_findings"]].tolist() == [1, 0, 0.0]
    assert b.loc[(2022, 2), ["visited", "with_findings"]].tolist() == [1, 1]
    # Wilson for 1 of 1: [z²/(1+z²), 1]
    z2 = 1.959963984540054 ** 2
    assert b.loc[(2023, 1), "ci_low"] == pytest.approx(100 * 1 / (1 + z2)) and b.loc[(2023, 1), "ci_high"] == 100
    assert list(b.loc[2023, "title"]) == ["уровень 1 плана", "уровень 3 плана (самоанализ)"]


def test_year_review_shows_the_visits():
    vis = visit_rows(_visits(), _plan())
    plan = _plan()
    r = year_review(plan, years=[2022, 2023], visits=vis).set_index(["year", "school_id"])
    assert r.loc[(2023, "a"), "visits"] == ("10.02.2023, 01.03.2023: нарушения — проверка работ комиссией "
                                            "(проверял учитель класса)")
    assert r.loc[(2023, "b"), "visits"] == "10.02.2023: нарушений нет"
    assert r.loc[(2023, "d"), "visits"] == NOT_VISITED
    assert r.loc[(2022, "c"), "visits"].startswith("05.02.2022: замечания")


def test_template_through_ingest_rejects_a_bad_row(tmp_path):
    from msoko.compute import compute
    from msoko.ingest import ingest
    from tests.test_ingest import make_raw, write_xlsx

    raw = make_raw(tmp_path / "raw")
    head = ["Логин ОО", "Дата визита", "Вид визита", "Что проверялось", "Итог по пункту", "Примечание", "Кто проводил"]
    body = [["sch000001", "12.02.2022", "мониторинговый", "хранение работ", "замечания", "в кабинете", "ИМЦ"],
            ["sch000001", "12.02.2022", "мониторинговый", "протокол проведения ВПР", "нарушений нет", "", "ИМЦ"],
            ["sch000001", "12.02.2022", "мониторинговый", "журнал", "нарушений нет", "", "ИМЦ"]]  # not in the list
    write_xlsx(raw / "templates" / "visits.xlsx", [head] + body)
    ingest(raw, tmp_path / "p", jobs=1, progress=False)
    got = pd.read_parquet(tmp_path / "p" / "visits.parquet")
    assert len(got) == 2
    rej = pd.read_csv(tmp_path / "p" / "rejects.csv", encoding="utf-8-sig", dtype=str)
    bad = rej[rej["file"].str.endswith("visits.xlsx")]
    assert len(bad) == 1 and bad["column"].iloc[0] == "Что проверялось" and bad["row"].iloc[0] == "4"
    assert "не из списка" in bad["reason"].iloc[0]
    compute(tmp_path / "p", config_path=None)
    v = pd.read_parquet(tmp_path / "p" / "objectivity_visits.parquet")
    assert v[["year", "school_id", "items", "items_remarks", "finding"]].values.tolist() == [
        [2022, "sch000001", 2, 1, "замечания"]]
    # the report renders compute's table: the school by name, its finding and the note as evidence
    from msoko import report as R
    from msoko.report.recheck import NO_VISITS, show_visits
    html = str(show_visits(R.load(tmp_path / "p"), 2022))
    assert "МБОУ СОШ №1" in html and "вне плана" in html and "замечания" in html
    assert NO_VISITS.split(" (")[0] in str(show_visits(R.load(tmp_path / "p"), 2021))


def test_demo_visits_follow_the_planted_truth(demo_raw, demo_processed):
    """Schools with a planted manipulation the year before come out of their visits with remarks or violations
    more often than clean ones; a clean school is never found with violations."""
    truth = pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv", dtype={"school_id": str})
    v = pd.read_parquet(demo_processed / "objectivity_visits.parquet")
    v = v[v["visits"] > 0]
    assert len(v) >= 4 and (v["year"] == 2023).all()
    planted = v["school_id"].isin(set(truth.loc[truth["year"] == 2022, "school_id"]))
    assert planted.any() and (~planted).any()
    found = v["finding"] != "нарушений нет"
    assert found[planted].mean() >= 0.5 and found[planted].mean() > found[~planted].mean()
    assert (v.loc[~planted, "finding"] != "нарушения").all()
