"""ВПР charts (ФИС ОКО views): marks, ВПР vs journal, primary scores, tasks and task levels.

Axes-level functions ``plot_x(data, *, ax=None, …) -> Axes`` draw on ``ax`` (or a new pyplot figure
of the chart's own size) and return it; ``x_chart(data, …) -> Chart`` are what the reports embed:
the same drawing as SVG with the title, legend and the caption «Источник: …; n = …» in HTML.
"""
from __future__ import annotations

import html
import re
from functools import partial
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from msoko.plots._draw import aligned, bars, box, line, max_n, points, rows_by, segments, text_color, vline
from msoko.plots.embed import _PRINT_EXACT, Chart, embed, no_data, row
from msoko.plots.embed import legend as html_legend
from msoko.plots.theme import (DEFAULT_THRESHOLDS, FS, JOURNAL_COLORS, JOURNAL_ORDER, LEVEL_COLORS, LEVEL_NAMES,
                               MARK_COLORS, domain, fmt_num, group_color, n_label, new_axes, nice_ticks, order,
                               report_axes, set_xticks, set_yticks, settle, text_width)

_HEX_RE = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\Z")
MARK_LABELS = {m: f"«{m}»" for m in (2, 3, 4, 5)}


# --- 100 % stacked bars: marks, ВПР vs journal ------------------------------------------------

def _shares_box(data: pd.DataFrame) -> dict:
    groups = list(dict.fromkeys(data["group"])) if len(data) else [""]
    ns = data.groupby("group", sort=False)["n"].max() if len(data) else pd.Series(dtype=float)
    left = min(330.0, max(text_width(n_label(g, ns.get(g))) for g in groups) + 14)
    return box(left + 420, 10 + 22 * len(groups) + 40, left=left, right=14, top=10, bottom=40)


def plot_stacked_shares(data: pd.DataFrame, *, categories: Sequence, colors: Mapping, key: str = "category",
                        labels: Mapping | None = None, min_n: int = 5, ax=None):
    """100 % horizontal stacked bars, one row per ``group`` (in order of appearance), segments in the
    order of ``categories`` coloured by ``colors``; a segment ≥ 6 % carries its rounded share; a row
    with fewer than ``min_n`` participants shows no shares.

    ``data`` columns: ``group``, ``key``, ``share`` (%), ``n`` (participants of the row)."""
    labels = dict(labels or {})
    cats = list(categories)
    for c in cats:
        col = colors[c]
        if not isinstance(col, str) or not _HEX_RE.match(col):
            raise ValueError(f"Цвет категории {c!r} должен быть в виде #rrggbb: {col!r}")
    name = {c: str(labels.get(c, c)) for c in cats}
    if ax is None:
        ax = new_axes(**_shares_box(data), pyplot=True)
    groups = list(dict.fromkeys(data["group"]))
    wide = data.pivot_table(index="group", columns=key, values="share", aggfunc="sum").reindex(groups)
    ns = data.groupby("group", sort=False)["n"].max().reindex(groups)
    shown = [i for i, g in enumerate(groups) if pd.notna(ns.loc[g]) and ns.loc[g] >= min_n]
    left = np.zeros(len(groups))
    for c in cats:
        v = (wide[c] if c in wide.columns else pd.Series(0.0, index=groups)).fillna(0.0).to_numpy(float)
        rows = [i for i in shown if v[i] > 0]
        bars(ax, [left[i] for i in rows], [left[i] + v[i] for i in rows], [i - 0.36 for i in rows],
             [i + 0.36 for i in rows], colors[c], cls="segment", label=name[c],
             tips=[f"{groups[i]} — {name[c]}: {fmt_num(v[i], 1)} %" for i in rows])
        for i in rows:
            if v[i] >= 6:
                ax.text(left[i] + v[i] / 2, i, f"{v[i]:.0f}", ha="center", va="center", fontsize=FS - 1,
                        color=text_color(colors[c]))
        left[rows] += v[rows]
    for i, g in enumerate(groups):
        if i not in shown:
            ax.text(1, i, f"меньше {min_n} участников — не показывается", va="center", fontsize=FS - 0.5,
                    color="#777777", style="italic")
    ax.set_xlim(0, 100)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    set_xticks(ax, [0, 25, 50, 75, 100])
    ax.set_yticks(range(len(groups)), [n_label(g, ns.loc[g]) for g in groups], fontsize=FS, color="#222222")
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("Доля участников, %")
    return ax


