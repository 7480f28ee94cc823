"""Small drawing helpers shared by the chart modules: bars, segments and points as one artist per
series (one SVG element, split per mark for the tooltips), reference lines."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axis import GRIDLINE_INTERPOLATION_STEPS
from matplotlib.collections import FillBetweenPolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from msoko.plots.theme import FS, INK, mark


def rows_by(data, column: str = "group") -> dict:
    """Row positions of each value of ``column``, in order of appearance (numpy, not pandas filtering:
    selecting a group from an Arrow-backed frame costs about a millisecond, and a chart does it often)."""
    out: dict = {}
    for i, v in enumerate(data[column].to_numpy(dtype=object)):
        out.setdefault(v, []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}


def n_of(data, group) -> np.ndarray:
    """``n`` of the rows of ``group`` (numpy, not a pandas selection: ~0.8 ms on an Arrow-backed frame)."""
    return data["n"].to_numpy(dtype=float, na_value=np.nan)[data["group"].to_numpy(dtype=object, na_value=None) == group]


def max_n(data, group) -> int | None:
    """The largest ``n`` of the rows of ``group`` (``None``: no row, or none with an ``n``), as the caption says it."""
    if "n" not in data:
        return None
    v = n_of(data, group)
    v = v[~np.isnan(v)]
    return int(v.max()) if len(v) else None


def aligned(keys: Sequence, row_keys, values, rows) -> np.ndarray:
    """``values[rows]`` placed at the positions of their ``row_keys[rows]`` in ``keys`` (NaN elsewhere)."""
    pos = {k: i for i, k in enumerate(keys)}
    out = np.full(len(keys), np.nan)
    rows = np.asarray(rows, dtype=int)
    if len(rows):
        out[[pos[k] for k in row_keys[rows]]] = values[rows]
    return out


def bars(ax, x0: Sequence[float], x1: Sequence[float], y0: Sequence[float], y1: Sequence[float], color: str, *,
         cls: str = "bar", tips: Sequence[str] | None = None, label: str | None = None, alpha: float | None = None,
         zorder: float = 2) -> PathPatch:
    """Rectangles [x0, x1] × [y0, y1] of one colour as one patch with a compound path.

    One artist and one SVG ``<path>`` per series instead of a patch per bar: matplotlib spends about
    a millisecond on each element it draws, and a report has hundreds of bars. ``tips`` (one per bar,
    in order) become a tooltip each: :func:`msoko.plots.embed.svg` splits the compound path into one
    ``<path>`` per bar. :func:`rects` reads the bars back."""
    x0, x1, y0, y1 = (np.asarray(v, dtype=float) for v in (x0, x1, y0, y1))
    verts = np.stack([np.c_[x0, y0], np.c_[x0, y1], np.c_[x1, y1], np.c_[x1, y0], np.c_[x0, y0]], axis=1)
    codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], len(x0))
    path = Path(verts.reshape(-1, 2), codes) if len(x0) else Path(np.zeros((0, 2)))
    patch = PathPatch(path, facecolor=color, edgecolor="none", linewidth=0, alpha=alpha, zorder=zorder,
                      label=label if label is not None else "_nolegend_")
    ax.add_artist(patch)
    mark(patch, cls, list(tips) if tips is not None else None)
    return patch


def rects(patch: PathPatch) -> list[tuple[float, float, float, float]]:
    """(x0, x1, y0, y1) of each bar drawn by :func:`bars`, in data units."""
    v = patch.get_path().vertices.reshape(-1, 5, 2)[:, :4]
    return [(float(r[:, 0].min()), float(r[:, 0].max()), float(r[:, 1].min()), float(r[:, 1].max())) for r in v]


def segments(ax, x0: Sequence[float], x1: Sequence[float], y: Sequence[float], color: str, *, cls: str,
             width: float = 2.5, dashes=None, tips: Sequence[str] | None = None, label: str | None = None,
             alpha: float | None = None, zorder: float = 4, capstyle: str | None = None) -> Line2D:
    """Horizontal segments [x0, x1] at ``y`` of one colour as one line (broken by NaN): one SVG element,
    split per segment for the tooltips like :func:`bars`."""
    x0, x1, y = (np.asarray(v, dtype=float) for v in (x0, x1, y))
    xs = np.c_[x0, x1, np.full(len(x0), np.nan)].ravel()
    ys = np.c_[y, y, np.full(len(y), np.nan)].ravel()
    ln = Line2D(xs, ys, color=color, linewidth=width, alpha=alpha, zorder=zorder,
                label=label if label is not None else "_nolegend_")
    if dashes is not None:
        ln.set_dashes(dashes)
    if capstyle:
        ln.set_solid_capstyle(capstyle)
    ax.add_artist(ln)  # limits are set by the chart: no data-limit update
    mark(ln, cls, list(tips) if tips is not None else None)
    return ln


def segment_list(line: Line2D) -> list[tuple[float, float, float]]:
    """(x0, x1, y) of each segment drawn by :func:`segments`."""
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    return [(float(x[i]), float(x[i + 1]), float(y[i])) for i in range(0, len(x), 3)]


def points(ax, x: Sequence[float], y: Sequence[float], color: str, *, cls: str = "point", size: float = 5,
           tips: Sequence[str] | None = None, label: str | None = None, zorder: float = 5, alpha: float | None = None,
           face: str | None = None, edge_width: float = 0) -> Line2D:
    """Markers of one colour (a line without line): matplotlib draws them as one path reused per point."""
    ln = Line2D(np.asarray(x, dtype=float), np.asarray(y, dtype=float), linestyle="none", marker="o",
                markersize=size, markerfacecolor=face if face is not None else color, markeredgecolor=color,
                markeredgewidth=edge_width, color=color, alpha=alpha, zorder=zorder,
                label=label if label is not None else "_nolegend_")
    ax.add_artist(ln)
    mark(ln, cls, list(tips) if tips is not None else None)
    return ln


def line(ax, x: Sequence[float], y: Sequence[float], color: str, *, cls: str, width: float, label: str | None = None,
         zorder: float = 2) -> Line2D:
    """A line through the points: the line ``ax.plot`` makes, added without its data-limit update and
    autoscale request (every chart sets its limits afterwards)."""
    ln = Line2D(np.asarray(x, dtype=float), np.asarray(y, dtype=float), color=color, linewidth=width, zorder=zorder,
                label=label if label is not None else "_nolegend_")
    ax.add_artist(ln)
    mark(ln, cls)
    return ln


def band(ax, x: Sequence[float], lo: Sequence[float], hi: Sequence[float], color: str, *, cls: str = "band",
         alpha: float | None = None, zorder: float = 2) -> FillBetweenPolyCollection:
    """The area between ``lo`` and ``hi`` over ``x``: the collection ``ax.fill_between`` makes, added without
    its data-limit update (~1 ms a band; every chart sets its limits afterwards)."""
    coll = FillBetweenPolyCollection("x", np.asarray(x, dtype=float), np.asarray(lo, dtype=float),
                                     np.asarray(hi, dtype=float), color=color, alpha=alpha, linewidth=0, zorder=zorder)
    ax.add_collection(coll, autolim=False)
    mark(coll, cls)
    return coll


def vline(ax, x: float, *, cls: str, label: str | None = None, text: str | None = None, dash=(4, 3),
          color: str = INK, width: float = 0.8, ha: str = "center", tip: str | None = None):
    """A vertical reference line over the whole height, its name above the plot area.

    The line ``ax.axvline`` makes, added without its data-limit update and autoscale request (~2 ms a
    line): every chart that draws one sets its x limits afterwards."""
    ln = Line2D([x, x], [0, 1], transform=ax.get_xaxis_transform(which="grid"), color=color, linewidth=width,
                dashes=dash, zorder=3, label=label if label is not None else "_nolegend_")
    ax.add_artist(ln)
    ln.get_path()._interpolation_steps = GRIDLINE_INTERPOLATION_STEPS
    mark(ln, cls, tip)
    if text:
        ax.text(x, 1.02, text, transform=ax.get_xaxis_transform(), ha=ha, va="bottom", fontsize=FS - 1,
                color=color, clip_on=False)
    return ln


def text_color(bg: str) -> str:
    """White text on dark fills, black on light ones."""
    h = bg.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 115 else "#000000"


def box(width: float, height: float, *, left: float, right: float, top: float, bottom: float,
        xlabel: float = 24.0) -> dict:
    """A chart's size and margins in px; ``xlabel``: how far under the plot area the x title hangs."""
    return {"width": float(width), "height": float(height), "left": float(left), "right": float(right),
            "top": float(top), "bottom": float(bottom), "xlabel": float(xlabel)}
