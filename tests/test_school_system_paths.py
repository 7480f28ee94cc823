"""The school report's fast paths of its system sections and its summary (records and dicts instead of
``iterrows``, one frame instead of a frame per year, positions indexed once per load instead of filters of
whole tables) give what the pandas paths they replace gave, on small fixed frames: the old paths are written
out here as they were. (The ВПР sections' dict paths: tests/test_report_dict_paths.py.)"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.report.data import ReportData, _normalise_catalogue
from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR


def _catalogue() -> pd.DataFrame:
    return _normalise_catalogue(pd.DataFrame({
        "code": ["a_share", "b_mean", "c_flag", "d_count", "e_other"],
        "name_ru": ["Доля А", "Средний Б", "Флаг В", "Число Г", "Другое"],
        "system": [1, 1, 1, 1, 2],
        "kind": ["share", "mean", "flag", "count", "share"],
        "unit": ["%", "балл", "%", "ед.", "%"],
        "direction": ["higher", "lower", "lower", "", "higher"],
        "formula_ru": ["f"] * 5, "source": ["vpr"] * 5,
        "min_n": [5, 5, 0, 0, 5], "computed": [True] * 5, "note_ru": [None] * 5}))


def _indicators() -> pd.DataFrame:
    rows = []

    def add(year, level, unit, code, grade, subject, value, n, **kw):
        r = dict(year=year, level=level, school_id=unit, indicator=code, grade=grade, subject=subject,
                 value=value, ci_low=value - 3 if value == value else np.nan,
                 ci_high=value + 4 if value == value else np.nan, n=n, suppressed=bool(n == n and n < 5),
                 limited=bool(n == n and n < 20), change=np.nan, vs_municipality=None, region_value=np.nan,
                 similar_value=np.nan, similar_ci_low=np.nan, similar_ci_high=np.nan, similar_n=np.nan)
        r.update(kw)
        rows.append(r)

    for y, dv in ((2021, 0.0), (2022, 1.5), (2023, -2.25)):
        # the school s1: an overall row of each indicator (d_count before a_share in table order), breakdowns
        add(y, "school", "s1", "d_count", None, None, 12.0, 1.0, change=1.0 if y > 2021 else np.nan, suppressed=False)
        add(y, "school", "s1", "a_share", None, None, 61.2 + dv, 48.0, change=dv or np.nan, vs_municipality=-1,
            similar_value=55.0, similar_ci_low=50.0, similar_ci_high=60.0, similar_n=300.0, region_value=58.4)
        add(y, "school", "s1", "a_share", 5, "Математика", 40.0 + dv, 24.0, vs_municipality=0)
        add(y, "school", "s1", "a_share", 4, "Русский язык", 70.0, 3.0)            # suppressed breakdown
        add(y, "school", "s1", "a_share", 4, "Математика", 71.0, 30.0, vs_municipality=1)
        add(y, "school", "s1", "b_mean", None, None, 14.5 + dv, 25.0, change=-0.04, vs_municipality=1,
            similar_value=15.0, similar_n=4.0)                                      # similar group too small
        add(y, "school", "s1", "c_flag", None, None, 100.0 if y == 2023 else 0.0, 1.0,
            change=100.0 if y == 2023 else 0.0, suppressed=False)
        add(y, "school", "s1", "e_other", None, None, np.nan, np.nan)
        add(y, "school", "s2", "a_share", None, None, 50.0, 4.0, change=3.0, similar_value=50.5, similar_n=80.0)
        add(y, "school", "s2", "b_mean", None, None, 10.0, 40.0, change=0.0)
        for code, v, n in (("a_share", 63.0, 900.0), ("b_mean", 15.25, 700.0), ("c_flag", 33.3, 3.0),
                           ("d_count", 10.0, 3.0)):
            add(y, "municipality", "М", code, None, None, v, n)
        add(y, "municipality", "М", "a_share", 5, "Математика", 45.0, 200.0)
    if True:   # the school t1 of another municipality: its municipality's rows are absent
        add(2023, "school", "t1", "a_share", None, None, 20.0, 30.0)
    d = pd.DataFrame(rows)
    d["year"] = d["year"].astype("int16")
    d["grade"] = pd.array(d["grade"], dtype="Int8")
    d["vs_municipality"] = pd.array(d["vs_municipality"], dtype="Int8")
    for c in ("level", "school_id", "indicator", "subject"):
        d[c] = d[c].astype("str")
    return d


def _data() -> ReportData:
    schools = pd.DataFrame({"school_id": ["s1", "s2", "t1"], "name": ["Школа А", "Школа Б", "Т"],
                            "municipality": ["М", "М", "Т"], "is_preschool": [False, False, False]})
    return ReportData(processed_dir=Path("/nonexistent"), schools=schools, task_specs=pd.DataFrame(),
                      indicators=_indicators(), catalogue=_catalogue(), objectivity=pd.DataFrame(), tables={})


def _old_system_indicator_table(data, school_id, year, system, *, all_breakdowns=False):
    """system_indicator_table as it was (``iterrows`` over the school's rows, ``.loc`` of the catalogue)."""
    from msoko.report.data import all_loaded_group, suppress_below
    from msoko.report.fmt import agree, fmt, informativeness, subject_phrase
    from msoko.report.indicators import (_compare_word, _groups, _school_overall_rows, _value_cell, catalogue_for,
                                         composite_note, is_institution_fact, school_year_rows)

    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = school_year_rows(data, year, school_id) if all_breakdowns else _school_overall_rows(data, year, school_id)
    d = d[d["indicator"].isin(cat["code"])]
    rows = []
    order = dict(zip(cat["code"], cat["order"]))
    cat_by_code = cat.set_index("code")
    for _, r in d.assign(_o=d["indicator"].map(order)).sort_values(["_o", "grade", "subject"]).iterrows():
        c = cat_by_code.loc[r["indicator"]]
        gd = {x["group"]: x for x in _groups(data, school_id, year, r["indicator"], r["grade"], r["subject"])}
        me = gd.get(GROUP_SCHOOL, {})
        name = c["name"] + (f" — {subject_phrase(r['subject'], r['grade'])}" if pd.notna(r["grade"]) or pd.notna(r["subject"]) else "")
        row = {"Показатель": name}
        row[GROUP_SCHOOL] = _value_cell(me.get("value"), me.get("ci_low"), me.get("ci_high"), c["unit"],
                                        bool(me.get("suppressed", False)), me.get("n"), str(c.get("kind", "")),
                                        min_n=suppress_below(data))
        row["n"] = fmt(int(me["n"])) if pd.notna(me.get("n")) else "—"
        for grp in (GROUP_SIMILAR, GROUP_MUNI, all_loaded_group(data)):
            if grp in gd:
                x = gd[grp]
                row[grp] = _value_cell(x["value"], math.nan, math.nan, c["unit"], bool(x["suppressed"]), x["n"],
                                       min_n=suppress_below(data))
            else:
                row[grp] = "—"
        if pd.notna(r["change"]) and not r["suppressed"] and str(c.get("kind", "")) == "flag":
            row["Изменение за год"] = "без изменений" if abs(float(r["change"])) < 1e-9 else (
                "появился" if float(r["change"]) > 0 else "снят")
        elif pd.notna(r["change"]) and not r["suppressed"]:
            delta = round(float(r["change"]), 1)
            row["Изменение за год"] = agree(("+" if delta >= 0 else "−") + fmt(abs(delta)) +
                (" п. п." if c["unit"] == "%" else (f" {c['unit']}" if c["unit"] and c["unit"] != "ед." else "")))
        else:
            row["Изменение за год"] = "—"
        row["Сравнение с муниципалитетом"] = "" if r["suppressed"] else _compare_word(r["vs_municipality"], c["direction"])
        n = me.get("n")
        row["Информативность"] = "факт об организации" if is_institution_fact(data, r["indicator"]) and not (
            pd.notna(n) and n > 1) else (
            informativeness(n, suppress_below(data)) if pd.notna(n) else "—")
        if r["indicator"] == "principal_composite" and (note := composite_note(data, school_id, year)):
            row["Информативность"] = note
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty and (out[all_loaded_group(data)] == "—").all():
        out = out.drop(columns=[all_loaded_group(data)])
    return out


def _old_indicator_trend(data, school_id, code, year, *, grade=None, subject=None, n_years=3):
    """indicator_trend as it was: a frame per year, concatenated, the region's rows filtered out."""
    from msoko.report.indicators import indicator_groups

    frames = []
    for y in range(year - n_years + 1, year + 1):
        g = indicator_groups(data, school_id, y, code, grade, subject)
        if not g.empty:
            frames.append(g.assign(year=y))
    if not frames:
        return pd.DataFrame(columns=["year", "group", "value", "ci_low", "ci_high", "n"])
    out = pd.concat(frames, ignore_index=True)
    return out[out["group"].isin([GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI])]


@pytest.mark.parametrize("all_breakdowns", [False, True])
def test_system_indicator_table_is_the_iterrows_table(all_breakdowns):
    from msoko.report.indicators import system_indicator_table

    seen = 0
    for school in ("s1", "s2", "t1", "zz"):
        for year in (2021, 2022, 2023, 2020):
            for system in (1, 2, 3):
                data = _data()
                old = _old_system_indicator_table(_data(), school, year, system, all_breakdowns=all_breakdowns) \
                    if school != "zz" else pd.DataFrame()
                new = system_indicator_table(data, school, year, system, all_breakdowns=all_breakdowns) \
                    if school != "zz" else pd.DataFrame()
                pd.testing.assert_frame_equal(new, old)
                assert system_indicator_table(data, school, year, system, all_breakdowns=all_breakdowns) \
                    .equals(new) if school != "zz" else True   # again from the memo of the school's rows
                seen += len(new)
    assert seen > 20
    t = system_indicator_table(_data(), "s1", 2023, 1, all_breakdowns=all_breakdowns)
    # catalogue order; within an indicator by grade, then subject, the missing (the overall row) last
    names = list(t["Показатель"])
    assert names[-2:] == ["Флаг В", "Число Г"]
    if all_breakdowns:
        assert names[:4] == ["Доля А — по математике в 4 классе", "Доля А — по русскому языку в 4 классе",
                             "Доля А — по математике в 5 классе", "Доля А"]
        assert t.loc[1, GROUP_SCHOOL] == "скрыто (n < 5)"
    else:
        assert names[0] == "Доля А"
    row = t[t["Показатель"] == "Доля А"].iloc[0]
    assert row[GROUP_SCHOOL] == "59,0 % [56,0–63,0 %]" and row["Изменение за год"] == "−2,2 п. п."
    assert row["Сравнение с муниципалитетом"] == "ниже (хуже)" and t.iloc[-2]["Изменение за год"] == "появился"


def test_indicator_trend_is_the_concatenated_frames():
    from msoko.report.indicators import indicator_trend

    for school in ("s1", "s2", "t1"):
        for code in ("a_share", "b_mean", "c_flag", "e_other", "zz"):
            for year in (2021, 2022, 2023, 2024, 2019):
                for grade, subject in ((None, None), (5, "Математика"), (4, "Русский язык")):
                    old = _old_indicator_trend(_data(), school, code, year, grade=grade, subject=subject)
                    new = indicator_trend(_data(), school, code, year, grade=grade, subject=subject)
                    pd.testing.assert_frame_equal(new, old)
    t = indicator_trend(_data(), "s1", "a_share", 2023)
    assert list(t["year"]) == [2021] * 3 + [2022] * 3 + [2023] * 3   # the region's rows left out
    assert list(t["group"][:3]) == [GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI] and list(t.index[:4]) == [0, 1, 2, 4]


def test_school_overall_and_first_screen_parts_are_the_filters_they_replace():
    """The summary's school rows by indicator and its first-screen parts, read from positions indexed once per
    load, are the frames the filters of the whole tables gave (item rows and duplicates left out as before)."""
    from msoko.report.school import _first_screen_part, _school_overall

    ind = _indicators()
    ind["item"] = pd.array([None] * len(ind), dtype="str")
    extra = ind[(ind["school_id"] == "s1") & ind["grade"].isna()].head(2).assign(item="задание 1", value=1.0)
    dup = ind[(ind["school_id"] == "s1") & ind["grade"].isna()].head(1).assign(value=-5.0)
    ind = pd.concat([ind, extra, dup], ignore_index=True)
    fs = pd.DataFrame({"year": [2023, 2023, 2023, 2022, 2023, 2023, 2023],
                       "school_id": ["s1", "s1", "s2", "s1", "s1", "s1", "t1"],
                       "part": ["concern", "strength", "concern", "concern", "concern", "action", "concern"],
                       "rank": [2, 1, 1, 1, 1, 1, 1], "text_ru": list("abcdefg")})

    def data():
        d = _data()
        d.indicators = ind
        d.tables["first_screen"] = fs
        return d

    for school in ("s1", "s2", "t1", "zz"):
        for year in (2021, 2022, 2023, 2019):
            x = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school)
                    & ind["grade"].isna() & ind["subject"].isna()]
            old = x[x["item"].isna()].drop_duplicates("indicator").set_index("indicator")
            d = data()
            new = _school_overall(d, school, year)
            pd.testing.assert_frame_equal(new, old)
            assert _school_overall(d, school, year) is new   # once per school
            for part in ("concern", "strength", "action", "strength_note"):
                old = fs[(fs["year"] == year) & (fs["school_id"].astype(str) == school) & (fs["part"] == part)] \
                    .sort_values("rank", kind="stable")
                pd.testing.assert_frame_equal(_first_screen_part(d, school, year, part), old)
    assert list(_first_screen_part(data(), "s1", 2023, "concern")["text_ru"]) == ["e", "a"]
    assert _school_overall(data(), "s1", 2023).loc["d_count", "value"] == 12.0   # the first of a duplicate
    assert len(_school_overall(data(), "s1", 2023)) == 5                          # item rows left out


def test_headline_indicators_are_the_filter_of_the_schools_rows():
    """The headline indicators from the school's set of shown indicators (once per school) are those the filter
    of its overall rows per system gave, in the chapter's order."""
    from msoko.report.indicators import HEADLINE, _school_overall_rows, catalogue_for, headline_indicators

    for school in ("s1", "s2", "t1", "zz"):
        for year in (2021, 2023, 2019):
            data = _data()
            for system in (1, 2, 3):
                for k in (1, 2, 9):
                    d = _school_overall_rows(_data(), year, school)
                    d = d[d["value"].notna() & ~d["suppressed"].fillna(False).astype(bool)]
                    codes = list(catalogue_for(data, system)["code"])
                    first = [c for c in HEADLINE.get(system, []) if c in codes]
                    old = [c for c in first + [c for c in codes if c not in first] if c in set(d["indicator"])][:k]
                    assert headline_indicators(data, school, year, system, k=k) == old
    assert headline_indicators(_data(), "s1", 2023, 1, k=9) == ["a_share", "b_mean", "c_flag", "d_count"]
    assert headline_indicators(_data(), "s2", 2023, 1, k=9) == ["b_mean"]   # a_share suppressed (n = 4)
