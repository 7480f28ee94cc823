"""Every chart of the msoko reports, in one style.

Each chart is an axes-level function ``plot_x(data, ax=None, ...) -> Axes`` that
takes a long-form frame, draws on ``ax`` (a new figure when ``None``) and returns
it. The theme, the colours and the caption under every chart (source and n)
are defined here once, so the same meaning has the same colour in every report:
the school itself, the municipality, the region and similar schools.

All text on a chart is Russian; units are part of the axis labels.
"""
from __future__ import annotations

import html
import io
import re
import textwrap
from typing import Iterable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # reports are rendered headless

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

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
FLAG_COLOR = "#c51b7d"     # a sign that fires
NEUTRAL_COLOR = "#9e9e9e"  # everything that is only context
# Default sufficiency thresholds of task completion, % (the municipal configuration may override).
DEFAULT_THRESHOLDS: dict[str, float] = {"Б": 50.0, "П": 30.0, "В": 15.0}

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "x",
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


def set_style() -> None:
    """Apply the msoko theme (called on import; safe to call again)."""
    matplotlib.rcParams.update(RC)


set_style()


def group_color(group: str) -> str:
    return GROUP_COLORS.get(str(group), NEUTRAL_COLOR)


def _ax(ax: Axes | None, size: tuple[float, float] = (7.5, 3.2)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def fmt_num(x: float | None, digits: int = 0) -> str:
    """Russian number format: decimal comma, thin space as thousands separator."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or pd.isna(x):
        return "—"
    s = f"{x:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return s


def caption(ax: Axes, *, source: str, n: int | str | None = None, note: str | None = None) -> Axes:
    """Write the source, n and an optional note under the chart."""
    parts = [f"Источник: {source}"]
    if n is not None:
        parts.append(f"n = {n if isinstance(n, str) else fmt_num(n)}")
    if note:
        parts.append(note)
    width_chars = max(40, int(ax.get_position().width * ax.figure.get_figwidth() * 17))
    text = "\n".join(textwrap.wrap("; ".join(parts), width_chars))
    ann = ax.annotate(text, xy=(0, 0), xycoords="axes fraction", xytext=(0, -30),
                      textcoords="offset points", va="top", ha="left", fontsize=7.5, color="#555555",
                      annotation_clip=False)
    ann.set_gid("msoko-caption")
    return ax


def _place_captions(fig, renderer=None) -> list:
    """Move every caption just below its axes' tick labels and axis label (known only after drawing).

    Returns the tight boxes (display units) of the visible axes, captions included, so that
    the figure's tight box needs no second pass over the axes."""
    renderer = renderer or fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        caps = [t for t in ax.texts if t.get_gid() == "msoko-caption" and t.get_visible()]
        for c in caps:
            c.set_visible(False)
        bb = ax.get_tightbbox(renderer)
        boxes.append(bb)
        if not caps:
            continue
        ax_bottom = ax.get_window_extent(renderer).y0
        gap_pt = (ax_bottom - bb.y0) * 72 / fig.dpi + 5
        for c in caps:
            c.set_visible(True)
            c.xyann = (0, -gap_pt)
            boxes.append(c.get_tightbbox(renderer))
    return boxes


def _tight_box(fig, renderer, axes_boxes: list):
    """``fig.get_tightbbox`` (in inches) from the axes boxes already measured by ``_place_captions``."""
    from matplotlib.transforms import Bbox, TransformedBbox

    bb = list(axes_boxes)
    for a in fig.get_children():
        if a not in fig.axes and a.get_visible() and a.get_in_layout():
            b = a.get_tightbbox(renderer)
            if b is not None:
                bb.append(b)
    bb = [b for b in bb if b is not None and np.isfinite(b.width) and np.isfinite(b.height)
          and (b.width != 0 or b.height != 0)]
    if not bb:
        return fig.bbox_inches
    return TransformedBbox(Bbox.union(bb), fig.dpi_scale_trans.inverted())


def _no_data(ax: Axes, text: str = "Нет данных") -> Axes:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return ax


def _order(values: Iterable[str], order: Sequence[str]) -> list[str]:
    vals = list(dict.fromkeys(values))
    return [g for g in order if g in vals] + [g for g in vals if g not in order]


# --- ФИС ОКО views ----------------------------------------------------------------------

def _stacked_share_bars(data: pd.DataFrame, ax: Axes | None, *, column: str, order, colors: Mapping,
                        labels: Mapping, dark_text: set, ncol: int, title: str, source: str,
                        note: str | None = None) -> Axes:
    """100 % stacked horizontal bars of ``share`` by ``column`` category, one bar per ``group``.

    Shared by the marks and the ВПР-vs-journal charts: only categories, colours and texts differ.
    """
    k = max(2, data["group"].nunique())
    ax = _ax(ax, (7.5, (0.55 if k <= 6 else 0.32) * k + 1.3))
    if data.empty:
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    wide = data.pivot_table(index="group", columns=column, values="share", aggfunc="sum").reindex(groups)
    ns = data.groupby("group")["n"].max().reindex(groups)
    left = np.zeros(len(groups))
    y = np.arange(len(groups))[::-1]
    for cat in order:
        vals = wide[cat].fillna(0).to_numpy() if cat in wide else np.zeros(len(groups))
        ax.barh(y, vals, left=left, color=colors[cat], label=labels[cat], height=0.6,
                edgecolor="white", linewidth=0.5)
        for yi, l, v in zip(y, left, vals):
            if v >= 6:
                ax.text(l + v / 2, yi, f"{v:.0f}", ha="center", va="center", fontsize=7.5,
                        color="white" if cat in dark_text else "black")
        left += vals
    ax.set_yticks(y, [f"{g} (n = {fmt_num(k)})" for g, k in zip(groups, ns)])
    ax.set_ylim(-0.6, len(groups) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Доля участников, %")
    ax.legend(ncol=ncol, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.set_title(title, pad=22)
    return caption(ax, source=source, n=int(ns.iloc[0]) if len(ns) else None, note=note)


def plot_marks_distribution(data: pd.DataFrame, ax: Axes | None = None, *, source: str = "ФИС ОКО, ВПР",
                            title: str | None = None) -> Axes:
    """100 % stacked bars of the «2»–«5» shares, one bar per group.

    ``data`` columns: ``group``, ``mark`` (2–5), ``share`` (%), ``n`` (participants of the group).
    """
    return _stacked_share_bars(data, ax, column="mark", order=(2, 3, 4, 5), colors=MARK_COLORS,
                               labels={m: f"«{m}»" for m in (2, 3, 4, 5)}, dark_text={2, 5}, ncol=4,
                               title=title or "Распределение отметок", source=source)


def plot_score_histogram(data: pd.DataFrame, ax: Axes | None = None, *, boundaries: Mapping[int, float] | None = None,
                         max_score: float | None = None, source: str = "ФИС ОКО, ВПР",
                         title: str | None = None) -> Axes:
    """Distribution of primary scores with the mark boundaries drawn.

    ``data`` columns: ``group``, ``score`` (primary score), ``share`` (% of the group's
    participants), ``n``. The school is drawn as bars, every other group as a line.
    ``boundaries``: the lowest primary score of each mark, e.g. ``{3: 6, 4: 10, 5: 15}``.
    """
    ax = _ax(ax)
    if data.empty:
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    n_first = None
    for g in groups:
        d = data[data["group"] == g].sort_values("score")
        if n_first is None:
            n_first = int(d["n"].max())
        if g == groups[0]:
            ax.bar(d["score"], d["share"], width=0.8, color=group_color(g), alpha=0.85,
                   label=f"{g} (n = {fmt_num(d['n'].max())})")
        else:
            ax.plot(d["score"], d["share"], color=group_color(g), marker="o", ms=2.5, lw=1.5,
                    label=f"{g} (n = {fmt_num(d['n'].max())})")
    top = data["share"].max() * 1.15 if len(data) else 1
    for mark, low in sorted((boundaries or {}).items()):
        ax.axvline(low - 0.5, color="#333333", ls="--", lw=0.9)
        ax.text(low - 0.4, top, f"«{mark}» от {fmt_num(low)}", fontsize=7.5, va="top", ha="left", color="#333333")
    ax.set_ylim(0, top * 1.05)
    if max_score:
        ax.set_xlim(-0.7, max_score + 0.7)
    ax.set_xlabel("Первичный балл")
    ax.set_ylabel("Доля участников, %")
    ax.grid(axis="y")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith(groups[0]))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title(title or "Распределение первичных баллов", pad=22)
    return caption(ax, source=source, n=n_first, note="пунктир — границы отметок")


def plot_task_completion(data: pd.DataFrame, ax: Axes | None = None, *, thresholds: Mapping[str, float] | None = None,
                         source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Axes:
    """Task completion (% of the maximum score) by task, school vs comparison groups.

    ``data`` columns: ``task``, ``level`` ('Б'/'П'/'В'/None), ``group``, ``value`` (%), ``n``.
    The sufficiency threshold of each task's difficulty level is drawn as a short step.
    """
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    tasks = list(dict.fromkeys(data["task"]))
    ax = _ax(ax, (max(6.0, 0.32 * len(tasks) + 2), 3.2))
    if data.empty:
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    x = np.arange(len(tasks))
    school = groups[0]
    d0 = data[data["group"] == school].set_index("task").reindex(tasks)
    ax.bar(x, d0["value"], width=0.7, color=group_color(school), alpha=0.85, label=school)
    for g in groups[1:]:
        d = data[data["group"] == g].set_index("task").reindex(tasks)
        ax.plot(x, d["value"], ls="none", marker="_", ms=11, mew=2.2, color=group_color(g), label=g)
    lv = data.drop_duplicates("task").set_index("task").reindex(tasks)["level"]
    drawn = False
    for xi, level in zip(x, lv):
        if level in thresholds:
            ax.hlines(thresholds[level], xi - 0.45, xi + 0.45, colors="#333333", linestyles=":", lw=1.2,
                      label=None if drawn else "Порог достаточности")
            drawn = True
    labels = data.drop_duplicates("task").set_index("task").reindex(tasks)["label"] if "label" in data else \
        pd.Series(tasks, index=tasks)
    ax.set_xticks(x, [f"{lab}\n{lvl if isinstance(lvl, str) else ''}" for lab, lvl in zip(labels, lv)], fontsize=7)
    ax.set_ylim(0, 105)
    ax.set_ylabel("Выполнение, % от макс. балла")
    ax.set_xlabel("Задание (уровень сложности: Б — базовый, П — повышенный, В — высокий)")
    ax.grid(axis="y")
    ax.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] != school)
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4)
    ax.set_title(title or "Выполнение заданий", pad=20)
    n = int(d0["n"].max()) if "n" in d0 and d0["n"].notna().any() else None
    return caption(ax, source=source, n=n,
                   note="пороги: " + ", ".join(f"{k} — {fmt_num(v)} %" for k, v in thresholds.items()))


