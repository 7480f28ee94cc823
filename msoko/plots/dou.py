"""Preschool (ДОУ) charts: МКДО scores by area of quality."""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from msoko.plots._draw import bars, box, max_n, vline
from msoko.plots.embed import Chart, embed, no_data
from msoko.plots.theme import (FS, MUTED, fmt_num, group_color, new_axes, order, report_axes, set_xticks,
                               text_width)

MKDO_LEVELS = ((1, "базовый"), (2, "хороший"), (3, "превосходный"))


def _mkdo_box(data: pd.DataFrame) -> dict:
    areas = list(dict.fromkeys(data["area"]))
    groups = order(data["group"])
    left = max(text_width(a) for a in areas) + 14
    rh = 12 * len(groups) + 10
    return box(left + 380, 24 + rh * len(areas) + 40, left=left, right=14, top=24, bottom=40)


def plot_mkdo_areas(data: pd.DataFrame, *, ax=None):
    """МКДО scores by area of quality (scale 0–3) as grouped horizontal bars, one colour per group,
    the levels «базовый» (1), «хороший» (2), «превосходный» (3) as dotted lines.

    ``data`` columns: ``area``, ``group``, ``score``, ``n`` (kindergartens)."""
    if ax is None:
        ax = new_axes(**_mkdo_box(data), pyplot=True)
    areas = list(dict.fromkeys(data["area"]))
    groups = order(data["group"])
    bh = 0.8 / len(groups)
    for i, g in enumerate(groups):
        v = data[data["group"] == g].set_index("area").reindex(areas)["score"].to_numpy(float)
        ok = np.flatnonzero(~np.isnan(v))
        yc = ok + (i - (len(groups) - 1) / 2) * bh
        bars(ax, np.zeros(len(ok)), v[ok], yc - bh * 0.475, yc + bh * 0.475, group_color(g), label=g,
             tips=[f"{g}, {areas[j]}: {fmt_num(v[j], 2)}" for j in ok])
    for lvl, name in MKDO_LEVELS:
        vline(ax, lvl, cls="level", text=name, dash=(1.5, 2), color="#999999", ha="right" if lvl == 3 else "center")
    for t in ax.texts:
        t.set_color(MUTED)
        t.set_fontsize(FS - 1.5)
    ax.set_xlim(0, 3.05)
    ax.set_ylim(len(areas) - 0.5, -0.5)
    set_xticks(ax, [0, 0.5, 1, 1.5, 2, 2.5, 3])
    ax.set_yticks(range(len(areas)), areas, fontsize=FS, color="#222222")
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Балл МКДО (0 — ниже базового, 3 — превосходный)")
    return ax


def mkdo_areas_chart(data: pd.DataFrame, *, source: str = "МКДО", title: str | None = None) -> Chart:
    title = title or "МКДО по областям качества"
    if data.empty:
        return no_data(title=title)
    draw = partial(plot_mkdo_areas, data)
    ax = report_axes("mkdo", **_mkdo_box(data))
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=max_n(data, order(data["group"])[0]), draw=draw)
