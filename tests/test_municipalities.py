"""Municipalities as units (msoko.municipalities): the official index per municipality worked by hand, the
name of the «all loaded» level, odd organisations, and rejected rows concentrated on one school × work."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msoko.config import load_config
from msoko.municipalities import (ALL, all_loaded_label, login_region, municipalities_summary,
                                  objectivity_by_unit, org_scope, plan_by_unit, reject_findings)
from msoko.objectivity.core import OFFICIAL_SIGNS

# Two municipalities. Город: A1 marked, A2 assessed and not marked, A3 never assessed (every sign None).
# Район: B1 marked, B2 and B3 assessed and not marked. X1 is a login of another region (52) registered in
# Город and marked: it must count nowhere. Hand-worked (official index = 100 − % marked among assessed):
#   Город 1 of 2 → 50,0;  Район 1 of 3 → 66,67;  all loaded 2 of 5 → 60,0.
SCHOOLS = pd.DataFrame({
    "school_id": ["sch220001", "sch220002", "sch220003", "sch221001", "sch221002", "sch221003", "sch529999",
                  "spo220001", "sch221004"],
    "name": ["МБОУ СОШ №1", "МБОУ СОШ №2", "МБОУ СОШ №3", "МБОУ СОШ №1", "МБОУ Лицей", "МБОУ ООШ",
             "ГКОУ Школа №2 г.Павлово", "КГБПОУ Примерский технологический техникум", "МБДОУ Детский сад"],
    "municipality": ["Город", "Город", "Город", "Район", "Район", "Район", "Город", None, "Район"],
    "students_total": [500, 300, None, 200, 400, 100, 90, 700, 60],
    "is_preschool": [False, False, False, False, False, False, False, False, True],
    "settlement_type": "город", "org_type": ["СОШ", "СОШ", "СОШ", "СОШ", "лицей", "ООШ", "СОШ", None, "ДОУ"],
})


def _sign(school, sign, flagged, year=2021):
    return {"year": year, "school_id": school, "grade": 4, "subject": "Математика", "sign": sign, "flagged": flagged}


OBJ = pd.DataFrame([
    _sign("sch220001", "inflated_mean", True), _sign("sch220001", "journal_mismatch", False),
    _sign("sch220002", "inflated_mean", False), _sign("sch220002", "journal_mismatch", None),
    _sign("sch220003", "inflated_mean", None),
    _sign("sch221001", "journal_mismatch", True), _sign("sch221001", "inflated_mean", False),
    _sign("sch221002", "inflated_mean", False),
    _sign("sch221003", "inflated_mean", False), _sign("sch221003", "bunching", True),   # not an official sign
    _sign("sch529999", "inflated_mean", True),
    {"year": 2021, "school_id": None, "grade": None, "subject": None, "sign": "objectivity_index", "flagged": None},
])
VPR = pd.DataFrame({
    "year": 2021, "absent": False, "source_file": "f.xlsx", "grade": 4, "subject": "Математика",
    "school_id": ["sch220001"] * 3 + ["sch220002"] * 2 + ["sch221001"] * 2 + ["sch221002", "sch221003", "sch529999"],
})
SHNOR = pd.DataFrame({"year": 2021, "school_id": ["sch220001", "sch220002", "sch221001", "sch221002", "sch529999"],
                      "shnor": [True, False, False, True, True]})


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def scope(config):
    return org_scope(SCHOOLS, VPR, config)


def test_login_region():
    assert login_region("sch223015") == "22" and login_region("ksh220002") == "22"
    assert login_region("sch526312") == "52" and login_region("spo220002") == "22"
    assert login_region("школа") is None and login_region(None) is None


def test_odd_organisations_are_not_schools_of_a_municipality(scope):
    s = scope.set_index("school_id")
    # another region (52 while most logins are 22), though the registry puts it in Город
    assert not s.loc["sch529999", "counted"] and s.loc["sch529999", "reason"] == "foreign_region"
    assert "другого региона" in s.loc["sch529999", "note_ru"]
    # a technical college (by name and by its «spo» login) with no municipality
    assert not s.loc["spo220001", "counted"]
    assert set(s.loc["spo220001", "reason"].split(";")) == {"no_municipality", "not_school"}
    # a kindergarten is counted as its municipality's organisation (not odd), but not a school
    assert s.loc["sch221004", "counted"] and s.loc["sch221004", "reason"] == "preschool"
    # every ordinary school counts; the works it wrote are kept for «не оценивалась: нет работ ВПР»
    assert s.loc[["sch220001", "sch220002", "sch220003", "sch221001"], "counted"].all()
    assert s.loc["sch220001", "works"] == 3 and s.loc["sch220001", "vpr_years"] == "2021"
    assert s.loc["sch220003", "works"] == 0 and pd.isna(s.loc["sch220003", "vpr_years"])


def test_not_school_words_are_configurable(config):
    cfg = {**config, "organisations": {"not_school_words": ["лицей"], "not_school_logins": []}}
    s = org_scope(SCHOOLS, VPR, cfg).set_index("school_id")
    assert not s.loc["sch221002", "counted"] and s.loc["sch221002", "reason"] == "not_school"
    assert s.loc["spo220001", "reason"] == "no_municipality"     # «техникум» is no longer a word of the rule


def test_index_per_municipality_by_hand(scope):
    t = objectivity_by_unit(OBJ, scope, OFFICIAL_SIGNS).set_index("municipality")
    assert (t.loc["Город", "assessed"], t.loc["Город", "marked"]) == (2, 1)
    assert t.loc["Город", "index"] == pytest.approx(50.0)
    assert (t.loc["Район", "assessed"], t.loc["Район", "marked"]) == (3, 1)
    assert t.loc["Район", "index"] == pytest.approx(100 - 100 / 3)
    assert (t.loc[ALL, "assessed"], t.loc[ALL, "marked"]) == (5, 2)
    assert t.loc[ALL, "index"] == pytest.approx(60.0)


def test_summary_side_by_side(scope, config):
    m = municipalities_summary(scope, SCHOOLS, VPR, OBJ, SHNOR, OFFICIAL_SIGNS, config).set_index("municipality")
    assert list(m.index) == ["Город", "Район", ALL]
    assert m.loc[ALL, "label_ru"] == "Все загруженные муниципалитеты (2)" and m.loc[ALL, "level"] == "all"
    assert m.loc["Город", "label_ru"] == "Город"
    # schools: Город 3 (X1 of another region left out), Район 3 (the kindergarten is not a school)
    assert m[["schools", "schools_vpr"]].loc["Город"].tolist() == [3, 2]
    assert m[["schools", "schools_vpr"]].loc["Район"].tolist() == [3, 3]
    # pupils: 500 + 300 (A3 unknown) and 200 + 400 + 100
    assert m.loc["Город", "pupils"] == 800 and m.loc["Город", "pupils_known"] == 2
    assert m.loc["Район", "pupils"] == 700 and m.loc[ALL, "pupils"] == 1500
    assert m.loc["Город", "works"] == 5 and m.loc["Район", "works"] == 4 and m.loc[ALL, "works"] == 9
    assert m.loc["Город", "objectivity_index"] == pytest.approx(50.0)
    assert m.loc["Район", "objectivity_index"] == pytest.approx(66.6667, abs=1e-3)
    assert m.loc[ALL, "objectivity_index"] == pytest.approx(60.0)
    # ШНОР: Город A1 (of A1, A2), Район B2 (of B1, B2); X1 counts nowhere
    assert m[["shnor", "shnor_assessed"]].loc["Город"].tolist() == [1, 2]
    assert m[["shnor", "shnor_assessed"]].loc["Район"].tolist() == [1, 2]
    assert m[["shnor", "shnor_assessed"]].loc[ALL].tolist() == [2, 4]


# The plan of work (objectivity_plan.parquet): B1 tier 2, B3 tier 1, B2 tier 3, X1 (another region) tier 1 —
# counted nowhere; A2 was at tier 1 in 2020 only. Its notes (objectivity_plan_notes.parquet): A1 an official
# sign alone, A2 a flagged `combined` cell that did not survive the school-level control — both beside the
# plan, never in it: the count of schools with measures is the plan's, not the cells'.
PLAN = pd.DataFrame({"year": [2021, 2021, 2021, 2021, 2020],
                     "school_id": ["sch221002", "sch221001", "sch221003", "sch529999", "sch220002"],
                     "tier": [3, 2, 1, 1, 1]})
NOTES = pd.DataFrame({"year": [2021, 2021], "school_id": ["sch220001", "sch220002"], "official_only": [True, False]})


def test_plan_counts_per_municipality_by_hand(scope, config):
    obj = pd.concat([OBJ, pd.DataFrame([_sign("sch220002", "combined", True)])], ignore_index=True)
    t = plan_by_unit(PLAN, obj, scope, NOTES).set_index(["year", "municipality"]).loc[2021]
    cols = ["plan_assessed", "plan_tier1", "plan_tier2", "plan_tier3", "plan_measures", "plan_notes",
            "plan_official_only"]
    assert t.loc["Город", cols].tolist() == [2, 0, 0, 0, 0, 2, 1]      # A1, A2 assessed; A3 never
    assert t.loc["Район", cols].tolist() == [3, 1, 1, 1, 2, 0, 0]
    assert t.loc[ALL, cols].tolist() == [5, 1, 1, 1, 2, 2, 1]
    assert t.loc["Город", "plan_index"] == pytest.approx(100.0)
    assert t.loc["Район", "plan_index"] == pytest.approx(100 - 200 / 3)
    assert t.loc[ALL, "plan_index"] == pytest.approx(60.0)
    m = municipalities_summary(scope, SCHOOLS, VPR, obj, SHNOR, OFFICIAL_SIGNS, config, PLAN,
                               NOTES).set_index("municipality")
    assert m.loc["Район", "plan_measures"] == 2 and m.loc[ALL, "plan_tier3"] == 1 and m.loc[ALL, "plan_notes"] == 2
    # without a plan every count is 0 over the assessed schools, never the flagged cells
    m0 = municipalities_summary(scope, SCHOOLS, VPR, obj, SHNOR, OFFICIAL_SIGNS, config).set_index("municipality")
    assert m0.loc[ALL, ["plan_assessed", "plan_measures", "plan_tier3", "plan_notes"]].tolist() == [5, 0, 0, 0]


def test_all_loaded_is_named_honestly(config):
    assert all_loaded_label(6, config) == "Все загруженные муниципалитеты (6)"
    region = {**config, "municipality": {**config["municipality"], "all_loaded_is_region": True,
                                         "region": "Алтайский край"}}
    assert all_loaded_label(6, region) == "Регион (Алтайский край)"
    assert all_loaded_label(1, config) == "муниципалитет"
    m = municipalities_summary(org_scope(SCHOOLS, VPR, region), SCHOOLS, VPR, OBJ, SHNOR, OFFICIAL_SIGNS, region)
    assert m.loc[m["level"] == "all", "label_ru"].tolist() == ["Регион (Алтайский край)"]


def _rejects(rows):
    return pd.DataFrame(rows, columns=["file", "row", "column", "value", "reason", "school_id"])


def test_concentrated_rejects_are_a_finding():
    # S1: a whole class of 21 works rejected for a task above its maximum, 4 works of S1 loaded → 21 of 25;
    # S2: 2 of 32 rows rejected (under 5 rows) → no finding; a reject without a school is not attributed.
    over = "балл за задание 3 = 24 больше максимума 20 по спецификации"
    rows = [("vpr/2021/7/x.xlsx", 10 + i, "балл за 3", "24", over, "sch000001") for i in range(21)]
    rows += [("vpr/2021/7/x.xlsx", 100, "всего баллов", "9", "«всего баллов» = 9 не равно сумме баллов за задания = 7",
              "sch000002"),
             ("vpr/2021/7/x.xlsx", 101, "балл за 3", "24", over, "sch000002"),
             ("vpr/2021/7/x.xlsx", 200, "балл за 1", "abc", "не число", None)]
    vpr = pd.DataFrame({"year": 2021, "grade": 7, "subject": "Немецкий язык", "source_file": "vpr/2021/7/x.xlsx",
                        "school_id": ["sch000001"] * 4 + ["sch000002"] * 30})
    f = reject_findings(_rejects(rows), vpr, load_config())
    assert len(f) == 1
    r = f.iloc[0]
    assert (r.school_id, r.year, r.grade, r.subject) == ("sch000001", 2021, 7, "Немецкий язык")
    assert (r.rejected, r.rows) == (21, 25) and r.share == pytest.approx(84.0)
    assert r.reasons_ru == "балл за задание выше максимума — 21"
    assert "21 из 25" in r.text_ru and "качества данных" in r.text_ru and "не вывод" in r.text_ru
    # a lower threshold names S2 as well: 2 of 32, two reasons
    cfg = {"data_quality": {"reject_min_rows": 2, "reject_min_share": 5.0}}
    f2 = reject_findings(_rejects(rows), vpr, cfg).set_index("school_id")
    assert (f2.loc["sch000002", "rejected"], f2.loc["sch000002", "rows"]) == (2, 32)
    assert math.isclose(f2.loc["sch000002", "share"], 6.25)


def test_rejects_of_an_ingest_become_a_finding(tmp_path):
    """End to end: a class's works rejected at ingest for a score above the maximum → the school's finding."""
    from msoko.ingest import ingest
    from msoko.municipalities import read_rejects
    from tests.test_ingest import H2021, make_raw, write_xlsx

    raw = make_raw(tmp_path / "raw")
    f21 = raw / "vpr" / "2021" / "4" / "Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
    rows = [H2021]
    for i in range(3):   # three works of sch000001 loaded
        rows.append(["sch000001", "р", str(i), f"4100{i}", "4", "м", "а", "1", "5", "1", "2", "2", "", "", "", None, None])
    for i in range(5):   # five works of sch000002: task 1 scored 2 of a maximum of 1
        rows.append(["sch000002", "р", str(i), f"4200{i}", "4", "м", "а", "1", "6", "2", "2", "2", "", "", "", None, None])
    rows.append(["sch000002", "р", "9", "42009", "4", "м", "а", "1", "5", "1", "2", "2", "", "", "", None, None])
    write_xlsx(f21, rows)
    ingest(raw, tmp_path / "p", jobs=1, progress=False)
    vpr = pd.read_parquet(tmp_path / "p" / "vpr.parquet")
    f = reject_findings(read_rejects(tmp_path / "p"), vpr, load_config())
    assert f[["school_id", "grade", "subject", "rejected", "rows"]].values.tolist() == \
        [["sch000002", 4, "Математика", 5, 6]]
    assert f.iloc[0]["reasons_ru"] == "балл за задание выше максимума — 5"


@pytest.fixture()
def report_data(tmp_path, scope, config):
    """A ReportData over the two municipalities above, with compute's tables written as compute writes them."""
    from msoko.report.data import ReportData
    from msoko.store import write_table

    write_table(scope, tmp_path, "org_scope")
    write_table(municipalities_summary(scope, SCHOOLS, VPR, OBJ, SHNOR, OFFICIAL_SIGNS, config), tmp_path,
                "municipalities_summary")
    return ReportData(processed_dir=tmp_path, schools=SCHOOLS.copy(), task_specs=pd.DataFrame(),
                      indicators=pd.DataFrame(), catalogue=pd.DataFrame(),
                      objectivity=OBJ.assign(year=OBJ["year"].astype("int64")), config=config)


