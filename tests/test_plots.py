"""msoko.plots: the axes-level functions draw what the data says (bar sizes proportional to the values,
thresholds and boundaries where they belong, the same colour for the same meaning), and the report
builders embed it as deterministic, self-contained SVG with text as text and tooltips where declared."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from msoko import plots

plots.use_theme()   # the caller that draws applies the theme; importing msoko.plots sets nothing

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hex(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False)


def _coll(ax, cls: str):
    """The artists of ``ax`` marked with class ``cls`` (see msoko.plots.theme.mark)."""
    marks = ax.figure.__dict__.get("_msoko_marks", {})
    arts = [a for a in ax.get_children() if a.get_gid() in marks and marks[a.get_gid()][0] == cls]
    return arts


from msoko.plots._draw import rects as _rects, segment_list as _segments  # noqa: E402


def _xy(line) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata())]


def _svg(chart: str) -> ET.Element:
    m = re.findall(r'<svg\b[^>]*role="img".*?</svg>', str(chart), flags=re.S)  # not the legend swatches
    assert len(m) == 1
    return ET.fromstring(m[0])


def _caption(chart: str) -> str:
    m = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", str(chart))
    assert len(m) == 1
    return m[0]


def _by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(NS + "g") if cls in (e.get("class") or "").split()]


MARKS = pd.DataFrame({
    "group": ["Школа"] * 4 + ["Муниципалитет"] * 4,
    "mark": [2, 3, 4, 5] * 2,
    "share": [10, 40, 30, 20, 5, 35, 40, 20],
    "n": [50] * 4 + [900] * 4,
})


def test_nice_ticks_by_hand():
    assert plots.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert plots.nice_ticks(11, 27) == [10, 15, 20, 25, 30]
    assert plots.nice_ticks(0, 20, 8, integer=True) == [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert plots.nice_ticks(0.93, 3.1) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    t = plots.nice_ticks(5, 5)  # a single value still gets an axis around it
    assert t[0] < 5 < t[-1]


def test_russian_number_format():
    # one rule with the report text (msoko.ru): four digits stay whole, from 10 000 a thin space, the minus sign
    assert plots.fmt_num(1108) == "1108"
    assert plots.fmt_num(12345) == "12\u202f345"
    assert plots.fmt_num(-3.5, 1) == "\u22123,5"
    assert plots.fmt_num(12.345, 1) == "12,3"
    assert plots.fmt_num(np.nan) == "—"
    assert plots.fmt_num(-1e-17, 1) == "0,0"


def test_import_sets_no_theme():
    """Importing msoko.plots (or the report layer) leaves matplotlib as it was; report.load applies the theme."""
    import subprocess
    import sys

    code = ("import matplotlib as mpl; before = dict(mpl.rcParams); import msoko.plots, msoko.report; "
            "changed = sorted(k for k, v in mpl.rcParams.items() if before.get(k) != v); print(changed)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_theme_is_seaborn_with_text_kept_as_text():
    assert plt.rcParams["svg.fonttype"] == "none" and plt.rcParams["svg.hashsalt"] == "msoko"
    assert plt.rcParams["text.parse_math"] is False  # «$» in a school name stays text
    cycle = [_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle[:4] == [plots.GROUP_COLORS[g] for g in plots.GROUP_ORDER]


# --- axes-level: what is drawn ----------------------------------------------------------------

def test_score_histogram_bars_proportional_and_boundaries_between_scores():
    share = np.array([2.0, 4.0, 8.0] + [86 / 18] * 18)
    d = pd.DataFrame({"group": ["Школа"] * 21, "score": range(21), "share": share, "n": 40})
    m = d.assign(group="Муниципалитет", share=share[::-1], n=900)
    ax = plots.plot_score_histogram(pd.concat([m, d]), boundaries={3: 6, 4: 10, 5: 15}, max_score=20)
    (bars,) = _coll(ax, "bar")  # the school (first in the fixed order, whatever the data order) as bars
    r = _rects(bars)
    assert len(r) == 21
    h = [y1 - y0 for _, _, y0, y1 in r]
    assert h[1] / h[0] == pytest.approx(2) and h[2] / h[0] == pytest.approx(4)
    assert all(y0 == 0 for _, _, y0, _ in r)
    assert _hex(bars.get_facecolor()) == plots.GROUP_COLORS["Школа"]
    (line,) = _coll(ax, "line")
    assert line.get_color() == plots.GROUP_COLORS["Муниципалитет"]
    assert list(line.get_ydata()) == list(share[::-1])
    (pts,) = _coll(ax, "point")
    assert _xy(pts) == list(zip(range(21), share[::-1]))
    # each boundary halfway between the last score of a mark and the first of the next
    assert sorted(ln.get_xdata()[0] for ln in _coll(ax, "boundary")) == [5.5, 9.5, 14.5]
    assert {"«3» от 6", "«4» от 10", "«5» от 15"} <= {t.get_text() for t in ax.texts}
    assert ax.get_xlim() == (-0.7, 20.7)


def test_task_completion_thresholds_by_level():
    d = pd.DataFrame({"task": ["1", "2", "3"] * 2, "level": ["Б", "П", "В"] * 2,
                      "group": ["Школа"] * 3 + ["Муниципалитет"] * 3, "value": [60, 20, 10, 55, 35, 12], "n": 30})
    ax = plots.plot_task_completion(d, thresholds={"Б": 50, "П": 30, "В": 15})
    (bars,) = _coll(ax, "bar")
    assert [y1 for *_, y1 in _rects(bars)] == [60, 20, 10]
    assert _hex(bars.get_facecolor()) == plots.GROUP_COLORS["Школа"]
    (ticks,) = _coll(ax, "tick")  # the municipality as a dash over each task
    assert [y for *_, y in _segments(ticks)] == [55, 35, 12]
    assert all(x0 < i < x1 for i, (x0, x1, _) in enumerate(_segments(ticks)))
    assert ticks.get_color() == plots.GROUP_COLORS["Муниципалитет"]
    for level, value, task in (("Б", 50, 0), ("П", 30, 1), ("В", 15, 2)):
        (thr,) = _coll(ax, f"threshold level-{level}")
        ((x0, x1, y),) = _segments(thr)
        assert y == value and x0 < task < x1  # the step sits over its own task only
        assert thr.get_color() == plots.LEVEL_COLORS[level]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1\nБ", "2\nП", "3\nВ"]
    # a principal does not know «П»: the axis, the legend and the chart's note say what the letters mean
    assert ax.get_xlabel() == "Задание (уровень: Б — базовый, П — повышенный, В — высокий)"
    (thr_p,) = _coll(ax, "threshold level-П")
    assert thr_p.get_label() == "Порог П (повышенный уровень) — 30 %"
    html = str(plots.task_completion_chart(d, thresholds={"Б": 50, "П": 30, "В": 15}))
    assert "под номером задания — его уровень: Б — базовый, П — повышенный, В — высокий" in html
    assert "пороги достаточности: Б — 50 %, П — 30 %, В — 15 %" in html


def test_task_levels_bars_and_labels():
    d = pd.DataFrame({"level": ["Б", "П", "В"] * 2, "group": ["Муниципалитет"] * 3 + ["Школа"] * 3,
                      "value": [55, 30, 12, 60, 35, 10], "n": 30})
    ax = plots.plot_task_levels(d)
    school, mun = _coll(ax, "bar")  # the school first
    assert _hex(school.get_facecolor()) == plots.GROUP_COLORS["Школа"]
    assert [y1 for *_, y1 in _rects(school)] == [60, 35, 10]
    assert [y1 for *_, y1 in _rects(mun)] == [55, 30, 12]
    assert all(s[1] <= m[0] for s, m in zip(_rects(school), _rects(mun)))  # side by side, the school left
    assert ["60", "35", "10", "55", "30", "12"] == [t.get_text() for t in ax.texts]


def test_indicator_order_interval_and_target():
    d = pd.DataFrame({"group": ["Муниципалитет", "Школа", "Похожие школы"], "value": [9.0, 18.0, 12.0],
                      "ci_low": [8.0, 11.0, np.nan], "ci_high": [10.0, 27.0, np.nan], "n": [900, 62, 300]})
    ax = plots.plot_indicator(d, unit="%", target=10)
    # the order is fixed: school on top, then similar schools, then the municipality
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Школа (n = 62)", "Похожие школы (n = 300)", "Муниципалитет (n = 900)"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # row 0 at the top
    pts = _coll(ax, "point")
    assert [_xy(p) for p in pts] == [[(18, 0)], [(12, 1)], [(9, 2)]]
    assert [p.get_color() for p in pts] == [plots.GROUP_COLORS[g] for g in ("Школа", "Похожие школы", "Муниципалитет")]
    ci = _coll(ax, "ci")  # no interval given for similar schools: none drawn
    assert [_segments(c) for c in ci] == [[(11, 27, 0)], [(8, 10, 2)]]
    assert ci[0].get_color() == plots.GROUP_COLORS["Школа"]
    (t,) = _coll(ax, "target")
    assert t.get_xdata()[0] == 10 and "цель 10,0" in {x.get_text() for x in ax.texts}
    assert ax.get_xlim()[0] >= 0 and ax.get_xlim()[1] <= 100  # a share stays within 0–100 %


def test_trend_lines_colours_band():
    d = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Муниципалитет"] * 3 + ["Школа"] * 3,
                      "value": [2, 2, 2, 1, 2, 3], "ci_high": [np.nan] * 3 + [1.5, 2.5, 3.5],
                      "ci_low": [np.nan] * 3 + [0.5, 1.5, 2.5], "n": [0, 0, 0, 30, 31, 32]})
    ax = plots.plot_trend(d, unit="%")
    lines = _coll(ax, "line")
    assert [ln.get_color() for ln in lines] == [plots.GROUP_COLORS["Школа"], plots.GROUP_COLORS["Муниципалитет"]]
    assert list(lines[0].get_ydata()) == [1, 2, 3] and list(lines[0].get_xdata()) == [0, 1, 2]
    assert len(_coll(ax, "band")) == 1  # only the school has an interval
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2021", "2022", "2023"]


def test_stacked_shares_in_category_order_with_labels():
    ax = plots.plot_marks_distribution(MARKS)
    segs = _coll(ax, "segment")
    assert [_hex(s.get_facecolor()) for s in segs] == [plots.MARK_COLORS[m] for m in (2, 3, 4, 5)]
    # row 0 = the school: segments 10/40/30/20 laid end to end from 0 to 100
    school = [r for s in segs for r in _rects(s) if r[2] < 0 < r[3]]
    assert [(x0, x1) for x0, x1, *_ in school] == [(0, 10), (10, 50), (50, 80), (80, 100)]
    mun = [r for s in segs for r in _rects(s) if r[2] < 1 < r[3]]
    assert [x1 - x0 for x0, x1, *_ in mun] == [5, 35, 40, 20]
    # the 5 % segment is too narrow for its number, the others carry it, in contrasting ink
    texts = [(t.get_text(), t.get_color()) for t in ax.texts]
    assert [t for t, _ in texts] == ["10", "40", "35", "30", "40", "20", "20"]
    assert dict(texts)["10"] == "#ffffff" and dict(texts)["40"] == "#000000"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Школа (n = 50)", "Муниципалитет (n = 900)"]


def test_stacked_shares_small_rows_and_bad_colours():
    d = pd.DataFrame({"group": ["Школа"] * 4, "mark": [2, 3, 4, 5], "share": [25.0] * 4, "n": [4] * 4})
    ax = plots.plot_marks_distribution(d)
    assert all(_rects(s) == [] for s in _coll(ax, "segment"))
    assert [t.get_text() for t in ax.texts] == ["меньше 5 участников — не показывается"]
    with pytest.raises(ValueError):
        plots.plot_stacked_shares(d, categories=[2], colors={2: "red;background:url(x)"}, key="mark")


def test_vpr_vs_journal_order():
    d = pd.DataFrame({"group": ["Школа"] * 3, "category": ["Повысили", "Понизили", "Подтвердили"],
                      "share": [30.0, 20.0, 50.0], "n": 40})
    segs = _coll(plots.plot_vpr_vs_journal(d), "segment")
    assert [(_hex(s.get_facecolor()), _rects(s)[0][:2]) for s in segs] == [
        (plots.JOURNAL_COLORS["Понизили"], (0, 20)), (plots.JOURNAL_COLORS["Подтвердили"], (20, 70)),
        (plots.JOURNAL_COLORS["Повысили"], (70, 100))]


def test_objectivity_pictures():
    iv = pd.DataFrame({"group": ["Регион", "Школа"], "mean": [10.0, 15.0], "ci_low": [9.8, 14.0],
                       "ci_high": [10.2, 16.0], "n": [5000, 40]})
    ax = plots.plot_interval_vs_reference(iv)
    (gap,) = _coll(ax, "gap")  # the gap between the intervals is shaded
    assert (gap.get_x(), gap.get_x() + gap.get_width()) == pytest.approx((10.2, 14.0))
    assert _coll(plots.plot_interval_vs_reference(iv.assign(ci_low=[9.8, 10.0])), "gap") == []
    b = pd.DataFrame({"score": range(11), "count": [1, 2, 3, 4, 5, 12, 4, 3, 2, 1, 0],
                      "expected": [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0]})
    ax = plots.plot_bunching(b, boundaries={3: 5})
    (flag,) = _coll(ax, "bar flag")
    assert _rects(flag) == [(4.6, 5.4, 0, 12)] and _hex(flag.get_facecolor()) == plots.FLAG_COLOR
    (bnd,) = _coll(ax, "boundary")
    assert bnd.get_xdata()[0] == 4.5
    k = pd.DataFrame({"school_id": list("abcdefgh"), "k": [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 3.0],
                      "flagged": [False] * 7 + [True]})
    ax = plots.plot_cohort_k(k, highlight="h")
    q1, q3 = np.percentile(k["k"], [25, 75])
    assert sorted(ln.get_xdata()[0] for ln in _coll(ax, "fence")) == pytest.approx(
        [q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)])
    (others,), (flagged,) = _coll(ax, "school"), _coll(ax, "school flag")
    assert len(others.get_xdata()) == 7 and list(flagged.get_xdata()) == [3.0]
    assert flagged.get_color() == plots.FLAG_COLOR
    (ring,) = _coll(ax, "highlight")
    assert list(ring.get_xdata()) == [3.0] and ring.get_markerfacecolor() == "none"
    assert not any(t.get_text() == "h" for t in ax.texts)  # schools are never labelled


def test_mkdo_areas_scale():
    d = pd.DataFrame({"area": ["А", "Б"] * 2, "group": ["Муниципалитет"] * 2 + ["Школа"] * 2,
                      "score": [1.8, 2.2, 1.5, 2.0], "n": [30, 30, 1, 1]})
    ax = plots.plot_mkdo_areas(d)
    school, mun = _coll(ax, "bar")
    assert [(x0, x1) for x0, x1, *_ in _rects(school)] == [(0, 1.5), (0, 2.0)]  # bars start at 0
    assert [x1 for _, x1, *_ in _rects(mun)] == [1.8, 2.2]
    assert sorted(ln.get_xdata()[0] for ln in _coll(ax, "level")) == [1, 2, 3]


def test_an_analyst_can_restyle_and_save(tmp_path):
    ax = plots.plot_marks_distribution(MARKS)
    assert plt.gcf() is ax.figure  # a pyplot figure: JupyterLab shows it
    ax.set_title("Отметки")
    ax.figure.savefig(tmp_path / "x.png")
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig, own = plt.subplots()
    assert plots.plot_trend(pd.DataFrame({"year": [2022, 2023], "group": "Школа", "value": [1.0, 2.0]}), ax=own) is own
    chart = plots.marks_chart(MARKS)
    again = chart.plot()  # a report's chart drawn again as an Axes
    assert [t.get_text() for t in again.get_yticklabels()] == ["Школа (n = 50)", "Муниципалитет (n = 900)"]


# --- report builders: the embedded SVG --------------------------------------------------------

def test_svg_keeps_text_colours_and_tooltips():
    d = pd.DataFrame({"group": ["Школа", "Муниципалитет"], "value": [18.0, 9.0], "ci_low": [11.0, 8.0],
                      "ci_high": [27.0, 10.0], "n": [62, 900]})
    out = plots.indicator_chart(d, unit="%", title="Доля «2»", source="ФИС ОКО", target=10)
    root = _svg(out)
    texts = ["".join(t.itertext()).strip() for t in root.iter(NS + "text")]
    assert "Школа (n = 62)" in texts and "18,0" in texts and "цель 10,0" in texts  # text as <text>, not paths
    pts = _by_class(root, "point")
    tips = [e.find(NS + "title").text for g in pts for e in g.iter() if e.find(NS + "title") is not None]
    assert tips == ["Школа: 18,0 [11,0–27,0], n = 62", "Муниципалитет: 9,0 [8,0–10,0], n = 900"]
    drawn = [e for e in pts[0].iter() if e.tag in (NS + "use", NS + "path") and e.get("id") is None]
    assert f"fill: {plots.GROUP_COLORS['Школа']}" in drawn[0].get("style")
    assert root.get("aria-label") == "Доля «2»" and root.get("width") == "%g" % (float(root.get("viewBox").split()[2]) * 4 / 3)
    assert "95 % доверительный интервал" in _caption(out) and "n = 62" in _caption(out)


def test_svg_bars_in_pixels_proportional():
    d = pd.DataFrame({"group": ["Школа"] * 3, "score": [0, 1, 2], "share": [10.0, 20.0, 40.0], "n": 40})
    root = _svg(plots.score_histogram_chart(d, max_score=2))
    (g,) = _by_class(root, "bar")
    paths = [p for p in g.iter(NS + "path")]
    heights = []
    for p in paths:
        ys = [float(v) for v in re.findall(r"[ML] [-0-9.]+ ([-0-9.]+)", p.get("d"))]
        heights.append(max(ys) - min(ys))
    assert heights[1] / heights[0] == pytest.approx(2, rel=1e-3) and heights[2] / heights[0] == pytest.approx(4, rel=1e-3)
    assert [p.find(NS + "title").text for p in paths] == ["Школа: 0 б. — 10,0 %", "Школа: 1 б. — 20,0 %",
                                                          "Школа: 2 б. — 40,0 %"]


def test_charts_are_deterministic_self_contained_and_escaped():
    d = pd.DataFrame({"group": ["Школа", '<script>alert("x")</script> $x$'], "value": [5.0, 6.0],
                      "ci_low": [4.0, 5.5], "ci_high": [6.0, 6.5], "n": [30, 40]})
    a = plots.indicator_chart(d, unit="%", title="T <i>", source="src & <u>")
    b = plots.indicator_chart(d.copy(), unit="%", title="T <i>", source="src & <u>")
    assert a == b  # the same bytes
    assert "<script" not in a and "<i>" not in a and "<u>" not in a and "<style" not in a and "url(" not in a
    assert "&lt;script&gt;" in a and "src &amp; &lt;u&gt;" in a and "$x$" in a  # no mathtext
    assert re.findall(r"https?://[^\s\"'<>]+", a) == ["http://www.w3.org/2000/svg"]
    refs = re.findall(r'(?:href="#|url\(#)([^")]+)', a)
    ids = re.findall(r' id="([^"]+)"', a)
    assert refs and set(refs) <= set(ids) and len(ids) == len(set(ids))  # every reference resolves
    assert not [i for i in ids if not re.match(r"c[0-9a-f]{8}-", i)]  # ids carry the chart's own prefix
    _svg(a)  # well-formed XML
    assert a._repr_html_() == str(a) and a.title == "T <i>"
    k = pd.DataFrame({"school_id": list("abcdef"), "k": [1.0, 1.1, 0.9, 1.05, 0.95, 2.0]})
    assert plots.cohort_k_chart(k) == plots.cohort_k_chart(k)  # the jitter is seeded
    other = plots.indicator_chart(d.assign(value=[5.5, 6.0]), unit="%", title="T")
    assert not set(re.findall(r' id="([^"]+)"', other)) & set(ids)  # two charts on one page never share an id


_SEG_RE = re.compile(r'<div title="[^"]*" style="width:([0-9.]+)%;background:(#[0-9a-fA-F]{6});color:(#[0-9a-f]{6})')


def _html_rows(html: str) -> list[list[tuple[float, str, str]]]:
    """Segments (width %, fill, text colour) of every bar row of the HTML bars, top to bottom."""
    bars = re.findall(r'<div style="flex:1 1 auto;display:flex;height:1.5em;[^"]*">(.*?)</div></div>', html)
    return [[(float(w), bg, fg) for w, bg, fg in _SEG_RE.findall(b)] for b in bars]


def test_stacked_shares_chart_is_html_bars_of_the_same_chart():
    out = plots.marks_chart(MARKS, source="ФИС ОКО, ВПР 2023", title="Отметки")
    rows = _html_rows(out)
    assert rows[0] == [(10.0, "#d7301f", "#ffffff"), (40.0, "#fdae61", "#000000"),
                       (30.0, "#a6d96a", "#000000"), (20.0, "#1a9641", "#ffffff")]
    assert [w for w, _, _ in rows[1]] == [5.0, 35.0, 40.0, 20.0]
    assert re.findall(r'line-height:1.5em">(\d*)</div>', out) == ["10", "40", "30", "20", "", "35", "40", "20"]
    swatches = re.findall(r"background:(#[0-9a-f]{6});-webkit-print-color-adjust:exact;print-color-adjust:exact;"
                          r'"></span>(«\d»)', out)
    assert swatches == [(plots.MARK_COLORS[m], f"«{m}»") for m in (2, 3, 4, 5)]
    assert "Источник: ФИС ОКО, ВПР 2023; n — в подписи строки" in out and "http" not in out
    assert out.title == "Отметки"
    ax = out.plot()  # the same chart drawn with matplotlib
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Школа (n = 50)", "Муниципалитет (n = 900)"]
    evil = pd.DataFrame({"group": ['<script>alert("x")</script>'] * 2, "category": ["Понизили", "Повысили"],
                         "share": [50.0, 50.0], "n": [10, 10]})
    out = plots.vpr_vs_journal_chart(evil, title="T <i>", source='src "q" & <u>')
    assert "<script" not in out and "<i>" not in out and "<u>" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out and "src &quot;q&quot; &amp; &lt;u&gt;" in out


def test_evidence_panel_and_detail_rows():
    iv = pd.DataFrame({"group": ["Школа", "Регион"], "mean": [15.0, 10.0], "ci_low": [14.0, 9.8],
                       "ci_high": [16.0, 10.2], "n": [40, 5000]})
    out = plots.evidence_panel(intervals=iv, title="Математика, 5 класс")
    assert out.count('role="img"') == 1 and "Математика, 5 класс" in out
    assert plots.evidence_panel() is None
    d = pd.DataFrame({"group": ["Школа"] * 3, "score": [0, 1, 2], "share": [10.0, 20.0, 70.0], "n": 40})
    detail = plots.vpr_detail_chart(scores=d, tasks=pd.DataFrame(), boundaries={3: 1}, max_score=2)
    assert detail.count('role="img"') == 1 and "Нет результатов по заданиям" in detail
    assert "Нет данных" in plots.trend_chart(pd.DataFrame(columns=["year", "group", "value"]))


def test_shared_text_measuring_and_reused_axes_change_no_byte():
    """msoko's SVG backend (texts measured once per process) writes matplotlib's own bytes, and a reused
    axes draws a chart as a fresh one does; no matplotlib function is patched."""
    import matplotlib.text as mtext
    from matplotlib.backends.backend_svg import RendererSVG

    from msoko.plots import svg_backend

    d = pd.DataFrame({"group": ["Школа"] * 3 + ["Муниципалитет"] * 3, "score": [0, 1, 2] * 2,
                      "share": [10.0, 20.0, 70.0, 30.0, 30.0, 40.0], "n": [40] * 3 + [900] * 3})
    tasks = pd.DataFrame({"task": ["1", "2"], "level": ["Б", "П"], "group": "Школа", "value": [60.0, 20.0], "n": 30})
    measure = mtext._get_text_metrics_with_cache
    saved = svg_backend.BACKEND
    svg_backend.BACKEND = None  # matplotlib's own SVG backend
    try:
        fresh = str(plots.vpr_detail_chart(scores=d, tasks=tasks, boundaries={3: 1}, max_score=2))
    finally:
        svg_backend.BACKEND = saved
    other = d.assign(share=[5.0, 5.0, 90.0] * 2)
    plots.vpr_detail_chart(scores=other, tasks=tasks.assign(value=[90.0, 1.0]), boundaries={3: 2, 4: 3}, max_score=3)
    assert str(plots.vpr_detail_chart(scores=d, tasks=tasks, boundaries={3: 1}, max_score=2)) == fresh
    assert svg_backend._text_metrics.cache_info().hits > 0  # the second drawing measured no text again
    assert mtext._get_text_metrics_with_cache is measure and "_get_font_height_metrics" not in RendererSVG.__dict__
    # an analyst's savefig of the same figure, with either backend, gives the same file
    ax = plots.plot_score_histogram(d, max_score=2)
    a, b = io.StringIO(), io.StringIO()
    ax.figure.savefig(a, format="svg", metadata={"Date": None})
    ax.figure.savefig(b, format="svg", metadata={"Date": None}, backend=svg_backend.BACKEND)
    assert a.getvalue() == b.getvalue() and "<text" in a.getvalue()


def test_kept_axes_give_the_bytes_of_the_whole_drawing():
    """A chart whose axes were drawn before (same box, limits, ticks, titles) is drawn without them and the
    kept axes put back: the same SVG as drawing it whole, the groups numbered as matplotlib numbers them;
    an axis is kept on its own (x and y apart)."""
    from msoko.plots import embed

    d = pd.DataFrame({"group": ["Школа"] * 3 + ["Муниципалитет"] * 3, "score": [0, 1, 2] * 2,
                      "share": [10.0, 20.0, 70.0, 30.0, 30.0, 40.0], "n": [40] * 3 + [900] * 3})
    other = d.assign(share=[70.0, 20.0, 10.0, 40.0, 30.0, 30.0])  # the same axes, other bars and points
    embed._AXES_SVG.clear()
    plots.score_histogram_chart(d, boundaries={3: 1}, max_score=2)
    assert len(embed._AXES_SVG) == 2  # its x and its y axis
    kept = str(plots.score_histogram_chart(other, boundaries={3: 1}, max_score=2))
    assert len(embed._AXES_SVG) == 2  # the second chart used the first one's axes
    embed._AXES_SVG.clear()
    whole = str(plots.score_histogram_chart(other, boundaries={3: 1}, max_score=2))
    assert kept == whole and 'role="img"' in kept
    # another score scale: the x axis drawn (and kept), the y axis taken; the same bytes as drawn whole
    four = d.assign(score=[0, 2, 4] * 2)
    half = str(plots.score_histogram_chart(four, boundaries={3: 1}, max_score=4))
    assert len(embed._AXES_SVG) == 3
    embed._AXES_SVG.clear()
    assert half == str(plots.score_histogram_chart(four, boundaries={3: 1}, max_score=4))


def test_axis_with_other_tick_labels_is_stamped_with_the_bytes_of_the_whole_drawing():
    """An indicator chart's row labels carry each school's n («Школа (n = 31)»): its y axis is kept once per
    layout and the labels' texts stamped into it. A chart drawn after another school's (other n, other values)
    is the chart drawn alone; a label of another height or an empty one is not stamped over a kept one."""
    from msoko.plots import embed, theme

    theme.use_theme()

    def frame(n_school, n_muni=900.0, value=50.0, groups=("Школа", "Похожие школы", "Муниципалитет", "Регион")):
        return pd.DataFrame({"group": list(groups), "value": [value, 55.0, 60.0, 58.0][:len(groups)],
                             "ci_low": [value - 5, 52.0, np.nan, np.nan][:len(groups)],
                             "ci_high": [value + 5, 58.0, np.nan, np.nan][:len(groups)],
                             "n": [n_school, 3000.0, n_muni, np.nan][:len(groups)]})

    first, second = frame(120.0), frame(345.0, value=48.0)   # labels of the same length: the same layout
    embed._AXES_SVG.clear()
    str(plots.indicator_chart(first, unit="%", title="Доля"))
    kept = [k for k in embed._AXES_SVG if k[0] == "y"]
    assert len(kept) == 1 and isinstance(embed._AXES_SVG[kept[0]], tuple)   # a template cut at the labels
    stamped = str(plots.indicator_chart(second, unit="%", title="Доля"))
    assert [k for k in embed._AXES_SVG if k[0] == "y"] == kept               # the second chart took the kept axis
    assert "Школа (n = 345)" in stamped and "Школа (n = 120)" not in stamped
    embed._AXES_SVG.clear()
    assert stamped == str(plots.indicator_chart(second, unit="%", title="Доля"))
    # a label with a descender («ц» of «Муниципалитет» against «Регион»), a different count, a text to escape
    for other in (frame(345.0, groups=("Школа", "Похожие школы", "Регион", "Муниципалитет")),
                  frame(12.0, groups=("Школа", "Похожие школы", "Муниципалитет")),
                  frame(345.0, groups=("Школа", "Похожие <школы> & co", "Муниципалитет", "Регион"))):
        embed._AXES_SVG.clear()
        str(plots.indicator_chart(first, unit="%", title="Доля"))
        after = str(plots.indicator_chart(other, unit="%", title="Доля"))
        embed._AXES_SVG.clear()
        assert after == str(plots.indicator_chart(other, unit="%", title="Доля"))
    assert "Похожие &lt;школы&gt; &amp; co (n = 3000)" in after
    # an axis whose texts are not its labels in order is not kept as a template
    assert embed._label_template('<g><text x="1">a</text><text>b</text></g>', ("b", "a"), ("",)) is None
    assert embed._stamped(embed._label_template('<g><text x="1">a</text><text>b</text></g>', ("a", "", "b"), ("",)),
                          ("x&", "", "y")) == '<g><text x="1">x&amp;</text><text>y</text></g>'


def test_svg_clean_up_without_leading_whitespace_patterns_is_the_regex():
    """embed's literal-led clean-up does what the ``\\s*``-led regular expressions did (each match removed
    with the whitespace before it; indentation after a newline dropped), on the awkward cases."""
    from msoko.plots import embed

    s = ("<svg>\n <defs>\n  <style>x</style>\n </defs>\n\t\r\n <metadata>m</metadata>  <g>\xa0<defs><clipPath id='a'>"
         "</clipPath>\n </defs>\n<defs><path id='m'/></defs>\n  \n \u2028 \n<defs>\n<clipPath id='b'>r</clipPath>"
         "<clipPath id='c'/>\n</defs> x \n  ")
    for pat, count in ((embed._STYLE_RE, 1), (embed._META_RE, 1), (embed._CLIPDEF_RE, 0)):
        want = re.sub(r"\s*" + pat.pattern, "", s, count=count, flags=pat.flags)
        assert embed._cut(s, pat, count) == want and want != s
    assert embed._cut("<g/>", embed._META_RE, 1) == "<g/>"
    for text in (s, "a", "\n", "a\n  \n\tb \n c\n", " \n\xa0x\n\n\ny\n \n"):
        assert embed._collapse_indent(text).replace(" \n", " ").strip() == \
            re.sub(r"\n\s*", "\n", text).replace(" \n", " ").strip()


def test_line_and_band_draw_what_plot_and_fill_between_draw():
    """_draw.line and _draw.band (no data-limit update) give the SVG of ax.plot and ax.fill_between on a
    chart whose limits are set afterwards, and keep the legend entry of a labelled line."""
    from msoko.plots import _draw, embed, theme

    def drawn(use_helpers: bool) -> tuple[str, list]:
        ax = theme.new_axes(380, 230, left=56, right=16, top=12, bottom=36)
        x, lo, v, hi = np.array([0.0, 1, 2]), np.array([1.0, 2, 1.5]), np.array([2.0, 3, 2.5]), np.array([3.0, 4, 4])
        if use_helpers:
            _draw.band(ax, x, lo, hi, "#1f4e79", alpha=0.12, zorder=2)
            _draw.line(ax, x, v, "#1f4e79", cls="line", width=1.8, label="Школа", zorder=3)
        else:
            plots.theme.mark(ax.fill_between(x, lo, hi, color="#1f4e79", alpha=0.12, linewidth=0, zorder=2), "band")
            (ln,) = ax.plot(x, v, color="#1f4e79", linewidth=1.8, label="Школа", zorder=3)
            plots.theme.mark(ln, "line")
        ax.set_xlim(-0.3, 2.3)
        ax.set_ylim(0, 5)
        return embed._savefig(ax.figure), embed.legend_items(ax)

    helpers, plain = drawn(True), drawn(False)
    assert helpers == plain and "fill-opacity: 0.12" in helpers[0] and helpers[1] == [("Школа", "#1f4e79", "line")]


def test_report_figure_at_72_dpi_gives_the_bytes_of_a_96_dpi_figure():
    """A report figure is made at the SVG's 72 dpi and saved at it (no dpi change, no transform invalidated):
    the SVG is the one a 96-dpi figure saved at savefig.dpi gives; a trend drawn after other charts of its
    kind (a reused figure) is the trend drawn alone."""
    from msoko.plots import embed, theme
    from msoko.plots.indicators import _TREND_BOX

    d = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Муниципалитет"] * 3 + ["Школа"] * 3,
                      "value": [20.0, 25, 30, 10, 40, 35], "ci_low": [np.nan] * 3 + [5.0, 30, 20],
                      "ci_high": [np.nan] * 3 + [15.0, 50, 50], "n": [900] * 3 + [30, 31, 32]})
    other = d.assign(value=[60.0, 50, 40, 70, 30, 55], group=["Регион"] * 3 + ["Школа"] * 3)
    theme._POOL.clear()
    embed._AXES_SVG.clear()
    alone = str(plots.trend_chart(d, unit="%"))
    (ax,) = [a for k, a in theme._POOL.items() if k[0] == "trend"]
    assert ax.figure.dpi == 72
    plots.trend_chart(other, unit="%")
    assert str(plots.trend_chart(d, unit="%")) == alone  # nothing of the other chart leaks into this one
    ax96 = theme.new_axes(**_TREND_BOX)
    assert ax96.figure.dpi == 96
    plots.plot_trend(d, unit="%", ax=ax96)
    embed._AXES_SVG.clear()
    theme._POOL.clear()
    ax72 = theme.report_axes("trend", **_TREND_BOX)
    plots.plot_trend(d, unit="%", ax=ax72)
    assert embed._savefig(ax72.figure) == embed._savefig(ax96.figure)


def test_caption_n_of_the_first_group_from_numpy_rows():
    """The caption's n (the school's, or the first group's) read from row positions, as the pandas selection
    gave it: the largest n of the group's rows, NaN rows skipped, None when the group has no n."""
    from msoko.plots._draw import max_n, n_of

    d = pd.DataFrame({"group": pd.array(["Школа", "Регион", "Школа", None, "Школа"], dtype="string"),
                      "n": [30.0, 9000.0, np.nan, 5.0, 32.0]})
    assert list(n_of(d, "Школа")[[0, 2]]) == [30.0, 32.0] and np.isnan(n_of(d, "Школа")[1])
    assert max_n(d, "Школа") == 32 and max_n(d, "Регион") == 9000
    assert max_n(d, "Муниципалитет") is None and max_n(d.assign(n=np.nan), "Школа") is None
    assert max_n(d.drop(columns="n"), "Школа") is None
    tr = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Школа"] * 3 + ["Регион"] * 3,
                       "value": [1.0, 2, 3, 2, 2, 2], "n": [12000.0, 31, 32, 9000, 9000, 9000]})
    assert "n = 12\u202f000 / 31 / 32;" in _caption(plots.trend_chart(tr))  # the school's rows, in their order


