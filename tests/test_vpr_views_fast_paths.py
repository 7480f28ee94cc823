"""The ВПР views' fast paths of the school report (dicts, arrays, tables written from their rows, pooled axes that
keep their ticks) give what the pandas and matplotlib paths they replace gave: the old paths are written out here
as they were, on small fixed frames and on the demo."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.report.data import ReportData, _normalise_catalogue
from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR


def _data(**tables) -> ReportData:
    schools = pd.DataFrame({"school_id": ["s1", "s2", "t1"], "name": ["Школа А", "Школа Б", "Т"],
                            "municipality": ["М", "М", "Т"], "is_preschool": [False, False, False]})
    return ReportData(processed_dir=Path("/nonexistent"), schools=schools, task_specs=pd.DataFrame(),
                      indicators=tables.pop("indicators", pd.DataFrame()),
                      catalogue=_normalise_catalogue(tables.pop("catalogue", pd.DataFrame(columns=["code"]))),
                      objectivity=tables.pop("objectivity", pd.DataFrame()), tables=dict(tables))


# --- score distribution -----------------------------------------------------------------------------------------

def _old_score_distribution(data, school_id, year, grade, subject, top):
    """The frame path: a frame per group, a reindex on 0…maximum, a concatenation."""
    counts = data.table("vpr_score_counts")
    pos = counts.groupby(["year", "level", "school_id", "grade", "subject"], sort=False, observed=True).indices
    muni = str(data.schools.set_index("school_id").loc[school_id, "municipality"])
    scores = np.arange(0, int(top) + 1)
    out = []
    for g, level, unit in ((GROUP_SCHOOL, "school", school_id), (GROUP_MUNI, "municipality", muni)):
        p = pos.get((int(year), level, unit, int(grade), str(subject)))
        if p is None:
            continue
        x = counts.iloc[p]
        n = int(x["n"].iloc[0])
        if n < 5:
            continue
        c = pd.Series(x["count"].to_numpy(), index=x["score"].to_numpy()).reindex(scores, fill_value=0)
        out.append(pd.DataFrame(dict(group=g, score=scores, share=100 * c.to_numpy() / n, n=n)))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["group", "score", "share", "n"])


def test_score_distribution_is_the_counts_reindexed_on_every_score():
    """Each group's counts over 0…maximum (a score not seen 0, a score past the maximum left out), shares of the
    group's n (its first row's); a group under 5 left out; the frame's dtypes as the concatenation gave them."""
    from msoko.report.vpr import score_distribution

    rows = [  # year, level, unit, grade, subject, score, count, n
        (2023, "school", "s1", 4, "Математика", 0, 2, 20), (2023, "school", "s1", 4, "Математика", 3, 10, 20),
        (2023, "school", "s1", 4, "Математика", 5, 7, 20), (2023, "school", "s1", 4, "Математика", 9, 1, 20),
        (2023, "school", "s2", 4, "Математика", 1, 3, 3),
        (2023, "municipality", "М", 4, "Математика", 1, 40, 100), (2023, "municipality", "М", 4, "Математика", 4, 60, 100),
        (2023, "school", "s1", 5, "Математика", 2, 30, 30), (2022, "school", "s1", 4, "Математика", 2, 8, 8),
    ]
    counts = pd.DataFrame(rows, columns=["year", "level", "school_id", "grade", "subject", "score", "count", "n"])
    counts = counts.astype({"year": "int16", "grade": "int8", "level": "str", "school_id": "str", "subject": "str"})
    works = pd.DataFrame({"year": [2023, 2023, 2022], "grade": [4, 5, 4], "subject": ["Математика"] * 3,
                          "max_score": [6.0, 3.0, 6.0]})
    data = _data(vpr_score_counts=counts, vpr_works=works)
    for school, year, grade in (("s1", 2023, 4), ("s2", 2023, 4), ("s1", 2023, 5), ("s1", 2022, 4), ("t1", 2023, 4)):
        top = works.loc[(works["year"] == year) & (works["grade"] == grade), "max_score"].iloc[0]
        want = _old_score_distribution(data, school, year, grade, "Математика", top)
        got = score_distribution(data, school, year, grade, "Математика")
        pd.testing.assert_frame_equal(got, want)
    got = score_distribution(data, "s1", 2023, 4, "Математика")
    assert got["share"].tolist() == [10.0, 0.0, 0.0, 50.0, 0.0, 35.0, 0.0, 0.0, 40.0, 0.0, 0.0, 60.0, 0.0, 0.0]
    assert got["group"].tolist() == [GROUP_SCHOOL] * 7 + [GROUP_MUNI] * 7 and set(got["n"]) == {20, 100}
    assert score_distribution(data, "s2", 2023, 4, "Математика")["group"].tolist() == [GROUP_MUNI] * 7
    assert score_distribution(data, "s1", 2021, 4, "Математика").empty


