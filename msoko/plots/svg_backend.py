"""matplotlib's SVG backend with one text-measuring cache for every chart of the process.

A report draws about thirty small charts, and matplotlib measures every text of a figure (tick
labels, values, legends) again at each ``savefig``: its own cache lives as long as one renderer,
and every ``savefig`` makes a new one. For SVG output a text's size depends only on the string and
the font (matplotlib measures it with ``TextToPath`` at the fixed 72 dpi of vector output), so this
backend's renderer keeps the sizes for the whole process.

It is a third-party backend in matplotlib's supported sense: :mod:`msoko.plots.embed` saves with
``fig.savefig(buf, format="svg", backend=BACKEND)``; the renderer overrides the public renderer method
:meth:`~matplotlib.backend_bases.RendererBase.get_text_width_height_descent`, and nothing of
matplotlib is patched. The bytes are those of matplotlib's own SVG backend (tests/test_plots.py).
"""
from __future__ import annotations

import functools

from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.textpath import TextToPath

BACKEND = "module://msoko.plots.svg_backend"

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


class FigureCanvas(FigureCanvasSVG):
    """matplotlib's SVG canvas drawing with :class:`RendererSVGShared` (``print_svg`` as matplotlib's,
    for a text stream)."""

    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, **kwargs):
        # ``savefig`` passes its face and edge colours, orientation and dpi to a third-party backend too;
        # it has already set them on the figure, as matplotlib's own print_svg ignores them
        if not hasattr(filename, "write"):
            with open(filename, "w", encoding="utf-8") as fh:
                return self.print_svg(fh, bbox_inches_restore=bbox_inches_restore, metadata=metadata)
        dpi = self.figure.dpi
        self.figure.dpi = 72
        width, height = self.figure.get_size_inches()
        renderer = MixedModeRenderer(self.figure, width, height, dpi,
                                     RendererSVGShared(width * 72, height * 72, filename, image_dpi=dpi,
                                                       metadata=metadata),
                                     bbox_inches_restore=bbox_inches_restore)
        self.figure.draw(renderer)
        renderer.finalize()


FigureCanvasSVGShared = FigureCanvas
