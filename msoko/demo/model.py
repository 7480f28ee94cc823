"""The generative model of the demo municipality: schools, kindergartens, children.

Schools
    ``org_type`` (СОШ, ООШ, НОШ, СОШ с УИОП, гимназия, лицей, КШИ, коррекционная школа)
    and settlement (город / пгт / село) drive size and a social context index
    ``ctx`` ~ N(settlement mean, 0.7). The school effect on ability is
    ``u = 0.25·ctx + type effect + N(0, 0.27)``; planted low-result (ШНОР) schools get ``LOW_RESULT_SHIFT`` (msoko.demo).

Children
    Every child belongs to an entry cohort of a school (``cohort = year − grade``) and keeps
    its latent ability over the years: ``θ_general ~ N(0, 1)``, plus persistent subject
    deviations (ρ = 0.75 with the general ability). Each year ~3 % of a cohort is replaced
    by newcomers; after grade 9 about half of a cohort leaves (more able children stay).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MUNICIPALITY = "Демонстрационный муниципальный округ"

# SD of the schools' journal leniency (latent shift of the journal mark, in ability units)
LENIENCY_SD = 0.25


def municipality_name(k: int, n: int) -> str:
    """The k-th (0-based) of ``n`` demo municipalities: one is «Демонстрационный муниципальный округ»,
    a demo region's are numbered «… № 1», «… № 2» …"""
    return MUNICIPALITY if n <= 1 else f"{MUNICIPALITY} № {k + 1}"


def assign_municipalities(units: list, n: int) -> None:
    """Spread schools (or kindergartens) over ``n`` municipalities in turn, by their index: each gets
    every kind of school in about the same proportion."""
    for u in units:
        u.municipality = municipality_name(u.idx % max(1, n), n)

# share, settlement weights (город, пгт, село), grades offered, ability effect, class size (mean)
ORG_TYPES = {
    "СОШ": (0.50, (0.45, 0.20, 0.35), (1, 11), 0.0, 24),
    "ООШ": (0.13, (0.05, 0.15, 0.80), (1, 9), -0.12, 11),
    "НОШ": (0.05, (0.10, 0.10, 0.80), (1, 4), -0.05, 9),
    "СОШ с УИОП": (0.08, (1.0, 0.0, 0.0), (1, 11), 0.30, 26),
    "гимназия": (0.08, (1.0, 0.0, 0.0), (1, 11), 0.45, 27),
    "лицей": (0.07, (1.0, 0.0, 0.0), (1, 11), 0.45, 26),
    "КШИ": (0.045, (0.6, 0.4, 0.0), (5, 11), 0.0, 22),
    "коррекционная школа": (0.045, (0.7, 0.3, 0.0), (1, 9), -1.1, 10),
}
SETTLEMENT_CTX = {"город": 0.35, "пгт": 0.0, "село": -0.45}
SETTLEMENT_CLASSES = {"город": (2, 4), "пгт": (1, 2), "село": (1, 1)}

TOWNS = ["Демидовск"]
PGT = ["Заречный", "Берёзовка", "Сосновый Бор"]
VILLAGES = ["Покровка", "Никольское", "Верх-Обское", "Луговое", "Ключи", "Михайловка", "Ракиты",
            "Шипуново", "Ивановка", "Сараи", "Подойниково", "Мамонтово", "Кашино", "Урожайное",
            "Рассказиха", "Озёрки", "Журавли", "Калиновка", "Лесное", "Заковряшино"]


@dataclass
class School:
    idx: int
    school_id: str
    name: str
    full_name: str
    org_type: str
    settlement_type: str
    settlement: str
    ctx: float
    effect: float
    leniency: float
    grade_lo: int
    grade_hi: int
    n_classes: int
    class_size: float
    upper_case_letters: bool
    no_letter: bool
    low_result: bool = False
    textbook: dict = field(default_factory=dict)
    municipality: str = MUNICIPALITY


