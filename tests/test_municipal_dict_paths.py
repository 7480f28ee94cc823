"""The municipal report's fast paths (dicts, memos, one merge) give what the pandas paths they replace gave,
on small fixed frames: the old path is written out here as it was."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.report.data import ReportData, _normalise_catalogue


def _data(indicators: pd.DataFrame | None = None, catalogue: pd.DataFrame | None = None, **tables) -> ReportData:
    schools = pd.DataFrame({"school_id": ["s1", "s2", "s3", "t1"], "name": ["Школа Б", "Школа А", "Школа Б", "Т"],
                            "municipality": ["М", "М", "М", "Т"], "is_preschool": [False, False, False, False]})
    cat = _normalise_catalogue(catalogue if catalogue is not None else pd.DataFrame(columns=["code"]))
    ind = indicators if indicators is not None else pd.DataFrame()
    return ReportData(processed_dir=Path("/nonexistent"), schools=schools, task_specs=tables.pop("task_specs", pd.DataFrame()),
                      indicators=ind, catalogue=cat, objectivity=pd.DataFrame(), tables=dict(tables))


# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
def test_smallest_is_nsmallest(k):
    """``_smallest`` picks the rows ``nsmallest`` picks, in its order: ties in table order, the rows without a
    value after the others (the real sample's «Немецкий язык» has no completion at all), ``k`` past the length."""
    from msoko.report.municipality import _smallest

    df = pd.DataFrame({"item": list("abcdefg"), "value": [30.0, np.nan, 10.0, 30.0, 10.0, np.nan, 55.5]},
                      index=[7, 3, 5, 1, 0, 2, 9])
    cols = ["item", "value"]
    want = df.nsmallest(k, "value")[cols].to_dict("records")
    got = _smallest(df, k, "value", cols)
    assert [r["item"] for r in got] == [r["item"] for r in want]
    assert all(g["value"] == w["value"] or (np.isnan(g["value"]) and np.isnan(w["value"])) for g, w in zip(got, want))
    assert [r["item"] for r in _smallest(df, 3, "value", cols)] == ["c", "e", "a"]
    none = df.assign(value=np.nan)
    assert [r["item"] for r in _smallest(none, k, "value", cols)] == \
        [r["item"] for r in none.nsmallest(k, "value").to_dict("records")]


def test_first_records_are_the_first_rows_of_each_filter():
    """``_first_records`` holds, per key, the values of the first row the old per-cell filter found."""
    from msoko.report.municipality import _first_records

    d = pd.DataFrame({"indicator": ["a", "a", "b", "a", "b"],
                      "grade": pd.array([9, 9, 11, 11, 11], dtype="Int8"),
                      "subject": ["Математика", "Математика", "Физика", "Физика", "Физика"],
                      "value": [1.5, 2.5, np.nan, 4.0, 5.0], "n": [10.0, 11.0, 12.0, 13.0, 14.0]})
    first = _first_records(d, ["indicator", "grade", "subject"])
    for code in ("a", "b", "c"):
        for g in (9, 11):
            for s in ("Математика", "Физика"):
                x = d[(d["indicator"] == code) & (d["grade"] == g) & (d["subject"] == s)]
                for col in ("value", "n"):
                    old = x[col].iloc[0] if len(x) and pd.notna(x[col].iloc[0]) else math.nan
                    r = first.get((code, g, s))
                    new = r[col] if r is not None and pd.notna(r[col]) else math.nan
                    assert (old == new) or (math.isnan(old) and math.isnan(new)), (code, g, s, col)
    assert first[("a", 9, "Математика")]["value"] == 1.5 and first[("b", 11, "Физика")]["n"] == 12.0


def test_status_is_the_first_row_of_the_filter():
    from msoko.report.municipality import _status

    st = pd.DataFrame({"year": [2023, 2023, 2023, 2022, 2023], "municipality": ["М", "М", "М", "М", "Т"],
                       "system": [2, 2, 2, 2, 2], "topic": ["system", "shnor", "system", "system", "system"],
                       "assessed": [True, False, False, True, True], "indicators_computed": [3, 0, 1, 2, 4],
                       "indicators_total": [5, 5, 5, 5, 5],
                       "text_ru": pd.array([None, "не оценивалось: нет данных (x)", "второй", None, None], dtype="str")})
    data = _data(system_status=st)
    for year in (2022, 2023, 2021):
        for muni in ("М", "Т", "Н"):
            for topic in ("system", "shnor", "shnsu"):
                x = st[(st["year"] == year) & (st["municipality"].astype(str) == muni) & (st["system"] == 2)
                       & (st["topic"] == topic)]
                old = x.iloc[0].to_dict() if len(x) else None
                new = _status(data, muni, year, 2, topic)
                assert (old is None) == (new is None)
                if old is not None:
                    assert old.keys() == new.keys()
                    assert all(old[k] == new[k] or (pd.isna(old[k]) and pd.isna(new[k])) for k in old)
                    assert str(old["text_ru"]) == str(new["text_ru"]) and int(old["indicators_computed"]) == \
                        int(new["indicators_computed"]) and bool(old["assessed"]) == bool(new["assessed"])
    assert _status(data, "М", 2023, 2, "system")["indicators_computed"] == 3   # the first of two rows


def test_task_spec_index_finds_what_the_filter_found():
    from msoko.report.municipality import _task_spec_index

    spec = pd.DataFrame({"grade": [5, 5, 5, 6], "subject": ["Математика"] * 3 + ["Физика"],
                         "task": ["1", "2", "2", "1"], "task_label": ["1", None, "2б", "1"],
                         "level": ["Б", "П", "В", None], "skill": ["умение 1", "умение 2", "умение 3", "умение 4"]})
    data = _data(task_specs=spec)
    idx = _task_spec_index(data)
    grades = pd.Series([5, 6, 7], dtype="Int8")   # the item rows' grade (Int8), as groupby gives it
    for g in grades.unique():
        for s in ("Математика", "Физика"):
            for item in (1, "1", "2", "3"):
                sk = spec[(spec["grade"] == g) & (spec["subject"] == s) & (spec["task"].astype(str) == str(item))]
                got = idx.get((g, s, str(item)))
                assert (len(sk) == 0) == (got is None)
                if got is not None:
                    assert got == sk.iloc[0].to_dict()


def test_confirmed_gaps_by_system_equal_each_systems_own_merge():
    """Every system's gaps from one merge equal the merge of that system's rows alone (index aside): an
    indicator in two systems and a duplicate (school, indicator) pair included."""
    from msoko.report.municipality import _gaps, _gaps_by_system

    cols = ["system", "school_id", "indicator", "name_ru"]
    a = pd.DataFrame({
        "system": [1, 1, 2, 2, 1, 1, 2, 3],
        "school_id": ["s1", "s1", "s1", "s1", "s2", "s2", "s2", "s3"],
        "indicator": ["x", "x", "x", "y", "z", "z", "z", "w"],
        "name_ru": ["X", "X", "X", "Y", "Z", "Z", "Z", "W"],
        "reason": ["below_municipality", "below_similar", "below_municipality", "below_similar",
                   "below_municipality", "below_similar", "below_similar", "below_municipality"],
        "value": [1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 5.0, 6.0], "reference": [9.0] * 8})
    a = pd.concat([a, a.iloc[[0]]], ignore_index=True)   # a duplicate row of (s1, x, system 1)
    got = _gaps_by_system(a, cols)
    for system in (1, 2, 3):
        old = _gaps(a[a["system"] == system], cols).reset_index(drop=True)
        new = got.get(system, old.iloc[0:0])
        pd.testing.assert_frame_equal(new, old)
    assert set(got) == {1} and list(got[1]["school_id"]) == ["s1", "s2"]


def test_latest_effectiveness_skips_years_without_measures_as_the_loop_did():
    from msoko.report.common import latest_effectiveness
    from msoko.report.indicators import effectiveness_table

    e = pd.DataFrame({"year": [2019, 2019, 2021], "school_id": ["s1", "s2", "s1"], "system": [1, 2, 2],
                      "indicator": ["a", "b", "a"], "name_ru": ["А", "Б", "А"], "measure": ["м1", "м2", "м3"],
                      "value_before": [1.0, 2.0, 3.0], "value_after": [2.0, 2.0, 4.0], "change": [1.0, 0.0, 1.0],
                      "change_ci_low": [0.5, -1.0, np.nan], "change_ci_high": [1.5, 1.0, np.nan],
                      "verdict": ["достоверное улучшение", "не доказано", None]})

    def old(data, year, **where):
        t = effectiveness_table(data, year, **where)
        if not t.empty:
            return t, year
        for y in range(year - 1, year - 6, -1):
            t = effectiveness_table(data, y, **where)
            if not t.empty:
                return t, y
        return pd.DataFrame(), year

    for where in ({}, {"system": 1}, {"system": 2}, {"system": 3}, {"municipality": "М", "system": 1},
                  {"school_id": "s2"}, {"municipality": "Т"}):
        for year in (2020, 2022, 2023, 2026, 2018):
            data = _data(effectiveness=e)
            t_new, y_new = latest_effectiveness(data, year, **where)
            t_old, y_old = old(_data(effectiveness=e), year, **where)
            assert y_new == y_old, (where, year)
            pd.testing.assert_frame_equal(t_new, t_old)
            assert latest_effectiveness(data, year, **where)[0] is t_new   # once per load
    assert latest_effectiveness(_data(effectiveness=e), 2023, system=1)[1] == 2020


def _old_monitoring_table(data, municipality, year, system):
    """monitoring_table as it was (a filter of the whole table, set_index and loc per indicator and grade)."""
    from msoko.report.indicators import catalogue_for
    from msoko.report.municipality import _changed, _monitoring, _num, muni_name
    from msoko.report.fmt import fmt

    cat = catalogue_for(data, system)
    ind = data.indicators
    d = ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality) & ind["indicator"].isin(cat["code"])
            & ind["subject"].isna() & ind["year"].between(year - 2, year)]
    mon = _monitoring(data, municipality, year, system)
    mon = mon.set_index("indicator") if not mon.empty else mon
    rows = []
    for _, c in cat.iterrows():
        x = d[d["indicator"] == c["code"]]
        if x.empty:
            continue
        overall = x[x["grade"].isna()]
        grades = [None] if len(overall) else sorted(int(g) for g in x["grade"].dropna().unique())
        for g in grades:
            y_ = (overall if g is None else x[x["grade"] == g]).set_index("year")
            label = muni_name(c["code"], c["name"]) + (f" — {g} класс" if g is not None and len(grades) > 1 else "")
            row = {"Показатель": label, "Ед.": c["unit"] or "—"}
            for yy in range(year - 2, year + 1):
                if yy in y_.index:
                    r = y_.loc[yy]
                    cell = _num(r["value"], c["unit"])
                    if yy == year and pd.notna(r.get("ci_low")) and pd.notna(r.get("ci_high")):
                        cell += f" [{_num(r['ci_low'], c['unit'])}–{_num(r['ci_high'], c['unit'])}]"
                    row[str(yy)] = cell
                else:
                    row[str(yy)] = "—"
            r = y_.loc[year] if year in y_.index else None
            row[f"n ({year})"] = fmt(int(r["n"])) if r is not None and pd.notna(r.get("n")) else "—"
            verdict = []
            tgt = math.nan
            if g is None and not mon.empty and c["code"] in mon.index:
                mr = mon.loc[c["code"]]
                mr = mr.iloc[0] if isinstance(mr, pd.DataFrame) else mr
                tgt = mr.get("target", math.nan)
                if pd.notna(tgt):
                    st = mr.get("target_status")
                    if not isinstance(st, str):
                        tm = mr.get("target_met")
                        st = "" if tm is None or pd.isna(tm) else "достигнуто" if bool(tm) else "не достигнуто"
                    verdict.append({"достигнуто": "цель достигнута", "не достигнуто": "цель не достигнута",
                                    "не отличается от цели достоверно": "от цели достоверно не отличается"}.get(st, "")
                                   or "цель: нет вердикта")
                mrd = mr.to_dict()
                if _changed(mrd, True):
                    verdict.append("достоверное улучшение")
                elif _changed(mrd, False):
                    verdict.append("достоверное ухудшение")
            row["Цель"] = _num(tgt, c["unit"]) if pd.notna(tgt) else "—"
            row["Оценка"] = "; ".join(verdict) or "—"
            rows.append(row)
    return pd.DataFrame(rows)


