"""The school report's small sections (title, summary, context, textbooks, ГИА, recommendations) read a school's rows
from positions indexed once per load and build their tables from records: on small fixed frames they give what the
frame paths they replace gave — the old paths are written out here as they were — with the values worked out by
hand. (The system sections and the first screen's parts: tests/test_school_system_paths.py.)"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.report.data import ReportData, _normalise_catalogue
from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL


def _schools() -> pd.DataFrame:
    return pd.DataFrame({"school_id": ["s1", "s2", "s3", "t1", "d1"],
                         "name": ["Школа Б", "Школа А", "Школа В", "Т", "Детсад"],
                         "municipality": ["М", "М", "М", "Т", None],
                         "org_type": ["СОШ", "СОШ", "ООШ", "СОШ", None],
                         "settlement_type": ["город", "город", "город", None, "село"],
                         "is_preschool": [False, False, False, False, True]})


def _data(indicators=None, **tables) -> ReportData:
    return ReportData(processed_dir=Path("/nonexistent"), schools=_schools(), task_specs=pd.DataFrame(),
                      indicators=pd.DataFrame() if indicators is None else indicators,
                      catalogue=_normalise_catalogue(pd.DataFrame(columns=["code"])),
                      objectivity=tables.pop("objectivity", pd.DataFrame()), tables=dict(tables))


# --- a school's rows of a small table ---------------------------------------------------------------------------

def test_year_school_rows_is_the_mask_it_replaces():
    """Rows of one (year, school) in table order with their labels and dtypes: a missing year or login never
    matches, a login compared as text; once per load (the same frame again)."""
    from msoko.report.data import year_school_rows

    t = pd.DataFrame({"year": [2023, 2023, 2022, np.nan, 2023, 2023],
                      "school_id": pd.array(["s1", "s2", "s1", "s1", None, "s1"], dtype="string"),
                      "v": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}, index=[10, 11, 12, 13, 14, 15])
    data = _data(priorities=t)
    for year in (2023, 2022, 2021):
        for sid in ("s1", "s2", "nan", "<NA>", "zz"):
            old = t[(t["year"] == year) & (t["school_id"].astype(str) == sid)]
            new = year_school_rows(data, "priorities", year, sid)
            pd.testing.assert_frame_equal(new, old, check_index_type=True)
            assert year_school_rows(data, "priorities", year, sid) is new
    assert year_school_rows(data, "priorities", 2023, "s1")["v"].tolist() == [1.0, 6.0]
    assert list(year_school_rows(data, "priorities", 2023, "s1").index) == [10, 15]


# --- textbooks --------------------------------------------------------------------------------------------------

def _textbooks() -> pd.DataFrame:
    rows = [  # level, municipality, school, grade, subject, textbook, schools, pupils, mean, low, high, ref, compared, vs, note
        ("municipality", "М", None, 4, "Математика", "Моро", 3, 120, 61.0, 58.5, 63.5, 60.0, True, "не отличается", None),
        ("municipality", "М", None, 4, "Математика", "Петерсон", 1, 20, 55.0, 50.0, 60.0, 60.0, False, None,
         "учебник одной школы"),
        ("municipality", "М", None, 5, "Русский язык", "Ладыженская", 2, 90, 48.4, 45.0, 51.6, 50.0, True, "ниже", None),
        ("school", "М", "s1", 4, "Математика", "Петерсон", 1, 20, 55.0, 50.0, 60.0, 60.0, False, None, None),
        ("school", "М", "s1", 4, "Математика", "Моро", 1, 40, 64.6, 60.2, 69.0, 60.0, False, None, None),
        ("school", "М", "s1", 5, "Русский язык", "Ладыженская", 1, 3, np.nan, np.nan, np.nan, 50.0, False, None, None),
        ("school", "М", "s1", 5, "Русский язык", "Новый", 1, 30, 52.0, np.nan, np.nan, 50.0, False, None, None),
        ("school", "М", "s2", 4, "Математика", "Моро", 1, 80, 59.2, 57.0, 61.4, 60.0, False, None, None),
    ]
    t = pd.DataFrame(rows, columns=["level", "municipality", "school_id", "grade", "subject", "textbook", "schools",
                                    "pupils", "mean_pct", "mean_low", "mean_high", "ref_mean_pct", "compared",
                                    "vs_municipality", "note"])
    t.insert(0, "year", 2023)
    t = pd.concat([t, t.assign(year=2022, pupils=t["pupils"] + 1)], ignore_index=True)
    for c in ("level", "municipality", "school_id", "subject", "textbook", "vs_municipality", "note"):
        t[c] = t[c].astype("str")
    return t


def _old_school_textbook_table(data, school_id, year):
    """school_textbook_table as it was: masks of the whole table, a frame indexed per school, iterrows."""
    from msoko.report.data import school_row, suppress_below
    from msoko.report.fmt import fmt
    from msoko.report.textbooks import _ci, _verdict

    t = data.table("textbook_results")
    muni = str(school_row(data, school_id)["municipality"])
    s = t[(t["level"] == "school") & (t["school_id"].astype(str) == school_id) & (t["year"] == year)]
    if s.empty:
        return pd.DataFrame()
    m = t[(t["level"] == "municipality") & (t["municipality"] == muni) & (t["year"] == year)] \
        .set_index(["grade", "subject", "textbook"])
    rows = []
    for _, r in s.sort_values(["grade", "subject", "pupils"], ascending=[True, True, False], kind="stable").iterrows():
        k = (r["grade"], r["subject"], r["textbook"])
        x = m.loc[k] if k in m.index else None
        school = (f"скрыто (меньше {suppress_below(data)})" if pd.isna(r["mean_pct"]) else
                  _ci(r["mean_pct"], r["mean_low"], r["mean_high"]))
        rows.append({"Работа": f"{int(r['grade'])} кл., {r['subject']}", "Учебник": str(r["textbook"]),
                     "Обучающихся школы": fmt(int(r["pupils"])), "Школа: средний % от максимума": school,
                     "Муниципалитет по этому учебнику: школ": fmt(int(x["schools"])) if x is not None else "—",
                     "Муниципалитет по этому учебнику: средний %": (_ci(x["mean_pct"], x["mean_low"], x["mean_high"])
                                                                  if x is not None else "—"),
                     "Учебник против муниципалитета": _verdict(x) if x is not None else "—",
                     "Вся работа муниципалитета: средний %": fmt(r["ref_mean_pct"], 0)})
    return pd.DataFrame(rows)


def test_school_textbook_table_is_the_frame_path_and_its_html_the_frames():
    from msoko.report.fmt import _html_body
    from msoko.report.textbooks import school_textbook_table, show_school_textbooks

    data = _data(textbook_results=_textbooks())
    for sid in ("s1", "s2", "s3"):
        for year in (2023, 2022, 2021):
            old = _old_school_textbook_table(data, sid, year)
            pd.testing.assert_frame_equal(school_textbook_table(data, sid, year), old)
            sec = show_school_textbooks(data, sid, year)
            if not old.empty:   # the page's table is the old frame's
                assert _html_body(old, "msoko-table") in sec._repr_html_()
                pd.testing.assert_frame_equal(sec.tables[f"Учебники (УМК) школы и результаты ВПР {year}"], old)
    t = school_textbook_table(data, "s1", 2023)
    # by work, then more pupils first; a textbook the municipality's rows lack is «—»
    assert t["Учебник"].tolist() == ["Моро", "Петерсон", "Новый", "Ладыженская"]
    assert t.iloc[0].tolist() == ["4 кл., Математика", "Моро", "40", "65 [60–69]", "3", "61 [58–64]",
                                  "не отличается", "60"]
    assert t.iloc[1]["Учебник против муниципалитета"] == "не сравнивается — учебник одной школы"
    assert t.iloc[2]["Муниципалитет по этому учебнику: школ"] == "—" and t.iloc[2]["Школа: средний % от максимума"] == "52"
    assert t.iloc[3]["Школа: средний % от максимума"] == "скрыто (меньше 5)"
    assert t.iloc[3]["Учебник против муниципалитета"] == "ниже"
    assert "пар «работа — учебник» — 4" in show_school_textbooks(data, "s1", 2023)._repr_html_()
    assert school_textbook_table(data, "s3", 2023).empty


# --- ГИА ----------------------------------------------------------------------------------------------------------

def _gia_indicators() -> pd.DataFrame:
    rows = []

    def add(level, unit, code, grade, subject, value, n, lo=np.nan, hi=np.nan, suppressed=False, year=2023):
        rows.append(dict(year=year, level=level, school_id=unit, indicator=code, grade=grade, subject=subject,
                         value=value, ci_low=lo, ci_high=hi, n=n, suppressed=suppressed, limited=n < 20,
                         similar_value=np.nan, similar_ci_low=np.nan, similar_ci_high=np.nan, similar_n=np.nan,
                         region_value=np.nan))

    # the school s1: ЕГЭ before ОГЭ and a subject out of order in the table, a small group, a grade of no exam
    add("school", "s1", "gia_below_min", 11, "Русский язык", 4.0, 25.0, 1.1, 19.5)
    add("school", "s1", "ege_mean_score", 11, "Русский язык", 71.25, 25.0)
    add("school", "s1", "gia_below_min", 9, "Математика", 12.5, 40.0, 5.5, 26.1)
    add("school", "s1", "oge_mean_mark", 9, "Математика", 3.6, 40.0)
    add("school", "s1", "gia_below_min", 9, "Биология", 0.0, 3.0, suppressed=True)
    add("school", "s1", "gia_below_min", 9, "Информатика", 10.0, 10.0)          # no mean computed
    add("school", "s1", "gia_below_min", 10, "Математика", 1.0, 30.0)           # not an exam grade
    add("school", "s1", "gia_below_min", 9, None, 8.0, 70.0)                     # no subject
    add("school", "s1", "gia_below_min", 9, "Математика", 30.0, 35.0, year=2022)
    add("municipality", "М", "gia_below_min", 9, "Математика", 9.0, 400.0, 6.4, 12.3)
    add("municipality", "М", "oge_mean_mark", 9, "Математика", 3.75, 400.0)
    add("municipality", "М", "gia_below_min", 11, "Русский язык", 2.0, 300.0)
    add("school", "s2", "gia_below_min", 9, "Математика", 5.0, 60.0)
    d = pd.DataFrame(rows)
    d["year"] = d["year"].astype("int16")
    d["grade"] = pd.array(d["grade"], dtype="Int8")
    for c in ("level", "school_id", "indicator", "subject"):
        d[c] = d[c].astype("str")
    return d


def _old_gia_table(data, school_id, year):
    """gia_table as it was: a filter and a sort of the school's rows, itertuples, a frame with «—» filled."""
    from msoko.report.data import suppress_below
    from msoko.report.fmt import fmt
    from msoko.report.indicators import _groups, school_year_rows
    from msoko.report.vpr import GIA_EXAMS

    rows = school_year_rows(data, year, school_id)
    rows = rows[(rows["indicator"] == "gia_below_min") & rows["grade"].isin(list(GIA_EXAMS)) & rows["subject"].notna()]
    out = []
    for r in rows.sort_values(["grade", "subject"]).itertuples():
        exam, mean_code = GIA_EXAMS[int(r.grade)]
        row = {"Экзамен": exam, "Предмет": r.subject}
        below = {x["group"]: x for x in _groups(data, school_id, year, "gia_below_min", r.grade, r.subject)}
        mean = {x["group"]: x for x in _groups(data, school_id, year, mean_code, r.grade, r.subject)}
        for grp in (GROUP_SCHOOL, GROUP_MUNI):
            if grp not in below:
                continue
            b = below[grp]
            row[f"{grp}: участников"] = fmt(int(b["n"])) if pd.notna(b["n"]) else "—"
            if b["suppressed"]:
                row[f"{grp}: средний результат"] = f"скрыто (n < {suppress_below(data)})"
                row[f"{grp}: ниже минимума"] = "—"
                continue
            m = mean[grp]["value"] if grp in mean else float("nan")
            row[f"{grp}: средний результат"] = fmt(m) if pd.notna(m) else "—"
            row[f"{grp}: ниже минимума"] = (f"{fmt(b['value'], 0)} % [{fmt(b['ci_low'], 0)}–{fmt(b['ci_high'], 0)}]"
                                           if pd.notna(b["ci_low"]) else f"{fmt(b['value'], 0)} %")
        out.append(row)
    return pd.DataFrame(out).fillna("—")