def _name(org_type: str, number: int, settlement: str, settlement_type: str) -> tuple[str, str]:
    form = "МАОУ" if org_type in ("гимназия", "лицей") else "МБОУ"
    if org_type == "КШИ":
        return (f"КГБОУ «Кадетская школа-интернат № {number}»",
                f"Краевое государственное бюджетное общеобразовательное учреждение «Кадетская школа-интернат № {number}»")
    if org_type == "коррекционная школа":
        return (f"КГБОУ «Общеобразовательная школа № {number} для обучающихся с ОВЗ»",
                "Краевое государственное бюджетное общеобразовательное учреждение для обучающихся с ограниченными "
                f"возможностями здоровья «Общеобразовательная школа № {number}»")
    short = {"СОШ": "СОШ", "ООШ": "ООШ", "НОШ": "НОШ", "СОШ с УИОП": "СОШ с УИОП",
             "гимназия": "Гимназия", "лицей": "Лицей"}[org_type]
    kind = {"СОШ": "средняя общеобразовательная школа", "ООШ": "основная общеобразовательная школа",
            "НОШ": "начальная общеобразовательная школа",
            "СОШ с УИОП": "средняя общеобразовательная школа с углублённым изучением отдельных предметов",
            "гимназия": "гимназия", "лицей": "лицей"}[org_type]
    long_form = ("Муниципальное автономное общеобразовательное учреждение" if form == "МАОУ"
                 else "Муниципальное бюджетное общеобразовательное учреждение")
    if settlement_type == "город":
        return f"{form} «{short} № {number}»", f"{long_form} «{kind.capitalize()} № {number}» г. {settlement}"
    place = f"{'пгт' if settlement_type == 'пгт' else 'с.'} {settlement}"
    return (f"{form} «{short} {place}»",
            f"{long_form} «{kind.capitalize()}» ({'пгт' if settlement_type == 'пгт' else 'с.'} {settlement})")