def test_monitoring_table_equals_the_frame_path():
    """By indicator (catalogue order), overall or by grade, three years, interval of the report year, target and
    verdict (a duplicate monitoring row: the first counts) — the same table as the frame path."""
    from msoko.report.municipality import monitoring_table

    cat = pd.DataFrame({"code": ["p", "q", "r", "s"], "name_ru": ["Доля П", "Балл Q", "Выпускники R", "Нет S"],
                        "system": [1, 1, 1, 1], "unit": ["%", "балл", "%", "%"], "direction": ["higher"] * 4})
    rows = []
    for y in (2021, 2022, 2023):
        rows += [dict(year=y, level="municipality", school_id="М", indicator="p", grade=None, subject=None,
                      value=40.0 + y % 10, ci_low=38.25 + y % 10, ci_high=42.0 + y % 10, n=120.0),
                 dict(year=y, level="municipality", school_id="М", indicator="q", grade=None, subject=None,
                      value=3.5, ci_low=np.nan, ci_high=np.nan, n=np.nan if y == 2023 else 50.0),
                 dict(year=y, level="municipality", school_id="Т", indicator="p", grade=None, subject=None,
                      value=1.0, ci_low=0.0, ci_high=2.0, n=9.0),
                 dict(year=y, level="school", school_id="s1", indicator="p", grade=None, subject=None,
                      value=2.0, ci_low=1.0, ci_high=3.0, n=9.0),
                 dict(year=y, level="municipality", school_id="М", indicator="p", grade=9, subject="Математика",
                      value=5.0, ci_low=4.0, ci_high=6.0, n=9.0)]
        if y != 2022:
            rows += [dict(year=y, level="municipality", school_id="М", indicator="r", grade=g, subject=None,
                          value=10.0 * g, ci_low=9.0 * g, ci_high=11.0 * g, n=float(g)) for g in (11, 9)]
    ind = pd.DataFrame(rows).astype({"year": "int16", "grade": "Int8", "subject": "str", "level": "str",
                                     "school_id": "str", "indicator": "str"})
    mon = pd.DataFrame({"year": [2023, 2023, 2023, 2023, 2023], "municipality": ["М", "М", "М", "М", "Т"],
                        "system": [1, 1, 1, 1, 1], "indicator": ["p", "p", "q", "r", "p"],
                        "target": [45.0, 99.0, np.nan, 50.0, 1.0],
                        "target_status": ["достигнуто", "не достигнуто", None, None, "достигнуто"],
                        "target_met": [True, False, None, False, True], "direction": ["higher"] * 5,
                        "change": [1.0, 1.0, 0.0, 1.0, 0.0], "change_ci_low": [0.5, -1.0, -2.0, np.nan, 0.0],
                        "change_ci_high": [1.5, 2.0, 2.0, np.nan, 0.0]})
    data = _data(ind, cat, cycle_monitoring=mon)
    for muni in ("М", "Т", "Н"):
        for year in (2023, 2022):
            pd.testing.assert_frame_equal(monitoring_table(data, muni, year, 1), _old_monitoring_table(data, muni, year, 1))
    t = monitoring_table(data, "М", 2023, 1)
    assert list(t["Показатель"]) == ["Доля П", "Балл Q", "Выпускники R — 9 класс", "Выпускники R — 11 класс"]
    assert t.loc[0, "2023"] == "43,0 [41,2–45,0]" and t.loc[0, "Оценка"] == "цель достигнута; достоверное улучшение"
    assert t.loc[1, "n (2023)"] == "—" and t.loc[2, "2022"] == "—"


