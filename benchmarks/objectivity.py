"""Benchmark of the objectivity diagnostics on the demo municipality (planted truth).

    .venv/bin/python benchmarks/objectivity.py                      # demo, 120 schools, seed 2
    .venv/bin/python benchmarks/objectivity.py --seeds 1,2,3        # three demos, pooled
    .venv/bin/python benchmarks/objectivity.py --schools 700 --timing-only   # region-sized timing
    .venv/bin/python benchmarks/objectivity.py --raw DIR [--processed DIR]   # an existing demo folder
    .venv/bin/python benchmarks/objectivity.py --raw R1 R2 … --processed P1 P2 …  # several made
                                        # demos (e.g. 700 schools × 5 seeds made once), pooled
    .venv/bin/python benchmarks/objectivity.py --real DIR [--processed DIR]  # real data: flag rates,
                                        # persistence 2020 → 2021 and cross-family enrichment
    .venv/bin/python benchmarks/objectivity.py --processed DIR --speed 3      # betabinom fit: new vs old, medians

Prints, against ``<raw>/_truth/``, the recall per manipulation kind × strength and the
false-positive rate on clean school × grade × subject × year cells — for the official
ФИОКО signs alone and for msoko's combined picture — plus the recall and FPR of every
single sign, and the time of ``compute_objectivity`` on the loaded tables.

A planted cell counts as found by the official signs when any official sign is flagged
for it (for ``cohort_spike`` in grade 4 of year Y: ``cohort_fall``/``cohort_rise`` on the
grade-5 row of Y+1, where the official method reports it). Clean cells are cells with no
planted manipulation that are not the grade-5 partner of a planted cohort spike; the
official FPR is over the cells the official signs assess (grades 4–5, Russian and maths).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = ["year", "school_id", "grade", "subject"]
OFFICIAL = ["inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise"]


def load_truth(raw: Path) -> pd.DataFrame:
    """Planted manipulation cells from <raw>/_truth/: any table with kind and strength columns."""
    tdir = raw / "_truth"
    found = []
    for p in sorted(tdir.rglob("*")):
        if p.suffix == ".csv":
            df = pd.read_csv(p)
        elif p.suffix == ".parquet":
            df = pd.read_parquet(p)
        elif p.suffix == ".json":
            try:
                df = pd.read_json(p)
            except ValueError:
                continue
        else:
            continue
        if {"kind", "strength"} <= set(df.columns) and {"year", "grade", "subject"} <= set(df.columns):
            found.append((p, df))
    if not found:
        sys.exit(f"В {tdir} не найдена таблица заложенных искажений (столбцы kind, strength).")
    p, df = found[0]
    if "school_id" not in df.columns:
        for c in ("login", "school", "school_login"):
            if c in df.columns:
                df = df.rename(columns={c: "school_id"})
                break
    df = df.astype({"year": "int64", "grade": "int64"})
    df["school_id"] = df["school_id"].astype(str)
    print(f"Заложенные искажения: {p.relative_to(raw)} ({len(df)} ячеек)")
    return df


def load_tables(processed: Path) -> dict:
    out = {}
    for name in ("vpr", "vpr_tasks", "task_specs", "schools", "gia"):
        p = processed / f"{name}.parquet"
        if p.exists():
            out[name] = pd.read_parquet(p)
    return out


def flagged_cells(obj: pd.DataFrame, signs) -> pd.DataFrame:
    r = obj[obj["sign"].isin(signs) & obj["school_id"].notna() & obj["flagged"].fillna(False).astype(bool)]
    r = r[KEYS + ["sign"]].copy()
    r["year"] = r["year"].astype("int64")
    r["grade"] = r["grade"].astype("int64")
    return r


def assessed_cells(obj: pd.DataFrame, signs) -> pd.DataFrame:
    r = obj[obj["sign"].isin(signs) & obj["school_id"].notna() & obj["flagged"].notna()][KEYS].drop_duplicates()
    return r.astype({"year": "int64", "grade": "int64"})


def hits(truth: pd.DataFrame, fl: pd.DataFrame, cohort_partner: bool) -> np.ndarray:
    """Per truth row: flagged at the cell (or, for cohort_spike, at the grade-5 cell of Y+1 when allowed)."""
    s = set(map(tuple, fl[KEYS].to_numpy().tolist()))
    out = []
    for r in truth.itertuples(index=False):
        own = (r.year, r.school_id, r.grade, r.subject) in s
        partner = cohort_partner and r.kind == "cohort_spike" and \
            (r.year + 1, r.school_id, r.grade + 1, r.subject) in s
        out.append(own or partner)
    return np.array(out, dtype=bool)


def clean_set(truth: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    bad = set(map(tuple, truth[KEYS].to_numpy().tolist()))
    sp = truth[truth.kind == "cohort_spike"]
    bad |= {(y + 1, s, g + 1, subj) for y, s, g, subj in sp[KEYS].to_numpy().tolist()}
    mask = [tuple(x) not in bad for x in cells[KEYS].to_numpy().tolist()]
    return cells[np.array(mask, dtype=bool)]


def fpr(fl: pd.DataFrame, clean: pd.DataFrame) -> tuple[int, int]:
    s = set(map(tuple, fl[KEYS].to_numpy().tolist()))
    k = sum(tuple(x) in s for x in clean[KEYS].to_numpy().tolist())
    return k, len(clean)


def report(obj: pd.DataFrame, truth: pd.DataFrame) -> dict:
    off_fl = flagged_cells(obj, OFFICIAL)
    comb_fl = flagged_cells(obj, ["combined"])
    t = truth.copy()
    t["official"] = hits(t, off_fl, cohort_partner=True)
    t["combined"] = hits(t, comb_fl, cohort_partner=False)
    signs = [s for s in obj["sign"].unique() if s not in ("objectivity_index",)]
    for s in signs:
        t[s] = hits(t, flagged_cells(obj, [s]), cohort_partner=s.startswith("cohort"))
    order = {"weak": 0, "moderate": 1, "strong": 2}
    tab = t.groupby(["kind", "strength"]).agg(n=("official", "size"), official=("official", "mean"),
                                              combined=("combined", "mean")).reset_index()
    tab = tab.sort_values(["kind", "strength"], key=lambda c: c.map(order) if c.name == "strength" else c)
    pd.set_option("display.width", 200)
    print("\nПолнота (recall) по видам и силе искажений:")
    print(tab.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    mm = t[t.strength.isin(["moderate", "strong"])]
    print(f"\nmoderate+strong: official {mm.official.mean():.3f}  combined {mm.combined.mean():.3f}  (n={len(mm)})")
    # inflated journal marks are their own finding (current assessment, outside combined by
    # design): judged by marks_far_below / marks_lower there
    own = [s for s in ("marks_far_below", "marks_lower") if s in t.columns]
    if own:
        t["finding"] = np.where(t["kind"] == "inflated_journal", t[own].any(axis=1), t["combined"])
        mm = t[t.strength.isin(["moderate", "strong"])]
        print(f"moderate+strong, завышенные отметки за четверть — по своей находке ({', '.join(own)}): "
              f"{mm.finding.mean():.3f}; по видам: "
              + ", ".join(f"{k} {v:.2f}" for k, v in mm.groupby("kind")["finding"].mean().items()))
        for st_ in ("moderate", "strong"):
            d = t[(t.kind == "inflated_journal") & (t.strength == st_)]
            if len(d):
                print(f"  inflated_journal {st_}: своя находка {d.finding.mean():.2f} (n={len(d)})")
    # by the size of the cell (present works), as the report labels informativeness
    nn = obj[(obj["sign"] == "combined")][KEYS + ["n"]].astype({"year": "int64", "grade": "int64"})
    mmn = mm.merge(nn, on=KEYS, how="left")
    for lab, sel in (("n ≥ 20", mmn["n"] >= 20), ("n < 20", mmn["n"] < 20)):
        d = mmn[sel]
        if len(d):
            print(f"  {lab}: official {d.official.mean():.3f}  combined {d.combined.mean():.3f}  (n={len(d)})")
    # moderate cases by kind and size (the finding: combined, for inflated journal marks their own)
    if "finding" in t.columns:
        md = t[t.strength == "moderate"].merge(nn, on=KEYS, how="left")
        md["размер"] = np.where(md["n"] >= 20, "n ≥ 20", "n < 20")
        tab_n = md.pivot_table(index="kind", columns="размер", values="finding", aggfunc=["mean", "size"])
        print("  moderate по видам и размеру ячейки (доля найденных, число ячеек):")
        print("    " + tab_n.round(2).to_string().replace("\n", "\n    "))
    # FPR
    off_cells = assessed_cells(obj, OFFICIAL)
    off_cells = off_cells[off_cells.grade.isin([4, 5])]
    comb_cells = assessed_cells(obj, ["combined"])
    k1, n1 = fpr(off_fl, clean_set(truth, off_cells))
    k2, n2 = fpr(comb_fl, clean_set(truth, comb_cells))
    elig = comb_cells[comb_cells.grade.between(4, 8) & comb_cells.subject.isin(["Русский язык", "Математика"])]
    k3, n3 = fpr(comb_fl, clean_set(truth, elig))
    print("\nДоля ложных срабатываний на чистых ячейках школа × класс × предмет × год:")
    print(f"  официальные признаки (4–5 кл., рус./мат.): {k1}/{n1} = {100 * k1 / max(n1, 1):.2f} %")
    print(f"  совокупность msoko (все ячейки ВПР):        {k2}/{n2} = {100 * k2 / max(n2, 1):.2f} %")
    print(f"  совокупность msoko (4–8 кл., рус./мат.):    {k3}/{n3} = {100 * k3 / max(n3, 1):.2f} %")
    print("\nОтдельные признаки: полнота по видам (moderate+strong) и доля ложных срабатываний:")
    rows = []
    for s in signs:
        sc = assessed_cells(obj, [s])
        k, n = fpr(flagged_cells(obj, [s]), clean_set(truth, sc))
        rec = mm.groupby("kind")[s].mean()
        rows.append({"sign": s, **{k_: round(v, 2) for k_, v in rec.items()}, "FPR %": round(100 * k / max(n, 1), 2),
                     "clean": n})
    print(pd.DataFrame(rows).to_string(index=False))
    return {"recall_mm_combined": float(mm.combined.mean()), "fpr_combined": k2 / max(n2, 1),
            "recall_mm_official": float(mm.official.mean()), "fpr_official": k1 / max(n1, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Бенчмарк диагностики объективности на демо-муниципалитете")
    ap.add_argument("--raw", type=Path, nargs="+", help="готовые папки демо (иначе создаётся msoko demo); "
                                                        "несколько — результаты объединяются")
    ap.add_argument("--processed", type=Path, nargs="+", help="готовые папки обработанных таблиц (по одной "
                                                              "на папку --raw)")
    ap.add_argument("--schools", type=int, default=120)
    ap.add_argument("--seeds", default="2", help="зёрна демо через запятую (результаты объединяются)")
    ap.add_argument("--years", default="2021-2023")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timing-only", action="store_true", help="только время расчёта")
    ap.add_argument("--only-years", help="ограничить таблицы годами, например 2022-2023 (для замера времени)")
    ap.add_argument("--real", type=Path, help="папка реальных данных (без заложенной истины): только доли "
                                              "отмеченных ячеек по признакам")
    ap.add_argument("--save", type=Path, help="записать объединённую таблицу признаков (и истину) в эту папку")
    ap.add_argument("--speed", type=int, metavar="N", help="с --processed: N раз compute_objectivity «до» "
                    "(Nelder–Mead, тесты без кэша) и «после», медианы рядом и расхождение p-значений")
    a = ap.parse_args(argv)
    if a.speed or a.real is not None:     # one folder of processed tables there
        if a.processed is not None and len(a.processed) != 1:
            sys.exit("С --speed и --real указывается одна папка --processed.")
        a.processed = a.processed[0] if a.processed else None
    if a.speed:
        speed(a)
        return 0
    if a.real is not None:
        real_rates(a)
        return 0
    if a.raw is not None:
        procs = a.processed or [None] * len(a.raw)
        if len(procs) != len(a.raw):
            sys.exit(f"Папок --processed ({len(procs)}) должно быть столько же, сколько папок --raw ({len(a.raw)}).")
        runs = list(zip(a.raw, procs))
    else:
        runs = [(None, None) for _ in a.seeds.split(",")]
    objs, truths = [], []
    for i, (raw, processed) in enumerate(runs):
        seed = int(a.seeds.split(",")[i]) if a.raw is None else None
        obj, truth = run_one(a, raw, processed, seed)
        if truth is not None:
            tag = f"s{seed}:" if seed is not None else (f"r{i}:" if len(runs) > 1 else "")
            objs.append(obj.assign(school_id=tag + obj["school_id"].astype(str).where(obj["school_id"].notna(), "")))
            truths.append(truth.assign(school_id=tag + truth["school_id"]))
    if objs and a.save is not None:
        a.save.mkdir(parents=True, exist_ok=True)
        pd.concat(objs, ignore_index=True).to_parquet(a.save / "objectivity.parquet")
        pd.concat(truths, ignore_index=True).to_parquet(a.save / "truth.parquet")
    if objs:
        if len(objs) > 1:
            print(f"\n=== Все прогоны вместе ({len(objs)} демо) ===")
        report(pd.concat(objs, ignore_index=True), pd.concat(truths, ignore_index=True))
    return 0


def run_one(a, raw, processed, seed):
    tmp = Path(tempfile.mkdtemp(prefix="msoko_bench_obj_"))
    if raw is None:
        from msoko.demo import generate
        y1, y2 = (int(x) for x in a.years.split("-"))
        raw = tmp / "raw"
        t0 = time.perf_counter()
        generate(out_dir=raw, seed=seed, n_schools=a.schools, years=(y1, y2))
        print(f"demo: {a.schools} школ, зерно {seed}, {time.perf_counter() - t0:.1f} с")
    if processed is None or not (processed / "vpr.parquet").exists():
        from msoko.ingest import ingest
        processed = processed or tmp / "processed"
        t0 = time.perf_counter()
        ingest(raw_dir=raw, processed_dir=processed, jobs=a.jobs, progress=False)
        print(f"ingest: {time.perf_counter() - t0:.1f} с")
    t0 = time.perf_counter()
    tables = load_tables(processed)
    t_load = time.perf_counter() - t0
    if a.only_years:
        y1, y2 = (int(x) for x in a.only_years.split("-"))
        tables = {k: (v[v["year"].between(y1, y2)].reset_index(drop=True) if "year" in v.columns else v)
                  for k, v in tables.items()}
    from msoko.objectivity import run_objectivity
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_objectivity(tables, {})
    obj = res.frame
    t_comp, c_comp = time.perf_counter() - t0, time.process_time() - c0
    nv = len(tables.get("vpr", []))
    nt = len(tables.get("vpr_tasks", []))
    ns = tables["vpr"]["school_id"].nunique() if "vpr" in tables else 0
    print(f"\nВремя: чтение таблиц {t_load:.1f} с; все признаки compute_objectivity {t_comp:.1f} с "
          f"(процессорное время {c_comp:.1f} с; школ {ns}, строк vpr {nv:,}, vpr_tasks {nt:,}, "
          f"строк результата {len(obj):,})".replace(",", " "))
    print("  по шагам, с: " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items()))
    if a.timing_only:
        return obj, None
    return obj, load_truth(raw)


def speed(a) -> None:
    """compute_objectivity before/after the faster beta-binomial fit and the kept per-test arrays,
    interleaved N times on the same tables (medians), with the largest difference of p-values."""
    import msoko.stats as ms
    from msoko.objectivity import run_objectivity
    from msoko.objectivity.evidence import TaskMatrix

    tables = load_tables(a.processed)
    setups = {"до (Nelder–Mead, без кэша)": ("Nelder-Mead", False), "после (Ньютон, кэш)": ("Newton", True)}
    times = {k: [] for k in setups}
    steps = {k: [] for k in setups}
    out = {}
    try:
        for _ in range(a.speed):
            for name, (meth, cache) in setups.items():
                ms.BETABINOM_METHOD, TaskMatrix.CACHE_TESTS = meth, cache
                t0 = time.perf_counter()
                res = run_objectivity(tables, {})
                out[name] = res.frame
                times[name].append(time.perf_counter() - t0)
                steps[name].append(res.timings)
    finally:
        ms.BETABINOM_METHOD, TaskMatrix.CACHE_TESTS = "Newton", True
    print(f"\ncompute_objectivity на {a.processed} ({a.speed} раз(а) каждый вариант, по очереди), медиана, с:")
    keys = list(steps[next(iter(setups))][0])
    for name in setups:
        med = {k: float(np.median([s_.get(k, np.nan) for s_ in steps[name]])) for k in keys}
        print(f"  {name}: всего {np.median(times[name]):.1f}; "
              + ", ".join(f"{k} {v:.1f}" for k, v in med.items() if v >= 0.05))
    o1, o2 = (out[k] for k in setups)
    m = o1.merge(o2, on=KEYS + ["sign"], how="outer", suffixes=("_0", "_1"), indicator=True)
    both = m[m["_merge"] == "both"]
    p0, p1 = both["p_value_0"].astype(float), both["p_value_1"].astype(float)
    fin = p0.notna() & p1.notna()
    lp = np.abs(np.log10(p0[fin].clip(lower=1e-300)) - np.log10(p1[fin].clip(lower=1e-300)))
    f0 = both["flagged_0"].fillna(False).astype(bool)
    f1 = both["flagged_1"].fillna(False).astype(bool)
    print(f"  p-значения: строк {int(fin.sum())}, наибольшая |Δp| {float((p0 - p1)[fin].abs().max()):.2e}, "
          f"наибольшая |Δlog10 p| {float(lp.max()):.2e}, |Δp| > 1e-3 у {int(((p0 - p1)[fin].abs() > 1e-3).sum())}; "
          f"отметки расходятся у {int((f0 != f1).sum())} строк (по признакам: "
          f"{both.loc[f0 != f1, 'sign'].value_counts().to_dict()}); строк только в одном: "
          f"{int((m['_merge'] != 'both').sum())}")


def real_rates(a) -> pd.DataFrame:
    """Real data (no planted truth): per sign, assessed school × work cells and the share flagged."""
    _, processed = a.real, a.processed
    obj, _ = run_one(argparse.Namespace(**{**vars(a), "timing_only": True}), a.real, processed, None)
    r = obj[obj["school_id"].notna() & obj["flagged"].notna()]
    tab = r.groupby("sign").agg(assessed=("flagged", "size"),
                                flagged=("flagged", lambda f: int(f.astype(bool).sum()))).reset_index()
    tab["rate %"] = (100 * tab["flagged"] / tab["assessed"]).round(2)
    big = r[r["n"] >= 20]
    t20 = big.groupby("sign").agg(assessed_n20=("flagged", "size"),
                                  flagged_n20=("flagged", lambda f: int(f.astype(bool).sum()))).reset_index()
    tab = tab.merge(t20, on="sign", how="left")
    tab["rate n≥20 %"] = (100 * tab["flagged_n20"] / tab["assessed_n20"]).round(2)
    works = r[KEYS[:1] + KEYS[2:]].drop_duplicates()
    print(f"\nРеальные данные {a.real}: работ (год × класс × предмет) {len(works)}; доля отмеченных ячеек:")
    print(tab.to_string(index=False))
    from msoko.objectivity import calibration_table
    cal = calibration_table(obj)
    print("\nКалибровка (доля ячеек с p < 0,001 и p < 0,01; номинально 0,1 % и 1 %):")
    print(cal[["sign", "cells", "share_001", "ratio_001", "share_01", "ratio_01", "warning"]].to_string(
        index=False, float_format=lambda x: f"{x:.4f}"))
    comb = r[r["sign"] == "combined"].assign(f=lambda d: d["flagged"].astype(bool))
    for col in ("year", "grade"):
        print(f"\ncombined по {col}:", (100 * comb.groupby(col)["f"].mean()).round(2).to_dict())
    size = pd.cut(comb["n"].astype(float), [0, 10, 20, 50, 100, 1e9], right=False,
                  labels=["<10", "10–19", "20–49", "50–99", "≥100"])
    print("combined по числу участников:", (100 * comb.groupby(size, observed=True)["f"].mean()).round(2).to_dict())
    persistence(obj)
    enrichment(obj)
    # flags are rare on real data (a handful per sign): the same at a looser level, p < 0.01
    persistence(obj, level=0.01)
    enrichment(obj, level=0.01)
    if a.save is not None:
        a.save.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(a.save / "objectivity_real.parquet")
    return tab


def _assessed(obj: pd.DataFrame, signs=None, level: float | None = None) -> pd.DataFrame:
    """Assessed school rows, ``flagged`` = the sign's flag, or with ``level`` its p-value < level."""
    r = obj[obj["school_id"].notna() & obj["flagged"].notna()]
    if level is not None:
        r = r[r["p_value"].notna()]
    if signs is not None:
        r = r[r["sign"].isin(signs)]
    r = r[KEYS + ["sign", "flagged", "p_value"]].copy()
    r["year"] = r["year"].astype("int64")
    r["grade"] = r["grade"].astype("int64")
    r["flagged"] = r["flagged"].astype(bool) if level is None else r["p_value"].astype(float) < level
    return r


