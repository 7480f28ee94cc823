"""The work's maximum from the mark scales where the task specification does not fit the export."""
import numpy as np
import pandas as pd

from msoko.ingest import _max_from_scales


def _frame(scores, max_score=np.nan, year=2020, grade=4, subject="Русский язык"):
    return pd.DataFrame({"year": year, "grade": grade, "subject": subject,
                         "primary_score": scores, "max_score": max_score})


def test_empty_maximum_taken_from_scale_upper_bound():
    scales = pd.DataFrame({"year": [2020], "grade": [4], "subject": ["Русский язык"],
                           "min3": [14.0], "min4": [24.0], "min5": [33.0], "max_score": [38.0]})
    warnings = []
    out = _max_from_scales(_frame([10.0, 38.0, np.nan]), scales, warnings)
    assert out.tolist() == [38.0, 38.0, 38.0]
    assert len(warnings) == 1 and "взят из шкалы" in warnings[0]


def test_maximum_below_an_observed_score_is_not_trusted():
    scales = pd.DataFrame({"year": [2020], "grade": [4], "subject": ["Русский язык"],
                           "min3": [14.0], "min4": [24.0], "min5": [33.0], "max_score": [30.0]})
    warnings = []
    out = _max_from_scales(_frame([10.0, 31.0]), scales, warnings)
    assert np.isnan(out).all()
    assert "не заполнен" in warnings[0]


def test_known_maximum_is_kept():
    scales = pd.DataFrame({"year": [2020], "grade": [4], "subject": ["Русский язык"],
                           "min3": [14.0], "min4": [24.0], "min5": [33.0], "max_score": [99.0]})
    out = _max_from_scales(_frame([10.0], max_score=40.0), scales, [])
    assert out.tolist() == [40.0]


def test_real_autumn_2020_grade4_russian_gets_its_maximum(real_data, tmp_path):
    from msoko.ingest import ingest

    ingest(raw_dir=real_data, processed_dir=tmp_path, jobs=2, progress=False)
    v = pd.read_parquet(tmp_path / "vpr.parquet")
    ru4 = v[(v.year == 2020) & (v.grade == 4) & (v.subject == "Русский язык") & ~v.absent]
    # the 2021 scale: grade-4 Russian «5» is 33–38, so the work's maximum is 38.
    assert (ru4.max_score == 38).all()
    assert ru4.primary_score.max() <= 38