def test_gia_table_is_the_frame_path_and_the_section_writes_its_rows():
    from msoko.report.fmt import html_table
    from msoko.report.school import show_gia
    from msoko.report.vpr import gia_table

    data = _data(_gia_indicators())
    for sid in ("s1", "s2", "s3"):
        for year in (2023, 2022, 2021):
            old = _old_gia_table(data, sid, year)
            pd.testing.assert_frame_equal(gia_table(data, sid, year), old)
            sec = show_gia(data, sid, year)
            cap = f"ГИА {year}: школа и муниципалитет"
            assert html_table(old, caption=cap).split("<p class=\"msoko-note\">")[0] in sec._repr_html_()
            pd.testing.assert_frame_equal(sec.tables[cap], old)
    t = gia_table(data, "s1", 2023)
    assert list(zip(t["Экзамен"], t["Предмет"])) == [("ОГЭ", "Биология"), ("ОГЭ", "Информатика"),
                                                     ("ОГЭ", "Математика"), ("ЕГЭ", "Русский язык")]
    school, muni = f"{GROUP_SCHOOL}: ", f"{GROUP_MUNI}: "
    m = t.iloc[2]
    assert (m[school + "участников"], m[school + "средний результат"], m[school + "ниже минимума"]) == \
        ("40", "3,6", "12 % [6–26]")
    assert (m[muni + "участников"], m[muni + "средний результат"], m[muni + "ниже минимума"]) == \
        ("400", "3,8", "9 % [6–12]")
    assert t.iloc[0][school + "средний результат"] == "скрыто (n < 5)" and t.iloc[0][muni + "участников"] == "—"
    assert t.iloc[1][school + "средний результат"] == "—" and t.iloc[1][school + "ниже минимума"] == "10 %"
    assert t.iloc[3][muni + "ниже минимума"] == "2 %" and t.iloc[3][muni + "средний результат"] == "—"
    assert gia_table(data, "s3", 2023).empty


