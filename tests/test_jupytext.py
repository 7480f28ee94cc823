"""Each notebook and its paired percent-format script hold the same cells (the .py is what reviewers diff)."""
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def test_every_notebook_is_paired():
    assert NOTEBOOKS, "no notebooks found"
    missing = [nb.name for nb in NOTEBOOKS if not nb.with_suffix(".py").exists()]
    assert not missing, f"notebooks without a paired .py (run `jupytext --sync notebooks/*.ipynb`): {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_script_has_the_notebooks_cells(path):
    nb = jupytext.read(path)
    script = jupytext.read(path.with_suffix(".py"))
    assert _cells(script) == _cells(nb), f"{path.name} and {path.stem}.py differ: run `jupytext --sync {path}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_stored_outputs(path):
    nb = jupytext.read(path)
    stored = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not stored, f"{path.name}: cells {stored} keep outputs"
