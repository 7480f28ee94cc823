"""A notebook opened in JupyterLab runs in notebooks/: the default processed_dir still resolves."""
from pathlib import Path

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
