"""Report tests on a small fixed processed folder: the inputs (schools, ВПР, tasks, ГИА, МКДО, measures)
are written here, everything compute makes (indicators, objectivity, the management cycle) is made by the
real ``msoko.compute`` — the report is tested on the contract real runs take, with values worked out by
hand from the inputs."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko import report, stats
from msoko.compute import compute
from msoko.errors import MsokoError
from msoko.report.fmt import _plural

EVIL_NAME = "Школа <script>alert(1)</script> & «Ко»"
MUNI = "Демо-район"
SUBJECTS = ("Математика", "Русский язык")
MAX = {"Математика": 20, "Русский язык": 38}
BOUNDS = {"Математика": (6, 10, 15), "Русский язык": (14, 24, 33)}


def _mark(score: float, subject: str) -> int:
    b3, b4, b5 = BOUNDS[subject]
    return 5 if score >= b5 else 4 if score >= b4 else 3 if score >= b3 else 2


def build_synthetic(out: Path, *, evil: bool = False) -> Path:
    """Write schools, vpr, vpr_tasks, task_specs, indicators (+catalogue), objectivity, gia, mkdo,
    measures to ``out``: 6 schools, years 2021–2023, grades 4–5, maths and Russian."""
    rng = np.random.default_rng(3)
    out.mkdir(parents=True, exist_ok=True)
    schools = pd.DataFrame({
        "school_id": ["sch01", "sch02", "sch03", "sch04", "sch05", "sch06", "dou01", "dou02"],
        "name": ["СОШ № 1", "СОШ № 2", "Гимназия № 3", "СОШ № 4", "ООШ с. Малое", "СОШ № 6",
                 "Детский сад № 1", "Детский сад № 2"],
        "municipality": MUNI,
        "org_type": ["СОШ", "СОШ", "Гимназия", "СОШ", "ООШ", "СОШ", "ДОУ", "ДОУ"],
        "settlement_type": ["город", "город", "город", "город", "село", "город", "город", "город"],
        "settlement": "г. Демо",
        "students_total": pd.array([600, 550, 800, 480, 60, 500, 120, 90], dtype="Int32"),
        "is_preschool": [False] * 6 + [True] * 2,
    })
    if evil:
        schools.loc[0, "name"] = EVIL_NAME
    schools.to_parquet(out / "schools.parquet", index=False)

    size = {"sch01": 48, "sch02": 60, "sch03": 70, "sch04": 40, "sch05": 4, "sch06": 55}
    spec_rows, vpr_rows, task_rows = [], [], []
    ntask = {"Математика": 10, "Русский язык": 12}
    for grade in (4, 5):
        for subj in SUBJECTS:
            mx = [2] * ntask[subj]
            for t in range(ntask[subj]):
                spec_rows.append(dict(grade=grade, subject=subj, task=str(t + 1), skill=f"Умение {t + 1}",
                                      level="Б" if t < ntask[subj] - 3 else ("П" if t < ntask[subj] - 1 else "В"),
                                      max_score=float(mx[t]), kes="1.1", kt="1"))
    code = 0
    for year in (2021, 2022, 2023):
        for grade in (4, 5):
            for subj in SUBJECTS:
                nt = ntask[subj]
                for sid, n in size.items():
                    ability = {"sch03": 0.8, "sch05": -0.6}.get(sid, 0.0)
                    if (sid, year, grade, subj) == ("sch02", 2023, 5, "Математика"):
                        ability = -1.5  # planted weak spot
                    for _ in range(n):
                        code += 1
                        sc = f"S{code:06d}"
                        p = 1 / (1 + np.exp(-(ability + rng.normal(0, 1) + 0.3 - np.linspace(-1, 1.5, nt))))
                        tasks = rng.binomial(2, p).astype(float)
                        total = tasks.sum() * MAX[subj] / (2 * nt)
                        total = float(round(total))
                        if sid == "sch04" and year == 2023 and grade == 4 and subj == "Математика" and total in (4, 5):
                            total = 6.0  # bunching at the «3» boundary
                        mark = _mark(total, subj)
                        jm = int(np.clip(mark + rng.choice([-1, 0, 0, 1]), 2, 5))
                        vpr_rows.append(dict(year=year, grade=grade, subject=subj, school_id=sid, student_code=sc,
                                             journal_mark=jm, sex="м", **{"class": f"{grade}А"}, variant="1",
                                             absent=False, primary_score=total, max_score=float(MAX[subj]),
                                             mark=mark, source_file="x.xlsx", source_row=code))
                        for t in range(nt):
                            task_rows.append(dict(year=year, grade=grade, subject=subj, school_id=sid,
                                                  student_code=sc, task=str(t + 1),
                                                  score=None if tasks[t] == 0 and t == nt - 1 else tasks[t]))
                # an absent student
                code += 1
                vpr_rows.append(dict(year=year, grade=grade, subject=subj, school_id="sch01", student_code=f"S{code:06d}",
                                     journal_mark=3, sex="ж", **{"class": f"{grade}А"}, variant=None, absent=True,
                                     primary_score=None, max_score=float(MAX[subj]), mark=None, source_file="x.xlsx",
                                     source_row=code))
    vpr = pd.DataFrame(vpr_rows)
    for c, t in (("year", "int16"), ("grade", "int8"), ("journal_mark", "Int8"), ("mark", "Int8"), ("source_row", "int32")):
        vpr[c] = vpr[c].astype(t)
    vpr.to_parquet(out / "vpr.parquet", index=False)
    pd.DataFrame(task_rows).to_parquet(out / "vpr_tasks.parquet", index=False)
    spec = pd.DataFrame(spec_rows)
    spec["grade"] = spec["grade"].astype("int8")
    spec.to_parquet(out / "task_specs.parquet", index=False)

    # --- templates ---------------------------------------------------------------------------
    gia = []
    for sid in size:
        for i in range(12 if sid != "sch05" else 3):
            gia.append(dict(year=2023, exam="ОГЭ", school_id=sid, student_code=f"G{sid}{i}", subject="Математика",
                            primary_score=float(rng.integers(3, 25)), test_score=None, mark=None, min_threshold=8.0))
    pd.DataFrame(gia).to_parquet(out / "gia.parquet", index=False)
    areas = ["образовательная программа", "образовательные условия", "взаимодействие с родителями"]
    pd.DataFrame([dict(year=2023, dou_id=d, area=a, score=float(s)) for d, s0 in (("dou01", 1.5), ("dou02", 2.1))
                  for a, s in zip(areas, (s0, s0 + 0.3, s0 - 0.4))]).to_parquet(out / "mkdo.parquet", index=False)
    pd.DataFrame([dict(year=2022, school_id="sch02", system=1, indicator="vpr_fail_share",
                       measure="Методическое сопровождение <b>олимпиадной</b> подготовки",
                       decision="Приказ УО № 45", responsible="Методист ИМЦ", target_value=10.0)]) \
        .to_parquet(out / "measures.parquet", index=False)
    # everything a report reads beyond these inputs is made by the real compute
    result = compute(out)
    assert result.ok, result
    return out


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> report.ReportData:
    return report.load(build_synthetic(tmp_path_factory.mktemp("synth")))


def test_wilson_is_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in ((0, 10), (3, 17), (62, 62), (11, 62)):
        lo, hi = (float(x) for x in stats.wilson_ci(k, n))
        rlo, rhi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert lo == pytest.approx(rlo, abs=1e-9) and hi == pytest.approx(rhi, abs=1e-9)


def test_resolve_defaults(synth):
    assert report.resolve_year(synth, None) == 2023
    assert report.resolve_school(synth, None) == "sch01"  # first school by login, kindergartens excluded
    assert report.resolve_municipality(synth, None) == MUNI
    with pytest.raises(MsokoError):
        report.resolve_school(synth, "nope")


def test_similar_schools_same_type_and_settlement(synth):
    assert report.similar_schools(synth, "sch01") == ["sch02", "sch04", "sch06"]
    assert report.similar_schools(synth, "sch03") == []


def test_marks_distribution_by_hand(synth):
    got = report.marks_distribution(synth, "sch01", 2023, 4, "Математика")
    v = synth.vpr
    x = v[(v.year == 2023) & (v.grade == 4) & (v.subject == "Математика") & (v.school_id == "sch01")]
    want = x["mark"].astype(int).value_counts(normalize=True) * 100
    school = got[got.group == "Школа"].set_index("mark")["share"]
    for m in (2, 3, 4, 5):
        assert school[m] == pytest.approx(want.get(m, 0.0))
    assert school.sum() == pytest.approx(100)
    assert set(got.n[got.group == "Школа"]) == {48}  # absent student excluded
    # the school of 4 participants is never shown
    small = report.marks_distribution(synth, "sch05", 2023, 4, "Математика")
    assert "Школа" not in set(small.group)


def test_similar_pooled_not_averaged(synth):
    g = report.indicator_groups(synth, "sch01", 2023, "vpr_fail_share").set_index("group")
    ind = synth.indicators
    rows = ind[(ind.year == 2023) & (ind.indicator == "vpr_fail_share") & ind.grade.isna()
               & ind.school_id.isin(["sch02", "sch04", "sch06"])]
    assert g.loc["Похожие школы", "value"] == pytest.approx(100 * rows.numerator.sum() / rows.denominator.sum())
    assert g.loc["Похожие школы", "n"] == rows.n.sum()
    # suppressed group: value hidden
    g5 = report.indicator_groups(synth, "sch05", 2023, "vpr_fail_share", 4, "Математика").set_index("group")
    assert g5.loc["Школа", "suppressed"] and math.isnan(g5.loc["Школа", "value"])


def test_journal_comparison_by_hand(synth):
    got = report.journal_comparison(synth, "sch02", 2022, 5, "Русский язык")
    v = synth.vpr
    x = v[(v.year == 2022) & (v.grade == 5) & (v.subject == "Русский язык") & (v.school_id == "sch02")]
    d = x["mark"].astype(int) - x["journal_mark"].astype(int)
    s = got[got.group == "Школа"].set_index("category")["share"]
    assert s["Понизили"] == pytest.approx(100 * (d < 0).mean())
    assert s["Повысили"] == pytest.approx(100 * (d > 0).mean())


def test_task_completion_counts_not_done_as_zero(synth):
    got = report.task_completion(synth, "sch01", 2021, 4, "Математика")
    t = synth.vpr_tasks
    x = t[(t.year == 2021) & (t.grade == 4) & (t.subject == "Математика") & (t.school_id == "sch01") & (t.task == "10")]
    want = 100 * x["score"].fillna(0).sum() / (len(x) * 2)
    assert got[(got.group == "Школа") & (got.task == "10")]["value"].iloc[0] == pytest.approx(want)
    assert list(got[got.group == "Школа"]["task"]) == [str(i) for i in range(1, 11)]  # natural order
    lv = report.level_completion(synth, "sch01", 2021, 4, "Математика").set_index(["level", "group"])["value"]
    sch = got[got.group == "Школа"]
    assert lv[("Б", "Школа")] == pytest.approx(sch[sch.level == "Б"]["value"].mean())  # equal max scores


def test_mark_boundaries_from_the_export(synth):
    assert report.mark_boundaries(synth, 2023, 4, "Математика") == {3: 6.0, 4: 10.0, 5: 15.0}


def test_score_distribution_counts_the_raw_scores(synth):
    """The chart's shares (compute's vpr_score_counts) against the raw vpr rows counted here: school and
    municipality, every whole score from 0 to the maximum, suppressed when under 5."""
    v = pd.read_parquet(synth.processed_dir / "vpr.parquet")
    v = v[(v.year == 2023) & (v.grade == 4) & (v.subject == "Математика") & ~v.absent & v.primary_score.notna()]
    got = report.score_distribution(synth, "sch01", 2023, 4, "Математика")
    top = int(v.max_score.max())
    for group, rows in (("Школа", v[v.school_id == "sch01"]), ("Муниципалитет", v)):
        g = got[got.group == group].set_index("score")
        assert list(g.index) == list(range(top + 1))
        expected = rows.primary_score.round().astype(int).value_counts().reindex(range(top + 1), fill_value=0)
        assert np.allclose(g["share"], 100 * expected / len(rows)) and set(g["n"]) == {len(rows)}
    small = v.groupby("school_id").size()
    small = small[small < 5]
    for sid in small.index:
        assert "Школа" not in set(report.score_distribution(synth, sid, 2023, 4, "Математика")["group"])


def test_attention_zone_sentence_format(synth):
    """The planted weak spot (sch02, 5th-grade maths 2023: «2» far above the municipality) is a sentence
    with the school's value and interval and the municipal value, as compute wrote them."""
    s = report.attention_zones(synth, "sch02", 2023)
    ind = synth.indicators
    key = (ind.year == 2023) & (ind.indicator == "vpr_fail_share") & (ind.grade == 5) & (ind.subject == "Математика")
    r = ind[key & (ind.school_id == "sch02")].iloc[0]
    m = ind[key & (ind.school_id == MUNI)].iloc[0]
    assert r.ci_low > m.value  # planted: the whole interval above the municipality
    name = synth.catalogue.set_index("code").loc["vpr_fail_share", "name"]
    n = int(r.n)
    word = "надёжный" if n >= 50 else "ориентировочный"
    assert (f"{name} по математике в 5 классе ({report.fmt(r.value, 0)} %, 95 % ДИ {report.fmt(r.ci_low, 0)}–"
            f"{report.fmt(r.ci_high, 0)} %) выше, чем в муниципалитете ({report.fmt(m.value, 0)} %); "
            f"вывод {word}: выборка {n} {_plural(n, 'участник', 'участника', 'участников')}.") in s, s
    # an official sign compute raised is a sentence of its school
    o = synth.objectivity
    f = o[(o.year == 2023) & o.flagged.fillna(False) & o.sign.isin(report.OFFICIAL_SIGNS)].iloc[0]
    lines = report.attention_zones(synth, str(f.school_id), 2023)
    assert any(f"официальный признак ФИОКО «{report.sign_name(f.sign)}»" in x for x in lines), lines


