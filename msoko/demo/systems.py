"""msoko templates for the other systems (ГИА, olympiad, additional education, career
guidance, principals, teachers, upbringing, preschool, surveys, measures), generated
from the same schools and children as the ВПР, so the systems agree with each other:
contingent = the rosters, ГИА from the same abilities, preschool staff = the ДОУ's teacher rows.

Every function returns a DataFrame whose columns are the dictionary ``id``s.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from msoko.demo.model import SUBJECT_KEY, Kindergarten, Population, School

# ---------------------------------------------------------------- ГИА 2021-like scales
# OGE: max primary, boundaries of «3», «4», «5», difficulty of the items (logit)
OGE = {
    "Русский язык": (33, 15, 22, 29, -0.9),
    "Математика": (31, 8, 15, 22, -0.1),
    "Обществознание": (37, 15, 25, 34, -0.5),
    "Информатика": (19, 5, 11, 17, -0.3),
    "Биология": (48, 13, 25, 37, 0.0),
    "География": (31, 12, 19, 26, -0.4),
    "Физика": (45, 11, 23, 35, 0.1),
    "Химия": (40, 10, 20, 31, -0.2),
    "История": (37, 11, 20, 29, 0.1),
    "Английский язык": (68, 29, 46, 58, -0.5),
}
OGE_ELECTIVES = ["Обществознание", "Информатика", "Биология", "География", "Физика", "Химия",
                 "История", "Английский язык"]
OGE_ELECTIVE_W = np.array([0.32, 0.14, 0.14, 0.17, 0.06, 0.07, 0.04, 0.06])
# EGE: max primary, minimum test score, item difficulty, (primary, test) key points of the scale
EGE = {
    "Русский язык": (54, 24, 0.0, [(0, 0), (10, 24), (24, 56), (42, 82), (54, 100)]),
    "Математика (профиль)": (32, 27, 1.4, [(0, 0), (6, 27), (12, 62), (20, 80), (32, 100)]),
    "Обществознание": (65, 42, 0.1, [(0, 0), (22, 42), (40, 62), (56, 82), (65, 100)]),
    "Биология": (59, 36, 0.2, [(0, 0), (16, 36), (36, 64), (50, 83), (59, 100)]),
    "Химия": (56, 36, 0.3, [(0, 0), (13, 36), (30, 60), (46, 84), (56, 100)]),
    "Физика": (53, 36, 0.3, [(0, 0), (11, 36), (26, 58), (42, 81), (53, 100)]),
    "История": (42, 32, 0.1, [(0, 0), (8, 32), (22, 58), (34, 82), (42, 100)]),
    "Информатика": (29, 40, 0.2, [(0, 0), (6, 40), (14, 64), (22, 84), (29, 100)]),
    "Английский язык": (82, 22, -0.3, [(0, 0), (18, 22), (50, 62), (72, 86), (82, 100)]),
    "Литература": (53, 32, 0.0, [(0, 0), (12, 32), (30, 60), (44, 82), (53, 100)]),
    "География": (43, 37, 0.0, [(0, 0), (13, 37), (26, 60), (36, 81), (43, 100)]),
}
EGE_BASE_MATH = (21, 7, 12, 17, -0.6)   # базовая математика: max, «3», «4», «5»
EGE_ELECTIVES = ["Обществознание", "Биология", "Химия", "Физика", "История", "Информатика",
                 "Английский язык", "Литература", "География"]
EGE_ELECTIVE_W = np.array([0.33, 0.15, 0.1, 0.12, 0.1, 0.09, 0.06, 0.03, 0.02])
GVE = {"Русский язык": (20, 5, 10, 15, -0.5), "Математика": (20, 5, 10, 15, -0.2)}

OLYMP_SUBJECTS = ["Математика", "Русский язык", "Литература", "Английский язык", "История",
                  "Обществознание", "Биология", "География", "Физика", "Химия", "Информатика",
                  "Экология", "Физическая культура", "Технология", "ОБЖ", "Право", "Экономика",
                  "Искусство (МХК)"]
ADDEDU_PROGRAMS = [
    ("Робототехника", "техническая"), ("3D-моделирование", "техническая"), ("Программирование", "техническая"),
    ("Юный исследователь", "естественнонаучная"), ("Экология родного края", "естественнонаучная"),
    ("Химия вокруг нас", "естественнонаучная"), ("Хор", "художественная"), ("Изостудия", "художественная"),
    ("Театральная студия", "художественная"), ("Хореография", "художественная"),
    ("Футбол", "физкультурно-спортивная"), ("Волейбол", "физкультурно-спортивная"),
    ("Лёгкая атлетика", "физкультурно-спортивная"), ("Шахматы", "физкультурно-спортивная"),
    ("Туризм", "туристско-краеведческая"), ("Школьный музей", "туристско-краеведческая"),
    ("Юнармия", "социально-гуманитарная"), ("Медиацентр", "социально-гуманитарная"),
    ("Волонтёры-медики", "социально-гуманитарная"), ("Английский клуб", "социально-гуманитарная"),
]
PROVIDERS = ["ЦДТ", "ДЮСШ", "Станция юных техников", "Детская школа искусств", "на базе школы"]
MKDO_AREAS = ["образовательные ориентиры", "образовательная программа",
              "содержание образовательной деятельности", "образовательный процесс",
              "образовательные условия", "условия для детей с ОВЗ", "взаимодействие с родителями",
              "здоровье, безопасность и повседневный уход", "управление и развитие"]
MKDO_AREA_SHIFT = np.array([0.1, 0.2, 0.0, -0.05, -0.15, -0.45, 0.15, 0.25, 0.05])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _mark(primary, b3, b4, b5):
    return np.where(primary >= b5, 5, np.where(primary >= b4, 4, np.where(primary >= b3, 3, 2)))


def _test_score(primary, points):
    p, t = zip(*points)
    return np.round(np.interp(primary, p, t)).astype(int)


# ---------------------------------------------------------------- contingent
def contingent(pop: Population, schools: list[School]) -> pd.DataFrame:
    m = pop.members.merge(pop.persons[["pid", "ovz"]], on="pid")
    g = m.groupby(["year", "school", "grade"]).agg(students=("pid", "size"), students_ovz=("ovz", "sum")).reset_index()
    g["school_id"] = [schools[i].school_id for i in g.school]
    return g[["year", "school_id", "grade", "students", "students_ovz"]].astype(
        {"year": int, "grade": int, "students": int, "students_ovz": int})


def school_totals(pop: Population) -> pd.DataFrame:
    return pop.members.groupby(["year", "school"]).size().rename("students").reset_index()


# ---------------------------------------------------------------- context (500+ risk factors)
def context(rng, pop: Population, schools: list[School], years) -> pd.DataFrame:
    tot = school_totals(pop).set_index(["year", "school"]).students
    th = pop.members.merge(pop.persons[["pid", "theta"]], on="pid")
    risk = th[th.theta < -1.2].groupby(["year", "school"]).size()
    rows = []
    for s in schools:
        for y in range(years[0], years[1] + 1):
            n = int(tot.get((y, s.idx), 0))
            c = s.ctx
            rows.append(dict(
                year=y, school_id=s.school_id,
                equipment_index=round(float(np.clip(68 + 9 * c + rng.normal(0, 7) + 1.5 * (y - years[0]), 15, 100)), 1),
                teacher_vacancies=int(rng.poisson(max(0.1, (0.6 - 0.5 * c) * (1 + n / 600)))),
                students_risk_failure=int(min(n, risk.get((y, s.idx), 0))),
                families_at_risk=int(rng.binomial(n, float(np.clip(0.03 * np.exp(-0.6 * c), 0, 0.3)))),
                parent_involvement=round(float(np.clip(58 + 10 * c + rng.normal(0, 7), 5, 100)), 1),
                learning_motivation=round(float(np.clip(52 + 12 * s.effect + rng.normal(0, 6), 5, 100)), 1),
                school_climate=round(float(np.clip(68 + 5 * c + rng.normal(0, 7), 5, 100)), 1),
                teacher_competence=round(float(np.clip(60 + 8 * c + 6 * s.effect + rng.normal(0, 7), 5, 100)), 1),
            ))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- ГИА
def gia(rng, pop: Population, schools: list[School], years) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ГИА rows and, per (year, school, grade), the number of graduates without an аттестат."""
    P = pop.persons
    out = []
    no_att = []
    for (y, g), mem in pop.members[pop.members.grade.isin([9, 11])].groupby(["year", "grade"], sort=True):
        pid = mem.pid.to_numpy()
        sc = mem.school.to_numpy()
        corr = np.array([schools[i].org_type == "коррекционная школа" for i in sc])
        code = np.array([f"{p:07d}" for p in pid], dtype=object)
        sid = np.array([schools[i].school_id for i in sc], dtype=object)
        fail = np.zeros(len(pid), bool)

        def add(exam, subj, mask, primary, test, mark, thr):
            k = mask.sum()
            if not k:
                return
            out.append(pd.DataFrame({
                "year": y, "exam": exam, "school_id": sid[mask], "student_code": code[mask], "subject": subj,
                "primary_score": primary[mask].astype(float),
                "test_score": (test[mask].astype(float) if test is not None else np.full(k, np.nan)),
                "mark": (mark[mask].astype(float) if mark is not None else np.full(k, np.nan)),
                "min_threshold": float(thr)}))

        def ability(subj):
            return P[SUBJECT_KEY.get(subj, "rus")].to_numpy()[pid] + rng.normal(0, 0.35, len(pid))

        if g == 9:
            for subj in ("Русский язык", "Математика"):
                th = ability(subj)
                mx, b3, b4, b5, diff = OGE[subj]
                prim = rng.binomial(mx, _sigmoid(1.15 * (th - diff)))
                mk = _mark(prim, b3, b4, b5)
                add("ОГЭ", subj, ~corr, prim, None, mk, b3)
                gm, g3, g4, g5, gd = GVE[subj]
                gp = rng.binomial(gm, _sigmoid(1.0 * (th + 1.2 - gd)))
                gmk = _mark(gp, g3, g4, g5)
                add("ГВЭ", subj, corr, gp, None, gmk, g3)
                fail |= np.where(corr, gmk == 2, mk == 2)
            if y >= 2022:
                elect = np.array([rng.choice(len(OGE_ELECTIVES), 2, replace=False, p=OGE_ELECTIVE_W)
                                  for _ in range(len(pid))]) if len(pid) else np.zeros((0, 2), int)
                for e in range(len(OGE_ELECTIVES)):
                    subj = OGE_ELECTIVES[e]
                    mask = ~corr & (elect == e).any(1)
                    th = ability(subj)
                    mx, b3, b4, b5, diff = OGE[subj]
                    prim = rng.binomial(mx, _sigmoid(1.1 * (th - diff)))
                    add("ОГЭ", subj, mask, prim, None, _mark(prim, b3, b4, b5), b3)
            # retakes in September: about 60 % of those who failed pass
            fail &= rng.random(len(pid)) < 0.4
        else:
            th = ability("Русский язык")
            mx, tmin, diff, pts = EGE["Русский язык"]
            prim = rng.binomial(mx, _sigmoid(1.1 * (th - diff)))
            ts = _test_score(prim, pts)
            add("ЕГЭ", "Русский язык", np.ones(len(pid), bool), prim, ts, None, tmin)
            fail |= ts < tmin
            thm = ability("Математика")
            profile = _sigmoid(1.5 * (thm - 0.1)) > rng.random(len(pid))
            mx, tmin, diff, pts = EGE["Математика (профиль)"]
            prim = rng.binomial(mx, _sigmoid(1.2 * (thm - diff)))
            ts = _test_score(prim, pts)
            add("ЕГЭ", "Математика (профиль)", profile, prim, ts, None, tmin)
            if y == 2021:
                # 2021: no ЕГЭ in basic maths — those not going to a university wrote the ГВЭ
                base = ~profile
                bm, b3, b4, b5, bd = GVE["Математика"]
                bp = rng.binomial(bm, _sigmoid(1.0 * (thm + 1.2 - bd)))
                bmk = _mark(bp, b3, b4, b5)
                add("ГВЭ", "Математика", base, bp, None, bmk, b3)
            else:
                base = ~profile | (rng.random(len(pid)) < 0.2)
                bm, b3, b4, b5, bd = EGE_BASE_MATH
                bp = rng.binomial(bm, _sigmoid(1.1 * (thm - bd)))
                bmk = _mark(bp, b3, b4, b5)
                add("ЕГЭ", "Математика (база)", base, bp, None, bmk, b3)
            fail |= np.where(base, bmk == 2, profile & (ts < tmin))
            n_el = rng.choice([0, 1, 2, 3], size=len(pid), p=[0.1, 0.35, 0.4, 0.15])
            picks = [rng.choice(len(EGE_ELECTIVES), k, replace=False, p=EGE_ELECTIVE_W) for k in n_el]
            for e, subj in enumerate(EGE_ELECTIVES):
                mask = np.array([e in pk for pk in picks], dtype=bool)
                th = ability(subj)
                mx, tmin, diff, pts = EGE[subj]
                prim = rng.binomial(mx, _sigmoid(1.1 * (th - diff)))
                add("ЕГЭ", subj, mask, prim, _test_score(prim, pts), None, tmin)
            fail &= rng.random(len(pid)) < 0.5
        na = pd.DataFrame({"school": sc, "fail": fail}).groupby("school").fail.sum()
        for s_idx, v in na.items():
            no_att.append(dict(year=y, school=int(s_idx), grade=g, no_attestat=int(v)))
    df = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return df, pd.DataFrame(no_att)


