"""Reports that load only their municipality (issue 25): the same report whether the kernel read the whole
processed folder or one municipality's slice; the slice holds only that municipality's rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from msoko import report as R
from msoko.report import data as D
from msoko.runner.inprocess import run_cells, shown_html
from msoko.store import SLICE_COLUMN, SLICED_TABLES, read_slice, row_municipality, write_table



# ---------------------------------------------------------------- writing and reading by municipality

def test_each_row_gets_its_municipality():
    schools = pd.DataFrame({"school_id": ["a", "b", "c"], "municipality": ["М1", "М2", "М1"]})
    df = pd.DataFrame({"level": ["school", "school", "municipality", "school", None],
                       "school_id": ["a", "b", "М2", "zz", None]})
    got = row_municipality(df, schools)
    # a school: the registry's; a municipality-level row: its own name; unknown or none: all the loaded data
    assert got.tolist()[:3] == ["М1", "М2", "М2"]
    assert got.isna().tolist() == [False, False, False, True, True]
    # a table without «level» (objectivity) names a municipality in school_id for its municipal rows
    obj = pd.DataFrame({"school_id": ["c", "М1", None]})
    assert row_municipality(obj, schools).tolist()[:2] == ["М1", "М1"]


def test_sliced_table_is_written_by_municipality_and_read_by_filter(tmp_path, monkeypatch):
    monkeypatch.setattr("msoko.store.SLICE_ROW_GROUP", 4)
    n = 30
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"year": 2023, "school_id": [f"s{i % 10}" for i in range(n)],
                       "value": rng.normal(size=n),
                       SLICE_COLUMN: pd.array([None if i % 7 == 0 else f"М{i % 3}" for i in range(n)], dtype="string")})
    write_table(df, tmp_path, "indicators")
    path = tmp_path / "indicators.parquet"
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 8   # 30 rows in groups of 4
    back = pd.read_parquet(path)
    # rows of all the loaded data first, then each municipality's rows together, in their own order
    keys = back[SLICE_COLUMN].fillna("").tolist()
    assert keys == sorted(keys)
    assert back.loc[back[SLICE_COLUMN] == "М1", "value"].tolist() == df.loc[df[SLICE_COLUMN] == "М1", "value"].tolist()
    one = read_slice(path, "М1")
    want = df[(df[SLICE_COLUMN] == "М1") | df[SLICE_COLUMN].isna()]
    assert sorted(one["value"]) == sorted(want["value"])
    # a row group whose statistics exclude the municipality is not read: М1's rows and the shared rows lie in
    # 4 of the 8 groups (5 shared rows: 2 groups; 10 rows of М1 cross 3 groups, one shared with the shared rows)
    import pyarrow.dataset as ds

    frags = list(ds.dataset(path).get_fragments(filter=None))[0].split_by_row_group(
        filter=__import__("msoko.store", fromlist=["slice_filter"]).slice_filter("М1"))
    assert len(frags) < meta.num_row_groups
    # a table not read by municipality is written as it is
    write_table(df, tmp_path, "schools_extra")
    assert pd.read_parquet(tmp_path / "schools_extra.parquet")["value"].tolist() == df["value"].tolist()


def test_row_groups_end_where_a_municipality_ends():
    from msoko.store import slice_row_groups

    keys = [None, None] + ["A"] * 7 + ["B"] + ["C"] * 4
    # at most 5 rows; a group ends at a municipality's end once it has 3
    assert slice_row_groups(keys, least=3, most=5) == [(0, 5), (5, 9), (9, 14)]
    assert slice_row_groups(keys, least=1, most=50) == [(0, 2), (2, 9), (9, 10), (10, 14)]
    assert slice_row_groups([], least=1, most=5) == []


def test_a_slice_reads_only_the_row_groups_of_its_municipality(tmp_path, monkeypatch):
    import pyarrow.dataset as ds

    from msoko.store import slice_filter

    monkeypatch.setattr("msoko.store.SLICE_MIN_ROW_GROUP", 3)
    monkeypatch.setattr("msoko.store.SLICE_ROW_GROUP", 50)
    df = pd.DataFrame({"school_id": [f"s{i}" for i in range(20)], "value": np.arange(20.0),
                       SLICE_COLUMN: pd.array([None] * 2 + ["М1"] * 4 + ["М2"] * 5 + ["М3"] * 9, dtype="string")})
    write_table(df.sample(frac=1, random_state=3), tmp_path, "indicators")
    path = tmp_path / "indicators.parquet"
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [6, 5, 9]
    frags = list(ds.dataset(path).get_fragments())[0].split_by_row_group(filter=slice_filter("М2"))
    # М2's own group and the first (the rows of all the loaded data, and М1's beside them)
    assert sorted(f.row_groups[0].id for f in frags) == [0, 1]
    got = read_slice(path, "М2")
    assert sorted(got["value"]) == [0.0, 1.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert pd.read_parquet(path).dtypes.to_dict() == df.dtypes.to_dict()


def test_cohort_points_are_every_school_with_the_fences():
    from msoko.objectivity import cohort_points

    o = pd.DataFrame({
        "year": [2023] * 6 + [2023],
        "school_id": ["a", "a", "b", "b", "c", "c", None],
        "subject": ["Математика"] * 6 + [None],
        "sign": ["cohort_fall", "cohort_rise"] * 3 + ["objectivity_index"],
        "value": [1.9, 1.9, 1.0, 1.0, 0.4, 0.4, 80.0],
        "threshold": [1.6, 0.5, 1.6, 0.5, 1.6, 0.5, None],
        "flagged": [True, False, False, False, False, True, None],
    })
    got = cohort_points(o)
    assert got["school_id"].tolist() == ["a", "b", "c"]
    assert got["k"].tolist() == [1.9, 1.0, 0.4]
    assert got["flagged"].tolist() == [True, False, True]
    assert got["fence_low"].tolist() == [0.5] * 3 and got["fence_high"].tolist() == [1.6] * 3
    from msoko.outputs import validate
    validate("objectivity_cohort", got)


# ---------------------------------------------------------------- the same report either way

def render(name: str, params: dict) -> tuple[list[str], dict]:
    """Run a report notebook's cells in this process with ``params``: the HTML of each cell's value."""
    ns: dict = {}
    return [shown_html(v) for _, v in run_cells(name, params, ns=ns)], ns


def both_ways(monkeypatch, name: str, params: dict) -> tuple[list[str], list[str], R.ReportData, R.ReportData]:
    """The report rendered from the whole folder and from the municipality's slice."""
    D._LOAD_CACHE.clear()
    with monkeypatch.context() as m:
        m.setattr(D, "_slice_of", lambda *a: None)   # the way every kernel loaded before issue 25
        whole, ns_whole = render(name, params)
    D._LOAD_CACHE.clear()
    part, ns_part = render(name, params)
    D._LOAD_CACHE.clear()
    return whole, part, ns_whole["data"], ns_part["data"]


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    """A small demo region: 9 schools in 3 municipalities, two years (the cohort sign needs both)."""
    from msoko.compute import compute
    from msoko.demo import generate
    from msoko.ingest import ingest

    raw = tmp_path_factory.mktemp("region_raw")
    generate(out_dir=raw, seed=7, n_schools=9, years=(2022, 2023), n_municipalities=3)
    processed = tmp_path_factory.mktemp("region_processed")
    ingest(raw_dir=raw, processed_dir=processed, jobs=1)
    compute(processed_dir=processed, config_path=None, verbose=False)
    return processed


