"""The school report's dict paths (built for speed) give what the pandas paths they replace gave."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR


def test_first_values_are_the_cells_of_pivot_table_first():
    """``_first_values`` holds exactly the non-missing cells of ``pivot_table(aggfunc="first")``: the first
    non-missing value of a pair, a pair whose values are all missing absent, a missing key left out."""
    from msoko.report.school import _first_values

    lv = pd.DataFrame({
        "level": pd.array(["Б", "Б", "П", "П", "В", "Б", "П", None, "В"], dtype="str"),
        "group": [GROUP_SCHOOL, GROUP_SCHOOL, GROUP_SCHOOL, GROUP_MUNI, GROUP_MUNI, GROUP_SIMILAR, GROUP_SIMILAR,
                  GROUP_MUNI, GROUP_SIMILAR],
        "value": [np.nan, 61.5, 40.0, 45.25, np.nan, np.nan, np.nan, 99.0, np.nan],
    })
    w = lv.pivot_table(index="level", columns="group", values="value", aggfunc="first")
    got = _first_values(lv["level"], lv["group"], lv["value"])
    want = {(i, c): w.loc[i, c] for i in w.index for c in w.columns if pd.notna(w.loc[i, c])}
    assert got == want == {("Б", GROUP_SCHOOL): 61.5, ("П", GROUP_SCHOOL): 40.0, ("П", GROUP_MUNI): 45.25}
    # the similar schools hold no value: pandas drops the column, the dict has no pair of it;
    # «В» holds no value: pandas drops the row, the dict has no pair of it
    assert GROUP_SIMILAR not in w.columns and "В" not in w.index


def test_filled_frame_is_the_frame_of_records_with_missing_cells_filled():
    from msoko.report.vpr import filled_frame

    rows = [{"Группа": "Школа", "Участников": "12", "Средний балл": "скрыто (n < 5)"},
            {"Группа": "Муниципалитет", "Участников": "340", "Средний балл": "14,2", "Доля «2»": "8 %",
             "Информативность": "высокая"},
            {"Группа": "Регион", "Доля «2»": "7 %", "Участников": "—", "Средний балл": "13,0"}]
    pd.testing.assert_frame_equal(filled_frame(rows), pd.DataFrame(rows).fillna("—"))
    assert list(filled_frame(rows).columns) == ["Группа", "Участников", "Средний балл", "Доля «2»",
                                                "Информативность"]
    assert filled_frame(rows).iloc[0, 3] == "—"
    pd.testing.assert_frame_equal(filled_frame([]), pd.DataFrame([]).fillna("—"))


def _item_groups_frames(data, school_id, year, code, grade, subject, column):
    """The frame path ``msoko.report.vpr._item_groups`` replaced: ``_indicator_rows`` frames per part."""
    from msoko.report.data import school_row, suppress_below
    from msoko.report.indicators import _indicator_rows

    cols = [column, "group", "value", "n"]
    me = _indicator_rows(data, year, code, "school", school_id, grade, subject, items=True)
    if me.empty:
        return pd.DataFrame(columns=cols)
    muni = str(school_row(data, school_id)["municipality"])
    m = _indicator_rows(data, year, code, "municipality", muni, grade, subject, items=True)
    sim = (me["similar_value"].notna() & (me["similar_n"] >= suppress_below(data))).to_numpy(bool)
    out = [pd.DataFrame({column: me["item"], "group": GROUP_SCHOOL, "value": me["value"], "n": me["n"]})
           [np.zeros(len(me), bool) if me["suppressed"].any() else np.ones(len(me), bool)],
           pd.DataFrame({column: me["item"], "group": GROUP_SIMILAR, "value": me["similar_value"],
                         "n": me["similar_n"]})[sim],
           pd.DataFrame({column: m["item"], "group": GROUP_MUNI, "value": m["value"], "n": m["n"]})]
    out = pd.concat([x for x in out if len(x)], ignore_index=True) if any(len(x) for x in out) else None
    return pd.DataFrame(columns=cols) if out is None else out


def test_dict_paths_equal_the_frame_paths_on_the_demo(demo_processed):
    """On every ВПР of a few demo schools: the item records equal ``_indicator_rows(...).to_dict("records")``
    and the overview of marks and journal equals the concatenation of each work's frame."""
    from msoko import report as R
    from msoko.report.indicators import _indicator_rows, _item_records
    from msoko.report.school import vpr_overview_journal, vpr_overview_marks
    from msoko.report.vpr import _item_groups, journal_comparison, marks_distribution
    from msoko.report.indicators import school_vpr_counts

    data = R.load(demo_processed)
    year = R.resolve_year(data, None)
    schools = sorted(pd.read_parquet(demo_processed / "vpr.parquet", columns=["school_id"])["school_id"].unique())
    cols = ["item", "value", "ci_low", "ci_high", "suppressed", "similar_value", "flag", "vs_similar", "no_such"]
    checked = 0
    groups_seen: set = set()
    for sid in schools[:4]:
        taken = school_vpr_counts(data, sid, year)
        assert len(taken)
        for g, s in zip(taken["grade"].astype(int), taken["subject"].astype(str)):
            old = _indicator_rows(data, year, "vpr_task_completion", "school", sid, g, s, items=True)
            old = old[[c for c in cols if c in old.columns]].to_dict("records") if len(old) else []
            new = _item_records(data, year, "vpr_task_completion", "school", sid, g, s, cols)
            assert len(new) == len(old)
            for a, b in zip(new, old):
                assert a.keys() == b.keys()
                for k in a:
                    assert (pd.isna(a[k]) and pd.isna(b[k])) or a[k] == b[k], (sid, g, s, k)
            checked += len(new)
            for code, column in (("vpr_task_completion", "task"), ("vpr_level_completion", "level")):
                got = _item_groups(data, sid, year, code, g, s, column)
                want = _item_groups_frames(data, sid, year, code, g, s, column)
                groups_seen.update((column, x) for x in got["group"].tolist())
                pd.testing.assert_frame_equal(got, want, check_dtype=False)
                assert got.dtypes.tolist() == want.dtypes.tolist() or not len(got)
        for fn, query, column in ((vpr_overview_marks, marks_distribution, "mark"),
                                  (vpr_overview_journal, journal_comparison, "category")):
            frames = []
            for g, s in zip(taken["grade"].astype(int), taken["subject"].astype(str)):
                d = query(data, sid, year, g, s)
                d = d[d["group"].isin([GROUP_SCHOOL, GROUP_MUNI])]
                d = d.assign(group=[f"{g} кл., {s}" + (": школа" if x == GROUP_SCHOOL else ": муниципалитет")
                                    for x in d["group"]])
                frames.append(d)
            want = pd.concat(frames, ignore_index=True)
            got = fn(data, sid, year)
            assert len(got) == len(want) > 0
            pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert checked > 20
    # task and level rows of the school and the municipality were compared, not only empty frames
    assert {(c, g) for c in ("task", "level") for g in (GROUP_SCHOOL, GROUP_MUNI)} <= groups_seen


