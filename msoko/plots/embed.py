"""A matplotlib figure as a self-contained piece of a report: inline SVG inside an HTML ``<figure>``.

:func:`svg` writes the figure with matplotlib's SVG backend and makes the bytes fit a report page:

* text stays text (``svg.fonttype = "none"``, set by the theme), sized in CSS pixels;
* the same figure gives the same bytes: no date or creator metadata, the theme's fixed
  ``svg.hashsalt``, element ids derived from the content;
* ids are unique on the page (a report holds thirty charts): those the SVG refers to (markers) get a
  prefix made from the chart's own hash, matplotlib's other ids are dropped; no clip paths (the
  charts' limits hold their data), so no ``url(…)`` anywhere;
* the marks named with :func:`msoko.plots.theme.mark` get their ``class`` and a tooltip
  (``<title>``, per element for a collection);
* nothing external: no DOCTYPE or DTD, no ``xlink`` namespace (``href`` is SVG 2), no ``<style>``
  element (the one rule it held is an attribute of the root); only the SVG namespace is named.

:func:`figure` frames it as today's reports show a chart: the title, an HTML legend, the SVG and the
caption «Источник: …; n = …; note». Every text from the data is escaped (matplotlib escapes what is
drawn; :func:`html.escape` the rest). A :class:`Chart` is a ``str`` that Jupyter displays as HTML; it
keeps how it was drawn, so ``chart.plot()`` gives an analyst the matplotlib Axes to restyle.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
from typing import Callable, Sequence

import matplotlib.colors as mcolors

from msoko.plots import svg_backend
from msoko.plots.theme import MUTED, fmt_num

_PRINT_EXACT = "-webkit-print-color-adjust:exact;print-color-adjust:exact;"
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


class Chart(str):
    """An HTML fragment that Jupyter displays as HTML (``str`` so it embeds, joins and compares as text).

    ``title`` names it (a report section keeps its figures by title); ``plot(ax=None)`` draws the
    same chart again with matplotlib and returns the Axes (for restyling or ``savefig``)."""

    title: str | None = None
    _draw: Callable | None = None

    @classmethod
    def make(cls, html_text: str, *, title: str | None = None, draw: Callable | None = None) -> "Chart":
        c = cls(html_text)
        c.title, c._draw = title, draw
        return c

    def _repr_html_(self) -> str:
        return str(self)

    def plot(self, ax=None):
        """The chart as a matplotlib Axes (on ``ax``, or a new pyplot figure)."""
        if self._draw is None:
            raise ValueError("У этого рисунка нет построения в matplotlib (это рамка или надпись «нет данных»).")
        return self._draw(ax=ax)


def show(chart: str) -> None:
    """Display a chart (or any HTML fragment) in a notebook."""
    from IPython.display import HTML, display

    display(HTML(str(chart)))


def esc(s) -> str:
    return html.escape(str(s), quote=True)


# --- figure → SVG -----------------------------------------------------------------------------

_HEAD_RE = re.compile(r'\A.*?<svg\b[^>]*?width="([0-9.]+)pt" height="([0-9.]+)pt" viewBox="([^"]+)"[^>]*>', re.S)
# the patterns begin with a literal (the whitespace before an element is taken apart, :func:`_cut`): a
# pattern that begins with ``\s*`` is tried at every character of the SVG, ~0.2 ms a chart each
_STYLE_RE = re.compile(r"<defs>\s*<style\b[^>]*>.*?</style>\s*</defs>", re.S)
_META_RE = re.compile(r"<metadata>.*?</metadata>", re.S)
_CLIP_RE = re.compile(r' clip-path="url\(#[^)"]*\)"')
_CLIPDEF_RE = re.compile(r"<defs>\s*(?:<clipPath\b.*?</clipPath>\s*)+</defs>", re.S)
_GID_RE = re.compile(r'<g id="([^"]+)">')
_ID_RE = re.compile(r' id="([^"]+)"')
_REF_RE = re.compile(r'(url\(#|href="#)([^")]+)')
_HREF_RE = re.compile(r'(href="#)([^")]+)')  # _REF_RE where the SVG holds no «url(#»
_ELEM_RE = re.compile(r"<(use|path)\b[^>]*?/>", re.S)


def _cut(s: str, pattern: re.Pattern, count: int = 0) -> str:
    """``re.sub(r"\\s*" + pattern, "", s, count)``: each match removed with the whitespace before it."""
    out, pos, n = [], 0, 0
    for mo in pattern.finditer(s):
        start = mo.start()
        while start > pos and s[start - 1].isspace():  # what ``\s`` matches in a str pattern
            start -= 1
        out.append(s[pos:start])
        pos = mo.end()
        n += 1
        if n == count:
            break
    if not n:
        return s
    out.append(s[pos:])
    return "".join(out)


def _collapse_indent(s: str) -> str:
    """``re.sub(r"\\n\\s*", "\\n", s)`` but for whitespace at the very end (the caller strips it)."""
    lines = s.split("\n")
    return "\n".join([lines[0], *(ln.lstrip() for ln in lines[1:] if ln and not ln.isspace())])


def svg(fig, *, label: str = "") -> str:
    """The figure as inline SVG (see the module docstring); ``label`` is its accessible name."""
    s = _svg_text(fig)
    m = _HEAD_RE.match(s)
    if m is None:  # pragma: no cover - matplotlib changed its SVG header
        raise RuntimeError("внутренняя ошибка msoko: неожиданный заголовок SVG от matplotlib")
    w_pt, h_pt, vbox = float(m.group(1)), float(m.group(2)), m.group(3)
    body = _cut(_cut(s[m.end():], _STYLE_RE, 1), _META_RE, 1)
    body = body.replace("xlink:href=", "href=")
    # no clip paths: every chart sets limits that hold its data, and the report's checks refuse any
    # «url(» in a page (the CSS form of an external resource)
    if "clip-path=" in body:
        body = _CLIP_RE.sub("", body)
    if "<clipPath" in body:
        body = _cut(body, _CLIPDEF_RE)
    uid = "c" + hashlib.sha1(body.encode()).hexdigest()[:8] + "-"
    marks: dict = fig.__dict__.get("_msoko_marks", {})
    ref_re = _REF_RE if "url(#" in body else _HREF_RE
    referenced = {r for _, r in ref_re.findall(body)}

    def group(mo: re.Match) -> str:
        gid = mo.group(1)
        if gid not in marks:
            return "<g>"
        cls, tip = marks[gid]
        if tip is None:
            return f'<g class="{esc(cls)}">'
        if not isinstance(tip, str):  # per element: placed below, the placeholder shows where
            return f'<g class="{esc(cls)}"><!--tips:{gid}-->'
        return f'<g class="{esc(cls)}"><title>{esc(tip)}</title>'

    body = _GID_RE.sub(group, body)
    body = _ID_RE.sub(lambda mo: f' id="{uid}{mo.group(1)}"' if mo.group(1) in referenced else "", body)
    if referenced:
        body = ref_re.sub(lambda mo: f"{mo.group(1)}{uid}{mo.group(2)}", body)
    for gid, (cls, tip) in marks.items():  # one tooltip per element of a collection
        if tip is not None and not isinstance(tip, str):
            body = _element_tips(body, gid, list(tip))
    body = _collapse_indent(body).replace(" \n", " ")
    width, height = round(w_pt * 4 / 3, 2), round(h_pt * 4 / 3, 2)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{vbox}" width="{width:g}" height="{height:g}" '
            f'role="img" aria-label="{esc(label)}" stroke-linejoin="round" '
            f'style="max-width:100%;height:auto;display:block">{body.strip()}')


def _savefig(fig) -> str:
    buf = io.StringIO()
    # sizes of texts cached (svg_backend); a report figure (72 dpi, theme.report_axes) saved at its own dpi,
    # the SVG's, so that no transform is invalidated (the dpi of a raster image: none in a report chart)
    # ``report``: clips marked with one id and not defined (:class:`svg_backend.RendererSVGReport`; removed below)
    extra = {"report": True} if svg_backend.BACKEND == svg_backend.MODULE else {}
    fig.savefig(buf, format="svg", metadata=_METADATA, backend=svg_backend.BACKEND,
                dpi=72 if fig.dpi == 72 else None, **extra)
    return buf.getvalue()


# The axes of a report chart (grid lines, tick labels, axis titles) are most of its drawing, and charts of
# one kind share them: the same work's histogram for every school, the same 0–100 % scale. So each
# axis's SVG is kept per what decides it (:func:`_axes_keys`) and a chart is drawn without the axes
# already known, their kept SVG put where matplotlib draws them (first in the axes: ``axes.axisbelow``)
# and the groups numbered as matplotlib numbers them. The bytes are those of the whole drawing
# (tests/test_plots.py; all charts of the demo's school, municipal and objectivity reports compared).
_AXES_SVG: dict = {}
_AXES_SVG_MAX = 512
_AXES_RC = ("svg.fonttype", "svg.hashsalt", "font.family", "font.sans-serif", "path.simplify", "path.snap",
            "lines.scale_dashes", "text.parse_math", "axes.unicode_minus")
_AUTO_NUM_RE = re.compile(r'<g id="([A-Za-z0-9.]+)_(\d+)"')


def _group_end(s: str, start: int) -> int:
    """The index just past the ``</g>`` that closes the ``<g`` at ``start``."""
    depth, i = 0, start
    while True:
        o, c = s.find("<g", i), s.find("</g>", i)
        if c < 0:
            return -1
        if 0 <= o < c:
            depth, i = depth + 1, o + 2
        else:
            depth, i = depth - 1, c + 4
            if depth == 0:
                return i


def _text_key(t) -> tuple:
    return (t.get_text(), t.get_visible(), t.get_fontsize(), str(t.get_fontfamily()), t.get_fontweight(),
            mcolors.to_hex(t.get_color(), keep_alpha=True), t.get_rotation(), t.get_ha(), t.get_va(),
            t.get_linespacing(), t.get_alpha())


def _line_key(ln) -> tuple:
    return (ln.get_visible(), mcolors.to_hex(ln.get_color(), keep_alpha=True), ln.get_linewidth(),
            ln.get_linestyle(), ln.get_alpha(), str(ln.get_marker()), ln.get_markersize(), ln.get_zorder())


def _axis_key(axis) -> tuple[tuple, tuple | None] | None:
    """What decides the SVG of ``axis`` and the tick labels to stamp into it (None: the labels are in the key)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    if not axis.get_visible():
        return ("hidden",), None
    loc, fmt = axis.get_major_locator(), axis.get_major_formatter()
    if not isinstance(loc, FixedLocator) or axis.get_scale() != "linear" \
            or not isinstance(axis.get_minor_locator(), NullLocator) \
            or not isinstance(axis.get_minor_formatter(), NullFormatter):
        return None  # the theme's fixed ticks only: anything else is drawn as it is
    ticks = axis.get_major_ticks()
    if not ticks:
        return None
    t = ticks[0]  # tick_params and grid() set every tick alike; new ticks copy them
    locs = tuple(float(x) for x in loc.locs)
    labels = tuple(fmt.format_ticks(list(locs)))
    stamp = _stamp_labels(t, fmt, labels)
    rest = (t.get_pad(), _line_key(t.gridline), _line_key(t.tick1line), _line_key(t.tick2line),
            t.get_zorder(), _text_key(axis.label), tuple(axis.label.get_position()),
            axis.label.get_transform() is not None and tuple(axis.label.get_transform().get_matrix().ravel()),
            axis.get_zorder(), _text_key(axis.get_offset_text()))
    if stamp is None:
        return (locs, labels, _text_key(t.label1), _text_key(t.label2), *rest), None
    # the labels' texts left out (the hidden label2 holds them too): stamped into the kept SVG
    return (locs, ("stamped", stamp), _text_key(t.label1)[1:], _text_key(t.label2)[1:], *rest), labels


