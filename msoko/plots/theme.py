"""One look for every msoko chart: the palette, the seaborn theme, Russian numbers and tick scales.

The same colour means the same thing in every report: the school itself, similar schools, the
municipality and the region; the marks «2»–«5»; the three kinds of ВПР-vs-journal comparison; the
task levels (базовый / повышенный / высокий). :func:`use_theme` sets seaborn's theme with these
colours and msoko's sizes once per process (``import msoko.plots`` calls it): an analyst who
restyles a chart starts from the same rcParams the reports use.

Sizes are set in CSS pixels (:func:`new_axes`): the report embeds a chart as SVG whose width is its
pixel width, so a chart's text keeps the same size on the page whatever the chart's size. Tick values
and labels are chosen here (:func:`nice_ticks`, :func:`fmt_num`: decimal comma, thin space between
thousands) and set as fixed ticks — no locator runs at draw time, and the numbers read as Russian.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import matplotlib as mpl
import matplotlib.axis as maxis
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from msoko import ru

# --- one palette: the same colour means the same thing in every report -------------

GROUP_COLORS: dict[str, str] = {
    "Школа": "#1f4e79",          # the school itself: dark blue
    "Муниципалитет": "#e08214",  # orange
    "Похожие школы": "#4d9221",  # green
    "Регион": "#7f7f7f",         # grey
}
GROUP_ORDER = ["Школа", "Похожие школы", "Муниципалитет", "Регион"]

MARK_COLORS: dict[int, str] = {2: "#d7301f", 3: "#fdae61", 4: "#a6d96a", 5: "#1a9641"}
JOURNAL_COLORS: dict[str, str] = {
    "Понизили": "#4393c3",
    "Подтвердили": "#bababa",
    "Повысили": "#d6604d",
}
JOURNAL_ORDER = ["Понизили", "Подтвердили", "Повысили"]
LEVEL_NAMES: dict[str, str] = {"Б": "базовый", "П": "повышенный", "В": "высокий"}
# the sufficiency threshold of a task level: one colour per level in every chart that draws it
LEVEL_COLORS: dict[str, str] = {"Б": "#333333", "П": "#6a3d9a", "В": "#b15928"}
FLAG_COLOR = "#c51b7d"     # a sign that fires
NEUTRAL_COLOR = "#9e9e9e"  # everything that is only context
INK = "#333333"            # reference lines and their labels
MUTED = "#555555"          # axis labels, captions
GRID = "#e6e6e6"
# Default sufficiency thresholds of task completion, % (the municipal configuration may override).
DEFAULT_THRESHOLDS: dict[str, float] = {"Б": 50.0, "П": 30.0, "В": 15.0}

FONT = ["DejaVu Sans", "Verdana", "Arial"]  # DejaVu ships with matplotlib: Cyrillic everywhere
FS = 8.0           # tick labels and in-chart text, pt (≈ 10.7 CSS px)
PX = 1 / 96        # one CSS pixel in inches
CHAR_W = 0.6       # average glyph width of the font, in em: used only to reserve room for labels

RC: dict = {
    "svg.fonttype": "none",          # text stays <text>: searchable, copyable, sharp in print
    "svg.hashsalt": "msoko",         # clip-path and marker ids: the same bytes on every run
    "text.parse_math": False,        # a school name with «$» is text, never mathtext
    "axes.unicode_minus": True,
    "font.family": "sans-serif",
    "font.sans-serif": FONT,
    "font.size": FS,
    "axes.labelsize": FS,
    "axes.titlesize": FS + 1,
    "xtick.labelsize": FS - 0.5,
    "ytick.labelsize": FS - 0.5,
    "legend.fontsize": FS - 0.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": MUTED,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.major.size": 0,           # seaborn's whitegrid: no tick marks, the grid lines show the values
    "ytick.major.size": 0,
    "ytick.left": False,
    "xtick.bottom": False,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "figure.dpi": 96,                # 1 px of new_axes() is 1 px on screen in a notebook
    "savefig.dpi": 200,              # ax.figure.savefig("x.png") prints sharp in a Word доклад
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def use_theme() -> None:
    """seaborn's ``whitegrid`` theme with msoko's palette (school, similar, municipality, region)
    and sizes. Applied by the caller that draws (:func:`msoko.report.load`, or an analyst before
    plotting); call again after changing rcParams."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette=[GROUP_COLORS[g] for g in GROUP_ORDER], rc=RC)
    mpl.rcParams.update(RC)  # set_theme's style resets a few of them (spines, tick sizes)


def group_color(group) -> str:
    return GROUP_COLORS.get(str(group), NEUTRAL_COLOR)


def order(values: Iterable[str], first: Sequence[str] = GROUP_ORDER) -> list[str]:
    """Distinct values, those of ``first`` first in its order, the rest as they come."""
    vals = list(dict.fromkeys(values))
    return [g for g in first if g in vals] + [g for g in vals if g not in first]


