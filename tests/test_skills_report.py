"""Skills named in the task views, every work of a school reachable in its report, the ШНОР status of a school
the rule could not judge (issue 22) — on small fixed processed tables."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msoko.skills import clean, short, task_skills

SKILL_1 = "Умение выполнять арифмети- ческие   действия    с числами и числовыми выражениями"
SKILL_2 = "Умение изображать геометрические фигуры."


def _specs() -> pd.DataFrame:
    rows = [(4, "Математика", "1", "1", SKILL_1, "Выполнять устно сложение", "Б", "2", "2.1"),
            (4, "Математика", "2", "2", SKILL_2, "Построить квадрат", "Б", "3", "3.1"),
            (4, "Математика", "3", "3", "", "Решать задачи в 3–4 действия", "П", "1", "1.2"),
            (7, "Немецкий язык", "1", "1", "Аудирование: понимание запрашиваемой информации", "", "П", "", "")]
    return pd.DataFrame(rows, columns=["grade", "subject", "task", "task_label", "skill", "outcome", "level", "kes",
                                       "kt"]).assign(max_score=1.0, source_file="spec.pdf")


def _task_row(grade, subject, item, value, lo, hi, threshold, flag, vs_m, vs_s, suppressed=False):
    return {"year": 2021, "level": "school", "school_id": "s1", "indicator": "vpr_task_completion", "grade": grade,
            "subject": subject, "item": item, "value": value, "ci_low": lo, "ci_high": hi, "n": 24.0,
            "suppressed": suppressed, "limited": False, "municipality": "М", "municipality_value": 70.0,
            "similar_value": 65.0, "vs_municipality": vs_m, "vs_similar": vs_s, "threshold": threshold,
            "flag": flag}


@pytest.fixture()
def processed(tmp_path: Path) -> Path:
    pd.DataFrame({"school_id": ["s1", "s2"], "name": ["Школа 1", "Школа 2"], "municipality": ["М", "М"]}) \
        .to_parquet(tmp_path / "schools.parquet")
    _specs().to_parquet(tmp_path / "task_specs.parquet")
    ind = pd.DataFrame([_task_row(4, "Математика", "1", 40.0, 25.0, 57.0, 50.0, True, -1, 0),
                        _task_row(4, "Математика", "2", 80.0, 60.0, 91.0, 50.0, False, 0, 1),
                        _task_row(4, "Математика", "3", 30.0, 15.0, 50.0, 40.0, True, 0, 0),
                        _task_row(7, "Немецкий язык", "1", 20.0, 9.0, 38.0, 40.0, True, -1, -1)])
    ind["grade"] = ind["grade"].astype("Int8")
    ind["vs_municipality"] = ind["vs_municipality"].astype("Int8")
    ind["vs_similar"] = ind["vs_similar"].astype("Int8")
    ind["flag"] = ind["flag"].astype("boolean")
    ind.to_parquet(tmp_path / "indicators.parquet")
    pd.DataFrame([{"year": 2021, "grade": 7, "subject": "Немецкий язык", "task": None, "spec_max": 20.0,
                   "observed_max": 6.0, "n": 300, "verdict": "misfit", "task_verdicts": False,
                   "reason": "спецификация не подходит"}]).to_parquet(tmp_path / "spec_quality.parquet")
    pd.DataFrame([{"year": 2020, "school_id": "s2", "assessed": False, "procedures": 0, "low_procedures": 0,
                   "shnor": False, "reason": "Не оценивалась по правилу ШНОР: нет процедур не менее чем с 20 участниками."},
                  {"year": 2021, "school_id": "s2", "assessed": True, "procedures": 2, "low_procedures": 0,
                   "shnor": False, "reason": "Не ШНОР: …"}]).to_parquet(tmp_path / "shnor_list.parquet")
    return tmp_path


def test_skill_text_cleaned_and_shortened():
    assert clean(SKILL_1) == "Умение выполнять арифметические действия с числами и числовыми выражениями"
    assert clean("килограмм – грамм") == "килограмм – грамм"          # a dash between words stays
    s = short(SKILL_1, 40)
    assert s == "Умение выполнять арифметические действия…"       # 40 characters of whole words + «…»
    t = task_skills(_specs()).set_index(["grade", "task"])
    assert t.loc[(4, "2"), "skill_short"] == "Умение изображать геометрические фигуры"
    assert t.loc[(4, "3"), "skill"] == "Решать задачи в 3–4 действия"    # blank skill: named by its outcome


def test_task_view_names_skills_and_compares(processed):
    from msoko import report as R
    from msoko.report.skills import NO_VERDICT, show_work_skills, skills_table

    data = R.load(processed, cache=False)
    t = skills_table(data, "s1", 2021, 4, "Математика").set_index("Задание")
    # 75 characters cleaned: the view names it in whole words up to 70 (the full text is folded below)
    assert t.loc["1", "Проверяемое умение"] == "Умение выполнять арифметические действия с числами и числовыми…"
    assert t.loc["1", "Школа, %"] == "40 [25–57]" and t.loc["1", "Муниципалитет, %"] == "70"
    assert t.loc["1", "Похожие школы, %"] == "65"
    assert t.loc["1", "Вывод"] == "ниже порога; ниже муниципалитета"
    assert t.loc["2", "Вывод"] == "порог достигнут; выше похожих школ"
    assert t.loc["3", "Вывод"] == "ниже порога" and t.loc["3", "Уровень"] == "повышенный"
    sec = show_work_skills(data, "s1", 2021, 4, "Математика")
    html = str(sec)
    assert "1 (Умение выполнять арифметические действия с числами и числовыми…); 3 (Решать задачи" in html
    assert "<details" in html and "Выполнять устно сложение" in html         # the full text, folded
    assert "с числами и числовыми выражениями" in html
    # the German specification does not fit: its skill named, no verdict, not in the list of unformed skills
    g = skills_table(data, "s1", 2021, 7, "Немецкий язык")
    assert list(g["Вывод"]) == [NO_VERDICT]
    assert g["Проверяемое умение"].iloc[0].startswith("Аудирование")
    assert "ниже порога" not in str(show_work_skills(data, "s1", 2021, 7, "Немецкий язык"))


def test_folded_works_all_present(processed):
    from msoko import report as R
    from msoko.report.skills import show_folded_works

    data = R.load(processed, cache=False)
    works = [(4, "Математика", 24), (7, "Немецкий язык", 24), (5, "История", 3)]
    table = lambda d, s, y, g, subj: pd.DataFrame({"Группа": [f"{subj} {g}"]})   # the detailed view's table
    html = str(show_folded_works(data, "s1", 2021, works, table))
    assert html.count("<details class=\"more work\">") == 3
    for title in ("ВПР 2021: Математика, 4 класс", "ВПР 2021: Немецкий язык, 7 класс", "ВПР 2021: История, 5 класс"):
        assert title in html
    assert "Участников меньше 5" in html                                     # the 3-pupil work: no numbers


def test_shnor_status_when_not_assessed(processed):
    from msoko import report as R
    from msoko.report.school import shnor_unassessed, summary_status

    data = R.load(processed, cache=False)
    line = summary_status(data, "s2", 2020)
    assert "ШНОР: не оценивалась (мало участников: нет процедур не менее чем с 20 участниками)" in line
    assert "не ШНОР" not in line
    assert shnor_unassessed(data, "s2", 2021) == "" and shnor_unassessed(data, "s1", 2020) == ""


def test_action_names_the_unformed_skills():
    """«Включить несформированные умения ВПР …» names the tasks below their threshold with their skills, from
    compute's task rows and the specification; school B, above every threshold, gets no such action."""
    from msoko.config import deep_merge, load_config
    from msoko.cycle import recommend
    from msoko.indicators import compute_indicators, load_catalogue

    cfg = deep_merge(load_config(), {"vpr_seasons": {"2021": "весна"}})
    specs = _specs()
    specs = specs[specs["subject"] == "Математика"]
    vpr, tasks = [], []
    for sid, scores in (("A", (0.0, 0.0, 1.0)), ("B", (1.0, 1.0, 1.0))):
        for i in range(30):
            code = f"{sid}{i}"
            vpr.append({"year": 2021, "grade": 4, "subject": "Математика", "school_id": sid, "student_code": code,
                        "journal_mark": pd.NA, "sex": "м", "class": "а", "variant": "1", "absent": False,
                        "primary_score": sum(scores), "max_score": 3.0, "mark": 3 if sid == "A" else 5})
            tasks += [{"year": 2021, "grade": 4, "subject": "Математика", "school_id": sid, "student_code": code,
                       "task": str(t + 1), "score": s} for t, s in enumerate(scores)]
    vpr = pd.DataFrame(vpr).astype({"journal_mark": "Int8", "mark": "Int8"})
    schools = pd.DataFrame({"school_id": ["A", "B"], "name": ["Школа А", "Школа Б"], "municipality": "М",
                            "org_type": "СОШ", "settlement_type": "село", "settlement": "x",
                            "students_total": pd.array([None, None], dtype="Int32"), "is_preschool": False})
    res = compute_indicators({"vpr": vpr, "vpr_tasks": pd.DataFrame(tasks), "task_specs": specs, "schools": schools},
                             cfg)
    rec = recommend(res.indicators, load_catalogue(), cfg, meta=res.meta, year=2021, skills=task_skills(specs))
    r = rec[rec["rule"] == "vpr_tasks_insufficient"]
    assert list(r["school_id"]) == ["A"]
    # tasks 1 (Б, 0 % < 50) and 2 (Б, 0 %) below; task 3 (П, 100 %) reached
    assert r["action_ru"].iloc[0] == (
        "Включить несформированные умения ВПР (Математика, 4 кл.) в план работы ШМО и муниципального методического "
        "объединения: 1 «Умение выполнять арифметические действия с числами…», "
        "2 «Умение изображать геометрические фигуры».")


