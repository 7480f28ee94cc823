"""A report notebook's cells executed in this process, for measurements and tests.

`msoko run` executes a notebook in a warm kernel (:mod:`msoko.runner.worker`); benchmarks
(``benchmarks/sections.py``, ``charts.py``, ``kernel_memory.py``) and tests (``tests/test_report_slice.py``)
need the same calls without a kernel: the notebook's own code cells (``notebooks/<name>.py``, the
jupytext pair), the parameters cell first, then each cell with the value Jupyter would show (its last
expression).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def notebook_cells(name: str, notebooks_dir: Path | None = None) -> list[str]:
    """The code cells of ``<notebooks_dir>/<name>.py`` (percent format) from its ``parameters`` cell on,
    empty cells left out: the parameters cell first."""
    from msoko.runner import default_notebooks_dir

    path = Path(notebooks_dir or default_notebooks_dir()) / f"{name}.py"
    cells: list[str] = []
    for chunk in path.read_text(encoding="utf-8").split("\n# %%")[1:]:
        head, _, body = chunk.partition("\n")
        if 'tags=["parameters"]' in head:
            cells = []
        if "[markdown]" not in head and body.strip():
            cells.append(body)
    return cells


def run_cells(name: str, params: dict[str, Any], *, ns: dict | None = None,
              notebooks_dir: Path | None = None) -> Iterator[tuple[str, Any]]:
    """Execute the notebook's cells in this process with ``params`` (as papermill injects them: after
    the parameters cell), one cell per step: yields ``(cell source, its value)`` after each cell after
    the parameters cell — the value of its last expression, ``None`` when it ends otherwise. ``ns``: the
    namespace to run in (the caller reads ``data`` … from it afterwards)."""
    cells = notebook_cells(name, notebooks_dir)
    ns = {} if ns is None else ns
    exec(compile(cells[0], "<parameters>", "exec"), ns)
    ns.update(params)
    for source in cells[1:]:
        tree = ast.parse(source)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            exec(compile(ast.Module(tree.body[:-1], []), "<cell>", "exec"), ns)
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
        else:
            exec(compile(tree, "<cell>", "exec"), ns)
            value = None
        yield source, value


def shown_html(value: Any) -> str:
    """What the page shows of a cell's value: its HTML form, else its ``repr``."""
    return value._repr_html_() if hasattr(value, "_repr_html_") else repr(value)