def plot_task_levels(data: pd.DataFrame, ax: Axes | None = None, *, thresholds: Mapping[str, float] | None = None,
                     source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Axes:
    """Completion by difficulty level (Б/П/В), grouped bars per comparison group.

    ``data`` columns: ``level``, ``group``, ``value`` (%), ``n``.
    """
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    ax = _ax(ax, (5.5, 3.0))
    if data.empty:
        return _no_data(ax)
    levels = [lv for lv in ("Б", "П", "В") if lv in set(data["level"])]
    groups = _order(data["group"], GROUP_ORDER)
    width = 0.8 / len(groups)
    x = np.arange(len(levels))
    for i, g in enumerate(groups):
        d = data[data["group"] == g].set_index("level").reindex(levels)
        bars = ax.bar(x + (i - (len(groups) - 1) / 2) * width, d["value"], width=width * 0.95,
                      color=group_color(g), label=g)
        ax.bar_label(bars, labels=[fmt_num(v) for v in d["value"]], fontsize=7, padding=1)
    for xi, lv in zip(x, levels):
        if lv in thresholds:
            ax.hlines(thresholds[lv], xi - 0.45, xi + 0.45, colors="#333333", linestyles=":", lw=1.2)
    ax.set_xticks(x, [f"{lv} — {LEVEL_NAMES[lv]}" for lv in levels])
    ax.set_ylim(0, 110)
    ax.set_ylabel("Выполнение, % от макс. балла")
    ax.grid(axis="y")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4)
    ax.set_title(title or "Выполнение по уровням сложности", pad=20)
    n = data.loc[data["group"] == groups[0], "n"].max()
    return caption(ax, source=source, n=int(n) if pd.notna(n) else None, note="точки — порог достаточности")