def test_skills_text_of_merged_works():
    from msoko.cycle import MAX_SKILLS, _skills_text

    assert MAX_SKILLS == 4
    assert _skills_text([(4, ("1 «а»",))]) == ": 1 «а»"                    # one work: no grade named
    assert _skills_text([(6, ("2 «в»", "3 «г»", "4 «д»")), (4, ("1 «а»", "5 «б»"))]) == \
        ": 4 кл. — 1 «а», 5 «б»; 6 кл. — 2 «в», 3 «г» и ещё 1"
    assert _skills_text([(4, ()), (5, float("nan"))]) == ""


def test_tasks_of_one_skill_named_once():
    from msoko.cycle import _unformed_skills

    skills = pd.DataFrame({"grade": [7, 7, 7, 7], "subject": "Английский язык", "task": ["1", "2", "3", "4"],
                           "label": ["2", "3К1", "3К2", "4"],
                           "skill": ["Чтение вслух", "Говорение: монолог", "Говорение: монолог", "Грамматика"]})
    tasks = pd.DataFrame({"year": 2021, "school_id": "A", "grade": 7, "subject": "Английский язык",
                          "item": ["3", "1", "2", "9"], "flag": [True, True, True, True]})
    got = _unformed_skills(tasks, skills)
    # in the specification's order; a task with no specification row is named by its number
    assert got == {(2021, "A", 7, "Английский язык"): ("2 «Чтение вслух»", "3К1, 3К2 «Говорение: монолог»", "9")}


