"""Output schemas: compute's real tables keep them; a broken frame is refused, naming table and column."""
from pathlib import Path

import pandas as pd
import pytest

from msoko import outputs
from msoko.outputs import OutputSchemaError, validate, violations

REPO = Path(__file__).resolve().parents[1]


def test_every_table_compute_writes_on_the_demo_is_declared_and_keeps_its_schema(demo_processed):
    declared = outputs.load_schemas()
    written = {p.stem for p in demo_processed.glob("*.parquet")}
    for name in declared:
        assert name in written, f"the demo's compute did not write {name}"
        df = pd.read_parquet(demo_processed / f"{name}.parquet")
        assert violations(name, df) == [], name


def _frame():
    return pd.DataFrame({"system": pd.array([1, 2], dtype="int64"), "name": ["a", "b"], "goal": ["g", "g"],
                         "tasks": ["t", "t"], "indicators": [3, 4], "not_computed": [0, 0], "findings": [1, 1],
                         "recommendations": [0, 2], "measures_assessed": [0, 0]})


def test_a_conforming_frame_passes_unchanged():
    df = _frame()
    assert validate("cycle_systems", df) is df


@pytest.mark.parametrize("break_it,words", [
    (lambda d: d.drop(columns="goal"), ["cycle_systems", "goal", "нет объявленных"]),
    (lambda d: d.assign(extra=1), ["cycle_systems", "extra", "не объявлены"]),
    (lambda d: d.assign(system=[1, 1]), ["cycle_systems", "ключ", "2 строках"]),
    (lambda d: d.assign(indicators=["3", "4"]), ["cycle_systems", "indicators", "тип"]),
    (lambda d: d.assign(system=pd.array([1, None], dtype="Int64")), ["system", "пропущенных"]),
])
def test_a_broken_frame_is_refused_naming_table_and_column(break_it, words):
    with pytest.raises(OutputSchemaError) as err:
        validate("cycle_systems", break_it(_frame()))
    message = str(err.value)
    assert message.startswith("внутренняя ошибка msoko")
    for w in words:
        assert w in message


def test_allowed_values_listed_and_from_a_mapping():
    ok = pd.DataFrame({"system": [1], "indicator": ["x"], "name_ru": ["x"], "year": [2023], "target": [1.0],
                       "direction": ["higher"], "unit": ["%"]})
    assert violations("cycle_targets", ok) == []
    bad = ok.assign(direction=["upwards"])
    assert any("direction" in v and "«upwards»" in v for v in violations("cycle_targets", bad))
    col = outputs.load_schemas()["objectivity"].column("sign")
    from msoko.objectivity import SIGNS
    assert col.allowed() == set(SIGNS)


def test_undeclared_table_is_a_violation():
    assert violations("no_such_table", pd.DataFrame()) != []


def test_committed_docs_are_generated_from_the_schema():
    assert (REPO / "docs" / "outputs.md").read_text(encoding="utf-8") == outputs.docs_markdown()


def test_compute_refuses_to_write_a_table_that_breaks_its_schema(demo_processed, tmp_path, monkeypatch):
    import shutil

    import msoko.compute as C

    work = tmp_path / "processed"
    shutil.copytree(demo_processed, work)
    before = pd.read_parquet(work / "indicators.parquet")
    real = C.compute_indicators

    def broken(*a, **k):
        res = real(*a, **k)
        res.indicators = res.indicators.assign(level="район")   # a value the schema does not allow
        return res

    monkeypatch.setattr(C, "compute_indicators", broken)
    with pytest.raises(OutputSchemaError) as err:
        C.compute(work, verbose=False)
    assert "«indicators»" in str(err.value) and "«level»" in str(err.value) and "«район»" in str(err.value)
    pd.testing.assert_frame_equal(pd.read_parquet(work / "indicators.parquet"), before)   # not overwritten
    log = pd.read_csv(work / "compute_log.csv")
    assert log["message_ru"].str.contains("схеме выходных таблиц").any()
