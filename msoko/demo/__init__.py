"""Demo municipality: a complete raw-data folder with known truth planted in it.

``generate(out_dir, seed, n_schools, years)`` writes (layout: docs/architecture.md, «Raw folder»)::

    logins.xlsx, context_<year>.xlsx, mark_scales.xlsx, task_specs/<grade>/<subject>/ALL.xlsx,
    vpr/<year>/<grade>/Проведение работы по <предмету>, <grade> класс. ВПР <year>.xlsx,
    templates/<table>.xlsx  (every table of resources/data_dictionary.toml),
    _truth/*.csv            (planted manipulations, low-result schools, weak spots; never read
                             by the analysis)

The model is described in :mod:`msoko.demo.model` (schools, children), :mod:`msoko.demo.vpr`
(item response, journal marks, manipulations) and :mod:`msoko.demo.systems` (other systems).
Same seed → byte-identical files.
"""
from __future__ import annotations

import datetime as dt

import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from msoko import ru
from msoko.errors import MsokoError

DEFAULT_KINDERGARTENS = 30


LOW_RESULT_SHIFT = -1.4   # ability shift of a planted low-result school (pupil SD units)

def _tables():
    """Dictionary tables: {id: [(col_id, header, type), ...]} (msoko.dictionary, else the TOML)."""
    try:
        from msoko.dictionary import load_dictionary
        return {t.id: [(c.id, c.header, c.type) for c in t.columns] for t in load_dictionary().tables}
    except ImportError:  # pragma: no cover
        import tomllib
        from importlib import resources
        data = tomllib.loads((resources.files("msoko") / "resources" / "data_dictionary.toml").read_text("utf-8"))
        return {t["id"]: [(c["id"], c["header"], c["type"]) for c in t["columns"]] for t in data["table"]}


def check_against_dictionary(table: str, df: pd.DataFrame) -> None:
    """Guard: the demo never writes a value its own data dictionary rejects (ranges, categories,
    required cells, unique keys). Raises MsokoError naming the table, column and value."""
    try:
        from msoko.dictionary import load_dictionary
    except ImportError:  # pragma: no cover
        return
    t = load_dictionary().table(table)
    for c in t.columns:
        if c.id not in df.columns:
            if c.required:
                raise MsokoError(f"Демо: в таблице «{table}» нет обязательного столбца «{c.header}».")
            continue
        v = df[c.id]
        empty = v.isna()
        if c.required and empty.any():
            raise MsokoError(f"Демо: «{table}.{c.id}»: пустые значения в обязательном столбце.")
        v = v[~empty]
        if c.type in ("int", "float") and len(v):
            x = v.astype(float)
            lo = -np.inf if c.min is None else c.min
            hi = np.inf if c.max is None else c.max
            bad = x[(x < lo) | (x > hi)]
            if len(bad):
                raise MsokoError(f"Демо: «{table}.{c.id}»: значение {bad.iloc[0]} вне диапазона {c.min}–{c.max}.")
        if c.type == "category":
            bad = v[~v.isin(c.values)]
            if len(bad):
                raise MsokoError(f"Демо: «{table}.{c.id}»: значение «{bad.iloc[0]}» не из списка.")
    if t.key and df.duplicated(t.key).any():
        raise MsokoError(f"Демо: «{table}»: повторяется ключ {', '.join(t.key)}.")


def _write_template(out: Path, table: str, df: pd.DataFrame, tables) -> None:
    from msoko.demo.xlsx import write_xlsx

    cols = tables[table]
    header = [h for _, h, _ in cols]
    data, numeric = [], set()
    for j, (cid, _, typ) in enumerate(cols):
        if cid in df.columns:
            v = df[cid]
            if typ in ("int", "float"):
                numeric.add(j)
                arr = v.astype(object).where(v.notna(), None).to_numpy()
                if typ == "int":
                    arr = np.array([None if x is None else int(x) for x in arr], dtype=object)
                data.append(arr)
            else:
                data.append(v.astype(object).where(v.notna(), None).to_numpy())
        else:
            data.append(np.full(len(df), None, dtype=object))
    write_xlsx(out / "templates" / f"{table}.xlsx", header, data, numeric=numeric)