def plot_marks_distribution(data: pd.DataFrame, *, ax=None, min_n: int = 5):
    """Shares of the marks «2»–«5», one 100 % bar per group.

    ``data`` columns: ``group``, ``mark`` (2–5), ``share`` (%), ``n`` (participants of the group)."""
    return plot_stacked_shares(data, categories=(2, 3, 4, 5), colors=MARK_COLORS, key="mark", labels=MARK_LABELS,
                               min_n=min_n, ax=ax)


def plot_vpr_vs_journal(data: pd.DataFrame, *, ax=None, min_n: int = 5):
    """ВПР mark vs the journal mark: shares of «понизили / подтвердили / повысили», one bar per group.

    ``data`` columns: ``group``, ``category`` (one of :data:`JOURNAL_ORDER`), ``share`` (%), ``n``."""
    return plot_stacked_shares(data, categories=JOURNAL_ORDER, colors=JOURNAL_COLORS, key="category", min_n=min_n,
                               ax=ax)


def stacked_shares_chart(data: pd.DataFrame, *, categories: Sequence, colors: Mapping, title: str, source: str,
                         key: str = "category", labels: Mapping | None = None, n: int | None = None,
                         note: str | None = None, min_n: int = 5) -> Chart:
    """The 100 % bars as they are embedded in a report: HTML bars, not SVG.

    The overviews of every work have sixty rows and two hundred numbers: as matplotlib SVG that
    was 0.2 s of a school report's chart time, as HTML bars it is milliseconds, and the rows
    reflow on a narrow screen. The chart is the same (:func:`plot_stacked_shares` draws it
    with matplotlib for ``chart.plot()`` and a notebook)."""
    draw = partial(plot_stacked_shares, data, categories=categories, colors=colors, key=key, labels=labels,
                   min_n=min_n)
    return Chart.make(html_stacked_bars(data, categories=categories, colors=colors, key=key, labels=labels,
                                        title=title, source_note=source, n=n, note=note, min_n=min_n),
                      title=title, draw=draw)


