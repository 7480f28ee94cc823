"""The principal's composite is computed only from enough of its components, and says which are missing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msoko.config import deep_merge, load_config
from msoko.indicators import PRINCIPAL_COMPONENTS_RU, composite_assembly, compute_indicators

CFG = load_config()


def _comps(rows):
    keys = list(PRINCIPAL_COMPONENTS_RU)
    return {k: pd.Series([r[i] for r in rows], dtype=float) for i, k in enumerate(keys)}


def test_assembly_by_hand():
    nan = np.nan
    comps = _comps([(80, 90, 60, 70, nan, nan),      # 4 of 6 → (80 + 90 + 60 + 70) / 4 = 75
                    (80, 90, nan, nan, nan, nan),    # 2 of 6: under half — not computed
                    (80, 90, 60, nan, nan, nan),     # 3 of 6: exactly half — computed, 76.67
                    (nan,) * 6])
    a = composite_assembly(comps, {}, 0.5)
    assert a["composite"].iloc[0] == pytest.approx(75.0)
    assert np.isnan(a["composite"].iloc[1]) and np.isnan(a["composite"].iloc[3])
    assert a["composite"].iloc[2] == pytest.approx(230 / 3)
    assert list(a["components_present"]) == [4, 2, 3, 0]
    assert (a["components_total"] == 6).all()
    assert a["composite_note"].iloc[0] == (
        "рассчитан по 4 из 6 составляющих; нет данных: обучение руководителя по управлению (таблица «principals»); "
        "кадровый резерв (таблица «principals»)")
    assert a["composite_note"].iloc[1].startswith(
        "не рассчитан: есть 2 из 6 составляющих (результаты (ВПР, ГИА); объективность (признаки ФИОКО)); "
        "нет данных: развитие кадров")
    assert a["components_missing"].iloc[2].count(";") == 2


def test_assembly_weights_decide_the_share():
    nan = np.nan
    comps = _comps([(80, 40, nan, nan, nan, nan)])
    # results and objectivity carry 3 + 3 of 3 + 3 + 1·4 = 10: 60 % ≥ 50 % → weighted (240 + 120) / 6 = 60
    w = {"results": 3, "objectivity": 3}
    a = composite_assembly(comps, w, 0.5)
    assert a["composite"].iloc[0] == pytest.approx(60.0)
    # a component with weight 0 is not counted at all (5 components)
    a = composite_assembly(comps, {"reserve": 0}, 0.4)
    assert a["components_total"].iloc[0] == 5 and a["composite"].iloc[0] == pytest.approx(60.0)
    assert composite_assembly(comps, {}, 0.5)["composite"].isna().all()


def _vpr(school, marks):
    n = len(marks)
    return pd.DataFrame({"year": 2021, "grade": 5, "subject": "Математика", "school_id": school,
                         "student_code": [f"{school}{i}" for i in range(n)],
                         "journal_mark": pd.array([None] * n, dtype="Int8"), "sex": "м", "class": "а",
                         "variant": "1", "absent": False, "primary_score": [float(m) for m in marks],
                         "max_score": 10.0, "mark": pd.array(marks, dtype="Int8")})


SCHOOLS = pd.DataFrame({"school_id": ["A", "B"], "name": ["Школа А", "Школа Б"], "municipality": "М",
                        "org_type": "СОШ", "settlement_type": "село", "settlement": "x",
                        "students_total": pd.array([None, None], dtype="Int32"), "is_preschool": False})


def test_vpr_only_gives_no_composite_and_says_why():
    """Only ВПР (the real sample): 1 of 6 components — no composite at any school, the reason named."""
    vpr = pd.concat([_vpr("A", [2, 3, 4, 5] * 5), _vpr("B", [3, 4] * 10)], ignore_index=True)
    res = compute_indicators({"vpr": vpr, "schools": SCHOOLS}, CFG)
    assert "principal_composite" not in set(res.indicators["indicator"])
    note = res.notes.set_index("indicator").loc["principal_composite", "reason"]
    assert note.startswith("есть 1 из 6 составляющих (результаты (ВПР, ГИА)); нет данных: объективность")
    pc = res.details["principal_components"]
    assert pc["composite"].isna().all() and (pc["components_present"] == 1).all()


def test_composite_from_four_components_with_note():
    """A: success 15/20 = 75 %, trained this year (100), reserve (100), НОКУОД 80 → (75 + 80 + 100 + 100) / 4;
    B has ВПР only and no row in «principals»: no composite."""
    vpr = pd.concat([_vpr("A", [2, 3, 4, 5] * 5), _vpr("B", [3, 4] * 10)], ignore_index=True)
    principals = pd.DataFrame({"year": [2021], "school_id": ["A"], "principal_code": ["p1"], "appointed_year": [2015],
                               "mgmt_training_year": [2021], "reserve_size": [1], "nokuod_score": [80.0]})
    res = compute_indicators({"vpr": vpr, "schools": SCHOOLS, "principals": principals}, CFG)
    ind = res.indicators
    c = ind[(ind["indicator"] == "principal_composite") & (ind["level"] == "school")].set_index("school_id")
    assert list(c.index) == ["A"]
    assert c.loc["A", "value"] == pytest.approx(88.75)
    pc = res.details["principal_components"].set_index("school_id")
    assert pc.loc["A", "composite_note"] == ("рассчитан по 4 из 6 составляющих; нет данных: объективность (признаки "
                                             "ФИОКО); развитие кадров (КПК педагогов, таблица «teachers»)")
    assert np.isnan(pc.loc["B", "composite"]) and pc.loc["B", "composite_note"].startswith("не рассчитан: есть 1 из 6")
    # a stricter municipality (0,7 of the weight): 4 of 6 (0,67) is not enough
    strict = compute_indicators({"vpr": vpr, "schools": SCHOOLS, "principals": principals},
                                deep_merge(CFG, {"principal_composite": {"min_share": 0.7}}))
    assert "principal_composite" not in set(strict.indicators["indicator"])


def test_reports_say_from_how_many_components(tmp_path):
    """Through compute (objectivity included) and the school report: A's composite (5 of 6: no teachers)
    carries its note on the first screen and in the system table; B (1 of 6: results — its constant scores
    leave the combined picture, and so the objectivity component, unassessed) is
    listed as not computed, with the reason."""
    import warnings

    from msoko import report as R
    from msoko.compute import compute
    from msoko.report.indicators import not_computed, system_indicator_table
    from msoko.report.school import summary_rows

    vpr = pd.concat([_vpr("A", [2, 3, 4, 5] * 5), _vpr("B", [3, 4] * 10)], ignore_index=True)
    vpr.to_parquet(tmp_path / "vpr.parquet")
    SCHOOLS.to_parquet(tmp_path / "schools.parquet")
    pd.DataFrame({"year": [2021], "school_id": ["A"], "principal_code": ["p1"], "appointed_year": [2015],
                  "mgmt_training_year": [2021], "reserve_size": [1], "nokuod_score": [80.0]}
                 ).to_parquet(tmp_path / "principals.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute(processed_dir=tmp_path, config_path=None)
    data = R.load(tmp_path)
    note = "рассчитан по 5 из 6 составляющих; нет данных: развитие кадров (КПК педагогов, таблица «teachers»)"
    row = next(r for r in summary_rows(data, "A", 2021) if r["code"] == "principal_composite")
    assert f"({note}" in row["school"]
    t = system_indicator_table(data, "A", 2021, 5).set_index("Показатель")
    comp = [n for n in t.index if n.startswith("Комплексный показатель")]
    assert comp and t.loc[comp[0], "Информативность"].startswith(note)
    assert not any(r["code"] == "principal_composite" for r in summary_rows(data, "B", 2021))
    said = " ".join(not_computed(data, 5, "B", 2021))
    assert "«Комплексный показатель эффективности руководителя» не рассчитан: есть 1 из 6 составляющих" in said
