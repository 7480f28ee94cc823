"""The pictures behind the objectivity signs: the school's interval against the reference one,
scores bunched at the mark boundaries, the cohort ratio K of every school."""
from __future__ import annotations

from functools import partial
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from msoko.plots._draw import bars, box, line, points, segments, vline
from msoko.plots.embed import Chart, embed, no_data, row
from msoko.plots.theme import (FLAG_COLOR, FS, INK, NEUTRAL_COLOR, domain, fmt_num, group_color, mark, n_label,
                               new_axes, nice_ticks, order, report_axes, set_xticks, set_yticks, settle, text_width)
from msoko.plots.vpr import plot_vpr_vs_journal, task_levels_chart, vpr_vs_journal_chart


def _interval_box(data: pd.DataFrame) -> dict:
    groups = order(data["group"])
    d = data.set_index("group").reindex(groups)
    left = max(text_width(n_label(g, k)) for g, k in zip(groups, d["n"])) + 14
    return box(left + 330, 14 + 32 * len(groups) + 40, left=left, right=70, top=14, bottom=40)


def plot_interval_vs_reference(data: pd.DataFrame, *, ax=None):
    """The school's 95 % interval of the mean primary score against the reference interval(s).

    ``data`` columns: ``group`` ('Школа' and e.g. 'Регион' / 'Похожие школы'), ``mean``, ``ci_low``,
    ``ci_high``, ``n``. The sign fires when the school's interval lies entirely above the reference
    one: the gap between them is shaded."""
    if ax is None:
        ax = new_axes(**_interval_box(data), pyplot=True)
    groups = order(data["group"])
    d = data.set_index("group").reindex(groups)
    xt = domain(pd.concat([d["ci_low"], d["ci_high"], d["mean"]]), pad=0.15)
    if "Школа" in d.index and len(groups) > 1:
        ref_hi, s_lo = d.drop(index="Школа")["ci_high"].max(), d.loc["Школа", "ci_low"]
        if pd.notna(ref_hi) and pd.notna(s_lo) and s_lo > ref_hi:
            gap = ax.axvspan(ref_hi, s_lo, color=FLAG_COLOR, alpha=0.14, linewidth=0, zorder=1)
            mark(gap, "gap", f"разрыв: {fmt_num(ref_hi, 1)}–{fmt_num(s_lo, 1)}")
    y = np.arange(len(groups), dtype=float)
    lo, hi, mean = (d[c].to_numpy(float) for c in ("ci_low", "ci_high", "mean"))
    for g, a, b, m, yy in zip(groups, lo, hi, mean, y):
        col = group_color(g)
        segments(ax, [a], [b], [yy], col, cls="ci", width=8, alpha=0.55, zorder=3,
                 tips=[f"{g}: {fmt_num(m, 1)} [{fmt_num(a, 1)}–{fmt_num(b, 1)}]"])
        line(ax, [m, m], [yy - 0.27, yy + 0.27], col, cls="mean", width=2.2, zorder=4)
    for a, b, yy in zip(lo, hi, y):
        ax.text(b, yy, f"  {fmt_num(a, 1)}–{fmt_num(b, 1)}", va="center", fontsize=FS - 1, clip_on=False)
    ax.set_xlim(xt[0], xt[-1])
    ax.set_ylim(len(groups) - 0.5, -0.5)
    set_xticks(ax, xt)
    ax.set_yticks(y, [n_label(g, k) for g, k in zip(groups, d["n"])], fontsize=FS, color="#222222")
    settle(ax, "interval", lambda: (ax.tick_params(axis="y", length=0), ax.grid(axis="y", visible=False)))
    ax.set_xlabel("Средний первичный балл (95 % ДИ)")
    return ax