def _stamp_labels(tick, fmt, labels: tuple) -> tuple | None:
    """What of the tick labels decides where matplotlib puts them, when their text can be stamped into an axis
    drawn with other labels (None: it cannot). An unrotated one-line label is drawn at its tick's anchor point
    (``text-anchor`` does the horizontal alignment): its width does not matter, its height and descent do (the
    vertical alignment); an empty label is not drawn at all. So the row labels «Школа (n = 31)» of every
    school's indicator chart share one axis."""
    lab = tick.label1
    if fmt.get_offset() or tick.label2.get_visible() \
            or lab.get_rotation() != 0 or lab.get_usetex() or lab.get_wrap() or lab.get_path_effects() \
            or lab.get_bbox_patch() is not None or any("\n" in x or "\r" in x for x in labels) \
            or (lab.get_parse_math() and any("$" in x for x in labels)):
        return None
    from msoko.plots.svg_backend import _text_metrics

    prop = lab.get_fontproperties()
    return tuple(("",) if x == "" else _text_metrics(x, prop.copy())[1:] for x in labels)


_TEXT_RE = re.compile(r"(<text\b[^>]*>)(.*?)(</text>)", re.S)


def _label_template(frag: str, labels: tuple, axis_texts: tuple) -> tuple | None:
    """The kept SVG of an axis cut at its tick labels' texts (the pieces between them), or None when its
    texts are not the labels, in order, then the axis's own texts (title, offset): then it is not kept."""
    drawn = [_escape_text(x) for x in labels if x != ""]
    found = _TEXT_RE.findall(frag)
    if [m[1] for m in found] != drawn + [_escape_text(x) for x in axis_texts if x != ""]:
        return None
    pieces, pos = [], 0
    for k, mo in enumerate(_TEXT_RE.finditer(frag)):
        if k == len(drawn):
            break
        pieces.append(frag[pos:mo.start(2)])
        pos = mo.end(2)
    pieces.append(frag[pos:])
    return tuple(pieces)


