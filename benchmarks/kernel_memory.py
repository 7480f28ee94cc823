"""Memory and CPU of one school report's kernel: the whole processed folder loaded (before issue 25) against
the school's municipality only (after), on generated demo regions of two sizes.

For each size ``SCHOOLS:MUNICIPALITIES`` it generates a demo region (``msoko demo``), ingests and computes it
once (kept in the work folder: a second call reuses them), then, in a fresh subprocess for each way of
loading, runs the school notebook's cells (the calls the school report makes: load, every ``show_*``) for
one school of the first municipality and prints the subprocess's peak RSS and CPU time (resource.getrusage),
side by side, and whether both ways gave the same HTML.

    .venv/bin/python benchmarks/kernel_memory.py --work /tmp/km --sizes 60:6 600:60

Kernel memory stays flat when the «slice» column does not grow from the small region to the large one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rusage_children() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime, r.ru_maxrss / 1024


def _step(what: str, cmd: list[str]) -> dict:
    """Run a msoko command, timed: wall and CPU (of that command's process)."""
    cpu0, _ = _rusage_children()
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t
    cpu = _rusage_children()[0] - cpu0
    if out.returncode not in (0, 1):
        raise SystemExit(f"{what}: код {out.returncode}\n{out.stderr[-2000:]}")
    print(f"  {what}: {wall:.1f} с (CPU {cpu:.1f} с)", flush=True)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}


def prepare(work: Path, schools: int, munis: int, years: str, seed: int) -> tuple[Path, dict]:
    """The demo region's processed folder (generated, ingested and computed once)."""
    raw, processed = work / f"raw_{schools}_{munis}", work / f"p_{schools}_{munis}"
    timing_path = work / f"timing_{schools}_{munis}.json"
    if (processed / "indicators.parquet").exists() and timing_path.exists():
        return processed, json.loads(timing_path.read_text())
    py = sys.executable
    print(f"Регион {schools} школ в {munis} муниципалитетах:", flush=True)
    timing = {"demo": _step("msoko demo", [py, "-m", "msoko", "demo", "--out", str(raw), "--schools", str(schools),
                                           "--municipalities", str(munis), "--years", years, "--seed", str(seed)]),
              "ingest": _step("msoko ingest", [py, "-m", "msoko", "ingest", "--raw", str(raw),
                                               "--processed", str(processed)]),
              "compute": _step("msoko compute", [py, "-m", "msoko", "compute", "--processed", str(processed)])}
    timing_path.write_text(json.dumps(timing))
    return processed, timing


def child(processed: str, school_id: str, mode: str) -> None:
    """One school report in this (fresh) process: the school notebook's cells, the whole folder or the slice."""
    from msoko import plots, report  # noqa: F401 - what a warm kernel imports before its first report
    from msoko.report import data as D
    from msoko.runner.inprocess import run_cells, shown_html

    t_imports = time.process_time()
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mode == "whole":
        D._slice_of = lambda *a: None   # as every kernel loaded before issue 25
    ns: dict = {}
    html = hashlib.sha256()
    t0 = time.process_time()
    for _, v in run_cells("school", {"processed_dir": processed, "school_id": school_id}, ns=ns):
        html.update(shown_html(v).encode())
    r = resource.getrusage(resource.RUSAGE_SELF)
    data = ns["data"]
    import pandas as pd

    frames = {"indicators": data.indicators, "indicator_items": data.indicator_items,
              "objectivity": data.objectivity, "schools": data.schools,
              **{k: v for k, v in data.tables.items() if isinstance(k, str) and isinstance(v, pd.DataFrame)}}
    sizes = sorted(((k, v.memory_usage(deep=True).sum() / 2**20) for k, v in frames.items()), key=lambda x: -x[1])
    print(json.dumps({"peak_rss_mb": round(r.ru_maxrss / 1024, 1), "cpu_s": round(r.ru_utime + r.ru_stime, 2),
                      "report_cpu_s": round(time.process_time() - t0, 2), "imports_cpu_s": round(t_imports, 2),
                      "imports_rss_mb": round(rss_imports, 1),
                      "indicator_rows": int(len(data.indicators) + len(data.indicator_items)),
                      "objectivity_rows": int(len(data.objectivity)), "html": html.hexdigest()[:12],
                      "tables_mb": round(sum(v for _, v in sizes), 1),
                      "largest": {k: round(v, 1) for k, v in sizes[:5]}}))


