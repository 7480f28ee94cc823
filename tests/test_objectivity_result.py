"""One run of the objectivity diagnostics returns its frame, the steps that failed and the time of
each step in one result object: nothing is left in module state for the next run to read."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest

import msoko.objectivity as objectivity
from msoko.objectivity import ObjectivityResult, compute_objectivity, run_objectivity
from msoko.objectivity import official as off

from tests.test_objectivity import cohort_vpr


def test_failed_step_is_in_this_result_only(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("сломано для теста")

    monkeypatch.setattr(off, "cohort_rows", broken)
    with pytest.warns(RuntimeWarning, match="не рассчитаны"):
        bad = run_objectivity({"vpr": cohort_vpr()}, {})
    assert isinstance(bad, ObjectivityResult)
    assert [f["step"] for f in bad.failures] == ["cohort"]
    assert bad.failures[0]["signs"] == ("cohort_fall", "cohort_rise")
    assert bad.failures[0]["error"] == "ValueError: сломано для теста"
    assert not {"cohort_fall", "cohort_rise"} & set(bad.frame["sign"])     # the other signs still computed
    assert "inflated_mean" in set(bad.frame["sign"])
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        good = run_objectivity({"vpr": cohort_vpr()}, {})
    assert good.failures == [] and bad.failures != []                     # two runs, two results
    assert {"cohort_fall", "cohort_rise"} <= set(good.frame["sign"])
    assert not hasattr(objectivity, "FAILURES") and not hasattr(objectivity, "TIMINGS")


def test_timings_name_each_step_and_the_frame_is_compute_objectivity():
    res = run_objectivity({"vpr": cohort_vpr()}, {})
    assert {"prepare", "inflated_mean", "journal_mismatch", "cohort", "combined"} <= set(res.timings)
    assert all(v >= 0 for v in res.timings.values())
    pd.testing.assert_frame_equal(res.frame, compute_objectivity({"vpr": cohort_vpr()}, {}))
    assert res.evidence is None
    with_evidence = run_objectivity({"vpr": cohort_vpr()}, {}, evidence=True)
    assert set(with_evidence.evidence) == {"cohort", "bunching_reference", "task_levels"}