# --- context ----------------------------------------------------------------------------------------------------

def test_school_vpr_counts_and_similar_schools_are_the_filters_they_replace():
    """The school's works with their first n (one groupby of every school's per load; a school whose rows have no
    grade goes the old way) and its similar schools (the registry's groups once per load)."""
    from msoko.report.data import similar_schools
    from msoko.report.indicators import school_vpr_counts
    from msoko.vocabulary import similar_group

    rows = [  # year, level, unit, grade, subject, score, n
        (2023, "school", "s1", 5, "Математика", 3, np.nan), (2023, "school", "s1", 5, "Математика", 4, 21.0),
        (2023, "school", "s1", 4, "Русский язык", 1, 18.0), (2023, "school", "s1", 4, "Математика", 2, 30.0),
        (2023, "municipality", "М", 4, "Математика", 2, 300.0), (2022, "school", "s1", 4, "Математика", 1, 29.0),
        (2023, "school", "s2", None, "Математика", 1, 7.0), (2023, "school", "s3", 6, "История", 0, 12.0),
    ]
    c = pd.DataFrame(rows, columns=["year", "level", "school_id", "grade", "subject", "score", "n"])
    c = c.astype({"year": "int16", "grade": "Int8", "level": "str", "school_id": "str", "subject": "str"})
    data = _data(vpr_score_counts=c)
    for sid in ("s1", "s2", "s3", "zz"):
        for year in (2023, 2022, 2021):
            d = c[(c["year"] == year) & (c["level"] == "school") & (c["school_id"] == sid)]
            old = pd.DataFrame() if d.empty else (d.groupby(["grade", "subject"])["n"].first().astype("int64")
                                                  .reset_index().sort_values(["grade", "subject"]).reset_index(drop=True))
            pd.testing.assert_frame_equal(school_vpr_counts(data, sid, year), old, check_index_type=True)
    t = school_vpr_counts(data, "s1", 2023)
    assert t.values.tolist() == [[4, "Математика", 30], [4, "Русский язык", 18], [5, "Математика", 21]]
    assert school_vpr_counts(data, "s2", 2023).empty and list(school_vpr_counts(data, "s2", 2023).columns) == \
        ["grade", "subject", "n"]

    s = data.schools.set_index("school_id")
    g = similar_group(s)
    for sid in ("s1", "s2", "s3", "t1", "d1"):
        key = similar_group(s.loc[[sid]]).iloc[0]
        old = [] if key is None or (not isinstance(key, str) and pd.isna(key)) else \
            [i for i in sorted(g[g == key].index) if i != sid]
        assert similar_schools(data, sid) == old
    assert similar_schools(data, "s1") == ["s2"] and similar_schools(data, "t1") == []
    with pytest.raises(KeyError):
        similar_schools(data, "zz")


