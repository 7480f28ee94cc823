"""Demo municipality: layout, determinism, validity of every template, internal consistency,
and that the planted truth is really in the data (checked by hand-made statistics / scipy)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from scipy import stats

from msoko.demo import generate
from msoko.demo.subjects import COMBOS, vpr_file_name
from msoko.demo.vpr import spec_rows, tasks_of

YEARS = (2021, 2023)
VPR_FIXED = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
             "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов"]
# the 2021 ВПР mark scales (ФИОКО), independent of msoko/resources/mark_scales.csv
SCALES = {(4, "Математика"): (6, 10, 15), (5, "Математика"): (7, 11, 15), (6, "Математика"): (6, 10, 14),
          (7, "Математика"): (7, 12, 16), (8, "Математика"): (8, 15, 21),
          (4, "Русский язык"): (14, 24, 33), (5, "Русский язык"): (18, 29, 39), (6, "Русский язык"): (25, 35, 45),
          (7, "Русский язык"): (22, 32, 42), (8, "Русский язык"): (26, 32, 45)}


def read_rows(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def frame(path: Path) -> pd.DataFrame:
    rows = read_rows(path)
    return pd.DataFrame(rows[1:], columns=rows[0])


def tables():
    from msoko.dictionary import load_dictionary
    return {t.id: t for t in load_dictionary().tables}


@pytest.fixture(scope="module")
def vpr(demo_raw) -> pd.DataFrame:
    """All ВПР rows of the session demo, long: one row per student work, scores as a list."""
    out = []
    for y in range(YEARS[0], YEARS[1] + 1):
        for g, s in COMBOS:
            p = demo_raw / "vpr" / str(y) / str(g) / vpr_file_name(g, s, y)
            if not p.exists():
                continue
            rows = read_rows(p)
            head = rows[0]
            tcols = [i for i, h in enumerate(head) if str(h).startswith("балл за")]
            for r in rows[1:]:
                absent = r[7] == "отсутствовал"
                out.append(dict(year=y, grade=g, subject=s, school_id=r[0], code=r[3], journal=r[4],
                                cls=r[6], variant=r[7], absent=absent,
                                total=None if absent else int(r[8]),
                                scores=tuple(r[i] for i in tcols)))
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def truth(demo_raw) -> pd.DataFrame:
    return pd.read_csv(demo_raw / "_truth" / "objectivity_cells.csv")


# ---------------------------------------------------------------- layout
def test_raw_layout_complete(demo_raw):
    assert (demo_raw / "logins.xlsx").is_file()
    for y in range(YEARS[0], YEARS[1] + 1):
        assert (demo_raw / f"context_{y}.xlsx").is_file()
        for g in (4, 5):
            for s in ("Русский язык", "Математика"):
                assert (demo_raw / "vpr" / str(y) / str(g) / vpr_file_name(g, s, y)).is_file()
    for g, s in COMBOS:
        assert (demo_raw / "task_specs" / str(g) / s / "ALL.xlsx").is_file()
    for t in tables():
        assert (demo_raw / "templates" / f"{t}.xlsx").is_file(), t
    for f in ("objectivity_cells.csv", "low_result_schools.csv", "weak_spots.csv", "schools.csv"):
        assert (demo_raw / "_truth" / f).is_file()


def test_vpr_header_is_the_2021_export_layout(demo_raw):
    import openpyxl
    p = demo_raw / "vpr" / "2021" / "4" / vpr_file_name(4, "Математика", 2021)
    ws = openpyxl.load_workbook(p, read_only=True).active
    head = next(ws.iter_rows(values_only=True))
    n = len(tasks_of(4, "Математика"))
    assert n == 15  # real 2021 export: «балл за 1» … «балл за 15»
    assert list(head[:9]) == VPR_FIXED
    assert list(head[9:9 + n]) == [f"балл за {i}" for i in range(1, n + 1)]
    assert list(head[9 + n:12 + n]) == ["Учебник", "Др.уч. автор", "Др.уч. название"]
    assert all(h is None for h in head[12 + n:])


def test_task_specs_match_the_real_counts_and_maxima():
    # sums of task maxima of the real ALL.xlsx = the 2021 scale maxima
    for (g, s), expected in {(4, "Математика"): 20, (4, "Русский язык"): 38, (5, "Математика"): 20,
                             (5, "Русский язык"): 45, (6, "Математика"): 16, (8, "Математика"): 28}.items():
        assert tasks_of(g, s).max_score.sum() == expected, (g, s)
    lv = spec_rows().drop_duplicates(["grade", "subject", "task"]).level
    assert set(lv) <= {"Б", "П", "В", ""}


def test_vpr_rows_are_valid(vpr, demo_raw):
    for (g, s), grp in vpr.groupby(["grade", "subject"]):
        mx = tasks_of(g, s).max_score.to_numpy()
        pres = grp[~grp.absent]
        sc = np.array([[0 if v == "X" else int(v) for v in row] for row in pres.scores])
        assert (sc >= 0).all() and (sc <= mx).all(), (g, s)
        assert (sc.sum(axis=1) == pres.total.to_numpy()).all(), (g, s)
        assert set(pres.journal) <= {"2", "3", "4", "5"}
        assert set(pres.variant) <= {"1", "2"}
        ab = grp[grp.absent]
        assert all(all(v in ("", None) for v in row) for row in ab.scores)
        assert set(ab.journal) <= {"", None}
    # absences exist but are a minority, like in the real exports (5–18 %)
    share = vpr.absent.mean()
    assert 0.04 < share < 0.2
    # student codes unique within year, grade, subject, school; same code across subjects
    assert not vpr.duplicated(["year", "grade", "subject", "school_id", "code"]).any()


def test_cohorts_move_up_a_grade(demo_raw):
    """The same school's grade-4 class of 2021 is (up to churn) its grade-5 class of 2022:
    same size ±10 %, and the school's rank on Russian is preserved (Spearman > 0.5)."""
    c = frame(demo_raw / "templates" / "contingent.xlsx")
    c4 = c[(c["Год"] == 2021) & (c["Класс"] == 4)].set_index("Логин ОО")["Обучающихся"]
    c5 = c[(c["Год"] == 2022) & (c["Класс"] == 5)].set_index("Логин ОО")["Обучающихся"]
    both = c4.index.intersection(c5.index)
    assert len(both) >= 8
    assert (abs(c5[both] - c4[both]) <= np.maximum(2, 0.1 * c4[both])).all()


