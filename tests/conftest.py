"""Shared fixtures.

- ``real_data``: the real ВПР sample in ../shared/data/vpr-altai (skips when absent).
- ``demo_raw`` / ``demo_processed``: a small demo municipality generated once per
  test session, ingested and computed (each stage only if its module exists).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("MSOKO_REAL_DATA", REPO.parent / "shared" / "data" / "vpr-altai"))

# Small but complete demo used by the tests: fast to build, every system present.
DEMO_PARAMS = dict(seed=7, n_schools=14, years=(2021, 2023))


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "vpr_results").is_dir():
        pytest.skip(f"нет реальных данных ВПР в {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Path:
    from msoko.demo import generate

    out = tmp_path_factory.mktemp("demo_raw")
    generate(out_dir=out, **DEMO_PARAMS)
    return out


@pytest.fixture(scope="session")
def demo_processed(demo_raw, tmp_path_factory) -> Path:
    from msoko.ingest import ingest

    processed = tmp_path_factory.mktemp("demo_processed")
    ingest(raw_dir=demo_raw, processed_dir=processed, jobs=1)
    try:
        from msoko.compute import compute
    except ImportError:
        return processed
    compute(processed_dir=processed, config_path=None)
    return processed
