"""Indicators on real data (the Altai sample) and on the demo municipality."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.indicators import load_catalogue

MATHS_5_2021 = "Проведение работы по математике, 5 класс. ВПР 2021.xlsx"


@pytest.fixture(scope="module")
def real_maths5(real_data, tmp_path_factory):
    """One real workbook (ВПР 2021, maths, grade 5) ingested and computed."""
    pytest.importorskip("msoko.ingest")
    from msoko.compute import compute
    from msoko.ingest import ingest

    raw = tmp_path_factory.mktemp("real_raw")
    (raw / "logins.xlsx").symlink_to(real_data / "logins.xlsx")
    d = raw / "vpr_results" / "2021" / "5"
    d.mkdir(parents=True)
    (d / MATHS_5_2021).symlink_to(real_data / "vpr_results" / "2021" / "5" / MATHS_5_2021)
    processed = tmp_path_factory.mktemp("real_processed")
    ingest(raw_dir=raw, processed_dir=processed, jobs=1, progress=False)
    compute(processed_dir=processed, verbose=False)
    ind = pd.read_parquet(processed / "indicators.parquet")
    book = pd.read_excel(real_data / "vpr_results" / "2021" / "5" / MATHS_5_2021, engine="calamine")
    return ind, book


def test_real_marks_and_journal_comparison_match_direct_pandas(real_maths5):
    ind, book = real_maths5
    # direct computation from the workbook: present = variant is not «отсутствовал»;
    # mark from the 2021 grade-5 maths scale (domain §5): 0–6 «2», 7–10 «3», 11–14 «4», 15–20 «5»
    b = book[book["вариант"].astype(str).str.strip().str.lower() != "отсутствовал"].copy()
    school = b["логин школы"].value_counts().index[0]          # the largest school of the sample
    s = b[b["логин школы"] == school]
    total = pd.to_numeric(s["всего баллов"], errors="coerce")
    mark = pd.cut(total, [-1, 6, 10, 14, 20], labels=[2, 3, 4, 5]).astype(float)
    journal = pd.to_numeric(s["отметка за предыдущую четверть/триместр"].astype(str).str.strip()
                            .str.replace("\xa0", ""), errors="coerce").where(lambda x: x.between(2, 5))
    counts = mark.value_counts()
    both = mark.notna() & journal.notna()
    expected = {
        "vpr_fail_share": counts.get(2.0, 0), "vpr_mark3_share": counts.get(3.0, 0),
        "vpr_mark4_share": counts.get(4.0, 0), "vpr_mark5_share": counts.get(5.0, 0),
        "vpr_journal_lower": int((mark < journal)[both].sum()),
        "vpr_journal_confirm": int((mark == journal)[both].sum()),
        "vpr_journal_higher": int((mark > journal)[both].sum()),
    }
    got = ind[(ind["school_id"] == school) & (ind["level"] == "school") & (ind["year"] == 2021)
              & (ind["grade"] == 5) & (ind["subject"] == "Математика")].set_index("indicator")
    for code, k in expected.items():
        assert got.loc[code, "numerator"] == k, code
    assert got.loc["vpr_fail_share", "denominator"] == mark.notna().sum()
    assert got.loc["vpr_journal_lower", "denominator"] == both.sum()
    assert got.loc["vpr_fail_share", "value"] == pytest.approx(counts.get(2.0, 0) / mark.notna().sum() * 100)
    # the participation rate counts absent students from the workbook too
    everyone = book[book["логин школы"] == school]
    assert got.loc["vpr_participation", "denominator"] == len(everyone)
    # municipality rows pool the schools of the municipality, the value is never an average of shares
    muni = ind[(ind["level"] == "municipality") & (ind["indicator"] == "vpr_fail_share") & ind["grade"].isna()]
    schools = ind[(ind["level"] == "school") & (ind["indicator"] == "vpr_fail_share") & ind["grade"].isna()]
    for m in muni.itertuples():
        part = schools[schools["municipality"] == m.school_id]
        assert m.denominator == part["denominator"].sum()


@pytest.fixture(scope="module")
def demo(demo_processed, demo_raw):
    path = Path(demo_processed)
    if not (path / "indicators.parquet").exists():
        pytest.skip("msoko.compute не выполнен для демо")
    return path, Path(demo_raw)


def test_demo_whole_catalogue_computed(demo):
    path, _ = demo
    ind = pd.read_parquet(path / "indicators.parquet")
    from msoko.cycle import QUESTIONNAIRE_STANDS_IN

    cat = load_catalogue()
    # the questionnaire's staff indicators stand in only where the staff template is absent: the demo has it
    cat = cat[~cat["code"].isin(list(QUESTIONNAIRE_STANDS_IN))]
    assert set(cat["code"]) == set(ind["indicator"])
    written = pd.read_csv(path / "indicator_catalogue.csv")
    assert written.loc[~written["code"].isin(list(QUESTIONNAIRE_STANDS_IN)), "computed"].all()
    assert not written.loc[written["code"].isin(list(QUESTIONNAIRE_STANDS_IN)), "computed"].any()
    # every indicator has a non-suppressed value at the municipality level
    muni = ind[(ind["level"] == "municipality") & ind["value"].notna()]
    assert set(cat["code"]) == set(muni["indicator"])
    for name in ("cycle_analysis", "recommendations", "effectiveness", "cycle_monitoring", "cycle_targets",
                 "cycle_systems", "shnor_list", "risk_profile"):
        assert (path / f"{name}.parquet").exists(), name


def test_demo_weak_spots_in_analysis(demo):
    path, raw = demo
    an = pd.read_parquet(path / "cycle_analysis.parquet")
    weak = pd.read_csv(raw / "_truth" / "weak_spots.csv")
    results = {"shnor_flag", "shnor_low_procedures", "vpr_fail_share", "vpr_success", "vpr_quality",
               "vpr_mean_pct", "vpr_mean_score", "vpr_level_completion"}
    for r in weak.itertuples():
        if r.indicator_hint == "shnor_flag":
            # low-result school: a finding on ВПР results or the ШНОР list in some year
            hit = an[(an["school_id"] == r.school_id) & an["indicator"].isin(results)]
        else:
            hit = an[(an["school_id"] == r.school_id) & (an["year"] == r.year)
                     & (an["indicator"] == r.indicator_hint)]
        assert len(hit), (r.year, r.school_id, r.indicator_hint)


def test_demo_measures_assessed(demo):
    path, raw = demo
    eff = pd.read_parquet(path / "effectiveness.parquet")
    measures = pd.read_parquet(path / "measures.parquet")
    assert len(eff) == len(measures)
    assert eff["verdict"].notna().all()
    assert not eff["verdict"].str.startswith("нет данных").any()


def test_demo_effective_measures_show_improvement(demo):
    path, raw = demo
    weak = pd.read_csv(raw / "_truth" / "weak_spots.csv")
    if "measure_effective" not in weak.columns:
        pytest.skip("демо без поля measure_effective")
    eff = pd.read_parquet(path / "effectiveness.parquet")
    truth = weak.groupby(["school_id", "indicator_hint"])["measure_effective"].first().reset_index()
    m = eff.merge(truth, left_on=["school_id", "indicator"], right_on=["school_id", "indicator_hint"])
    assert len(m)
    for r in m.itertuples():
        if r.measure_effective:
            assert r.verdict in ("достоверное улучшение", "улучшение (без интервала)"), (r.school_id, r.indicator)
        else:
            assert r.verdict != "достоверное улучшение", (r.school_id, r.indicator)
