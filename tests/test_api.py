"""The analyst's API (msoko.open): objects on small fixed data, and the explore notebook on the demo."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import msoko  # noqa: E402
from msoko.errors import MsokoError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MUNI = "Тестовый округ"


def _row(year, level, unit, code, value, lo, hi, n, **kw):
    base = dict(year=year, level=level, school_id=unit, indicator=code, grade=np.nan, subject=None, item=None,
                value=value, ci_low=lo, ci_high=hi, n=float(n), suppressed=False, limited=n < 20,
                municipality=MUNI, municipality_value=np.nan, vs_municipality=0, region_value=np.nan,
                similar_value=np.nan, similar_ci_low=np.nan, similar_ci_high=np.nan, similar_n=np.nan,
                vs_similar=0)
    base.update(kw)
    return base


@pytest.fixture()
def small(tmp_path) -> Path:
    """Two schools and their municipality: «качество» 2023 by hand (A 30/50, B 10/40, municipality 40/90)."""
    pd.DataFrame({"school_id": ["s1", "s2"], "name": ["Школа А", "Школа Б"], "municipality": [MUNI, MUNI],
                  "org_type": ["СОШ", "СОШ"], "settlement_type": ["город", "город"],
                  "is_preschool": [False, False]}).to_parquet(tmp_path / "schools.parquet")
    rows = [
        _row(2023, "school", "s1", "vpr_quality", 60.0, 46.2, 72.4, 50, municipality_value=44.4, vs_municipality=1,
             similar_value=25.0, similar_ci_low=14.2, similar_ci_high=40.2, similar_n=40.0, vs_similar=1),
        _row(2023, "school", "s2", "vpr_quality", 25.0, 14.2, 40.2, 40, municipality_value=44.4, vs_municipality=-1,
             similar_value=60.0, similar_ci_low=46.2, similar_ci_high=72.4, similar_n=50.0, vs_similar=-1),
        _row(2023, "municipality", MUNI, "vpr_quality", 44.4, 34.6, 54.7, 90),
        _row(2022, "school", "s1", "vpr_quality", 50.0, 36.6, 63.4, 50),
        _row(2022, "municipality", MUNI, "vpr_quality", 45.0, 35.1, 55.3, 90),
    ]
    pd.DataFrame(rows).to_parquet(tmp_path / "indicators.parquet")
    pd.DataFrame({"code": ["vpr_quality"], "name_ru": ["Качество по ВПР"], "system": [1], "kind": ["share"],
                  "unit": ["%"], "direction": ["higher"], "formula_ru": ["(«4» + «5») / писавшие"],
                  "source": ["ВПР"], "min_n": [5], "computed": [True], "note_ru": [""]}).to_csv(
        tmp_path / "indicator_catalogue.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame({
        "year": [2023, 2023, 2023], "school_id": ["s1", "s1", "s2"], "grade": [6, 6, 6],
        "subject": ["Математика"] * 3, "sign": ["bunching", "marks_lower", "bunching"],
        "value": [4.0, 31.0, 0.5], "threshold": [np.nan] * 3, "flagged": [True, False, False], "n": [50, 50, 40],
        "ci_low": [np.nan] * 3, "ci_high": [np.nan] * 3, "p_value": [0.0004, 0.3, 0.8],
        "procedure": ["ВПР"] * 3, "official": [False] * 3, "informativeness": ["информативна"] * 3,
        "detail": ["скопление у границ", "", ""]}).to_parquet(tmp_path / "objectivity.parquet")
    return tmp_path


def test_school_compare_takes_groups_explicitly(small):
    m = msoko.open(small)
    s = m.school("s1")
    assert s.year == 2023  # the last year in the data
    d = s.compare("vpr_quality", vs=["municipality", "s2"]).set_index("group")
    assert list(d.index) == ["Школа А (s1)", "Муниципалитет", "Школа Б (s2)"]
    assert d.loc["Школа А (s1)", "value"] == 60.0 and d.loc["Школа Б (s2)", "value"] == 25.0
    assert d.loc["Муниципалитет", "n"] == 90
    sim = s.compare("vpr_quality", vs="similar").set_index("group")
    assert list(sim.index) == ["Школа А (s1)", "Похожие школы"] and sim.loc["Похожие школы", "value"] == 25.0
    with pytest.raises(MsokoError, match="не найдена"):
        s.compare("vpr_quality", vs=["s9"])


def test_school_summary_and_html_in_russian(small):
    s = msoko.open(small).school("s1")
    assert s.summary() == ("Школа А (s1), 2023 год; муниципалитет: Тестовый округ; показателей со значением: 1")
    html = s._repr_html_()
    # decimal comma, interval in brackets, informativeness of n = 50
    assert "60,0" in html and "[46,2–72,4]" in html and "информативн" in html
    assert s.to_frame()["value"].dtype.kind == "f"  # numbers stay numbers for sorting and export


def test_indicator_lists_schools_by_name_and_counts_verdicts(small):
    q = msoko.open(small).indicator("vpr_quality")
    f = q.to_frame()
    assert list(f["name"]) == ["Школа А", "Школа Б"]  # compared, not ranked
    assert q.summary() == ("Качество по ВПР — 2023: школ со значением 2 из 2; муниципалитет — Тестовый округ: "
                           "44,4 %; достоверно хуже муниципалитета: 1, лучше: 1")
    with pytest.raises(MsokoError, match="нет в каталоге"):
        msoko.open(small).indicator("no_such_code")


def test_trend_and_plots_return_axes_with_russian_labels(small):
    s = msoko.open(small).school("s1")
    t = s.trend("vpr_quality")
    assert sorted(t.loc[t["group"] == "Школа", "year"]) == [2022, 2023]
    ax = s.plot("vpr_quality", vs=["municipality", "s2"])
    assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title() == "Качество по ВПР"
    assert {x.get_text().split(" (n")[0] for x in ax.get_yticklabels()} == {"Школа А (s1)", "Муниципалитет",
                                                                             "Школа Б (s2)"}
    ax = s.plot_trend("vpr_quality")
    assert ax.get_ylabel() == "%"
    assert msoko.open(small).signs().plot().get_xlabel() == "Отмечено работ"


def test_signs_flagged_and_explained(small):
    m = msoko.open(small)
    sg = m.signs()
    assert len(sg.to_frame()) == 1 and sg.to_frame()["sign"].iloc[0] == "bunching"
    assert sg.summary().startswith("Признаки необъективности, 2023 год — все школы: 1 отметок у 1 школ")
    assert "план" not in sg.summary()       # no plan computed: nothing is said about it
    # with compute's count of the plan of work the summary says the flags are works and the plan decides
    pd.DataFrame({"year": [2023], "level": ["municipality"], "municipality": [MUNI], "plan_assessed": [2],
                  "plan_tier1": [0], "plan_tier2": [0], "plan_tier3": [1], "plan_measures": [0]}
                 ).to_parquet(small / "municipalities_summary.parquet")
    assert msoko.open(small).signs().summary().endswith(
        "Это отдельные работы; по плану работы (m.plan()) меры — у 0 школ, самоанализ — у 1")
    ev = m.signs(school="s1", flagged=False).explain(6, "Математика")
    assert set(ev["sign"]) == {"bunching", "marks_lower"}
    assert ev.set_index("sign").loc["bunching", "p_value"] == pytest.approx(0.0004)


def test_api_writes_nothing(small):
    before = {p.name: p.stat().st_mtime_ns for p in small.iterdir()}
    m = msoko.open(small)
    m.school("s1")._repr_html_(), m.indicator("vpr_quality").summary(), m.signs().to_frame(), m.plan().summary()
    assert {p.name: p.stat().st_mtime_ns for p in small.iterdir()} == before


def test_explore_notebook_on_the_demo(demo_processed, tmp_path):
    """The teaching notebook runs on the demo; what it builds equals compute's tables."""
    import papermill as pm

    out = tmp_path / "explore.ipynb"
    xlsx = tmp_path / "tables.xlsx"
    pm.execute_notebook(str(REPO / "notebooks" / "explore.ipynb"), str(out), cwd=str(tmp_path), progress_bar=False,
                        parameters=dict(processed_dir=str(demo_processed), excel_out=str(xlsx)), kernel_name="python3")
    m = msoko.open(demo_processed)
    year = m.years[-1]
    ind = pd.read_parquet(demo_processed / "indicators.parquet")
    q = m.indicator("vpr_quality", year).to_frame().set_index("school_id")
    raw = ind[(ind["year"] == year) & (ind["indicator"] == "vpr_quality") & (ind["level"] == "school")
              & ind["grade"].isna() & ind["subject"].isna() & ind["item"].isna()].set_index("school_id")
    raw = raw[~raw["suppressed"].astype(bool)]
    assert len(raw) > 3
    assert np.allclose(q.loc[raw.index, "value"].to_numpy(float), raw["value"].to_numpy(float))
    obj = pd.read_parquet(demo_processed / "objectivity.parquet")
    flagged = obj[(obj["year"] == year) & obj["flagged"].fillna(False).astype(bool)]
    assert len(m.signs(year).to_frame()) == len(flagged) > 0
    # the exported workbook keeps numbers as numbers
    book = pd.read_excel(xlsx, sheet_name=None)
    assert set(book) == {"Задания", "Качество по школам", "Признаки"}
    assert book["Качество по школам"]["value"].dtype.kind == "f"
    assert not math.isnan(book["Задания"]["value"].max())


def test_plan_summary_counts_the_notes_outside_the_plan(small):
    """Compute's plan and its notes: one school in the plan, one school outside it with two works flagged
    only by the official sign; the summary counts schools (not works) and the notes carry the names."""
    pd.DataFrame({"year": [2023], "school_id": ["s1"], "tier": [3], "measures": ["а"],
                  "reasons": ["x"]}).to_parquet(small / "objectivity_plan.parquet")
    pd.DataFrame({"year": [2023, 2023, 2022], "school_id": ["s2", "s2", "s1"], "official_only": [True, True, False],
                  "reasons": ["оф.", "оф.", "ячейки"], "p_school": [0.3, 0.3, 0.05]}
                 ).to_parquet(small / "objectivity_plan_notes.parquet")
    p = msoko.open(small).plan(2023)
    assert list(p.notes()["name"]) == ["Школа Б", "Школа Б"]
    assert p.summary() == ("План работы по объективности, 2023 год: школ 1 (уровень 3 — 1); "
                           "вне плана, для сведения (m.plan().notes()) — 1, из них только официальные признаки ФИОКО — 1")
    assert msoko.open(small).plan(2022).summary().endswith("для сведения (m.plan().notes()) — 1")