# --- 100 % bars ---------------------------------------------------------------------------------------------------

def test_shares_by_group_are_the_pivot_table_and_groupby_max():
    from msoko.plots.vpr import _shares_by_group

    d = pd.DataFrame({"group": ["Б: школа", "Б: школа", "А: школа", "Б: школа", "А: школа", "В", "В"],
                      "mark": [2, 3, 2, 3, 5, 4, 4], "share": [10.0, 20.0, 30.0, 5.5, np.nan, np.nan, np.nan],
                      "n": [12.0, 14.0, np.nan, 13.0, np.nan, 7.0, 9.0]})
    for cats in ([2, 3, 4, 5], [5, 3]):
        groups, cols, ns = _shares_by_group(d, "mark", cats)
        want_groups = list(dict.fromkeys(d["group"]))
        wide = d.pivot_table(index="group", columns="mark", values="share", aggfunc="sum").reindex(want_groups)
        want_ns = d.groupby("group", sort=False)["n"].max().reindex(want_groups)
        assert groups == want_groups
        assert set(cols) == {c for c in cats if c in wide.columns}
        for c in cols:
            np.testing.assert_array_equal(cols[c], wide[c].to_numpy(dtype=float, na_value=np.nan))
        assert [type(x) for x in ns[:2]] == [type(x) for x in want_ns.iloc[:2]]
        np.testing.assert_array_equal(np.asarray(ns, dtype=float), want_ns.to_numpy(dtype=float))
    np.testing.assert_array_equal(_shares_by_group(d, "mark", [2, 3])[1][3], [25.5, np.nan, np.nan])


# --- tables written from their rows -------------------------------------------------------------------------------

ROWS = [["Школа", "12 [5–20]", None, " a  b & <c> "], ["Муниципалитет", "—", None, "x"]]
COLUMNS = ["Группа", "Доля «2», %", "Пусто", "Текст <i>"]


def test_text_table_html_and_json_are_those_of_its_frame():
    """A table of text cells (and None) gives, from its rows, the HTML pandas writes for its frame and the
    workbook JSON of the frame; anything else is left to the frame."""
    from msoko.report.fmt import html_table, html_text_table, plain_text_rows
    from msoko.report.section import Section, TextTable, table_json

    frame = pd.DataFrame([dict(zip(COLUMNS, r)) for r in ROWS])
    assert str(frame.dtypes.iloc[0]) == "str" and frame.dtypes.iloc[2] == object   # text, and a column of None
    assert plain_text_rows(COLUMNS, ROWS)
    html = html_text_table(COLUMNS, ROWS, caption="Т & к", note="n")
    assert html == html_table(frame, caption="Т & к", note="n")
    # pandas itself writes the text cells alike (a column of None only: pandas «None», html_table «—», as before)
    text = frame.drop(columns="Пусто")
    assert text.to_html(index=False, escape=True, na_rep="—", border=0, classes="msoko-table") in \
        html_text_table(list(text.columns), [[r[0], r[1], r[3]] for r in ROWS])
    t = TextTable(COLUMNS, ROWS, lambda: frame)
    assert table_json("T", t) == table_json("T", frame)
    sec = Section().table(t, caption="Т & к", note="n")
    assert str(sec) == html
    for bad in ([["a", "1\n2", None, "x"]], [["a", 5, None, "x"]], [["a", 1.5, None, "x"]], []):
        assert not plain_text_rows(COLUMNS, bad)
    odd = [["a", 5, None, "x"]]   # a number: the frame and its HTML as before
    odd_frame = pd.DataFrame(odd, columns=COLUMNS)
    sec = Section().table(TextTable(COLUMNS, odd, lambda: odd_frame), caption="c")
    assert str(sec) == html_table(odd_frame, caption="c") and sec.tables["c"] is odd_frame
    empty = Section().table(TextTable(COLUMNS, [], lambda: pd.DataFrame()), caption="c")
    assert str(empty) == html_table(pd.DataFrame(), caption="c")