def test_reliability_phrase():
    assert report.reliability_phrase(62) == "вывод надёжный: выборка 62 участника"
    assert report.reliability_phrase(21) == "вывод ориентировочный: выборка 21 участник"
    assert report.reliability_phrase(11) .endswith("выборка 11 участников")


def test_school_tables_sorted_by_name_not_value(synth):
    t = report.school_comparison_table(synth, MUNI, 2023, "vpr_fail_share", grade=4, subject="Математика")
    assert list(t["Школа"]) == sorted(t["Школа"])
    assert "sch05" in set(t["Логин"])
    assert t.set_index("Логин").loc["sch05", "Значение [95 % ДИ]"] == "скрыто (n < 5)"


def test_effectiveness_verdict(synth):
    """The measure of 2022 for sch02's «2» is judged in the 2023 report by the interval of the change."""
    e = report.effectiveness_table(synth, 2023, school_id="sch02")
    assert len(e) == 1
    ind = synth.indicators
    x = ind[(ind.school_id == "sch02") & (ind.indicator == "vpr_fail_share") & ind.grade.isna()].set_index("year")
    lo, hi = x.loc[2023, "change_ci_low"], x.loc[2023, "change_ci_high"]
    want = ("достоверное улучшение" if hi < 0 else "достоверное ухудшение" if lo > 0  # fewer «2» is better
            else "изменение не доказано")
    assert e["Вывод"].iloc[0] == want
    assert e["Было (2022)"].iloc[0] == f"{report.fmt(x.loc[2022, 'value'])} %"


