"""The long task table read as categoricals, and the per-row loops replaced by per-distinct-value work:
the same results as the string columns and the row-by-row rules, on small frames worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko.compute import CATEGORICAL_COLUMNS, load_tables
from msoko.indicators import _runs
from msoko.objectivity.calibration import tasks_per_test
from msoko.objectivity.evidence import _changes, _take
from msoko.store import read_table
from msoko.textbooks import _labelled

# two works: 2021 / 4 / Математика with tasks 1, 2, 3 (task 3 only once, one row without a task);
# 2021 / 5 / Русский язык with tasks 1, 2; one row without its subject (no work)
TASKS = pd.DataFrame({
    "year": np.array([2021] * 9, dtype="int16"),
    "grade": np.array([4, 4, 4, 4, 4, 5, 5, 5, 5], dtype="int8"),
    "subject": ["Математика"] * 5 + ["Русский язык", "Русский язык", "Русский язык", None],
    "school_id": ["s1", "s1", "s2", "s2", "s2", "s1", "s1", "s1", "s1"],
    "student_code": ["a", "a", "b", "b", "b", "a", "a", None, "c"],
    "task": ["1", "2", "1", "3", None, "1", "2", "1", "9"],
    "score": [1.0, 0.0, 1.0, 2.0, 0.0, 1.0, 1.0, 0.0, 1.0],
}).astype({"subject": "str", "school_id": "str", "student_code": "str", "task": "str"})


def test_tasks_per_test_by_hand_strings_and_categoricals():
    expected = pd.DataFrame({"year": [2021, 2021], "grade": [4, 5], "subject": ["Математика", "Русский язык"],
                             "tasks": [3, 2]}).astype({"subject": "str"})
    for frame in (TASKS, TASKS.astype({c: "category" for c in ("subject", "school_id", "student_code", "task")})):
        pd.testing.assert_frame_equal(tasks_per_test(frame), expected, check_exact=True)


def test_read_table_categories_and_load_tables(tmp_path):
    TASKS.to_parquet(tmp_path / "vpr_tasks.parquet", index=False)
    cat = read_table(tmp_path, "vpr_tasks", categories=["subject", "task", "no_such_column"])
    assert isinstance(cat["subject"].dtype, pd.CategoricalDtype) and isinstance(cat["task"].dtype,
                                                                                   pd.CategoricalDtype)
    assert cat["school_id"].dtype == TASKS["school_id"].dtype            # not named: as stored
    assert cat["subject"].astype(str).where(cat["subject"].notna()).equals(
        TASKS["subject"].where(TASKS["subject"].notna()).astype(object).astype(str).where(TASKS["subject"].notna()))
    tables = load_tables(tmp_path)
    t = tables["vpr_tasks"]
    assert all(isinstance(t[c].dtype, pd.CategoricalDtype) for c in CATEGORICAL_COLUMNS["vpr_tasks"])
    assert tables["vpr"] is None
    # the values, missing ones included, are those of the strings
    assert [None if pd.isna(x) else x for x in t["task"]] == [None if pd.isna(x) else x for x in TASKS["task"]]


def test_runs_and_changes_same_for_categorical_and_strings():
    work = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    cat = TASKS["student_code"].astype("category")
    # runs: a a | b b b (work 0); a a | missing | c (work 1)
    expected = np.array([0, 0, 1, 1, 1, 2, 2, 3, 4])
    np.testing.assert_array_equal(_runs(work, TASKS["student_code"]), expected)
    np.testing.assert_array_equal(_runs(work, cat), expected)
    # two missing codes in a row are two runs of one (work, student): not trusted, either way
    two = TASKS["student_code"].where(np.arange(9) != 8)
    assert _runs(work, two) is None and _runs(work, two.astype("category")) is None
    changes = np.array([True, False, True, False, False, True, False, True, True])
    np.testing.assert_array_equal(_changes(TASKS["student_code"]), changes)
    np.testing.assert_array_equal(_changes(cat), changes)


def test_take_of_categorical_gives_the_strings():
    cat = TASKS["task"].astype("category")
    idx = np.array([4, 0, 3])
    got = _take(cat, idx)
    assert got.dtype == TASKS["task"].dtype
    assert [None if pd.isna(x) else x for x in got] == [None, "1", "3"]
    pd.testing.assert_extension_array_equal(got, _take(TASKS["task"], idx))


def test_labelled_by_hand():
    listed = "Канакина В.П. Русский язык 4 класс"
    pupils = pd.DataFrame({
        "textbook": [listed, "другое", "другое", "другое", None, "другое"],
        "other_author": [None, "Канакина", "Петров П.П.", None, None, "0"],
        "other_title": [None, f"  {listed} ", "Своя книга", listed, None, None],
    })
    got = _labelled(pupils)
    # «другое» naming a listed textbook word for word counts as that textbook (spaces as written do not matter)
    assert got.tolist() == [listed, listed, "другое: Своя книга (Петров П.П.)", listed, "не указан", "другое"]
    assert got.index.equals(pupils.index)
    # no listed textbook: «другое: …» stays as labelled
    only_other = pupils.iloc[[2, 4]]
    assert _labelled(only_other).tolist() == ["другое: Своя книга (Петров П.П.)", "не указан"]


def test_school_meta_same_for_categorical_school_ids():
    from msoko.indicators import school_meta

    schools = pd.DataFrame({"school_id": ["s1"], "name": ["Школа 1"], "municipality": ["М"]})
    tasks = TASKS.assign(school_id=["s1", "s1", "s2", "s2", None, "s3", "s3", "s3", "s3"])
    plain = school_meta({"schools": schools, "vpr_tasks": tasks}, {})
    cat = school_meta({"schools": schools, "vpr_tasks": tasks.astype({"school_id": "category"})}, {})
    assert plain["school_id"].tolist() == ["s1", "s2", "s3"]      # the registry's, then the others sorted
    pd.testing.assert_frame_equal(plain, cat, check_exact=True)
