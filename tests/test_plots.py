"""msoko.plots: every chart takes long-form data and returns an HTML fragment (inline SVG or
HTML bars) in the shared palette, with the source and n under it. Geometry is checked against
the data: positions are linear in the values, thresholds and boundaries sit where they should."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from msoko import plots

NS = "{http://www.w3.org/2000/svg}"


def _svg(chart: str) -> ET.Element:
    m = re.findall(r'<svg\b[^>]*role="img".*?</svg>', str(chart), flags=re.S)  # not the legend swatches
    assert len(m) == 1
    return ET.fromstring(m[0])


def _marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(NS + tag) if cls in (e.get("class") or "").split()]


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(NS + "text")]


def _caption(chart: str) -> str:
    m = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", str(chart))
    assert len(m) == 1
    return m[0]


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


def test_score_histogram_bars_proportional_and_boundaries_between_scores():
    share = np.array([2.0, 4.0, 8.0] + [86 / 18] * 18)
    d = pd.DataFrame({"group": ["Школа"] * 21, "score": range(21), "share": share, "n": 40})
    out = plots.plot_score_histogram(d, boundaries={3: 6, 4: 10, 5: 15}, max_score=20)
    root = _svg(out)
    xs = sorted(float(e.get("data-x")) for e in _marks(root, "line", "boundary"))
    assert xs == [5.5, 9.5, 14.5]
    assert {"«3» от 6", "«4» от 10", "«5» от 15"} <= set(_texts(root))
    bars = _marks(root, "rect", "bar")
    assert len(bars) == 21
    h = [float(b.get("height")) for b in bars]
    assert h[1] / h[0] == pytest.approx(2, rel=0.01) and h[2] / h[0] == pytest.approx(4, rel=0.01)
    # the boundary line for «3» sits halfway between the bars of scores 5 and 6
    centre = [float(b.get("x")) + float(b.get("width")) / 2 for b in bars]
    line3 = next(e for e in _marks(root, "line", "boundary") if e.get("data-mark") == "3")
    assert float(line3.get("x1")) == pytest.approx((centre[5] + centre[6]) / 2, abs=0.02)
    assert all(b.get("fill") == plots.GROUP_COLORS["Школа"] for b in bars)
    assert "n = 40" in _caption(out)


def test_task_completion_thresholds_by_level():
    d = pd.DataFrame({"task": ["1", "2", "3"] * 2, "level": ["Б", "П", "В"] * 2,
                      "group": ["Школа"] * 3 + ["Муниципалитет"] * 3, "value": [60, 20, 10, 55, 35, 12], "n": 30})
    root = _svg(plots.plot_task_completion(d, thresholds={"Б": 50, "П": 30, "В": 15}))
    thr = {e.get("data-level"): float(e.get("y1")) for e in _marks(root, "line", "threshold")}
    assert set(thr) == {"Б", "П", "В"}
    # y is linear in the value: (y15 − y30) / (y30 − y50) = 15 / 20
    assert (thr["В"] - thr["П"]) / (thr["П"] - thr["Б"]) == pytest.approx(15 / 20, rel=1e-3)
    bars = _marks(root, "rect", "bar")  # bars = the school
    assert [float(b.get("data-value")) for b in bars] == [60, 20, 10]
    assert {b.get("fill") for b in bars} == {plots.GROUP_COLORS["Школа"]}
    # the municipality's dash of task 2 is at 35 %: between the П threshold (30) and Б (50)
    ticks = [e for e in _marks(root, "line", "tick") if e.get("data-x") == "2"]
    assert len(ticks) == 1 and thr["Б"] < float(ticks[0].get("y1")) < thr["П"]
    assert ticks[0].get("stroke") == plots.GROUP_COLORS["Муниципалитет"]


def test_indicator_interval_order_position_and_target():
    d = pd.DataFrame({"group": ["Муниципалитет", "Школа", "Похожие школы"], "value": [9.0, 18.0, 12.0],
                      "ci_low": [8.0, 11.0, np.nan], "ci_high": [10.0, 27.0, np.nan], "n": [900, 62, 300]})
    out = plots.plot_indicator(d, unit="%", target=10)
    root = _svg(out)
    pts = _marks(root, "circle", "point")
    # the order is fixed: school on top, then similar schools, then the municipality
    assert [p.get("data-group") for p in sorted(pts, key=lambda p: float(p.get("cy")))] == [
        "Школа", "Похожие школы", "Муниципалитет"]
    labels = [t for t in _texts(root) if "(n = " in t]
    assert labels == ["Школа (n = 62)", "Похожие школы (n = 300)", "Муниципалитет (n = 900)"]
    ci = {e.get("data-group"): e for e in _marks(root, "line", "ci")}
    assert set(ci) == {"Школа", "Муниципалитет"}  # no interval given for similar schools, none drawn
    s = ci["Школа"]
    x1, x2 = float(s.get("x1")), float(s.get("x2"))
    cx = float(next(p for p in pts if p.get("data-group") == "Школа").get("cx"))
    assert (cx - x1) / (x2 - x1) == pytest.approx((18 - 11) / (27 - 11), abs=1e-3)
    assert s.get("stroke") == plots.GROUP_COLORS["Школа"]
    (t,) = _marks(root, "line", "target")
    m = next(p for p in pts if p.get("data-group") == "Муниципалитет")
    assert float(t.get("x1")) > float(m.get("cx"))  # 10 is right of the municipality's 9
    assert "95 % доверительный интервал" in _caption(out) and "n = 62" in _caption(out)


def test_trend_lines_colours_band_and_no_data():
    d = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Школа"] * 3 + ["Муниципалитет"] * 3,
                      "value": [1, 2, 3, 2, 2, 2], "ci_low": [0.5, 1.5, 2.5] + [np.nan] * 3,
                      "ci_high": [1.5, 2.5, 3.5] + [np.nan] * 3, "n": [30, 31, 32, 0, 0, 0]})
    out = plots.plot_trend(d, unit="%")
    root = _svg(out)
    lines = _marks(root, "polyline", "line")
    assert [e.get("stroke") for e in lines] == [plots.GROUP_COLORS["Школа"], plots.GROUP_COLORS["Муниципалитет"]]
    assert len(_marks(root, "polygon", "band")) == 1  # only the school has an interval
    ys = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.02) and ys[0] > ys[2]  # 1, 2, 3: evenly rising
    assert "2021" in _texts(root) and "2023" in _texts(root)
    assert "n = 30 / 31 / 32" in _caption(out)
    assert "Нет данных" in plots.plot_trend(d.iloc[0:0])


def test_vpr_vs_journal_categories_in_order():
    d = pd.DataFrame({"group": ["Школа"] * 3, "category": ["Повысили", "Понизили", "Подтвердили"],
                      "share": [30.0, 20.0, 50.0], "n": 40})
    out = plots.plot_vpr_vs_journal(d)
    (row,) = _html_rows(out)
    assert [(bg, w) for w, bg, _ in row] == [(plots.JOURNAL_COLORS["Понизили"], 20.0),
                                             (plots.JOURNAL_COLORS["Подтвердили"], 50.0),
                                             (plots.JOURNAL_COLORS["Повысили"], 30.0)]


def test_objectivity_pictures():
    iv = pd.DataFrame({"group": ["Школа", "Регион"], "mean": [15.0, 10.0], "ci_low": [14.0, 9.8],
                       "ci_high": [16.0, 10.2], "n": [40, 5000]})
    (gap,) = _marks(_svg(plots.plot_interval_vs_reference(iv)), "rect", "gap")  # the gap is shaded
    assert (float(gap.get("data-lo")), float(gap.get("data-hi"))) == (10.2, 14.0)
    overlap = iv.assign(ci_low=[10.0, 9.8])
    assert _marks(_svg(plots.plot_interval_vs_reference(overlap)), "rect", "gap") == []
    b = pd.DataFrame({"score": range(11), "count": [1, 2, 3, 4, 5, 12, 4, 3, 2, 1, 0],
                      "expected": [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0]})
    root = _svg(plots.plot_bunching(b, boundaries={3: 5}))
    flagged = _marks(root, "rect", "flag")
    assert len(flagged) == 1 and float(flagged[0].get("data-value")) == 12
    assert flagged[0].get("fill") == plots.FLAG_COLOR
    k = pd.DataFrame({"school_id": list("abcdefgh"), "k": [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 3.0],
                      "flagged": [False] * 7 + [True]})
    root = _svg(plots.plot_cohort_k(k, highlight="h"))
    q1, q3 = np.percentile(k["k"], [25, 75])
    xs = sorted(float(e.get("data-x")) for e in _marks(root, "line", "fence"))
    assert xs == pytest.approx([q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)], abs=1e-6)
    assert len(_marks(root, "circle", "school")) == 8 and len(_marks(root, "circle", "flag")) == 1
    (ring,) = _marks(root, "circle", "highlight")
    assert float(ring.get("data-value")) == 3.0
    assert not any("h" == t for t in _texts(root))  # schools are never labelled


def test_mkdo_areas_scale():
    d = pd.DataFrame({"area": ["А", "Б"] * 2, "group": ["Школа"] * 2 + ["Муниципалитет"] * 2,
                      "score": [1.5, 2.0, 1.8, 2.2], "n": [1, 1, 30, 30]})
    root = _svg(plots.plot_mkdo_areas(d))
    bars = _marks(root, "rect", "bar")
    assert sorted(float(b.get("data-value")) for b in bars) == [1.5, 1.8, 2.0, 2.2]
    w = {float(b.get("data-value")): float(b.get("width")) for b in bars}
    assert w[2.2] / w[1.5] == pytest.approx(2.2 / 1.5, rel=1e-3)  # bars start at 0


def test_charts_are_deterministic_self_contained_and_escaped():
    d = pd.DataFrame({"group": ["Школа", '<script>alert("x")</script>'], "value": [5.0, 6.0],
                      "ci_low": [4.0, 5.5], "ci_high": [6.0, 6.5], "n": [30, 40]})
    a = plots.plot_indicator(d, unit="%", title="T <i>", source="src & <u>")
    b = plots.plot_indicator(d.copy(), unit="%", title="T <i>", source="src & <u>")
    assert a == b
    assert "<script" not in a and "<i>" not in a and "<u>" not in a and "href" not in a
    assert "&lt;script&gt;" in a and "src &amp; &lt;u&gt;" in a
    _svg(a)  # well-formed XML
    assert a._repr_html_() == str(a)
    k = pd.DataFrame({"school_id": list("abcdef"), "k": [1.0, 1.1, 0.9, 1.05, 0.95, 2.0]})
    assert plots.plot_cohort_k(k) == plots.plot_cohort_k(k)  # the jitter is seeded


def test_russian_number_format():
    assert plots.fmt_num(1108) == "1\u202f108"
    assert plots.fmt_num(12.345, 1) == "12,3"
    assert plots.fmt_num(np.nan) == "—"
    assert plots.fmt_num(-1e-17, 1) == "0,0"


# --- HTML stacked bars ------------------------------------------------------------------------

_SEG_RE = re.compile(r'<div title="[^"]*" style="width:([0-9.]+)%;background:(#[0-9a-fA-F]{6});color:(#[0-9a-f]{6})')


def _html_rows(html: str) -> list[list[tuple[float, str, str]]]:
    """Segments (width %, fill, text colour) of every bar row, top to bottom."""
    bars = re.findall(r'<div style="flex:1 1 auto;display:flex;height:1.5em;[^"]*">(.*?)</div></div>', html)
    return [[(float(w), bg, fg) for w, bg, fg in _SEG_RE.findall(b)] for b in bars]


def _html_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_html_marks_bars_widths_colours_labels_and_caption():
    out = plots.plot_marks_distribution(MARKS, source="ФИС ОКО, ВПР 2023", title="Отметки")
    text = _html_text(out)
    rows = _html_rows(out)
    assert len(rows) == 2
    # school: 10/40/30/20 in mark order with the mark colours; municipality 5/35/40/20
    assert rows[0] == [(10.0, "#d7301f", "#ffffff"), (40.0, "#fdae61", "#000000"),
                       (30.0, "#a6d96a", "#000000"), (20.0, "#1a9641", "#ffffff")]
    assert [w for w, _, _ in rows[1]] == [5.0, 35.0, 40.0, 20.0]
    assert [bg for _, bg, _ in rows[1]] == [plots.MARK_COLORS[m] for m in (2, 3, 4, 5)]
    for r in rows:
        assert sum(w for w, _, _ in r) == pytest.approx(100, abs=0.01)
    assert "Школа (n = 50)" in text and "Муниципалитет (n = 900)" in text
    assert text.index("Школа (n = 50)") < text.index("Муниципалитет (n = 900)")
    # the 5 % segment is too narrow for its number, the others carry it
    assert re.findall(r'line-height:1.5em">(\d*)</div>', out) == ["10", "40", "30", "20", "", "35", "40", "20"]
    # legend: one swatch per mark, in order
    assert re.findall(r'background:(#[0-9a-f]{6});-webkit-print-color-adjust:exact;print-color-adjust:exact;"></span>'
                      r'(«\d»)', out) == [(plots.MARK_COLORS[m], f"«{m}»") for m in (2, 3, 4, 5)]
    assert "Источник: ФИС ОКО, ВПР 2023; n — в подписи строки" in out
    assert "print-color-adjust:exact" in out and "<script" not in out and "http" not in out


def test_html_bars_uneven_shares_sum_to_100_within_rounding():
    d = pd.DataFrame({"group": ["4 кл., Математика: школа"] * 3, "category": plots.JOURNAL_ORDER,
                      "share": [100 / 3] * 3, "n": [6] * 3})
    out = plots.plot_vpr_vs_journal(d)
    (row,) = _html_rows(out)
    assert [w for w, _, _ in row] == [33.333] * 3
    assert sum(w for w, _, _ in row) == pytest.approx(100, abs=0.01)
    assert [bg for _, bg, _ in row] == [plots.JOURNAL_COLORS[c] for c in plots.JOURNAL_ORDER]
    assert "4 кл., Математика: школа (n = 6)" in _html_text(out)
    assert "понизили: отметка ВПР ниже журнальной" in out


def test_html_bars_escape_every_text_and_reject_bad_colours():
    d = pd.DataFrame({"group": ['<script>alert("x")</script>'] * 2, "category": ["<b>", "B&C"],
                      "share": [50.0, 50.0], "n": [10, 10]})
    out = plots.html_stacked_bars(d, categories=["<b>", "B&C"], colors={"<b>": "#000000", "B&C": "#ffffff"},
                                  title="T <i>", source_note='src "q" & <u>', note="<img src=x>")
    assert "<script" not in out and "<b>" not in out and "<i>" not in out and "<u>" not in out
    assert "<img" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; (n = 10)" in _html_text(out)
    assert "&lt;b&gt;" in out and "B&amp;C" in out and "T &lt;i&gt;" in out
    assert "src &quot;q&quot; &amp; &lt;u&gt;" in out and "&lt;img src=x&gt;" in out
    with pytest.raises(ValueError):
        plots.html_stacked_bars(d, categories=["<b>", "B&C"], colors={"<b>": "red;background:url(x)", "B&C": "#fff"},
                                title="t", source_note="s")


def test_html_bars_small_rows_show_no_shares():
    d = pd.DataFrame({"group": ["Школа"] * 4, "mark": [2, 3, 4, 5], "share": [25.0] * 4, "n": [4] * 4})
    out = plots.plot_marks_distribution(d)
    assert _html_rows(out) == []
    assert "Школа (n = 4)" in _html_text(out) and "меньше 5 участников — не показывается" in out
