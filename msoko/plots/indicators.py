"""Indicator charts: one indicator beside its comparison groups, and its three-year trend."""
from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from msoko.plots._draw import band, box, line, n_of, points, rows_by, segments, vline
from msoko.plots.embed import Chart, embed, no_data
from msoko.plots.theme import (FS, domain, fmt_num, group_color, n_label, new_axes, order, report_axes,
                               set_xticks, set_yticks, settle, text_width)


def _indicator_frame(data: pd.DataFrame) -> tuple[list[str], dict]:
    """The groups in the fixed order and their value, interval and n (arrays aligned to the groups)."""
    rows = rows_by(data)
    groups = order(rows)
    first = [rows[g][0] for g in groups]
    return groups, {c: data[c].to_numpy(float)[first] if c in data else np.full(len(groups), np.nan)
                    for c in ("value", "ci_low", "ci_high", "n")}


def _indicator_box(data: pd.DataFrame, frame: tuple[list[str], dict] | None = None) -> dict:
    groups, d = frame if frame is not None else _indicator_frame(data)
    left = max(text_width(n_label(g, k)) for g, k in zip(groups, d["n"])) + 14
    return box(left + 330, 26 + 30 * len(groups) + 40, left=left, right=14, top=26, bottom=40)


def plot_indicator(data: pd.DataFrame, *, unit: str = "", target: float | None = None, ax=None):
    """One indicator with its 95 % interval: a row per group (the school first, then similar schools,
    the municipality, the region), the value as a point with its number, the interval as a line, the
    target (if any) as a dashed vertical line.

    ``data`` columns: ``group``, ``value``, ``ci_low``, ``ci_high`` (may be NaN), ``n``."""
    if ax is None:
        ax = new_axes(**_indicator_box(data), pyplot=True)
    groups, d = _indicator_frame(data)
    has_target = target is not None and pd.notna(target)
    xt = domain(np.r_[d["value"], d["ci_low"], d["ci_high"]], include=[target] if has_target else [],
                clamp=(0, 100) if unit.strip() == "%" else None)
    y = np.arange(len(groups), dtype=float)
    lo, hi, v = d["ci_low"], d["ci_high"], d["value"]
    ci = ~np.isnan(lo) & ~np.isnan(hi)
    ok = ~np.isnan(v)
    for i, g in enumerate(groups):
        col = group_color(g)
        if ci[i]:
            segments(ax, [lo[i]], [hi[i]], [y[i]], col, cls="ci", width=3, alpha=0.55, zorder=3, capstyle="round",
                     tips=[f"{g}: 95 % ДИ {fmt_num(lo[i], 1)}–{fmt_num(hi[i], 1)}"])
        if ok[i]:
            n = d["n"][i]
            tip = (f"{g}: {fmt_num(v[i], 1)}" + (f" [{fmt_num(lo[i], 1)}–{fmt_num(hi[i], 1)}]" if ci[i] else "")
                   + (f", n = {fmt_num(n)}" if pd.notna(n) else ""))
            points(ax, [v[i]], [y[i]], col, size=7.5, tips=[tip], zorder=4)
    for val, yy in zip(v[ok], y[ok]):
        ax.text(val, yy - 0.28, fmt_num(val, 1), ha="center", va="bottom", fontsize=FS - 1)
    if has_target:
        vline(ax, float(target), cls="target", text=f"цель {fmt_num(target, 1)}", tip=f"цель {fmt_num(target, 1)}")
    ax.set_xlim(xt[0], xt[-1])
    ax.set_ylim(len(groups) - 0.5, -0.5)
    set_xticks(ax, xt)
    ax.set_yticks(y, [n_label(g, k) for g, k in zip(groups, d["n"])], fontsize=FS, color="#222222")
    settle(ax, "indicator", lambda: (ax.tick_params(axis="y", length=0), ax.grid(axis="y", visible=False)))
    ax.set_xlabel(unit or "значение")
    return ax


