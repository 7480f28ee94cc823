"""Official objectivity signs on the real Altai sample: 2021 grades 4–5 (Russian, maths) and the
cohort pairs 2020 grade 4 → 2021 grade 5; every flagged case is recomputed from vpr with pandas."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytestmark = pytest.mark.realdata

SUBJ = ["Математика", "Русский язык"]


@pytest.fixture(scope="module")
def real_tables(real_data, tmp_path_factory):
    ingest_mod = pytest.importorskip("msoko.ingest")
    raw = tmp_path_factory.mktemp("real_raw_obj")
    # only what the official signs need: logins, context, specs 4–5, ВПР 2020/4 and 2021/4–5
    for name in ("logins.xlsx", "Сбор контекстных данных об ОО и участниках ВПР 2021.xlsx"):
        (raw / name).symlink_to(real_data / name)
    for grade in ("4", "5"):
        (raw / "task_specs").mkdir(exist_ok=True)
        (raw / "task_specs" / grade).symlink_to(real_data / "task_specs" / grade)
    for year, grade in (("2020", "4"), ("2021", "4"), ("2021", "5")):
        d = raw / "vpr_results" / year / grade
        d.mkdir(parents=True)
        for f in (real_data / "vpr_results" / year / grade).iterdir():
            if any(s in f.name for s in ("атемат", "усск", "Математика", "Русский")):
                (d / f.name).symlink_to(f)
    processed = tmp_path_factory.mktemp("real_processed_obj")
    ingest_mod.ingest(raw_dir=raw, processed_dir=processed, jobs=1, progress=False)
    tables = {}
    for name in ("vpr", "vpr_tasks", "task_specs", "schools"):
        p = processed / f"{name}.parquet"
        if p.exists():
            tables[name] = pd.read_parquet(p)
    from msoko.objectivity import compute_objectivity
    out = compute_objectivity(tables, {})
    return tables, out


def present(vpr):
    return vpr[~vpr["absent"].astype(bool) & vpr["primary_score"].notna()]


def test_official_signs_cover_2021_grades_4_5(real_tables):
    tables, out = real_tables
    v = present(tables["vpr"])
    cells = v[(v.year == 2021) & v.grade.isin([4, 5]) & v.subject.isin(SUBJ)][
        ["year", "grade", "subject", "school_id"]].drop_duplicates()
    assert len(cells) > 250
    for sign in ("inflated_mean", "journal_mismatch"):
        r = out[(out.sign == sign) & (out.year == 2021)]
        got = set(map(tuple, r[["grade", "subject", "school_id"]].astype(object).to_numpy().tolist()))
        want = set(map(tuple, cells[["grade", "subject", "school_id"]].astype(object).to_numpy().tolist()))
        assert got == want
    coh = out[out.sign.isin(["cohort_fall", "cohort_rise"])]
    assert set(coh["year"]) == {2021} and set(coh["grade"]) == {5}
    assert coh["flagged"].notna().sum() > 100
    idx = out[out.sign == "objectivity_index"].set_index("year")
    assert 2021 in idx.index and 0 <= idx.loc[2021, "value"] <= 100


def test_flagged_inflated_mean_traceable(real_tables):
    tables, out = real_tables
    v = present(tables["vpr"])
    r = out[(out.sign == "inflated_mean") & (out.year == 2021) & (out.procedure == "ВПР")]
    flagged = r[r.flagged.fillna(False)]
    assert len(flagged) > 0
    for row in flagged.itertuples():
        ref = v[(v.year == row.year) & (v.grade == row.grade) & (v.subject == row.subject)]["primary_score"]
        own = v[(v.year == row.year) & (v.grade == row.grade) & (v.subject == row.subject)
                & (v.school_id == row.school_id)]["primary_score"]
        lo = own.mean() - 1.96 * own.std(ddof=1) / math.sqrt(len(own))
        ref_hi = ref.mean() + 1.96 * ref.std(ddof=1) / math.sqrt(len(ref))
        assert row.n == len(own)
        assert row.value == pytest.approx(own.mean())
        assert row.ci_low == pytest.approx(lo)
        assert row.threshold == pytest.approx(ref_hi)
        assert lo > ref_hi
    # and the unflagged assessed ones are not above
    nf = r[r.flagged.eq(False)]
    assert (nf["ci_low"] <= nf["threshold"]).all()


def test_journal_mismatch_against_scipy(real_tables):
    tables, out = real_tables
    v = present(tables["vpr"])
    v = v[v.journal_mark.notna() & (v.year == 2021) & v.grade.isin([4, 5]) & v.subject.isin(SUBJ)]
    r = out[(out.sign == "journal_mismatch") & (out.year == 2021) & out.flagged.notna()]
    checked = pd.concat([r[r.flagged.astype(bool)], r.sample(min(25, len(r)), random_state=1)])
    for row in checked.itertuples():
        g = v[(v.grade == row.grade) & (v.subject == row.subject) & (v.school_id == row.school_id)]
        rho = stats.spearmanr(g["journal_mark"].astype(float), g["primary_score"]).statistic
        assert row.n == len(g)
        assert row.value == pytest.approx(rho, abs=1e-9)
        assert bool(row.flagged) == (rho < 0)


def test_cohort_2020_grade4_to_2021_grade5_traceable(real_tables):
    tables, out = real_tables
    v = present(tables["vpr"]).copy()
    mx = v.groupby(["year", "grade", "subject"])["max_score"].transform("max")
    mx = mx.fillna(v.groupby(["year", "grade", "subject"])["primary_score"].transform("max"))
    v["share"] = v["primary_score"] / v["max_score"].fillna(mx)
    for subject in SUBJ:
        s4 = v[(v.year == 2020) & (v.grade == 4) & (v.subject == subject)].groupby("school_id")["share"].mean()
        s5 = v[(v.year == 2021) & (v.grade == 5) & (v.subject == subject)].groupby("school_id")["share"].mean()
        k = (s4 / s5).dropna()
        k = k[np.isfinite(k)]
        q1, q3 = np.percentile(k.to_numpy(), [25, 75])
        hi, lo = q3 + 3 * (q3 - q1), q1 - 3 * (q3 - q1)
        fall = out[(out.sign == "cohort_fall") & (out.subject == subject)].set_index("school_id")
        rise = out[(out.sign == "cohort_rise") & (out.subject == subject)].set_index("school_id")
        assert set(fall.index) == set(k.index)
        for school, kk in k.items():
            assert fall.loc[school, "value"] == pytest.approx(kk)
            assert fall.loc[school, "threshold"] == pytest.approx(hi)
            assert rise.loc[school, "threshold"] == pytest.approx(lo)
            assert bool(fall.loc[school, "flagged"]) == (kk > hi)
            assert bool(rise.loc[school, "flagged"]) == (kk < lo)


def test_index_recomputed(real_tables):
    _, out = real_tables
    off = out[out.official & out.school_id.notna() & out.flagged.notna() & (out.year == 2021)]
    per = off.assign(f=off.flagged.astype(bool)).groupby("school_id")["f"].any()
    idx = out[(out.sign == "objectivity_index") & (out.year == 2021)].iloc[0]
    assert idx["value"] == pytest.approx(100 - 100 * per.mean())
    assert idx["n"] == len(per)


def test_msoko_flags_traceable(real_tables):
    """msoko's own flags on the real sample are recomputed from the processed tables with pandas."""
    tables, out = real_tables
    v = present(tables["vpr"])
    keys = ["year", "grade", "subject", "school_id"]
    # answer strings: identical task-score vectors ('X' = 0) within a class
    sim = out[(out.sign == "answer_similarity") & out.flagged.fillna(False)]
    t = tables["vpr_tasks"]
    for row in sim.sort_values("p_value").head(5).itertuples():
        tt = t[(t.year == row.year) & (t.grade == row.grade) & (t.subject == row.subject)
               & (t.school_id == row.school_id)]
        wide = tt.assign(score=tt.score.fillna(0)).pivot(index="student_code", columns="task", values="score")
        cls = v[(v.year == row.year) & (v.grade == row.grade) & (v.subject == row.subject)
                & (v.school_id == row.school_id)].set_index("student_code")["class"].fillna("")
        sizes = wide.assign(cls=cls.reindex(wide.index).fillna("")).groupby(
            ["cls"] + list(wide.columns), dropna=False).size()
        # works that repeat a string already in their class (template entry of a flagged school left out)
        assert 2 <= row.value <= (sizes - 1).sum()
    # marks: share of ВПР marks below / above / ≥ 2 above / ≥ 2 below the journal mark
    for sign, f in (("marks_lower", lambda d: d < 0), ("marks_higher", lambda d: d > 0),
                    ("marks_far", lambda d: d >= 2), ("marks_far_below", lambda d: d <= -2)):
        fl = out[(out.sign == sign) & out.flagged.fillna(False)].head(5)
        for row in fl.itertuples():
            g = v[(v.year == row.year) & (v.grade == row.grade) & (v.subject == row.subject)
                  & (v.school_id == row.school_id)].dropna(subset=["journal_mark", "mark"])
            d = g["mark"].astype(float) - g["journal_mark"].astype(float)
            assert row.n == len(g)
            assert row.value == pytest.approx(100 * f(d).mean())
            assert row.value >= row.threshold
    assert len(sim) + sum(out[(out.sign == s)].flagged.fillna(False).sum()
                          for s in ("marks_lower", "marks_higher", "marks_far", "marks_far_below")) > 0