def _stamped(template: tuple, labels: tuple) -> str:
    drawn = [_escape_text(x) for x in labels if x != ""]
    out = [template[0]]
    for text, piece in zip(drawn, template[1:]):
        out += [text, piece]
    return "".join(out)


def _escape_text(s: str) -> str:
    """A text as matplotlib's SVG writer escapes it."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _axes_keys(fig) -> tuple | None:
    """What decides the SVG of the x axis and of the y axis of the one axes of ``fig`` (each ``None`` when
    that axis is not one to share), and the tick labels of each to stamp into its kept SVG (None: its labels
    are in its key); ``None``: not a chart whose axes can be shared."""
    if len(fig.axes) != 1:
        return None
    ax = fig.axes[0]
    if not ax.get_axisbelow() is True or ax.get_title() or ax.get_title("left") or ax.get_title("right") \
            or ax.get_xscale() != "linear" or ax.get_yscale() != "linear" \
            or not ax.xaxis.get_visible() or not ax.yaxis.get_visible():
        return None
    z = min(ax.xaxis.get_zorder(), ax.yaxis.get_zorder())
    if any(a.get_zorder() <= z for a in ax.get_children() if a not in (ax.xaxis, ax.yaxis, ax.patch)):
        return None  # something drawn under the axes: draw it all as it is
    import matplotlib as mpl

    # an axis is drawn in the axes' box, its ticks placed by its own limits; and the draw-time settings
    base = (tuple(fig.get_size_inches()), fig.dpi, tuple(ax.get_position().bounds),
            tuple(str(mpl.rcParams[k]) for k in _AXES_RC))
    kx, ky = _axis_key(ax.xaxis), _axis_key(ax.yaxis)
    return (("x", base, ax.get_xlim(), kx[0]) if kx is not None else None,
            ("y", base, ax.get_ylim(), ky[0]) if ky is not None else None), \
        (kx[1] if kx is not None else None, ky[1] if ky is not None else None)


def _renumber(s: str) -> str:
    """matplotlib's numbers of the groups of unnamed artists (text_1, text_2, … per kind, in drawing order)."""
    count: dict = {}

    def one(mo: re.Match) -> str:
        k = count[mo.group(1)] = count.get(mo.group(1), 0) + 1
        return f'<g id="{mo.group(1)}_{k}"'

    return _AUTO_NUM_RE.sub(one, s)


