"""The runs' index names, beside each school report, its attention zones on the first screen and
its objectivity status, read from compute's outputs."""
import pandas as pd

from msoko.report.school import index_facts
from msoko.runner.index import render_index


def test_index_shows_concerns_and_objectivity_per_school(tmp_path):
    """The objectivity column is the school's tier of the plan of work (objectivity_plan.parquet), not a
    count of cell-level signs: a school with flagged cells but no school-level finding (the plan's notes,
    objectivity_plan_notes.parquet) reads «находок на уровне школы нет; для сведения — …», never a measure."""
    pd.DataFrame({"year": [2023, 2023, 2023, 2022], "school_id": ["A", "A", "A", "B"],
                  "top": [True, True, False, True]}).to_parquet(tmp_path / "priorities.parquet")
    pd.DataFrame({"year": [2023] * 6, "school_id": ["A", "A", "B", "B", "D", "E"],
                  "sign": ["inflated_mean", "combined", "bunching", "inflated_mean", "inflated_mean", "combined"],
                  "flagged": pd.array([True, True, True, False, False, True], dtype="boolean")}
                 ).to_parquet(tmp_path / "objectivity.parquet")
    pd.DataFrame({"year": [2023, 2023, 2022], "school_id": ["B", "E", "D"], "tier": [1, 2, 1]}
                 ).to_parquet(tmp_path / "objectivity_plan.parquet")
    pd.DataFrame({"year": [2023, 2022], "school_id": ["A", "E"], "official_only": [True, False]}
                 ).to_parquet(tmp_path / "objectivity_plan_notes.parquet")
    facts = index_facts(tmp_path, 2023)
    assert facts["A"] == {"concerns": "2 из 3",
                          "objectivity": "находок на уровне школы нет; для сведения — официальные признаки ФИОКО"}
    assert "concerns" not in facts.get("B", {})            # B's priorities are of 2022
    assert facts["B"]["objectivity"] == "меры: наблюдатели или перепроверка (план работы, уровень 1)"
    assert facts["E"]["objectivity"] == "меры: экспертиза КИМ и сопоставление отметок (план работы, уровень 2)"
    assert facts["D"]["objectivity"] == "находок нет"      # assessed in 2023, its plan row is of 2022
    assert "C" not in facts                                 # not assessed: «не рассчитана»
    manifest = {"run": {"year": 2023, "finished": "2024-01-01T00:00"}, "versions": {"msoko": "0"},
                "reports": [{"key": "s/A", "kind": "school", "title": "Отчёт школы A", "label": "A",
                             "status": "built", "html": "2023/schools/A.html"},
                            {"key": "s/B", "kind": "school", "title": "Отчёт школы B", "label": "B",
                             "status": "built", "html": "2023/schools/B.html"},
                            {"key": "s/C", "kind": "school", "title": "Отчёт школы C", "label": "C",
                             "status": "built", "html": "2023/schools/C.html"}]}
    page = render_index(manifest, [], facts)
    assert "<th>Зон внимания на первом экране</th>" in page
    assert ("<td>2 из 3</td><td>находок на уровне школы нет; для сведения — официальные признаки ФИОКО"
            "</td>") in page
    assert "<td>B</td><td>—</td><td>меры: наблюдатели или перепроверка (план работы, уровень 1)</td>" in page
    # the school report says «Диагностика объективности … не рассчитана»: so does the index, never «признаков нет»
    assert "<td>C</td><td>—</td><td>не рассчитана</td>" in page
    assert "признаков нет" not in page


def test_a_run_plans_one_report_per_kindergarten(tmp_path):
    """Kindergartens get their one-page report (notebooks/dou.ipynb), schools theirs; a run for some
    schools only does not rebuild the kindergartens'."""
    import nbformat

    from msoko.runner.plan import plan
    from msoko.runner.state import HashCache

    proc, nbs = tmp_path / "processed", tmp_path / "notebooks"
    proc.mkdir()
    nbs.mkdir()
    pd.DataFrame({"school_id": ["s1", "d1", "d2"], "name": ["СОШ № 1", "Детский сад № 1", "Детский сад № 2"],
                  "municipality": "М", "org_type": ["СОШ", "ДОУ", "ДОУ"],
                  "is_preschool": [False, True, True]}).to_parquet(proc / "schools.parquet")
    pd.DataFrame({"year": [2023], "school_id": ["s1"], "grade": [4], "subject": ["Математика"]}) \
        .to_parquet(proc / "vpr.parquet")
    for name in ("school", "dou"):
        nbformat.write(nbformat.v4.new_notebook(), nbs / f"{name}.ipynb")
    jobs, _ = plan(proc, nbs, year=2023, municipality=None, schools=None, lib_hash="x", cache=HashCache(None))
    dou = [j for j in jobs if j.kind == "dou"]
    assert [j.params["dou_id"] for j in dou] == ["d1", "d2"]
    assert dou[0].html_rel == "2023/dou/d1.html" and dou[0].title == "Отчёт детского сада: Детский сад № 1"
    assert [j.params["school_id"] for j in jobs if j.kind == "school"] == ["s1"]
    some, _ = plan(proc, nbs, year=2023, municipality=None, schools=["s1"], lib_hash="x", cache=HashCache(None))
    assert {j.kind for j in some} == {"school"}


def test_index_counts_the_concerns_the_first_screen_shows(tmp_path):
    """With first_screen.parquet the index counts the concerns the first screen shows, of the
    school's ranked zones outside objectivity (which has its own column)."""
    pd.DataFrame({"year": [2023] * 4, "school_id": ["A"] * 4,
                  "topic": ["results:*", "shnor", "objectivity", "results:Математика"],
                  "top": [True, True, True, False]}).to_parquet(tmp_path / "priorities.parquet")
    pd.DataFrame({"year": [2023, 2023], "school_id": ["A", "A"], "part": ["concern", "action"]}).to_parquet(
        tmp_path / "first_screen.parquet")
    assert index_facts(tmp_path, 2023)["A"]["concerns"] == "1 из 3"


def test_index_title_names_the_only_municipality():
    from msoko.runner.index import render_index

    rep = {"key": "m", "kind": "municipality", "title": "Отчёт", "label": "М", "status": "built", "html": "m.html",
           "params": {"municipality": "Город N"}, "built_at": None, "data_version": "x"}
    base = {"run": {"year": 2023, "finished": "2024-01-01T00:00"}, "versions": {"msoko": "0"}}
    html = render_index({**base, "reports": [rep]})
    assert "<h1>Отчёты МСОКО — Город N, 2023 год</h1>" in html
    two = dict(rep, key="k", params={"municipality": "Город M"})
    assert "все муниципалитеты, 2023 год" in render_index({**base, "reports": [rep, two]})
