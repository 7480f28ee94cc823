"""``marks_unrelated``: a school's journal–ВПР correlation far below what schools of the work show."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from msoko.objectivity.core import prepare, settings
from msoko.objectivity.correlation import unrelated_rows


def _school(rng, sid, n, rho, shuffle=0.0):
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho ** 2) * rng.normal(size=n)
    score = np.clip(np.round(10 + 4 * x), 0, 20)
    journal = np.digitize(y, [-1.0, 0.0, 1.0]) + 2           # marks 2..5
    if shuffle:
        k = rng.random(n) < shuffle
        journal[k] = rng.permutation(journal[k])
    return pd.DataFrame({"year": 2023, "grade": 6, "subject": "Математика", "school_id": sid, "student_code": range(n),
                         "journal_mark": journal, "primary_score": score, "max_score": 20.0, "absent": False,
                         "mark": 3})


def _rows(frames):
    prep = prepare(pd.concat(frames, ignore_index=True))
    return unrelated_rows(prep.students, prep.cells, settings(None)).set_index("school_id")


def test_value_is_spearman_and_p_follows_the_formula():
    rng = np.random.default_rng(3)
    frames = [_school(rng, f"s{i}", 40, 0.6) for i in range(30)]
    r = _rows(frames)
    one = frames[4]
    assert r.loc["s4", "value"] == pytest.approx(st.spearmanr(one["journal_mark"], one["primary_score"])[0])
    assert r.loc["s4", "n"] == 40 and r["threshold"].nunique() == 1


def test_null_is_uniform_when_every_school_marks_alike():
    rng = np.random.default_rng(11)
    frames = [_school(rng, f"s{i}", int(n), 0.6) for i, n in enumerate(rng.integers(15, 90, 400))]
    p = _rows(frames)["p_value"].dropna().to_numpy()
    assert len(p) == 400
    assert st.kstest(p, "uniform").pvalue > 0.01
    assert (p < 0.01).mean() < 0.03


def test_shuffled_marks_are_found_and_ordinary_ones_are_not():
    rng = np.random.default_rng(5)
    frames = [_school(rng, f"s{i}", 60, 0.6) for i in range(40)]
    frames.append(_school(rng, "shuffled", 60, 0.6, shuffle=0.9))
    r = _rows(frames)
    assert r.loc["shuffled", "flagged"] is True or bool(r.loc["shuffled", "flagged"])
    assert r.loc["shuffled", "p_value"] < 0.005
    assert r.drop(index="shuffled")["flagged"].fillna(False).sum() <= 1
    assert "почти не связаны" in r.loc["shuffled", "detail"]


def test_small_cells_and_few_schools_are_not_assessed():
    rng = np.random.default_rng(2)
    r = _rows([_school(rng, f"s{i}", 40, 0.6) for i in range(3)] + [_school(rng, "tiny", 8, 0.6)])
    assert r["flagged"].isna().all()
    assert "нужно не менее 10" in r.loc["tiny", "detail"]
    assert "слишком мало школ" in r.loc["s0", "detail"]
