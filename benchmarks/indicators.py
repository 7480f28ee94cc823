"""Indicator benchmark on a region-sized input (≈ 700 schools, ≈ 1 million ВПР rows).

    .venv/bin/python benchmarks/indicators.py                       # auto: see below
    .venv/bin/python benchmarks/indicators.py --raw benchmarks/_work/raw_x8   # ingest it, then compute
    .venv/bin/python benchmarks/indicators.py --processed DIR       # an already ingested folder
    .venv/bin/python benchmarks/indicators.py --synthetic 700       # synthetic tables, every system

Input, in this order of preference when nothing is given:
1. ``benchmarks/_work/processed_raw_x8_ind`` (written by ``--raw benchmarks/_work/raw_x8``, with
   the ingest time saved beside it) or ``benchmarks/_work/processed_x8`` — the real Altai sample
   replicated 8 times by benchmarks/ingest.py (664 schools, 1.33 million ВПР rows, 20.6 million
   task rows; ВПР only, the other systems empty);
2. synthetic processed tables in the contract of docs/architecture.md
   (``benchmarks/indicators_synthetic.py``: 700 schools, every system, 3 years), written once
   to ``benchmarks/_work/indicators_synthetic_<n>``.

Each stage runs in a fresh subprocess and is timed separately: the ingest (when ``--raw`` is
given; otherwise its time is read from the folder's ``ingest_log.txt`` if there is one),
loading the tables, all indicators (``compute_indicators``), the management cycle and
writing the results. The objectivity diagnostics have their own benchmark
(benchmarks/objectivity.py) and are not included. Target: indicators under 30 s on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work"

CHILD_INGEST = r"""
import json, sys, time
from msoko.ingest import ingest
t = time.perf_counter()
r = ingest(raw_dir=sys.argv[1], processed_dir=sys.argv[2], jobs=int(sys.argv[3]), progress=False)
print(json.dumps({"wall": time.perf_counter() - t, "ok": bool(r.ok)}))
"""

CHILD_COMPUTE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from msoko.compute import load_tables
from msoko.config import load_config
from msoko.cycle import management_cycle
from msoko.indicators import compute_indicators, load_catalogue
from msoko.store import write_table
import tempfile
config = load_config()
t = time.perf_counter()
tables = load_tables(sys.argv[1])
t_load = time.perf_counter() - t
t = time.perf_counter()
c = time.process_time()
res = compute_indicators(tables, config)
t_ind = time.perf_counter() - t
c_ind = time.process_time() - c
t = time.perf_counter()
c = time.process_time()
cy = management_cycle(res.indicators, load_catalogue(), config, measures=tables.get("measures"), meta=res.meta,
                      notes=res.notes)
t_cycle = time.perf_counter() - t
c_cycle = time.process_time() - c
t = time.perf_counter()
with tempfile.TemporaryDirectory() as d:
    write_table(res.indicators, d, "indicators")
t_write = time.perf_counter() - t
vpr = tables.get("vpr")
tasks = tables.get("vpr_tasks")
print(json.dumps({
    "load": t_load, "indicators": t_ind, "indicators_cpu": c_ind, "cycle_cpu": c_cycle, "cycle": t_cycle, "write": t_write,
    "process": time.perf_counter() - t0,
    "rows_out": len(res.indicators), "computed": int(res.indicators["indicator"].nunique()),
    "not_computed": len(res.notes), "vpr_rows": 0 if vpr is None else len(vpr),
    "task_rows": 0 if tasks is None else len(tasks),
    "schools": 0 if vpr is None else int(vpr["school_id"].nunique()),
    "findings": int(sum(len(c.analysis) for c in cy.values())),
    "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"сбой дочернего процесса ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _n(x: int) -> str:
    return f"{x:,}".replace(",", " ")


def _ingest_time_from_log(processed: Path) -> float | None:
    saved = processed / "_bench_ingest.json"
    if saved.exists():
        return float(json.loads(saved.read_text(encoding="utf-8"))["wall"])
    log = processed / "ingest_log.txt"
    if not log.exists():
        return None
    found = re.findall(r"Готово за ([\d.,]+)\s*с", log.read_text(encoding="utf-8", errors="replace"))
    return float(found[-1].replace(",", ".")) if found else None


def _synthetic(n: int) -> Path:
    sys.path.insert(0, str(HERE))
    from indicators_synthetic import make_tables

    from msoko.store import write_table
    out = WORK / f"indicators_synthetic_{n}"
    if (out / "vpr.parquet").exists():
        return out
    print(f"Генерация синтетических таблиц: {n} школ…", file=sys.stderr)
    t = time.perf_counter()
    tables = make_tables(n, students_per_grade=27, seed=2021)
    for name, df in tables.items():
        write_table(df, out, name)
    print(f"  готово за {time.perf_counter() - t:.0f} с", file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Бенчмарк расчёта показателей на данных размера региона.")
    ap.add_argument("--processed", type=Path, default=None, help="папка обработанных данных")
    ap.add_argument("--raw", type=Path, default=None, help="папка исходных данных: сначала загрузить (замер)")
    ap.add_argument("--jobs", type=int, default=2, help="процессов загрузки (по умолчанию 2)")
    ap.add_argument("--synthetic", type=int, default=None, metavar="N", help="синтетические таблицы на N школ")
    args = ap.parse_args(argv)

    ingest_wall, source = None, ""
    if args.raw is not None:
        processed = args.processed or WORK / f"processed_{args.raw.name}_ind"
        print(f"Загрузка {args.raw} → {processed} (jobs={args.jobs})…", file=sys.stderr)
        ing = _child(CHILD_INGEST, str(args.raw), str(processed), str(args.jobs))
        ingest_wall, source = ing["wall"], f"загрузка {args.raw} (измерено сейчас)"
        import os
        (processed / "_bench_ingest.json").write_text(json.dumps(
            {"wall": ing["wall"], "raw": str(args.raw), "jobs": args.jobs, "load": os.getloadavg()[0],
             "at": time.strftime("%Y-%m-%d %H:%M:%S")}), encoding="utf-8")
    elif args.synthetic:
        processed = _synthetic(args.synthetic)
        source = "синтетические таблицы (загрузка не выполнялась)"
    elif args.processed is not None:
        processed = args.processed
    elif (WORK / "processed_raw_x8_ind" / "vpr.parquet").exists():
        processed = WORK / "processed_raw_x8_ind"
    elif (WORK / "processed_x8" / "vpr.parquet").exists():
        processed = WORK / "processed_x8"
    else:
        processed = _synthetic(700)
        source = "синтетические таблицы (загрузка не выполнялась)"
    if ingest_wall is None and not source:
        ingest_wall = _ingest_time_from_log(processed)
        source = ("измерено раньше этим бенчмарком (--raw) или из ingest_log.txt" if ingest_wall is not None
                  else "время загрузки неизвестно: запустите с --raw")

    print(f"Входные данные: {processed}", file=sys.stderr)
    r = _child(CHILD_COMPUTE, str(processed))
    print(f"Данные: {r['schools']} школ, ВПР {_n(r['vpr_rows'])} строк, заданий {_n(r['task_rows'])} строк")
    import os
    print(f"Загрузка машины (load average за 1 мин): {os.getloadavg()[0]:.1f} при {os.cpu_count()} ядрах")
    if ingest_wall is not None:
        print(f"Загрузка (msoko ingest): {ingest_wall:.1f} с — {source}")
    else:
        print(f"Загрузка (msoko ingest): — ({source})")
    print(f"Чтение таблиц:           {r['load']:.1f} с")
    print(f"Показатели (все):        {r['indicators']:.1f} с (процессорное время {r['indicators_cpu']:.1f} с) — "
          f"рассчитано {r['computed']}, не рассчитано {r['not_computed']}, строк {_n(r['rows_out'])}")
    print(f"Управленческий цикл:     {r['cycle']:.1f} с (процессорное время {r['cycle_cpu']:.1f} с) — "
          f"зон внимания {_n(r['findings'])}")
    print(f"Запись indicators.parquet: {r['write']:.1f} с")
    print(f"Процесс целиком:         {r['process']:.1f} с; пиковая память {r['peak_gib']:.2f} ГиБ")
    total = r["load"] + r["indicators"] + r["cycle"] + r["write"]
    print(f"Цель: показатели < 30 с — {'да' if r['indicators'] < 30 else 'НЕТ'} по часам, "
          f"{'да' if r['indicators_cpu'] < 30 else 'НЕТ'} по процессорному времени "
          f"(чтение + показатели + цикл + запись = {total:.1f} с)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
