"""The configuration used is part of the processed data: compute writes the merged configuration
beside its tables (``config_used.json``) and the reports read that one, so that a user's
``--config`` changes the computations and the reports together."""
from __future__ import annotations

import html as html_mod
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from msoko.config import USED_CONFIG, load_config, load_used_config, write_used_config

REPO = Path(__file__).resolve().parents[1]


def test_used_config_round_trip_keeps_order_and_bytes(tmp_path):
    config = load_config()
    config["informativeness"]["suppress_below"] = 9
    path = write_used_config(config, tmp_path)
    first = path.read_bytes()
    assert load_used_config(tmp_path) == config
    # the order of the file is kept (the sufficiency levels are shown in it: Б, П, В)
    assert list(load_used_config(tmp_path)["sufficiency"]["default"]) == ["Б", "П", "В"]
    write_used_config(load_used_config(tmp_path), tmp_path)
    assert path.read_bytes() == first


def test_folder_without_used_config_reads_the_built_in_one(tmp_path):
    assert load_used_config(tmp_path) == load_config()


USER_CONFIG = """
[informativeness]
suppress_below = 7

[targets]
vpr_quality = { default = 47.3 }
"""


@pytest.fixture(scope="module")
def user_processed(tmp_path_factory) -> Path:
    """A small demo computed with a user configuration (suppression under 7, a target of 47,3 %)."""
    from msoko.compute import compute
    from msoko.demo import generate
    from msoko.ingest import ingest

    raw = tmp_path_factory.mktemp("cfg_raw")
    generate(out_dir=raw, seed=3, n_schools=6, years=(2022, 2023))
    processed = tmp_path_factory.mktemp("cfg_processed")
    ingest(raw_dir=raw, processed_dir=processed, jobs=1)
    user = tmp_path_factory.mktemp("cfg") / "my.toml"
    user.write_text(USER_CONFIG, encoding="utf-8")
    compute(processed_dir=processed, config_path=user, verbose=False)
    return processed


@pytest.mark.slow
def test_compute_writes_the_merged_configuration(user_processed):
    used = json.loads((user_processed / USED_CONFIG).read_text(encoding="utf-8"))
    assert used["informativeness"]["suppress_below"] == 7
    assert used["informativeness"]["limited_below"] == 20          # the default, merged under the user's file
    assert used["targets"]["vpr_quality"] == {"default": 47.3}
    ind = pd.read_parquet(user_processed / "indicators.parquet")
    cat = pd.read_csv(user_processed / "indicator_catalogue.csv", encoding="utf-8-sig")
    groups = set(cat.loc[cat["min_n"] > 0, "code"])                 # min_n = 0: facts, never suppressed
    small = ind[(ind["n"] >= 5) & (ind["n"] < 7) & (ind["level"] == "school") & ind["indicator"].isin(groups)]
    assert len(small) and small["suppressed"].all()                 # compute suppressed under 7
    assert small["value"].isna().all()


def _visible_text(page: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html_mod.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.slow
def test_user_threshold_and_target_show_in_the_built_report(user_processed, tmp_path):
    from msoko import report as R
    from msoko.export import export_html

    data = R.load(user_processed, cache=False)
    assert R.suppress_below(data) == 7
    year = R.resolve_year(data, None)
    out = tmp_path / "municipality.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "municipality.ipynb"), str(out), kernel_name="python3",
                        parameters={"year": year, "processed_dir": str(user_processed)},
                        progress_bar=False, cwd=str(REPO))
    text = _visible_text(export_html(nbformat.read(out, as_version=4), title="Муниципальный отчёт"))
    assert "Группы меньше 7 участников не показываются" in text
    assert "Группы меньше 5 " not in text
    # the goals table of system 1: the user's target of «качество», as compute's cycle_targets holds it
    targets = pd.read_parquet(user_processed / "cycle_targets.parquet")
    assert targets.loc[(targets["indicator"] == "vpr_quality") & (targets["year"] == year), "target"].item() == 47.3
    assert "47,3" in text
    assert re.search(r"Качество[^|]{0,200}?47,3", text)