def _write_vpr_job(args):
    from msoko.demo.vpr import write_vpr_cell
    path, cell, schools, trailing = args
    return write_vpr_cell(path, cell, schools, trailing)


def _write_template_job(args):
    _write_template(*args)
    return 0


def generate(out_dir, seed: int = 2021, n_schools: int = 40, years: tuple[int, int] = (2021, 2023),
             n_kindergartens: int | None = None, jobs: int | None = None, n_municipalities: int = 1) -> dict:
    """Write the demo municipality to ``out_dir``; return a summary (row counts, truth sizes).

    With ``n_municipalities > 1`` the schools and kindergartens are spread over that many numbered
    municipalities (a demo region, for region-sized runs and benchmarks); the data are otherwise the same."""
    from msoko.demo import model, systems, vpr
    from msoko.demo.subjects import vpr_file_name
    from msoko.demo.xlsx import write_xlsx

    y1, y2 = int(years[0]), int(years[1])
    if y2 < y1 or y1 < 2015 or y2 > 2040:
        raise MsokoError(f"Годы демо-данных заданы неверно: {y1}–{y2} (нужно, например, 2021-2023).")
    if n_schools < 3:
        raise MsokoError("В демо-муниципалитете должно быть не меньше 3 школ.")
    years = (y1, y2)
    n_kg = n_kindergartens if n_kindergartens is not None else (
        DEFAULT_KINDERGARTENS if n_schools == 40 else max(3, round(n_schools * 0.75)))
    out = Path(out_dir)
    if (out.exists() and any(not p.name.startswith(".") for p in out.iterdir())
            and not (out / "_truth" / "README.md").is_file()):
        raise MsokoError(f"Папка «{out}» не пуста и не похожа на демо-данные msoko — демо не будет записано "
                         "поверх чужих файлов. Укажите пустую или новую папку (--out).")
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("vpr", "task_specs", "templates", "_truth"):      # a previous demo: replace it
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    for old in out.glob("context_*.xlsx"):
        old.unlink()
    rng = np.random.default_rng(seed)

    # ------------------------------------------------------------ schools and children
    schools = model.make_schools(rng, n_schools)
    # planted low-result (ШНОР) schools: ordinary schools with at least one ВПР grade beyond the primary
    # one (a primary school's 10–25 pupils a subject cannot carry a rule that asks for 20), their pupils'
    # ability lowered by LOW_RESULT_SHIFT — enough that ≥ 30 % of them write below «3», as the regional
    # criteria of a ШНОР require
    eligible = [s for s in schools if s.org_type in ("СОШ", "ООШ", "КШИ")]
    n_low = max(1, round(0.08 * n_schools))
    for i in rng.choice(len(eligible), size=min(n_low, len(eligible)), replace=False):
        eligible[i].low_result = True
        eligible[i].effect += LOW_RESULT_SHIFT
    kgs = model.make_kindergartens(rng, n_kg)
    if n_municipalities < 1 or n_municipalities > n_schools:
        raise MsokoError(f"Муниципалитетов в демо-данных должно быть от 1 до числа школ ({n_schools}): "
                         f"задано {n_municipalities}.")
    model.assign_municipalities(schools, n_municipalities)
    model.assign_municipalities(kgs, n_municipalities)
    pop = model.make_population(rng, schools, years)

    # ------------------------------------------------------------ ВПР
    cells = vpr.choose_cells(rng, schools, years, pop.members)
    params: dict = {}
    trailing_rng = np.random.default_rng([seed, 1])
    jobs = jobs or min(2, os.cpu_count() or 1)
    n_vpr = 0
    vpr_files = []
    # writing the workbooks is most of the work: with jobs > 1 (large demos) worker processes
    # write while this process goes on generating
    pool = ProcessPoolExecutor(jobs) if jobs > 1 and n_schools >= 100 else None
    futures = []
    from msoko.demo.recheck import Observers, Rechecks

    rechecks = Rechecks(seed, y2, cells, schools)
    observers = Observers(seed, y2, cells, schools)
    written: set = set()   # (year, school index, grade, subject) of every ВПР cell with a writer
    try:
        for cell in vpr.generate_vpr(rng, schools, pop, years, cells, params):
            written.update((cell.year, int(i), cell.grade, cell.subject) for i in np.unique(cell.school[~cell.absent]))
            rechecks.take(cell)
            observers.take(cell)
            path = out / "vpr" / str(cell.year) / str(cell.grade) / vpr_file_name(cell.grade, cell.subject, cell.year)
            trailing = int(trailing_rng.integers(0, 6))
            if pool:
                futures.append(pool.submit(_write_vpr_job, (path, cell, schools, trailing)))
            else:
                n_vpr += vpr.write_vpr_cell(path, cell, schools, trailing)
            vpr_files.append(path)
        from msoko.demo.recheck import visits
        lenient = {int(i) for i in cells.loc[cells["kind"] == "inflated_journal", "school"]}
        summary = _rest(out, seed, years, rng, schools, kgs, pop, pool, futures, extra={
            "recheck": rechecks.frame(), "observers": observers.frame(), "visits": visits(seed, y2, cells, schools)},
            lenient=lenient)
        for f in futures:
            r = f.result()
            n_vpr += r if isinstance(r, int) else 0
    finally:
        if pool:
            pool.shutdown()

    # ------------------------------------------------------------ truth
    truth = out / "_truth"
    truth.mkdir(exist_ok=True)
    cells_out = cells.assign(
        school_id=[schools[i].school_id for i in cells.school],
        params=[json.dumps(params.get((r.year, r.school, r.grade, r.subject), {}), ensure_ascii=False,
                           sort_keys=True) for r in cells.itertuples(index=False)],
    )[["year", "school_id", "grade", "subject", "kind", "strength", "params"]]
    cells_out = cells_out.sort_values(["year", "school_id", "grade", "subject"]).reset_index(drop=True)
    cells_out.to_csv(truth / "objectivity_cells.csv", index=False, encoding="utf-8", lineterminator="\n")
    pd.DataFrame([dict(school_id=s.school_id, name=s.name, org_type=s.org_type, settlement_type=s.settlement_type,
                       effect_shift=LOW_RESULT_SHIFT) for s in schools if s.low_result]).to_csv(
        truth / "low_result_schools.csv", index=False, encoding="utf-8", lineterminator="\n")
    weak = summary["weak"]
    data = summary["data"]
    weak.to_csv(truth / "weak_spots.csv", index=False, encoding="utf-8", lineterminator="\n")
    pd.DataFrame([dict(school_id=s.school_id, org_type=s.org_type, settlement_type=s.settlement_type,
                       context_index=round(s.ctx, 4), ability_effect=round(s.effect, 4),
                       journal_leniency=round(s.leniency, 4), low_result=s.low_result) for s in schools]).to_csv(
        truth / "schools.csv", index=False, encoding="utf-8", lineterminator="\n")
    journal_leniency_cells(written, schools).to_csv(truth / "journal_cells.csv", index=False, encoding="utf-8",
                                                    lineterminator="\n")
    (truth / "README.md").write_text(_TRUTH_README, encoding="utf-8")
    return {"vpr_rows": n_vpr, "vpr_files": len(vpr_files), "cells": len(cells_out),
            "schools": len(schools), "kindergartens": len(kgs),
            "municipalities": len({s.municipality for s in schools}),
            **{f"{t}_rows": len(d) for t, d in data.items()}}