def test_table_json_is_the_rows_of_itertuples_with_missing_as_null():
    """``table_json`` (column by column) gives, cell for cell, what the row-by-row form it replaced gave:
    numbers as Python numbers, every kind of missing (None, NaN, NA, NaT) as null, other objects as text."""
    from msoko.report.section import table_json

    n = 4
    df = pd.DataFrame({
        "str": pd.array(["x", None, "y", "z"], dtype="str"), "obj": [1, "x", 2.5, None],
        "f": [1.5, np.nan, np.inf, -0.0], "F": pd.array([0.5, None, 2.0, 3.0], dtype="Float64"),
        "I": pd.array([1, None, 3, 4], dtype="Int64"), "i8": np.array([1, 2, 3, 4], dtype="int8"),
        "b": [True, False, True, False], "B": pd.array([True, None, False, True], dtype="boolean"),
        "cat": pd.Categorical(["u", None, "v", "u"]),
        "t": pd.to_datetime(["2021-01-01", None, "2022-01-01", "2023-05-05"]),
    })
    df.insert(1, "dup", range(n), allow_duplicates=True)
    df.insert(2, "dup", list("abcd"), allow_duplicates=True)

    def cell(v):  # the row-by-row form
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if hasattr(v, "item"):
            v = v.item()
        return v if isinstance(v, (int, float, bool, str)) else str(v)

    want = [[cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    got = table_json("T", df)
    assert got["rows"] == want and got["columns"] == [str(c) for c in df.columns]
    assert [[type(v) for v in r] for r in got["rows"]] == [[type(v) for v in r] for r in want]
    assert got["rows"][1] == [None, 1, "b", "x", None, None, None, 2, False, None, None, None]
    assert got["rows"][0][-1] == "2021-01-01 00:00:00" and got["rows"][2][4] == float("inf")
    assert table_json("E", df.iloc[0:0])["rows"] == [] and table_json("C", df[[]])["rows"] == [[]] * n


def test_cell_positions_index_every_row_by_its_cell_and_level():
    """The indicator rows' position index (one factorise per column, one sort): each cell's rows in table
    order, keyed as the report asks (year −1 when missing, grade 4 and 4.0 alike, '' for no grade or
    subject), and each (year, indicator, level)'s rows sorted."""
    from msoko.report.indicators import _cell_positions

    f = pd.DataFrame({
        "year": pd.array([2023, 2023, 2022, 2023, None, 2023, 2023], dtype="Int16"),
        "indicator": pd.array(["a", "a", "a", "b", "a", "a", "a"], dtype="string"),
        "level": pd.array(["school", "municipality", "school", "school", "school", "school", "school"], dtype="string"),
        "school_id": pd.array(["s1", "M", "s1", "s1", "s1", "s2", "s1"], dtype="string"),
        "grade": pd.array([4, None, 4, 5, 4, 4, 4], dtype="Int8"),
        "subject": pd.array(["Математика", None, "Математика", None, None, "Математика", "Математика"], dtype="string"),
    })
    by_level, cells = _cell_positions(f)
    got = {k: v.tolist() for k, v in cells.items()}
    assert got == {
        (2023, "a", "school", "s1", "4", "Математика"): [0, 6],
        (2023, "a", "municipality", "M", "", ""): [1],
        (2022, "a", "school", "s1", "4", "Математика"): [2],
        (2023, "b", "school", "s1", "5", ""): [3],
        (-1, "a", "school", "s1", "4", ""): [4],
        (2023, "a", "school", "s2", "4", "Математика"): [5],
    }
    assert {k: v.tolist() for k, v in by_level.items()} == {
        (2023, "a", "school"): [0, 5, 6], (2023, "a", "municipality"): [1], (2022, "a", "school"): [2],
        (2023, "b", "school"): [3], (-1, "a", "school"): [4]}
    # an empty table: empty indexes
    empty_levels, empty_cells = _cell_positions(f.iloc[0:0])
    assert empty_levels == {} and empty_cells == {}
