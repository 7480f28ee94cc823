"""The ФИС ОКО context questionnaire read by header and used by systems 2 and 6."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko import ingest, layouts, questionnaire
from msoko.config import load_config
from msoko.indicators import _teachers_questionnaire, context_index, context_metrics
from msoko.readers import read_table

# A 2022 questionnaire: the pupils' question names another school year (reworded header), the
# columns stand in another order than in 2021, and one question is not in the data dictionary.
HEADER = [
    "Сколько в школе учителей (работающих не менее чем на 0,5 ставки) не старше 30 лет?",
    "логин",
    "Где расположена Ваша образовательная организация?",
    "Укажите количество обучающихся в ОО в 2021/2022 учебном году (в сумме по всем классам)",
    "Сколько в школе логопедов?",
    "Сколько всего в школе учителей (работающих не менее чем на 0,5 ставки)?",
    "Сколько в школе  учителей высшей категории (работающих не менее чем на 0,5 ставки)?",
    "Длительностью не более 36 часов", "Длительностью более 36 часов и не более 72 часов",
    "Длительностью более 72 часов",
    "Сколько в школе учебных классов (кабинетов), в которых проходят занятия?",
    "В скольких из них рабочее место учителя оборудовано компьютером?",
    "В скольких учебных классах, кабинетах есть проектор и/или интерактивная доска?",
    "Сколько компьютеров обучающиеся могут использовать в процессе обучения (включая компьютеры в "
    "компьютерном классе, других учебных классах, библиотеке)?",
    "Сколько из этих компьютеров являются маломощными, устаревшими, требующими замены или переоснащения?",
    "Сколько из этих компьютеров имеют доступ к сети Интернет (вне зависимости от того, проводной интернет или Wi-Fi)?",
    "В классах начальной школы", "В классах основной школы", "В классах средней школы ",
    "ОО является школой-интернатом?",
    "7 класс Обучающихся",
]
ROWS = [
    ["2", "sch1", "4. Населенный пункт сельского типа (село, хутор, деревня и пр.)", "90", "1", "10", "4",
     "3", "2", "1", "10", "5", "10", "20", "5", "10", "80", "60", "", "Да", "7"],
    ["1", "sch2", "2. Город", "350", "0", "20", "5", "1", "1", "0", "20", "20", "10", "40", "0", "40",
     "100", "", "", "нет", "много"],
]


@pytest.fixture()
def parsed(tmp_path: Path):
    path = tmp_path / "Контекстные данные 2022.csv"
    lines = [";".join(HEADER)] + [";".join(r) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path)
    lay = layouts.detect(table.header, path)
    assert lay.kind == "context"
    return ingest._parse_context(table, lay, path.name, tmp_path), lay


def test_questionnaire_is_read_by_header_with_a_reworded_and_an_unknown_column(parsed):
    res, lay = parsed
    q = res["frames"]["context_questionnaire"]
    assert list(q["school_id"]) == ["sch1", "sch2"]
    assert list(q["year"]) == [2022, 2022]                       # from the file name
    # the reworded pupils' question is matched by its pattern, not its position
    assert list(q["students_total"]) == [90, 350]
    assert str(q["students_total"].dtype) == "Int32"
    assert list(q["teachers_young30"]) == [2, 1]                  # first column of the file
    assert list(q["settlement_kind"]) == [4, 2] and q["settlement_kind_text"][1] == "Город"
    assert list(q["is_boarding"]) == [True, False]
    assert q["parents_meeting_secondary"].isna().all()
    # a text in a number column is missing, said in a warning
    assert q["students_g7"].tolist()[0] == 7 and pd.isna(q["students_g7"].tolist()[1])
    text = " ".join(res["warnings"])
    assert "«Сколько в школе логопедов?»" in text and "нет в словаре данных" in text
    assert "students_total" in text                               # the reworded one is named too
    assert "«7 класс Обучающихся»: 1" in text
    assert "логопед" not in " ".join(q.columns)                   # unknown: not loaded, not guessed
    assert lay.ignored == ["Сколько в школе логопедов?"]
    assert res["meta"]["questionnaire_columns"] == len(HEADER) - 1


def test_every_column_of_the_2021_questionnaire_is_in_the_dictionary():
    import json
    from importlib import resources

    header = json.loads((resources.files("msoko.demo") / "context_layout.json").read_text(encoding="utf-8"))["header"]
    mp = questionnaire.map_header(header)
    assert mp.unknown == [] and len(mp.columns) == len(header) == 92
    ids = [fid for _, fid, _ in mp.columns]
    assert len(set(ids)) == 92
    assert {"cohort1_students", "cohort2_students", "students_g12", "classes_g1", "kpk_over72"} <= set(ids)
    assert all(f.feeds in {"schools", "context", "teachers", "kept"} and f.description for f in questionnaire.fields())


def test_equipment_and_parents_worked_by_hand(parsed):
    q = parsed[0]["frames"]["context_questionnaire"]
    m = questionnaire.context_metrics(q).set_index("school_id")
    # sch1: 5/10 teacher PCs, 10/10 projectors, (20-5)/20 working, 10/20 online → (0.5+1+0.75+0.5)/4
    assert m.loc["sch1", "equipment_index"] == pytest.approx(68.75)
    # sch2: 1, 0.5, 1, 1 → 87.5
    assert m.loc["sch2", "equipment_index"] == pytest.approx(87.5)
    assert m.loc["sch1", "parent_involvement"] == pytest.approx(70.0)   # (80 + 60) / 2, secondary blank
    assert m.loc["sch2", "parent_involvement"] == pytest.approx(100.0)


def _meta():
    return pd.DataFrame({"school_id": ["sch1", "sch2"], "settlement_type": ["село", "город"],
                         "students_total": [None, None]})


def test_context_index_from_questionnaire_and_template_wins(parsed):
    q = parsed[0]["frames"]["context_questionnaire"]
    config = load_config(None)
    m = context_metrics({"context_questionnaire": q}, _meta()).set_index("school_id")
    assert list(m["students_source"]) == ["context_questionnaire"] * 2
    idx = context_index(m.reset_index(), config)
    from msoko.indicators import _context_components
    assert sum(v.notna().astype(int) for v in _context_components(m, config).values()).tolist() == [2, 2]
    # село (1.0) and 90 pupils < 100 (1.0) → 100; город (0) and 350 ≥ 300 (0) → 0; other components missing
    assert idx.tolist() == pytest.approx([100.0, 0.0])
    template = pd.DataFrame({"year": [2022], "school_id": ["sch1"], "equipment_index": [40.0],
                             "teacher_vacancies": [1], "students_risk_failure": [np.nan], "families_at_risk": [np.nan],
                             "parent_involvement": [np.nan], "learning_motivation": [np.nan],
                             "school_climate": [np.nan], "teacher_competence": [np.nan]})
    m2 = context_metrics({"context": template, "context_questionnaire": q}, _meta()).set_index("school_id")
    assert m2.loc["sch1", "equipment_index"] == 40.0 and m2.loc["sch1", "equipment_index_source"] == "context"
    assert m2.loc["sch2", "equipment_index"] == pytest.approx(87.5)
    assert m2.loc["sch2", "equipment_index_source"] == "context_questionnaire"
    # the template has no parents' figure: the questionnaire fills it, and says so
    assert m2.loc["sch1", "parent_involvement"] == pytest.approx(70.0)
    assert m2.loc["sch1", "parent_involvement_source"] == "context_questionnaire"


def test_system6_from_questionnaire_only_without_staff_template(parsed):
    q = parsed[0]["frames"]["context_questionnaire"]
    teachers = pd.DataFrame({"year": [2022], "school_id": ["sch2"], "teacher_code": ["t1"]})
    bases = {b.code: b.frame for b in _teachers_questionnaire({"context_questionnaire": q, "teachers": teachers},
                                                             {}, {})}
    h = bases["q_teachers_highest"]
    assert list(h["school_id"]) == ["sch1"]                      # sch2 has the staff template
    assert (h["num"].iloc[0], h["den"].iloc[0]) == (4.0, 10.0)
    assert bases["q_kpk_per_100_teachers"]["num"].iloc[0] == 6.0  # 3 + 2 + 1 courses
    bases = {b.code: b.frame for b in _teachers_questionnaire({"context_questionnaire": q}, {}, {})}
    assert list(bases["q_teachers_young30"]["num"]) == [2.0, 1.0]


def test_each_indicator_says_its_source():
    from msoko.indicators import load_catalogue
    from msoko.report.fmt import source_words

    cat = load_catalogue().set_index("code")["source"]
    assert {cat[c] for c in ("q_teachers_highest", "q_teachers_young30", "q_teachers_pension",
                             "q_kpk_per_100_teachers")} == {"context_questionnaire"}
    assert "context_questionnaire" in cat["context_index"] and "context_questionnaire" in cat["risk_low_equipment"]
    assert cat["teachers_highest_category"] == "teachers"
    assert source_words(cat["risk_low_equipment"]) == "контекстные данные ОО, контекстная анкета ФИС ОКО"


def test_questionnaire_alone_feeds_the_factors_it_measures_but_no_index_from_two_of_five_parts(parsed):
    from msoko.indicators import compute_indicators

    q = parsed[0]["frames"]["context_questionnaire"]
    schools = pd.DataFrame({"school_id": ["sch1", "sch2"], "name": ["Школа 1", "Школа 2"], "municipality": ["М", "М"],
                            "org_type": ["СОШ", "СОШ"], "settlement_type": ["село", "город"],
                            "students_total": pd.array([None, None], dtype="Int32"), "is_preschool": False})
    ind = compute_indicators({"context_questionnaire": q, "schools": schools}, load_config(None)).indicators
    sch = ind[ind["level"] == "school"].set_index(["indicator", "school_id"])["value"]
    # settlement and size are 2 of the index's 5 parts: under [context_index] min_components = 3 no index,
    # and no ШНСУ flag, is made from them (every small rural school would be «неблагоприятные условия»)
    assert ("context_index", "sch1") not in sch.index or pd.isna(sch[("context_index", "sch1")])
    assert ("shnsu_flag", "sch1") not in sch.index
    with_two = compute_indicators({"context_questionnaire": q, "schools": schools},
                                  {**load_config(None), "context_index": {**load_config(None)["context_index"],
                                                                          "min_components": 2}}).indicators
    two = with_two[with_two["level"] == "school"].set_index(["indicator", "school_id"])["value"]
    assert two[("context_index", "sch1")] == pytest.approx(100.0) and two[("context_index", "sch2")] == 0.0
    assert two[("shnsu_flag", "sch1")] == 100.0 and two[("shnsu_flag", "sch2")] == 0.0
    assert sch[("risk_low_equipment", "sch1")] == pytest.approx(68.75)
    # pupils at risk of failure and vacancies are not in the questionnaire: no row, not a row with a gap
    assert "risk_failure_risk" not in set(ind["indicator"]) and "teacher_vacancies" not in set(ind["indicator"])
