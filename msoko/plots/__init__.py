"""Every chart of the msoko reports, drawn with matplotlib in one seaborn theme.

Two layers, seaborn's way:

* **axes-level** ``plot_x(data, *, ax=None, …) -> Axes`` — takes a long-form frame, draws on ``ax``
  (or on a new pyplot figure of the chart's own size, so JupyterLab shows it) and returns the Axes:
  an analyst restyles it or saves it, ``ax.figure.savefig("рисунок.png")`` for the annual доклад.
* **report builders** ``x_chart(data, …) -> Chart`` — the same drawing embedded as inline SVG in an
  HTML ``<figure>`` with the Russian title, legend and the caption «Источник: …; n = …»
  (:mod:`msoko.plots.embed`). A :class:`Chart` is a ``str`` Jupyter shows as HTML;
  ``chart.plot()`` draws it again as an Axes.

By topic: :mod:`~msoko.plots.vpr` (marks, ВПР vs journal, primary scores, tasks, levels),
:mod:`~msoko.plots.indicators` (an indicator beside its comparison groups, its trend),
:mod:`~msoko.plots.objectivity` (the pictures behind the signs), :mod:`~msoko.plots.dou` (МКДО);
the palette, the theme and Russian numbers in :mod:`~msoko.plots.theme`.

Speed (a school report holds about thirty charts; ``benchmarks/charts.py`` measures them against the
hand-written SVG engine this package replaced, ``benchmarks/charts_ab.py`` two source trees against each
other with every chart's bytes compared): fixed figure sizes and axes positions (no tight box,
no layout engine), ticks chosen in advance, one figure per chart kind and size reused between charts
(:func:`~msoko.plots.theme.report_axes`) at the SVG's 72 dpi and saved at it (a change of dpi
invalidates every transform), each axis drawn once per scale and kept as SVG (:mod:`~msoko.plots.embed`),
one text-metrics cache for all SVG figures (the backend :mod:`~msoko.plots.svg_backend`, no patched
matplotlib function), lines, bands and marks added without a data-limit update (every chart sets its
limits), bars and marks drawn as one element per series (split per mark for the tooltips), the SVG
cleaned with patterns that begin with a literal. The two overviews of every work
(sixty rows of 100 % bars) are embedded as HTML bars; ``chart.plot()`` draws them in matplotlib.
Importing ``msoko.plots`` changes nothing: the caller that draws applies the theme —
:func:`msoko.report.load` for the reports, ``msoko.plots.use_theme()`` for an analyst's own charts.
"""
from __future__ import annotations

from msoko.plots import dou, embed, indicators, objectivity, theme, vpr
from msoko.plots.dou import mkdo_areas_chart, plot_mkdo_areas
from msoko.plots.embed import Chart, no_data, row, show
from msoko.plots.indicators import indicator_chart, plot_indicator, plot_trend, trend_chart
from msoko.plots.objectivity import (bunching_chart, cohort_k_chart, evidence_panel, interval_chart, plot_bunching,
                                     plot_cohort_k, plot_interval_vs_reference)
from msoko.plots.theme import (DEFAULT_THRESHOLDS, FLAG_COLOR, GROUP_COLORS, GROUP_ORDER, INK, JOURNAL_COLORS,
                               JOURNAL_ORDER, LEVEL_COLORS, LEVEL_NAMES, MARK_COLORS, NEUTRAL_COLOR, fmt_num,
                               group_color, nice_ticks, use_theme)
from msoko.plots.vpr import (marks_chart, plot_marks_distribution, plot_score_histogram, plot_stacked_shares,
                             plot_task_completion, plot_task_levels, plot_vpr_vs_journal, score_histogram_chart,
                             stacked_shares_chart, task_completion_chart, task_levels_chart, vpr_detail_chart,
                             vpr_vs_journal_chart)

__all__ = [
    # axes-level
    "plot_marks_distribution", "plot_vpr_vs_journal", "plot_stacked_shares", "plot_score_histogram",
    "plot_task_completion", "plot_task_levels", "plot_indicator", "plot_trend", "plot_interval_vs_reference",
    "plot_bunching", "plot_cohort_k", "plot_mkdo_areas",
    # report builders
    "marks_chart", "vpr_vs_journal_chart", "stacked_shares_chart", "score_histogram_chart", "task_completion_chart",
    "task_levels_chart", "vpr_detail_chart", "indicator_chart", "trend_chart", "interval_chart", "bunching_chart",
    "cohort_k_chart", "evidence_panel", "mkdo_areas_chart", "row", "no_data", "show", "Chart",
    # theme
    "use_theme", "fmt_num", "nice_ticks", "group_color", "GROUP_COLORS", "GROUP_ORDER", "MARK_COLORS",
    "JOURNAL_COLORS", "JOURNAL_ORDER", "LEVEL_COLORS", "LEVEL_NAMES", "FLAG_COLOR", "NEUTRAL_COLOR", "INK",
    "DEFAULT_THRESHOLDS", "dou", "embed", "indicators", "objectivity", "theme", "vpr",
]
