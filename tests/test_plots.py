"""msoko.plots: every chart takes long-form data and ax=, returns the Axes, uses the shared
palette, and writes source and n under the chart."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from msoko import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _caption(ax) -> str:
    caps = [t.get_text() for t in ax.texts if t.get_gid() == "msoko-caption"]
    assert len(caps) == 1
    return caps[0].replace("\n", " ")


def _rows_top_down(ax) -> list[str]:
    pairs = zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()))
    return [label for _, label in sorted(pairs, key=lambda p: -p[0])]


MARKS = pd.DataFrame({
    "group": ["Школа"] * 4 + ["Муниципалитет"] * 4,
    "mark": [2, 3, 4, 5] * 2,
    "share": [10, 40, 30, 20, 5, 35, 40, 20],
    "n": [50] * 4 + [900] * 4,
})


def test_marks_distribution_stacks_to_100_with_mark_colours():
    _, ax = plt.subplots()
    out = plots.plot_marks_distribution(MARKS, ax=ax, source="ФИС ОКО, ВПР 2023")
    assert out is ax
    bars = [p for p in ax.patches]
    assert len(bars) == 8
    # right edges of the «5» bars are at 100 % for both groups
    fives = [b for b in bars if to_hex(b.get_facecolor()) == plots.MARK_COLORS[5]]
    assert [round(b.get_x() + b.get_width(), 6) for b in fives] == [100, 100]
    # the «2» bar of the school is 10 wide; the school is the top row
    twos = sorted((b for b in bars if to_hex(b.get_facecolor()) == plots.MARK_COLORS[2]), key=lambda b: -b.get_y())
    assert twos[0].get_width() == 10
    assert _rows_top_down(ax) == ["Школа (n = 50)", "Муниципалитет (n = 900)"]
    cap = _caption(ax)
    assert "Источник: ФИС ОКО, ВПР 2023" in cap and "n = 50" in cap


def test_score_histogram_draws_boundaries_between_scores():
    d = pd.DataFrame({"group": ["Школа"] * 21, "score": range(21), "share": np.full(21, 100 / 21), "n": 40})
    ax = plots.plot_score_histogram(d, boundaries={3: 6, 4: 10, 5: 15}, max_score=20)
    xs = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert xs == [5.5, 9.5, 14.5]
    texts = {t.get_text() for t in ax.texts}
    assert {"«3» от 6", "«4» от 10", "«5» от 15"} <= texts
    assert "n = 40" in _caption(ax)


def test_task_completion_thresholds_by_level():
    d = pd.DataFrame({"task": ["1", "2", "3"] * 2, "level": ["Б", "П", "В"] * 2,
                      "group": ["Школа"] * 3 + ["Муниципалитет"] * 3, "value": [60, 20, 10, 55, 35, 12], "n": 30})
    ax = plots.plot_task_completion(d, thresholds={"Б": 50, "П": 30, "В": 15})
    segs = [c for c in ax.collections if c.get_linestyle()]
    ys = sorted(round(float(s.get_segments()[0][0][1]), 6) for s in segs)
    assert ys == [15, 30, 50]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [60, 20, 10]  # bars = the school
    assert to_hex(ax.patches[0].get_facecolor()) == plots.GROUP_COLORS["Школа"]


def test_indicator_interval_and_group_colours():
    d = pd.DataFrame({"group": ["Муниципалитет", "Школа", "Похожие школы"], "value": [9.0, 18.0, 12.0],
                      "ci_low": [8.0, 11.0, np.nan], "ci_high": [10.0, 27.0, np.nan], "n": [900, 62, 300]})
    ax = plots.plot_indicator(d, unit="%", target=10)
    # the order is fixed: school on top, then similar schools, then the municipality
    assert _rows_top_down(ax) == [
        "Школа (n = 62)", "Похожие школы (n = 300)", "Муниципалитет (n = 900)"]
    lines = {to_hex(c.get_color()[0]): c.get_segments()[0] for c in ax.collections}
    seg = lines[plots.GROUP_COLORS["Школа"]]
    assert (seg[0][0], seg[1][0]) == (11.0, 27.0)
    assert plots.GROUP_COLORS["Похожие школы"] not in lines  # no interval given, none drawn
    assert "95 % доверительный интервал" in _caption(ax)


def test_trend_and_no_data():
    d = pd.DataFrame({"year": [2021, 2022, 2023] * 2, "group": ["Школа"] * 3 + ["Муниципалитет"] * 3,
                      "value": [1, 2, 3, 2, 2, 2], "ci_low": np.nan, "ci_high": np.nan, "n": [30, 31, 32, 0, 0, 0]})
    ax = plots.plot_trend(d, unit="%")
    colours = [to_hex(line.get_color()) for line in ax.lines]
    assert colours == [plots.GROUP_COLORS["Школа"], plots.GROUP_COLORS["Муниципалитет"]]
    assert "n = 30 / 31 / 32" in _caption(ax)
    ax2 = plots.plot_trend(d.iloc[0:0])
    assert any(t.get_text() == "Нет данных" for t in ax2.texts)


def test_vpr_vs_journal_categories_in_order():
    d = pd.DataFrame({"group": ["Школа"] * 3, "category": ["Повысили", "Понизили", "Подтвердили"],
                      "share": [30.0, 20.0, 50.0], "n": 40})
    ax = plots.plot_vpr_vs_journal(d)
    lefts = [(to_hex(p.get_facecolor()), p.get_x(), p.get_width()) for p in ax.patches]
    assert lefts == [(plots.JOURNAL_COLORS["Понизили"], 0.0, 20.0), (plots.JOURNAL_COLORS["Подтвердили"], 20.0, 50.0),
                     (plots.JOURNAL_COLORS["Повысили"], 70.0, 30.0)]


def test_objectivity_pictures():
    iv = pd.DataFrame({"group": ["Школа", "Регион"], "mean": [15.0, 10.0], "ci_low": [14.0, 9.8],
                       "ci_high": [16.0, 10.2], "n": [40, 5000]})
    ax = plots.plot_interval_vs_reference(iv)
    spans = [p for p in ax.patches]  # the gap between the intervals is shaded
    assert len(spans) == 1
    b = pd.DataFrame({"score": range(11), "count": [1, 2, 3, 4, 5, 12, 4, 3, 2, 1, 0],
                      "expected": [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0]})
    ax = plots.plot_bunching(b, boundaries={3: 5})
    flagged = [p for p in ax.patches if to_hex(p.get_facecolor()) == plots.FLAG_COLOR]
    assert len(flagged) == 1 and flagged[0].get_height() == 12
    k = pd.DataFrame({"school_id": list("abcdefgh"), "k": [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 3.0],
                      "flagged": [False] * 7 + [True]})
    ax = plots.plot_cohort_k(k, highlight="h")
    q1, q3 = np.percentile(k["k"], [25, 75])
    xs = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert xs == pytest.approx([q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)])


def test_mkdo_areas_scale():
    d = pd.DataFrame({"area": ["А", "Б"] * 2, "group": ["Школа"] * 2 + ["Муниципалитет"] * 2,
                      "score": [1.5, 2.0, 1.8, 2.2], "n": [1, 1, 30, 30]})
    ax = plots.plot_mkdo_areas(d)
    assert ax.get_xlim() == (0, 3.05)
    assert sorted(round(p.get_width(), 3) for p in ax.patches) == [1.5, 1.8, 2.0, 2.2]


def test_to_png_places_caption_below_labels_and_closes():
    ax = plots.plot_marks_distribution(MARKS)
    fig = ax.figure
    png = plots.to_png(ax)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    cap = [t for t in ax.texts if t.get_gid() == "msoko-caption"][0]
    assert cap.xyann[1] < -30  # moved below the tick labels and the axis label


def test_russian_number_format():
    assert plots.fmt_num(1108) == "1\u202f108"
    assert plots.fmt_num(12.345, 1) == "12,3"
    assert plots.fmt_num(np.nan) == "—"


# --- HTML stacked bars ------------------------------------------------------------------------

import re  # noqa: E402

_SEG_RE = re.compile(r'<div title="[^"]*" style="width:([0-9.]+)%;background:(#[0-9a-fA-F]{6});color:(#[0-9a-f]{6})')


def _html_rows(html: str) -> list[list[tuple[float, str, str]]]:
    """Segments (width %, fill, text colour) of every bar row, top to bottom."""
    bars = re.findall(r'<div style="flex:1 1 auto;display:flex;height:1.5em;[^"]*">(.*?)</div></div>', html)
    return [[(float(w), bg, fg) for w, bg, fg in _SEG_RE.findall(b)] for b in bars]


def _html_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_html_marks_bars_widths_colours_labels_and_caption():
    out = plots.html_marks_distribution(MARKS, source="ФИС ОКО, ВПР 2023", title="Отметки")
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
    out = plots.html_vpr_vs_journal(d)
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
    out = plots.html_marks_distribution(d)
    assert _html_rows(out) == []
    assert "Школа (n = 4)" in _html_text(out) and "меньше 5 участников — не показывается" in out