def make_schools(rng: np.random.Generator, n: int) -> list[School]:
    types = list(ORG_TYPES)
    shares = np.array([ORG_TYPES[t][0] for t in types])
    counts = np.floor(shares * n).astype(int)
    # largest remainders, then at least one СОШ
    rem = shares * n - counts
    for k in np.argsort(-rem, kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    labels = np.repeat(types, counts)
    labels = labels[rng.permutation(len(labels))]
    schools = []
    numbers = {"город": 1}
    for i, t in enumerate(labels):
        t = str(t)
        share, sett_w, (lo, hi), eff, csize = ORG_TYPES[t]
        st = str(rng.choice(["город", "пгт", "село"], p=np.array(sett_w) / sum(sett_w)))
        if st == "город":
            settlement = TOWNS[0]
        elif st == "пгт":
            settlement = PGT[int(rng.integers(len(PGT)))]
        else:
            settlement = VILLAGES[int(rng.integers(len(VILLAGES)))]
        number = numbers.get("город", 1)
        numbers["город"] = number + 1
        name, full = _name(t, number, settlement, st)
        ctx = float(rng.normal(SETTLEMENT_CTX[st] + (0.3 if t in ("гимназия", "лицей") else 0.0), 0.7))
        lo_c, hi_c = SETTLEMENT_CLASSES[st]
        if t in ("гимназия", "лицей", "СОШ с УИОП"):
            lo_c, hi_c = 2, 4
        if t in ("коррекционная школа", "КШИ"):
            lo_c, hi_c = 1, 2
        schools.append(School(
            idx=i, school_id=f"sch{220101 + i}", name=name, full_name=full, org_type=t,
            settlement_type=st, settlement=settlement, ctx=ctx,
            effect=float(0.25 * ctx + eff + rng.normal(0, 0.27)),
            leniency=float(rng.normal(0, LENIENCY_SD)), grade_lo=lo, grade_hi=hi,
            n_classes=int(rng.integers(lo_c, hi_c + 1)),
            class_size=float(csize * (0.8 if st == "село" and t == "СОШ" else 1.0) * rng.uniform(0.8, 1.15)),
            upper_case_letters=bool(rng.random() < 0.3), no_letter=bool(rng.random() < 0.6),
        ))
    # disambiguate equal names (two village schools of the same kind in one village)
    seen: dict[str, int] = {}
    for s in schools:
        if s.name in seen:
            seen[s.name] += 1
            s.name = s.name.replace("»", f" № {s.idx + 1}»")
        else:
            seen[s.name] = 0
    return schools


@dataclass
class Kindergarten:
    idx: int
    dou_id: str
    name: str
    settlement_type: str
    settlement: str
    quality: float
    places: int
    municipality: str = MUNICIPALITY


def make_kindergartens(rng: np.random.Generator, n: int) -> list[Kindergarten]:
    out = []
    for i in range(n):
        st = str(rng.choice(["город", "пгт", "село"], p=[0.55, 0.15, 0.30]))
        settlement = TOWNS[0] if st == "город" else (PGT[int(rng.integers(len(PGT)))] if st == "пгт"
                                                     else VILLAGES[int(rng.integers(len(VILLAGES)))])
        places = int({"город": rng.integers(140, 320), "пгт": rng.integers(60, 160),
                      "село": rng.integers(20, 70)}[st])
        name = (f"МБДОУ «Детский сад № {i + 1}»" if st == "город"
                else f"МБДОУ «Детский сад № {i + 1} {'пгт' if st == 'пгт' else 'с.'} {settlement}»")
        out.append(Kindergarten(i, f"dou{i + 1:03d}", name, st, settlement,
                                float(rng.normal(0.15 if st == "город" else -0.1, 0.5)), places))
    return out


@dataclass
class Population:
    """All children: one row per person; membership: one row per (year, school, grade, person)."""
    persons: pd.DataFrame        # pid, school, cohort, sex, ovz, theta, subj_<k> columns
    members: pd.DataFrame        # year, school, grade, pid, slot (position in the roster)


SUBJECT_KEYS = ["rus", "mat", "env", "his", "bio", "geo", "soc", "phy", "che", "eng", "inf", "lit"]
SUBJECT_KEY = {"Русский язык": "rus", "Математика": "mat", "Окружающий мир": "env", "История": "his",
               "Биология": "bio", "География": "geo", "Обществознание": "soc", "Физика": "phy",
               "Химия": "che", "Английский язык": "eng", "Информатика": "inf", "Литература": "lit",
               "Математика (профиль)": "mat", "Математика (база)": "mat"}


def _stay_after_9(rng: np.random.Generator, roster: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """About half of a cohort leaves after grade 9 (for СПО); the more able tend to stay."""
    score = theta + rng.normal(0, 1, len(roster))
    keep = max(1, int(round(len(roster) * rng.uniform(0.4, 0.65))))
    return np.sort(roster[np.argsort(-score, kind="stable")[:keep]])


def make_population(rng: np.random.Generator, schools: list[School], years: tuple[int, int]) -> Population:
    y1, y2 = years
    effects = np.array([s.effect for s in schools])
    theta_buf = np.empty(1 << 16)        # latent general ability by person id (grows)
    p_school, p_cohort, p_new = [], [], []
    m_year, m_school, m_grade, m_pid, m_slot = [], [], [], [], []
    pid = 0

    def new_people(k: int, s: School, cohort: int, newcomer: bool) -> np.ndarray:
        nonlocal pid, theta_buf
        ids = np.arange(pid, pid + k)
        if pid + k > len(theta_buf):
            theta_buf = np.concatenate([theta_buf, np.empty(max(len(theta_buf), k))])
        theta_buf[pid:pid + k] = rng.normal(0, 1, k)
        pid += k
        p_school.append(np.full(k, s.idx))
        p_cohort.append(np.full(k, cohort))
        p_new.append(np.full(k, newcomer))
        return ids

    for s in schools:
        for cohort in range(y1 - 11, y2):
            grades = [(y, y - cohort) for y in range(y1, y2 + 1) if s.grade_lo <= y - cohort <= s.grade_hi]
            if not grades:
                continue
            mean = s.n_classes * s.class_size
            base = max(3, int(rng.normal(mean, 0.12 * mean)))
            roster = new_people(base, s, cohort, False)
            if grades[0][1] >= 10:
                # a cohort first seen in grade 10–11 already went through the selection after grade 9
                roster = _stay_after_9(rng, roster, theta_buf[roster])
            for y, g in grades:
                m_year.append(np.full(len(roster), y))
                m_school.append(np.full(len(roster), s.idx))
                m_grade.append(np.full(len(roster), g))
                m_pid.append(roster)
                m_slot.append(np.arange(len(roster)))
                k = int(rng.binomial(len(roster), 0.03))
                if k:
                    roster = roster.copy()
                    roster[rng.choice(len(roster), size=k, replace=False)] = new_people(k, s, cohort, True)
                if g == 9:
                    roster = _stay_after_9(rng, roster, theta_buf[roster])
    theta = theta_buf[:pid].copy()
    persons = pd.DataFrame({
        "pid": np.arange(pid),
        "school": np.concatenate(p_school).astype(np.int32),
        "cohort": np.concatenate(p_cohort).astype(np.int32),
        "newcomer": np.concatenate(p_new),
    })
    n = len(persons)
    effect = effects[persons["school"].to_numpy()]
    persons["theta"] = effect + theta
    persons["sex"] = np.where(rng.random(n) < 0.49, "ж", "м")
    corr = np.array([s.org_type == "коррекционная школа" for s in schools])[persons["school"].to_numpy()]
    persons["ovz"] = rng.random(n) < np.where(corr, 0.9, 0.03)
    rho = 0.8
    for k in SUBJECT_KEYS:
        persons[k] = effect + rho * theta + np.sqrt(1 - rho ** 2) * rng.normal(0, 1, n)
    members = pd.DataFrame({
        "year": np.concatenate(m_year).astype(np.int16), "school": np.concatenate(m_school).astype(np.int32),
        "grade": np.concatenate(m_grade).astype(np.int8), "pid": np.concatenate(m_pid).astype(np.int64),
        "slot": np.concatenate(m_slot).astype(np.int32),
    })
    return Population(persons, members)