def html_stacked_bars(data: pd.DataFrame, *, categories: Sequence, colors: Mapping, title: str, source_note: str,
                      key: str = "category", labels: Mapping | None = None, n: int | None = None,
                      note: str | None = None, min_n: int = 5, xlabel: str = "Доля участников, %") -> str:
    """100 % horizontal stacked bars as an HTML fragment (inline styles only, no script, no external resource).

    ``data`` columns: ``group`` (row label), ``key`` (one of ``categories``), ``share`` (%), ``n``
    (participants of the row). Rows keep their order of appearance; segments follow ``categories``,
    coloured by ``colors[category]`` (hex colours), named in the legend by ``labels[category]``
    (default ``str(category)``). A segment at least 6 % wide carries its rounded share. Rows with
    fewer than ``min_n`` participants show no shares. Under the chart: the source, n (``n`` or
    «n — в подписи строки») and an optional note. Every text is escaped with :func:`html.escape`.
    """
    esc = html.escape
    labels = dict(labels or {})
    cats = list(categories)
    for c in cats:
        col = colors[c]
        if not isinstance(col, str) or not _HEX_RE.match(col):
            raise ValueError(f"Цвет категории {c!r} должен быть в виде #rrggbb: {col!r}")
    name = {c: str(labels.get(c, c)) for c in cats}
    legend = html_legend([(name[c], colors[c], "box") for c in cats])
    rows = []
    if data is not None and not data.empty:
        groups, cols, ns = _shares_by_group(data, key, cats)
        for i, g in enumerate(groups):
            ng = ns[i]
            label = f'{esc(str(g))} <span style="white-space:nowrap">{esc(f"(n = {fmt_num(ng)})")}</span>'
            head = (f'<div style="flex:0 0 38%;text-align:right;padding-right:0.6em;line-height:1.2">'
                    f'{label}</div>')
            if pd.isna(ng) or ng < min_n:
                bar = (f'<div style="flex:1 1 auto;color:#777777;font-style:italic">'
                       f'{esc(f"меньше {min_n} участников — не показывается")}</div>')
            else:
                segs = []
                for c in cats:
                    v = float(cols[c][i]) if c in cols and not np.isnan(cols[c][i]) else 0.0
                    if v <= 0:
                        continue
                    text = esc(f"{v:.0f}") if v >= 6 else ""
                    tip = esc(f"{name[c]}: {fmt_num(v, 1)} %", quote=True)
                    segs.append(
                        f'<div title="{tip}" style="width:{v:.3f}%;background:{colors[c]};color:{text_color(colors[c])};'
                        f'{_PRINT_EXACT}box-sizing:border-box;border-right:1px solid #ffffff;overflow:hidden;'
                        f'white-space:nowrap;text-align:center;font-size:0.85em;line-height:1.5em">{text}</div>')
                bar = ('<div style="flex:1 1 auto;display:flex;height:1.5em;background:#f2f2f2;'
                       f'{_PRINT_EXACT}">{"".join(segs)}</div>')
            rows.append(f'<div style="display:flex;align-items:center;margin:3px 0;break-inside:avoid;'
                        f'page-break-inside:avoid">{head}{bar}</div>')
    else:
        rows.append('<div style="color:#777777">Нет данных</div>')
    ticks = "".join(
        f'<span style="position:absolute;left:{t}%;transform:translateX(-{t}%)">{t}</span>' for t in (0, 25, 50, 75, 100))
    axis = ('<div style="display:flex;margin-top:2px;font-size:0.8em;color:#555555">'
            '<div style="flex:0 0 38%"></div><div style="flex:1 1 auto;position:relative;height:1.2em">'
            f'{ticks}</div></div>'
            '<div style="display:flex;font-size:0.85em;color:#333333"><div style="flex:0 0 38%"></div>'
            f'<div style="flex:1 1 auto;text-align:center">{esc(xlabel)}</div></div>')
    parts = [f"Источник: {source_note}", f"n = {fmt_num(n)}" if n is not None else "n — в подписи строки"]
    if note:
        parts.append(note)
    return (
        f'<figure class="msoko-hbars" style="margin:1em 0 1.5em 0;max-width:62em;font-size:13px;{_PRINT_EXACT}'
        'break-inside:auto">'
        f'<div style="font-weight:600;font-size:1.1em;margin-bottom:0.3em">{esc(title)}</div>'
        f'{legend}'
        f'{"".join(rows)}{axis}'
        f'<figcaption style="font-size:0.85em;color:#555555;margin-top:0.4em">{esc("; ".join(parts))}</figcaption>'
        '</figure>')


def _shares_by_group(data: pd.DataFrame, key: str, cats: list) -> tuple[list, dict, list]:
    """The groups in order of appearance; per category of ``cats`` present, each group's summed share (NaN: no
    share) — ``pivot_table(index="group", columns=key, values="share", aggfunc="sum").reindex(groups)``; each
    group's largest ``n`` (``groupby("group")["n"].max()``, its dtype). Dicts: the pivot cost ~5 ms a chart.
    (A share of 0 and no share are alike to the bars: neither is drawn.)"""
    group = data["group"].tolist()
    groups = list(dict.fromkeys(group))
    share = data["share"].to_numpy(dtype=float, na_value=np.nan)
    sums: dict = {}
    for g, c, v in zip(group, data[key].tolist(), share.tolist()):
        if pd.isna(g) or pd.isna(c):
            continue
        sums[(g, c)] = sums.get((g, c), 0.0) + (v if v == v else 0.0)   # a pair's sum skips NaN: 0 if all are
    present = {c for _, c in sums}
    cols = {c: np.array([sums.get((g, c), np.nan) for g in groups]) for c in cats if c in present}
    n = data["n"].to_numpy()
    rows: dict = {}
    for i, g in enumerate(group):
        if not pd.isna(g):
            rows.setdefault(g, []).append(i)
    ns = []
    for g in groups:
        v = n[rows[g]] if g in rows else n[:0]
        v = v[~pd.isna(v)] if v.dtype.kind in "fO" else v
        ns.append(v.max().item() if len(v) and hasattr(v.max(), "item") else v.max() if len(v) else np.nan)
    return groups, cols, ns