def test_section_builds_a_text_tables_frame_when_it_is_read():
    from msoko.report.section import TABLES_MIME, Section, TextTable, table_json

    built = []
    frame = pd.DataFrame([dict(zip(COLUMNS, r)) for r in ROWS])

    def build():
        built.append(1)
        return frame

    inner = Section().table(TextTable(COLUMNS, ROWS, build), caption="A")
    sec = Section().table(pd.DataFrame({"x": [1]}), caption="A").extend(inner)
    bundle = sec._repr_mimebundle_()
    assert [t["title"] for t in bundle[TABLES_MIME]] == ["A", "A (2)"] and not built   # written from the rows
    assert bundle[TABLES_MIME][1] == table_json("A (2)", frame)
    assert list(sec.tables) == ["A", "A (2)"] and not built
    assert sec.tables["A (2)"] is frame and len(built) == 1
    assert sec.tables["A (2)"] is frame and len(built) == 1   # built once
    fresh = Section().table(TextTable(COLUMNS, ROWS, lambda: frame), caption="B")
    assert dict(fresh.tables)["B"] is frame and {**fresh.tables}["B"] is frame
    assert [v is frame for v in fresh.tables.values()] == [True] and fresh.tables.get("B") is frame
    assert TextTable.of_records([{"a": "1"}, {"b": "2", "a": "3"}], build, fill="—").rows == [["1", "—"], ["3", "2"]]


# --- standout works -----------------------------------------------------------------------------------------------

def _old_standout(data, school_id, year):
    """The frame path: a merge of the school's rows with the municipality's, masks, the sorted frame of signs."""
    from msoko.report.indicators import KEY_BREAKDOWN_INDICATORS, unit_year_rows
    from msoko.report.signs import flagged_signs

    out = set()
    cat = data.catalogue.set_index("code")
    if not data.indicators.empty:
        muni = str(data.schools.set_index("school_id").loc[school_id, "municipality"])
        d = unit_year_rows(data, year, "school", school_id)
        d = d[d["grade"].notna() & d["subject"].notna() & d["ci_low"].notna()
              & ~d["suppressed"].fillna(False).astype(bool)]
        m = unit_year_rows(data, year, "municipality", muni)
        keys = ["indicator", "grade", "subject"]
        d = d.merge(m[keys + ["value"]].rename(columns={"value": "muni"}), on=keys)
        d = d[d["indicator"].isin(KEY_BREAKDOWN_INDICATORS)]
        dirn = d["indicator"].map(cat["direction"]) if len(cat) else pd.Series("", index=d.index)
        worse = ((dirn == "higher") & (d["ci_high"] < d["muni"])) | ((dirn == "lower") & (d["ci_low"] > d["muni"]))
        out |= {(int(g), str(s)) for g, s in zip(d.loc[worse, "grade"], d.loc[worse, "subject"])}
    f = flagged_signs(data, year, school_id, official=True).dropna(subset=["grade", "subject"])
    return out | {(int(g), str(s)) for g, s in zip(f["grade"], f["subject"])}