def plot_vpr_vs_journal(data: pd.DataFrame, ax: Axes | None = None, *, source: str = "ФИС ОКО, ВПР; отметка в журнале",
                        title: str | None = None) -> Axes:
    """ВПР mark vs the journal mark: shares of «понизили / подтвердили / повысили».

    ``data`` columns: ``group``, ``category`` (one of :data:`JOURNAL_ORDER`), ``share`` (%), ``n``.
    """
    return _stacked_share_bars(data, ax, column="category", order=JOURNAL_ORDER, colors=JOURNAL_COLORS,
                               labels={c: c for c in JOURNAL_ORDER}, dark_text=set(), ncol=3,
                               title=title or "Отметка ВПР и отметка в журнале", source=source,
                               note="понизили: отметка ВПР ниже журнальной")


# --- HTML charts (no matplotlib: cheap to render, text stays text) -------------------------

_HEX_RE = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\Z")
_PRINT_EXACT = "-webkit-print-color-adjust:exact;print-color-adjust:exact;"


def _text_color(bg: str) -> str:
    """White text on dark fills, black on light ones (the same choice as the matplotlib charts)."""
    h = bg.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 115 else "#000000"


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
    box = "display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;margin-right:0.3em;"
    legend = "".join(
        f'<span style="white-space:nowrap;margin-right:1.2em"><span style="{box}background:{colors[c]};'
        f'{_PRINT_EXACT}"></span>{esc(name[c])}</span>' for c in cats)
    rows = []
    if data is not None and not data.empty:
        groups = list(dict.fromkeys(data["group"]))
        wide = data.pivot_table(index="group", columns=key, values="share", aggfunc="sum").reindex(groups)
        ns = data.groupby("group", sort=False)["n"].max().reindex(groups)
        for g in groups:
            ng = ns.loc[g]
            label = f'{esc(str(g))} <span style="white-space:nowrap">{esc(f"(n = {fmt_num(ng)})")}</span>'
            head = (f'<div style="flex:0 0 38%;text-align:right;padding-right:0.6em;line-height:1.2">'
                    f'{label}</div>')
            if pd.isna(ng) or ng < min_n:
                bar = (f'<div style="flex:1 1 auto;color:#777777;font-style:italic">'
                       f'{esc(f"меньше {min_n} участников — не показывается")}</div>')
            else:
                segs = []
                for c in cats:
                    v = float(wide.loc[g, c]) if c in wide.columns and pd.notna(wide.loc[g, c]) else 0.0
                    if v <= 0:
                        continue
                    text = esc(f"{v:.0f}") if v >= 6 else ""
                    tip = esc(f"{name[c]}: {fmt_num(v, 1)} %", quote=True)
                    segs.append(
                        f'<div title="{tip}" style="width:{v:.3f}%;background:{colors[c]};color:{_text_color(colors[c])};'
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
        f'<div style="margin-bottom:0.4em">{legend}</div>'
        f'{"".join(rows)}{axis}'
        f'<figcaption style="font-size:0.85em;color:#555555;margin-top:0.4em">{esc("; ".join(parts))}</figcaption>'
        '</figure>')