def interval_chart(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    title = title or "Интервал школы и интервал сравнения"
    if data.empty:
        return no_data(title=title)
    draw = partial(plot_interval_vs_reference, data)
    ax = report_axes("interval", **_interval_box(data))
    draw(ax=ax)
    n0 = data.set_index("group").reindex(order(data["group"]))["n"].iloc[0]
    return embed(ax, title=title, source=source, n=n0, note="розовым — разрыв между интервалами", draw=draw)


_BUNCHING_BOX = box(440, 240, left=50, right=10, top=24, bottom=40)


def plot_bunching(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                  expected_label: str | None = None, ax=None):
    """The school's score distribution (bars) with its expected shape (line): excess mass just at the
    mark boundaries shows as pink bars above the line.

    ``data`` columns: ``score``, ``count`` (observed), ``expected`` (may be NaN)."""
    if ax is None:
        ax = new_axes(**_BUNCHING_BOX, pyplot=True)
    d = data.sort_values("score")
    bnd = {float(b) for b in (boundaries or {}).values()}
    has_exp = "expected" in d and d["expected"].notna().any()
    yt = domain(pd.concat([d["count"]] + ([d["expected"]] if has_exp else [])), include=[0], pad=0.1,
                clamp=(0, np.inf))
    s, v = d["score"].to_numpy(float), d["count"].to_numpy(float)
    flag = np.array([x in bnd for x in s], dtype=bool)
    for sel, col, cls, lab in ((~flag, group_color("Школа"), "bar", "Наблюдаемое число работ"),
                               (flag, FLAG_COLOR, "bar flag", "Минимальный балл отметки")):
        if sel.any() or cls == "bar":
            bars(ax, s[sel] - 0.4, s[sel] + 0.4, np.zeros(sel.sum()), v[sel], col, cls=cls, alpha=0.85,
                 label=lab, tips=[f"{fmt_num(a)} б.: {fmt_num(b)} работ" for a, b in zip(s[sel], v[sel])])
    if has_exp:
        e = d[d["expected"].notna()]
        line(ax, e["score"].to_numpy(float), e["expected"].to_numpy(float), INK, cls="expected", width=1.4,
             label=expected_label or "Ожидаемое без скачков у границ", zorder=4)
    for m, low in sorted((boundaries or {}).items()):
        vline(ax, low - 0.5, cls="boundary", text=f"«{m}»", ha="left")
    x0, x1 = float(s.min()), float(s.max())
    ax.set_xlim(x0 - 0.7, x1 + 0.7)
    ax.set_ylim(0, yt[-1])
    set_yticks(ax, yt)
    set_xticks(ax, [t for t in nice_ticks(x0, x1, 8, integer=True) if x0 - 0.7 <= t <= x1 + 0.7])
    settle(ax, "bunching", lambda: ax.grid(axis="x", visible=False))
    ax.set_xlabel("Первичный балл")
    ax.set_ylabel("Число работ")
    return ax


def bunching_chart(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                   source: str = "ФИС ОКО, ВПР", title: str | None = None, expected_label: str | None = None) -> Chart:
    title = title or "Скопление баллов у границ отметок"
    if data.empty:
        return no_data(title=title)
    draw = partial(plot_bunching, data, boundaries=boundaries, expected_label=expected_label)
    ax = report_axes("bunching", **_BUNCHING_BOX)
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=int(data["count"].sum()),
                 note="розовым — минимальный балл отметки", draw=draw)


_COHORT_BOX = box(440, 150, left=14, right=14, top=24, bottom=40)


def default_fences(k) -> tuple[float, float]:
    q1, q3 = np.percentile(k, [25, 75])
    return q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)