def test_each_municipal_report_shows_its_own_index(report_data):
    from msoko.report import municipality as M

    texts = {}
    for m, own, of in (("Город", "50,0", "1 из 2"), ("Район", "66,7", "1 из 3")):
        g = M.municipal_at_glance(report_data, m, 2021).set_index("Характеристика")
        row = g.loc["Показатель объективности оценки (ФИОКО)"]
        assert row["Значение"] == own
        assert f"{of} оценённых школ муниципалитета" in row["Пояснение"]
        assert "все загруженные муниципалитеты (2) — 60,0" in row["Пояснение"]
        # its own schools only: the login of another region is not a school of Город
        assert g.loc["Общеобразовательных организаций", "Значение"] == "3"
        texts[m] = row["Значение"]
    assert texts["Город"] != texts["Район"]
    sec = M.show_municipal_summary(report_data, "Город", 2021)._repr_html_()
    assert "ГКОУ Школа №2 г.Павлово" in sec and "логин другого региона" in sec   # the data-quality note
    assert "Муниципалитеты рядом" in sec


def test_headings_never_print_nan_and_no_vpr_is_not_assessed(report_data):
    from msoko.report.common import show_title
    from msoko.report.school import summary_objectivity

    html = show_title(report_data, kind="school", year=2021, school_id="spo220001")._repr_html_()
    assert "nan" not in html and "муниципалитет не указан" in html and "не считается школой муниципалитета" in html
    # A3 wrote no ВПР: not assessed, never «признаков нет»
    assert summary_objectivity(report_data, "sch220003", 2021) == "Не оценивалась: нет работ ВПР 2021 года."
    assert "не выявлено" not in summary_objectivity(report_data, "sch220003", 2021)