def marks_chart(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР", title: str = "Распределение отметок") -> Chart:
    return stacked_shares_chart(data, categories=(2, 3, 4, 5), colors=MARK_COLORS, key="mark", labels=MARK_LABELS,
                                title=title, source=source)


def vpr_vs_journal_chart(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР; отметка в журнале",
                         title: str = "Отметка ВПР и отметка в журнале") -> Chart:
    return stacked_shares_chart(data, categories=JOURNAL_ORDER, colors=JOURNAL_COLORS, key="category", title=title,
                                source=source, note="понизили: отметка ВПР ниже журнальной")


# --- primary scores ---------------------------------------------------------------------------

_HIST_BOX = box(520, 250, left=52, right=10, top=24, bottom=40)


def plot_score_histogram(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                         max_score: float | None = None, ax=None):
    """Distribution of primary scores with the mark boundaries drawn (dashed, halfway between the
    last score of a mark and the first score of the next).

    ``data`` columns: ``group``, ``score``, ``share`` (% of the group's participants), ``n``. The first
    group (the school) is drawn as bars, every other group as a line with points.
    ``boundaries``: the lowest primary score of each mark, e.g. ``{3: 6, 4: 10, 5: 15}``."""
    if ax is None:
        ax = new_axes(**_HIST_BOX, pyplot=True)
    rows = rows_by(data)
    groups = order(rows)
    score, share, ns = (data[c].to_numpy(float) for c in ("score", "share", "n"))
    hi_score = float(max_score) if max_score else float(np.nanmax(score))
    yt = domain(share, include=[0], pad=0.12, clamp=(0, 100))
    for i, g in enumerate(groups):
        r = rows[g][np.argsort(score[rows[g]], kind="stable")]
        s, v = score[r], share[r]
        col, lab = group_color(g), n_label(g, np.nanmax(ns[r]) if len(r) and not np.isnan(ns[r]).all() else None)
        tips = [f"{g}: {fmt_num(a)} б. — {fmt_num(b, 1)} %" for a, b in zip(s, v)]
        if i == 0:
            bars(ax, s - 0.4, s + 0.4, np.zeros(len(s)), v, col, label=lab, tips=tips, alpha=0.85)
        else:
            line(ax, s, v, col, cls="line", width=1.5, label=lab, zorder=4)
            points(ax, s, v, col, size=3.4, tips=tips)
    for m, low in sorted((boundaries or {}).items()):
        vline(ax, low - 0.5, cls="boundary", text=f"«{m}» от {fmt_num(low)}", ha="left")
    ax.set_xlim(-0.7, hi_score + 0.7)
    ax.set_ylim(0, yt[-1])
    set_yticks(ax, yt)
    set_xticks(ax, [t for t in nice_ticks(0, hi_score, 8, integer=True) if t <= hi_score])
    settle(ax, "histogram", lambda: ax.grid(axis="x", visible=False))
    ax.set_xlabel("Первичный балл")
    ax.set_ylabel("Доля участников, %")
    return ax


def score_histogram_chart(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                          max_score: float | None = None, source: str = "ФИС ОКО, ВПР",
                          title: str | None = None) -> Chart:
    title = title or "Распределение первичных баллов"
    if data.empty:
        return no_data(title=title)
    draw = partial(plot_score_histogram, data, boundaries=boundaries, max_score=max_score)
    ax = report_axes("histogram", **_HIST_BOX)
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=max_n(data, order(data["group"].tolist())[0]),
                 note="пунктир — границы отметок", draw=draw)