def _schools(processed: Path) -> pd.DataFrame:
    s = pd.read_parquet(processed / "schools.parquet")
    return s[~s["is_preschool"].fillna(False).astype(bool)].assign(school_id=lambda d: d["school_id"].astype(str))


def _signs_per_school(processed: Path) -> pd.Series:
    o = pd.read_parquet(processed / "objectivity.parquet")
    f = o[o["flagged"].fillna(False).astype(bool) & o["official"].astype(bool) & o["school_id"].notna()]
    return f.groupby(f["school_id"].astype(str)).size()


@pytest.mark.slow
def test_slice_holds_its_municipality_only(region):
    s = _schools(region)
    munis = sorted(s["municipality"].unique())
    assert len(munis) == 3
    whole = D.load(region, cache=False)
    registry = whole.schools   # schools and kindergartens
    for m in munis:
        part = D.load(region, municipality=m, cache=False)
        mine = set(registry.loc[registry["municipality"] == m, "school_id"]) | {m}
        assert set(part.indicators["school_id"]) <= mine
        assert 0 < len(part.indicators) < len(whole.indicators) / 2
        o = part.objectivity
        assert set(o["school_id"].dropna()) <= mine and o["school_id"].isna().sum() == whole.objectivity["school_id"].isna().sum()
        for name in SLICED_TABLES:
            t = part.table(name)
            if len(t):
                assert set(t[SLICE_COLUMN].dropna()) == {m}, name
        assert set(part.vpr_year(2023)["school_id"]) <= mine
        assert part.years() == whole.years() and part.schools.equals(whole.schools)
        # the region reference the cohort chart draws is whole in every slice
        from msoko.report.signs import cohort_k_data
        for subject in ("Математика", "Русский язык"):
            k = cohort_k_data(part, 2023, subject)
            assert len(k) and k.equals(cohort_k_data(whole, 2023, subject))
            assert not set(k["school_id"]) <= mine