def html_marks_distribution(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР",
                            title: str = "Распределение отметок") -> str:
    """:func:`plot_marks_distribution` as HTML bars (for long overviews: many rows, no rendering cost)."""
    return html_stacked_bars(data, categories=(2, 3, 4, 5), colors=MARK_COLORS, key="mark",
                             labels={m: f"«{m}»" for m in (2, 3, 4, 5)}, title=title, source_note=source)


def html_vpr_vs_journal(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР; отметка в журнале",
                        title: str = "Отметка ВПР и отметка в журнале") -> str:
    """:func:`plot_vpr_vs_journal` as HTML bars."""
    return html_stacked_bars(data, categories=JOURNAL_ORDER, colors=JOURNAL_COLORS, key="category",
                             title=title, source_note=source, note="понизили: отметка ВПР ниже журнальной")


# --- indicators -------------------------------------------------------------------------

def plot_indicator(data: pd.DataFrame, ax: Axes | None = None, *, unit: str = "", source: str = "msoko, показатели",
                   title: str | None = None, target: float | None = None) -> Axes:
    """One indicator with its 95 % interval, the school beside its comparison groups.

    ``data`` columns: ``group``, ``value``, ``ci_low``, ``ci_high`` (may be NaN), ``n``.
    """
    ax = _ax(ax, (6.0, 0.42 * max(2, len(data)) + 1.0))
    if data.empty or data["value"].isna().all():
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    d = data.set_index("group").reindex(groups)
    y = np.arange(len(groups))[::-1]
    for yi, (g, row) in zip(y, d.iterrows()):
        c = group_color(g)
        if pd.notna(row.get("ci_low")) and pd.notna(row.get("ci_high")):
            ax.hlines(yi, row["ci_low"], row["ci_high"], color=c, lw=2.2, alpha=0.6)
        ax.plot(row["value"], yi, "o", color=c, ms=7)
        ax.annotate(fmt_num(row["value"], 1), (row["value"], yi), xytext=(0, 6), textcoords="offset points",
                    ha="center", fontsize=7.5)
    if target is not None and pd.notna(target):
        ax.axvline(target, color="#333333", ls="--", lw=1)
        ax.text(target, 1.0, "цель", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7.5)
    ax.set_yticks(y, [f"{g} (n = {fmt_num(k)})" for g, k in zip(groups, d["n"])])
    ax.set_ylim(-0.6, len(groups) - 0.2)
    ax.set_xlabel(unit or "значение")
    ax.set_title(title or "", loc="left", pad=16)
    return caption(ax, source=source, n=d["n"].iloc[0] if pd.notna(d["n"].iloc[0]) else None,
                   note="линии — 95 % доверительный интервал")