def indicator_chart(data: pd.DataFrame, *, unit: str = "", source: str = "msoko, показатели",
                    title: str | None = None, target: float | None = None) -> Chart:
    if data.empty or data["value"].isna().all():
        return no_data(title=title)
    draw = partial(plot_indicator, data, unit=unit, target=target)
    frame = _indicator_frame(data)   # once for the box and the caption (the drawing makes its own)
    ax = report_axes("indicator", **_indicator_box(data, frame))
    draw(ax=ax)
    n0 = frame[1]["n"][0]
    return embed(ax, title=title, source=source, n=n0 if pd.notna(n0) else None,
                 note="линии — 95 % доверительный интервал", draw=draw)


_TREND_BOX = box(380, 230, left=56, right=16, top=12, bottom=36)


def plot_trend(data: pd.DataFrame, *, unit: str = "", ax=None):
    """The trend over the years, one line per group, the 95 % interval as a band.

    ``data`` columns: ``year``, ``group``, ``value``, optional ``ci_low``, ``ci_high``, ``n``."""
    if ax is None:
        ax = new_axes(**_TREND_BOX, pyplot=True)
    year = data["year"].to_numpy(float)
    years = sorted({int(y) for y in year})
    pos = {y: i for i, y in enumerate(years)}
    has_ci = {"ci_low", "ci_high"} <= set(data)
    value = data["value"].to_numpy(float)
    lo_all, hi_all = ((data["ci_low"].to_numpy(float), data["ci_high"].to_numpy(float)) if has_ci
                      else (np.full(len(data), np.nan), np.full(len(data), np.nan)))
    yt = domain(np.r_[value, lo_all, hi_all] if has_ci else value, clamp=(0, 100) if unit.strip() == "%" else None)
    rows = rows_by(data)
    for g in order(rows):
        r = rows[g][~np.isnan(value[rows[g]])]
        r = r[np.argsort(year[r], kind="stable")]
        if not len(r):
            continue
        col = group_color(g)
        x = np.array([pos[int(y)] for y in year[r]], dtype=float)
        v, lo, hi = value[r], lo_all[r], hi_all[r]
        if has_ci:
            ok = ~np.isnan(lo) & ~np.isnan(hi)
            if ok.sum() >= 2:
                band(ax, x[ok], lo[ok], hi[ok], col, alpha=0.12, zorder=2)
        line(ax, x, v, col, cls="line", width=1.8, label=g, zorder=3)
        tips = [f"{g}, {int(y)}: {fmt_num(a, 1)}" + (f" [{fmt_num(b, 1)}–{fmt_num(c, 1)}]"
                                                    if pd.notna(b) and pd.notna(c) else "")
                for y, a, b, c in zip(year[r], v, lo, hi)]
        points(ax, x, v, col, size=4.5, tips=tips, zorder=4)
    ax.set_xlim(-0.3, len(years) - 0.7)
    ax.set_ylim(yt[0], yt[-1])
    set_yticks(ax, yt)
    set_xticks(ax, range(len(years)), [str(y) for y in years])
    settle(ax, "trend", lambda: (ax.tick_params(axis="x", bottom=False), ax.grid(axis="x", visible=False)))
    ax.set_ylabel(unit or "значение")
    return ax


def trend_chart(data: pd.DataFrame, *, unit: str = "", source: str = "msoko, показатели",
                title: str | None = None) -> Chart:
    title = title or "Динамика за три года"
    if data.empty or data["value"].isna().all():
        return no_data(title=title)
    draw = partial(plot_trend, data, unit=unit)
    ax = report_axes("trend", **_TREND_BOX)
    draw(ax=ax)
    n = n_of(data, "Школа") if "n" in data else ()
    return embed(ax, title=title, source=source, n=" / ".join(fmt_num(v) for v in n) if len(n) else None,
                 note="полоса — 95 % ДИ", draw=draw)