def test_slice_of_finds_a_schools_municipality_as_the_registry_mask_did(tmp_path):
    """load()'s slice: the municipality of the school's first row that has one; the registry read once while its
    file is unchanged, read again when it changes."""
    from msoko.errors import MsokoError
    from msoko.report import data as D

    s = pd.DataFrame({"school_id": ["a", "b", "b", "c"], "name": list("ABBC"),
                      "municipality": ["М", None, "Н", None]})
    assert [D._slice_of(s, None, x) for x in ("a", "b", "c", "zz", None)] == ["М", "Н", None, None, None]
    assert D._slice_of(s, "Н", "b") == "Н" and D._slice_of(s, "М", "c") == "М"
    with pytest.raises(MsokoError, match="из муниципалитета «М», а не из муниципалитета «Н»"):
        D._slice_of(s, "Н", "a")
    s.to_parquet(tmp_path / "schools.parquet")
    first = D._cached_schools(tmp_path)
    assert D._cached_schools(tmp_path) is first and D._slice_of(first, None, "b") == "Н"
    s.assign(municipality=["К", "К", None, None]).to_parquet(tmp_path / "schools.parquet")
    import os
    os.utime(tmp_path / "schools.parquet", ns=(1, 1))   # a new stamp even within the clock's resolution
    again = D._cached_schools(tmp_path)
    assert again is not first and D._slice_of(again, None, "b") == "К"