def plot_trend(data: pd.DataFrame, ax: Axes | None = None, *, unit: str = "", source: str = "msoko, показатели",
               title: str | None = None) -> Axes:
    """Three-year trend, one line per group, the interval as a band.

    ``data`` columns: ``year``, ``group``, ``value``, optional ``ci_low``, ``ci_high``, ``n``.
    """
    ax = _ax(ax, (4.5, 2.8))
    if data.empty or data["value"].isna().all():
        return _no_data(ax)
    for g in _order(data["group"], GROUP_ORDER):
        d = data[data["group"] == g].sort_values("year")
        c = group_color(g)
        ax.plot(d["year"], d["value"], marker="o", color=c, label=g, lw=1.8, ms=4)
        if {"ci_low", "ci_high"} <= set(d) and d["ci_low"].notna().any():
            ax.fill_between(d["year"], d["ci_low"].astype(float), d["ci_high"].astype(float), color=c, alpha=0.12, lw=0)
    years = sorted(data["year"].unique())
    ax.set_xticks(years, [str(int(y)) for y in years])
    ax.set_ylabel(unit or "значение")
    ax.grid(axis="y")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3)
    ax.set_title(title or "Динамика за три года", pad=22)
    n = data.loc[data["group"] == "Школа", "n"] if "n" in data else pd.Series(dtype=float)
    return caption(ax, source=source, n=" / ".join(fmt_num(v) for v in n) if len(n) else None,
                   note="полоса — 95 % ДИ")


def plot_mkdo_areas(data: pd.DataFrame, ax: Axes | None = None, *, source: str = "МКДО", title: str | None = None) -> Axes:
    """МКДО scores by area of quality (scale 0–3), grouped horizontal bars.

    ``data`` columns: ``area``, ``group``, ``score``, ``n`` (kindergartens).
    """
    areas = list(dict.fromkeys(data["area"]))
    ax = _ax(ax, (7.5, 0.45 * max(3, len(areas)) + 1.2))
    if data.empty:
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    h = 0.8 / len(groups)
    y = np.arange(len(areas))[::-1]
    for i, g in enumerate(groups):
        d = data[data["group"] == g].set_index("area").reindex(areas)
        ax.barh(y + ((len(groups) - 1) / 2 - i) * h, d["score"], height=h * 0.95, color=group_color(g), label=g)
    for lvl, name in ((1, "базовый"), (2, "хороший"), (3, "превосходный")):
        ax.axvline(lvl, color="#999999", ls=":", lw=0.8)
        ax.text(lvl, y.max() + 0.6, name, fontsize=7, ha="center", color="#555555")
    ax.set_yticks(y, areas)
    ax.set_xlim(0, 3.05)
    ax.set_xlabel("Балл МКДО (0 — ниже базового, 3 — превосходный)")
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1.0), ncol=3)
    ax.set_title(title or "МКДО по областям качества", pad=20)
    n = data.loc[data["group"] == groups[0], "n"].max() if "n" in data else None
    return caption(ax, source=source, n=int(n) if n is not None and pd.notna(n) else None)


# --- objectivity evidence -------------------------------------------------------------------