def test_standout_works_are_those_of_the_merge_and_the_signs():
    from msoko.report.school import _standout_works

    def row(level, unit, code, grade, subject, value, lo, hi, suppressed=False, year=2023):
        return dict(year=year, level=level, school_id=unit, indicator=code, grade=grade, subject=subject, value=value,
                    ci_low=lo, ci_high=hi, suppressed=suppressed)

    ind = pd.DataFrame([
        row("school", "s1", "vpr_fail_share", 4, "Математика", 30.0, 21.0, 40.0),       # «2» above the muni: worse
        row("municipality", "М", "vpr_fail_share", 4, "Математика", 15.0, np.nan, np.nan),
        row("school", "s1", "vpr_quality", 4, "Русский язык", 30.0, 20.0, 41.0),         # quality below: worse
        row("municipality", "М", "vpr_quality", 4, "Русский язык", 50.0, np.nan, np.nan),
        row("municipality", "М", "vpr_quality", 4, "Русский язык", 40.0, np.nan, np.nan),  # a second muni row
        row("school", "s1", "vpr_quality", 5, "История", 30.0, 20.0, 41.0, suppressed=True),
        row("municipality", "М", "vpr_quality", 5, "История", 60.0, np.nan, np.nan),
        row("school", "s1", "vpr_quality", 6, "Биология", 30.0, np.nan, 41.0),            # no interval
        row("municipality", "М", "vpr_quality", 6, "Биология", 60.0, np.nan, np.nan),
        row("school", "s1", "vpr_mean_pct", 7, "Физика", 30.0, 20.0, 41.0),               # no muni value
        row("municipality", "М", "vpr_mean_pct", 7, "Физика", np.nan, np.nan, np.nan),
        row("school", "s1", "other", 8, "Химия", 30.0, 20.0, 41.0),                       # not a key indicator
        row("municipality", "М", "other", 8, "Химия", 60.0, np.nan, np.nan),
        row("school", "s1", "vpr_quality", None, None, 30.0, 20.0, 41.0),
        row("municipality", "М", "vpr_quality", None, None, 60.0, np.nan, np.nan),
        row("school", "s1", "vpr_quality", 4, "Математика", 30.0, 20.0, 41.0, year=2022),
        row("municipality", "М", "vpr_quality", 4, "Математика", 60.0, np.nan, np.nan, year=2022),
        row("school", "s2", "vpr_fail_share", 4, "Математика", 10.0, 5.0, 14.0),         # better
    ]).astype({"grade": "Int8", "indicator": "str", "subject": "str", "level": "str", "school_id": "str"})
    cat = pd.DataFrame({"code": ["vpr_fail_share", "vpr_quality", "vpr_mean_pct", "other"],
                        "direction": ["lower", "higher", "higher", "higher"], "name": ["a", "b", "c", "d"], "unit": "%"})
    obj = pd.DataFrame({"year": [2023] * 4, "school_id": ["s1", "s1", "s2", "s1"],
                        "grade": pd.array([9, 7, 4, None], dtype="Int8"),
                        "subject": ["Физика", "Химия", "Математика", "Химия"],
                        "sign": ["journal_mismatch", "bunching", "inflated_mean", "cohort_fall"],
                        "flagged": pd.array([True, True, True, True], dtype="boolean"), "value": 1.0})
    data = _data(indicators=ind, catalogue=cat, objectivity=obj)
    for school in ("s1", "s2", "t1"):
        for year in (2022, 2023, 2021):
            assert _standout_works(data, school, year) == _old_standout(data, school, year), (school, year)
    assert _standout_works(data, "s1", 2023) == {(4, "Математика"), (4, "Русский язык"), (9, "Физика")}
    assert _standout_works(data, "s2", 2023) == {(4, "Математика")}   # its official sign


# --- on the demo: tasks, levels, summaries, skills ------------------------------------------------------------------