def test_every_work_of_a_school_reachable(demo_processed):
    """On the demo municipality: every work a school wrote is in its ВПР views — detailed with a chart, or folded
    with its main figures and the skills of its tasks — and every shown work's tasks name their skills."""
    from msoko import report as R
    from msoko.seasons import work_title

    data = R.load(demo_processed, cache=False)
    year = R.resolve_year(data, None)
    counts = data.table("vpr_score_counts")
    c = counts[(counts["year"] == year) & (counts["level"] == "school")]
    sid = c.groupby("school_id")["subject"].size().idxmax()          # the school with the most works
    taken = R.school_vpr_counts(data, sid, year)
    assert len(taken) > R.MAX_DETAILED_WORKS                          # some works are not detailed
    sec = R.show_vpr_views(data, sid, year)
    html = str(sec)
    detailed = 0
    for g, s, n in zip(taken["grade"], taken["subject"], taken["n"]):
        title = work_title(year, int(g), str(s), data.config)
        assert title in html, (g, s)
        detailed += f">{title}</h3>" in html
        if n >= R.suppress_below(data):
            assert f"Задания и проверяемые умения — {s}, {int(g)} класс" in sec.tables
    folded = html.count("<details class=\"more work\">")
    assert 0 < detailed <= R.MAX_DETAILED_WORKS and folded == len(taken) - detailed
