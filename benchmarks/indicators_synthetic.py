"""Synthetic processed tables in the contract of docs/architecture.md (no ingest needed).

Used by benchmarks/indicators.py when no processed benchmark folder is given, and handy
for a quick smoke run. Not realistic data: sizes and dtypes only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SUBJECTS = {4: ["Русский язык", "Математика", "Окружающий мир"], 5: ["Русский язык", "Математика", "История", "Биология"],
            6: ["Русский язык", "Математика", "История", "Биология"], 7: ["Русский язык", "Математика", "Физика", "Английский язык"],
            8: ["Русский язык", "Математика", "Химия", "География"]}
NTASKS = 15


def make_tables(n_schools: int = 40, years=(2021, 2022, 2023), students_per_grade: int = 60, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    ids = [f"sch{i:05d}" for i in range(n_schools)]
    dous = [f"dou{i:04d}" for i in range(max(2, n_schools // 3))]
    org = rng.choice(["СОШ", "гимназия", "ООШ", "лицей"], n_schools, p=[.6, .15, .2, .05])
    sett = rng.choice(["город", "пгт", "село"], n_schools)
    schools = pd.DataFrame({"school_id": ids + dous, "name": [f"Школа {i}" for i in ids] + [f"ДОУ {d}" for d in dous],
                            "municipality": "г. Примерск", "org_type": list(org) + ["ДОУ"] * len(dous),
                            "settlement_type": list(sett) + list(rng.choice(["город", "село"], len(dous))),
                            "settlement": "Примерск", "students_total": pd.array([students_per_grade * 11] * n_schools + [None] * len(dous), dtype="Int32"),
                            "is_preschool": [False] * n_schools + [True] * len(dous)})
    ability = rng.normal(0, 0.6, n_schools)
    vpr, tasks = [], []
    for y in years:
        for grade, subjects in SUBJECTS.items():
            for subj in subjects:
                n = n_schools * students_per_grade
                sch = np.repeat(np.arange(n_schools), students_per_grade)
                absent = rng.random(n) < 0.07
                p = 1 / (1 + np.exp(-(ability[sch] + rng.normal(0, 1, n))))
                sc = rng.binomial(2, np.clip(p[:, None] * np.ones(NTASKS), 0, 1))
                sc = np.where(absent[:, None], np.nan, sc)
                total = np.nansum(sc, axis=1)
                mx = NTASKS * 2.0
                mark = np.select([total < 0.3 * mx, total < 0.55 * mx, total < 0.8 * mx], [2, 3, 4], 5).astype(float)
                mark[absent] = np.nan
                jm = np.clip(mark + rng.choice([-1, 0, 0, 1], n), 2, 5)
                jm[absent] = rng.choice([3, 4], absent.sum())
                codes = [f"{y}{grade}{s:06d}" for s in range(n)]
                vpr.append(pd.DataFrame({
                    "year": np.int16(y), "grade": np.int8(grade), "subject": subj, "school_id": np.array(ids)[sch],
                    "student_code": codes, "journal_mark": pd.array(jm.astype(int), dtype="Int8"),
                    "sex": rng.choice(["м", "ж"], n), "class": "А", "variant": np.where(absent, None, "1"),
                    "absent": absent, "primary_score": np.where(absent, np.nan, total), "max_score": mx,
                    "mark": pd.array(np.where(absent, np.nan, mark), dtype="Float64").astype("Int8"),
                    "source_file": "synthetic", "source_row": np.arange(n, dtype=np.int32)}))
                pres = np.flatnonzero(~absent)
                tasks.append(pd.DataFrame({
                    "year": np.int16(y), "grade": np.int8(grade), "subject": subj,
                    "school_id": np.repeat(np.array(ids)[sch[pres]], NTASKS),
                    "student_code": np.repeat(np.array(codes)[pres], NTASKS),
                    "task": np.tile([str(t + 1) for t in range(NTASKS)], len(pres)),
                    "score": sc[pres].ravel()}))
    specs = pd.DataFrame([(g, s, str(t + 1), f"умение {t + 1}", "Б" if t < 9 else ("П" if t < 13 else "В"), 2.0, "1.1", "1")
                          for g, ss in SUBJECTS.items() for s in ss for t in range(NTASKS)],
                         columns=["grade", "subject", "task", "skill", "level", "max_score", "kes", "kt"])
    out = {"vpr": pd.concat(vpr, ignore_index=True), "vpr_tasks": pd.concat(tasks, ignore_index=True),
           "task_specs": specs, "schools": schools}
    rows = lambda: [(y, s) for y in years for s in ids]  # noqa: E731
    cont = pd.DataFrame([(y, s, g, students_per_grade, int(rng.integers(0, 6))) for y, s in rows() for g in range(1, 12)],
                        columns=["year", "school_id", "grade", "students", "students_ovz"])
    out["contingent"] = cont
    out["context"] = pd.DataFrame([(y, s, rng.uniform(40, 100), int(rng.integers(0, 4)), int(rng.integers(0, 150)),
                                    int(rng.integers(0, 40)), rng.uniform(30, 90), rng.uniform(30, 90), rng.uniform(40, 95),
                                    rng.uniform(30, 95)) for y, s in rows()],
                                  columns=["year", "school_id", "equipment_index", "teacher_vacancies", "students_risk_failure",
                                           "families_at_risk", "parent_involvement", "learning_motivation", "school_climate",
                                           "teacher_competence"])
    gia = []
    for y, s in rows():
        for exam, subj, k in [("ОГЭ", "Математика", 40), ("ОГЭ", "Русский язык", 40), ("ЕГЭ", "Русский язык", 20),
                              ("ЕГЭ", "Математика (профиль)", 10)]:
            for i in range(k):
                if exam == "ОГЭ":
                    ps = float(rng.integers(0, 32)); mark = 2 if ps < 8 else 3 if ps < 15 else 4 if ps < 22 else 5
                    gia.append((y, exam, s, f"{y}{s}{subj}{i}", subj, ps, np.nan, mark, 8.0))
                else:
                    ts = float(min(100, max(0, rng.normal(65, 15))))
                    gia.append((y, exam, s, f"{y}{s}{subj}{i}", subj, ts / 3, ts, np.nan, 24.0 if "Рус" in subj else 27.0))
    out["gia"] = pd.DataFrame(gia, columns=["year", "exam", "school_id", "student_code", "subject", "primary_score",
                                            "test_score", "mark", "min_threshold"])
    ol = []
    for y, s in rows():
        for i in range(int(rng.integers(20, 200))):
            g = int(rng.integers(4, 12)); code = f"o{s}{y}{i}"
            ol.append((y, "школьный", s, code, g, "Математика", rng.choice(["участник", "призёр", "победитель"], p=[.8, .15, .05])))
            if g >= 7 and rng.random() < 0.2:
                ol.append((y, "муниципальный", s, code, g, "Математика", rng.choice(["участник", "призёр"], p=[.85, .15])))
    out["olympiad"] = pd.DataFrame(ol, columns=["year", "stage", "school_id", "student_code", "grade", "subject", "status"])
    ad = [(y, s, f"d{s}{i}", int(rng.integers(5, 18)), rng.choice(["техническая", "художественная"]), p, "ЦДТ")
          for y, s in rows() for i in range(int(rng.integers(100, 600))) for p in ["П1"]]
    out["addedu"] = pd.DataFrame(ad, columns=["year", "school_id", "child_code", "age", "direction", "program", "provider"])
    out["career"] = pd.DataFrame([(y, s, g, 60, int(rng.integers(20, 60)), int(rng.integers(0, 20)), int(rng.integers(0, 8)),
                                   int(rng.integers(0, 30)) if g >= 10 else 0) for y, s in rows() for g in range(6, 12)],
                                 columns=["year", "school_id", "grade", "students", "profmin_basic", "profmin_main",
                                          "profmin_advanced", "in_profile_classes"])
    out["leavers"] = pd.DataFrame([(y, s, g, 50, int(rng.integers(0, 3)), 25 if g == 9 else 0, 20, 0 if g == 9 else 25, 2, 3,
                                    int(rng.integers(5, 20))) for y, s in rows() for g in (9, 11)],
                                  columns=["year", "school_id", "grade", "graduates", "no_attestat", "to_grade10", "to_spo",
                                           "to_vuz", "to_work", "not_placed", "profile_match"])
    out["principals"] = pd.DataFrame([(y, s, f"r{s}", 2015, int(rng.integers(2015, y + 1)), int(rng.integers(0, 3)),
                                       rng.uniform(70, 100)) for y, s in rows()],
                                     columns=["year", "school_id", "principal_code", "appointed_year", "mgmt_training_year",
                                              "reserve_size", "nokuod_score"])
    t = [(y, s, f"t{s}{i}", int(rng.integers(1958, 2000)), rng.choice(["высшая", "первая", "соответствие", "без категории"]),
          pd.Timestamp(int(rng.integers(y - 5, y)), 3, 1), bool(rng.random() < .6), bool(rng.random() < .4), bool(rng.random() < .1))
         for y, s in rows() for i in range(30)]
    out["teachers"] = pd.DataFrame(t, columns=["year", "school_id", "teacher_code", "birth_year", "category", "kpk_date",
                                               "deficit_diagnostics", "individual_route", "prof_contest"])
    out["upbringing"] = pd.DataFrame([(y, s, 660, int(rng.integers(100, 500)), int(rng.integers(20, 200)), int(rng.integers(20, 300)),
                                       int(rng.integers(0, 5)), int(rng.integers(0, 6)), int(rng.integers(0, 3)), bool(rng.random() < .9))
                                      for y, s in rows()],
                                     columns=["year", "school_id", "students", "in_clubs", "volunteers", "youth_movements", "offences",
                                              "pdn_kdn_registered", "removed_improved", "programme_approved"])
    areas = ["образовательная программа", "образовательные условия", "взаимодействие с родителями"]
    out["mkdo"] = pd.DataFrame([(y, d, a, rng.uniform(0.5, 3)) for y in years for d in dous for a in areas],
                               columns=["year", "dou_id", "area", "score"])
    out["preschool"] = pd.DataFrame([(y, d, 200, 180, int(rng.integers(0, 20)), 30, int(rng.integers(0, 30)), 20, 12, 10)
                                     for y in years for d in dous],
                                    columns=["year", "dou_id", "places", "enrolled_3_7", "queue_3_7", "enrolled_0_3", "queue_0_3",
                                             "staff", "staff_higher_ed", "staff_category"])
    out["surveys"] = pd.DataFrame([(y, s, "родители", 100, int(rng.integers(50, 100))) for y in years for s in ids + dous],
                                  columns=["year", "school_id", "respondents_group", "respondents", "satisfied"])
    out["measures"] = pd.DataFrame([(years[0], ids[0], 1, "vpr_fail_share", "Методический десант", "Приказ", "ИМЦ", 10.0),
                                    (years[0], ids[1], 6, "teachers_kpk3", "График КПК", None, None, None)],
                                   columns=["year", "school_id", "system", "indicator", "measure", "decision", "responsible",
                                            "target_value"])
    return out