def _charts_of_every_mark() -> list[str]:
    """One report chart of each kind, with real-looking values: points (filled, ringed, translucent), clipped
    texts (values, a gap), bands, bars, segments, dashed reference lines with their names."""
    from msoko.plots import embed

    groups = ["Школа", "Похожие школы", "Муниципалитет", "Регион"]
    ind = pd.DataFrame({"group": groups, "value": [61.3, 55.2, 58.9, 57.4], "ci_low": [52.1, 51.0, np.nan, np.nan],
                        "ci_high": [70.2, 59.6, np.nan, np.nan], "n": [31.0, 2840.0, 912.0, np.nan]})
    trend = pd.DataFrame({"year": [2021, 2022, 2023] * 3, "group": ["Школа"] * 3 + ["Муниципалитет"] * 3 + ["Регион"] * 3,
                          "value": [48.0, 52.5, 61.3, 55.1, 56.0, 58.9, 57.0, 57.2, 57.4],
                          "ci_low": [40.2, 44.0, 52.1] + [np.nan] * 6, "ci_high": [55.8, 61.0, 70.2] + [np.nan] * 6,
                          "n": [29, 33, 31, 900, 905, 912, 0, 0, 0]})
    scores = pd.DataFrame({"group": ["Школа"] * 6 + ["Муниципалитет"] * 6, "score": list(range(6)) * 2,
                           "share": [3.2, 9.7, 22.6, 29.0, 25.8, 9.7, 5.1, 12.2, 25.0, 27.3, 20.1, 10.3],
                           "n": [31] * 6 + [912] * 6})
    iv = pd.DataFrame({"group": ["Школа", "Регион"], "mean": [15.1, 10.2], "ci_low": [14.0, 9.9],
                       "ci_high": [16.2, 10.5], "n": [40, 5120]})
    bunch = pd.DataFrame({"score": [8.0, 9.0, 10.0, 11.0, 12.0], "count": [4, 3, 11, 5, 4],
                          "expected": [4.1, 4.6, 5.0, 5.1, 4.9]})
    cohort = pd.DataFrame({"school_id": [f"s{i}" for i in range(12)],
                           "k": [0.92, 1.01, 0.97, 1.05, 0.88, 1.10, 0.95, 1.02, 1.60, 0.99, 1.03, 0.94],
                           "flagged": [False] * 8 + [True] + [False] * 3})
    levels = pd.DataFrame({"level": ["Б", "П", "В"] * 2, "group": ["Школа"] * 3 + ["Регион"] * 3,
                           "value": [64.0, 35.5, 12.0, 60.2, 31.0, 14.8], "n": [31] * 3 + [5120] * 3})
    tasks = pd.DataFrame({"task": ["1", "2", "3"] * 2, "level": ["Б", "П", "В"] * 2,
                          "group": ["Школа"] * 3 + ["Регион"] * 3, "value": [71.0, 38.7, 9.7, 66.0, 30.1, 12.2],
                          "n": [31] * 3 + [5120] * 3})
    out = []
    for draw in (lambda: plots.indicator_chart(ind, unit="%", target=60.0, title="Доля"),
                 lambda: plots.trend_chart(trend, unit="%"),
                 lambda: plots.score_histogram_chart(scores, boundaries={3: 2, 4: 4}, max_score=5),
                 lambda: plots.task_completion_chart(tasks),
                 lambda: plots.interval_chart(iv),
                 lambda: plots.bunching_chart(bunch, boundaries={4: 10}),
                 lambda: plots.cohort_k_chart(cohort, highlight="s3"),
                 lambda: plots.task_levels_chart(levels)):
        embed._AXES_SVG.clear()   # each chart drawn whole
        out.append(str(draw()))
    return out


