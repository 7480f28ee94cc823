"""A warm Jupyter kernel that executes many notebooks one after another.

Why: starting a kernel and importing pandas/matplotlib costs seconds, while a
typical report runs in a fraction of that. A worker keeps one kernel alive and
resets it between notebooks (the namespace as after ``reset -f``, matplotlib state, warnings, seeds,
execution counter), so each report sees the same starting state as in a fresh
kernel — ``tests/test_runner.py`` checks that the outputs are identical.

Robustness against the port race of ``jupyter_client`` (two kernels picking the
same free TCP port when many start at once: jupyter/jupyter_client#487,
nteract/papermill#511): on POSIX the kernel talks over **ipc** (Unix sockets in a
private temporary directory), which has no port namespace at all; on Windows it
falls back to TCP and retries the start with backoff on ``ZMQError``/timeouts.

The kernel is always the *current* interpreter (``sys.executable -m
ipykernel_launcher``), whatever kernelspec name the notebook carries, started
with ``-Xfrozen_modules=off`` and ``PYDEVD_DISABLE_FILE_VALIDATION=1`` so the
debugger warnings do not leak into the reports.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

from msoko.runner.lifetime import preexec_die_with_parent

log = logging.getLogger("msoko.runner")

def reset_peak_rss(pid: int | None) -> bool:
    """Reset the peak resident memory (VmHWM) of process ``pid`` to its current RSS; False where the system
    cannot (not Linux, no permission): the peak then stays the process's lifetime peak."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


KERNEL_ENV = {
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "PYTHONHASHSEED": "0",            # stable set/dict-of-str ordering → same report content
    "SOURCE_DATE_EPOCH": "0",         # matplotlib: no creation dates in SVG/PDF metadata
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    # Arrow through the C library's allocator: its default pool (jemalloc/mimalloc) keeps the decoded row
    # groups of every table a report reads, a third of a kernel's peak (600-school demo region, one school
    # report of its municipality's slice: 380–406 MB → 297 MB; benchmarks/kernel_memory.py)
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}

# the marker output that opens each cell's outputs in a batched request (WarmKernel.execute)
BATCH_MIME = "application/x-msoko-cell"
# the fields of an output message that make its notebook output (nbformat.v4.output_from_msg)
OUTPUT_FIELDS = {"execute_result": ("metadata", "data", "execution_count"), "stream": ("name", "text"),
                 "display_data": ("metadata", "data"), "error": ("ename", "evalue", "traceback")}