def test_html_table_escapes(synth):
    h = report.html_table(pd.DataFrame({"Школа": [EVIL_NAME]}))
    assert "<script>" not in h and "&lt;script&gt;alert(1)&lt;/script&gt;" in h


def test_plan_of_work(synth):
    """The report's plan of work is compute's objectivity_plan.parquet, in its order (tier, then score)."""
    p = report.plan_of_work(synth, 2023)
    plan = pd.read_parquet(synth.processed_dir / "objectivity_plan.parquet")
    plan = plan[plan.year == 2023].sort_values(["tier", "score", "school_id"], ascending=[True, False, True])
    assert list(p["Логин"]) == list(plan.school_id.astype(str))
    assert list(p["Меры"]) == list(plan.measures)
    o = synth.objectivity
    idx = o[(o.sign == "objectivity_index")].sort_values("year")
    t = report.objectivity_index(synth)
    assert t["Показатель объективности"].tolist() == [report.fmt(v) for v in idx.value]
    # the official count of schools from compute's index row equals the schools with an official flagged sign
    off = o[o.sign.isin(["inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise"])
            & o.flagged.fillna(False).astype(bool)]
    assert t["Школ с хотя бы одним признаком"].tolist() == [
        report.fmt(off.loc[off.year == y, "school_id"].nunique()) for y in idx.year]
    # msoko's count of schools is the plan's (tiers 1–2 measures, tier 3 self-check), never the cells of `combined`
    from msoko.report.signs import PLAN_MEASURES, PLAN_WATCH
    allp = pd.read_parquet(synth.processed_dir / "objectivity_plan.parquet")
    schools = set(synth.schools.loc[~synth.schools.is_preschool, "school_id"])
    allp = allp[allp.school_id.isin(schools)]
    assert t[PLAN_MEASURES].tolist() == [report.fmt(int(((allp.year == y) & (allp.tier <= 2)).sum())) for y in idx.year]
    assert t[PLAN_WATCH].tolist() == [report.fmt(int(((allp.year == y) & (allp.tier == 3)).sum())) for y in idx.year]
    assert not any("совокупности" in c for c in t.columns)


