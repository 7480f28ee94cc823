"""``msoko run`` — the annual run: ingest → compute → every report notebook → HTML → index.

Exit codes (also in docs/scheduling.md):

* 0 — every report built (or unchanged);
* 1 — the run finished but some reports failed (listed in the summary and on index.html), an
  input file could not be read or does not balance (ingest_report.csv), or a
  step of compute failed (named in the summary, on index.html and in compute_log.csv);
* 2 — user/input error (no data, unknown school or municipality, another run holds the lock …).

Layout of ``<reports>``::

    index.html                         entry page
    manifest.json                      versions, input hashes, parameters, timings, status
    run.log                            log with timestamps (--log)
    <year>/schools/<school_id>.html    one per school
    <year>/municipality/<name>.html
    <year>/objectivity/<year>.html
    _executed/<same path>.ipynb        executed notebooks: of a failed report always (the error is in it),
                                       of the others only with --keep-notebooks
    _state/                            hash cache and per-report fingerprints (incremental runs)

A report is rebuilt only when its fingerprint changes: notebook file, parameters,
library version (hash of msoko/ sources), the processed tables it reads, or the
versions of Python and the key packages.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from msoko.errors import MsokoError
from msoko.store import FolderLock, writing_to
from msoko.runner.plan import ReportJob, plan
from msoko.runner.state import (HashCache, atomic_write, data_files, dir_state, library_hash,
                                load_manifest, package_versions, sha256_bytes, sha256_json)

log = logging.getLogger("msoko.runner")

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
COMPUTE_STATE = ".msoko_compute_state.json"
COMPUTE_FAILED = "выполнен с ошибками"   # run_compute's status when a step of compute failed
INGEST_FAILED = "выполнена с ошибками"   # run_ingest's: a file unread or unbalanced
DEFAULT_CELL_TIMEOUT = 1800
# what a report cost, from its worker (manifest.json, per report): CPU s (worker + kernel), kernel's CPU s
# and its kernel's peak resident memory, MB
USAGE_KEYS = ("cpu_s", "kernel_cpu_s", "kernel_peak_rss_mb", "stage_cpu_s")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def default_notebooks_dir() -> Path:
    here = Path("notebooks")
    if here.is_dir():
        return here.resolve()
    return Path(__file__).resolve().parents[2] / "notebooks"


# ---------------------------------------------------------------- logging / lock
def setup_logging(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    h = logging.FileHandler(path, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(message)s",
                                     "%Y-%m-%d %H:%M:%S%z"))
    h.setLevel(logging.INFO)
    log.addHandler(h)
    log.setLevel(logging.INFO)
    return h


class RunLock(FolderLock):
    """``<reports>/.run.lock``: two overlapping scheduled runs must not write the same files."""

    def __init__(self, reports_dir: Path):
        super().__init__(reports_dir, ".run.lock",
                         "Другой прогон msoko run (процесс {pid}) уже пишет в {folder}. "
                         "Дождитесь его окончания или удалите {lock}, если он завис.")


# ---------------------------------------------------------------- stages
def run_ingest(raw: Path, processed: Path, jobs: int, progress: bool | None = None) -> str:
    has_raw = raw.is_dir() and any(p.name != ".gitkeep" for p in raw.iterdir())
    if not has_raw:
        if data_files(processed):
            log.info("нет исходных данных в %s — загрузка пропущена, берутся таблицы из %s", raw, processed)
            return "пропущена (нет исходных данных, использованы готовые таблицы)"
        raise MsokoError(f"Нет исходных данных в {raw} и обработанных таблиц в {processed}. "
                         "Положите выгрузки в папку исходных данных или создайте демо: msoko demo.")
    try:
        from msoko.ingest import ingest
    except ImportError:
        if data_files(processed):
            log.warning("модуль загрузки недоступен — используются готовые таблицы")
            return "пропущена (модуль загрузки недоступен)"
        raise MsokoError("Модуль загрузки данных (msoko.ingest) недоступен, а обработанных таблиц нет.")
    t = time.perf_counter()
    result = ingest(raw_dir=raw, processed_dir=processed, jobs=jobs, progress=progress)
    ok = getattr(result, "ok", True)
    log.info("загрузка: %.2f с, ok=%s", time.perf_counter() - t, ok)
    unread = [f.file for f in getattr(result, "unreadable", []) if f.status != "refused"]
    refused = [f.file for f in getattr(result, "unreadable", []) if f.status == "refused"]
    unbalanced = [f.file for f in getattr(result, "files", []) if not f.balanced]
    if unread or refused or unbalanced:   # work not done: the run carries on, its exit code says so (as msoko ingest's)
        what = []
        if unread:
            what.append("не прочитаны: " + ", ".join(f"«{f}»" for f in unread))
        if refused:
            what.append("все строки отклонены (см. rejects.csv): " + ", ".join(f"«{f}»" for f in refused))
        if unbalanced:
            what.append("баланс строк не сходится: " + ", ".join(f"«{f}»" for f in unbalanced))
        for w in what:
            log.error("загрузка: %s", w)
        return f"{INGEST_FAILED}: {'; '.join(what)} (см. {processed / 'ingest_report.csv'})"
    return "выполнена"


def run_compute(processed: Path, config: str | None, lib_hash: str, cache: HashCache,
                on_start: Callable[[], Any] | None = None) -> str:
    """Skip when the processed folder, the config and the library are as after the last compute.
    ``on_start`` is called only when the computation does run (``msoko run`` starts its report
    workers then, so that they warm up on the cores the computation leaves idle)."""
    state_path = processed / COMPUTE_STATE
    cfg_hash = cache.file(Path(config)) if config else None
    before = dir_state(processed, cache, exclude=("ingest_state.json",))
    try:
        saved = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if saved.get("lib") == lib_hash and saved.get("config") == cfg_hash and saved.get("state") == before:
        log.info("расчёт пропущен: входные таблицы, конфигурация и библиотека не изменились")
        return "пропущен (входные данные не изменились)"
    try:
        from msoko.compute import compute
    except ImportError:
        log.warning("модуль расчёта (msoko.compute) недоступен — расчёт пропущен")
        return "пропущен (модуль расчёта недоступен)"
    if on_start is not None:
        on_start()
    t = time.perf_counter()
    with writing_to(processed), FolderLock(processed):
        result = compute(processed_dir=processed, config_path=config)
    log.info("расчёт: %.2f с", time.perf_counter() - t)
    failures = list(getattr(result, "failures", None) or [])
    if failures:
        # named in the log and the summary; the state is not saved, so the next run computes again
        # instead of calling the partial results «unchanged»
        for message in dict.fromkeys(r.get("message_ru", "") for r in failures):
            log.error("расчёт: %s", message)
        items = sorted({str(r.get("item")) for r in failures if r.get("item") not in (None, "*")})
        what = ", ".join(items) or ", ".join(sorted({str(r.get("step")) for r in failures}))
        return f"{COMPUTE_FAILED}: не выполнено — {what} (подробности — {processed / 'compute_log.csv'})"
    after = dir_state(processed, cache, exclude=("ingest_state.json",))
    atomic_write(state_path, json.dumps({"lib": lib_hash, "config": cfg_hash, "state": after},
                                        ensure_ascii=False, indent=1))
    return "выполнен"


# ---------------------------------------------------------------- reports
class GroupProgress:
    """Progress per municipality on a run of several: a line when all of a municipality's reports to
    build are done (in the log, and above the progress bar when it is shown), and the bar names the
    municipality being built. A run of one municipality (or none) shows the bar alone, as before."""

    def __init__(self, todo: list[ReportJob], bar: Any = None):
        self.bar = bar
        self.left: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.total: dict[str, int] = {}
        for j in todo:
            if j.group:
                self.total[j.group] = self.total.get(j.group, 0) + 1
        self.left = dict(self.total)
        self.finished = 0
        self.on = len(self.total) > 1

    def done(self, job: ReportJob, ok: bool) -> None:
        if not self.on or not job.group:
            return
        g = job.group
        self.left[g] -= 1
        self.failed[g] = self.failed.get(g, 0) + (not ok)
        if self.bar is not None and not self.bar.disable:
            self.bar.set_postfix_str(f"{g}: {self.total[g] - self.left[g]} из {self.total[g]}", refresh=False)
        if self.left[g]:
            return
        self.finished += 1
        bad = self.failed[g]
        line = (f"Муниципалитет {self.finished} из {len(self.total)} готов — «{g}»: отчётов {self.total[g]}"
                + (f", с ошибками {bad}" if bad else ""))
        log.info(line)
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stderr)


def build_reports(jobs: list[ReportJob], reports_dir: Path, *, executor: str = "local",
                  n_jobs: int | None = None, scheduler: Any = None, force: bool = False,
                  fresh_kernel: bool = False, timeout: float | None = DEFAULT_CELL_TIMEOUT,
                  progress: bool | None = None, exporter: str = "auto",
                  pool: Any = None, keep_notebooks: bool = False) -> list[dict[str, Any]]:
    """Build the reports whose fingerprint changed; return one manifest entry per job.
    ``pool``: a started :class:`executors.LocalPool` to use (local executor).

    The executed notebook of a failed report is always written (``_executed/``, for diagnosis); of a
    report built, only with ``keep_notebooks`` — otherwise an older copy is removed, and its manifest
    entry has ``executed`` None. A report is up to date without its executed notebook unless
    ``keep_notebooks`` asks for it."""
    from msoko.runner import executors

    reports_dir = Path(reports_dir)
    state_path = reports_dir / "_state" / "reports.json"
    state = load_manifest(state_path)
    entries: dict[str, dict[str, Any]] = {}
    todo: list[ReportJob] = []
    for j in jobs:
        prev = state.get(j.key) or {}
        entry = {"key": j.key, "kind": j.kind, "title": j.title, "label": j.label, "group": j.group,
                 "notebook": str(j.notebook), "notebook_hash": j.notebook_hash, "params": j.params,
                 "inputs": sorted(j.inputs), "data_version": j.data_version, "fingerprint": j.fingerprint,
                 "html": j.html_rel, "executed": j.executed_rel}
        kept = (reports_dir / j.executed_rel).exists()
        up_to_date = (not force and prev.get("fingerprint") == j.fingerprint and prev.get("status") == "ok"
                      and (reports_dir / j.html_rel).exists() and (kept or not keep_notebooks))
        if up_to_date:
            entry.update(status="unchanged", built_at=prev.get("built_at"), duration_s=prev.get("duration_s"),
                         worker=prev.get("worker"), **{k: prev[k] for k in USAGE_KEYS if k in prev})
            if not kept:
                entry["executed"] = None
        else:
            todo.append(j)
        entries[j.key] = entry
    by_key = {j.key: j for j in todo}
    log.info("отчётов: %d, к построению: %d, без изменений: %d", len(jobs), len(todo), len(jobs) - len(todo))

    bar = None
    if todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="Отчёты", unit="отч.", file=sys.stderr,
                   disable=(None if progress is None else not progress), dynamic_ncols=True)
    groups = GroupProgress(todo, bar)

    def on_result(res: dict[str, Any]) -> None:
        j = by_key[res["key"]]
        e = entries[j.key]
        e.update({k: res[k] for k in USAGE_KEYS if res.get(k) is not None})   # kept for unchanged re-runs
        if res.get("executed") and (keep_notebooks or res["status"] != "ok"):
            atomic_write(reports_dir / j.executed_rel, res["executed"])
        elif res["status"] == "ok":   # not asked for: an older copy would not match the new report
            (reports_dir / j.executed_rel).unlink(missing_ok=True)
            e["executed"] = None
        html_path = reports_dir / j.html_rel
        if res["status"] == "ok":
            atomic_write(html_path, res["html"])
            if res.get("xlsx"):
                atomic_write(html_path.with_suffix(".xlsx"), res["xlsx"])
            else:
                html_path.with_suffix(".xlsx").unlink(missing_ok=True)
                if res.get("xlsx_error"):
                    log.warning("таблицы Excel для %s не записаны: %s", j.key, res["xlsx_error"])
            (reports_dir / (j.executed_rel[:-len(".ipynb")] + ".html")).unlink(missing_ok=True)  # old error page
            e.update(status="built", built_at=_now(), error=None, duration_s=res.get("duration"),
                     worker=res.get("worker"))
            state[j.key] = {**e, "status": "ok", "last_good": {"built_at": e["built_at"],
                                                               "data_version": j.data_version}}
            log.info("построен %s за %.2f с (%s)", j.key, res.get("duration") or 0, res.get("worker"))
        else:
            # the last good report stays (a failed rebuild must not take it away), listed on the index
            # only among the failed ones, as outdated — never as current
            prev = state.get(j.key) or {}
            last_good = prev.get("last_good") or ({"built_at": prev.get("built_at"),
                                                   "data_version": prev.get("data_version")}
                                                  if prev.get("status") == "ok" else None)
            if last_good is None or not html_path.exists():
                last_good = None
                html_path.unlink(missing_ok=True)
                html_path.with_suffix(".xlsx").unlink(missing_ok=True)
            e.update(status="failed", built_at=None, error=res.get("error"))
            if last_good is not None:
                e["outdated"] = {**last_good, "html": j.html_rel}
            if res.get("error_html"):
                e["error_html"] = j.executed_rel[:-len(".ipynb")] + ".html"
                atomic_write(reports_dir / e["error_html"], res["error_html"])
            state[j.key] = {"fingerprint": j.fingerprint, "status": "failed", "last_good": last_good}
            log.error("ошибка в %s: %s (блокнот: %s)", j.key, res.get("error"), j.executed_rel)
        e.update(duration_s=res.get("duration"), worker=res.get("worker"))
        if bar is not None:
            bar.update(1)
        groups.done(j, res["status"] == "ok")

    payloads = [j.payload(timeout=timeout, cwd=str(j.notebook.parent), fresh_kernel=fresh_kernel,
                          exporter=exporter, keep_notebook=keep_notebooks) for j in todo]
    try:
        if executor == "dask":
            if scheduler is None:
                raise MsokoError("Для --executor dask укажите адрес планировщика: --scheduler tcp://host:8786.")
            executors.run_dask(payloads, scheduler, on_result)
        elif executor == "local":
            n = n_jobs or os.cpu_count() or 1
            executors.run_local(payloads, n, on_result,
                                kernel_log=str(reports_dir / "_state" / "kernels.log"), pool=pool)
        else:
            raise MsokoError(f"Неизвестный исполнитель «{executor}»: local или dask.")
    finally:
        if bar is not None:
            bar.close()
        for key in by_key:                   # anything that never came back
            if "status" not in entries[key]:
                entries[key].update(status="failed", error="отчёт не был выполнен (прогон прерван)")
        atomic_write(state_path, json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True))
    return [entries[j.key] for j in jobs]


def earlier_reports(reports_dir: Path, year: int, current: set[str]) -> list[dict[str, Any]]:
    """Reports of the same year built by earlier runs and not part of this one (a run for
    some schools only must not hide the others from the index)."""
    state = load_manifest(reports_dir / "_state" / "reports.json")
    out = []
    for key, e in sorted(state.items()):
        if key in current or e.get("status") != "ok" or "html" not in e or "title" not in e:
            continue
        if (e.get("params") or {}).get("year") != year or not (reports_dir / e["html"]).exists():
            continue
        out.append({**e, "status": "earlier"})
    return out


def write_outputs(reports_dir: Path, manifest: dict[str, Any]) -> None:
    from msoko.runner.index import render_index

    atomic_write(reports_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    earlier = earlier_reports(reports_dir, manifest["run"]["year"], {e["key"] for e in manifest["reports"]})
    facts: dict = {}
    try:  # the index's per-school facts are a convenience: an unreadable table leaves them out
        from msoko.report.school import index_facts

        facts = index_facts(manifest["run"]["processed"], int(manifest["run"]["year"]))
    except Exception as exc:  # noqa: BLE001
        log.warning("сведения о школах для оглавления не прочитаны: %s", exc)
    municipalities: list = []
    try:  # the municipalities side by side (msoko.municipalities via compute): a convenience as well
        from msoko.report.municipalities import index_rows

        municipalities = index_rows(manifest["run"]["processed"], int(manifest["run"]["year"]))
    except Exception as exc:  # noqa: BLE001
        log.warning("сводка по муниципалитетам для оглавления не прочитана: %s", exc)
    atomic_write(reports_dir / "index.html", render_index(manifest, earlier, facts, municipalities))


def summary_text(manifest: dict[str, Any], reports_dir: Path) -> str:
    run = manifest["run"]
    failed = [r for r in manifest["reports"] if r["status"] == "failed"]
    lines = [f"Прогон завершён за {run['duration_s']:.1f} с: отчётов {len(manifest['reports'])}, "
             f"построено {run['built']}, без изменений {run['skipped']}, с ошибками {len(failed)}.",
             f"Загрузка: {run['ingest']}; расчёт: {run['compute']}."]
    if run.get("compute_failed"):
        lines.append("Расчёт выполнен не полностью: отчёты построены по тому, что рассчитано "
                     "(код завершения 1).")
    for w in run.get("warnings", []):
        lines.append(f"Предупреждение: {w}")
    if failed:
        lines.append("Отчёты с ошибками:")
        for r in failed:
            lines.append(f"  — {r['title']} ({r['label']}): {r.get('error')}")
            lines.append(f"    блокнот с ошибкой: {reports_dir / r['executed']}")
    lines.append(f"Оглавление: {reports_dir / 'index.html'}")
    return "\n".join(lines)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process, MB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)   # bytes on macOS, KB on Linux


def _run_municipality(given: str | None, jobs: list[ReportJob]) -> str | None:
    """The municipality of a ``--municipality`` run as loaded (the option may name it up to case or a part)."""
    if not given:
        return None
    named = {j.group for j in jobs if j.group}
    return named.pop() if len(named) == 1 else given


def _check_reports_folder(raw: Path, reports: Path, raw_arg, reports_arg) -> None:
    """The reports folder must be neither the raw folder nor inside it: the next run would read its own
    workbooks back as inputs (as a processed folder there would be — refused by ingest)."""
    raw = raw.resolve()
    if reports == raw or reports.is_relative_to(raw):
        raise MsokoError(f"Папка отчётов «{reports_arg}» ({reports}) лежит внутри папки исходных данных «{raw_arg}» "
                         f"({raw}) или совпадает с ней: книги Excel отчётов читались бы следующим прогоном как "
                         "исходные данные. Укажите для --reports папку вне исходных данных, например reports.")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``msoko run`` (see module docstring for exit codes)."""
    t0 = time.perf_counter()
    started = _now()
    raw = Path(args.raw)
    processed = Path(args.processed).resolve()
    reports_dir = Path(args.reports).resolve()
    n_jobs = args.jobs or os.cpu_count() or 1
    if n_jobs < 1:
        raise MsokoError("--jobs должно быть не меньше 1.")
    executor = getattr(args, "executor", "local") or "local"
    if executor == "dask" and not getattr(args, "scheduler", None):
        raise MsokoError("Для --executor dask укажите адрес планировщика: --scheduler tcp://host:8786.")
    notebooks_dir = Path(getattr(args, "notebooks", None) or default_notebooks_dir())
    _check_reports_folder(raw, reports_dir, args.raw, args.reports)
    if getattr(args, "config", None):   # validated before anything runs: a misspelt key is not ignored
        from msoko.config import load_config

        load_config(args.config)
    handler = setup_logging(Path(args.log) if getattr(args, "log", None) else reports_dir / "run.log")
    pool = None
    try:
        with RunLock(reports_dir):
            log.info("=== msoko run: %s", " ".join(sys.argv[1:]) or vars(args))
            cache = HashCache(reports_dir / "_state" / "hashes.json")
            lib_hash = library_hash()
            stages: dict[str, float] = {}
            if getattr(args, "only_reports", False):
                if not data_files(processed):
                    raise MsokoError(f"Нет обработанных таблиц в {processed}.")
                ingest_status, compute_status = "пропущена (--only-reports)", "пропущен (--only-reports)"
            else:
                t = time.perf_counter()
                # --progress shows the ingest's bar and balance table off a terminal too (else: on a terminal only)
                ingest_status = run_ingest(raw, processed, n_jobs, *((True,) if getattr(args, "progress", None) else ()))
                stages["ingest_s"] = round(time.perf_counter() - t, 3)
                t = time.perf_counter()
                if executor == "local" and n_jobs > 1:
                    from msoko.runner.executors import LocalPool

                    (reports_dir / "_state").mkdir(parents=True, exist_ok=True)
                    pool = LocalPool(n_jobs, str(reports_dir / "_state" / "kernels.log"))
                compute_status = run_compute(processed, getattr(args, "config", None), lib_hash, cache,
                                             on_start=pool.start_beside_one_busy_core if pool is not None else None)
                stages["compute_s"] = round(time.perf_counter() - t, 3)

            from msoko.runner.plan import latest_year

            year = args.year or latest_year(processed)
            versions = package_versions()
            env_versions = {k: v for k, v in versions.items() if k not in ("platform", "executable", "msoko")}
            jobs, warns = plan(processed, notebooks_dir, year=year, municipality=args.municipality,
                               schools=args.schools or None, lib_hash=lib_hash, cache=cache,
                               env_versions=env_versions)
            for w in warns:
                log.warning(w)
            if not jobs:
                raise MsokoError(f"Нечего строить: нет блокнотов отчётов в {notebooks_dir} "
                                 "или нет ни одной школы.")
            t = time.perf_counter()
            entries = build_reports(jobs, reports_dir, executor=executor, n_jobs=n_jobs,
                                    scheduler=getattr(args, "scheduler", None),
                                    force=bool(getattr(args, "force", False)),
                                    exporter=getattr(args, "exporter", "auto") or "auto",
                                    progress=getattr(args, "progress", None), pool=pool,
                                    keep_notebooks=bool(getattr(args, "keep_notebooks", False)))
            pool = None  # handed over: build_reports shuts it down
            stages["reports_s"] = round(time.perf_counter() - t, 3)
            inputs = {name: cache.file(p) for name, p in data_files(processed).items()}
            cache.save()
            manifest = {
                "format": 1,
                "run": {"started": started, "finished": _now(),
                        "duration_s": round(time.perf_counter() - t0, 3), **stages,
                        "year": year, "municipality": _run_municipality(args.municipality, jobs),
                        "schools": args.schools, "peak_rss_mb": peak_rss_mb(),
                        "executor": executor, "scheduler": getattr(args, "scheduler", None),
                        "keep_notebooks": bool(getattr(args, "keep_notebooks", False)),
                        "jobs": n_jobs, "raw": str(raw.resolve()), "processed": str(processed),
                        "notebooks": str(notebooks_dir), "ingest": ingest_status, "compute": compute_status,
                        "built": sum(e["status"] == "built" for e in entries),
                        "skipped": sum(e["status"] == "unchanged" for e in entries),
                        "failed": sum(e["status"] == "failed" for e in entries),
                        "compute_failed": compute_status.startswith(COMPUTE_FAILED),
                        "warnings": warns},
                "versions": versions,
                "library_hash": lib_hash,
                "data_version": sha256_json(inputs),
                "inputs": inputs,
                "reports": entries,
            }
            write_outputs(reports_dir, manifest)
            text = summary_text(manifest, reports_dir)
            log.info(text)
            print(text)
            compute_failed = compute_status.startswith(COMPUTE_FAILED)
            ingest_failed = ingest_status.startswith(INGEST_FAILED)
            return EXIT_FAILED if manifest["run"]["failed"] or compute_failed or ingest_failed else EXIT_OK
    except MsokoError as exc:
        log.error("ошибка: %s", exc)
        raise
    finally:
        if pool is not None:  # started, never handed to build_reports (an error or Ctrl-C on the way)
            pool.discard_broken()   # its workers ignore Ctrl-C: killed, not waited for
        log.removeHandler(handler)
        handler.close()


__all__ = ["run", "build_reports", "plan", "ReportJob", "EXIT_OK", "EXIT_FAILED", "EXIT_USER"]