def test_report_renderer_gives_the_bytes_of_matplotlibs_svg_backend():
    """The renderer of a report chart (svg_backend.RendererSVGReport: a line's markers styled once, clips marked
    with one id and not defined) gives, once embedded, the bytes matplotlib's own SVG backend gives."""
    from msoko.plots import svg_backend

    ours = _charts_of_every_mark()
    saved = svg_backend.BACKEND
    svg_backend.BACKEND = None  # matplotlib's own SVG backend
    try:
        theirs = _charts_of_every_mark()
    finally:
        svg_backend.BACKEND = saved
    assert ours == theirs
    assert sum(c.count("<use ") for c in ours) >= 20 and all("url(" not in c for c in ours)
    # the report renderer's raw SVG: clipped elements marked (embed removes the marks), no clip defined
    ax = plots.plot_indicator(pd.DataFrame({"group": ["Школа", "Регион"], "value": [61.3, 57.4],
                                            "ci_low": [52.1, np.nan], "ci_high": [70.2, np.nan], "n": [31.0, np.nan]}))
    raw = {}
    for report in (False, True):
        buf = io.StringIO()
        ax.figure.savefig(buf, format="svg", metadata={"Date": None}, backend=svg_backend.MODULE, report=report)
        raw[report] = buf.getvalue()
    assert "<clipPath" in raw[False] and "<clipPath" not in raw[True]
    assert raw[True].count('clip-path="url(#p)"') == len(re.findall(r' clip-path="url\(#', raw[False])) > 3
    assert re.sub(r' clip-path="url\(#[^)"]*\)"', "", raw[True]) == \
        re.sub(r'\s*<defs>\s*(?:<clipPath\b.*?</clipPath>\s*)+</defs>', "",
               re.sub(r' clip-path="url\(#[^)"]*\)"', "", raw[False]), flags=re.S)


