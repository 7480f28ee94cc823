"""msoko compute end to end on a tiny processed folder: files written, missing tables noted."""
from __future__ import annotations

import pandas as pd
import pytest

from msoko.compute import compute
from msoko.errors import MsokoError
from msoko.store import write_table


def test_compute_with_only_teachers(tmp_path, capsys):
    t = pd.DataFrame({"year": 2022, "school_id": ["A"] * 6 + ["B"] * 4, "teacher_code": [f"t{i}" for i in range(10)],
                      "birth_year": [1990] * 5 + [1960] * 5, "category": ["высшая"] * 3 + ["без категории"] * 7,
                      "kpk_date": pd.to_datetime(["2021-03-01"] * 8 + ["2018-03-01"] * 2),
                      "deficit_diagnostics": [True] * 10, "individual_route": [True] * 5 + [False] * 5,
                      "prof_contest": False})
    write_table(t, tmp_path, "teachers")
    res = compute(tmp_path)
    out = capsys.readouterr().out
    assert "Готово" in out and "не рассчитано" in out
    ind = pd.read_parquet(tmp_path / "indicators.parquet")
    m = ind[(ind["indicator"] == "teachers_kpk3") & (ind["level"] == "municipality")].iloc[0]
    assert (m["numerator"], m["denominator"]) == (8, 10)
    young = ind[(ind["indicator"] == "teachers_young") & (ind["school_id"] == "A")].iloc[0]
    assert young["value"] == pytest.approx(500 / 6)         # 2022 − 1990 = 32 < 35: 5 of 6
    cat = pd.read_csv(tmp_path / "indicator_catalogue.csv")
    assert not cat.set_index("code").loc["vpr_fail_share", "computed"]
    assert "vpr" in cat.set_index("code").loc["vpr_fail_share", "note_ru"]
    assert cat.set_index("code").loc["teachers_kpk3", "computed"]
    for name in ("cycle_analysis", "recommendations", "effectiveness", "cycle_systems"):
        assert (tmp_path / f"{name}.parquet").exists()
    assert not (tmp_path / "objectivity.parquet").exists()
    assert "vpr_fail_share" in set(res.notes["indicator"])


def test_compute_empty_folder_russian_error(tmp_path):
    with pytest.raises(MsokoError, match="нет обработанных таблиц"):
        compute(tmp_path, verbose=False)
    with pytest.raises(MsokoError, match="не найдена"):
        compute(tmp_path / "nope", verbose=False)
