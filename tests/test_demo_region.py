"""A demo region: schools spread over several municipalities, consistent across every file."""
from __future__ import annotations

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from msoko.demo import generate
from msoko.demo.model import MUNICIPALITY, municipality_name
from msoko.errors import MsokoError


def _sheet(path):
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_names():
    assert municipality_name(0, 1) == MUNICIPALITY
    assert municipality_name(2, 5) == f"{MUNICIPALITY} № 3"


def test_region_is_consistent_across_files(tmp_path):
    s = generate(tmp_path, seed=4, n_schools=6, years=(2023, 2023), n_municipalities=3)
    assert s["municipalities"] == 3
    logins = _sheet(tmp_path / "logins.xlsx")
    reg = _sheet(tmp_path / "templates" / "registry.xlsx")
    by_login = dict(zip(logins["логин"], logins["регион"]))
    # round robin by index: two schools each
    assert sorted(pd.Series(list(by_login.values())).value_counts().tolist()) == [2, 2, 2]
    assert {m for m in by_login.values()} == {municipality_name(k, 3) for k in range(3)}
    reg_muni = dict(zip(reg.iloc[:, 0], reg.iloc[:, 2]))
    for login, muni in by_login.items():
        assert reg_muni[login] == muni
    # every ВПР row carries its school's municipality
    export = _sheet(next((tmp_path / "vpr" / "2023").rglob("*.xlsx")))
    pairs = set(zip(export["логин школы"], export["регион"]))
    assert pairs and all(by_login[login] == muni for login, muni in pairs)


def test_more_municipalities_than_schools_is_refused(tmp_path):
    with pytest.raises(MsokoError, match="Муниципалитетов в демо-данных"):
        generate(tmp_path, seed=4, n_schools=3, years=(2023, 2023), n_municipalities=4)