@pytest.mark.slow
def test_school_and_municipal_reports_are_the_same_from_the_slice(region, monkeypatch):
    s = _schools(region)
    signs = _signs_per_school(region)
    checked = 0
    for m, g in s.groupby("municipality"):
        ids = sorted(g["school_id"])
        # in each municipality: the school with the most official signs (their pictures and the cohort
        # chart draw what lies beyond the municipality) and the first school
        worst = max(ids, key=lambda i: (int(signs.get(i, 0)), i))
        for sid in dict.fromkeys([worst, ids[0]]):
            whole, part, dw, dp = both_ways(monkeypatch, "school", {"processed_dir": str(region), "school_id": sid})
            assert dw.municipality is None and dp.municipality == m
            assert len(whole) == len(part) > 10
            for i, (a, b) in enumerate(zip(whole, part)):
                assert a == b, f"{sid}: cell {i} differs"
            checked += 1
    assert checked >= 3 and max(signs.get(i, 0) for i in s["school_id"]) > 0
    m = sorted(s["municipality"].unique())[1]
    whole, part, dw, dp = both_ways(monkeypatch, "municipality", {"processed_dir": str(region), "municipality": m})
    assert dp.municipality == m and len(whole) == len(part) > 5
    for i, (a, b) in enumerate(zip(whole, part)):
        assert a == b, f"municipal report: cell {i} differs"


def test_school_report_is_the_same_from_the_slice_on_the_demo(demo_processed, monkeypatch):
    """The test demo of tests/conftest.py: one municipality, its slice is everything but the loading path differs."""
    s = _schools(demo_processed)
    sid = sorted(s["school_id"])[0]
    whole, part, dw, dp = both_ways(monkeypatch, "school", {"processed_dir": str(demo_processed), "school_id": sid})
    assert dw.municipality is None and dp.municipality == s.set_index("school_id").loc[sid, "municipality"]
    assert whole == part


@pytest.mark.slow
def test_load_refuses_a_school_of_another_municipality(region):
    s = _schools(region)
    a, b = sorted(s["municipality"].unique())[:2]
    sid = sorted(s.loc[s["municipality"] == a, "school_id"])[0]
    with pytest.raises(Exception, match="другого муниципалитета|не из муниципалитета"):
        D.load(region, municipality=b, school_id=sid, cache=False)