def test_axes_settled_by_an_earlier_chart_draw_a_chart_as_new_axes_do():
    """tick_params and grid are applied once per reused axes (theme.settle): a chart with more rows, years or
    levels than the first one of its axes (ticks made after the settings) is the chart drawn on new axes."""
    from msoko.plots import embed, theme

    groups = ["Школа", "Похожие школы", "Муниципалитет", "Регион"]
    ind = pd.DataFrame({"group": groups, "value": [61.3, 55.2, 58.9, 57.4], "ci_low": [52.1, 51.0, np.nan, np.nan],
                        "ci_high": [70.2, 59.6, np.nan, np.nan], "n": [31.0, 2840.0, 912.0, np.nan]})
    trend = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Школа"] * 3 + ["Регион"] * 3,
                          "value": [48.0, 52.5, 61.3, 57.0, 57.2, 57.4], "n": [29, 33, 31, 0, 0, 0]})
    iv = pd.DataFrame({"group": ["Школа", "Похожие школы", "Регион"], "mean": [15.1, 12.0, 10.2],
                       "ci_low": [14.0, 11.1, 9.9], "ci_high": [16.2, 12.9, 10.5], "n": [40, 800, 5120]})
    levels = pd.DataFrame({"level": ["Б", "П", "В"] * 2, "group": ["Школа"] * 3 + ["Регион"] * 3,
                           "value": [64.0, 35.5, 12.0, 60.2, 31.0, 14.8], "n": [31] * 3 + [5120] * 3})
    bunch = pd.DataFrame({"score": np.arange(4.0, 19.0), "count": [1, 2, 2, 3, 4, 3, 9, 4, 4, 3, 2, 2, 1, 1, 1]})
    big = [lambda: plots.indicator_chart(ind, unit="%", target=60.0), lambda: plots.trend_chart(trend, unit="%"),
           lambda: plots.interval_chart(iv), lambda: plots.task_levels_chart(levels),
           lambda: plots.bunching_chart(bunch, boundaries={4: 10})]
    small = [lambda: plots.indicator_chart(ind.iloc[:2], unit="%"),
             lambda: plots.trend_chart(trend[trend["year"] > 2021]),
             lambda: plots.interval_chart(iv.iloc[[0, 2]]),
             lambda: plots.task_levels_chart(levels[levels["level"] == "Б"]),
             lambda: plots.bunching_chart(bunch.iloc[:3])]

    def drawn(draw) -> str:
        embed._AXES_SVG.clear()   # the axes drawn, not taken from a kept one
        return str(draw())

    theme._POOL.clear()
    fresh = [drawn(d) for d in big]
    theme._POOL.clear()
    for d in small:
        drawn(d)
    assert [drawn(d) for d in big] == fresh
    # and the settings are there: grid lines only across the values' axis (x: 50, 55, …, 75; y: 45, 50, …, 65)
    grid = [len(re.findall(r'<path d="[^"]*" style="fill: none; stroke: #e6e6e6', c)) for c in fresh[:2]]
    assert grid == [6, 5]