def _old_textbook_table(data, municipality, year, grade, subject):
    """municipal_textbook_table as it was (filters of the whole table per work, iterrows)."""
    from msoko.report.fmt import fmt
    from msoko.report.textbooks import _ci, _verdict

    t = data.table("textbook_results")
    w = t[(t["level"] == "municipality") & (t["municipality"] == municipality) & (t["year"] == year)
          & (t["grade"] == grade) & (t["subject"] == subject)]
    if w.empty:
        return pd.DataFrame()
    ref = w.iloc[0]
    schools = t[(t["level"] == "school") & (t["municipality"] == municipality) & (t["year"] == year)
                & (t["grade"] == grade) & (t["subject"] == subject)]["school_id"].nunique()
    rows = [{"Учебник": "Вся работа муниципалитета", "Школ": fmt(int(schools)),
             "Обучающихся": fmt(int(ref["ref_pupils"])), "Средний % от максимума": fmt(ref["ref_mean_pct"], 0),
             "Доля «2», %": fmt(ref["ref_fail_share"], 0), "Доля «4»–«5», %": fmt(ref["ref_quality_share"], 0),
             "Против муниципалитета": ""}]
    for _, r in w.sort_values(["compared", "pupils"], ascending=[False, False], kind="stable").iterrows():
        rows.append({"Учебник": str(r["textbook"]), "Школ": fmt(int(r["schools"])),
                     "Обучающихся": fmt(int(r["pupils"])),
                     "Средний % от максимума": _ci(r["mean_pct"], r["mean_low"], r["mean_high"]),
                     "Доля «2», %": _ci(r["fail_share"], r["fail_low"], r["fail_high"]),
                     "Доля «4»–«5», %": _ci(r["quality_share"], r["quality_low"], r["quality_high"]),
                     "Против муниципалитета": _verdict(r)})
    return pd.DataFrame(rows)


