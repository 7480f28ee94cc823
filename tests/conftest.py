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


# The fast subset (`pytest -m "not slow"`: under 5 minutes) is the unit tests on small fixed
# data. Slow: every test on a whole demo municipality or the real region (the fixtures below build and
# compute them), and the tests that start many kernels or generate demos themselves.
SLOW_FIXTURES = {"demo_raw", "demo_processed", "real_data", "small_processed"}
SLOW_TESTS = {
    # test_runner: whole `msoko run`s with several kernels, killed and broken pools
    "test_failing_school_is_isolated_and_exit_code_nonzero", "test_workers_warm_up_while_compute_runs",
    "test_report_that_kills_its_worker_is_named_and_the_others_rebuilt", "test_dask_executor_builds_same_reports_as_local",
    "test_broken_pool_is_discarded_even_when_a_worker_ignores_sigterm",
    "test_unchanged_rerun_rebuilds_nothing_and_changes_rebuild_dependents",
    "test_warm_kernel_gives_same_result_as_fresh_kernel", "test_a_worker_death_the_pool_missed_is_treated_as_a_broken_pool",
    # test_demo: two or three demos generated and ingested
    "test_same_seed_same_bytes_other_seed_other_data", "test_never_writes_over_foreign_files",
    # test_faults_compute: compute or run on a demo built in the test
    "test_pool_workers_ignore_ctrl_c_so_only_the_run_answers_it", "test_run_exits_nonzero_when_an_input_file_could_not_be_read",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or getattr(item, "originalname", "") in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