def fmt_num(x, digits: int = 0) -> str:
    """Russian number (:func:`msoko.ru.number`) with exactly ``digits`` decimals."""
    return ru.number(None if x is None or x is pd.NA else float(x), digits)


def n_label(group, n) -> str:
    return f"{group} (n = {fmt_num(n)})"


# --- scales ----------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, n: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 × 10^k, about ``n`` of them,
    the first ≤ lo and the last ≥ hi (so the axis ends on a labelled tick)."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(round(step))) if step >= 1 else 1.0
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    k = int(round((last - first) / step))
    return [round(first + i * step, 10) for i in range(k + 1)]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Russian labels with as many decimals as the step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1
    digits = 0 if float(step).is_integer() else (1 if round(step * 10, 9).is_integer() else 2)
    return [fmt_num(v, digits) for v in ticks]


def domain(values: Iterable[float], *, include: Iterable[float] = (), pad: float = 0.05,
           clamp: tuple[float, float] | None = None, n: int = 5) -> list[float]:
    """Ticks of an axis showing ``values`` (and ``include``), padded by ``pad`` of the span."""
    vals = [float(v) for v in list(values) + list(include) if v is not None and pd.notna(v)]
    if not vals:
        return [0.0, 1.0]
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or (abs(hi) or 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    if clamp:
        lo, hi = max(clamp[0], lo), min(clamp[1], hi)
    return nice_ticks(lo, hi, n)


def set_xticks(ax, ticks: Sequence[float], labels: Sequence[str] | None = None) -> None:
    _set_ticks(ax, ax.xaxis, ax.set_xticks, ticks, labels)


def set_yticks(ax, ticks: Sequence[float], labels: Sequence[str] | None = None) -> None:
    _set_ticks(ax, ax.yaxis, ax.set_yticks, ticks, labels)


def _set_ticks(ax, axis, setter, ticks: Sequence[float], labels: Sequence[str] | None) -> None:
    """``setter(ticks, labels)`` (fixed ticks and their labels), left out when the axis already has these
    ticks and labels from this function (the same locator and formatter objects since) and they lie within the
    axis's limits (``set_ticks`` widens the limits to hold them): a report's axes are reused by the charts of
    their kind (:func:`report_axes`), and setting a dozen labelled ticks again costs ~1 ms."""
    ticks = list(ticks)
    labels = list(labels) if labels is not None else tick_labels(ticks)
    state = (ticks, labels)
    done = axis.__dict__.get("_msoko_ticks")
    lo, hi = sorted(axis.get_view_interval())
    if done is not None and done[0] is axis.get_major_locator() and done[1] is axis.get_major_formatter() \
            and done[2] == state and (not ticks or (lo <= min(ticks) and max(ticks) <= hi)):
        return
    setter(ticks, labels)
    axis.__dict__["_msoko_ticks"] = (axis.get_major_locator(), axis.get_major_formatter(), state)


def settle(ax, name: str, apply) -> None:
    """``apply()`` — settings every chart of a kind makes alike (``tick_params``, ``grid``) — once per axes:
    a report's axes are reused by the charts of their kind (:func:`report_axes`) and keep them (new ticks take
    the axis's tick settings), while ``tick_params`` and ``grid`` go over every tick again (~1 ms a chart)."""
    done = ax.__dict__.setdefault("_msoko_settled", set())
    if name not in done:
        apply()
        done.add(name)


def text_width(s: str, size: float = FS) -> float:
    """Room to reserve for a label, px (an estimate from the font size; no text is measured)."""
    return max((len(line) for line in str(s).split("\n")), default=0) * size * 4 / 3 * CHAR_W


# --- figures and marks -------------------------------------------------------------------

def new_axes(width: float, height: float, *, left: float, right: float, top: float, bottom: float,
             xlabel: float = 24.0, pyplot: bool = False, dpi: float = 96, axes_class=None):
    """An axes at a fixed place in a figure of ``width`` × ``height`` px (margins in px).

    No layout engine and no tight box: the place is computed, not measured, which is what
    keeps a report's thirty charts fast. ``pyplot=True`` (an analyst's call without ``ax=``)
    registers the figure with pyplot so that JupyterLab shows it; the reports' figures are
    plain :class:`~matplotlib.figure.Figure` objects that pyplot never holds. The axis titles sit
    at fixed places too (``xlabel`` px under the plot area, the y title at the figure's left edge):
    matplotlib would otherwise measure every tick label again to place them. ``dpi``: the figure's
    resolution (:func:`report_axes` makes them at the 72 dpi of the SVG; the place is the same); ``axes_class``:
    an :class:`~matplotlib.axes.Axes` subclass (:func:`report_axes`: :class:`ReportAxes`).
    """
    size = (width * PX, height * PX)
    if pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size)
    else:
        fig = Figure(figsize=size, dpi=dpi)
    aw, ah = max(1.0, width - left - right), max(1.0, height - top - bottom)
    ax = fig.add_axes((left / width, bottom / height, aw / width, ah / height),
                      **({"axes_class": axes_class} if axes_class is not None else {}))
    ax.xaxis.set_label_coords(0.5, -xlabel / ah)
    ax.yaxis.set_label_coords((15.0 - left) / aw, 0.5)
    return ax


