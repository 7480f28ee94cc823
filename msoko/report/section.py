"""What a report section returns: its HTML, and its tables, figures and sentences for an analyst.

A ``show_*`` function builds one :class:`Section` and returns it. In a notebook the section is the
cell's value, so it is shown as one output (a school report has ~200 fragments; as separate outputs
each would be a kernel message and a schema validation in the runner). In JupyterLab an analyst takes
``sec.tables["…"]`` (DataFrames, by caption) or ``sec.figures["…"]`` (charts, by title) and works on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

TABLES_MIME = "application/vnd.msoko.tables+json"  # a section's tables inside the executed notebook

import pandas as pd

from msoko.report.fmt import html_heading, html_para, html_sentences, html_table, html_text_table, plain_text_rows


class TextTable:
    """A table of text cells (str or None) as rows under ``columns``, and ``build()``: its DataFrame, built
    when it is read. :meth:`Section.table` writes such a table's HTML and workbook table from the rows — the
    text it writes for the frame (a frame of text cells and its ``to_numpy`` cost ~1 ms a table)."""
    __slots__ = ("columns", "rows", "build")

    def __init__(self, columns: list, rows: list[list], build: Callable[[], pd.DataFrame]):
        self.columns, self.rows, self.build = list(columns), rows, build

    @classmethod
    def of_records(cls, records: list[dict], build: Callable[[], pd.DataFrame], fill=None) -> "TextTable":
        """The rows of ``records`` (columns in order of first appearance, a cell a record lacks ``fill``)."""
        cols = list(dict.fromkeys(k for r in records for k in r))
        return cls(cols, [[r.get(c, fill) for c in cols] for r in records], build)


class Tables(dict):
    """A section's tables by name: each a DataFrame when read (a table given as rows is built on first read;
    a report run only writes its rows to the page and the workbook)."""

    def __getitem__(self, key):
        v = dict.__getitem__(self, key)
        if isinstance(v, TextTable):
            v = v.build()
            dict.__setitem__(self, key, v)
        return v

    def __iter__(self):   # not dict's own: ``dict(tables)`` and ``{**tables}`` read through __getitem__
        return iter(list(self.keys()))

    def get(self, key, default=None):
        return self[key] if key in self else default

    def values(self):
        return [self[k] for k in self.keys()]

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def raw_items(self):
        """The tables as kept (rows not built into frames)."""
        return dict.items(self)


@dataclass
class Section:
    """The parts of one report section, in display order."""
    parts: list[str] = field(default_factory=list)
    tables: Tables = field(default_factory=Tables)
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

    def table(self, df: "pd.DataFrame | TextTable", *, caption: str | None = None, note: str | None = None,
              key: str | None = None) -> "Section":
        """A table: shown as HTML, kept as a DataFrame under ``key`` (default: its caption). A
        :class:`TextTable` whose cells are all text is written from its rows, its frame built when read."""
        if isinstance(df, TextTable) and not plain_text_rows(df.columns, df.rows):
            df = df.build()
        name = _unique(self.tables, key or caption or f"Таблица {len(self.tables) + 1}")
        dict.__setitem__(self.tables, name, df)
        if isinstance(df, TextTable):
            return self.html(html_text_table(df.columns, df.rows, caption=caption, note=note))
        return self.html(html_table(df, caption=caption, note=note))

    def figure(self, chart, *, key: str | None = None) -> "Section":
        """A chart (anything with an HTML form), kept under ``key`` (default: its title)."""
        name = key or getattr(chart, "title", None) or f"Рисунок {len(self.figures) + 1}"
        self.figures[_unique(self.figures, str(name))] = chart
        return self.html(chart._repr_html_() if hasattr(chart, "_repr_html_") else chart)

    def extend(self, other: "Section") -> "Section":
        """Append another section's parts (a nested section joins this one)."""
        self.parts += other.parts
        for k, v in _raw_items(other.tables):
            dict.__setitem__(self.tables, _unique(self.tables, k), v)
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
            bundle[TABLES_MIME] = [table_json(k, v) for k, v in _raw_items(self.tables)]
        return bundle

    def __str__(self) -> str:
        return self._repr_html_()

    def __repr__(self) -> str:
        return f"<Раздел отчёта: таблиц {len(self.tables)}, рисунков {len(self.figures)}>"


def _raw_items(tables: dict):
    return tables.raw_items() if isinstance(tables, Tables) else tables.items()


def table_json(title: str, df: pd.DataFrame) -> dict:
    """A table as JSON: its title, column names and cells (numbers kept as numbers, missing as null)."""
    if isinstance(df, TextTable):   # text cells or None: as the frame's columns give them
        return {"title": str(title), "columns": [str(c) for c in df.columns], "rows": [list(r) for r in df.rows]}
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