def _svg_text(fig) -> str:
    """matplotlib's SVG of ``fig``, an axis taken from :data:`_AXES_SVG` when the same axis was drawn before."""
    found = _axes_keys(fig)
    if found is None:
        return _savefig(fig)
    keys, stamps = found
    ax = fig.axes[0]
    axes = (ax.xaxis, ax.yaxis)  # drawn in this order (the same zorder): x first
    kept = [_AXES_SVG.get(k) if k is not None else None for k in keys]
    kept = [_stamped(f, lab) if isinstance(f, tuple) else f for f, lab in zip(kept, stamps)]
    for axis, frag in zip(axes, kept):
        if frag is not None:
            axis.set_visible(False)
    try:
        s = _savefig(fig)
    finally:
        for axis in axes:
            axis.set_visible(True)
    at = s.find('<g id="patch_2">')
    pos = _group_end(s, at) if at >= 0 else -1
    if pos < 0:  # pragma: no cover - matplotlib changed its SVG layout: draw it all
        return _savefig(fig) if any(f is not None for f in kept) else s
    ws = s[pos:s.find("<g", pos)]  # "\n   " between the groups of the axes
    out = [s[:pos]]
    for axis, key, labels, frag in zip(axes, keys, stamps, kept):
        if frag is None:  # drawn here: the next group is this axis (keep it for the next chart)
            start = s.find("<g", pos)
            end = _group_end(s, start)
            if not s.startswith('<g id="matplotlib.axis_', start) or end < 0:  # pragma: no cover
                return _savefig(fig) if any(f is not None for f in kept) else s
            frag = s[start:end]
            pos = end
            keep = frag if labels is None else \
                _label_template(frag, labels, (axis.label.get_text(), axis.get_offset_text().get_text()))
            if key is not None and keep is not None:
                if len(_AXES_SVG) >= _AXES_SVG_MAX:
                    _AXES_SVG.clear()
                _AXES_SVG[key] = keep
        out.append(ws + frag)
    out.append(s[pos:])
    return _renumber("".join(out)) if any(f is not None for f in kept) else s


