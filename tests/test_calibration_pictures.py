"""The calibration section's tables are made by compute (msoko.objectivity.calibration.calibration_pictures)
and only formatted by the report: the year's warning, the p-value bins, the flag rates by size and by
number of tasks and the size bias, worked out by hand on a small frame."""
from __future__ import annotations

import pandas as pd
import pytest

from msoko.objectivity.calibration import calibration_pictures
from msoko.report import objectivity as O

MATH = "Математика"


def _rows():
    rows = []
    # bunching 2021: five works, p = 0.0005, 0.0002, 0.0004, 0.5, 0.9 → 3 of 5 below 0.001: warning
    for i, p in enumerate([0.0005, 0.0002, 0.0004, 0.5, 0.9]):
        rows.append({"year": 2021, "school_id": f"b{i}", "grade": 4, "subject": MATH, "sign": "bunching",
                     "p_value": p, "flagged": p < 0.001, "n": 30})
    # marks_far 2021: 10 works of 15 pupils, none flagged; 10 of 60, 4 flagged → 40 % against 0 %: size bias
    for i in range(20):
        large = i >= 10
        rows.append({"year": 2021, "school_id": f"m{i}", "grade": 4, "subject": MATH, "sign": "marks_far",
                     "p_value": 0.3, "flagged": large and i < 14, "n": 60 if large else 15})
    # score_swing 2021: 1 of 10 small, 2 of 10 large: 10 points more but only twice → no size bias
    for i in range(20):
        large = i >= 10
        rows.append({"year": 2021, "school_id": f"s{i}", "grade": 5, "subject": MATH, "sign": "score_swing",
                     "p_value": 0.4, "flagged": i in (0, 10, 11), "n": 60 if large else 15})
    rows.append({"year": 2021, "school_id": None, "grade": None, "subject": None, "sign": "objectivity_index",
                 "p_value": None, "flagged": None, "n": 40})
    return pd.DataFrame(rows).astype({"flagged": "boolean"})


TASKS = pd.DataFrame({"year": 2021, "grade": [4] * 12 + [5] * 8, "subject": MATH,
                      "task": [str(t) for t in range(1, 13)] + [str(t) for t in range(1, 9)]})


@pytest.fixture(scope="module")
def pictures():
    return calibration_pictures(_rows(), TASKS)


def test_year_warning_and_size_bias_by_hand(pictures):
    y = pictures["objectivity_calibration_years"].set_index("sign")
    assert "objectivity_index" not in y.index
    assert (y.loc["bunching", "cells"], y.loc["bunching", "below_001"]) == (5, 3)
    assert y.loc["bunching", "share_001"] == pytest.approx(0.6) and bool(y.loc["bunching", "warning"])
    assert not y.loc["marks_far", "warning"] and y.loc["marks_far", "below_001"] == 0
    assert y.loc["marks_far", ["assessed_small", "flagged_small", "assessed_large", "flagged_large"]].tolist() \
        == [10, 0, 10, 4]
    assert bool(y.loc["marks_far", "size_bias"])
    assert not bool(y.loc["score_swing", "size_bias"])        # 20 % against 10 %: not three times
    assert not bool(y.loc["bunching", "size_bias"])           # five works: too few to say


def test_pvalue_bins_and_flag_rates_by_hand(pictures):
    b = pictures["objectivity_pvalue_bins"]
    bb = b[b["sign"] == "bunching"].set_index("bin")
    assert len(bb) == 20 and bb["cells"].sum() == 5
    assert (bb.loc[0, "cells"], bb.loc[10, "cells"], bb.loc[18, "cells"]) == (3, 1, 1)
    assert bb.loc[0, "share"] == pytest.approx(0.6) and bb["expected"].eq(0.05).all()
    f = pictures["objectivity_flag_rates"]
    size = f[(f["sign"] == "marks_far") & (f["kind"] == "size")].set_index("band")
    assert size.loc["10–19", ["assessed", "flagged"]].tolist() == [10, 0]
    assert size.loc["50–99", "rate"] == pytest.approx(0.4)
    tasks = f[(f["kind"] == "tasks")].set_index(["sign", "band"])
    assert tasks.loc[("marks_far", "11–14"), "assessed"] == 20      # grade 4 maths has 12 tasks
    assert tasks.loc[("score_swing", "до 10"), ["assessed", "flagged"]].tolist() == [20, 3]   # grade 5: 8 tasks


class _Data:
    def __init__(self, tables):
        self.tables = tables

    def table(self, name):
        return self.tables.get(name, pd.DataFrame())


def test_report_formats_compute_tables(pictures):
    data = _Data(pictures)
    c = O.calibration_frame(data, 2021).set_index("Признак")
    bun = O.sign_title("bunching")
    assert c.loc[bun, "p < 0,001"] == "3 (60,00 % при ожидаемых 0,1 %)"
    assert c.loc[bun, "Вывод"].startswith("в 600 раз больше ожидаемого")
    assert len(c.loc[bun, "Распределение p-значений (от 0 до 1)"]) == 20
    f = O.flag_rate_frame(data, 2021).set_index("Признак")
    assert f.loc[O.sign_title("marks_far"), "50–99 участников"] == "40,0 % (4 из 10)"
    assert f.loc[O.sign_title("score_swing"), "По числу заданий в работе"] == "до 10 заданий: 15,0 %"
    said = O.size_bias(data, 2021)
    assert len(said) == 1 and said[0].startswith(f"«{O.sign_title('marks_far')}» отмечает большие работы")
    assert O.calibration_frame(_Data({}), 2021).empty and O.size_bias(_Data({}), 2021) == []
