"""Small report helpers: the processed_dir a JupyterLab notebook (run in notebooks/) resolves,
and one output per report section."""
from pathlib import Path

import pandas as pd
import pytest

from msoko.report.data import _locate_processed


def test_relative_processed_dir_found_from_a_subfolder(tmp_path, monkeypatch):
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    (processed / "schools.parquet").write_bytes(b"")
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    monkeypatch.chdir(nb_dir)
    assert _locate_processed(Path("data/processed")) == processed


def test_missing_folder_is_returned_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _locate_processed(Path("nowhere/processed")) == Path("nowhere/processed")


def test_tiny_negative_interval_bound_prints_as_zero():
    from msoko.report import fmt

    assert fmt(-1e-17, 0) == "0"
    assert fmt(-0.04, 1) == "0,0"
    assert fmt(-1.5, 1) == "-1,5"


def test_section_is_one_output_with_its_tables_and_figures():
    """A show_* function returns one Section: shown as one HTML output in the order built, its
    tables kept as DataFrames by caption and its charts by title for an analyst."""
    from msoko.report.section import Section

    df = pd.DataFrame({"a": [1]})
    sec = Section().para("один").table(df, caption="T").html("<p>два</p>")
    sec.figure(type("C", (), {"title": "Рисунок X", "_repr_html_": lambda self: "<svg/>"})())
    html = sec._repr_html_()
    assert html.index("один") < html.index("T") < html.index("<p>два</p>") < html.index("<svg/>")
    assert sec.tables["T"] is df and list(sec.figures) == ["Рисунок X"]
    other = Section().table(df, caption="T")
    sec.extend(other)
    assert list(sec.tables) == ["T", "T (2)"]
    assert "таблиц 2" in repr(sec)