def plot_cohort_k(data: pd.DataFrame, *, highlight: str | None = None,
                  fences: tuple[float, float] | None = None, ax=None):
    """Cohort K = S₄(Y) / S₅(Y+1) of every school as a strip, with the Q1 − 3·IQR / Q3 + 3·IQR fences.

    ``data`` columns: ``school_id``, ``k``, optional ``flagged``. Schools are never labelled by name;
    ``highlight`` (the school of the report) is ringed. The vertical jitter is seeded."""
    if ax is None:
        ax = new_axes(**_COHORT_BOX, pyplot=True)
    d = data.dropna(subset=["k"])
    fences = default_fences(d["k"]) if fences is None else fences
    xt = domain(d["k"], include=list(fences), pad=0.05)
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(d))
    flagged = (d["flagged"].fillna(False).astype(bool) if "flagged" in d else pd.Series(False, index=d.index)).to_numpy()
    k = d["k"].to_numpy(float)
    for sel, col, cls in ((~flagged, NEUTRAL_COLOR, "school"), (flagged, FLAG_COLOR, "school flag")):
        if sel.any():
            points(ax, k[sel], jitter[sel], col, cls=cls, size=4.7, alpha=0.8, zorder=3)
    if highlight is not None and (d["school_id"] == highlight).any():
        kh = float(d.loc[d["school_id"] == highlight, "k"].iloc[0])
        points(ax, [kh], [0], group_color("Школа"), cls="highlight", size=10.5, face="none", edge_width=2,
               zorder=4, label="Школа", tips=[f"Школа: K = {fmt_num(kh, 2)}"])
    for f, name in zip(fences, ("рост", "падение")):
        vline(ax, float(f), cls="fence", text=name, width=0.9)
    ax.set_xlim(xt[0], xt[-1])
    ax.set_ylim(-0.5, 0.5)
    set_xticks(ax, xt)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("K = S₄(Y) / S₅(Y+1)")
    return ax


def cohort_k_chart(data: pd.DataFrame, *, highlight: str | None = None, fences: tuple[float, float] | None = None,
                   source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    title = title or "Резкое изменение результатов одной параллели"
    d = data.dropna(subset=["k"])
    if d.empty:
        return no_data(title=title)
    draw = partial(plot_cohort_k, data, highlight=highlight, fences=fences)
    ax = report_axes("cohort", **_COHORT_BOX)
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=len(d), note="пунктир — границы выбросов (квартили ± 3 межквартильных размаха); точка — школа",
                 draw=draw)


def evidence_panel(*, intervals: pd.DataFrame | None = None, bunching: pd.DataFrame | None = None,
                   boundaries: Mapping[int, float] | None = None, journal: pd.DataFrame | None = None,
                   cohort: pd.DataFrame | None = None, cohort_fences: tuple[float, float] | None = None,
                   highlight: str | None = None, levels: pd.DataFrame | None = None,
                   thresholds: Mapping[str, float] | None = None, source: str = "ФИС ОКО, ВПР",
                   title: str | None = None, expected_label: str | None = None) -> Chart | None:
    """The pictures behind the objectivity signs of one school × work, side by side.

    Only the panels whose data is given are drawn. Returns ``None`` when there is nothing to draw."""
    panels: list[Callable[[], str]] = []
    if intervals is not None and len(intervals) > 1:
        panels.append(lambda: interval_chart(intervals, source=source, title="Средний балл: школа и сравнение"))
    if bunching is not None and len(bunching) and bunching["count"].sum() > 0:
        panels.append(lambda: bunching_chart(bunching, boundaries=boundaries, source=source,
                                             expected_label=expected_label))
    if journal is not None and len(journal):
        panels.append(lambda: vpr_vs_journal_chart(journal, source=f"{source}; отметка за четверть"))
    if levels is not None and len(levels):
        panels.append(lambda: task_levels_chart(levels, thresholds=thresholds, source=source))
    if cohort is not None and len(cohort.dropna(subset=["k"])):
        panels.append(lambda: cohort_k_chart(cohort, highlight=highlight, fences=cohort_fences, source=source))
    if not panels:
        return None
    return row(*(p() for p in panels), title=title)


__all__ = ["plot_interval_vs_reference", "plot_bunching", "plot_cohort_k", "plot_vpr_vs_journal", "interval_chart",
           "bunching_chart", "cohort_k_chart", "evidence_panel", "default_fences"]