def test_gia_table_from_compute_by_hand(synth):
    """ОГЭ maths of sch01: 12 participants, the share below the minimum (8 primary points) as compute
    counted it, worked out here from the input rows; the school of 3 participants is hidden."""
    t = report.gia_table(synth, "sch01", 2023).set_index(["Экзамен", "Предмет"])
    g = pd.read_parquet(synth.processed_dir / "gia.parquet")
    x = g[(g.school_id == "sch01") & (g.subject == "Математика")]
    share = 100 * (x.primary_score < x.min_threshold).mean()
    row = t.loc[("ОГЭ", "Математика")]
    assert row["Школа: участников"] == "12"
    assert row["Школа: ниже минимума"].startswith(f"{report.fmt(share, 0)} % [")
    small = report.gia_table(synth, "sch05", 2023).set_index(["Экзамен", "Предмет"]).loc[("ОГЭ", "Математика")]
    assert small["Школа: средний результат"] == "скрыто (n < 5)"


def test_not_computed_indicator_is_said_with_its_reason(synth):
    """An indicator compute could not compute (no teachers table here) is «не рассчитан: причина»
    where its system's table would be — with the reason compute wrote in the catalogue."""
    cat = pd.read_csv(synth.processed_dir / "indicator_catalogue.csv", encoding="utf-8-sig").set_index("code")
    assert not cat.loc["teachers_kpk3", "computed"]
    html = report.show_school_system(synth, "sch01", 2023, 6)._repr_html_()
    reason = str(cat.loc["teachers_kpk3", "note_ru"]).rstrip(".")
    assert f"«{cat.loc['teachers_kpk3', 'name_ru']}» не рассчитан: {reason}" in html


