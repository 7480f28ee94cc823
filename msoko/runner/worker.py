"""Executing one report: parameters → warm kernel → executed notebook + HTML.

:func:`execute_job` is a pure function of its payload (notebook text, parameters,
options) and returns the executed notebook and the HTML as strings, so the same
function runs in the local process pool and on Dask workers (which then only
need msoko installed and read access to the processed tables).
"""
from __future__ import annotations

import html
import logging
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from msoko.runner.kernel import WarmKernel

log = logging.getLogger("msoko.runner")

_local = threading.local()
_all_kernels: list[WarmKernel] = []        # every warm kernel of this process (any thread)
_all_lock = threading.Lock()
ERROR_CELL_ID = "msoko-error-cell"
ERROR_ANCHOR_ID = "msoko-error-anchor"
INJECTED_ID = "injected-parameters"


def _quiet() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    warnings.filterwarnings("ignore", message=".*[Ff]rozen modules.*")
    warnings.filterwarnings("ignore", message=".*Proactor event loop.*")
    for name in ("traitlets", "papermill", "nbclient", "asyncio"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def init_worker(kernel_log: str | None = None, prestart: bool = True, kernel_tmp: str | None = None) -> None:
    """Process-pool initializer: start the warm kernel right away (in parallel
    with the other workers) so the first report does not pay for it. ``kernel_tmp``: the folder the
    kernels' connection files go to (the pool's: removed with it, even when this worker is killed).

    In a worker process Ctrl-C is ignored: the terminal sends it to every process of the group,
    and the run (the parent) is the one to stop — it kills its workers — instead of each worker
    printing its own KeyboardInterrupt traceback."""
    import multiprocessing
    import signal

    parent = multiprocessing.parent_process()
    if parent is not None:
        from msoko.runner.lifetime import die_with_parent

        die_with_parent(parent.pid)                     # a killed run takes its workers (and their kernels)
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # a Ctrl-C pending since start-up is dropped
        if hasattr(signal, "pthread_sigmask"):          # started with it blocked (executors._SigintBlocked)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _quiet()
    _local.kernel_log = kernel_log
    global _kernel_tmp
    _kernel_tmp = kernel_tmp
    if prestart:
        try:
            _kernel()
        except Exception as exc:  # reported again by the first job
            log.warning("ядро не запустилось при старте процесса: %s", exc)


def ready() -> int:
    """A no-op task: makes a pool spawn its worker (whose initializer warms the kernel)."""
    return os.getpid()


# A warm kernel's memory must not climb with the municipalities it draws. It did (~25 MB each on the
# 600-school region) until the reset between reports cleared IPython's history of outputs (kernel.RESET_CODE);
# what is left: after the regional and objectivity reports (they read every table) a kernel keeps ~1.3 GB
# that the allocator does not give back. A kernel over this limit before a report is replaced by a fresh one
# (a few seconds), so that a worker's memory stays bounded whatever the data. MSOKO_KERNEL_MEMORY_MB sets it.
# A kernel that has run fewer than KERNEL_MIN_REPORTS reports is kept whatever it holds: one municipality
# whose slice alone is over the limit must not cost a kernel start and a slice read per report.
KERNEL_MEMORY_MB = 1024.0
KERNEL_MIN_REPORTS = 8


def kernel_memory_limit() -> float:
    try:
        return float(os.environ.get("MSOKO_KERNEL_MEMORY_MB", KERNEL_MEMORY_MB))
    except ValueError:
        return KERNEL_MEMORY_MB


def _kernel() -> WarmKernel:
    k = getattr(_local, "kernel", None)
    if k is not None and k.alive():
        rss = k.rss_mb() if k.runs >= KERNEL_MIN_REPORTS else None
        if rss is None or rss <= kernel_memory_limit():
            return k
        log.info("ядро занимает %.0f МБ (предел %.0f МБ): запускается новое", rss, kernel_memory_limit())
        shutdown_worker_kernel()
        k = None
    if k is not None:
        k.shutdown()
    path = getattr(_local, "kernel_log", None)
    if path and not os.path.isdir(os.path.dirname(path) or "."):
        path = None
    k = WarmKernel(stderr_path=path, tmp_root=_kernel_tmp).start()
    _local.kernel = k
    with _all_lock:
        _all_kernels.append(k)
        global _finalizer
        if _finalizer is None:
            import atexit
            from multiprocessing import util

            # multiprocessing children skip atexit; Finalize runs on their normal exit.
            _finalizer = util.Finalize(None, shutdown_all_kernels, exitpriority=10)
            atexit.register(shutdown_all_kernels)
    return k


_finalizer = None
_kernel_tmp: str | None = None   # this process's pool's folder for kernel files (init_worker)


def shutdown_worker_kernel() -> None:
    """Stop this thread's kernel."""
    k = getattr(_local, "kernel", None)
    if k is not None:
        k.shutdown()
        _local.kernel = None
        with _all_lock:
            if k in _all_kernels:
                _all_kernels.remove(k)


def shutdown_all_kernels() -> int:
    """Stop every warm kernel of this process; returns how many."""
    with _all_lock:
        ks = list(_all_kernels)
        _all_kernels.clear()
    for k in ks:
        k.shutdown()
    return len(ks)


def parameterize(nb, params: dict[str, Any]):
    """papermill's own injection (so the executed notebook records the
    parameters in ``metadata.papermill.parameters``), with a fixed cell id so the
    same parameters give byte-identical notebooks."""
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", {})
    added = [c for c in nb.cells if "tags" not in c.setdefault("metadata", {})]
    for c in added:
        c.metadata["tags"] = []
    nb = parameterize_notebook(nb, params, kernel_name="python3", language="python",
                                         comment="Параметры")
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = INJECTED_ID
    for c in added:
        if not c.metadata.get("tags"):
            del c.metadata["tags"]
    return nb


def _normalise(nb) -> None:
    """Stable execution counts (a warm kernel must look like a fresh one) and stream outputs: one
    ``print`` reaches the notebook as one output or as two (its text, then its newline), as the kernel's
    output thread happens to flush in between (seen on a loaded machine), so consecutive chunks of one
    stream are merged (nbconvert's CoalesceStreamsPreprocessor) before the page and the kept notebook are
    written."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is not None or cell.get("outputs"):
            n += 1
            cell["execution_count"] = n
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = n
        else:
            cell["execution_count"] = None


# errors of the input a user can fix: their message is already Russian and is the reason itself
USER_ERRORS = ("MsokoError", "LayoutError")


def error_reason(ename: str, evalue: str) -> str:
    """Why a report was not built, in Russian, for the summary, the index and the error page.

    The traceback is not part of it: it stays in the executed notebook and the log."""
    ename, evalue = str(ename or "").strip(), str(evalue or "").strip()
    if ename in USER_ERRORS and evalue:
        return evalue
    if ename == "KeyboardInterrupt":
        return "выполнение отчёта прервано"
    detail = f"{ename}: {evalue}" if evalue else ename
    return (f"внутренняя ошибка msoko в блокноте отчёта ({detail or 'без описания'}) — "
            "это ошибка программы, а не исходных данных")


def error_page_notebook(nb, reason: str, executed: str | None = None):
    """A copy of the executed notebook for the error page: every error output (the Python
    traceback) replaced by the Russian reason and where the traceback is kept."""
    import nbformat

    where = f"в выполненном блокноте {executed}" if executed else "в выполненном блокноте (_executed/)"
    text = f"Отчёт не построен: {reason}.\nПодробности для разработчиков (трассировка) — {where} и в журнале run.log.\n"
    page = nbformat.from_dict(nb)
    for cell in page.cells:
        if cell.get("cell_type") != "code":
            continue
        cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=text)
                           if o.get("output_type") == "error" else o for o in cell.get("outputs", [])]
    return page


def mark_error(nb, reason: str | None = None) -> dict[str, Any]:
    """papermill-style error marking, in Russian: a banner cell at the top
    linking to an anchor right before the failing cell. Returns error info
    (``reason``: the Russian reason; by default from the error output)."""
    import nbformat

    info = {"ename": "Ошибка", "evalue": "", "cell": None, "execution_count": None}
    idx = None
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                info.update(ename=out.get("ename", ""), evalue=out.get("evalue", ""), cell=i,
                            execution_count=cell.get("execution_count"))
                idx = i
                break
        if idx is not None:
            break
    info["reason"] = reason or error_reason(info["ename"], info["evalue"])
    style = "color:#b00020; font-weight:bold; font-size:1.4em;"
    banner = nbformat.v4.new_markdown_cell(
        f'<span style="{style}">Ошибка при выполнении отчёта в ячейке '
        f'<a href="#{ERROR_ANCHOR_ID}">In [{info["execution_count"] or "?"}]</a>: '
        f'{_md_escape(info["reason"])}</span>')
    banner["id"] = ERROR_CELL_ID
    banner.metadata["tags"] = ["papermill-error-cell-tag"]
    cells = list(nb.cells)
    if idx is not None:
        anchor = nbformat.v4.new_markdown_cell(
            f'<span id="{ERROR_ANCHOR_ID}" style="{style}">Выполнение остановлено здесь из-за ошибки:</span>')
        anchor["id"] = ERROR_ANCHOR_ID
        anchor.metadata["tags"] = ["papermill-error-cell-tag"]
        cells.insert(idx, anchor)
    cells.insert(0, banner)
    nb.cells = cells
    nb.metadata.setdefault("papermill", {})["exception"] = True
    return info


def _md_escape(text: str) -> str:
    import html

    return html.escape(str(text)[:500])


def _add_workbook(res: dict, nb, job: dict) -> None:
    """Every table of the report as an Excel workbook beside the page (``res["xlsx"]``), linked from
    the page's header. A report whose workbook fails is still built (the reason is logged)."""
    from msoko.report.workbook import report_tables, workbook_bytes

    try:
        data = workbook_bytes(report_tables(nb), title=job["title"])
    except Exception as exc:  # noqa: BLE001 - the HTML page is the report; the workbook a convenience
        res["xlsx_error"] = f"{type(exc).__name__}: {exc}"
        return
    if data is None:
        return
    res["xlsx"] = data
    name = Path(job["html_rel"]).with_suffix(".xlsx").name if job.get("html_rel") else None
    if name:
        link = (f'<p class="download"><a href="{html.escape(name)}" download>Все таблицы отчёта (Excel)</a></p>')
        res["html"] = res["html"].replace("</header>", f"{link}</header>", 1)


def export_html(nb, title: str, exporter: str = "auto") -> str:
    """The reports' exporter (msoko.export) when present, else nbconvert without inputs.
    ``exporter="nbconvert"`` forces the fallback (tests of the runner alone)."""
    _export = None
    if exporter != "nbconvert":
        try:
            from msoko.export import export_html as _export
        except ImportError:
            if exporter == "msoko":
                raise
    if _export is not None:
        return _export(nb, title=title)
    from nbconvert import HTMLExporter

    exp = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    import html

    body, _ = exp.from_notebook_node(nb, resources={"metadata": {"name": html.escape(title)}})
    return body


class _Laps:
    """CPU of this thread per stage of a report (``res["stage_cpu_s"]``, kept in manifest.json):
    where a report's worker-side time goes, beside its kernel's (``kernel_cpu_s``)."""

    def __init__(self, res: dict[str, Any]):
        self.stages = res["stage_cpu_s"] = {}
        self.last = time.thread_time()

    def __call__(self, stage: str) -> None:
        now = time.thread_time()
        self.stages[stage] = round(self.stages.get(stage, 0.0) + now - self.last, 4)
        self.last = now


def execute_batch(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run reports one after the other in this worker's kernel (a batch of one municipality: see
    :func:`msoko.runner.executors.batches`); one result per report, in order."""
    return [execute_job(j) for j in jobs]


def execute_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one report. Never raises for a notebook error: the result says so."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, DeadKernelError, CellTimeoutError

    _quiet()
    t0, cpu0 = time.perf_counter(), time.thread_time()   # thread: a Dask worker runs several
    res: dict[str, Any] = {"key": job["key"], "status": "failed", "executed": None, "html": None,
                           "error": None, "worker": f"{os.uname().nodename if hasattr(os, 'uname') else ''}:{os.getpid()}"}
    lap = _Laps(res)
    nb = nbformat.reads(job["notebook"], as_version=4)
    nb = parameterize(nb, job["params"])
    lap("prepare")
    failed = None
    kernel = None
    try:
        kernel = WarmKernel(stderr_path=None).start() if job.get("fresh_kernel") else _kernel()
        lap("kernel_start")
        kernel.reset_peak()
        u0 = kernel.usage()
        try:
            kernel.execute(nb, cwd=job.get("cwd"), timeout=job.get("timeout"))
        finally:
            u1 = kernel.usage()
            if u0 and u1:   # the report's CPU in its kernel, and the kernel's peak memory during it
                res["kernel_cpu_s"], res["kernel_peak_rss_mb"] = round(u1[0] - u0[0], 3), round(u1[1], 1)
    except CellExecutionError:
        failed = "cell"
    except (DeadKernelError, CellTimeoutError) as exc:
        failed = "kernel"
        res["error"] = f"ядро остановилось или превышено время ожидания: {exc}"
        shutdown_worker_kernel()
    except Exception as exc:  # kernel start failure, etc.
        failed = "kernel"
        res["error"] = f"{type(exc).__name__}: {exc}"
        shutdown_worker_kernel()
    finally:
        lap("execute")
        if job.get("fresh_kernel") and kernel is not None:
            kernel.shutdown()
    _normalise(nb)
    if failed:
        info = mark_error(nb, None if failed == "cell" or not res["error"] else res["error"])
        res["error"] = info["reason"]
        res["error_cell"] = info["execution_count"]
        try:  # the error as a page too: methodologists open HTML, not .ipynb; the reason, not the traceback
            page = error_page_notebook(nb, info["reason"], job.get("executed"))
            res["error_html"] = export_html(page, f"{job['title']} — ошибка", job.get("exporter", "auto"))
        except Exception:
            res["error_html"] = None
    else:
        try:
            res["html"] = export_html(nb, job["title"], job.get("exporter", "auto"))
            res["status"] = "ok"
        except Exception as exc:
            res["error"] = f"ошибка экспорта в HTML: {type(exc).__name__}: {exc}"
        lap("export")
        if res["status"] == "ok":
            _add_workbook(res, nb, job)
            lap("workbook")
    # the executed notebook goes back only when it is kept: always for a failed report (diagnosis)
    if res["status"] != "ok" or job.get("keep_notebook", True):
        res["executed"] = nbformat.writes(nb)
        lap("serialise")
    res["duration"] = round(time.perf_counter() - t0, 3)
    # CPU of the report: this worker's (parameters, export, workbook) plus its kernel's
    res["cpu_s"] = round(time.thread_time() - cpu0 + (res.get("kernel_cpu_s") or 0.0), 3)
    return res