def test_objectivity_tables_carry_login_and_municipality(report_data):
    from msoko.report import objectivity as O

    t = O.signs_frame(report_data, 2021, official=True)
    # two schools named «МБОУ СОШ №1» are told apart by the login and the municipality
    one = t[t["Школа"] == "МБОУ СОШ №1"]
    assert sorted(zip(one["Муниципалитет"], one["Логин"])) == [("Город", "sch220001"), ("Район", "sch221001")]
    assert list(t.columns[:3]) == ["Школа", "Муниципалитет", "Логин"]
    assert t["Муниципалитет"].tolist() == sorted(t["Муниципалитет"].tolist())


def test_the_plans_notes_are_information_in_every_report(tmp_path, scope, config):
    """A school of the plan's notes (A1: an official sign alone; A2: a cell flag that did not survive the
    school-level control) is never a school to act on: the school's report says it is not in the plan,
    the municipal and objectivity reports give the notes as a count «для сведения», the plan table does
    not list it, and its official sign is still shown where the region sees it."""
    from msoko.objectivity.plan import SELF_CHECK
    from msoko.report import municipality as M, objectivity as O
    from msoko.report.data import ReportData
    from msoko.report.school import summary_objectivity
    from msoko.store import write_table

    obj = pd.concat([OBJ, pd.DataFrame([_sign("sch220002", "combined", True)])], ignore_index=True)
    idx = obj["sign"] == "objectivity_index"   # the official index row (value, n) the key messages start from
    obj = obj.assign(value=np.where(idx, 60.0, np.nan), n=np.where(idx, 5.0, np.nan), procedure="ВПР")
    plan = PLAN.assign(measures=SELF_CHECK, reasons="основание", works="", persistence=1, score=1.0,
                       families="journal")
    write_table(scope, tmp_path, "org_scope")
    write_table(municipalities_summary(scope, SCHOOLS, VPR, obj, SHNOR, OFFICIAL_SIGNS, config, PLAN, NOTES),
                tmp_path, "municipalities_summary")
    plan.to_parquet(tmp_path / "objectivity_plan.parquet")
    NOTES.assign(reasons="официальный признак").to_parquet(tmp_path / "objectivity_plan_notes.parquet")
    data = ReportData(processed_dir=tmp_path, schools=SCHOOLS.copy(), task_specs=pd.DataFrame(),
                      indicators=pd.DataFrame(), catalogue=pd.DataFrame(),
                      objectivity=obj.assign(year=obj["year"].astype("int64")), config=config)
    s = summary_objectivity(data, "sch220001", 2021)
    assert "в план работы по объективности школа не входит" in s and "официальные признаки похожие школы не " \
        "подтверждают" in s and s.endswith("а не основание для мер.") and "уровень" not in s
    # the counts: Город has no plan school, two schools of the notes, one of them official only
    t = M.plan_tier_counts(data, "Город", 2021).set_index("Уровень плана работы")["Школ"]
    assert t["3 — самоанализ по одной находке"] == "0"
    assert t["вне плана, для сведения: признаки не подтвердились на уровне школы (из них только официальные — 1)"] == "2"
    msgs = " ".join(O.objectivity_key_messages(data, 2021))
    assert "самоанализ без внешних мер (одна находка на уровне школы) — у 1." in msgs
    assert ("Для сведения: ещё у 2 школ признаки отмечены в отдельных работах, но не подтвердились на уровне школы "
            "с поправкой на число её работ (у 1 из них — только официальные признаки ФИОКО") in msgs
    plan_html = O.show_plan_of_work(data, 2021)._repr_html_()
    assert "МБОУ СОШ №1" in plan_html and "sch220001" not in plan_html.split("Для сведения")[0]
    assert "Для сведения: ещё у 2 школ" in plan_html
    # the official sign itself is still shown to the region, with the school named
    off = O.signs_frame(data, 2021, official=True)
    assert ("sch220001", "Завышенный средний балл") in set(zip(off["Логин"], off["Признак"]))
