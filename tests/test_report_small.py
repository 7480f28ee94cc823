"""Small report helpers: the processed_dir a JupyterLab notebook (run in notebooks/) resolves,
and one output per report section."""
from pathlib import Path

import pandas as pd
import pytest

from msoko.report import _locate_processed


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


def test_show_functions_emit_one_output_each(monkeypatch):
    """Every show_* function shows its section as one output: nested show_* calls join it, and
    what was collected before an error is still shown."""
    import IPython.display

    from msoko import report as R

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj.data))
    df = pd.DataFrame({"a": [1]})

    def section():
        R.display_html("<p>один</p>")
        R.show_table(df, caption="T")  # itself a show_* function
        R.display_html("<p>два</p>")

    R._one_output(section)()
    assert len(shown) == 1
    assert shown[0].index("<p>один</p>") < shown[0].index("T") < shown[0].index("<p>два</p>")

    def broken():
        R.display_html("<p>до ошибки</p>")
        raise ValueError("x")

    with pytest.raises(ValueError):
        R._one_output(broken)()
    assert shown[1] == "<p>до ошибки</p>"
    R.show_table(df, caption="одна таблица")  # outside any section: shown at once
    assert len(shown) == 3 and "одна таблица" in shown[2]
    assert R._SECTION is None