# Imported once per kernel: the expensive part of every report.
WARMUP_CODE = r"""
import warnings as __w
with __w.catch_warnings():
    __w.simplefilter("ignore")
    # msoko's modules are imported here and the charts' theme applied (seaborn's theme and
    # matplotlib's SVG settings, msoko.plots.use_theme), so that this state is in the snapshot
    # that every report starts from and the first and the hundredth report of a
    # kernel see the same state. Export/ingest modules run outside the kernel: skipped
    # (nbformat's jsonschema import alone costs seconds).
    import pkgutil
    __mods = ["numpy", "pandas", "pyarrow", "scipy.stats", "matplotlib", "matplotlib.pyplot", "seaborn"]
    try:
        import msoko
        __mods += [m.name for m in pkgutil.walk_packages(msoko.__path__, "msoko.")
                   if not m.name.startswith(("msoko.runner", "msoko.cli", "msoko.__main__", "msoko.demo",
                                             "msoko.export", "msoko.ingest", "msoko.readers",
                                             "msoko.layouts", "msoko.dictionary"))]
    except Exception:
        pass
    for __m in __mods:
        try:
            __import__(__m)
        except BaseException:
            pass
    try:
        msoko.plots.use_theme()
    except BaseException:
        pass
# Cell file names carry the kernel's pid (/tmp/ipykernel_<pid>/<hash>.py) and show up in
# warnings and tracebacks: make them the same in every kernel.
def __msoko_tmp_directory():
    import os, tempfile
    return os.path.join(tempfile.gettempdir(), "ipykernel_msoko")
try:
    import ipykernel.compiler as __c
    __c.get_tmp_directory = __msoko_tmp_directory
    del __c
except Exception:
    pass
del __msoko_tmp_directory
def __msoko_run_cells(cells):
    # A report's code cells in one execute request (WarmKernel.execute): each cell runs as Jupyter runs
    # a cell (run_cell: its own history entry, execution count, displayhook and post-execute events),
    # announced by a marker output that the worker takes as "the outputs that follow belong to cell i".
    # A failing cell stops the run unless it may fail (the "raises-exception" tag).
    import sys
    ip = get_ipython()
    mark = "application/x-msoko-cell"
    for src, _ in cells:
        if "await" in src or "async" in src:
            try:
                if ip.should_run_async(src, transformed_cell=ip.transform_cell(src), preprocessing_exc_tuple=None):
                    ip.display_pub.publish(data={mark: -1}, metadata={})   # top-level await: one request per cell
                    return
            except Exception:
                pass
    for i, (src, may_fail) in enumerate(cells):
        ip.display_pub.publish(data={mark: i}, metadata={})
        r = ip.run_cell(src, store_history=True)
        if not may_fail and (not r.success or getattr(ip, "_last_traceback", None) is not None):
            return
    sys.stdout.flush()
    sys.stderr.flush()
get_ipython()._msoko_run_cells = __msoko_run_cells
del __msoko_run_cells
def __msoko_snapshot():
    import sys, warnings, copy
    ip = get_ipython()
    st = {"filters": list(warnings.filters), "cwd": __import__("os").getcwd(),
          "path": list(sys.path), "modules": set(sys.modules)}
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        mpl.rcParams["svg.hashsalt"] = "msoko"
        st["rc"] = copy.deepcopy(dict(mpl.rcParams))
    ip._msoko_state = st
__msoko_snapshot()
del __msoko_snapshot, __w, __mods, __m, pkgutil
get_ipython()._msoko_state["ns"] = dict(get_ipython().user_ns)
"""

# Run before every notebook: the state a fresh kernel would have after the warm-up.
RESET_CODE = r"""
def __msoko_reset(cwd):
    # What IPython's ``reset -f`` magic does for a report, without its two full gc.collect() passes
    # (0.7 s each time on a kernel holding pandas/scipy/matplotlib).
    import sys, os, warnings, random
    ip = get_ipython()
    st = ip._msoko_state
    ns = ip.user_ns
    for k in [k for k in ns if k not in st["ns"]]:
        del ns[k]
    ns.update(st["ns"])
    ip.user_ns_hidden.update({k: v for k, v in st["ns"].items() if k in ip.user_ns_hidden})
    hm = ip.history_manager
    for name in ("input_hist_parsed", "input_hist_raw"):
        lst = getattr(hm, name, None)
        if isinstance(lst, list):
            del lst[1:]
    if isinstance(getattr(hm, "output_hist", None), dict):
        hm.output_hist.clear()
    if isinstance(getattr(hm, "output_hist_reprs", None), dict):
        hm.output_hist_reprs.clear()
    # IPython >= 9 also keeps every cell's mime bundles (`outputs`, a class-level dict
    # shared by all instances) and tracebacks (`exceptions`) for %notebook; they are
    # cleared only by HistoryManager.reset, so a warm kernel grew by each report's output.
    for name in ("outputs", "exceptions"):
        kept = getattr(hm, name, None)
        if isinstance(kept, dict):
            kept.clear()
    dh = ip.displayhook
    dh._, dh.__, dh.___ = "", "", ""
    for k in ("_", "__", "___"):
        if k in st["ns"]:
            ns[k] = st["ns"][k]
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
        if "rc" in st:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mpl.rcParams.update(st["rc"])
        else:
            mpl.rcParams["svg.hashsalt"] = "msoko"
    warnings.filters[:] = st["filters"]
    warnings._filters_mutated()
    for m in list(sys.modules.values()):
        # the module's own dict: getattr would call a lazy module's __getattr__ (4 ms for ~1 450 modules)
        reg = getattr(m, "__dict__", {}).get("__warningregistry__")
        if isinstance(reg, dict):
            reg.clear()
    sys.path[:] = st["path"]
    random.seed(0)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(0)
    try:
        os.chdir(cwd if cwd and os.path.isdir(cwd) else st["cwd"])
    except OSError:
        pass
    ip.execution_count = 1
__msoko_reset(__CWD__)
globals().pop("__msoko_reset", None)
"""