def test_participants_and_municipal_marks_match_the_raw_rows(synth):
    """The participants per work (school_vpr_counts) and the municipal shares of marks
    (municipal_vpr_marks) come from compute's tables; counted here from the raw rows."""
    from msoko.report.municipality import municipal_vpr_marks

    v = pd.read_parquet(synth.processed_dir / "vpr.parquet")
    v = v[(v.year == 2023) & ~v.absent]
    got = report.school_vpr_counts(synth, "sch01", 2023).set_index(["grade", "subject"])["n"]
    expected = v[v.school_id == "sch01"].groupby(["grade", "subject"]).size()
    assert got.to_dict() == {(int(g), s): int(n) for (g, s), n in expected.items()}
    muni = str(synth.schools.loc[synth.schools.school_id == "sch01", "municipality"].iloc[0])
    ids = set(synth.schools.loc[synth.schools.municipality == muni, "school_id"])
    marks = municipal_vpr_marks(synth, muni, 2023)
    w = v[v.school_id.isin(ids) & (v.grade == 4) & (v.subject == "Математика")].dropna(subset=["mark"])
    m = marks[marks.group == "4 кл., Математика"].set_index("mark")
    for mark in (2, 3, 4, 5):
        assert m.loc[mark, "share"] == pytest.approx(100 * (w["mark"] == mark).mean())
        assert m.loc[mark, "n"] == len(w)


def test_participants_are_whole_numbers_in_the_summary(synth):
    """«Участников 76» — a count, not «76,0» (indicators store n as float)."""
    t = report.vpr_summary_table(synth, "sch01", 2023, 4, "Математика")
    shown = [v for v in t["Участников"] if v != "—"]
    assert shown and all(re.fullmatch(r"\d[\d\u202f\u00a0 ]*", v) for v in shown), shown