# --- tasks and levels ---------------------------------------------------------------------------

def _tasks_box(data: pd.DataFrame) -> dict:
    n = max(1, len({t for t in data["task"].tolist() if not pd.isna(t)}))   # nunique(): ~0.5 ms on Arrow text
    return box(max(420.0, 24.0 * n + 70), 260, left=52, right=8, top=10, bottom=58, xlabel=36)


def plot_task_completion(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None, ax=None):
    """Task completion (% of the maximum score) by task: the school as bars, every other group as a
    short dash over its bar; each task's sufficiency threshold (by its level Б/П/В) as a dotted step.

    ``data`` columns: ``task``, ``level`` ('Б'/'П'/'В'/None), ``group``, ``value`` (%), ``n``,
    optional ``label`` (the task's name on the axis)."""
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if ax is None:
        ax = new_axes(**_tasks_box(data), pyplot=True)
    task = data["task"].to_numpy(dtype=object)
    value = data["value"].to_numpy(float)
    tasks = list(dict.fromkeys(task))
    by_task = rows_by(data, "task")   # once: per task it cost ~0.3 ms × tasks²
    first = [by_task[t][0] for t in tasks]
    lv = list(data["level"].to_numpy(dtype=object)[first])
    labels = list(data["label"].to_numpy(dtype=object)[first]) if "label" in data else tasks
    rows = rows_by(data)
    groups = order(rows)
    school = groups[0]
    x = np.arange(len(tasks), dtype=float)
    d0 = aligned(tasks, task, value, rows[school])
    ok = ~np.isnan(d0)
    bars(ax, x[ok] - 0.35, x[ok] + 0.35, np.zeros(ok.sum()), d0[ok], group_color(school), label=school, alpha=0.85,
         tips=[f"{school}, задание {labels[i]}: {fmt_num(d0[i], 1)} %" for i in np.flatnonzero(ok)])
    for g in groups[1:]:
        v = aligned(tasks, task, value, rows[g])
        ok = ~np.isnan(v)
        segments(ax, x[ok] - 0.385, x[ok] + 0.385, v[ok], group_color(g), cls="tick", label=g,
                 tips=[f"{g}, задание {labels[i]}: {fmt_num(v[i], 1)} %" for i in np.flatnonzero(ok)])
    for level in [lvl for lvl in LEVEL_NAMES if lvl in {v for v in lv if isinstance(v, str)}]:
        if level not in thresholds:
            continue
        idx = [i for i, lvl in enumerate(lv) if lvl == level]
        segments(ax, x[idx] - 0.45, x[idx] + 0.45, [thresholds[level]] * len(idx), LEVEL_COLORS[level],
                 cls=f"threshold level-{level}", width=1.3, dashes=(1.5, 2), zorder=5,
                 label=f"Порог {level} ({LEVEL_NAMES[level]} уровень) — {fmt_num(thresholds[level])} %")
    ax.set_xlim(-0.6, len(tasks) - 0.4)
    ax.set_ylim(0, 105)
    set_yticks(ax, [0, 20, 40, 60, 80, 100])
    set_xticks(ax, x, [f"{lab}\n{lvl if isinstance(lvl, str) else ''}" for lab, lvl in zip(labels, lv)])
    settle(ax, "tasks", lambda: (ax.tick_params(axis="x", labelsize=FS - 1.5, bottom=False),  # categories: no tick marks
                                 ax.grid(axis="x", visible=False)))
    ax.set_xlabel("Задание (уровень: Б — базовый, П — повышенный, В — высокий)")
    ax.set_ylabel("% от макс. балла")
    return ax