def measure(processed: Path, school_id: str, mode: str) -> dict:
    from msoko.runner.kernel import KERNEL_ENV   # the environment of msoko run's report kernels

    env = {**os.environ, "PYTHONPATH": str(REPO), "ARROW_DEFAULT_MEMORY_POOL": KERNEL_ENV["ARROW_DEFAULT_MEMORY_POOL"]}
    out = subprocess.run([sys.executable, __file__, "--child", str(processed), school_id, mode],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"отчёт {school_id} ({mode}): код {out.returncode}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_school(processed: Path) -> tuple[str, str]:
    """The first school (by login) of the first municipality that wrote ВПР, found in a subprocess: a child's
    peak RSS on Linux starts from its parent's RSS at the fork, so the parent reads no table itself."""
    out = subprocess.run([sys.executable, __file__, "--pick", str(processed)], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    sid, muni = json.loads(out.stdout.strip().splitlines()[-1])
    return sid, muni


def _pick(processed: Path) -> tuple[str, str]:
    import pandas as pd

    s = pd.read_parquet(processed / "schools.parquet")
    s = s[~s["is_preschool"].fillna(False).astype(bool)]
    wrote = set(pd.read_parquet(processed / "vpr.parquet", columns=["school_id"])["school_id"].astype(str))
    m = sorted(s["municipality"].dropna().astype(str).unique())[0]
    ids = sorted(set(s.loc[s["municipality"] == m, "school_id"].astype(str)) & wrote)
    return ids[0], m


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--pick":
        print(json.dumps(_pick(Path(sys.argv[2]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="рабочая папка (демо-регионы и их обработанные данные)")
    ap.add_argument("--sizes", nargs="+", default=["60:6", "600:60"], help="школ:муниципалитетов")
    ap.add_argument("--years", default="2022-2023")
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        n, m = (int(x) for x in size.split(":"))
        processed, timing = prepare(work, n, m, args.years, args.seed)
        sid, muni = first_school(processed)
        res = {mode: measure(processed, sid, mode) for mode in ("whole", "slice")}
        rows.append((f"{n} школ / {m} мун.", timing, sid, res))
        for k, v in res.items():
            print(f"  отчёт школы {sid} ({muni}), {k}: пик {v['peak_rss_mb']} МБ, CPU {v['cpu_s']} с; таблицы "
                  f"{v.get('tables_mb')} МБ, крупнейшие: {v.get('largest')}", flush=True)
    print()
    head = ["регион", "загрузка+расчёт, с", "RSS после импортов, МБ", "пик RSS: всё, МБ", "пик RSS: срез, МБ",
            "таблицы в памяти: всё / срез, МБ", "CPU: всё, с", "CPU: срез, с", "CPU отчёта: всё / срез, с",
            "строк показателей: всё / срез", "HTML одинаков"]
    print(" | ".join(head))
    for name, timing, sid, res in rows:
        w, s = res["whole"], res["slice"]
        print(" | ".join(map(str, [name, f"{timing['ingest']['wall_s']} + {timing['compute']['wall_s']}",
                                   w["imports_rss_mb"], w["peak_rss_mb"], s["peak_rss_mb"],
                                   f"{w['tables_mb']} / {s['tables_mb']}", w["cpu_s"], s["cpu_s"],
                                   f"{w['report_cpu_s']} / {s['report_cpu_s']}",
                                   f"{w['indicator_rows']} / {s['indicator_rows']}",
                                   "да" if w["html"] == s["html"] else "НЕТ"])))


if __name__ == "__main__":
    main()
