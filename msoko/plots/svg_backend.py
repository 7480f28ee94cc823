"""matplotlib's SVG backend with one text-measuring cache for every chart of the process.

A report draws about thirty small charts, and matplotlib measures every text of a figure (tick
labels, values, legends) again at each ``savefig``: its own cache lives as long as one renderer,
and every ``savefig`` makes a new one. For SVG output a text's size depends only on the string and
the font (matplotlib measures it with ``TextToPath`` at the fixed 72 dpi of vector output), so this
backend's renderer keeps the sizes for the whole process.

It is a third-party backend in matplotlib's supported sense: :mod:`msoko.plots.embed` saves with
``fig.savefig(buf, format="svg", backend=BACKEND, report=True)``; the renderer overrides the public renderer
methods :meth:`~matplotlib.backend_bases.RendererBase.get_text_width_height_descent` and ``draw_markers``
(a line's point style computed once, not per point), the report renderer matplotlib's ``_get_clip_attrs``
(:class:`RendererSVGReport`), and nothing of matplotlib is patched. The bytes are those of matplotlib's own
SVG backend, the report renderer's once embedded (tests/test_plots.py).
"""
from __future__ import annotations

import functools

from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG, _generate_css, _short_float_fmt
from matplotlib.transforms import Affine2D
from matplotlib.textpath import TextToPath

MODULE = "module://msoko.plots.svg_backend"
BACKEND = MODULE  # what msoko.plots.embed saves with (a test sets None: matplotlib's own SVG backend)

_T2P = TextToPath()


@functools.lru_cache(maxsize=16384)
def _text_metrics(s: str, prop) -> tuple[float, float, float]:
    return _T2P.get_text_width_height_descent(s, prop, False)


class RendererSVGShared(RendererSVG):
    """:class:`~matplotlib.backends.backend_svg.RendererSVG` whose plain-text sizes are cached per process
    (mathtext and TeX are measured as matplotlib does)."""

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        return _text_metrics(s, prop.copy())  # a copy: FontProperties is mutable and hashed by its state

    def draw_markers(self, gc, marker_path, marker_trans, path, trans, rgbFace=None):
        """matplotlib's ``RendererSVG.draw_markers`` with each point's style computed once per call, not once per
        point (it is the same ``gc`` and face for every point): a score histogram's comparison lines have ~100
        points, and the style was most of their cost. The same elements, attributes and bytes."""
        if not len(path.vertices):
            return
        writer = self.writer
        path_data = self._convert_path(marker_path, marker_trans + Affine2D().scale(1.0, -1.0), simplify=False)
        style = self._get_style_dict(gc, rgbFace)
        dictkey = (path_data, _generate_css(style))
        oid = self._markers.get(dictkey)
        stroke = _generate_css({k: v for k, v in style.items() if k.startswith("stroke")})
        if oid is None:
            oid = self._make_id("m", dictkey)
            writer.start("defs")
            writer.element("path", id=oid, d=path_data, style=stroke)
            writer.end("defs")
            self._markers[dictkey] = oid
        writer.start("g", **self._get_clip_attrs(gc))
        if gc.get_url() is not None:
            writer.start("a", {"xlink:href": gc.get_url(), "target": "_blank"})
        trans_and_flip = self._make_flip_transform(trans)
        attrib = {"xlink:href": f"#{oid}"}
        point_style = dictkey[1]  # ``self._get_style(gc, rgbFace)``, the same for every point
        clip = (0, 0, self.width * 72, self.height * 72)
        for vertices, code in path.iter_segments(trans_and_flip, clip=clip, simplify=False):
            if len(vertices):
                x, y = vertices[-2:]
                attrib["x"] = _short_float_fmt(x)
                attrib["y"] = _short_float_fmt(y)
                attrib["style"] = point_style
                writer.element("use", attrib=attrib)
        if gc.get_url() is not None:
            writer.end("a")
        writer.end("g")


class RendererSVGReport(RendererSVGShared):
    """The renderer of a report chart (:func:`msoko.plots.embed.svg`): a clipped element is marked as matplotlib
    marks it (``clip-path="url(#…)"``, a clipped text inside its own ``<g>``) but every clip has the one id ``p``
    and none is defined, since the report's SVG keeps no clip path — embed removes the attributes and the
    definitions. matplotlib names each clip by hashing its transform's text (~40 µs an element, ~400 elements a
    school report); after embed the bytes are those of matplotlib's own SVG backend (tests/test_plots.py)."""

    def _get_clip_attrs(self, gc):
        if gc.get_clip_rectangle() is None and gc.get_clip_path()[0] is None:
            return {}
        return {"clip-path": "url(#p)"}


class FigureCanvas(FigureCanvasSVG):
    """matplotlib's SVG canvas drawing with :class:`RendererSVGShared` (``print_svg`` as matplotlib's,
    for a text stream); ``report=True``: with :class:`RendererSVGReport`, for :func:`msoko.plots.embed.svg` only."""

    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, report=False, **kwargs):
        # ``savefig`` passes its face and edge colours, orientation and dpi to a third-party backend too;
        # it has already set them on the figure, as matplotlib's own print_svg ignores them
        if not hasattr(filename, "write"):
            with open(filename, "w", encoding="utf-8") as fh:
                return self.print_svg(fh, bbox_inches_restore=bbox_inches_restore, metadata=metadata, report=report)
        dpi = self.figure.dpi
        self.figure.dpi = 72
        width, height = self.figure.get_size_inches()
        renderer_cls = RendererSVGReport if report else RendererSVGShared
        renderer = MixedModeRenderer(self.figure, width, height, dpi,
                                     renderer_cls(width * 72, height * 72, filename, image_dpi=dpi, metadata=metadata),
                                     bbox_inches_restore=bbox_inches_restore)
        self.figure.draw(renderer)
        renderer.finalize()


FigureCanvasSVGShared = FigureCanvas
