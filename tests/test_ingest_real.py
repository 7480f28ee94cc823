"""Ingest of the real ВПР sample (../shared/data/vpr-altai). Expected values are computed
independently in the test, by reading the workbooks with openpyxl (pandas engine='openpyxl'),
never copied from msoko's own output."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msoko.ingest import ingest

pytestmark = pytest.mark.realdata

F2021 = "vpr_results/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx"
F2020 = "vpr_results/2020/4/Математика.xlsx"


@pytest.fixture(scope="module")
def processed(real_data, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("real_processed")
    res = ingest(real_data, out, jobs=2, progress=False)
    return out, res


def _read(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, engine="openpyxl", dtype=str)


def test_every_workbook_loads_and_balances(real_data, processed):
    out, res = processed
    rep = {f.file: f for f in res.files}
    workbooks = sorted(p.relative_to(real_data).as_posix() for p in (real_data / "vpr_results").rglob("*.xlsx"))
    assert len(workbooks) >= 70
    for wb in workbooks:
        assert rep[wb].status == "ok", (wb, rep[wb].message)
        assert rep[wb].kind in ("vpr2020", "vpr2021")
        assert rep[wb].rows_read == rep[wb].rows_written + rep[wb].rows_rejected, wb
    for f in res.files:
        assert f.balanced, f.file
    vpr = pd.read_parquet(out / "vpr.parquet")
    rej = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    # rejected rows are a small share (domain: ~0.1 % totals disagree)
    assert len(rej) < 0.005 * len(vpr)
    assert vpr.groupby("source_file").size().to_dict() == \
        {f: r.rows_written for f, r in rep.items() if r.kind in ("vpr2020", "vpr2021") and r.rows_written}


def test_rows_per_workbook_match_openpyxl(real_data, processed):
    out, res = processed
    rep = {f.file: f for f in res.files}
    for rel in (F2021, F2020):
        df = _read(real_data / rel).dropna(how="all")
        assert rep[rel].rows_read == len(df)


def test_2021_school_participants_and_student_total(real_data, processed):
    out, _ = processed
    df = _read(real_data / F2021)
    school = "sch223556"
    mine = df[df["логин школы"] == school]
    present = mine[mine["вариант"] != "отсутствовал"]
    vpr = pd.read_parquet(out / "vpr.parquet")
    rej = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    v = vpr[(vpr.source_file == F2021) & (vpr.school_id == school)]
    rejected_here = rej[(rej.file == F2021) & rej.row.isin((mine.index + 2).tolist())]
    assert len(v) + len(rejected_here) == len(mine)
    assert (~v.absent).sum() + len(rejected_here) == len(present)
    assert v.absent.sum() == (mine["вариант"] == "отсутствовал").sum()
    # a known student: the first data row (Excel row 2)
    first = df.iloc[0]
    row = vpr[(vpr.source_file == F2021) & (vpr.source_row == 2)].iloc[0]
    assert row.school_id == first["логин школы"] and row.student_code == first["код обучающегося"]
    assert row.primary_score == float(first["всего баллов"])
    assert row.journal_mark == int(first["отметка за предыдущую четверть/триместр"])
    # task scores of that student, as in the workbook
    tasks = pd.read_parquet(out / "vpr_tasks.parquet",
                            filters=[("year", "=", 2021), ("grade", "=", 4), ("subject", "=", "Математика"),
                                     ("school_id", "=", row.school_id), ("student_code", "=", row.student_code)])
    expect = {c.replace("балл за ", ""): float(first[c]) for c in df.columns if c.startswith("балл за ")}
    assert dict(zip(tasks.task, tasks.score)) == expect


def test_2020_school_participants_and_student_total(real_data, processed):
    out, _ = processed
    df = _read(real_data / F2020)
    school = "sch224283"
    mine = df[df["user"] == school]
    vpr = pd.read_parquet(out / "vpr.parquet")
    v = vpr[(vpr.source_file == F2020) & (vpr.school_id == school)]
    assert len(v) == len(mine)                       # no rejects in this file for this school
    assert (~v.absent).sum() == mine["sum"].notna().sum()
    code = "50003"
    src = mine[mine["code"].astype(float).astype(int).astype(str) == code].iloc[0]
    got = v[v.student_code == code].iloc[0]
    assert got.primary_score == float(src["sum"]) and got.grade == 4 and got.year == 2020
    assert got.sex == src["gender"].lower()


def test_registry_and_context(real_data, processed):
    out, _ = processed
    logins = _read(real_data / "logins.xlsx")
    ctx = _read(real_data / "Сбор контекстных данных об ОО и участниках ВПР 2021.xlsx")
    schools = pd.read_parquet(out / "schools.parquet").set_index("school_id")
    assert set(logins["логин"]) <= set(schools.index)
    for _, r in logins.sample(10, random_state=1).iterrows():
        assert schools.loc[r["логин"], "municipality"] == r["регион"]
    where = "Где расположена Ваша образовательная организация?"
    expect = {"2. Город": "город", "4. Населенный пункт сельского типа (село, хутор, деревня и пр.)": "село",
              "3. Населенный пункт городского типа (рабочий поселок, поселок городского типа и пр.)": "пгт"}
    for _, r in ctx.iterrows():
        assert schools.loc[r["логин"], "settlement_type"] == expect[r[where]]
    # org type from the name: a «Лицей» / «Гимназия» in the logins name
    for _, r in logins.iterrows():
        name = r["имя"].lower()
        if "лицей" in name:
            assert schools.loc[r["логин"], "org_type"] == "лицей"
        elif "гимназия" in name:
            assert schools.loc[r["логин"], "org_type"] == "гимназия"


def test_task_specs_max_scores(real_data, processed):
    out, _ = processed
    spec = _read(real_data / "task_specs/4/Математика/ALL.xlsx")
    per_task = spec.assign(t=spec["№"].astype(float).astype(int)).groupby("t")[
        "Максимальный балл за выполнение задания"].first().astype(float)
    specs = pd.read_parquet(out / "task_specs.parquet")
    s = specs[(specs.grade == 4) & (specs.subject == "Математика")]
    assert len(s) == len(per_task) == 15
    assert s.max_score.sum() == per_task.sum() == 20       # = top of the domain §5 scale for maths 4
    vpr = pd.read_parquet(out / "vpr.parquet", filters=[("source_file", "=", F2021)])
    assert (vpr.max_score == 20).all()


def test_no_change_rerun_is_fast(real_data, processed):
    out, _ = processed
    res = ingest(real_data, out, jobs=2, progress=False)
    assert res.unchanged and res.parsed == 0 and res.seconds < 3
