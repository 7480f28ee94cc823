"""Every chart of the msoko reports, in one style, as inline SVG and HTML.

Each chart is a function ``plot_x(data, ...) -> Chart`` that takes a long-form
frame and returns a self-contained HTML fragment (a ``<figure>`` holding an inline
``<svg>``, its title, legend and caption). A :class:`Chart` is a ``str`` that
Jupyter displays as HTML, so a notebook cell ending in ``plots.plot_trend(d)``
shows the chart, and reports embed it without any image file.

Why SVG and not matplotlib PNGs: a school report holds about twenty charts, and
laying out and rasterising them with matplotlib cost ~0.5 s each — most of a
report's build time. Written directly, a chart costs milliseconds, its text stays
text (searchable, copyable, sharp in print and on any screen), every mark carries
a tooltip with its exact value (``<title>``), and the page has no images to load.
No script and no external resource is used, so the reports' content security
policy holds. Marks carry ``data-*`` attributes with the values they show, which
also makes the charts testable.

The theme, the colours and the caption under every chart (source and n) are
defined here once, so the same meaning has the same colour in every report: the
school itself, the municipality, the region and similar schools. All text on a
chart is Russian; units are part of the axis labels. The same inputs always give
the same bytes (no random ids; the jitter of the cohort strip is seeded).
"""
from __future__ import annotations

import html
import math
import re
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

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
INK = "#333333"            # reference lines and their labels
MUTED = "#555555"          # axis labels, captions
GRID = "#e6e6e6"
# Default sufficiency thresholds of task completion, % (the municipal configuration may override).
DEFAULT_THRESHOLDS: dict[str, float] = {"Б": 50.0, "П": 30.0, "В": 15.0}

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
FS = 11          # tick labels and in-chart text, px (user units: the SVG scales with the page)
CHAR_W = 0.6     # average glyph width of FONT, in em: used only to reserve room for labels
_PRINT_EXACT = "-webkit-print-color-adjust:exact;print-color-adjust:exact;"


def group_color(group: str) -> str:
    return GROUP_COLORS.get(str(group), NEUTRAL_COLOR)


