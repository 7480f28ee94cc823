"""The contract «compute decides, reports only render», checked on the source: the report layer
(msoko.report, msoko.plots and the notebooks) imports no computation, and the computations import
neither the reports nor the charts. Every import is read with ``ast``, those inside functions too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "msoko"

RENDER = ("msoko.report", "msoko.plots")
# what decides: ingest, the indicators, the objectivity signs, the management cycle and its plan
COMPUTE = ("msoko.compute", "msoko.ingest", "msoko.readers", "msoko.layouts", "msoko.dictionary",
           "msoko.indicators", "msoko.stats", "msoko.marks", "msoko.vpr_views", "msoko.objectivity",
           "msoko.cycle", "msoko.priorities", "msoko.outputs", "msoko.demo")

# Nothing may be added here: the report reads compute's tables.
ALLOWED: set[tuple[str, str]] = set()


def _is(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = REPO.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    return imports_in(path.read_text(encoding="utf-8"), module, package=path.name == "__init__.py")


def imports_in(text: str, module: str, package: bool = False) -> list[tuple[str, int]]:
    """msoko modules imported by the source ``text`` of ``module`` (``from msoko import stats`` →
    ``msoko.stats``), with their lines, in the order of the source."""
    package = module.split(".") if package else module.split(".")[:-1]
    out = []
    nodes = sorted((n for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((sub if _exists(sub) else base, node.lineno))
    return [(m, line) for m, line in out if m == "msoko" or m.startswith("msoko.")]


def _all_imports() -> list[tuple[str, str, int]]:
    rows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        rows += [(module, imported, line) for imported, line in imports_of(path, module)]
    return rows


def test_import_reader_resolves_each_form():
    """Each import form is read as the module it loads, function-local imports included."""
    text = ("from msoko import stats\nfrom ..objectivity import core\nfrom .fmt import fmt\nimport msoko.cycle\n"
            "import numpy\ndef f():\n    from msoko.indicators import similar_group\n")
    got = [m for m, _ in imports_in(text, "msoko.report.probe")]
    assert got == ["msoko.stats", "msoko.objectivity.core", "msoko.report.fmt", "msoko.cycle", "msoko.indicators"]


def test_report_and_plots_import_no_computation():
    bad = [f"{m} imports {i} (line {line})" for m, i, line in _all_imports()
           if _is(m, RENDER) and _is(i, COMPUTE) and (m, i) not in ALLOWED]
    assert not bad, "the report layer computes:\n" + "\n".join(bad)


def test_computation_imports_neither_report_nor_plots():
    bad = [f"{m} imports {i} (line {line})" for m, i, line in _all_imports()
           if _is(m, COMPUTE) and _is(i, RENDER)]
    assert not bad, "compute reaches into the report layer:\n" + "\n".join(bad)


def test_allow_list_names_only_imports_that_still_exist():
    """The allow-list shrinks: an entry whose import is gone must be deleted with it."""
    present = {(m, i) for m, i, _ in _all_imports()}
    assert ALLOWED <= present, f"delete from ALLOWED: {sorted(ALLOWED - present)}"


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.py")), ids=lambda p: p.name)
def test_notebooks_import_no_computation(notebook):
    found = imports_of(notebook, "notebooks." + notebook.stem)
    bad = [f"{m} (line {line})" for m, line in found if _is(m, COMPUTE)]
    assert not bad, f"{notebook.name} imports computation: {bad}"
