"""Self-contained HTML export of an executed report notebook.

The default nbconvert templates load require.js and MathJax from CDNs; municipal
networks are often closed, so msoko renders the cells with the minimal ``basic``
template and wraps them in its own HTML shell: inline CSS (screen and print), a
table of contents built from the headings, no script, no font, no request to
any other host. Images are already embedded by the notebook (PNG as data URIs).

Text from the data is escaped where it enters the notebook's HTML outputs
(:mod:`msoko.report`); plain-text outputs are escaped by nbconvert.
"""
from __future__ import annotations

import html
import re
from importlib import resources

import nbformat
from jinja2 import pass_context
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

from msoko.report.section import TABLES_MIME

_HEADING_RE = re.compile(r"<h([1-3])([^>]*)>(.*?)</h\1>", re.S | re.I)
_ANCHOR_RE = re.compile(r'<a class="anchor-link"[^>]*?(?:/>|>.*?</a>)', re.S)
_NUMERIC_REF_RE = re.compile(r"&#(\d{3,7});")
_TAG_RE = re.compile(r"<[^>]+>")
_ID_RE = re.compile(r'\bid="([^"]*)"')


def _css() -> str:
    return resources.files("msoko").joinpath("resources/report/report.css").read_text(encoding="utf-8")


def _strip_stderr(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop stderr streams (library warnings) — errors stay visible as error outputs — and merge
    consecutive stdout chunks into one output (nbconvert's CoalesceStreamsPreprocessor): where the
    kernel flushes inside one ``print`` is a matter of timing, and the page must be the same bytes
    on every run."""
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell = {**cell, "outputs": [_without_tables(o) for o in cell.get("outputs", [])
                                        if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]}
        cells.append(cell)
    nb = nbformat.from_dict({**nb, "cells": cells})
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return nb


def _without_tables(output: dict) -> dict:
    """An output without the sections' tables as JSON (:data:`msoko.report.section.TABLES_MIME`, for the
    workbook): the page does not show them, and nbconvert copies and validates the notebook several times
    (a school report's tables are thousands of small lists: ~half of its export)."""
    data = output.get("data")
    if not data or TABLES_MIME not in data:
        return output
    return {**output, "data": {k: v for k, v in data.items() if k != TABLES_MIME}}


def _add_toc(body: str) -> tuple[str, str]:
    """Give every h1–h3 an id and build the table of contents (h2 and h3)."""
    used: set[str] = set()
    entries: list[tuple[int, str, str]] = []

    def repl(m: re.Match) -> str:
        level, attrs, inner = int(m.group(1)), m.group(2), _ANCHOR_RE.sub("", m.group(3))
        label = html.unescape(_TAG_RE.sub("", inner)).strip()
        base = f"sec-{len(entries) + 1}"
        hid = base
        while hid in used:
            hid += "-x"
        used.add(hid)
        attrs = _ID_RE.sub("", attrs)
        if level >= 2:
            entries.append((level, hid, label))
        return f'<h{level} id="{hid}"{attrs}>{inner}</h{level}>'

    body = _HEADING_RE.sub(repl, body)
    if len(entries) > 30:  # a long report: chapters only
        entries = [e for e in entries if e[0] == 2]
    items = "".join(
        f'<li class="toc-h{lvl}"><a href="#{hid}">{html.escape(label)}</a></li>' for lvl, hid, label in entries)
    # folded by default (no script: <details>): the first screen is the report's summary, not its contents
    toc = (f'<details class="toc-box"><summary>Содержание отчёта</summary><nav class="toc" aria-label="Содержание">'
           f'<ol>{items}</ol></nav></details>') if entries else ""
    return body, toc


_TECHNICAL_PARAMS = {"processed_dir", "config_path"}
# what a reader sees of the parameters: in Russian, only those that say whom and when the report is about
_PARAM_LABELS = {"school_id": "логин школы", "dou_id": "логин детского сада", "municipality": "муниципалитет",
                 "year": "учебный год"}


def _params_line(nb: nbformat.NotebookNode) -> str:
    params = (nb.get("metadata", {}).get("papermill", {}) or {}).get("parameters") or {}
    # where the data lay on the building machine is not part of the report (it is in the manifest
    # and in the executed notebook): the same inputs give the same page on any machine; the
    # parameters of code (names, quotes, options) are not shown to a reader either
    shown = [f"{_PARAM_LABELS[k]}: {v}" for k, v in params.items()
             if k in _PARAM_LABELS and k not in _TECHNICAL_PARAMS and v is not None]
    if not shown:
        return ""
    text = " · ".join(shown)
    return f'<p class="params">{html.escape(text[:1].upper() + text[1:])}</p>'


def _running_head(title: str, nb: nbformat.NotebookNode) -> str:
    """The text of the printed running head: the report's title and year (CSS ``string-set``)."""
    params = (nb.get("metadata", {}).get("papermill", {}) or {}).get("parameters") or {}
    year = params.get("year")
    return title + (f", {year} год" if year is not None and str(year) not in title else "")


_IMG_NO_ALT_RE = re.compile(r"<img\b(?![^>]*\balt=)", re.I)


class _ReportExporter(HTMLExporter):
    """nbconvert's HTML exporter without its BeautifulSoup pass over the finished page.

    That pass (nbconvert ≥ 7.x) parses and re-serialises every tag only to add ``alt`` to images
    without one and ``tabindex`` to JupyterLab-template inputs and outputs (the ``basic`` template
    used here has none); on a school report with inline SVG charts it took ~0.8 s of a ~4 s
    build. The alt text is added here with a regular expression on the template's output."""

    _markdown: dict = {}

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's markdown filter, each text rendered once per process: a report's markdown cells
        are the same headings and notes for every school (~17 a school report, ~0.7 ms each)."""
        cell = context.get("cell", {})
        if cell.get("attachments"):
            return super().markdown2html(context, source)
        key = (source, context.get("resources", {}).get("metadata", {}).get("path", ""), self.anchor_link_text,
               self.exclude_anchor_links, self.embed_images)
        out = self._markdown.get(key)
        if out is None:
            if len(self._markdown) > 2000:
                self._markdown.clear()
            out = self._markdown[key] = super().markdown2html(context, source)
        return out

    def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code",
                             self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type",
                             WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                   resources=resources))
        body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        body = _IMG_NO_ALT_RE.sub('<img alt="Рисунок без описания"', body)
        # the markdown renderer writes non-ASCII letters as numeric references (&#1047;): back to text
        # (only code points ≥ 160, so no markup character can appear)
        body = _NUMERIC_REF_RE.sub(_as_text, body)
        return body, resources


def _as_text(m: re.Match) -> str:
    """A numeric character reference as its character: letters only (≥ U+00A0, no surrogates)."""
    code = int(m.group(1))
    return chr(code) if 160 <= code < 0x110000 and not 0xD800 <= code < 0xE000 else m.group(0)


_EXPORTER: _ReportExporter | None = None


def _exporter() -> _ReportExporter:
    """One exporter per process: its Jinja environment keeps the compiled templates."""
    global _EXPORTER
    if _EXPORTER is None:
        _EXPORTER = _ReportExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                                    exclude_output_prompt=True, anchor_link_text="")
        _EXPORTER.exclude_raw = True
        # the notebook is validated once, after the preprocessors, instead of after each of them (12 full
        # validations of a school report's outputs: ~0.1 s of its export)
        _EXPORTER.optimistic_validation = True
    return _EXPORTER


def export_html(nb: nbformat.NotebookNode, *, title: str) -> str:
    """Render an executed notebook as one self-contained HTML page (code hidden, TOC, print CSS)."""
    body, _ = _exporter().from_notebook_node(_strip_stderr(nb))
    body = _ANCHOR_RE.sub("", body)
    # nothing in a report may run a script or reach another host
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S | re.I)
    body, toc = _add_toc(body)
    try:
        from msoko import __version__ as version
    except ImportError:  # pragma: no cover
        version = ""
    return (
        "<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{_css()}\n</style>\n</head>\n<body>\n"
        f"<header class=\"report-header\"><p class=\"brand\">МСОКО</p><h1 class=\"report-title\">"
        f"{html.escape(title)}</h1>{_params_line(nb)}</header>\n"
        f"<div class=\"running-head\" aria-hidden=\"true\">{html.escape(_running_head(title, nb))}</div>\n"
        f"<div class=\"layout\">{toc}<main class=\"report\">\n{body}\n</main></div>\n"
        f"<footer class=\"report-footer\">Отчёт сформирован программой МСОКО, версия {html.escape(str(version))}. "
        "Результаты ВПР используются для сравнения, а не для рейтингования школ "
        "(письма Рособрнадзора 2021 г. и от 18.04.2025 № 02-86).</footer>\n"
        "</body>\n</html>\n"
    )
