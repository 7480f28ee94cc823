"""The plan of work as a document and the year reviewed, on small fixed plans."""
from __future__ import annotations

import pandas as pd

from msoko.objectivity.plan import EXPERTISE, OBSERVERS, RECHECK, SELF_CHECK
from msoko.objectivity.plan_document import plan_document, year_review

SCHOOLS = pd.DataFrame({"school_id": ["a", "b", "c", "d"], "name": ["Школа А", "Школа Б", "Школа В", "Школа Г"]})


def _plan():
    return pd.DataFrame({
        "year": [2022, 2022, 2022, 2023, 2023],
        "school_id": ["a", "b", "c", "a", "d"],
        "tier": [1, 2, 3, 1, 2],
        "measures": [OBSERVERS + "; " + RECHECK, EXPERTISE, SELF_CHECK, OBSERVERS, EXPERTISE],
        "families": ["distribution; strings", "journal", "", "distribution", "journal"],
        "score": [9.0, 4.0, 1.0, 5.0, 3.0]})


def test_document_items_follow_the_tiers():
    d = plan_document(_plan(), SCHOOLS)
    y = d[d["year"] == 2022].set_index("measure")
    meeting = [m for m in y.index if m.startswith("Совещание с руководителями")][0]
    assert "2 общеобразовательных" in meeting and y.loc[meeting, "school_ids"] == "a; b"
    assert y.loc["Независимые наблюдатели на ВПР", "school_ids"] == "a"
    assert y.loc["Независимые наблюдатели на ВПР", "result"] == "Акт (не менее 1)"
    assert y.loc["Перепроверка работ ВПР с совпадающими ответами", "schools"] == "Школа А (a)"
    assert y.loc["Самоанализ объективности оценивания (без внешних мер)", "school_ids"] == "c"
    assert y.loc["Мониторинговые визиты", "dates"] == "Февраль–март 2023"      # the year after the results
    assert list(y["item"]) == list(range(1, len(y) + 1))
    # 2023: nobody to re-check, nobody on self-check: those items are not in that year's plan
    y23 = set(d.loc[d["year"] == 2023, "measure"])
    assert "Перепроверка работ ВПР с совпадающими ответами" not in y23 and not any(m.startswith("Самоанализ") for m in y23)


def test_responsible_from_configuration():
    d = plan_document(_plan(), SCHOOLS, {"objectivity_plan": {"responsible": {"visits": "Иванова И.И."}}})
    assert set(d.loc[d["measure"] == "Мониторинговые визиты", "responsible"]) == {"Иванова И.И."}


def test_year_review():
    rc = pd.DataFrame({"year": [2023], "school_id": ["a"], "grade": [8], "subject": ["Математика"],
                       "verdict": ["подтверждено"]})
    r = year_review(_plan(), rc, None, years=[2022, 2023]).set_index("school_id")
    assert list(r.index) == ["a", "b", "c"] and set(r["year"]) == {2023}
    assert r.loc["a", "tier_now"] == 1 and r.loc["a", "persisted"] == "скопление баллов у границ отметок"
    assert r.loc["a", "disappeared"] == "совпадающие работы"
    assert r.loc["a", "recheck"] == "8 кл., Математика: подтверждено"
    assert pd.isna(r.loc["b", "tier_now"]) and "выходит из плана" in r.loc["b", "outcome"]