def kernel_argv() -> list[str]:
    # No IPython history: many kernels would contend for one SQLite file, and the
    # execution counter restarting at 1 per report would collide with it.
    return [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
            "-f", "{connection_file}", "--HistoryManager.enabled=False"]


def _make_manager(transport: str, workdir: str):
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    class CurrentEnvKernelManager(AsyncKernelManager):
        """Always this interpreter, whatever the notebook's kernelspec says."""

    spec = KernelSpec(argv=kernel_argv(), display_name="Python 3 (msoko)", language="python",
                      env=dict(KERNEL_ENV), resource_dir=workdir)
    km = CurrentEnvKernelManager(kernel_name="python3")
    km._kernel_spec = spec
    km.transport = transport
    if transport == "ipc":
        km.ip = os.path.join(workdir, "k")
    km.connection_file = os.path.join(workdir, "kernel.json")
    return km


class WarmKernel:
    """One long-lived kernel owned by one worker (process or thread)."""

    def __init__(self, *, startup_timeout: float = 120, retries: int = 5,
                 stderr_path: str | None = None, warm: bool = True, tmp_root: str | None = None):
        self.startup_timeout = startup_timeout
        self.tmp_root = tmp_root   # where the connection file and sockets go (default: the system's)
        self.retries = retries
        self.stderr_path = stderr_path
        self.warm = warm
        self.km = None
        self.kc = None
        self.workdir = None
        self._stderr = None
        self.runs = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._language_info: dict | None = None

    def _run(self, coro):
        """Run a coroutine on this kernel's private event loop (the calling thread may be a
        Dask worker thread, where jupyter_core's run_sync would pick up a foreign loop)."""
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        return self.loop.run_until_complete(coro)

    @staticmethod
    def _loop_running() -> bool:
        try:
            asyncio.get_running_loop()
            return True
        except RuntimeError:
            return False

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "WarmKernel":
        transport = "ipc" if os.name == "posix" else "tcp"
        delay = 0.5
        last: Exception | None = None
        for attempt in range(1, self.retries + 1):
            root = self.tmp_root if self.tmp_root and os.path.isdir(self.tmp_root) else None
            self.workdir = tempfile.mkdtemp(prefix="msoko-k-", dir=root)
            try:
                self.km = _make_manager(transport, self.workdir)
                kw: dict[str, Any] = {"env": {**os.environ, **KERNEL_ENV}}
                dies = preexec_die_with_parent()   # the kernel (in a session of its own) dies with its worker
                if dies is not None:
                    kw["preexec_fn"] = dies
                if self.stderr_path:
                    self._stderr = open(self.stderr_path, "ab")
                    kw["stderr"] = self._stderr
                    kw["stdout"] = self._stderr
                self._run(self.km.start_kernel(**kw))
                self.kc = self.km.client()
                self.kc.start_channels()
                self._run(self.kc.wait_for_ready(timeout=self.startup_timeout))
                self.kc.allow_stdin = False
                break
            except Exception as exc:  # ZMQError (port race), RuntimeError, TimeoutError
                last = exc
                log.warning("запуск ядра не удался (попытка %d из %d): %s", attempt, self.retries, exc)
                self.shutdown()
                time.sleep(delay)
                delay *= 2
        else:
            raise RuntimeError(f"не удалось запустить ядро Jupyter: {last}") from last
        if self.warm:
            self.run_code(WARMUP_CODE)
        return self

    def _process(self):
        """The kernel's process (``subprocess.Popen`` of its provisioner), None before start."""
        return getattr(getattr(self.km, "provisioner", None), "process", None)

    def _pid(self) -> int | None:
        return getattr(self._process(), "pid", None)

    def alive(self) -> bool:
        proc = self._process()
        return proc is not None and proc.poll() is None

    def reset_peak(self) -> None:
        """Start the kernel's peak-memory count afresh (Linux: ``5`` to ``/proc/PID/clear_refs`` sets VmHWM to
        the current RSS), so that :meth:`usage` after a report gives that report's peak, not the largest
        report this warm kernel has run (the objectivity report reads every table)."""
        reset_peak_rss(self._pid())

    def rss_mb(self) -> float | None:
        """The kernel process's resident memory now (MB); None when not known."""
        pid = self._pid()
        if pid is None:
            return None
        try:
            import psutil

            return psutil.Process(pid).memory_info().rss / (1 << 20)
        except Exception:  # noqa: BLE001 - a measurement, never a reason to fail a report
            return None

    def usage(self) -> tuple[float, float] | None:
        """The kernel process's CPU time so far (user + system, s) and its peak resident memory (MB:
        VmHWM on Linux, else the current RSS); None when not known (no process, no psutil)."""
        pid = self._pid()
        if pid is None:
            return None
        try:
            import psutil

            p = psutil.Process(pid)
            t = p.cpu_times()
            peak = None
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as f:
                    peak = next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")), None)
            except OSError:
                pass
            if peak is None:
                peak = p.memory_info().rss / (1 << 20)
            return t.user + t.system, peak
        except Exception:  # noqa: BLE001 - a measurement, never a reason to fail a report
            return None

    def shutdown(self) -> None:
        """Stop the kernel. From a thread with a running event loop (e.g. ``client.run`` on a
        Dask worker) it kills the process directly instead of the graceful path."""
        proc = self._process()
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        except Exception:
            pass
        if self.km is not None and not self._loop_running():
            try:
                if self.alive():
                    self._run(self.km.shutdown_kernel(now=True))
            except Exception:
                pass
            try:
                self._run(self.km.cleanup_resources())
            except Exception:
                pass
        try:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        except Exception:
            pass
        self.km = self.kc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self.loop is not None and not self.loop.is_running() and not self._loop_running():
            try:
                self.loop.close()
            except Exception:
                pass
            self.loop = None

    # -- execution ---------------------------------------------------------
    def run_code(self, code: str, timeout: float = 120) -> None:
        """Run bookkeeping code silently; raise if it fails."""
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            reply = self._run(self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic())))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"{c.get('ename')}: {c.get('evalue')}")

    def reset(self, cwd: str | None) -> None:
        self.run_code(RESET_CODE.replace("__CWD__", repr(cwd or "")))

    def execute(self, nb, *, cwd: str | None = None, timeout: float | None = None):
        """Execute ``nb`` in place. Raises ``nbclient.exceptions.CellExecutionError``
        (the notebook then holds the outputs up to and including the error), ``DeadKernelError`` or
        ``CellTimeoutError`` (``timeout``: seconds per cell, as nbclient's).

        The reset and all code cells go to the kernel as **one** execute request (the kernel's
        ``_msoko_run_cells``, installed by the warm-up): a request costs the kernel ~5 ms and this
        process ~2.5 ms in Jupyter's messaging whatever the cell does, ~0.15 s of a 20-cell report.
        The outputs are the same as nbclient's cell by cell (its own message handling is used); a
        notebook with top-level ``await`` (or a kernel not warmed up) goes through nbclient."""
        self.runs += 1
        if self.warm and self._run(self._execute_batch(nb, cwd, timeout)):
            return nb
        return self._execute_nbclient(nb, cwd, timeout)

    def _client(self, nb, timeout):
        from nbclient import NotebookClient

        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False,
                                record_timing=False, kernel_name="python3",
                                shutdown_kernel="immediate")
        client.kc = self.kc
        return client

    def _execute_nbclient(self, nb, cwd, timeout):
        self.reset(cwd)
        return self._run(self._client(nb, timeout).async_execute())

    async def _execute_batch(self, nb, cwd, timeout) -> bool:
        """The reset and the code cells of ``nb`` in one request; False (nothing run but the reset) where
        the kernel asks for one request per cell (top-level ``await``)."""
        from queue import Empty

        from jupyter_core.utils import ensure_async
        from nbformat.notebooknode import from_dict
        from nbclient.exceptions import (CellExecutionComplete, CellExecutionError, CellTimeoutError,
                                         DeadKernelError)

        if self._language_info is None:   # what nbclient asks the kernel before each notebook
            msg_id = self.kc.kernel_info()
            while True:
                reply = await self.kc.get_shell_msg(timeout=self.startup_timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            self._language_info = reply["content"].get("language_info")
        if self._language_info is not None:
            nb.metadata["language_info"] = self._language_info
        todo = [(i, c) for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and c.source.strip() and "skip-execution" not in c.metadata.get("tags", [])]
        cells = [(c.source, "raises-exception" in c.metadata.get("tags", [])) for _, c in todo]
        code = (RESET_CODE.replace("__CWD__", repr(cwd or ""))
                + f"get_ipython()._msoko_run_cells({cells!r})\n")
        client = self._client(nb, timeout)
        client.reset_execution_trackers()
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False)
        per_cell = timeout if timeout and timeout > 0 else None
        deadline = None if per_cell is None else time.monotonic() + per_cell
        current, errors, started = None, {}, []
        while True:
            try:
                wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
                msg = await self.kc.get_iopub_msg(timeout=wait)
            except Empty:
                if not await ensure_async(self.kc.is_alive()):
                    raise DeadKernelError("Kernel died") from None
                if deadline is not None and time.monotonic() >= deadline:
                    cell = todo[current][1] if current is not None else nb.cells[0]
                    raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", per_cell, cell) from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and BATCH_MIME in content.get("data", {}):
                k = content["data"][BATCH_MIME]
                if k < 0:
                    await self._reply(msg_id)
                    return False
                current = k
                started.append(k)
                todo[k][1].outputs = []
                client.clear_before_next_output = False
                if per_cell is not None:
                    deadline = time.monotonic() + per_cell
                continue
            if current is None:   # the reset's own output (none expected) or the request's status
                if kind == "status" and content.get("execution_state") == "idle":
                    break
                if kind == "error":
                    raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
                continue
            index, cell = todo[current]
            if kind == "error":
                errors.setdefault(current, content)
            if kind in OUTPUT_FIELDS and not (content.get("transient") or {}).get("display_id") \
                    and not client.output_hook_stack.get(msg_id):
                # what nbclient's ``output`` does with such a message, without nbformat's JSON-schema check of
                # each output (``new_output`` validates it: ~2 ms an output, 20–40 ms a school report); the
                # notebook is still validated whole by the exporter
                if client.clear_before_next_output:
                    cell.outputs[:] = []
                    client.clear_display_id_mapping(index)
                    client.clear_before_next_output = False
                cell.outputs.append(from_dict({"output_type": kind, **{f: content[f] for f in OUTPUT_FIELDS[kind]}}))
                continue
            try:
                client.process_message(msg, cell, index)
            except CellExecutionComplete:
                break
        await self._reply(msg_id)
        client.set_widgets_metadata()
        for n, k in enumerate(started, 1):   # as nbclient numbers the cells it ran
            todo[k][1]["execution_count"] = n
        for k, content in sorted(errors.items()):
            if not cells[k][1]:
                raise CellExecutionError.from_cell_and_msg(todo[k][1], content)
        return True

    async def _reply(self, msg_id: str) -> dict:
        """The shell reply of request ``msg_id`` (read so that the next request's wait finds its own)."""
        while True:
            reply = await self.kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply
