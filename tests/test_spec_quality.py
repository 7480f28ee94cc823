"""Task specifications checked against the scores: spec_quality and no task verdict from a misfit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msoko import spec_quality
from msoko.config import load_config


def _spec(grade, subject, maxima):
    return pd.DataFrame({"grade": grade, "subject": subject, "task": [str(i + 1) for i in range(len(maxima))],
                         "spec_max": maxima})


def _cells(year, grade, subject, observed, n):
    return pd.DataFrame({"year": year, "grade": grade, "subject": subject,
                         "task": [str(i + 1) for i in range(len(observed))], "observed_max": observed, "n": n})


@pytest.fixture()
def table():
    specs = pd.concat([
        _spec(7, "Немецкий язык", [1, 5, 6, 2]),        # tasks 2, 3 never above 2 → 2 of 4: misfit
        _spec(7, "Биология", [1, 1, 2, 2, 2]),          # task 3 never above 1 → 1 of 5: that task only
        _spec(5, "История", [2, 2]),                    # n = 50 < n_min: proves nothing
        _spec(6, "Химия", [1, 1, 1]),                   # the export has 4 tasks
        _spec(8, "Физика", [2, 2, 2, 2, 2]),            # fits task by task, but the scale says 12
    ])
    cells = pd.concat([
        _cells(2021, 7, "Немецкий язык", [1, 2, 2, 2], 422),
        _cells(2021, 7, "Биология", [1, 1, 1, 2, 2], 150),
        _cells(2021, 5, "История", [2, 1], 50),
        _cells(2021, 6, "Химия", [1, 1, 1, 1], 300),
        _cells(2021, 8, "Физика", [2, 2, 2, 2, 2], 300),
    ])
    scale = pd.DataFrame({"year": [2021], "grade": [8], "subject": ["Физика"], "max_score": [12.0]})
    return spec_quality.assess(cells, specs, scale, {"n_min": 100, "misfit_min_tasks": 2, "misfit_share": 0.2})


def _work(t, grade, subject):
    return t[(t["grade"] == grade) & (t["subject"] == subject) & t["task"].isna()].iloc[0]


def _task(t, grade, subject, task):
    return t[(t["grade"] == grade) & (t["subject"] == subject) & (t["task"] == task)].iloc[0]


def test_verdicts_worked_by_hand(table):
    de = _work(table, 7, "Немецкий язык")
    assert de["verdict"] == "misfit" and not de["task_verdicts"]
    assert (de["spec_max"], de["observed_max"], de["n"]) == (14.0, 7.0, 422)
    assert "— 2 из 4 (№ 2, 3)" in de["reason"] and "отметки за работу учитываются" in de["reason"]
    t2 = _task(table, 7, "Немецкий язык", "2")
    assert (t2["verdict"], t2["spec_max"], t2["observed_max"]) == ("max_unreached", 5.0, 2.0)
    assert "ни один из 422 участников не получил больше 2" in t2["reason"]
    # a task that fits inside a misfitting work is withheld too
    assert not _task(table, 7, "Немецкий язык", "1")["task_verdicts"]

    bio = _work(table, 7, "Биология")
    assert bio["verdict"] == "partial" and bio["task_verdicts"]
    assert [_task(table, 7, "Биология", k)["task_verdicts"] for k in "12345"] == [True, True, False, True, True]

    hist = _work(table, 5, "История")
    assert hist["verdict"] == "ok"
    assert _task(table, 5, "История", "2")["verdict"] == "ok"     # 1 of 2 with n = 50: not evidence

    assert _work(table, 6, "Химия")["verdict"] == "tasks_mismatch"
    assert "(4) не совпадают со спецификацией (3)" in _work(table, 6, "Химия")["reason"]

    phys = _work(table, 8, "Физика")
    assert phys["verdict"] == "misfit" and "(10) не равна максимальному баллу работы по шкале отметок (12)" in phys["reason"]

    w = spec_quality.withheld(table)
    assert sorted(map(tuple, w[w["subject"] != "Физика"][["subject", "task"]].to_numpy())) == \
        [("Биология", "3")] + [("Немецкий язык", k) for k in "1234"]
    assert len(spec_quality.warnings_ru(table)) == 4   # German, biology, chemistry, physics


def test_above_max_is_a_misfit_task():
    t = spec_quality.assess(_cells(2021, 4, "Математика", [1, 3, 1, 1, 1, 1, 1, 1, 1, 1], 30),
                            _spec(4, "Математика", [1, 2, 1, 1, 1, 1, 1, 1, 1, 1]))
    row = _task(t, 4, "Математика", "2")
    assert row["verdict"] == "above_max" and not row["task_verdicts"]   # even with a small n
    assert _work(t, 4, "Математика")["verdict"] == "partial"


def test_no_task_indicator_from_a_misfitting_spec_but_marks_count():
    """Through compute_indicators: German's task indicators are withheld, its marks and totals are not."""
    from msoko.indicators import compute_indicators

    rng = np.random.default_rng(3)
    rows, works = [], []
    for subject, maxima, cap in (("Немецкий язык", [1, 5, 6, 2], [1, 2, 2, 2]), ("Биология", [1, 1, 2], [1, 1, 2])):
        for school in ("s1", "s2"):
            for k in range(60):
                sc = [int(rng.integers(0, c + 1)) for c in cap]
                code = f"{school}-{subject[:3]}-{k}"
                rows += [(2021, 7, subject, school, code, str(i + 1), float(v)) for i, v in enumerate(sc)]
                works.append((2021, 7, subject, school, code, False, float(sum(sc)), float(sum(maxima)), 3))
    tasks = pd.DataFrame(rows, columns=["year", "grade", "subject", "school_id", "student_code", "task", "score"])
    vpr = pd.DataFrame(works, columns=["year", "grade", "subject", "school_id", "student_code", "absent",
                                       "primary_score", "max_score", "mark"])
    vpr = vpr.assign(journal_mark=pd.array([4] * len(vpr), dtype="Int8"), variant="1", sex="м", **{"class": "а"})
    specs = pd.concat([_spec(7, "Немецкий язык", [1, 5, 6, 2]), _spec(7, "Биология", [1, 1, 2])]).rename(
        columns={"spec_max": "max_score"}).assign(level="Б")
    schools = pd.DataFrame({"school_id": ["s1", "s2"], "name": ["Школа 1", "Школа 2"], "municipality": ["М", "М"]})
    res = compute_indicators({"vpr": vpr, "vpr_tasks": tasks, "task_specs": specs, "schools": schools},
                             load_config(None))
    ind = res.indicators
    task_ind = ind[ind["indicator"].isin(["vpr_task_completion", "vpr_level_completion", "vpr_tasks_sufficient"])]
    assert set(task_ind["subject"].dropna()) == {"Биология"}
    assert {"Немецкий язык", "Биология"} <= set(ind[ind["indicator"] == "vpr_mean_score"]["subject"].dropna())
    sq = res.details["spec_quality"]
    assert _work(sq, 7, "Немецкий язык")["verdict"] == "misfit" and _work(sq, 7, "Биология")["verdict"] == "ok"
    assert _work(sq, 7, "Немецкий язык")["n"] == 120


def test_municipal_report_lists_the_works_of_its_municipality(table, tmp_path):
    """«Качество данных» of the municipal report reads spec_quality.parquet; only works written there."""
    from msoko import report as R

    table.to_parquet(tmp_path / "spec_quality.parquet", index=False)
    from msoko.vpr_views import vpr_score_counts

    schools = pd.DataFrame({"school_id": ["s1", "s2"], "name": ["Школа 1", "Школа 2"], "municipality": ["А", "Б"],
                            "is_preschool": [False, False]})
    schools.to_parquet(tmp_path / "schools.parquet", index=False)
    vpr = pd.DataFrame({"year": [2021, 2021, 2021], "grade": [7, 7, 8], "subject": ["Немецкий язык", "Биология", "Физика"],
                        "school_id": ["s1", "s1", "s2"], "student_code": ["a", "b", "c"], "absent": [False] * 3,
                        "primary_score": [3.0, 4.0, 5.0]})
    vpr.to_parquet(tmp_path / "vpr.parquet", index=False)
    # the works written in each municipality: compute's score counts (the report reads no pupil rows)
    vpr_score_counts(vpr, schools).to_parquet(tmp_path / "vpr_score_counts.parquet", index=False)
    data = R.load(tmp_path, cache=False)
    t = R.spec_quality_table(data, "А", 2021)
    assert list(t["Работа"]) == ["Биология, 7 класс", "Немецкий язык, 7 класс"]   # physics is Б's only
    assert list(t["Задания без выводов"]) == ["3", "все"]
    assert list(t["Проверка"]) == ["отдельные задания не согласуются", "спецификация не подходит"]
    from msoko.report.vpr import spec_note
    assert "выводы по заданиям и умениям не делаются" in spec_note(data, 2021, 7, "Немецкий язык")
    assert "№ 3" in spec_note(data, 2021, 7, "Биология") and spec_note(data, 2021, 5, "История") is None
    html = R.show_municipal_data_quality(data, "А", 2021)._repr_html_()
    assert "Немецкий язык, 7 класс" in html and "отметки за работу учитываются" in html
    assert "не выполнялась: нет данных" in R.show_municipal_data_quality(data, "А", 2020)._repr_html_()
    ok = table[table["subject"] == "История"]
    ok.to_parquet(tmp_path / "spec_quality.parquet", index=False)
    data = R.load(tmp_path, cache=False)
    assert "согласуются с баллами участников" in R.show_municipal_data_quality(data, "А", 2021)._repr_html_()