def plot_interval_vs_reference(data: pd.DataFrame, ax: Axes | None = None, *, source: str = "ФИС ОКО, ВПР",
                               title: str | None = None) -> Axes:
    """The school's 95 % interval of the mean primary score vs the reference interval.

    ``data`` columns: ``group`` ('Школа' and e.g. 'Регион' / 'Похожие школы'), ``mean``,
    ``ci_low``, ``ci_high``, ``n``. The sign fires when the school's interval lies
    entirely above the reference one: the gap is shaded.
    """
    ax = _ax(ax, (6.0, 1.9))
    if data.empty:
        return _no_data(ax)
    groups = _order(data["group"], GROUP_ORDER)
    d = data.set_index("group").reindex(groups)
    y = np.arange(len(groups))[::-1]
    for yi, (g, row) in zip(y, d.iterrows()):
        c = group_color(g)
        ax.hlines(yi, row["ci_low"], row["ci_high"], color=c, lw=5, alpha=0.55)
        ax.plot(row["mean"], yi, "|", color=c, ms=14, mew=2)
        ax.annotate(f"{fmt_num(row['ci_low'], 1)}–{fmt_num(row['ci_high'], 1)}", (row["ci_high"], yi),
                    xytext=(5, -3), textcoords="offset points", fontsize=7.5)
    if "Школа" in d.index and len(groups) > 1:
        ref = d.drop(index="Школа")
        ref_hi = ref["ci_high"].max()
        s_lo = d.loc["Школа", "ci_low"]
        if s_lo > ref_hi:
            ax.axvspan(ref_hi, s_lo, color=FLAG_COLOR, alpha=0.12, lw=0)
    ax.set_yticks(y, [f"{g} (n = {fmt_num(k)})" for g, k in zip(groups, d["n"])])
    ax.set_ylim(-0.7, len(groups) - 0.3)
    ax.set_xlabel("Средний первичный балл (95 % ДИ)")
    ax.set_title(title or "Интервал школы и интервал сравнения")
    return caption(ax, source=source, n=d["n"].iloc[0], note="розовым — разрыв между интервалами")


def plot_bunching(data: pd.DataFrame, ax: Axes | None = None, *, boundaries: Mapping[int, float] | None = None,
                  source: str = "ФИС ОКО, ВПР", title: str | None = None, expected_label: str | None = None) -> Axes:
    """Score distribution with a smooth fit: excess mass just at the mark boundaries.

    ``data`` columns: ``score``, ``count`` (observed), ``expected`` (smooth fit, may be NaN).
    """
    ax = _ax(ax, (6.0, 2.8))
    if data.empty:
        return _no_data(ax)
    d = data.sort_values("score")
    bnd = set(float(b) for b in (boundaries or {}).values())
    colors = [FLAG_COLOR if float(s) in bnd else group_color("Школа") for s in d["score"]]
    ax.bar(d["score"], d["count"], color=colors, width=0.8, alpha=0.85, label="Наблюдаемое число работ")
    if "expected" in d and d["expected"].notna().any():
        ax.plot(d["score"], d["expected"], color="#333333", lw=1.4,
                label=expected_label or "Ожидаемое без скачков у границ")
    for mark, low in sorted((boundaries or {}).items()):
        ax.axvline(low - 0.5, color="#333333", ls="--", lw=0.8)
        ax.text(low - 0.4, ax.get_ylim()[1] * 0.97, f"«{mark}»", fontsize=7.5, va="top")
    ax.set_xlabel("Первичный балл")
    ax.set_ylabel("Число работ")
    ax.grid(axis="y")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=1)
    ax.set_title(title or "Скопление баллов у границ отметок", pad=34)
    return caption(ax, source=source, n=int(d["count"].sum()),
                   note="розовым — минимальный балл отметки")


def plot_cohort_k(data: pd.DataFrame, ax: Axes | None = None, *, highlight: str | None = None,
                  fences: tuple[float, float] | None = None, source: str = "ФИС ОКО, ВПР",
                  title: str | None = None) -> Axes:
    """Cohort K = S₄(Y) / S₅(Y+1) of every school, with the Q1 − 3·IQR / Q3 + 3·IQR fences.

    ``data`` columns: ``school_id``, ``k``, ``s4``, ``s5`` (shares of the maximum, %),
    optional ``flagged``. Schools are drawn as a strip along K, never labelled by name
    except ``highlight`` (the school of the report).
    """
    ax = _ax(ax, (6.0, 2.3))
    d = data.dropna(subset=["k"])
    if d.empty:
        return _no_data(ax)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.25, 0.25, len(d))
    flagged = d.get("flagged", pd.Series(False, index=d.index)).fillna(False).astype(bool)
    ax.scatter(d["k"], jitter, s=14, color=np.where(flagged, FLAG_COLOR, NEUTRAL_COLOR), alpha=0.8, lw=0)
    if highlight is not None and (d["school_id"] == highlight).any():
        k = d.loc[d["school_id"] == highlight, "k"].iloc[0]
        ax.scatter([k], [0], s=70, facecolor="none", edgecolor=group_color("Школа"), lw=2, label="Школа")
        ax.legend(loc="upper right")
    if fences is None:
        q1, q3 = np.percentile(d["k"], [25, 75])
        fences = (q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1))
    for f, name in zip(fences, ("рост", "падение")):
        ax.axvline(f, color="#333333", ls="--", lw=0.9)
        ax.text(f, 0.42, name, fontsize=7.5, ha="center")
    ax.set_yticks([])
    ax.set_ylim(-0.5, 0.55)
    ax.set_xlabel("K = S₄(Y) / S₅(Y+1)")
    ax.set_title(title or "Резкое изменение результатов одной параллели")
    return caption(ax, source=source, n=len(d), note="пунктир — Q1 − 3·IQR и Q3 + 3·IQR; точка — школа")