def test_school_rank_persists_across_cohorts(vpr, truth):
    """A cohort keeps its standing as it moves up: the school's standardised mean in grade g, year y
    predicts the same school's in grade g+1, year y+1 (Russian and maths, grades 4–8, clean cells)."""
    cells = set(truth[["year", "school_id", "grade", "subject"]].itertuples(index=False, name=None))
    p = vpr[~vpr.absent & vpr.subject.isin(["Русский язык", "Математика"]) & vpr.grade.between(4, 8)]
    m = p.groupby(["year", "grade", "subject", "school_id"]).total.agg(["mean", "size"])
    m = m[m["size"] >= 8]["mean"]
    z = m.groupby(level=[0, 1, 2]).transform(lambda x: (x - x.mean()) / x.std())
    a, b = [], []
    for (y, g, subj, s), v in z.items():
        nxt = (y + 1, g + 1, subj, s)
        if nxt in z.index and (y, s, g, subj) not in cells and (y + 1, s, g + 1, subj) not in cells:
            a.append(v)
            b.append(z[nxt])
    assert len(a) >= 30
    assert stats.spearmanr(a, b).statistic > 0.5


# ---------------------------------------------------------------- determinism
def _hashes(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    kw = dict(n_schools=4, years=(2021, 2022), n_kindergartens=3)
    generate(tmp_path / "a", seed=5, **kw)
    generate(tmp_path / "b", seed=5, **kw)
    generate(tmp_path / "c", seed=6, **kw)
    a, b, c = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert a == b
    vpr_files = [k for k in a if k.startswith("vpr")]
    assert vpr_files and all(a[k] != c.get(k) for k in vpr_files)


# ---------------------------------------------------------------- templates
def test_every_template_passes_the_dictionary(demo_raw):
    """Headers exactly as in the dictionary; types, ranges, categories, required, keys, references."""
    reg = frame(demo_raw / "templates" / "registry.xlsx")
    known = set(reg["Логин ОО"])
    for tid, t in tables().items():
        rows = read_rows(demo_raw / "templates" / f"{tid}.xlsx")
        assert rows[0] == [c.header for c in t.columns], tid
        df = pd.DataFrame(rows[1:], columns=[c.id for c in t.columns])
        assert len(df) > 0, tid
        for c in t.columns:
            v = df[c.id]
            empty = v.isin(["", None])
            if c.required:
                assert not empty.any(), (tid, c.id)
            v = v[~empty]
            if c.type in ("int", "float"):
                x = v.astype(float)
                if c.type == "int":
                    assert (x == np.round(x)).all(), (tid, c.id)
                if c.min is not None:
                    assert (x >= c.min).all(), (tid, c.id)
                if c.max is not None:
                    assert (x <= c.max).all(), (tid, c.id)
            elif c.type == "category":
                assert set(v) <= set(c.values), (tid, c.id, set(v) - set(c.values))
            elif c.type == "bool":
                assert set(v) <= {"да", "нет"}, (tid, c.id)
            elif c.type == "date":
                pd.to_datetime(v, format="%d.%m.%Y")
        if t.key:
            assert not df.duplicated(t.key).any(), tid
        if t.school_ref:
            assert set(df[t.school_ref]) <= known, tid


def test_registry_has_schools_and_kindergartens(demo_raw):
    reg = frame(demo_raw / "templates" / "registry.xlsx")
    dou = reg[reg["Тип ОО"] == "ДОУ"]
    assert len(reg) - len(dou) == 14
    assert list(dou["Логин ОО"][:2]) == ["dou001", "dou002"]
    logins = frame(demo_raw / "logins.xlsx")
    assert list(logins.columns) == ["логин", "имя", "регион"]
    assert set(logins["логин"]) == set(reg.loc[reg["Тип ОО"] != "ДОУ", "Логин ОО"])


def test_systems_are_internally_consistent(demo_raw, vpr):
    T = {t: frame(demo_raw / "templates" / f"{t}.xlsx") for t in tables()}
    car = T["career"]
    assert (car.iloc[:, 4:7].sum(axis=1) <= car["Обучающихся"]).all()
    assert (car["В профильных классах"] <= car["Обучающихся"]).all()
    lv = T["leavers"]
    dest = lv[["В 10 класс", "В СПО", "В вуз", "Работают", "Не определились"]].sum(axis=1)
    assert (dest == lv["Выпускников"]).all()
    assert (lv["Без аттестата"] <= lv["Выпускников"]).all()
    assert (lv["По профилю обучения"] <= lv["В СПО"] + lv["В вуз"]).all()
    assert (lv.loc[lv["Класс"] == 9, "В вуз"] == 0).all()
    up = T["upbringing"]
    assert (up["Снято с учёта с исправлением"] <= up["На учёте ПДН/КДН"]).all()
    for c in ("В школьных объединениях", "Волонтёров", "В детских движениях", "На учёте ПДН/КДН"):
        assert (up[c] <= up["Обучающихся"]).all()
    sv = T["surveys"]
    assert (sv["Удовлетворены"] <= sv["Опрошено"]).all()
    te = T["teachers"]
    assert not ((te["ИОМ"] == "да") & (te["Диагностика дефицитов"] == "нет")).any()
    # preschool staff = the kindergarten's teacher rows
    ps = T["preschool"].set_index(["Год", "Код ДОУ"])
    cnt = te.groupby(["Год", "Логин ОО"]).size()
    top = te[te["Квалификационная категория"].isin(["высшая", "первая"])].groupby(["Год", "Логин ОО"]).size()
    for (y, d), r in ps.iterrows():
        assert r["Педагогов"] == cnt[(y, d)]
        assert r["С высшей и первой категорией"] == top.get((y, d), 0)
        assert r["С высшим педагогическим образованием"] <= r["Педагогов"]
    # contingent = ВПР roster: every grade-4 child of a school is a row of the grade-4 Russian file
    co = T["contingent"].set_index(["Год", "Логин ОО", "Класс"])["Обучающихся"]
    n4 = vpr[(vpr.grade == 4) & (vpr.subject == "Русский язык")].groupby(["year", "school_id"]).size()
    for (y, s), n in n4.items():
        assert co[(y, s, 4)] == n
    # upbringing students = the sum of the contingent
    tot = T["contingent"].groupby(["Год", "Логин ОО"])["Обучающихся"].sum()
    assert (up.set_index(["Год", "Логин ОО"])["Обучающихся"] == tot).all()


def test_gia_scales_and_marks(demo_raw):
    g = frame(demo_raw / "templates" / "gia.xlsx")
    oge = g[(g["Форма ГИА"] == "ОГЭ") & (g["Предмет"] == "Математика")]
    # ОГЭ 2021 maths: «3» from 8, «4» from 15, «5» from 22 primary points out of 31
    exp = np.where(oge["Первичный балл"] >= 22, 5, np.where(oge["Первичный балл"] >= 15, 4,
                   np.where(oge["Первичный балл"] >= 8, 3, 2)))
    assert (oge["Отметка"].to_numpy() == exp).all()
    assert (oge["Минимальный порог"] == 8).all() and oge["Первичный балл"].max() <= 31
    ege = g[(g["Форма ГИА"] == "ЕГЭ") & (g["Предмет"] == "Русский язык")]
    assert (ege["Минимальный порог"] == 24).all()
    assert ege["Тестовый балл"].notna().all() and ege["Отметка"].isin(["", None]).all()
    # monotone primary → test conversion
    e = ege.sort_values("Первичный балл")
    assert (np.diff(e["Тестовый балл"].astype(float)) >= 0).all()
    assert set(g["Форма ГИА"]) <= {"ОГЭ", "ЕГЭ", "ГВЭ"}


def test_gia_follows_the_same_abilities(demo_raw, vpr):
    """Schools better on ВПР grade 8 maths are better on ОГЭ maths a year later (Spearman > 0.4)."""
    g = frame(demo_raw / "templates" / "gia.xlsx")
    oge = g[(g["Форма ГИА"] == "ОГЭ") & (g["Предмет"] == "Математика") & (g["Год"] == 2022)]
    o = oge.groupby("Логин ОО")["Первичный балл"].mean()
    v = vpr[~vpr.absent & (vpr.grade == 8) & (vpr.subject == "Математика") & (vpr.year == 2021)]
    m = v.groupby("school_id").total.mean()
    both = o.index.intersection(m.index)
    assert len(both) >= 6
    assert stats.spearmanr(o[both], m[both]).statistic > 0.4


# ---------------------------------------------------------------- planted truth
def test_truth_covers_every_kind_and_strength(truth):
    assert len(truth) >= 30
    n = truth.groupby(["kind", "strength"]).size()
    assert len(n) == 15 and n.min() >= 2
    assert not truth.duplicated(["year", "school_id", "grade", "subject"]).any()
    assert set(truth.grade) <= {4, 5, 6, 7, 8} and set(truth.subject) <= {"Русский язык", "Математика"}
    cs = truth[truth.kind == "cohort_spike"]
    assert (cs.grade == 4).all() and (cs.year < YEARS[1]).all()
    cells = set(truth[["year", "school_id", "grade", "subject"]].itertuples(index=False, name=None))
    for r in cs.itertuples(index=False):
        assert (r.year + 1, r.school_id, 5, r.subject) not in cells   # the partner cell is clean


def _cell(vpr, r):
    return vpr[(vpr.year == r.year) & (vpr.school_id == r.school_id) & (vpr.grade == r.grade)
               & (vpr.subject == r.subject) & ~vpr.absent]


def test_inflated_journal_strong_reverses_the_correlation(vpr, truth):
    for r in truth[(truth.kind == "inflated_journal") & (truth.strength == "strong")].itertuples(index=False):
        c = _cell(vpr, r)
        rho = stats.spearmanr(c.journal.astype(int), c.total).statistic
        assert rho < 0, (r, rho)


def test_clean_cells_have_positive_journal_correlation(vpr, truth):
    cells = set(truth[["year", "school_id", "grade", "subject"]].itertuples(index=False, name=None))
    p = vpr[~vpr.absent & vpr.grade.isin([4, 5]) & vpr.subject.isin(["Русский язык", "Математика"])]
    rhos = []
    for key, c in p.groupby(["year", "school_id", "grade", "subject"]):
        if key in cells or len(c) < 15:
            continue
        rhos.append(stats.spearmanr(c.journal.astype(int), c.total).statistic)
    assert len(rhos) >= 20
    assert np.mean(np.array(rhos) < 0) < 0.05 and np.median(rhos) > 0.5


def test_answer_copying_plants_identical_strings(vpr, truth):
    for r in truth[truth.kind == "answer_copying"].itertuples(index=False):
        prm = json.loads(r.params)
        c = _cell(vpr, r)
        c = c[c.cls == prm["cls"]]
        top = c.scores.value_counts().iloc[0]
        assert top >= prm["n_copied"] + 1


def test_boundary_push_piles_scores_on_the_boundaries(vpr, truth):
    for r in truth[(truth.kind == "boundary_push") & (truth.strength == "strong")].itertuples(index=False):
        b = SCALES[(r.grade, r.subject)]
        c = _cell(vpr, r)
        at = c.total.isin(b).sum()
        below = c.total.isin([x - 1 for x in b]).sum()
        assert at > 3 * below, (r, at, below)


def test_inflated_scores_and_cohort_spike_raise_the_mean(vpr, truth):
    p = vpr[~vpr.absent]
    for r in truth[truth.kind.isin(["inflated_scores", "cohort_spike"]) & (truth.strength == "strong")].itertuples(index=False):
        allc = p[(p.year == r.year) & (p.grade == r.grade) & (p.subject == r.subject)]
        others = allc[allc.school_id != r.school_id].groupby("school_id").total.mean()
        assert _cell(vpr, r).total.mean() > others.quantile(0.75), r


def test_low_result_schools_are_low(demo_raw, vpr):
    low = pd.read_csv(demo_raw / "_truth" / "low_result_schools.csv")
    assert len(low) >= 1
    p = vpr[~vpr.absent & (vpr.grade == 4) & (vpr.subject == "Математика")]
    m = p.groupby("school_id").total.mean()
    assert m[m.index.isin(low.school_id)].mean() < m[~m.index.isin(low.school_id)].median()


def test_weak_spots_show_in_their_systems(demo_raw):
    """Each planted weak spot is visible in its year; where the measure worked, it is gone later."""
    w = pd.read_csv(demo_raw / "_truth" / "weak_spots.csv")
    assert {2, 3, 4, 5, 6, 7, 8} <= set(w.system)
    T = lambda t: frame(demo_raw / "templates" / f"{t}.xlsx")  # noqa: E731
    co = T("contingent")
    pupils = co[co["Класс"] >= 4].groupby(["Год", "Логин ОО"])["Обучающихся"].sum()
    ol = T("olympiad")
    part = ol[ol["Этап"] == "школьный"].groupby(["Год", "Логин ОО"])["Код участника"].nunique() / pupils
    up = T("upbringing").set_index(["Год", "Логин ОО"])
    pdn = up["На учёте ПДН/КДН"] / up["Обучающихся"]
    mk = T("mkdo").groupby(["Год", "Код ДОУ"])["Балл"].mean()
    car = T("career")
    cov = (car.iloc[:, 4:7].sum(axis=1).groupby([car["Год"], car["Логин ОО"]]).sum()
           / car.groupby(["Год", "Логин ОО"])["Обучающихся"].sum())
    metric = {  # indicator → (values by (year, org), is this value weak compared with the year's median?)
        "olymp_school_participation": (part, lambda v, med: v < 0.5 * med),
        "upbr_pdn_kdn_rate": (pdn, lambda v, med: v > 2 * med),
        "mkdo_total_score": (mk, lambda v, med: v < med - 0.5),
        "profmin_basic_share": (cov, lambda v, med: v < 0.2 < med),
    }
    years = range(YEARS[0], YEARS[1] + 1)
    checked = 0
    for hint, (values, is_weak) in metric.items():
        ww = w[w.indicator_hint == hint]
        assert len(ww), hint
        for s, grp in ww.groupby("school_id"):
            for y in years:
                med = values.xs(y, level=0).median()
                v = values.get((y, s), 0.0)
                if y in set(grp.year):
                    assert is_weak(v, med), (hint, s, y, v, med)
                    checked += 1
                else:  # the measure worked: the weak spot is gone (or at least halved)
                    v0 = values.get((grp.year.max(), s), 0.0)
                    gone = not is_weak(v, med) or abs(v - med) < 0.5 * abs(v0 - med)
                    assert grp.measure_effective.all() and gone, (hint, s, y, v, v0, med)
    assert checked >= len(metric)
    ms = T("measures")
    assert set(ms["Логин ОО"]) == set(w.loc[w.year == YEARS[0], "school_id"])
    assert (ms["Год"] == YEARS[0]).all()
    assert w.groupby("indicator_hint").measure_effective.any().drop("shnor_flag").all()


def test_never_writes_over_foreign_files(tmp_path):
    from msoko.errors import MsokoError

    (tmp_path / "mine.xlsx").write_bytes(b"user data")
    with pytest.raises(MsokoError, match="не пуста"):
        generate(tmp_path, seed=1, n_schools=3, years=(2021, 2021), n_kindergartens=3)
    assert (tmp_path / "mine.xlsx").read_bytes() == b"user data"
    # an empty folder with only hidden files, or a previous demo, is fine
    d = tmp_path / "demo"
    d.mkdir()
    (d / ".gitkeep").write_text("")
    generate(d, seed=1, n_schools=3, years=(2021, 2021), n_kindergartens=3)
    generate(d, seed=1, n_schools=3, years=(2021, 2021), n_kindergartens=3)
    assert (d / "_truth" / "objectivity_cells.csv").is_file()


def test_journal_cells_are_the_lenient_and_strict_schools(demo_raw, vpr):
    """journal_cells.csv lists every written ВПР cell of the schools whose latent journal leniency
    (schools.csv) is at least 1 SD (0,25) from 0 — kind by its sign, strength by 1 / 1,5 / 2 SD — and
    their journal marks really are shifted: the residual of the journal mark on the ВПР total (OLS per
    work) is higher in the lenient cells than in the strict ones (Welch t-test)."""
    jc = pd.read_csv(demo_raw / "_truth" / "journal_cells.csv")
    sch = pd.read_csv(demo_raw / "_truth" / "schools.csv").set_index("school_id")["journal_leniency"]
    z = sch / 0.25
    written = vpr.loc[~vpr.absent, ["year", "school_id", "grade", "subject"]].drop_duplicates()
    want = written[written.school_id.map(z).abs() >= 1].copy()
    want["kind"] = np.where(want.school_id.map(z) > 0, "lenient_journal", "strict_journal")
    a = want.school_id.map(z).abs()
    want["strength"] = np.where(a >= 2, "strong", np.where(a >= 1.5, "moderate", "weak"))
    key = ["year", "school_id", "grade", "subject"]
    got = jc.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert len(got) > 0 and set(got.kind) == {"lenient_journal", "strict_journal"}
    pd.testing.assert_frame_equal(got[key + ["kind", "strength"]], want[key + ["kind", "strength"]],
                                  check_dtype=False)
    assert np.allclose(got.leniency_sd, got.school_id.map(z), atol=5e-3)

    p = vpr[~vpr.absent].copy()
    p["journal"] = pd.to_numeric(p.journal)
    p["resid"] = np.nan
    for _, g in p.groupby(["year", "grade", "subject"]):
        b = np.polyfit(g.total.astype(float), g.journal.astype(float), 1)
        p.loc[g.index, "resid"] = g.journal - np.polyval(b, g.total.astype(float))
    p = p.merge(jc[key + ["kind"]], on=key, how="left")
    len_r, str_r = p.loc[p.kind == "lenient_journal", "resid"], p.loc[p.kind == "strict_journal", "resid"]
    ordinary = p.loc[p.kind.isna(), "resid"]
    assert len_r.mean() > ordinary.mean() > str_r.mean()
    assert stats.ttest_ind(len_r, str_r, equal_var=False, alternative="greater").pvalue < 1e-6