def _element_tips(body: str, gid: str, tips: list) -> str:
    """Give the k-th drawn mark of the group of ``gid`` the k-th tooltip: a ``<use>`` (a marker) takes
    one; a ``<path>`` takes one per sub-path (``M …``), split into a ``<path>`` each — bars and
    segments are drawn as one compound path per series (msoko.plots._draw)."""
    tag = f"<!--tips:{gid}-->"
    at = body.find(tag)
    if at < 0:
        return body
    body = body[:at] + body[at + len(tag):]
    start = body.rfind("<g ", 0, at)
    depth, i = 0, start
    for mo in re.finditer(r"<g\b[^>]*>|</g>", body[start:]):
        depth += 1 if mo.group(0) != "</g>" else -1
        if depth == 0:
            i = start + mo.end()
            break
    part = body[start:i]
    it = iter(tips)

    def one(mo: re.Match) -> str:
        el = mo.group(0)
        if ' id="' in el:  # a marker's definition, not a drawn element
            return el
        if mo.group(1) == "use":
            t = next(it, None)
            return el if t is None else f"{el[:-2]}><title>{esc(t)}</title></use>"
        d = re.search(r' d="([^"]*)"', el)
        subs = [p.strip() for p in re.split(r"(?=M )", d.group(1)) if p.strip()] if d else []
        out = []
        for sub in subs or [None]:
            t = next(it, None)
            e = el if sub is None else el[:d.start()] + f' d="{sub}"' + el[d.end():]
            out.append(e if t is None else f"{e[:-2]}><title>{esc(t)}</title></path>")
        return "".join(out)

    part = _ELEM_RE.sub(one, part)
    return body[:start] + part + body[i:]


# --- the HTML frame ---------------------------------------------------------------------------

def hex_color(c) -> str:
    return mcolors.to_hex(c, keep_alpha=False)


def swatch(color: str, kind: str = "box") -> str:
    if kind == "line":
        return (f'<svg width="18" height="10" style="vertical-align:0;margin-right:0.3em" aria-hidden="true">'
                f'<line x1="0" y1="5" x2="18" y2="5" stroke="{color}" stroke-width="2.5"/></svg>')
    if kind == "dash":
        return (f'<svg width="18" height="10" style="vertical-align:0;margin-right:0.3em" aria-hidden="true">'
                f'<line x1="0" y1="5" x2="18" y2="5" stroke="{color}" stroke-width="1.5" stroke-dasharray="2 2"/></svg>')
    return (f'<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;margin-right:0.3em;'
            f'background:{color};{_PRINT_EXACT}"></span>')