def test_municipal_textbook_table_equals_the_frame_path():
    from msoko.report.textbooks import municipal_textbook_table

    base = dict(ref_pupils=200, ref_mean_pct=51.5, ref_fail_share=10.0, ref_quality_share=40.25, mean_low=40.0,
                mean_high=60.0, fail_share=12.0, fail_low=np.nan, fail_high=np.nan, quality_share=45.0,
                quality_low=40.0, quality_high=50.0, vs_municipality="в пределах", note=None)
    rows = []
    for i, (lv, muni, y, g, s, book, comp, pupils) in enumerate([
            ("municipality", "М", 2023, 5, "Математика", "Учебник 1", False, 30),
            ("municipality", "М", 2023, 5, "Математика", "Учебник 2", True, 120),
            ("municipality", "М", 2023, 5, "Математика", "Учебник 3", True, 150),
            ("municipality", "М", 2023, 6, "Математика", "Учебник 1", True, 80),
            ("municipality", "М", 2022, 5, "Математика", "Учебник 1", True, 80),
            ("municipality", "Т", 2023, 5, "Математика", "Учебник 1", True, 80),
            ("school", "М", 2023, 5, "Математика", "Учебник 2", True, 60),
            ("school", "М", 2023, 5, "Математика", "Учебник 3", True, 60),
            ("school", "М", 2023, 6, "Математика", "Учебник 1", True, 80)]):
        rows.append({**base, "level": lv, "municipality": muni, "year": y, "grade": g, "subject": s, "textbook": book,
                     "compared": comp, "pupils": pupils, "schools": 1 + i % 3, "mean_pct": 50.0 + i,
                     "school_id": f"s{1 + i % 2}" if lv == "school" else None,
                     "note": None if comp else "одна школа"})
    t = pd.DataFrame(rows)
    data = _data(textbook_results=t)
    for muni in ("М", "Т"):
        for year in (2022, 2023):
            for g, s in ((5, "Математика"), (6, "Математика"), (7, "Физика")):
                pd.testing.assert_frame_equal(municipal_textbook_table(data, muni, year, g, s),
                                              _old_textbook_table(data, muni, year, g, s))
    got = municipal_textbook_table(data, "М", 2023, 5, "Математика")
    assert list(got["Учебник"]) == ["Вся работа муниципалитета", "Учебник 3", "Учебник 2", "Учебник 1"]
    assert got.loc[0, "Школ"] == "2"