class _HandPlacedAxis:
    """An axis whose drawing does not measure its tick labels when nothing drawn depends on them.

    matplotlib's ``Axis.draw`` takes every tick label's extent (a layout of the text, ~0.2 ms each; the drawing
    lays it out again) for two things: the axis title's place when matplotlib places it, and the offset text's
    («×10³») place. A report axis has its title placed by hand (:func:`new_axes`: ``set_label_coords``) and
    fixed ticks with fixed labels (no offset: the offset text is empty and not drawn), so neither is drawn
    from them: the same SVG (tests/test_plots.py), ~4 ms less for each axis a report draws (a dozen a school
    report: the axes not kept by :mod:`msoko.plots.embed`). Only while drawing: a tight bounding box
    (``get_tightbbox``) measures the labels as matplotlib does."""

    _msoko_drawing = False

    def draw(self, renderer):
        self._msoko_drawing = True
        try:
            super().draw(renderer)
        finally:
            self._msoko_drawing = False

    def _get_ticklabel_bboxes(self, ticks, renderer):
        # ``_autolabelpos`` is matplotlib's own flag (False once ``set_label_coords`` placed the title); a
        # matplotlib without it measures as usual: this is an override of a private method, never a patch, and
        # when matplotlib renames either the report is only slower, not different
        if self._msoko_drawing and not getattr(self, "_autolabelpos", True) and not self.major.formatter.get_offset():
            return [], []
        return super()._get_ticklabel_bboxes(ticks, renderer)


class _ReportXAxis(_HandPlacedAxis, maxis.XAxis):
    pass


class _ReportYAxis(_HandPlacedAxis, maxis.YAxis):
    pass


class ReportAxes(Axes):
    """The axes of a report chart (:func:`report_axes`): matplotlib's, with axes that skip measuring their tick
    labels where nothing depends on it (:class:`_HandPlacedAxis`); made as matplotlib's own axes classes make
    their axes (``_init_axis``, as polar axes do)."""

    def _init_axis(self):
        self.xaxis = _ReportXAxis(self, clear=False)
        self.spines.bottom.register_axis(self.xaxis)
        self.spines.top.register_axis(self.xaxis)
        self.yaxis = _ReportYAxis(self, clear=False)
        self.spines.left.register_axis(self.yaxis)
        self.spines.right.register_axis(self.yaxis)


_POOL: dict = {}


def report_axes(kind: str, width: float, height: float, *, left: float, right: float, top: float,
                bottom: float, xlabel: float = 24.0):
    """An empty axes for one report chart of ``kind``, drawn and embedded before the next is asked for.

    Creating an Axes and its ticks is most of a small chart's cost in matplotlib (each tick is two
    lines, a grid line and two texts); a report draws thirty charts of a handful of kinds and sizes,
    so each (kind, size) keeps one figure whose drawn artists are removed between charts. The ticks,
    spines and axis labels are set again by every chart of the kind; what a chart adds (bars, lines,
    texts, marks) is removed here, so a chart's bytes do not depend on the charts before it
    (tests/test_plots.py draws one chart fresh and after others and compares).

    The figure is at 72 dpi, the resolution the SVG is drawn at (:mod:`msoko.plots.svg_backend`), and
    :func:`msoko.plots.embed.svg` saves it at that dpi: a change of dpi invalidates every transform of
    the figure, and saving at 96 (or ``savefig.dpi``) changed it twice there and twice back."""
    key = (kind, float(width), float(height), float(left), float(right), float(top), float(bottom), float(xlabel))
    ax = _POOL.get(key)
    if ax is None:
        if len(_POOL) > 256:  # sizes follow the data (rows, tasks): bound the pool
            _POOL.clear()
        ax = _POOL[key] = new_axes(width, height, left=left, right=right, top=top, bottom=bottom, xlabel=xlabel,
                                   dpi=72, axes_class=ReportAxes)
        return ax
    for a in (*ax.collections, *ax.lines, *ax.texts, *ax.patches, *ax.images, *ax.artists):
        a.remove()
    ax.legend_ = None
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.figure.__dict__["_msoko_marks"] = {}
    return ax


def mark(artist, cls: str, tip: str | None = None):
    """Name an artist for the SVG: ``cls`` becomes its ``class``, ``tip`` its tooltip (``<title>``).

    The artist's gid is ``cls-k`` (k counts the figure's marks), so the SVG stays readable when an
    analyst saves the figure directly; :func:`msoko.plots.embed.svg` turns it into the class and
    the tooltip."""
    fig = artist.axes.figure if artist.axes is not None else artist.figure
    marks = fig.__dict__.setdefault("_msoko_marks", {})
    gid = f"{cls.replace(' ', '_')}-{len(marks)}"
    marks[gid] = (cls, tip)
    artist.set_gid(gid)
    return artist