def _old_task_completion(data, school_id, year, grade, subject):
    """``task_completion`` over the frame of ``_item_groups`` (as it was)."""
    from msoko.report.vpr import _item_groups, _task_number

    cols = ["task", "label", "level", "group", "value", "n"]
    res = _item_groups(data, school_id, year, "vpr_task_completion", grade, subject, "task")
    if res.empty:
        return pd.DataFrame(columns=cols)
    spec = data.task_specs
    spec = spec[(spec["grade"] == grade) & (spec["subject"] == subject)]
    spec = spec.assign(task=spec["task"].astype(str),
                       label=spec["task_label"].astype(str) if "task_label" in spec else spec["task"].astype(str))
    spec = spec.drop_duplicates("task")[["task", "label", "level"]]
    maps = {c: (dict(zip(spec["task"], spec[c])), spec[c].dtype) for c in ("label", "level")}
    task = [str(t) for t in res["task"].tolist()]
    label = [maps["label"][0].get(t, t) for t in task]
    label = [t if lab is None or (isinstance(lab, float) and np.isnan(lab)) else lab for t, lab in zip(task, label)]
    level = [maps["level"][0].get(t, np.nan) for t in task]
    group, value, n = res["group"].tolist(), res["value"].to_numpy(float), res["n"].to_numpy(float)
    rank = {g: i for i, g in enumerate((GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI))}
    num = [_task_number(t) for t in task]
    order = sorted(range(len(task)), key=lambda i: (rank.get(group[i], 3), math.isnan(num[i]),
                                                   0.0 if math.isnan(num[i]) else num[i], task[i]))
    return pd.DataFrame({"task": pd.array([task[i] for i in order], dtype=res["task"].astype(str).dtype),
                         "label": pd.array([label[i] for i in order], dtype=maps["label"][1]),
                         "level": pd.array([level[i] for i in order], dtype=maps["level"][1]),
                         "group": pd.array([group[i] for i in order], dtype=res["group"].dtype),
                         "value": value[order] if len(order) else value, "n": n[order] if len(order) else n})


def _old_level_table(data, school_id, year, grade, subject):
    from msoko.report.data import sufficiency_thresholds
    from msoko.report.fmt import fmt
    from msoko.report.vpr import level_completion

    lv = level_completion(data, school_id, year, grade, subject)
    if lv.empty:
        return pd.DataFrame()
    thr = sufficiency_thresholds(data, year)
    w = lv.pivot_table(index="level", columns="group", values="value", aggfunc="first")
    rows = []
    for level in [x for x in ("Б", "П", "В") if x in w.index]:
        row = {"Уровень": f"{level} — {({'Б': 'базовый', 'П': 'повышенный', 'В': 'высокий'})[level]}"}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            if grp in w.columns:
                row[f"{grp}, %"] = fmt(w.loc[level, grp], 0)
        row["Порог достаточности, %"] = fmt(thr.get(level), 0) if level in thr else "—"
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_vpr_views_fast_paths_equal_the_frame_paths_on_the_demo(demo_processed):
    """Every ВПР of a few demo schools: task completion, the level table, the work summary and the task
    skills give the frames (and the HTML) the frame paths gave; the standout works those of the merge."""
    from msoko import report as R
    from msoko.report.fmt import html_table
    from msoko.report.indicators import school_vpr_counts
    from msoko.report.school import _level_text, _standout_works, level_table
    from msoko.report.skills import show_work_skills, skills_table, unformed_skills
    from msoko.report.vpr import task_completion, vpr_summary_table, vpr_summary_text

    data = R.load(demo_processed)
    year = R.resolve_year(data, None)
    schools = sorted(pd.read_parquet(demo_processed / "vpr.parquet", columns=["school_id"])["school_id"].unique())
    works = levels = unformed = 0
    for sid in schools[:5]:
        assert _standout_works(data, sid, year) == _old_standout(data, sid, year)
        taken = school_vpr_counts(data, sid, year)
        for g, s in zip(taken["grade"].astype(int), taken["subject"].astype(str)):
            pd.testing.assert_frame_equal(task_completion(data, sid, year, g, s), _old_task_completion(data, sid, year, g, s))
            want = _old_level_table(data, sid, year, g, s)
            pd.testing.assert_frame_equal(level_table(data, sid, year, g, s, None), want)
            lt = _level_text(data, sid, year, g, s)
            pd.testing.assert_frame_equal(lt if isinstance(lt, pd.DataFrame) else lt.build(), want)
            levels += len(want)
            st = vpr_summary_text(data, sid, year, g, s)
            pd.testing.assert_frame_equal(st.build(), vpr_summary_table(data, sid, year, g, s))
            t = skills_table(data, sid, year, g, s)
            sec = show_work_skills(data, sid, year, g, s)
            caption = f"Задания и проверяемые умения — {s}, {g} класс"
            if not t.empty:
                assert html_table(t, caption=caption) in str(sec)
                pd.testing.assert_frame_equal(sec.tables[caption], t)
                for u in unformed_skills(t):
                    assert u in str(sec)
                unformed += len(unformed_skills(t))
            works += 1
    assert works > 10 and levels > 10 and unformed > 0