def test_records_are_to_dict_records():
    """``records`` gives the values and types ``to_dict("records")`` gives: None for a missing nullable integer or
    boolean, NaN for a missing float or text, Python scalars."""
    from msoko.report.common import records

    df = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int8"), "b": [1.5, np.nan, 2.0],
                       "c": pd.array(["x", None, "z"], dtype="str"), "d": pd.array([True, None, False], dtype="boolean"),
                       "e": [True, False, True], "f": np.array([1, 2, 3], dtype="int16")})
    want, got = df.to_dict("records"), records(df)
    assert len(got) == len(want) == 3
    for w, g in zip(want, got):
        assert list(w) == list(g)
        for k in w:
            assert type(w[k]) is type(g[k]), k
            assert (w[k] == g[k]) or (pd.isna(w[k]) and pd.isna(g[k])), k
    assert got[1]["a"] is None and got[1]["d"] is None and records(df, ["c", "a"])[2] == {"c": "z", "a": 3}
    assert records(df.iloc[0:0]) == [] and records(df, []) == [{}, {}, {}]


def test_rows_by_key_is_the_old_index():
    """``_rows_by_key`` of each (level, unit), from plain lists, holds the positions the build over the whole table
    held: the first row of each key, its position in the whole table."""
    from msoko.report.municipality import _key, _rows_by_key

    ind = pd.DataFrame({"year": pd.array([2023, 2023, 2022, 2023, 2023], dtype="int16"),
                        "indicator": ["a", "a", "a", "b", "a"], "level": ["school", "school", "school", "municipality", "school"],
                        "school_id": ["s1", "s1", "s1", "М", "s2"], "grade": pd.array([None, None, 9, 9, None], dtype="Int8"),
                        "subject": pd.array([None, None, "Математика", None, None], dtype="str"),
                        "value": [1.0, 2.0, 3.0, 4.0, 5.0]})
    old: dict = {}
    keys = zip(ind["year"].astype(int), ind["indicator"].astype(str), ind["level"].astype(str),
               ind["school_id"].astype(str), ind["grade"].map(_key), ind["subject"].map(_key))
    for i, k in enumerate(keys):
        old.setdefault(k, i)
    data = _data(ind)
    units = {(k[2], k[3]) for k in old} | {("school", "s3")}
    new = {k: i for level, unit in units for k, i in _rows_by_key(data, level, unit).items()}
    assert new == old
    assert _rows_by_key(data, "school", "s3") == {}
    assert old[(2023, "a", "school", "s1", "", "")] == 0 and old[(2022, "a", "school", "s1", "9", "Математика")] == 2