def _lift(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float, float, float]:
    """For two boolean arrays over the same units: how many ``a``, how many ``a`` and ``b``,
    P(b | a), P(b) and their ratio rounded to 0.01 (NaN where no ``a`` or P(b) = 0)."""
    base = float(b.mean())
    n_a = int(a.sum())
    cond = float(b[a].mean()) if n_a else np.nan
    ratio = round(cond / base, 2) if n_a and base > 0 else np.nan
    return n_a, int((a & b).sum()), cond, base, ratio


def persistence(obj: pd.DataFrame, level: float | None = None) -> pd.DataFrame:
    """Cells (school × grade × subject) and schools flagged in one year against the next year.

    Per sign (and combined): among the units assessed in both years, P(flagged in Y+1 | flagged
    in Y) against P(flagged in Y+1) — the base rate; ratio = their quotient (1 = no persistence:
    a null that flags at random; real, lasting practice gives a ratio well above 1). The same for
    schools (flagged on at least one of their works of the year).
    """
    r = _assessed(obj, level=level)
    r = r[~r["sign"].isin(["objectivity_index"])]
    years = sorted(r["year"].unique())
    rows = []
    for y0, y1 in zip(years[:-1], years[1:]):
        for unit, keys in (("ячейка", ["school_id", "grade", "subject"]), ("школа", ["school_id"])):
            for sign, d in r.groupby("sign"):
                u = d.groupby(["year"] + keys)["flagged"].any().reset_index()
                a = u[u["year"] == y0].drop(columns="year")
                b = u[u["year"] == y1].drop(columns="year")
                m = a.merge(b, on=keys, suffixes=("_0", "_1"))
                if len(m) == 0:
                    continue
                n_a, n_ab, cond, base, ratio = _lift(m["flagged_0"].to_numpy(), m["flagged_1"].to_numpy())
                rows.append({"годы": f"{y0}→{y1}", "единица": unit, "sign": sign, "оба года": len(m),
                             f"отмечено {y0}": n_a, "из них и в след. году": n_ab,
                             "P(след.|отм.) %": round(100 * cond, 2) if np.isfinite(cond) else np.nan,
                             "база %": round(100 * base, 2), "отношение": ratio})
    tab = pd.DataFrame(rows)
    if len(tab):
        what = "отмечено" if level is None else f"p < {level:g}"
        print(f"\nУстойчивость ({what} в году Y → {what} в году Y+1 у той же ячейки школа × класс × предмет "
              "или той же школы; отношение = P(Y+1 | Y) / P(Y+1)):")
        print(tab.to_string(index=False))
    return tab