def _rest(out, seed, years, rng, schools, kgs, pop, pool, futures, extra: dict | None = None,
          lenient: set[int] | None = None) -> dict:
    """Everything after the ВПР: specs, scales, logins, context, the templates of the other systems."""
    from msoko.demo import model, systems, vpr
    from msoko.demo.xlsx import write_xlsx
    y1, y2 = years
    # ------------------------------------------------------------ task specs
    headers = vpr.spec_headers()
    specs = vpr.spec_rows()
    for key, head in headers.items():
        g, subj = key.split("/", 1)
        d = specs[(specs.grade == g) & (specs.subject == subj)]
        src = ["kim", "task", "skill", "outcome", "level", "kes", "kt", "max_score", "minutes"][: len(head)]
        write_xlsx(out / "task_specs" / g / subj / "ALL.xlsx", head,
                   [d[c].replace("", None).to_numpy(dtype=object) for c in src], sheet="Лист1")

    # ------------------------------------------------------------ mark scales of the demo years
    # (resources/mark_scales.csv has real 2020–2021 scales; later demo years reuse the latest
    # earlier scale — written to the raw folder, where ingest takes it over the built-in table)
    from msoko.demo.subjects import COMBOS
    sc_rows = []
    for y in range(y1, y2 + 1):
        for g, subj in COMBOS:
            b = vpr.scale_for(y, g, subj, with_year=True)
            if b:
                sc_rows.append((y, g, subj, *b[1:], f"msoko/resources/mark_scales.csv: шкала {b[0]} г."))
    write_xlsx(out / "mark_scales.xlsx", ["Год", "Класс", "Предмет", "Мин. балл на «3»", "Мин. балл на «4»",
                                          "Мин. балл на «5»", "Источник"],
               [[r[0] for r in sc_rows], [r[1] for r in sc_rows], [r[2] for r in sc_rows],
                [r[3] for r in sc_rows], [r[4] for r in sc_rows], [r[5] for r in sc_rows],
                [r[6] for r in sc_rows]],
               numeric={0, 1, 3, 4, 5})

    # ------------------------------------------------------------ logins, context questionnaire
    write_xlsx(out / "logins.xlsx", ["логин", "имя", "регион"],
               [[s.school_id for s in schools], [s.name for s in schools], [s.municipality for s in schools]])

    # ------------------------------------------------------------ other systems
    tables = _tables()
    sys_rng = np.random.default_rng([seed, 2])
    pick = _weak_picker(sys_rng, schools)

    def last_year(idxs) -> dict:
        # a measure is taken in the first year; for about half of the weak spots it works
        # (the weak spot is gone from the second year on), for the others it does not
        out_ = {}
        for j, i in enumerate(sorted(idxs)):
            out_[i] = y1 if (j % 2 == 0 and y2 > y1) else y2
        return out_

    low_olymp, low_profmin, high_pdn, low_kpk_s, no_training_s = (last_year(pick()) for _ in range(5))
    kg_idx = list(range(len(kgs)))
    sys_rng.shuffle(kg_idx)
    n_w = max(1, len(kgs) // 15)
    low_mkdo = last_year(kg_idx[:n_w])
    long_queue = last_year(kg_idx[n_w: 2 * n_w])

    cont = systems.contingent(pop, schools)
    totals = systems.school_totals(pop)
    gia, no_att = systems.gia(sys_rng, pop, schools, years)
    staff = {}
    tot0 = totals[totals.year == y1].set_index("school").students
    for s in schools:
        staff[s.school_id] = max(5, int(round(tot0.get(s.idx, 0) / 12)) + 2)
    for k in kgs:
        staff[k.dou_id] = max(3, int(round(k.places / 10)))
    low_kpk = {schools[i].school_id: v for i, v in low_kpk_s.items()}
    no_training = {schools[i].school_id: v for i, v in no_training_s.items()}
    teach = systems.teachers(sys_rng, staff, years, low_kpk)
    for y in range(y1, y2 + 1):
        _write_context(out / f"context_{y}.xlsx", schools, pop, teach, y)
    registry = pd.DataFrame(
        [dict(school_id=s.school_id, name=s.name, municipality=s.municipality, org_type=s.org_type,
              settlement_type=s.settlement_type, settlement=s.settlement) for s in schools]
        + [dict(school_id=k.dou_id, name=k.name, municipality=k.municipality, org_type="ДОУ",
                settlement_type=k.settlement_type, settlement=k.settlement) for k in kgs])
    data = {
        "registry": registry,
        "contingent": cont,
        "context": systems.context(sys_rng, pop, schools, years),
        "gia": gia,
        "olympiad": systems.olympiad(sys_rng, pop, schools, years, low_olymp),
        "addedu": systems.addedu(sys_rng, pop, schools, years),
        "career": systems.career(sys_rng, cont, schools, low_profmin),
        "leavers": systems.leavers(sys_rng, pop, schools, years, no_att),
        "principals": systems.principals(
            sys_rng, [(s.school_id, s.ctx) for s in schools] + [(k.dou_id, k.quality) for k in kgs],
            years, no_training),
        "teachers": teach,
        "upbringing": systems.upbringing(sys_rng, pop, schools, high_pdn),
        "mkdo": systems.mkdo(sys_rng, kgs, years, low_mkdo),
        "preschool": systems.preschool(sys_rng, kgs, years, teach, long_queue),
        "surveys": systems.surveys(sys_rng, schools, kgs, years, totals, staff),
    }
    weak = _weak_spots(schools, kgs, years, low_olymp, low_profmin, high_pdn, low_kpk_s, no_training_s,
                       low_mkdo, long_queue)
    data["measures"] = _measures(sys_rng, weak, schools, years)
    from msoko.demo.recheck import medals
    data["medals"] = medals(seed, gia, schools, lenient or set())
    data.update(extra or {})
    for table in tables:
        check_against_dictionary(table, data.get(table, pd.DataFrame()))
        args = (out, table, data.get(table, pd.DataFrame()), tables)
        if pool:
            futures.append(pool.submit(_write_template_job, args))
        else:
            _write_template(*args)
    return dict(data=data, weak=weak, cells_rows={t: len(d) for t, d in data.items()})



_TRUTH_README = """# Planted truth of the demo municipality (never read by the analysis)

- objectivity_cells.csv — (year, school_id, grade, subject) cells with a planted manipulation:
  kind ∈ boundary_push | inflated_scores | inflated_journal | answer_copying | cohort_spike,
  strength ∈ weak | moderate | strong, params (JSON) = the parameters used. Every other
  ВПР cell is clean (generated by the model only). A cohort_spike is planted in grade 4 of
  year Y; the same children in grade 5 in Y+1 are clean (params.partner).
- low_result_schools.csv — schools whose children's abilities were lowered (ШНОР candidates).
- weak_spots.csv — (year, school_id, system, indicator_hint, description, measure_effective):
  known weak spots in the other systems, one row per year in which the weak spot is present;
  indicator_hint is the indicator code that should show it. A measure aimed at each of them
  is in templates/measures.xlsx (first year); where measure_effective is true the weak spot
  is gone from the second year on, otherwise it stays (ШНОР schools: abilities stay low).
- templates/recheck.xlsx (not truth, but made from it): the last year's re-checks of every work with a
  planted score manipulation and of one clean work of another school each (msoko/demo/recheck.py).
- templates/observers.xlsx (made from the truth): observers in the last year at the works whose previous
  cohort had a planted score manipulation (written clean under observers) and at as many clean works.
- templates/visits.xlsx (made from the truth): monitoring visits in the last year to every school with a planted
  manipulation the year before (items with remarks or violations more often) and to up to 4 clean schools (rarely
  remarks, never violations).
- templates/medals.xlsx (made from the truth): medal candidates among the ЕГЭ/ОГЭ writers; a school with a planted
  inflated_journal cell names weaker pupils as candidates (cut 0,5 SD instead of 1,2 SD of the two exams).
- schools.csv — latent school parameters: context index, ability effect, journal leniency.
- journal_cells.csv — (year, school_id, grade, subject) ВПР cells of the schools whose journal marks are lenient
  or strict by construction (the latent leniency, not a planted manipulation): kind lenient_journal | strict_journal,
  strength weak (1–1,5 SD of the schools' leniency), moderate (1,5–2 SD), strong (≥ 2 SD), leniency_sd. A
  current-marks finding there is true; these cells are not clean, nor planted manipulations.
"""

# |leniency| / LENIENCY_SD at which a school's journal marks count as lenient/strict, by strength
LENIENCY_STRENGTHS = ((2.0, "strong"), (1.5, "moderate"), (1.0, "weak"))


def journal_leniency_cells(written, schools) -> pd.DataFrame:
    """The ВПР cells (year, school index, grade, subject) in ``written`` of schools whose latent journal
    leniency is at least 1 SD of the schools' leniency from 0, with kind (lenient/strict) and strength."""
    from msoko.demo.model import LENIENCY_SD

    rows = []
    for year, i, grade, subject in sorted(written):
        z = schools[i].leniency / LENIENCY_SD
        strength = next((s for cut, s in LENIENCY_STRENGTHS if abs(z) >= cut), None)
        if strength:
            rows.append(dict(year=year, school_id=schools[i].school_id, grade=grade, subject=subject,
                             kind="lenient_journal" if z > 0 else "strict_journal", strength=strength,
                             leniency_sd=round(z, 3)))
    return pd.DataFrame(rows, columns=["year", "school_id", "grade", "subject", "kind", "strength", "leniency_sd"])


def _weak_picker(rng, schools):
    """Weak-spot schools: distinct, drawn among the larger half (a rate of a few dozen pupils
    is noise, not a weak spot), never primary-only schools."""
    used: set[int] = set()
    size = {s.idx: s.n_classes * s.class_size * (s.grade_hi - s.grade_lo + 1) for s in schools}
    cands = [s.idx for s in schools if s.org_type != "НОШ"]
    med = float(np.median([size[i] for i in cands]))
    order = [i for i in cands if size[i] >= med]
    rng.shuffle(order)
    n = max(1, len(schools) // 20)

    def pick() -> set[int]:
        got = set()
        for i in order:
            if i not in used and len(got) < n:
                got.add(i)
                used.add(i)
        return got
    return pick


def _weak_spots(schools, kgs, years, low_olymp, low_profmin, high_pdn, low_kpk, no_training,
                low_mkdo, long_queue) -> pd.DataFrame:
    rows = []
    spec = [
        (low_olymp, 3, "olymp_school_participation", "низкая доля участников школьного этапа ВсОШ (около 4 %)"),
        (low_profmin, 4, "profmin_basic_share", "низкий охват профминимумом (около 5 % обучающихся 6–11 классов)"),
        (high_pdn, 7, "upbr_pdn_kdn_rate", "в 5 раз больше обучающихся на учёте ПДН/КДН и правонарушений, мало снятых с учёта"),
        (low_kpk, 6, "teachers_kpk3", "низкая доля педагогов, прошедших КПК за 3 года"),
        (no_training, 5, "principal_mgmt_training", "руководитель без обучения по управлению, низкий балл НОКУОД"),
    ]
    spec += [(low_mkdo, 8, "mkdo_total_score", "баллы МКДО ниже базового уровня по большинству областей (на 0,9 ниже)"),
             (long_queue, 8, "preschool_availability_3_7",
              "длинная очередь в детский сад (3–7 лет: около 25 детей, 0–3: около 60)")]
    for idxs, system, hint, desc in spec:
        orgs = kgs if system == 8 else schools
        for i, last in sorted(idxs.items()):
            oid = orgs[i].dou_id if system == 8 else orgs[i].school_id
            for y in range(years[0], last + 1):
                rows.append(dict(year=y, school_id=oid, system=system, indicator_hint=hint, description=desc,
                                 measure_effective=last < years[1]))
    for s in schools:
        if s.low_result:
            for y in range(years[0], years[1] + 1):
                rows.append(dict(year=y, school_id=s.school_id, system=2, indicator_hint="shnor_flag",
                                 description="школа с низкими результатами: способности обучающихся ниже на "
                                             f"{ru.number(abs(LOW_RESULT_SHIFT), 2)} SD",
                                 measure_effective=False))
    return pd.DataFrame(rows, columns=["year", "school_id", "system", "indicator_hint", "description",
                                       "measure_effective"]).sort_values(
        ["year", "system", "school_id"], kind="stable").reset_index(drop=True)


_MEASURES = {
    2: ("Методический десант в школу с низкими результатами", "Методист ИМЦ"),
    3: ("Организация школьного этапа ВсОШ на платформе «Сириус.Курсы» для всех параллелей", "Заместитель директора по УВР"),
    4: ("Включение школы в проект «Билет в будущее», план профминимума", "Педагог-навигатор"),
    5: ("Направление руководителя на курсы «Менеджмент в образовании»", "Начальник отдела кадров УО"),
    6: ("План-график КПК педагогов на год", "Методист ИМЦ"),
    7: ("Программа профилактики правонарушений совместно с КДН", "Социальный педагог"),
    8: ("Дорожная карта повышения качества дошкольного образования по итогам МКДО", "Заведующий ДОУ"),
}


# indicator a measure aims at, and its target value
_MEASURE_TARGET = {
    "shnor_flag": ("vpr_fail_share", 15.0), "olymp_school_participation": ("olymp_school_participation", 30.0),
    "profmin_basic_share": ("profmin_basic_share", 50.0), "upbr_pdn_kdn_rate": ("upbr_pdn_kdn_rate", 5.0),
    "teachers_kpk3": ("teachers_kpk3", 90.0), "principal_mgmt_training": ("principal_mgmt_training", 1.0),
    "mkdo_total_score": ("mkdo_total_score", 1.5), "preschool_availability_3_7": ("preschool_availability_3_7", 100.0),
}


def _measures(rng, weak: pd.DataFrame, schools, years) -> pd.DataFrame:
    rows = []
    first = weak[weak.year == years[0]]
    for k, r in enumerate(first.itertuples(index=False)):
        measure, resp = _MEASURES[int(r.system)]
        indicator, target = _MEASURE_TARGET.get(r.indicator_hint, (r.indicator_hint, None))
        # an effective measure was carried out; of the others, every second one was not (the rest are still
        # «запланировано» — overdue once their deadline has passed)
        status = "выполнено" if r.measure_effective else ("не выполнено" if k % 2 else None)
        rows.append(dict(year=int(r.year), school_id=r.school_id, system=int(r.system), indicator=indicator,
                         measure=measure, decision=f"Приказ УО № {40 + k} от 10.09.{r.year}", responsible=resp,
                         target_value=target, deadline=dt.date(int(r.year) + 1, 5, 31).strftime("%d.%m.%Y"), status=status))
    return pd.DataFrame(rows)


def _write_context(path: Path, schools, pop, teach: pd.DataFrame, year: int) -> None:
    """The ФИС ОКО context questionnaire, header exactly as in the real file; class and pupil
    counts from the rosters, teacher counts from the teachers template of the same year."""
    from msoko.demo.vpr import _res
    from msoko.demo.xlsx import write_xlsx

    layout = json.loads(_res("context_layout.json").read_text(encoding="utf-8"))
    header = layout["header"]
    opt = layout["options"]
    n = len(schools)
    cols = [[None] * n for _ in header]
    mem = pop.members[pop.members.year == year]
    by = mem.groupby(["school", "grade"]).size()
    t = teach[teach.year == year]
    n_teach = t.groupby("school_id").size()
    n_high = t[t.category == "высшая"].groupby("school_id").size()
    n_young = t[year - t.birth_year <= 30].groupby("school_id").size()
    n_old = t[year - t.birth_year >= 60].groupby("school_id").size()
    settle = {"город": opt["10"][0], "пгт": opt["10"][1], "село": opt["10"][2]}
    size = {"город": "4. 10–50 тыс. человек", "пгт": "2. 1–5 тыс. человек", "село": "1. Менее 1 тыс. человек"}
    numeric = {1, 21} | set(range(22, 46)) | {49, 50, 51, 52}
    for i, s in enumerate(schools):
        def put(j, v):
            cols[j][i] = v
        put(0, s.school_id)
        put(1, 22)
        put(2, s.name)
        put(3, s.full_name)
        put(5, "1. Государственная" if s.org_type in ("КШИ", "коррекционная школа") else "2. Муниципальная")
        put(6, "Да" if s.grade_lo <= 4 else "Нет")
        put(7, "Да" if s.grade_hi >= 5 else "Нет")
        put(8, "Да" if s.grade_hi >= 10 else "Нет")
        put(9, "Нет")
        put(10, settle[s.settlement_type])
        put(11, s.settlement)
        put(12, size[s.settlement_type])
        put(13, opt["13"][0] if s.settlement_type != "село" else opt["13"][1])
        put(16, "Да" if s.org_type == "коррекционная школа" else "Нет")
        put(17, "Нет")
        put(18, "Нет")
        put(19, "Нет")
        put(20, "Да" if s.org_type in ("КШИ", "коррекционная школа") else "Нет")
        total = 0
        for g in range(1, 13):
            k = int(by.get((s.idx, g), 0))
            total += k
            put(22 + 2 * (g - 1), (max(1, round(k / max(s.class_size, 1))) if k else 0))
            put(23 + 2 * (g - 1), k)
        put(21, total)
        put(49, int(n_teach.get(s.school_id, 0)))
        put(50, int(n_high.get(s.school_id, 0)))
        put(51, int(n_young.get(s.school_id, 0)))
        put(52, int(n_old.get(s.school_id, 0)))
    write_xlsx(path, header, cols, numeric=numeric)