def test_count_rows_in_arrow_is_the_pandas_count(tmp_path):
    """The teachers of the municipality's schools in a year, counted from two Parquet columns in Arrow, equal the
    count over the table read into pandas; an absent table or column gives None (the row is not shown)."""
    from msoko.report.municipality import _count_rows

    t = pd.DataFrame({"year": [2023, 2023, 2022, 2023, 2023, 2023], "school_id": ["s1", "s1", "s1", "s2", None, "t1"],
                      "teacher_code": list("abcdef")})
    t.to_parquet(tmp_path / "teachers.parquet")
    pd.DataFrame({"year": [2023], "teacher_code": ["a"]}).to_parquet(tmp_path / "bad.parquet")
    data = _data()
    data.processed_dir = tmp_path
    for year in (2021, 2022, 2023):
        for ids in (["s1", "s2"], ["s1"], ["t1", "s3"], []):
            old = int(((t["year"] == year) & t["school_id"].astype(str).isin(ids)).sum())
            assert _count_rows(data, "teachers", year, ids) == old, (year, ids)
    assert _count_rows(data, "teachers", 2023, ["s1", "s2"]) == 3
    assert _count_rows(data, "absent", 2023, ["s1"]) is None and _count_rows(data, "bad", 2023, ["s1"]) is None
    data.tables["teachers"] = t   # already read whole: counted there, the same
    assert _count_rows(data, "teachers", 2023, ["s1", "s2"]) == 3