# --- pooled axes keep their ticks and tick settings -------------------------------------------------------------------

def test_pooled_axes_left_ticks_and_settings_draw_what_a_fresh_axes_draws():
    """A chart on a reused axes whose ticks and tick settings are left as the last chart of its kind set them
    gives the bytes of the chart drawn on a fresh axes, in any order of works (task counts, labels, maxima)."""
    from msoko import plots
    from msoko.plots import embed, theme

    def tasks(labels, values):
        return pd.DataFrame({"task": labels, "level": ["Б", "П", "В", "Б", "П"][:len(labels)], "group": GROUP_SCHOOL,
                             "value": values, "n": 30.0})

    def scores(top, shares):
        return pd.DataFrame({"group": GROUP_SCHOOL, "score": range(top + 1), "share": shares, "n": 40})

    works = [(scores(2, [10.0, 20.0, 70.0]), tasks(["1", "2"], [60.0, 20.0]), 2),
             (scores(4, [5.0, 5.0, 10.0, 30.0, 50.0]), tasks(["1", "2", "3"], [10.0, 90.0, 50.0]), 4),
             (scores(2, [30.0, 30.0, 40.0]), tasks(["1", "2"], [61.0, 25.0]), 2),
             (scores(4, [50.0, 5.0, 10.0, 30.0, 5.0]), tasks(["4", "5", "6"], [10.0, 90.0, 50.0]), 4)]

    def draw(w):
        return str(plots.vpr_detail_chart(scores=w[0], tasks=w[1], boundaries={3: 1}, max_score=w[2]))

    plots.use_theme()   # as a report draws (R.load sets it)
    fresh = []
    for w in works:
        theme._POOL.clear()
        embed._AXES_SVG.clear()
        fresh.append(draw(w))
    theme._POOL.clear()
    embed._AXES_SVG.clear()
    for order in ([0, 1, 2, 3, 0, 2, 1, 3], [3, 3, 1, 0, 0, 2]):
        assert [draw(works[i]) for i in order] == [fresh[i] for i in order]
    (ax,) = [a for k, a in theme._POOL.items() if k[0] == "tasks"]
    assert "tasks" in ax.__dict__["_msoko_settled"]


def test_set_ticks_left_out_only_when_nothing_would_change():
    """Ticks set again are left out only when the axis has them from :func:`set_xticks` and they lie within the
    limits: ticks outside the limits widen them as matplotlib does, another locator or labels are set."""
    from matplotlib.ticker import MultipleLocator

    from msoko.plots.theme import new_axes, set_xticks

    a, b = new_axes(300, 200, left=30, right=10, top=10, bottom=30), new_axes(300, 200, left=30, right=10, top=10,
                                                                               bottom=30)
    for ax, ours in ((a, True), (b, False)):
        set_x = (lambda t, lab=None: set_xticks(ax, t, lab)) if ours else \
            (lambda t, lab=None: ax.set_xticks(t, lab if lab is not None else [str(int(x)) for x in t]))
        set_x([0, 1, 2])
        ax.set_xlim(0, 1)
        set_x([0, 1, 2])                       # outside the limits: widened
        set_x([0, 1, 2], ["a", "b", "c"])      # other labels
        ax.xaxis.set_major_locator(MultipleLocator(0.5))
        set_x([0, 1, 2], ["a", "b", "c"])      # another locator in between
    assert a.get_xlim() == b.get_xlim() == (0.0, 2.0)
    assert [t.get_text() for t in a.get_xticklabels()] == [t.get_text() for t in b.get_xticklabels()] == ["a", "b", "c"]
    assert list(a.get_xticks()) == list(b.get_xticks()) == [0, 1, 2]
