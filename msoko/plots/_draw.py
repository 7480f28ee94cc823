"""Small drawing helpers shared by the chart modules (bars as one collection, reference lines)."""
from __future__ import annotations

from typing import Sequence

from matplotlib.collections import PolyCollection

from msoko.plots.theme import FS, INK, mark


def bars(ax, x0: Sequence[float], x1: Sequence[float], y0: Sequence[float], y1: Sequence[float], colors, *,
         cls: str = "bar", tips: Sequence[str] | None = None, label: str | None = None, alpha: float | None = None,
         zorder: float = 2) -> PolyCollection:
    """Rectangles [x0, x1] × [y0, y1] as one collection (one artist: a report draws hundreds of bars,
    and a collection costs a fraction of as many patches); ``tips`` — one tooltip per bar."""
    verts = [[(a, c), (a, d), (b, d), (b, c)] for a, b, c, d in zip(x0, x1, y0, y1)]
    pc = PolyCollection(verts, facecolors=colors, edgecolors="none", linewidths=0, alpha=alpha, zorder=zorder,
                        label=label if label is not None else "_nolegend_")
    ax.add_collection(pc, autolim=False)
    mark(pc, cls, list(tips) if tips is not None else None)
    return pc


def vline(ax, x: float, *, cls: str, label: str | None = None, text: str | None = None, dash=(4, 3),
          color: str = INK, width: float = 0.8, ha: str = "center", tip: str | None = None):
    """A vertical reference line over the whole height, its name above the plot area."""
    ln = ax.axvline(x, color=color, linewidth=width, dashes=dash, zorder=3,
                    label=label if label is not None else "_nolegend_")
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


def box(width: float, height: float, *, left: float, right: float, top: float, bottom: float) -> dict:
    return {"width": float(width), "height": float(height), "left": float(left), "right": float(right),
            "top": float(top), "bottom": float(bottom)}