def legend_items(ax) -> list[tuple[str, str, str]]:
    """``(label, colour, kind)`` of the labelled artists of ``ax`` — what ``ax.legend()`` would show."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    items = []
    for h, lab in zip(*ax.get_legend_handles_labels()):
        if isinstance(h, Line2D):
            ls = h.get_linestyle()
            kind = "box" if ls in ("None", "none", "", " ") else "line" if ls in ("-", "solid") else "dash"
            items.append((lab, hex_color(h.get_color()), kind))
        elif isinstance(h, LineCollection):
            ls = h.get_linestyle()[0] if len(h.get_linestyle()) else (0, None)
            items.append((lab, hex_color(h.get_color()[0]), "line" if ls[1] is None else "dash"))
        else:
            fc = h.get_facecolor()
            if getattr(fc, "ndim", 1) == 2:  # a collection: its first colour (a ring has only an edge)
                fc = fc[0] if len(fc) else h.get_edgecolor()[0]
            items.append((lab, hex_color(fc), "box"))
    return items


def legend(items: Sequence[tuple[str, str, str]]) -> str:
    """HTML legend entries ``(label, colour, kind)``, kind ``box`` / ``line`` / ``dash``."""
    if not items:
        return ""
    return ('<div class="msoko-legend" style="margin:0 0 0.3em 0;font-size:0.9em">' + "".join(
        f'<span style="white-space:nowrap;margin-right:1.2em">{swatch(c, k)}{esc(lab)}</span>'
        for lab, c, k in items) + "</div>")


def caption_text(source: str, n=None, note: str | None = None) -> str:
    parts = [f"Источник: {source}"]
    if n is not None:
        parts.append(f"n = {n if isinstance(n, str) else fmt_num(n)}")
    if note:
        parts.append(note)
    return "; ".join(parts)


def figure(body: str, *, title: str | None, source: str | None, n=None, note: str | None = None,
           legend_items: Sequence[tuple[str, str, str]] = (), width: float | None = None,
           draw: Callable | None = None) -> Chart:
    """The report's frame around a chart body (SVG or HTML)."""
    style = f"margin:0.8em 0 1.2em 0;{_PRINT_EXACT}break-inside:avoid;page-break-inside:avoid;font-size:13px"
    if width:
        style += f";max-width:{width:g}px"
    head = (f'<div class="msoko-chart-title" style="font-weight:600;font-size:1.05em;margin-bottom:0.2em;'
            f'white-space:pre-line">{esc(title)}</div>') if title else ""
    cap = (f'<figcaption style="font-size:0.85em;color:{MUTED};margin-top:0.2em">'
           f'{esc(caption_text(source, n, note))}</figcaption>') if source else ""
    return Chart.make(f'<figure class="msoko-chart" style="{style}">{head}{legend(legend_items)}{body}{cap}</figure>',
                      title=title, draw=draw)


def embed(ax, *, title: str | None, source: str | None, n=None, note: str | None = None, label: str | None = None,
          draw: Callable | None = None, legend_from_axes: bool = True) -> Chart:
    """The figure of ``ax`` as a framed chart; the figure is done with afterwards."""
    fig = ax.figure
    items = legend_items(ax) if legend_from_axes else []
    body = svg(fig, label=label if label is not None else (title or ""))
    w = fig.get_figwidth() * 96
    _release(fig)
    return figure(body, title=title, source=source, n=n, note=note, legend_items=items, width=w, draw=draw)


def _release(fig) -> None:
    """Forget a figure: a report's figures are plain Figures (not pyplot's), closed if pyplot has them."""
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and fig.canvas.manager is not None:
        plt.close(fig)


def row(*charts: str, title: str | None = None) -> Chart:
    """Charts side by side (wrapping on narrow screens), under an optional common title."""
    # a chart keeps at least ~420 px (its text legible): three in a row wrap into two and one
    items = "".join(f'<div style="flex:1 1 420px;min-width:min(420px,100%);max-width:100%">{c}</div>'
                    for c in charts if c)
    head = (f'<div style="font-weight:700;font-size:1.1em;margin-top:0.6em">{esc(title)}</div>' if title else "")
    return Chart.make(f'<div class="msoko-chart-row">{head}<div style="display:flex;flex-wrap:wrap;gap:0 2em;'
                      f'align-items:flex-start">{items}</div></div>', title=title)


def no_data(text: str = "Нет данных", *, title: str | None = None) -> Chart:
    return figure(f'<div class="msoko-empty" style="color:#777777;padding:1.5em 0">{esc(text)}</div>',
                  title=title, source=None)