# --- rendering -------------------------------------------------------------------------------

def to_png(ax_or_fig, *, dpi: int = 100, palette: bool = True) -> bytes:
    """Render a chart to PNG bytes and close its figure (keeps memory flat in long runs).

    No layout draw of its own (captions, tight box by hand: ``bbox_inches="tight"`` would lay the figure
    out a second time), one Agg render to a raw RGBA buffer (no full-colour PNG to encode and
    decode again), then a 128-colour palette PNG: charts are flat colours, so it is about a
    third of the size with the same look."""
    from PIL import Image

    fig = ax_or_fig.figure if isinstance(ax_or_fig, Axes) else ax_or_fig
    fig.set_dpi(dpi)
    if fig.get_layout_engine() is not None:  # constrained/tight engines lay out on draw
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = _place_captions(fig, renderer)  # get_tightbbox updates ticks, titles and labels itself
    bbox = _tight_box(fig, renderer, boxes).padded(0.08)
    buf = io.BytesIO()
    fig.savefig(buf, format="raw", dpi=dpi, bbox_inches=bbox, facecolor="white")
    raw = buf.getvalue()
    # the Agg renderer of the saved area is int(width) × int(height) pixels
    w, h = int(bbox.width * dpi), int(bbox.height * dpi)
    w = next((c for c in (w, w + 1, w - 1) if c > 0 and len(raw) % (4 * c) == 0), 0)
    h = len(raw) // (4 * w) if w else 0
    plt.close(fig)
    if not w or abs(h - bbox.height * dpi) > 1.5:  # not the Agg canvas: go the long way
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches=bbox, facecolor="white")
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    else:
        im = Image.frombuffer("RGBA", (w, h), raw, "raw", "RGBA", 0, 1).convert("RGB")
    if palette:
        im = im.quantize(colors=128, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    im.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def show(ax_or_fig, *, dpi: int = 100) -> None:
    """Display a chart in a notebook as an embedded PNG, then close the figure."""
    from IPython.display import Image, display

    display(Image(data=to_png(ax_or_fig, dpi=dpi), format="png"))


def plot_vpr_panel(*, marks: pd.DataFrame, scores: pd.DataFrame, tasks: pd.DataFrame, levels: pd.DataFrame,
                   journal: pd.DataFrame, boundaries: Mapping[int, float] | None = None,
                   max_score: float | None = None, thresholds: Mapping[str, float] | None = None,
                   source: str = "ФИС ОКО, ВПР", title: str | None = None):
    """The ФИС ОКО views of one ВПР in one figure (one render instead of five):
    marks | ВПР vs journal, score histogram | levels, task completion across the bottom.

    Each panel is drawn by its axes-level function above and keeps its own caption.
    Returns the figure.
    """
    ntasks = tasks["task"].nunique() if not tasks.empty else 0
    fig = plt.figure(figsize=(11, 10.2))
    gs = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.25, 1.25], width_ratios=[1.35, 1], hspace=0.95, wspace=0.45,
                          left=0.14, right=0.98, top=0.92, bottom=0.09)
    plot_marks_distribution(marks, ax=fig.add_subplot(gs[0, 0]), source=source)
    if journal.empty:
        _no_data(fig.add_subplot(gs[0, 1]), "Нет отметок из журнала")
    else:
        plot_vpr_vs_journal(journal, ax=fig.add_subplot(gs[0, 1]), source=f"{source}; отметка за четверть")
    plot_score_histogram(scores, ax=fig.add_subplot(gs[1, 0]), boundaries=boundaries, max_score=max_score,
                         source=source)
    if levels.empty:
        _no_data(fig.add_subplot(gs[1, 1]), "Нет спецификации заданий")
    else:
        plot_task_levels(levels, ax=fig.add_subplot(gs[1, 1]), thresholds=thresholds, source=source)
    if tasks.empty or ntasks == 0:
        _no_data(fig.add_subplot(gs[2, :]), "Нет результатов по заданиям")
    else:
        plot_task_completion(tasks, ax=fig.add_subplot(gs[2, :]), thresholds=thresholds, source=source,
                             title="Выполнение заданий (% от максимального балла)")
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=11, fontweight="bold")
    return fig