def test_report_axes_draw_the_bytes_of_matplotlibs_axes():
    """A report chart's axes (theme.ReportAxes: its axes do not measure their tick labels while drawing, the
    axis titles being placed by hand and no offset drawn) give the SVG of matplotlib's own Axes, the axes drawn
    whole; a tight bounding box still measures the labels."""
    from msoko.plots import embed, indicators, objectivity, theme, vpr

    groups = ["Школа", "Похожие школы", "Муниципалитет", "Регион"]
    ind = pd.DataFrame({"group": groups, "value": [61.3, 55.2, 58.9, 57.4], "ci_low": [52.1, 51.0, np.nan, np.nan],
                        "ci_high": [70.2, 59.6, np.nan, np.nan], "n": [31.0, 2840.0, 912.0, np.nan]})
    trend = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Школа"] * 3 + ["Регион"] * 3,
                          "value": [48.0, 52.5, 61.3, 57.0, 57.2, 57.4], "n": [29, 33, 31, 0, 0, 0]})
    scores = pd.DataFrame({"group": ["Школа"] * 6 + ["Регион"] * 6, "score": list(range(6)) * 2,
                           "share": [3.2, 9.7, 22.6, 29.0, 25.8, 9.7, 5.1, 12.2, 25.0, 27.3, 20.1, 10.3],
                           "n": [31] * 6 + [5120] * 6})
    tasks = pd.DataFrame({"task": ["1", "2", "3"] * 2, "level": ["Б", "П", "В"] * 2,
                          "group": ["Школа"] * 3 + ["Регион"] * 3, "value": [71.0, 38.7, 9.7, 66.0, 30.1, 12.2],
                          "n": [31] * 3 + [5120] * 3})
    iv = pd.DataFrame({"group": ["Школа", "Регион"], "mean": [15.1, 10.2], "ci_low": [14.0, 9.9],
                       "ci_high": [16.2, 10.5], "n": [40, 5120]})
    bunch = pd.DataFrame({"score": np.arange(4.0, 19.0), "count": [1, 2, 2, 3, 4, 3, 9, 4, 4, 3, 2, 2, 1, 1, 1]})
    cases = [(lambda: plots.indicator_chart(ind, unit="%", title="Доля"), indicators._indicator_box(ind),
              lambda ax: plots.plot_indicator(ind, unit="%", ax=ax), "Доля"),
             (lambda: plots.trend_chart(trend, unit="%"), indicators._TREND_BOX,
              lambda ax: plots.plot_trend(trend, unit="%", ax=ax), "Динамика за три года"),
             (lambda: plots.score_histogram_chart(scores, max_score=5), vpr._HIST_BOX,
              lambda ax: plots.plot_score_histogram(scores, max_score=5, ax=ax), "Распределение первичных баллов"),
             (lambda: plots.task_completion_chart(tasks), vpr._tasks_box(tasks),
              lambda ax: plots.plot_task_completion(tasks, ax=ax), "Выполнение заданий"),
             (lambda: plots.interval_chart(iv), objectivity._interval_box(iv),
              lambda ax: plots.plot_interval_vs_reference(iv, ax=ax), "Интервал школы и интервал сравнения"),
             (lambda: plots.bunching_chart(bunch), objectivity._BUNCHING_BOX,
              lambda ax: plots.plot_bunching(bunch, ax=ax), "Скопление баллов у границ отметок")]
    for chart, box, draw, title in cases:
        embed._AXES_SVG.clear()
        ours = re.search(r"<svg xmlns=.*</svg>", str(chart()), re.S).group(0)
        ax = theme.new_axes(**box, dpi=72)   # matplotlib's Axes
        assert type(ax.xaxis).__name__ == "XAxis"
        draw(ax)
        embed._AXES_SVG.clear()
        assert ours == embed.svg(ax.figure, label=title), title
        report_ax = next(a for k, a in theme._POOL.items() if a.figure.__dict__.get("_msoko_marks") is not None
                         and k[1:] == tuple(box.values()))
        assert isinstance(report_ax.xaxis, theme._ReportXAxis) and isinstance(report_ax.yaxis, theme._ReportYAxis)
    draw(report_ax)  # the last case drawn again on its report axes: a tight box measures the tick labels
    assert report_ax.get_tightbbox().bounds == pytest.approx(ax.get_tightbbox().bounds)