def enrichment(obj: pd.DataFrame, families: dict | None = None, level: float | None = None) -> pd.DataFrame:
    """Cross-family enrichment on the cells assessed by both families:
    P(B flagged | A flagged) / P(B flagged) for each ordered pair of families of the combined
    picture (1 = the families flag independently; corroboration shows as a ratio above 1)."""
    from msoko.objectivity import settings
    from msoko.objectivity.combined import NOT_COMBINED
    fams = families or settings({})["combined_families"]
    r = _assessed(obj, level=level)
    fam_of = {s: f for f, lst in fams.items() for s in lst if s not in NOT_COMBINED}   # as combined sees them
    r = r[r["sign"].isin(fam_of)]
    r = r.assign(family=r["sign"].map(fam_of))
    w = r.groupby(KEYS + ["family"])["flagged"].any().unstack("family")
    rows = []
    for fa in w.columns:
        for fb in w.columns:
            if fa == fb:
                continue
            d = w[[fa, fb]].dropna().astype(bool)
            if len(d) == 0:
                continue
            na, nab, cond, pb, ratio = _lift(d[fa].to_numpy(), d[fb].to_numpy())
            rows.append({"A": fa, "B": fb, "ячеек": len(d), "отмечено A": na,
                         "A и B": nab, "P(B|A) %": round(100 * cond, 2) if na else np.nan,
                         "P(B) %": round(100 * pb, 3), "обогащение": ratio})
    tab = pd.DataFrame(rows)
    if len(tab):
        what = "отмечено" if level is None else f"p < {level:g} у одного из признаков семейства"
        print(f"\nОбогащение между семействами (P(B {what} | A {what}) / P(B {what}), ячейки, "
              "оценённые обоими):")
        print(tab.to_string(index=False))
    return tab


if __name__ == "__main__":
    raise SystemExit(main())
