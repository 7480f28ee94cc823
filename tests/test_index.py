"""The runs' index names, beside each school report, its attention zones on the first screen and
its objectivity status, read from compute's outputs."""
import pandas as pd

from msoko.report.school import index_facts
from msoko.runner.index import render_index


def test_index_shows_concerns_and_objectivity_per_school(tmp_path):
    pd.DataFrame({"year": [2023, 2023, 2023, 2022], "school_id": ["A", "A", "A", "B"],
                  "top": [True, True, False, True]}).to_parquet(tmp_path / "priorities.parquet")
    pd.DataFrame({"year": [2023, 2023, 2023, 2023], "school_id": ["A", "A", "B", "B"],
                  "sign": ["inflated_mean", "combined", "bunching", "inflated_mean"],
                  "flagged": pd.array([True, True, True, False], dtype="boolean")}).to_parquet(tmp_path / "objectivity.parquet")
    facts = index_facts(tmp_path, 2023)
    assert facts["A"] == {"concerns": "2 из 3", "objectivity": "официальных признаков: 1; сводная оценка msoko"}
    assert "concerns" not in facts.get("B", {})            # B's priorities are of 2022
    assert "objectivity" not in facts.get("B", {})         # a msoko sign alone, not official, not combined
    manifest = {"run": {"year": 2023, "finished": "2024-01-01T00:00"}, "versions": {"msoko": "0"},
                "reports": [{"key": "s/A", "kind": "school", "title": "Отчёт школы A", "label": "A",
                             "status": "built", "html": "2023/schools/A.html"},
                            {"key": "s/B", "kind": "school", "title": "Отчёт школы B", "label": "B",
                             "status": "built", "html": "2023/schools/B.html"}]}
    page = render_index(manifest, [], facts)
    assert "<th>Зон внимания на первом экране</th>" in page
    assert "<td>2 из 3</td><td>официальных признаков: 1; сводная оценка msoko</td>" in page
    assert "<td>B</td><td>—</td><td>признаков нет</td>" in page
