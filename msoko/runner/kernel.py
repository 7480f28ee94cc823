"""A warm Jupyter kernel that executes many notebooks one after another.

Why: starting a kernel and importing pandas/matplotlib costs seconds, while a
typical report runs in a fraction of that. A worker keeps one kernel alive and
resets it between notebooks (``%reset -f``, matplotlib state, warnings, seeds,
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

import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

log = logging.getLogger("msoko.runner")

KERNEL_ENV = {
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "PYTHONHASHSEED": "0",            # stable set/dict-of-str ordering → same report content
    "SOURCE_DATE_EPOCH": "0",         # matplotlib: no creation dates in SVG/PDF metadata
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
}

# Imported once per kernel: the expensive part of every report.
WARMUP_CODE = r"""
import warnings as __w
with __w.catch_warnings():
    __w.simplefilter("ignore")
    for __m in ("numpy", "pandas", "pyarrow", "scipy.stats", "matplotlib", "matplotlib.pyplot",
                "seaborn", "msoko", "msoko.store", "msoko.plots", "msoko.report", "msoko.stats",
                "msoko.indicators", "msoko.objectivity", "msoko.cycle", "msoko.config"):
        try:
            __import__(__m)
        except Exception:
            pass
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
del __msoko_snapshot, __w
"""

# Run before every notebook: the state a fresh kernel would have after the warm-up.
RESET_CODE = r"""
get_ipython().run_line_magic("reset", "-f")
def __msoko_reset(cwd):
    import sys, os, warnings, random, gc
    ip = get_ipython()
    st = ip._msoko_state
    mpl = sys.modules.get("matplotlib")
    if mpl is not None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            plt.close("all")
        if "rc" in st:
            import warnings as _w
            with _w.catch_warnings():
                _w.simplefilter("ignore")
                mpl.rcParams.update(st["rc"])
        else:
            mpl.rcParams["svg.hashsalt"] = "msoko"
    warnings.filters[:] = st["filters"]
    warnings._filters_mutated()
    for m in list(sys.modules.values()):
        reg = getattr(m, "__warningregistry__", None)
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
    gc.collect()
__msoko_reset(%r)
del __msoko_reset
"""


def kernel_argv() -> list[str]:
    return [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
            "-f", "{connection_file}"]


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
                 stderr_path: str | None = None, warm: bool = True):
        self.startup_timeout = startup_timeout
        self.retries = retries
        self.stderr_path = stderr_path
        self.warm = warm
        self.km = None
        self.kc = None
        self.workdir = None
        self._stderr = None
        self.runs = 0

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> "WarmKernel":
        from jupyter_core.utils import run_sync

        transport = "ipc" if os.name == "posix" else "tcp"
        delay = 0.5
        last: Exception | None = None
        for attempt in range(1, self.retries + 1):
            self.workdir = tempfile.mkdtemp(prefix="msoko-k-")
            try:
                self.km = _make_manager(transport, self.workdir)
                kw: dict[str, Any] = {"env": {**os.environ, **KERNEL_ENV}}
                if self.stderr_path:
                    self._stderr = open(self.stderr_path, "ab")
                    kw["stderr"] = self._stderr
                    kw["stdout"] = self._stderr
                run_sync(self.km.start_kernel)(**kw)
                self.kc = self.km.client()
                self.kc.start_channels()
                run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
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

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return self.km is not None and bool(run_sync(self.km.is_alive)())
        except Exception:
            return False

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        except Exception:
            pass
        try:
            if self.km is not None and run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:
            pass
        try:
            if self.km is not None:
                run_sync(self.km.cleanup_resources)()
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

    # -- execution ---------------------------------------------------------
    def run_code(self, code: str, timeout: float = 120) -> None:
        """Run bookkeeping code silently; raise if it fails."""
        from jupyter_core.utils import run_sync

        msg_id = self.kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + timeout
        while True:
            reply = run_sync(self.kc.get_shell_msg)(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"{c.get('ename')}: {c.get('evalue')}")

    def reset(self, cwd: str | None) -> None:
        self.run_code(RESET_CODE % (cwd or "",))

    def execute(self, nb, *, cwd: str | None = None, timeout: float | None = None):
        """Execute ``nb`` in place. Raises ``nbclient.exceptions.CellExecutionError``
        (the notebook then holds the outputs up to and including the error)."""
        from nbclient import NotebookClient

        self.reset(cwd)
        self.runs += 1
        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False,
                                record_timing=False, kernel_name="python3",
                                shutdown_kernel="immediate")
        client.kc = self.kc
        return client.execute()