def task_completion_chart(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None,
                          source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    title = title or "Выполнение заданий"
    if data.empty:
        return no_data(title=title)
    thr = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    draw = partial(plot_task_completion, data, thresholds=thr)
    ax = report_axes("tasks", **_tasks_box(data))
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=max_n(data, order(data["group"].tolist())[0]),
                 note="под номером задания — его уровень: " + ", ".join(f"{k} — {v}" for k, v in LEVEL_NAMES.items())
                      + "; пороги достаточности: " + ", ".join(f"{k} — {fmt_num(v)} %" for k, v in thr.items()),
                 draw=draw)


_LEVELS_BOX = box(400, 240, left=52, right=8, top=16, bottom=40)


def plot_task_levels(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None, ax=None):
    """Completion by difficulty level (Б/П/В): grouped bars per comparison group, each bar with its
    value, the level's sufficiency threshold as a dotted line.

    ``data`` columns: ``level``, ``group``, ``value`` (%), ``n``."""
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if ax is None:
        ax = new_axes(**_LEVELS_BOX, pyplot=True)
    levels = [lv for lv in LEVEL_NAMES if lv in set(data["level"])]
    groups = order(data["group"])
    slot = 0.8 / len(groups)
    for i, g in enumerate(groups):
        v = data[data["group"] == g].set_index("level").reindex(levels)["value"].to_numpy(float)
        ok = np.flatnonzero(~np.isnan(v))
        xs = ok + (i - (len(groups) - 1) / 2) * slot
        bars(ax, xs - slot * 0.475, xs + slot * 0.475, np.zeros(len(ok)), v[ok], group_color(g), label=g,
             tips=[f"{g}, {LEVEL_NAMES[levels[j]]} уровень: {fmt_num(v[j], 1)} %" for j in ok])
        for x, j in zip(xs, ok):
            ax.text(x, v[j] + 1.5, fmt_num(v[j]), ha="center", va="bottom", fontsize=FS - 1.5)
    for j, lv in enumerate(levels):
        if lv in thresholds:
            segments(ax, [j - 0.45], [j + 0.45], [thresholds[lv]], LEVEL_COLORS[lv], cls=f"threshold level-{lv}",
                     width=1.3, dashes=(1.5, 2), zorder=5,
                     tips=[f"Порог достаточности, {LEVEL_NAMES[lv]} уровень: {fmt_num(thresholds[lv])} %"])
    ax.set_xlim(-0.5, len(levels) - 0.5)
    ax.set_ylim(0, 110)
    set_yticks(ax, [0, 20, 40, 60, 80, 100])
    set_xticks(ax, range(len(levels)), [f"{lv} — {LEVEL_NAMES[lv]}" for lv in levels])
    settle(ax, "levels", lambda: (ax.tick_params(axis="x", bottom=False), ax.grid(axis="x", visible=False)))
    ax.set_ylabel("% от макс. балла")
    return ax


def task_levels_chart(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None,
                      source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    title = title or "Выполнение по уровням сложности"
    if data.empty:
        return no_data(title=title)
    draw = partial(plot_task_levels, data, thresholds=thresholds)
    ax = report_axes("levels", **_LEVELS_BOX)
    draw(ax=ax)
    return embed(ax, title=title, source=source, n=max_n(data, order(data["group"].tolist())[0]),
                 note="точки — порог достаточности", draw=draw)


def vpr_detail_chart(*, scores: pd.DataFrame, tasks: pd.DataFrame, boundaries: Mapping[int, float] | None = None,
                     max_score: float | None = None, thresholds: Mapping[str, float] | None = None,
                     source: str = "ФИС ОКО, ВПР") -> Chart:
    """The two pictures of one ВПР that a table cannot replace, side by side: the score
    distribution with the mark boundaries, and task completion with the sufficiency thresholds.
    (Marks and ВПР vs journal of every work are drawn once, in the overview.)"""
    right = (task_completion_chart(tasks, thresholds=thresholds, source=source,
                                   title="Выполнение заданий (% от максимального балла)")
             if not tasks.empty else no_data("Нет результатов по заданиям"))
    return row(score_histogram_chart(scores, boundaries=boundaries, max_score=max_score, source=source), right)
