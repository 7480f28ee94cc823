"""What a report section returns: its HTML, and its tables, figures and sentences for an analyst.

A ``show_*`` function builds one :class:`Section` and returns it. In a notebook the section is the
cell's value, so it is shown as one output (a school report has ~200 fragments; as separate outputs
each would be a kernel message and a schema validation in the runner). In JupyterLab an analyst takes
``sec.tables["…"]`` (DataFrames, by caption) or ``sec.figures["…"]`` (charts, by title) and works on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TABLES_MIME = "application/vnd.msoko.tables+json"  # a section's tables inside the executed notebook

import pandas as pd

from msoko.report.fmt import html_heading, html_para, html_sentences, html_table


@dataclass
class Section:
    """The parts of one report section, in display order."""
    parts: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)
    sentences: list[str] = field(default_factory=list)

    def html(self, fragment) -> "Section":
        """Append an HTML fragment (already escaped)."""
        self.parts.append(str(fragment))
        return self

    def para(self, text: str, cls: str | None = None) -> "Section":
        return self.html(html_para(text, cls))

    def heading(self, text: str, level: int = 3) -> "Section":
        return self.html(html_heading(text, level))

    def say(self, sentences, *, empty: str = "Нет замечаний.") -> "Section":
        """A list of plain sentences (kept in :attr:`sentences`)."""
        sentences = list(sentences)
        self.sentences += sentences
        return self.html(html_sentences(sentences, empty=empty))

    def table(self, df: pd.DataFrame, *, caption: str | None = None, note: str | None = None,
              key: str | None = None) -> "Section":
        """A table: shown as HTML, kept as a DataFrame under ``key`` (default: its caption)."""
        self.tables[_unique(self.tables, key or caption or f"Таблица {len(self.tables) + 1}")] = df
        return self.html(html_table(df, caption=caption, note=note))

    def figure(self, chart, *, key: str | None = None) -> "Section":
        """A chart (anything with an HTML form), kept under ``key`` (default: its title)."""
        name = key or getattr(chart, "title", None) or f"Рисунок {len(self.figures) + 1}"
        self.figures[_unique(self.figures, str(name))] = chart
        return self.html(chart._repr_html_() if hasattr(chart, "_repr_html_") else chart)

    def extend(self, other: "Section") -> "Section":
        """Append another section's parts (a nested section joins this one)."""
        self.parts += other.parts
        for k, v in other.tables.items():
            self.tables[_unique(self.tables, k)] = v
        for k, v in other.figures.items():
            self.figures[_unique(self.figures, k)] = v
        self.sentences += other.sentences
        return self

    def _repr_html_(self) -> str:
        return "".join(self.parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """HTML for the page, and the tables as JSON for the report's Excel workbook
        (:mod:`msoko.report.workbook`; the HTML exporter ignores this type)."""
        bundle = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        if self.tables:
            bundle[TABLES_MIME] = [table_json(k, v) for k, v in self.tables.items()]
        return bundle

    def __str__(self) -> str:
        return self._repr_html_()

    def __repr__(self) -> str:
        return f"<Раздел отчёта: таблиц {len(self.tables)}, рисунков {len(self.figures)}>"


def table_json(title: str, df: pd.DataFrame) -> dict:
    """A table as JSON: its title, column names and cells (numbers kept as numbers, missing as null)."""
    def cell(v):
        t = type(v)
        if t is str or t is int or t is bool:   # the common cells first: no pd.isna per cell
            return v
        if t is float:
            return None if v != v else v
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if hasattr(v, "item"):  # numpy scalar
            v = v.item()
        return v if isinstance(v, (int, float, bool, str)) else str(v)

    # column by column (Series.tolist gives the values row iteration gives), then turned into rows
    cols = [[cell(v) for v in df.iloc[:, k].tolist()] for k in range(df.shape[1])]
    return {"title": str(title), "columns": [str(c) for c in df.columns],
            "rows": [list(r) for r in zip(*cols)] if cols else [[] for _ in range(len(df))]}


def _unique(d: dict, key: str) -> str:
    if key not in d:
        return key
    i = 2
    while f"{key} ({i})" in d:
        i += 1
    return f"{key} ({i})"