def plot_evidence_panel(*, intervals: pd.DataFrame | None = None, bunching: pd.DataFrame | None = None,
                        boundaries: Mapping[int, float] | None = None, journal: pd.DataFrame | None = None,
                        cohort: pd.DataFrame | None = None, cohort_fences: tuple[float, float] | None = None,
                        highlight: str | None = None, levels: pd.DataFrame | None = None,
                        thresholds: Mapping[str, float] | None = None, source: str = "ФИС ОКО, ВПР",
                        title: str | None = None, expected_label: str | None = None):
    """The pictures behind the objectivity signs of one school × work, in one figure.

    Only the panels whose data is given are drawn (two per row). Returns the figure,
    or ``None`` when there is nothing to draw.
    """
    panels = []
    if intervals is not None and len(intervals) > 1:
        panels.append(lambda ax: plot_interval_vs_reference(intervals, ax=ax, source=source,
                                                            title="Средний балл: школа и сравнение"))
    if bunching is not None and len(bunching) and bunching["count"].sum() > 0:
        panels.append(lambda ax: plot_bunching(bunching, ax=ax, boundaries=boundaries, source=source,
                                               expected_label=expected_label))
    if journal is not None and len(journal):
        panels.append(lambda ax: plot_vpr_vs_journal(journal, ax=ax, source=f"{source}; отметка за четверть"))
    if levels is not None and len(levels):
        panels.append(lambda ax: plot_task_levels(levels, ax=ax, thresholds=thresholds, source=source))
    if cohort is not None and len(cohort.dropna(subset=["k"])):
        panels.append(lambda ax: plot_cohort_k(cohort, ax=ax, highlight=highlight, fences=cohort_fences,
                                               source=source))
    if not panels:
        return None
    ncols = 1 if len(panels) == 1 else 2
    nrows = (len(panels) + ncols - 1) // ncols
    fig = plt.figure(figsize=(11 if ncols == 2 else 6.5, 3.3 * nrows + 0.3))
    gs = fig.add_gridspec(nrows, ncols, hspace=1.0, wspace=0.45, left=0.14, right=0.98,
                          top=1 - 0.55 / (3.3 * nrows + 0.3), bottom=0.9 / (3.3 * nrows + 0.3))
    for i, draw in enumerate(panels):
        draw(fig.add_subplot(gs[i // ncols, i % ncols]))
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=11, fontweight="bold")
    return fig


def plot_vpr_detail(*, scores: pd.DataFrame, tasks: pd.DataFrame, boundaries: Mapping[int, float] | None = None,
                    max_score: float | None = None, thresholds: Mapping[str, float] | None = None,
                    source: str = "ФИС ОКО, ВПР"):
    """The two pictures of one ВПР that a table cannot replace, side by side: the score
    distribution with the mark boundaries, and task completion with the sufficiency thresholds.
    (Marks and ВПР vs journal of every work are drawn once, in the overview.) Returns the figure."""
    ntasks = tasks["task"].nunique() if not tasks.empty else 0
    fig = plt.figure(figsize=(12, 3.9))
    gs = fig.add_gridspec(1, 2, width_ratios=[1, max(1.2, min(2.2, ntasks / 9))], wspace=0.22,
                          left=0.06, right=0.99, top=0.8, bottom=0.22)
    plot_score_histogram(scores, ax=fig.add_subplot(gs[0, 0]), boundaries=boundaries, max_score=max_score,
                         source=source)
    if ntasks:
        plot_task_completion(tasks, ax=fig.add_subplot(gs[0, 1]), thresholds=thresholds, source=source,
                             title="Выполнение заданий (% от максимального балла)")
    else:
        _no_data(fig.add_subplot(gs[0, 1]), "Нет результатов по заданиям")
    return fig