def fmt_num(x: float | None, digits: int = 0) -> str:
    """Russian number format: decimal comma, thin space as thousands separator."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or pd.isna(x):
        return "—"
    s = f"{x:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    if s.lstrip("-").strip("0,\u202f") == "":  # -0 and -0,0 print as 0
        s = s.lstrip("-")
    return s


def _order(values: Iterable[str], order: Sequence[str]) -> list[str]:
    vals = list(dict.fromkeys(values))
    return [g for g in order if g in vals] + [g for g in vals if g not in order]


# --- the chart object and its HTML frame ----------------------------------------------------

class Chart(str):
    """An HTML fragment that Jupyter displays as HTML (``str`` so it embeds, joins and compares as text)."""

    def _repr_html_(self) -> str:
        return str(self)


def show(chart: str) -> None:
    """Display a chart (or any HTML fragment) in a notebook."""
    from IPython.display import HTML, display

    display(HTML(str(chart)))


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _num(v: float) -> str:
    """An SVG coordinate: two decimals, no trailing zeros (stable bytes, small files)."""
    s = f"{float(v):.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _swatch(color: str, kind: str = "box") -> str:
    if kind == "line":
        return (f'<svg width="18" height="10" style="vertical-align:0;margin-right:0.3em" aria-hidden="true">'
                f'<line x1="0" y1="5" x2="18" y2="5" stroke="{color}" stroke-width="2.5"/></svg>')
    if kind == "dash":
        return (f'<svg width="18" height="10" style="vertical-align:0;margin-right:0.3em" aria-hidden="true">'
                f'<line x1="0" y1="5" x2="18" y2="5" stroke="{color}" stroke-width="1.5" stroke-dasharray="2 2"/></svg>')
    return (f'<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;margin-right:0.3em;'
            f'background:{color};{_PRINT_EXACT}"></span>')


def _legend(items: Sequence[tuple[str, str, str]]) -> str:
    """Legend entries ``(label, colour, kind)``, kind ``box`` / ``line`` / ``dash``."""
    if not items:
        return ""
    return ('<div class="msoko-legend" style="margin:0 0 0.3em 0;font-size:0.9em">' + "".join(
        f'<span style="white-space:nowrap;margin-right:1.2em">{_swatch(c, k)}{_e(lab)}</span>'
        for lab, c, k in items) + "</div>")


def _caption_text(source: str, n=None, note: str | None = None) -> str:
    parts = [f"Источник: {source}"]
    if n is not None:
        parts.append(f"n = {n if isinstance(n, str) else fmt_num(n)}")
    if note:
        parts.append(note)
    return "; ".join(parts)


def _figure(body: str, *, title: str | None, source: str | None, n=None, note: str | None = None,
            legend: Sequence[tuple[str, str, str]] = (), width: float | None = None) -> Chart:
    style = f"margin:0.8em 0 1.2em 0;{_PRINT_EXACT}break-inside:avoid;page-break-inside:avoid;font-size:13px"
    if width:
        style += f";max-width:{_num(width)}px"
    head = (f'<div class="msoko-chart-title" style="font-weight:600;font-size:1.05em;margin-bottom:0.2em;'
            f'white-space:pre-line">{_e(title)}</div>') if title else ""
    cap = (f'<figcaption style="font-size:0.85em;color:{MUTED};margin-top:0.2em">'
           f'{_e(_caption_text(source, n, note))}</figcaption>') if source else ""
    return Chart(f'<figure class="msoko-chart" style="{style}">{head}{_legend(legend)}{body}{cap}</figure>')


def row(*charts: str, title: str | None = None) -> Chart:
    """Charts side by side (wrapping on narrow screens), under an optional common title."""
    # a chart keeps at least ~420 px (its text legible): three in a row wrap into two and one
    items = "".join(f'<div style="flex:1 1 420px;min-width:min(420px,100%);max-width:100%">{c}</div>'
                    for c in charts if c)
    head = (f'<div style="font-weight:700;font-size:1.1em;margin-top:0.6em">{_e(title)}</div>' if title else "")
    return Chart(f'<div class="msoko-chart-row">{head}<div style="display:flex;flex-wrap:wrap;gap:0 2em;'
                 f'align-items:flex-start">{items}</div></div>')


def no_data(text: str = "Нет данных", *, title: str | None = None) -> Chart:
    return _figure(f'<div class="msoko-empty" style="color:#777777;padding:1.5em 0">{_e(text)}</div>',
                   title=title, source=None)


# --- scales and the SVG canvas ----------------------------------------------------------------

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


def _tick_label(v: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1
    digits = 0 if float(step).is_integer() else (1 if round(step * 10, 9).is_integer() else 2)
    return fmt_num(v, digits)


def text_width(s: str, size: float = FS) -> float:
    """Room to reserve for a label, px (an estimate: the browser lays the text out)."""
    return len(str(s)) * size * CHAR_W


class Canvas:
    """One plot area of ``w`` × ``h`` user units with margins, linear scales and SVG marks."""

    def __init__(self, w: float, h: float, *, left: float, right: float, top: float, bottom: float,
                 x: tuple[float, float], y: tuple[float, float], label: str = ""):
        self.w, self.h = w, h
        self.l, self.r, self.t, self.b = left, w - right, top, h - bottom
        self.x0, self.x1 = x
        self.y0, self.y1 = y
        self.label = label
        self.parts: list[str] = []

    def sx(self, v: float) -> float:
        return self.l + (float(v) - self.x0) / ((self.x1 - self.x0) or 1) * (self.r - self.l)

    def sy(self, v: float) -> float:
        return self.b - (float(v) - self.y0) / ((self.y1 - self.y0) or 1) * (self.b - self.t)

    def add(self, s: str) -> None:
        self.parts.append(s)

    @staticmethod
    def _tip(tip: str | None) -> str:
        return f"<title>{_e(tip)}</title>" if tip else ""

    @staticmethod
    def _data(data: Mapping | None) -> str:
        return "".join(f' data-{k}="{_e(v)}"' for k, v in (data or {}).items())

    def rect(self, x, y, w, h, fill, *, tip=None, cls=None, opacity=None, data=None) -> None:
        if w < 0:
            x, w = x + w, -w
        if h < 0:
            y, h = y + h, -h
        op = f' fill-opacity="{opacity}"' if opacity is not None else ""
        c = f' class="{cls}"' if cls else ""
        self.add(f'<rect{c} x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" fill="{fill}"{op}'
                 f'{self._data(data)}>{self._tip(tip)}</rect>')

    def line(self, x1, y1, x2, y2, stroke, *, width=1.0, dash=None, opacity=None, cls=None, tip=None,
             data=None, cap=None) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        op = f' stroke-opacity="{opacity}"' if opacity is not None else ""
        c = f' class="{cls}"' if cls else ""
        lc = f' stroke-linecap="{cap}"' if cap else ""
        self.add(f'<line{c} x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{stroke}" '
                 f'stroke-width="{width}"{d}{op}{lc}{self._data(data)}>{self._tip(tip)}</line>')

    def circle(self, x, y, r, fill, *, stroke=None, width=1.5, tip=None, cls=None, opacity=None, data=None) -> None:
        s = f' stroke="{stroke}" stroke-width="{width}"' if stroke else ""
        op = f' fill-opacity="{opacity}"' if opacity is not None else ""
        c = f' class="{cls}"' if cls else ""
        self.add(f'<circle{c} cx="{_num(x)}" cy="{_num(y)}" r="{r}" fill="{fill}"{s}{op}{self._data(data)}>'
                 f'{self._tip(tip)}</circle>')

    def polyline(self, pts, stroke, *, width=1.8, cls=None, data=None) -> None:
        p = " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)
        c = f' class="{cls}"' if cls else ""
        self.add(f'<polyline{c} points="{p}" fill="none" stroke="{stroke}" stroke-width="{width}" '
                 f'stroke-linejoin="round"{self._data(data)}/>')

    def polygon(self, pts, fill, *, opacity=0.12, cls=None) -> None:
        p = " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)
        c = f' class="{cls}"' if cls else ""
        self.add(f'<polygon{c} points="{p}" fill="{fill}" fill-opacity="{opacity}"/>')

    def text(self, x, y, s, *, anchor="start", size=FS, fill="#222222", baseline="auto", weight=None,
             cls=None) -> None:
        lines = str(s).split("\n")
        c = f' class="{cls}"' if cls else ""
        w = f' font-weight="{weight}"' if weight else ""
        db = f' dominant-baseline="{baseline}"' if baseline != "auto" else ""
        if len(lines) == 1:
            self.add(f'<text{c} x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
                     f'fill="{fill}"{db}{w}>{_e(s)}</text>')
            return
        spans = "".join(f'<tspan x="{_num(x)}" dy="{0 if i == 0 else round(size * 1.15, 2)}">{_e(t)}</tspan>'
                        for i, t in enumerate(lines))
        self.add(f'<text{c} x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
                 f'fill="{fill}"{db}{w}>{spans}</text>')

    # axes ------------------------------------------------------------------------------
    def xaxis(self, ticks: Sequence[float], labels: Sequence[str] | None = None, *, title: str = "",
              grid: bool = False, label_size: float = FS - 1) -> None:
        labels = list(labels) if labels is not None else [_tick_label(v, ticks) for v in ticks]
        for v, lab in zip(ticks, labels):
            x = self.sx(v)
            if grid:
                self.line(x, self.t, x, self.b, GRID, width=0.8)
            self.line(x, self.b, x, self.b + 4, MUTED, width=0.8)
            self.text(x, self.b + 6 + label_size, lab, anchor="middle", size=label_size, fill=MUTED)
        self.line(self.l, self.b, self.r, self.b, MUTED, width=0.8)
        if title:
            nl = max(str(lab).count("\n") for lab in labels) if labels else 0
            self.text((self.l + self.r) / 2, self.b + 22 + label_size * (1 + 1.15 * nl), title, anchor="middle",
                      size=FS - 0.5, fill=INK)

    def yaxis(self, ticks: Sequence[float], labels: Sequence[str] | None = None, *, title: str = "",
              grid: bool = True, label_size: float = FS - 1) -> None:
        labels = list(labels) if labels is not None else [_tick_label(v, ticks) for v in ticks]
        for v, lab in zip(ticks, labels):
            y = self.sy(v)
            if grid:
                self.line(self.l, y, self.r, y, GRID, width=0.8)
            self.text(self.l - 5, y, lab, anchor="end", size=label_size, fill=MUTED, baseline="middle")
        self.line(self.l, self.t, self.l, self.b, MUTED, width=0.8)
        if title:
            x, y = 12, (self.t + self.b) / 2
            self.add(f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="middle" font-size="{FS - 0.5}" fill="{INK}" '
                     f'transform="rotate(-90 {_num(x)} {_num(y)})">{_e(title)}</text>')

    def ylabels(self, ys: Sequence[float], labels: Sequence[str], *, size: float = FS) -> None:
        """Category labels left of the plot area (rows of a horizontal chart)."""
        for y, lab in zip(ys, labels):
            self.text(self.l - 8, y, lab, anchor="end", size=size, fill="#222222", baseline="middle")

    def svg(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(self.w)} {_num(self.h)}" '
                f'width="{_num(self.w)}" height="{_num(self.h)}" style="max-width:100%;height:auto;display:block" '
                f'role="img" aria-label="{_e(self.label)}" font-family="{FONT}">{"".join(self.parts)}</svg>')


def _domain(values: Iterable[float], *, include: Iterable[float] = (), pad: float = 0.05,
            clamp: tuple[float, float] | None = None, n: int = 5) -> list[float]:
    vals = [float(v) for v in list(values) + list(include) if v is not None and pd.notna(v)]
    if not vals:
        return [0.0, 1.0]
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or (abs(hi) or 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    if clamp:
        lo, hi = max(clamp[0], lo), min(clamp[1], hi)
    return nice_ticks(lo, hi, n)


# --- HTML stacked bars (shares of categories) -------------------------------------------

_HEX_RE = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\Z")


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
    legend = _legend([(name[c], colors[c], "box") for c in cats])
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
        f'{legend}'
        f'{"".join(rows)}{axis}'
        f'<figcaption style="font-size:0.85em;color:#555555;margin-top:0.4em">{esc("; ".join(parts))}</figcaption>'
        '</figure>')


# --- ФИС ОКО views ----------------------------------------------------------------------

def plot_marks_distribution(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР",
                            title: str = "Распределение отметок") -> Chart:
    """100 % stacked bars of the «2»–«5» shares, one bar per group (HTML bars).

    ``data`` columns: ``group``, ``mark`` (2–5), ``share`` (%), ``n`` (participants of the group).
    """
    return Chart(html_stacked_bars(data, categories=(2, 3, 4, 5), colors=MARK_COLORS, key="mark",
                                   labels={m: f"«{m}»" for m in (2, 3, 4, 5)}, title=title, source_note=source))


def plot_vpr_vs_journal(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР; отметка в журнале",
                        title: str = "Отметка ВПР и отметка в журнале") -> Chart:
    """ВПР mark vs the journal mark: shares of «понизили / подтвердили / повысили» (HTML bars).

    ``data`` columns: ``group``, ``category`` (one of :data:`JOURNAL_ORDER`), ``share`` (%), ``n``.
    """
    return Chart(html_stacked_bars(data, categories=JOURNAL_ORDER, colors=JOURNAL_COLORS, key="category",
                                   title=title, source_note=source, note="понизили: отметка ВПР ниже журнальной"))


def plot_score_histogram(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                         max_score: float | None = None, source: str = "ФИС ОКО, ВПР",
                         title: str | None = None) -> Chart:
    """Distribution of primary scores with the mark boundaries drawn.

    ``data`` columns: ``group``, ``score`` (primary score), ``share`` (% of the group's
    participants), ``n``. The first group (the school) is drawn as bars, every other group as a line.
    ``boundaries``: the lowest primary score of each mark, e.g. ``{3: 6, 4: 10, 5: 15}``.
    """
    title = title or "Распределение первичных баллов"
    if data.empty:
        return no_data(title=title)
    groups = _order(data["group"], GROUP_ORDER)
    hi_score = float(max_score) if max_score else float(data["score"].max())
    yt = _domain(data["share"], include=[0], pad=0.12, clamp=(0, 100))
    c = Canvas(520, 250, left=48, right=10, top=22, bottom=44, x=(-0.7, hi_score + 0.7), y=(0, yt[-1]),
               label=title)
    c.yaxis(yt, title="Доля участников, %")
    bw = (c.sx(1) - c.sx(0)) * 0.8
    legend, n_first = [], None
    for i, g in enumerate(groups):
        d = data[data["group"] == g].sort_values("score")
        n = d["n"].max()
        if n_first is None:
            n_first = int(n) if pd.notna(n) else None
        col = group_color(g)
        if i == 0:
            for s, v in zip(d["score"], d["share"]):
                c.rect(c.sx(s) - bw / 2, c.sy(v), bw, c.sy(0) - c.sy(v), col, opacity=0.85, cls="bar",
                       tip=f"{g}: {fmt_num(s)} б. — {fmt_num(v, 1)} %", data={"group": g, "x": s, "value": round(v, 4)})
            legend.append((f"{g} (n = {fmt_num(n)})", col, "box"))
        else:
            c.polyline([(c.sx(s), c.sy(v)) for s, v in zip(d["score"], d["share"])], col, width=1.5, cls="line",
                       data={"group": g})
            for s, v in zip(d["score"], d["share"]):
                c.circle(c.sx(s), c.sy(v), 2.2, col, tip=f"{g}: {fmt_num(s)} б. — {fmt_num(v, 1)} %")
            legend.append((f"{g} (n = {fmt_num(n)})", col, "line"))
    for mark, low in sorted((boundaries or {}).items()):
        x = c.sx(low - 0.5)
        c.line(x, c.t - 6, x, c.b, INK, width=0.9, dash="4 3", cls="boundary", data={"mark": mark, "x": low - 0.5})
        c.text(x + 3, c.t - 8, f"«{mark}» от {fmt_num(low)}", size=FS - 1.5, fill=INK)
    xt = [t for t in nice_ticks(0, hi_score, 8, integer=True) if t <= hi_score]
    c.xaxis(xt, title="Первичный балл")
    return _figure(c.svg(), title=title, source=source, n=n_first, note="пунктир — границы отметок",
                   legend=legend, width=c.w)


def plot_task_completion(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None,
                         source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    """Task completion (% of the maximum score) by task, school vs comparison groups.

    ``data`` columns: ``task``, ``level`` ('Б'/'П'/'В'/None), ``group``, ``value`` (%), ``n``,
    optional ``label``. The school is drawn as bars, other groups as short dashes; the
    sufficiency threshold of each task's difficulty level as a dotted step.
    """
    title = title or "Выполнение заданий"
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if data.empty:
        return no_data(title=title)
    tasks = list(dict.fromkeys(data["task"]))
    groups = _order(data["group"], GROUP_ORDER)
    school = groups[0]
    w = max(420.0, 24.0 * len(tasks) + 70)
    c = Canvas(w, 260, left=48, right=8, top=10, bottom=62, x=(-0.6, len(tasks) - 0.4), y=(0, 105), label=title)
    c.yaxis([0, 20, 40, 60, 80, 100], title="% от макс. балла")
    first = data.drop_duplicates("task").set_index("task").reindex(tasks)
    lv = first["level"]
    labels = first["label"] if "label" in first else pd.Series(tasks, index=tasks)
    bw = (c.sx(1) - c.sx(0)) * 0.7
    d0 = data[data["group"] == school].set_index("task").reindex(tasks)
    for i, (t, v) in enumerate(zip(tasks, d0["value"])):
        if pd.notna(v):
            c.rect(c.sx(i) - bw / 2, c.sy(v), bw, c.sy(0) - c.sy(v), group_color(school), opacity=0.85, cls="bar",
                   tip=f"{school}, задание {labels.iloc[i]}: {fmt_num(v, 1)} %",
                   data={"group": school, "x": t, "value": round(float(v), 4)})
    legend = [(school, group_color(school), "box")]
    for g in groups[1:]:
        d = data[data["group"] == g].set_index("task").reindex(tasks)
        col = group_color(g)
        for i, v in enumerate(d["value"]):
            if pd.notna(v):
                c.line(c.sx(i) - bw * 0.55, c.sy(v), c.sx(i) + bw * 0.55, c.sy(v), col, width=2.5, cls="tick",
                       tip=f"{g}, задание {labels.iloc[i]}: {fmt_num(v, 1)} %",
                       data={"group": g, "x": tasks[i], "value": round(float(v), 4)})
        legend.append((g, col, "line"))
    drawn = False
    for i, level in enumerate(lv):
        if level in thresholds:
            y = c.sy(thresholds[level])
            c.line(c.sx(i - 0.45), y, c.sx(i + 0.45), y, INK, width=1.3, dash="1.5 2", cls="threshold",
                   data={"level": level, "value": thresholds[level]})
            drawn = True
    if drawn:
        legend.append(("Порог достаточности", INK, "dash"))
    xl = [f"{lab}\n{lvl if isinstance(lvl, str) else ''}" for lab, lvl in zip(labels, lv)]
    c.xaxis(list(range(len(tasks))), xl, label_size=FS - 2,
            title="Задание (уровень: Б — базовый, П — повышенный, В — высокий)")
    n = d0["n"].max() if "n" in d0 else None
    return _figure(c.svg(), title=title, source=source, n=int(n) if n is not None and pd.notna(n) else None,
                   note="пороги: " + ", ".join(f"{k} — {fmt_num(v)} %" for k, v in thresholds.items()),
                   legend=legend, width=c.w)


def plot_task_levels(data: pd.DataFrame, *, thresholds: Mapping[str, float] | None = None,
                     source: str = "ФИС ОКО, ВПР", title: str | None = None) -> Chart:
    """Completion by difficulty level (Б/П/В), grouped bars per comparison group.

    ``data`` columns: ``level``, ``group``, ``value`` (%), ``n``.
    """
    title = title or "Выполнение по уровням сложности"
    thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if data.empty:
        return no_data(title=title)
    levels = [lv for lv in ("Б", "П", "В") if lv in set(data["level"])]
    groups = _order(data["group"], GROUP_ORDER)
    c = Canvas(400, 240, left=48, right=8, top=16, bottom=40, x=(-0.5, len(levels) - 0.5), y=(0, 110),
               label=title)
    c.yaxis([0, 20, 40, 60, 80, 100], title="% от макс. балла")
    slot = (c.sx(1) - c.sx(0)) * 0.8 / len(groups)
    for i, g in enumerate(groups):
        d = data[data["group"] == g].set_index("level").reindex(levels)
        col = group_color(g)
        for j, v in enumerate(d["value"]):
            if pd.isna(v):
                continue
            x = c.sx(j) + (i - (len(groups) - 1) / 2) * slot
            c.rect(x - slot * 0.475, c.sy(v), slot * 0.95, c.sy(0) - c.sy(v), col, cls="bar",
                   tip=f"{g}, {LEVEL_NAMES[levels[j]]} уровень: {fmt_num(v, 1)} %",
                   data={"group": g, "x": levels[j], "value": round(float(v), 4)})
            c.text(x, c.sy(v) - 3, fmt_num(v), anchor="middle", size=FS - 2)
    for j, lv in enumerate(levels):
        if lv in thresholds:
            y = c.sy(thresholds[lv])
            c.line(c.sx(j - 0.45), y, c.sx(j + 0.45), y, INK, width=1.3, dash="1.5 2", cls="threshold",
                   data={"level": lv, "value": thresholds[lv]})
    c.xaxis(list(range(len(levels))), [f"{lv} — {LEVEL_NAMES[lv]}" for lv in levels])
    n = data.loc[data["group"] == groups[0], "n"].max() if "n" in data else None
    return _figure(c.svg(), title=title, source=source, n=int(n) if n is not None and pd.notna(n) else None,
                   note="точки — порог достаточности", legend=[(g, group_color(g), "box") for g in groups],
                   width=c.w)


# --- indicators -------------------------------------------------------------------------

def _row_labels(groups: Sequence[str], ns: Sequence) -> list[str]:
    return [f"{g} (n = {fmt_num(k)})" for g, k in zip(groups, ns)]


def plot_indicator(data: pd.DataFrame, *, unit: str = "", source: str = "msoko, показатели",
                   title: str | None = None, target: float | None = None) -> Chart:
    """One indicator with its 95 % interval, the school beside its comparison groups (one row each).

    ``data`` columns: ``group``, ``value``, ``ci_low``, ``ci_high`` (may be NaN), ``n``.
    """
    if data.empty or data["value"].isna().all():
        return no_data(title=title)
    groups = _order(data["group"], GROUP_ORDER)
    d = data.set_index("group").reindex(groups)
    for col in ("ci_low", "ci_high"):
        if col not in d:
            d[col] = np.nan
    labels = _row_labels(groups, d["n"] if "n" in d else [None] * len(groups))
    left = max(text_width(s) for s in labels) + 14
    rh = 30
    h = 24 + rh * len(groups) + 38
    has_target = target is not None and pd.notna(target)
    xt = _domain(pd.concat([d["value"], d["ci_low"], d["ci_high"]]), include=[target] if has_target else [],
                 clamp=(0, 100) if unit.strip() == "%" else None)
    c = Canvas(left + 330, h, left=left, right=14, top=24, bottom=38, x=(xt[0], xt[-1]),
               y=(len(groups) - 0.5, -0.5), label=title or "")
    c.xaxis(xt, title=unit or "значение", grid=True)
    for i, (g, r) in enumerate(d.iterrows()):
        col, y = group_color(g), c.sy(i)
        lo, hi, v = r.get("ci_low"), r.get("ci_high"), r["value"]
        tip = f"{g}: {fmt_num(v, 1)}" + (f" [{fmt_num(lo, 1)}–{fmt_num(hi, 1)}]" if pd.notna(lo) and pd.notna(hi)
                                         else "") + (f", n = {fmt_num(r.get('n'))}" if pd.notna(r.get("n")) else "")
        if pd.notna(lo) and pd.notna(hi):
            c.line(c.sx(lo), y, c.sx(hi), y, col, width=3, opacity=0.55, cls="ci", cap="round",
                   data={"group": g, "lo": round(float(lo), 4), "hi": round(float(hi), 4)})
        if pd.notna(v):
            c.circle(c.sx(v), y, 5, col, cls="point", tip=tip, data={"group": g, "value": round(float(v), 4)})
            c.text(c.sx(v), y - 8, fmt_num(v, 1), anchor="middle", size=FS - 1.5)
    c.ylabels([c.sy(i) for i in range(len(groups))], labels)
    if has_target:
        x = c.sx(target)
        c.line(x, c.t - 4, x, c.b, INK, width=1, dash="4 3", cls="target", data={"value": target})
        c.text(x, c.t - 8, f"цель {fmt_num(target, 1)}", anchor="middle", size=FS - 1.5, fill=INK)
    n0 = d["n"].iloc[0] if "n" in d else None
    return _figure(c.svg(), title=title, source=source, n=n0 if n0 is not None and pd.notna(n0) else None,
                   note="линии — 95 % доверительный интервал", width=c.w)


def plot_trend(data: pd.DataFrame, *, unit: str = "", source: str = "msoko, показатели",
               title: str | None = None) -> Chart:
    """Three-year trend, one line per group, the interval as a band.

    ``data`` columns: ``year``, ``group``, ``value``, optional ``ci_low``, ``ci_high``, ``n``.
    """
    title = title or "Динамика за три года"
    if data.empty or data["value"].isna().all():
        return no_data(title=title)
    years = sorted(int(y) for y in data["year"].unique())
    has_ci = {"ci_low", "ci_high"} <= set(data)
    vals = [data["value"]] + ([data["ci_low"], data["ci_high"]] if has_ci else [])
    yt = _domain(pd.concat(vals), clamp=(0, 100) if unit.strip() == "%" else None)
    c = Canvas(380, 230, left=52, right=16, top=12, bottom=40, x=(-0.3, len(years) - 0.7), y=(yt[0], yt[-1]),
               label=title)
    c.yaxis(yt, title=unit or "значение")
    pos = {y: i for i, y in enumerate(years)}
    legend = []
    for g in _order(data["group"], GROUP_ORDER):
        d = data[data["group"] == g].sort_values("year")
        d = d[d["value"].notna()]
        if d.empty:
            continue
        col = group_color(g)
        xs = [c.sx(pos[int(y)]) for y in d["year"]]
        if has_ci and d["ci_low"].notna().any():
            ok = d["ci_low"].notna() & d["ci_high"].notna()
            xo = [x for x, k in zip(xs, ok) if k]
            if len(xo) >= 2:
                up = [(x, c.sy(v)) for x, v in zip(xo, d.loc[ok, "ci_high"])]
                down = [(x, c.sy(v)) for x, v in zip(xo, d.loc[ok, "ci_low"])][::-1]
                c.polygon(up + down, col, opacity=0.12, cls="band")
        c.polyline(list(zip(xs, (c.sy(v) for v in d["value"]))), col, cls="line", data={"group": g})
        for x, (_, r) in zip(xs, d.iterrows()):
            tip = f"{g}, {int(r['year'])}: {fmt_num(r['value'], 1)}"
            if has_ci and pd.notna(r.get("ci_low")) and pd.notna(r.get("ci_high")):
                tip += f" [{fmt_num(r['ci_low'], 1)}–{fmt_num(r['ci_high'], 1)}]"
            c.circle(x, c.sy(r["value"]), 3, col, cls="point", tip=tip,
                     data={"group": g, "x": int(r["year"]), "value": round(float(r["value"]), 4)})
        legend.append((g, col, "line"))
    c.xaxis(list(range(len(years))), [str(y) for y in years])
    n = data.loc[data["group"] == "Школа", "n"] if "n" in data else pd.Series(dtype=float)
    return _figure(c.svg(), title=title, source=source,
                   n=" / ".join(fmt_num(v) for v in n) if len(n) else None, note="полоса — 95 % ДИ",
                   legend=legend, width=c.w)


def plot_mkdo_areas(data: pd.DataFrame, *, source: str = "МКДО", title: str | None = None) -> Chart:
    """МКДО scores by area of quality (scale 0–3), grouped horizontal bars.

    ``data`` columns: ``area``, ``group``, ``score``, ``n`` (kindergartens).
    """
    title = title or "МКДО по областям качества"
    if data.empty:
        return no_data(title=title)
    areas = list(dict.fromkeys(data["area"]))
    groups = _order(data["group"], GROUP_ORDER)
    left = max(text_width(a) for a in areas) + 14
    rh = 12 * len(groups) + 10
    c = Canvas(left + 380, 22 + rh * len(areas) + 40, left=left, right=14, top=22, bottom=40, x=(0, 3.05),
               y=(len(areas) - 0.5, -0.5), label=title)
    c.xaxis([0, 0.5, 1, 1.5, 2, 2.5, 3], title="Балл МКДО (0 — ниже базового, 3 — превосходный)")
    bh = (c.sy(1) - c.sy(0)) * 0.8 / len(groups)
    for i, g in enumerate(groups):
        d = data[data["group"] == g].set_index("area").reindex(areas)
        col = group_color(g)
        for j, v in enumerate(d["score"]):
            if pd.notna(v):
                y = c.sy(j) + (i - (len(groups) - 1) / 2) * bh
                c.rect(c.sx(0), y - bh * 0.475, c.sx(v) - c.sx(0), bh * 0.95, col, cls="bar",
                       tip=f"{g}, {areas[j]}: {fmt_num(v, 2)}", data={"group": g, "x": areas[j], "value": float(v)})
    for lvl, name in ((1, "базовый"), (2, "хороший"), (3, "превосходный")):
        c.line(c.sx(lvl), c.t - 4, c.sx(lvl), c.b, "#999999", width=0.8, dash="1.5 2")
        c.text(c.sx(lvl), c.t - 8, name, anchor="middle", size=FS - 2, fill=MUTED)
    c.ylabels([c.sy(j) for j in range(len(areas))], areas)
    n = data.loc[data["group"] == groups[0], "n"].max() if "n" in data else None
    return _figure(c.svg(), title=title, source=source, n=int(n) if n is not None and pd.notna(n) else None,
                   legend=[(g, group_color(g), "box") for g in groups], width=c.w)


# --- objectivity evidence -------------------------------------------------------------------

def plot_interval_vs_reference(data: pd.DataFrame, *, source: str = "ФИС ОКО, ВПР",
                               title: str | None = None) -> Chart:
    """The school's 95 % interval of the mean primary score vs the reference interval.

    ``data`` columns: ``group`` ('Школа' and e.g. 'Регион' / 'Похожие школы'), ``mean``,
    ``ci_low``, ``ci_high``, ``n``. The sign fires when the school's interval lies
    entirely above the reference one: the gap is shaded.
    """
    title = title or "Интервал школы и интервал сравнения"
    if data.empty:
        return no_data(title=title)
    groups = _order(data["group"], GROUP_ORDER)
    d = data.set_index("group").reindex(groups)
    labels = _row_labels(groups, d["n"])
    left = max(text_width(s) for s in labels) + 14
    xt = _domain(pd.concat([d["ci_low"], d["ci_high"], d["mean"]]), pad=0.15)
    c = Canvas(left + 330, 14 + 32 * len(groups) + 40, left=left, right=70, top=14, bottom=40, x=(xt[0], xt[-1]),
               y=(len(groups) - 0.5, -0.5), label=title)
    c.xaxis(xt, title="Средний первичный балл (95 % ДИ)", grid=True)
    if "Школа" in d.index and len(groups) > 1:
        ref_hi, s_lo = d.drop(index="Школа")["ci_high"].max(), d.loc["Школа", "ci_low"]
        if pd.notna(ref_hi) and pd.notna(s_lo) and s_lo > ref_hi:
            c.rect(c.sx(ref_hi), c.t, c.sx(s_lo) - c.sx(ref_hi), c.b - c.t, FLAG_COLOR, opacity=0.14, cls="gap",
                   tip=f"разрыв: {fmt_num(ref_hi, 1)}–{fmt_num(s_lo, 1)}",
                   data={"lo": round(float(ref_hi), 4), "hi": round(float(s_lo), 4)})
    for i, (g, r) in enumerate(d.iterrows()):
        col, y = group_color(g), c.sy(i)
        c.line(c.sx(r["ci_low"]), y, c.sx(r["ci_high"]), y, col, width=8, opacity=0.55, cls="ci",
               tip=f"{g}: {fmt_num(r['mean'], 1)} [{fmt_num(r['ci_low'], 1)}–{fmt_num(r['ci_high'], 1)}]",
               data={"group": g, "lo": round(float(r["ci_low"]), 4), "hi": round(float(r["ci_high"]), 4)})
        c.line(c.sx(r["mean"]), y - 8, c.sx(r["mean"]), y + 8, col, width=2.2, cls="mean",
               data={"group": g, "value": round(float(r["mean"]), 4)})
        c.text(c.sx(r["ci_high"]) + 6, y, f"{fmt_num(r['ci_low'], 1)}–{fmt_num(r['ci_high'], 1)}",
               size=FS - 1.5, baseline="middle")
    c.ylabels([c.sy(i) for i in range(len(groups))], labels)
    return _figure(c.svg(), title=title, source=source, n=d["n"].iloc[0], note="розовым — разрыв между интервалами",
                   width=c.w)


def plot_bunching(data: pd.DataFrame, *, boundaries: Mapping[int, float] | None = None,
                  source: str = "ФИС ОКО, ВПР", title: str | None = None, expected_label: str | None = None) -> Chart:
    """Score distribution with its expected shape: excess mass just at the mark boundaries.

    ``data`` columns: ``score``, ``count`` (observed), ``expected`` (may be NaN).
    """
    title = title or "Скопление баллов у границ отметок"
    if data.empty:
        return no_data(title=title)
    d = data.sort_values("score")
    bnd = {float(b) for b in (boundaries or {}).values()}
    has_exp = "expected" in d and d["expected"].notna().any()
    yt = _domain(pd.concat([d["count"]] + ([d["expected"]] if has_exp else [])), include=[0], pad=0.1,
                 clamp=(0, math.inf))
    x0, x1 = float(d["score"].min()), float(d["score"].max())
    c = Canvas(440, 240, left=46, right=10, top=22, bottom=44, x=(x0 - 0.7, x1 + 0.7), y=(0, yt[-1]), label=title)
    c.yaxis(yt, title="Число работ")
    bw = (c.sx(1) - c.sx(0)) * 0.8
    for s, v in zip(d["score"], d["count"]):
        flagged = float(s) in bnd
        c.rect(c.sx(s) - bw / 2, c.sy(v), bw, c.sy(0) - c.sy(v), FLAG_COLOR if flagged else group_color("Школа"),
               opacity=0.85, cls="bar flag" if flagged else "bar", tip=f"{fmt_num(s)} б.: {fmt_num(v)} работ",
               data={"x": s, "value": v})
    legend = [("Наблюдаемое число работ", group_color("Школа"), "box")]
    if has_exp:
        e = d[d["expected"].notna()]
        c.polyline([(c.sx(s), c.sy(v)) for s, v in zip(e["score"], e["expected"])], INK, width=1.4, cls="expected")
        legend.append((expected_label or "Ожидаемое без скачков у границ", INK, "line"))
    if bnd:
        legend.append(("Минимальный балл отметки", FLAG_COLOR, "box"))
    for mark, low in sorted((boundaries or {}).items()):
        x = c.sx(low - 0.5)
        c.line(x, c.t - 6, x, c.b, INK, width=0.8, dash="4 3", cls="boundary", data={"mark": mark, "x": low - 0.5})
        c.text(x + 3, c.t - 8, f"«{mark}»", size=FS - 1.5, fill=INK)
    c.xaxis([t for t in nice_ticks(x0, x1, 8, integer=True) if x0 - 0.7 <= t <= x1 + 0.7], title="Первичный балл")
    return _figure(c.svg(), title=title, source=source, n=int(d["count"].sum()),
                   note="розовым — минимальный балл отметки", legend=legend, width=c.w)


def plot_cohort_k(data: pd.DataFrame, *, highlight: str | None = None,
                  fences: tuple[float, float] | None = None, source: str = "ФИС ОКО, ВПР",
                  title: str | None = None) -> Chart:
    """Cohort K = S₄(Y) / S₅(Y+1) of every school, with the Q1 − 3·IQR / Q3 + 3·IQR fences.

    ``data`` columns: ``school_id``, ``k``, optional ``flagged``. Schools are drawn as a strip
    along K, never labelled by name; ``highlight`` (the school of the report) is ringed.
    """
    title = title or "Резкое изменение результатов одной параллели"
    d = data.dropna(subset=["k"])
    if d.empty:
        return no_data(title=title)
    if fences is None:
        q1, q3 = np.percentile(d["k"], [25, 75])
        fences = (q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1))
    xt = _domain(d["k"], include=list(fences), pad=0.05)
    c = Canvas(440, 150, left=14, right=14, top=22, bottom=40, x=(xt[0], xt[-1]), y=(-0.5, 0.5), label=title)
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(d))
    flagged = d["flagged"].fillna(False).astype(bool) if "flagged" in d else pd.Series(False, index=d.index)
    for k, j, f in zip(d["k"], jitter, flagged):
        c.circle(c.sx(k), c.sy(j), 3.2, FLAG_COLOR if f else NEUTRAL_COLOR, opacity=0.8,
                 cls="school flag" if f else "school", data={"value": round(float(k), 4)})
    legend = []
    if highlight is not None and (d["school_id"] == highlight).any():
        k = d.loc[d["school_id"] == highlight, "k"].iloc[0]
        c.circle(c.sx(k), c.sy(0), 7, "none", stroke=group_color("Школа"), width=2, cls="highlight",
                 tip=f"Школа: K = {fmt_num(k, 2)}", data={"value": round(float(k), 4)})
        legend.append(("Школа", group_color("Школа"), "box"))
    for f, name in zip(fences, ("рост", "падение")):
        c.line(c.sx(f), c.t - 4, c.sx(f), c.b, INK, width=0.9, dash="4 3", cls="fence", data={"x": round(float(f), 6)})
        c.text(c.sx(f), c.t - 8, name, anchor="middle", size=FS - 1.5, fill=INK)
    c.xaxis(xt, title="K = S₄(Y) / S₅(Y+1)")
    return _figure(c.svg(), title=title, source=source, n=len(d),
                   note="пунктир — Q1 − 3·IQR и Q3 + 3·IQR; точка — школа", legend=legend, width=c.w)


# --- composite views -------------------------------------------------------------------------

def plot_vpr_detail(*, scores: pd.DataFrame, tasks: pd.DataFrame, boundaries: Mapping[int, float] | None = None,
                    max_score: float | None = None, thresholds: Mapping[str, float] | None = None,
                    source: str = "ФИС ОКО, ВПР") -> Chart:
    """The two pictures of one ВПР that a table cannot replace, side by side: the score
    distribution with the mark boundaries, and task completion with the sufficiency thresholds.
    (Marks and ВПР vs journal of every work are drawn once, in the overview.)"""
    right = (plot_task_completion(tasks, thresholds=thresholds, source=source,
                                  title="Выполнение заданий (% от максимального балла)")
             if not tasks.empty else no_data("Нет результатов по заданиям"))
    return row(plot_score_histogram(scores, boundaries=boundaries, max_score=max_score, source=source), right)


def plot_evidence_panel(*, intervals: pd.DataFrame | None = None, bunching: pd.DataFrame | None = None,
                        boundaries: Mapping[int, float] | None = None, journal: pd.DataFrame | None = None,
                        cohort: pd.DataFrame | None = None, cohort_fences: tuple[float, float] | None = None,
                        highlight: str | None = None, levels: pd.DataFrame | None = None,
                        thresholds: Mapping[str, float] | None = None, source: str = "ФИС ОКО, ВПР",
                        title: str | None = None, expected_label: str | None = None) -> Chart | None:
    """The pictures behind the objectivity signs of one school × work, side by side.

    Only the panels whose data is given are drawn. Returns ``None`` when there is nothing to draw.
    """
    panels: list[Callable[[], str]] = []
    if intervals is not None and len(intervals) > 1:
        panels.append(lambda: plot_interval_vs_reference(intervals, source=source,
                                                         title="Средний балл: школа и сравнение"))
    if bunching is not None and len(bunching) and bunching["count"].sum() > 0:
        panels.append(lambda: plot_bunching(bunching, boundaries=boundaries, source=source,
                                            expected_label=expected_label))
    if journal is not None and len(journal):
        panels.append(lambda: plot_vpr_vs_journal(journal, source=f"{source}; отметка за четверть"))
    if levels is not None and len(levels):
        panels.append(lambda: plot_task_levels(levels, thresholds=thresholds, source=source))
    if cohort is not None and len(cohort.dropna(subset=["k"])):
        panels.append(lambda: plot_cohort_k(cohort, highlight=highlight, fences=cohort_fences, source=source))
    if not panels:
        return None
    return row(*(p() for p in panels), title=title)