# --- the first screen's rows --------------------------------------------------------------------------------------

def test_school_overall_records_are_the_frames_rows():
    """The first screen's records by indicator give the values ``.loc[code]`` of the school's overall frame gives
    (item and breakdown rows left out, the first of a duplicate)."""
    from msoko.report.school import _OVERALL_COLUMNS, _school_overall, _school_overall_records

    ind = _gia_indicators()
    ind["item"] = pd.array([None] * len(ind), dtype="str")
    ind["municipality_value"] = np.arange(len(ind), dtype=float)
    ind["vs_municipality"] = pd.array([1, None, -1] * (len(ind) // 3) + [None] * (len(ind) % 3), dtype="Int8")
    extra = pd.DataFrame([ind.iloc[0].to_dict() | dict(grade=None, subject=None, value=50.0),
                          ind.iloc[0].to_dict() | dict(grade=None, subject=None, value=99.0),
                          ind.iloc[1].to_dict() | dict(grade=None, subject=None, item="задание 1")])
    ind = pd.concat([ind, extra.astype(ind.dtypes.to_dict())], ignore_index=True)
    data = _data(ind)
    for sid, year in (("s1", 2023), ("s1", 2022), ("s2", 2023), ("zz", 2023)):
        frame = _school_overall(data, sid, year)
        rec = _school_overall_records(data, sid, year)
        assert list(rec) == list(frame.index)
        for code, r in rec.items():
            row = frame.loc[code]
            for c in _OVERALL_COLUMNS:
                if c in frame:
                    a, b = r[c], row[c]
                    assert (pd.isna(a) and pd.isna(b)) or a == b, (code, c, a, b)
    rec = _school_overall_records(data, "s1", 2023)
    assert list(rec) == ["gia_below_min"] and rec["gia_below_min"]["value"] == 50.0


# --- recommendations --------------------------------------------------------------------------------------------

def _old_recommendations_table(data, year, school_id, system=None):
    """recommendations_table(data, year, school_id=…) as it was: the year's rows, the school's, sorted by name,
    login and rank, grouped by school, iterrows."""
    r = data.table("recommendations")
    r = r[r["year"] == year].assign(school_id=lambda x: x["school_id"].astype(str))
    r = r[r["school_id"] == school_id]
    if system is not None:
        r = r[r["system"] == system]
    if r.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    r = r.assign(_name=r["school_id"].map(names).fillna(r["school_id"]).astype(str))
    r = r.sort_values(["_name", "school_id", "rank"], kind="stable")
    rows = []
    for sid, x in r.groupby("school_id", sort=False):
        for _, y in x.iterrows():
            row = {}
            if system is None:
                row["Система"] = str(int(y["system"])) if pd.notna(y["system"]) else "—"
            row["Рекомендация"] = y["text_ru"] if pd.notna(y["text_ru"]) else "—"
            row["Адресат"] = y["addressee"] if pd.notna(y["addressee"]) else "—"
            rows.append(row)
    return pd.DataFrame(rows)


def test_school_recommendations_are_the_frame_path():
    from msoko.report.fmt import plain
    from msoko.report.indicators import recommendations_table
    from msoko.report.school import show_school_recommendations

    rec = pd.DataFrame({
        "year": [2023, 2023, 2023, 2023, 2022, 2023],
        "system": [2, 1, 1, 3, 1, 1],
        "school_id": pd.array(["s1", "s1", "s1", "s1", "s1", "s2"], dtype="string"),
        "text_ru": pd.array(["Второе: доля -5 п.п.", "Первое", None, "Четвёртое (msoko)", "Старое", "Чужое"],
                            dtype="string"),
        "addressee": pd.array(["руководитель школы", None, "учитель", "завуч", "учитель", "учитель"], dtype="string"),
        "rank": [2, 1, 2, 4, 1, 1]})
    data = _data(recommendations=rec)
    for sid in ("s1", "s2", "s3"):
        for year in (2023, 2022, 2021):
            for system in (None, 1):
                old = _old_recommendations_table(data, year, sid, system)
                pd.testing.assert_frame_equal(recommendations_table(data, year, school_id=sid, system=system), old)
    t = recommendations_table(data, 2023, school_id="s1")
    assert t.values.tolist() == [["1", "Первое", "—"], ["2", "Второе: доля -5 п.п.", "руководитель школы"],
                                 ["1", "—", "учитель"], ["3", "Четвёртое (msoko)", "завуч"]]
    cap = "Адресные рекомендации по итогам 2023 года"
    sec = show_school_recommendations(data, "s1", 2023)
    want = t.assign(**{c: t[c].map(lambda v: plain(v) if isinstance(v, str) else v) for c in t.columns})
    pd.testing.assert_frame_equal(sec.tables[cap], want)
    assert want["Рекомендация"].tolist()[1] == "Второе: доля \u22125\u00a0п.\u00a0п." and \
        want["Рекомендация"].tolist()[3] == "Четвёртое"
    from msoko.report.fmt import html_table
    assert html_table(want, caption=cap) in sec._repr_html_()
    assert "нет данных" in show_school_recommendations(data, "s3", 2023)._repr_html_()


def test_first_screen_records_are_the_parts_records():
    """The first screen reads each part's records from column arrays: the values ``to_dict("records")`` of the
    part's frame gives (rank order, ties in table order, a missing text left as it is)."""
    from msoko.report.school import _first_screen_part, _first_screen_records, summary_concerns

    fs = pd.DataFrame({"year": [2023, 2023, 2023, 2022, 2023, 2023, 2023, 2023],
                       "school_id": ["s1", "s1", "s2", "s1", "s1", "s1", "t1", "s1"],
                       "part": ["concern", "strength", "concern", "concern", "concern", "action", "concern", "concern"],
                       "rank": [2, 1, 1, 1, 1, 1, 1, 2],
                       "text_ru": pd.array(["e", "a", "c", "d", None, "f", "g", "h"], dtype="str"),
                       "side": [1, -1, 0, 1, 1, 0, 0, -1]})
    data = _data(first_screen=fs)
    for sid in ("s1", "s2", "zz"):
        for year in (2023, 2022):
            for part in ("concern", "strength", "action", "standing"):
                want = _first_screen_part(data, sid, year, part)[["text_ru", "side"]].to_dict("records")
                got = _first_screen_records(data, sid, year, part, ("text_ru", "side"))
                assert len(got) == len(want)
                for a, b in zip(got, want):
                    assert a["side"] == b["side"] and (a["text_ru"] == b["text_ru"] or
                                                       (pd.isna(a["text_ru"]) and pd.isna(b["text_ru"])))
    assert [r["text_ru"] for r in _first_screen_records(data, "s1", 2023, "concern", ("text_ru",))][1:] == ["e", "h"]
    assert summary_concerns(data, "s1", 2023) == ["e", "h"]          # the missing text left out, rank order kept
    assert _first_screen_records(_data(), "s1", 2023, "concern", ("text_ru",)) is None   # no table: the old way


def test_summary_workbook_tables_are_text_rows_or_their_frame():
    from msoko.report.school import _text_table
    from msoko.report.section import TextTable, table_json

    recs = [{"Система": "Оценка", "Показатель": "Доля", "Школа": "61 %"}, {"Система": None, "Показатель": "Б",
                                                                          "Школа": "—"}]
    t = _text_table(recs)
    assert isinstance(t, TextTable) and t.rows == [["Оценка", "Доля", "61 %"], [None, "Б", "—"]]
    assert table_json("x", t) == table_json("x", pd.DataFrame(recs))
    pd.testing.assert_frame_equal(t.build(), pd.DataFrame(recs))
    assert isinstance(_text_table([{"a": 1.5}]), pd.DataFrame)


def test_a_schools_flagged_signs_are_its_rows_of_every_schools_sorted_frame():
    """One school's flagged signs, cut from all the schools' frame sorted once, are the frame its own filter, names
    and sort gave (ties of a sign in table order), for each filter of official and combined signs."""
    from msoko.report.fmt import INDEX_SIGN
    from msoko.report.signs import flagged_signs
    from msoko.vocabulary import OFFICIAL_SIGNS

    rows = [  # school, grade, subject, sign, flagged, value
        ("s1", 5, "Математика", "bunching", True, 1.0), ("s1", 4, "Математика", "inflated_mean", True, 2.0),
        ("s2", 4, "Математика", "inflated_mean", True, 3.0), ("s1", 4, "Математика", "combined", True, 4.0),
        ("s1", 4, "Математика", "inflated_mean", True, 5.0), ("s1", 4, "Русский язык", "bunching", False, 6.0),
        ("s3", None, None, "combined", True, 7.0), ("s1", None, None, INDEX_SIGN, True, 8.0),
        ("s2", 4, "История", "journal_mismatch", True, 9.0), ("t1", 6, "Математика", "bunching", None, 10.0),
    ]
    o = pd.DataFrame(rows, columns=["school_id", "grade", "subject", "sign", "flagged", "value"])
    o.insert(0, "year", 2023)
    o = pd.concat([o, o.assign(year=2022, value=-o["value"])], ignore_index=True)
    o = o.astype({"school_id": "string", "grade": "Int8", "subject": "str", "sign": "str", "flagged": "boolean"})
    data = _data(objectivity=o)

    def old(school_id, year, official, include_combined):
        d = o[(o["year"] == year) & ~o["sign"].astype(str).str.startswith(INDEX_SIGN)
              & o["flagged"].fillna(False).astype(bool)].copy()
        d = d[d["school_id"].astype(str) == school_id]
        if official is True:
            d = d[d["sign"].isin(OFFICIAL_SIGNS)]
        elif official is False:
            d = d[~d["sign"].isin(OFFICIAL_SIGNS)]
        if not include_combined:
            d = d[d["sign"] != "combined"]
        d["school_id"] = d["school_id"].astype(str)
        d["_name"] = d["school_id"].map(data.schools.set_index("school_id")["name"]).astype(str)
        return d.sort_values(["_name", "school_id", "grade", "subject", "sign"]).drop(columns="_name") \
            .reset_index(drop=True)

    for sid in ("s1", "s2", "s3", "t1", "zz"):
        for year in (2023, 2022):
            for official in (None, True, False):
                for comb in (True, False):
                    new = flagged_signs(data, year, sid, official=official, include_combined=comb)
                    pd.testing.assert_frame_equal(new, old(sid, year, official, comb), check_index_type=True)
                    assert flagged_signs(data, year, sid, official=official, include_combined=comb) is new
    d = flagged_signs(data, 2023, "s1")
    assert list(zip(d["grade"], d["subject"], d["sign"], d["value"])) == [
        (4, "Математика", "combined", 4.0), (4, "Математика", "inflated_mean", 2.0),
        (4, "Математика", "inflated_mean", 5.0), (5, "Математика", "bunching", 1.0)]
    assert "_name" not in flagged_signs(data, 2023)
    base = data.tables[("_flagged_year", 2023)][0]   # the year's rows kept for every call: never written to
    assert "_name" not in base and base["school_id"].dtype == o["school_id"].dtype


def test_take_rows_is_iloc():
    """Consecutive positions are sliced, others taken: the same rows, labels, index class and dtypes."""
    from msoko.report.data import take_rows

    t = pd.DataFrame({"a": np.arange(8), "s": pd.array(list("abcdefgh"), dtype="str"),
                      "n": pd.array([1, None, 3, 4, 5, None, 7, 8], dtype="Int8")})
    for frame in (t, t.set_axis([10, 11, 12, 20, 21, 22, 30, 31])):
        for p in ([2, 3, 4], [0], [5, 6, 7], [1, 3, 4], [], [0, 1, 2, 3, 4, 5, 6, 7]):
            p = np.array(p, dtype=np.intp)
            got, want = take_rows(frame, p), frame.iloc[p]
            pd.testing.assert_frame_equal(got, want, check_index_type=True)
            assert type(got.index) is type(want.index)
    assert take_rows(t, np.array([2, 3, 4]))["s"].tolist() == ["c", "d", "e"]