# ---------------------------------------------------------------- olympiad
def weak(spots: dict, key, year: int) -> bool:
    """Is ``key`` a planted weak spot in ``year``? ``spots``: key → last weak year."""
    return key in spots and year <= spots[key]


def olympiad(rng, pop: Population, schools: list[School], years, low_olymp: dict) -> pd.DataFrame:
    P = pop.persons
    mem = pop.members[pop.members.grade >= 4]
    out = []
    rate_s = np.array([np.clip(0.38 + 0.08 * s.ctx + rng.normal(0, 0.08), 0.12, 0.75) for s in schools])
    for y, ym in mem.groupby("year", sort=True):
        rate = rate_s.copy()
        for i in low_olymp:
            if weak(low_olymp, i, y):
                rate[i] = 0.04
        pid = ym.pid.to_numpy()
        sc = ym.school.to_numpy()
        g = ym.grade.to_numpy()
        theta = P.theta.to_numpy()[pid]
        part = rng.random(len(pid)) < rate[sc] * np.exp(0.25 * (theta - theta.mean()))
        n_sub = rng.choice([1, 2, 3, 4], size=len(pid), p=[0.45, 0.3, 0.17, 0.08])
        idx = np.flatnonzero(part)
        if not len(idx):
            continue
        # distinct subjects per child: the first n_sub of a random order of the subjects
        order = np.argsort(rng.random((len(idx), len(OLYMP_SUBJECTS))), axis=1)
        take = np.arange(len(OLYMP_SUBJECTS))[None, :] < n_sub[idx][:, None]
        ii = np.repeat(idx, take.sum(1))
        rows_s = order[take]
        d = pd.DataFrame({"i": ii, "subj": rows_s, "school": sc[ii], "grade": g[ii],
                          "score": theta[ii] + rng.normal(0, 0.6, len(ii))})
        # school stage: the best of a school, subject and grade win, the next ~25 % are prize-winners
        d["rank"] = d.groupby(["school", "subj", "grade"]).score.rank(ascending=False, method="first")
        d["n"] = d.groupby(["school", "subj", "grade"]).score.transform("size")
        d["status"] = np.where(d["rank"] == 1, "победитель",
                               np.where(d["rank"] <= np.maximum(1, np.floor(d.n * 0.3)), "призёр", "участник"))
        d.loc[(d["rank"] == 1) & (d.n < 3) & (d.score < 0.5), "status"] = "участник"
        d["stage"] = "школьный"
        stages = [d]
        # municipal stage: grades 7–11, school-stage awardees above a municipal cut
        m = d[(d.grade >= 7) & (d.status != "участник") & (d.score > 0.6)].copy()
        m["score"] = m.score + rng.normal(0, 0.5, len(m))
        m["rank"] = m.groupby(["subj", "grade"]).score.rank(ascending=False, method="first")
        m["n"] = m.groupby(["subj", "grade"]).score.transform("size")
        m["status"] = np.where(m["rank"] == 1, "победитель",
                               np.where(m["rank"] <= np.maximum(1, np.floor(m.n * 0.3)), "призёр", "участник"))
        m["stage"] = "муниципальный"
        stages.append(m)
        r = m[(m.grade >= 9) & (m.status != "участник") & (m.score > 1.6)].copy()
        r["score"] = r.score + rng.normal(0, 0.5, len(r))
        r["status"] = np.where(r.score > 2.9, "победитель", np.where(r.score > 2.3, "призёр", "участник"))
        r["stage"] = "региональный"
        stages.append(r)
        f = r[(r.status != "участник") & (r.score > 2.6)].copy()
        f["score"] = f.score + rng.normal(0, 0.5, len(f))
        f["status"] = np.where(f.score > 3.8, "призёр", "участник")
        f["stage"] = "заключительный"
        stages.append(f)
        allst = pd.concat(stages, ignore_index=True)
        out.append(pd.DataFrame({
            "year": int(y), "stage": allst.stage.to_numpy(),
            "school_id": [schools[k].school_id for k in allst.school],
            "student_code": [f"o-{p:07d}" for p in pid[allst.i]],
            "grade": allst.grade.astype(int).to_numpy(),
            "subject": [OLYMP_SUBJECTS[k] for k in allst.subj], "status": allst.status.to_numpy()}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------- additional education
def addedu(rng, pop: Population, schools: list[School], years) -> pd.DataFrame:
    P = pop.persons
    rate_s = np.array([np.clip(0.68 + 0.07 * s.ctx + rng.normal(0, 0.07), 0.3, 0.95) for s in schools])
    prog_dir = dict(ADDEDU_PROGRAMS)
    names = [p for p, _ in ADDEDU_PROGRAMS]
    out = []
    for y, ym in pop.members.groupby("year", sort=True):
        pid = ym.pid.to_numpy()
        sc = ym.school.to_numpy()
        g = ym.grade.to_numpy()
        enrolled = rng.random(len(pid)) < rate_s[sc] * np.where(g >= 10, 0.75, 1.0)
        n_prog = rng.choice([1, 2, 3], size=len(pid), p=[0.55, 0.33, 0.12])
        idx = np.flatnonzero(enrolled)
        reps = n_prog[idx]
        who = np.repeat(idx, reps)
        # programmes distinct per child: start + 0, 7, 14 (mod 20)
        start = rng.integers(0, len(names), len(idx))
        k_in = np.concatenate([np.arange(r) for r in reps]) if len(reps) else np.zeros(0, int)
        prog = (np.repeat(start, reps) + 7 * k_in) % len(names)
        prov = rng.integers(0, len(PROVIDERS), len(who))
        out.append(pd.DataFrame({
            "year": int(y), "school_id": [schools[k].school_id for k in sc[who]],
            "child_code": [f"d-{p:07d}" for p in pid[who]],
            "age": np.clip(g[who] + 6, 5, 18).astype(int),
            "direction": [prog_dir[names[k]] for k in prog], "program": [names[k] for k in prog],
            "provider": [PROVIDERS[k] for k in prov]}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------- career guidance, leavers
def career(rng, cont: pd.DataFrame, schools: list[School], low_profmin: dict) -> pd.DataFrame:
    by_id = {s.school_id: s for s in schools}
    c = cont[cont.grade >= 6].copy()
    rows = []
    for r in c.itertuples(index=False):
        s = by_id[r.school_id]
        n = int(r.students)
        cover = 0.05 if weak(low_profmin, s.idx, r.year) else float(np.clip(rng.normal(0.82, 0.08), 0.4, 1.0))
        n_cov = int(rng.binomial(n, cover))
        adv = int(rng.binomial(n_cov, 0.1))
        main = int(rng.binomial(n_cov - adv, 0.3))
        basic = n_cov - adv - main
        prof = 0
        if r.grade >= 10:
            share = {"гимназия": 0.95, "лицей": 0.95, "СОШ с УИОП": 0.8, "КШИ": 0.6}.get(s.org_type, 0.35)
            prof = int(rng.binomial(n, share))
        elif r.grade >= 8 and s.org_type in ("гимназия", "лицей", "СОШ с УИОП"):
            prof = int(rng.binomial(n, 0.4))
        rows.append(dict(year=int(r.year), school_id=r.school_id, grade=int(r.grade), students=n,
                         profmin_basic=basic, profmin_main=main, profmin_advanced=adv, in_profile_classes=prof))
    return pd.DataFrame(rows)


def leavers(rng, pop: Population, schools: list[School], years, no_att: pd.DataFrame) -> pd.DataFrame:
    mem = pop.members
    na = no_att.set_index(["year", "school", "grade"]).no_attestat if len(no_att) else pd.Series(dtype=int)
    nxt = mem[mem.grade == 10].groupby(["year", "school"]).pid.apply(set)
    rows = []
    for (y, sc, g), grp in mem[mem.grade.isin([9, 11])].groupby(["year", "school", "grade"], sort=True):
        s = schools[sc]
        n = len(grp)
        noa = int(min(n, na.get((y, sc, g), 0)))
        ok = n - noa
        if g == 9:
            if (y + 1, sc) in nxt.index:
                to10 = len(set(grp.pid) & nxt[(y + 1, sc)])
                to10 = int(min(ok, to10 + rng.binomial(max(ok - to10, 0), 0.05)))
            else:
                share = 0.35 if s.org_type in ("ООШ", "коррекционная школа") else 0.52
                to10 = int(rng.binomial(ok, share))
            spo = int(rng.binomial(ok - to10, 0.93))
            vuz = 0
        else:
            to10 = 0
            vuz = int(rng.binomial(ok, float(np.clip(0.55 + 0.1 * s.effect, 0.2, 0.95))))
            spo = int(rng.binomial(ok - vuz, 0.75))
        rest = n - to10 - spo - vuz
        work = int(rng.binomial(rest, 0.35))
        not_placed = rest - work
        match = int(rng.binomial(spo + vuz, 0.62))
        rows.append(dict(year=int(y), school_id=s.school_id, grade=int(g), graduates=n, no_attestat=noa,
                         to_grade10=to10, to_spo=spo, to_vuz=vuz, to_work=work, not_placed=not_placed,
                         profile_match=match))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- principals, teachers
def principals(rng, orgs: list[tuple[str, float]], years, no_training: dict) -> pd.DataFrame:
    rows = []
    for k, (oid, ctx) in enumerate(orgs):
        code = f"r-{k + 1:04d}"
        appointed = int(years[0] - rng.integers(0, 15))
        trained = None if oid in no_training else int(min(years[0], appointed + rng.integers(0, 4)))
        reserve = int(rng.integers(0, 3))
        base = float(np.clip(84 + 4 * ctx + rng.normal(0, 4), 55, 99))
        for y in range(years[0], years[1] + 1):
            w = weak(no_training, oid, y)
            if oid in no_training and not w and trained is None:
                trained = y                      # the measure worked: trained this year
            if y > years[0] and rng.random() < 0.07 and oid not in no_training:
                code = f"r-{k + 1:04d}-{y}"
                appointed = y
                trained = y if rng.random() < 0.5 else None
            elif trained is not None and y - trained >= 3 and rng.random() < 0.5:
                trained = y
            rows.append(dict(year=y, school_id=oid, principal_code=code, appointed_year=appointed,
                             mgmt_training_year=None if w else trained, reserve_size=0 if w else reserve,
                             nokuod_score=round(float(np.clip(base - (12 if w else 0) + rng.normal(0, 1.5), 0, 100)), 1)))
    return pd.DataFrame(rows)


def teachers(rng, staff: dict[str, int], years, low_kpk: dict) -> pd.DataFrame:
    """One row per teacher and year. ``staff``: organisation id → number of teachers."""
    rows = []
    tid = 0
    for oid, n in staff.items():
        roster = []
        for _ in range(n):
            tid += 1
            roster.append(_new_teacher(rng, tid, years[0]))
        for y in range(years[0], years[1] + 1):
            if y > years[0]:
                for j in range(len(roster)):
                    if rng.random() < 0.06:
                        tid += 1
                        roster[j] = _new_teacher(rng, tid, y, young=True)
            for t in roster:
                w = weak(low_kpk, oid, y)
                if y > years[0] and rng.random() < (0.12 if w else 0.4):
                    t["kpk"] = dt.date(y - 1, 10, 1) + dt.timedelta(days=int(rng.integers(0, 240)))
                if rng.random() < 0.05 and t["category"] in ("без категории", "соответствие"):
                    t["category"] = "первая"
                diag = bool(rng.random() < 0.42)
                if oid in low_kpk and not w and y > years[0] and t["kpk"].year < y - 1:
                    t["kpk"] = dt.date(y - 1, 10, 1) + dt.timedelta(days=int(rng.integers(0, 240)))  # КПК plan done
                kpk = t["kpk"] if (not w or rng.random() < 0.5) else None
                if kpk is not None and kpk.year > y:
                    kpk = None
                rows.append(dict(year=y, school_id=oid, teacher_code=t["code"], birth_year=t["birth"],
                                 category=t["category"],
                                 kpk_date=kpk.strftime("%d.%m.%Y") if kpk is not None else None,
                                 deficit_diagnostics="да" if diag else "нет",
                                 individual_route="да" if diag and rng.random() < 0.6 else "нет",
                                 prof_contest="да" if rng.random() < 0.08 else "нет",
                                 _higher_ed=t["higher_ed"]))
    return pd.DataFrame(rows)


def _new_teacher(rng, tid: int, year: int, young: bool = False) -> dict:
    age = int(rng.integers(22, 30)) if young else int(np.clip(rng.normal(47, 11), 21, 72))
    cat = ("без категории" if age < 27 else
           str(rng.choice(["высшая", "первая", "соответствие", "без категории"], p=[0.3, 0.36, 0.24, 0.10])))
    kpk = dt.date(year - int(rng.integers(1, 5)), 10, 1) + dt.timedelta(days=int(rng.integers(0, 240)))
    return {"code": f"t-{tid:06d}", "birth": year - age - 1, "category": cat, "kpk": kpk,
            "higher_ed": bool(rng.random() < 0.75)}


# ---------------------------------------------------------------- upbringing
def upbringing(rng, pop: Population, schools: list[School], high_pdn: dict) -> pd.DataFrame:
    tot = school_totals(pop)
    rows = []
    for r in tot.itertuples(index=False):
        s = schools[r.school]
        n = int(r.students)
        mult = 5.0 if weak(high_pdn, s.idx, int(r.year)) else 1.0
        reg = int(rng.poisson(n * 0.006 * np.exp(-0.5 * s.ctx) * mult))
        reg = min(reg, n)
        rows.append(dict(
            year=int(r.year), school_id=s.school_id, students=n,
            in_clubs=int(rng.binomial(n, float(np.clip(0.55 + 0.08 * s.ctx, 0.1, 0.95)))),
            volunteers=int(rng.binomial(n, 0.16)), youth_movements=int(rng.binomial(n, 0.22)),
            offences=int(rng.poisson(n * 0.004 * np.exp(-0.4 * s.ctx) * mult)),
            pdn_kdn_registered=reg, removed_improved=int(rng.binomial(reg, 0.15 if mult > 1 else 0.4)),
            programme_approved="да" if rng.random() < 0.95 else "нет"))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- preschool
def mkdo(rng, kgs: list[Kindergarten], years, low_mkdo: dict) -> pd.DataFrame:
    rows = []
    for k in kgs:
        for y in range(years[0], years[1] + 1):
            base = 1.6 + 0.45 * k.quality - (0.9 if weak(low_mkdo, k.idx, y) else 0.0)
            sc = np.clip(base + MKDO_AREA_SHIFT + 0.05 * (y - years[0]) + rng.normal(0, 0.2, len(MKDO_AREAS)), 0, 3)
            for a, v in zip(MKDO_AREAS, sc):
                rows.append(dict(year=y, dou_id=k.dou_id, area=a, score=round(float(v), 1)))
    return pd.DataFrame(rows)


def preschool(rng, kgs: list[Kindergarten], years, teach: pd.DataFrame, long_queue: dict) -> pd.DataFrame:
    t = teach[teach.school_id.str.startswith("dou")]
    st = t.groupby(["year", "school_id"]).agg(
        staff=("teacher_code", "size"), staff_higher_ed=("_higher_ed", "sum"),
        staff_category=("category", lambda c: int(c.isin(["высшая", "первая"]).sum())))
    rows = []
    for k in kgs:
        for y in range(years[0], years[1] + 1):
            e37 = int(k.places * rng.uniform(0.7, 0.95))
            e03 = int(k.places * rng.uniform(0.08, 0.2))
            q37 = int(rng.poisson(25 if weak(long_queue, k.idx, y) else 1.5))
            q03 = int(rng.poisson(60 if weak(long_queue, k.idx, y) else 8))
            s = st.loc[(y, k.dou_id)] if (y, k.dou_id) in st.index else None
            rows.append(dict(year=y, dou_id=k.dou_id, places=k.places, enrolled_3_7=e37, queue_3_7=q37,
                             enrolled_0_3=e03, queue_0_3=q03,
                             staff=int(s.staff) if s is not None else 0,
                             staff_higher_ed=int(s.staff_higher_ed) if s is not None else 0,
                             staff_category=int(s.staff_category) if s is not None else 0))
    return pd.DataFrame(rows)


def surveys(rng, schools: list[School], kgs: list[Kindergarten], years, totals: pd.DataFrame,
            staff: dict[str, int]) -> pd.DataFrame:
    tot = totals.set_index(["year", "school"]).students
    rows = []
    for y in range(years[0], years[1] + 1):
        for s in schools:
            n = int(tot.get((y, s.idx), 0))
            sat = float(np.clip(0.78 + 0.05 * s.ctx + 0.04 * s.effect, 0.4, 0.97))
            for grp, resp in (("родители", int(n * rng.uniform(0.35, 0.6))),
                              ("обучающиеся", int(n * rng.uniform(0.3, 0.5)) if s.grade_hi > 4 else 0),
                              ("педагоги", int(staff.get(s.school_id, 0) * rng.uniform(0.7, 1.0)))):
                if resp == 0:
                    continue
                p = sat - (0.08 if grp == "обучающиеся" else 0.0)
                rows.append(dict(year=y, school_id=s.school_id, respondents_group=grp, respondents=resp,
                                 satisfied=int(rng.binomial(resp, p))))
        for k in kgs:
            for grp, resp in (("родители", int(k.places * rng.uniform(0.4, 0.7))),
                              ("педагоги", int(staff.get(k.dou_id, 0) * rng.uniform(0.7, 1.0)))):
                if resp == 0:
                    continue
                p = float(np.clip(0.85 + 0.05 * k.quality, 0.4, 0.98))
                rows.append(dict(year=y, school_id=k.dou_id, respondents_group=grp, respondents=resp,
                                 satisfied=int(rng.binomial(resp, p))))
    return pd.DataFrame(rows)
