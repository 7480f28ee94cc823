"""msoko.vpr_views: the works table and the score counts on a small frame worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msoko.outputs import validate
from msoko.vpr_views import vpr_score_counts, vpr_works


def _vpr() -> pd.DataFrame:
    # work 2023 / 4 / Математика, max 10: school A scores 2, 5, 5, 7.5 (→ 8), absent pupil; school B 6, 9
    # marks as the export applied them: 2 → «2», 5 → «3», 6 → «3», 7.5 → «4», 9 → «5»
    rows = [("A", 2.0, 2, False), ("A", 5.0, 3, False), ("A", 5.0, 3, False), ("A", 7.5, 4, False),
            ("A", np.nan, pd.NA, True), ("A", 9.0, 5, True),  # absent with a stray score: not counted
            ("B", 6.0, 3, False), ("B", 9.0, 5, False)]
    df = pd.DataFrame(rows, columns=["school_id", "primary_score", "mark", "absent"])
    df["mark"] = df["mark"].astype("Int8")
    df = df.assign(year=2023, grade=4, subject="Математика", max_score=10.0)
    # a second work without a declared maximum and without marks: the highest score seen stands in
    extra = pd.DataFrame({"school_id": ["B", "B"], "primary_score": [3.0, 4.0], "mark": pd.array([pd.NA, pd.NA], "Int8"),
                          "absent": [False, False], "year": 2023, "grade": 5, "subject": "История",
                          "max_score": np.nan})
    return pd.concat([df, extra], ignore_index=True)


SCHOOLS = pd.DataFrame({"school_id": ["A", "B"], "municipality": ["Город", "Город"]})


def test_works_boundaries_and_maximum():
    w = validate("vpr_works", vpr_works(_vpr())).set_index(["grade", "subject"])
    maths = w.loc[(4, "Математика")]
    assert (maths["participants"], maths["schools"], maths["max_score"]) == (6, 2, 10.0)
    # lowest score with «3» is 5, with «4» 7.5, with «5» 9 (the absent pupil's 9 is not counted, B's is)
    assert (maths["mark3_min"], maths["mark4_min"], maths["mark5_min"]) == (5.0, 7.5, 9.0)
    hist = w.loc[(5, "История")]
    assert hist["max_score"] == 4.0 and hist["participants"] == 2
    assert np.isnan(hist["mark3_min"]) and np.isnan(hist["mark5_min"])


def test_score_counts_per_school_and_municipality():
    c = validate("vpr_score_counts", vpr_score_counts(_vpr(), SCHOOLS))
    m = c[(c["grade"] == 4)]
    a = m[(m["level"] == "school") & (m["school_id"] == "A")].set_index("score")
    # 7.5 rounds half to even → 8; the absent pupil is left out: n = 4
    assert a["count"].to_dict() == {2: 1, 5: 2, 8: 1} and set(a["n"]) == {4}
    muni = m[m["level"] == "municipality"].set_index("score")
    assert muni["count"].to_dict() == {2: 1, 5: 2, 6: 1, 8: 1, 9: 1} and set(muni["n"]) == {6}
    assert set(muni["school_id"]) == {"Город"}
    # every group's counts add up to its n
    sums = c.groupby(["year", "level", "school_id", "grade", "subject"]).agg(total=("count", "sum"), n=("n", "first"))
    assert (sums["total"] == sums["n"]).all()


def test_no_municipality_column_gives_school_rows_only():
    c = vpr_score_counts(_vpr(), SCHOOLS.drop(columns="municipality"))
    assert set(c["level"]) == {"school"}


@pytest.mark.parametrize("frame", [None, pd.DataFrame(columns=["school_id", "primary_score", "year", "grade",
                                                                 "subject", "max_score", "mark"])])
def test_no_vpr_gives_empty_tables_that_keep_the_schema(frame):
    assert len(validate("vpr_works", vpr_works(frame))) == 0
    assert len(validate("vpr_score_counts", vpr_score_counts(frame, SCHOOLS))) == 0
