"""Child processes die with the process that started them.

When the main ``msoko run`` is killed (the OOM killer, ``kill -9``, a service timeout), nothing in it
runs any more: its report workers (``multiprocessing``) and their Jupyter kernels (each in its own
session, so a signal to the run's process group misses them) would go on for minutes, holding
memory and writing reports nobody waits for. On Linux each child asks the kernel to be sent a
signal when its parent dies (``prctl(PR_SET_PDEATHSIG)``, via ctypes); elsewhere this is a no-op.
"""
from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1

try:   # resolved once, before any fork: a preexec function must not load libraries
    import ctypes

    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):  # pragma: no cover - no libc prctl
    _prctl = None


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Ask to receive ``sig`` when the parent process dies (Linux). ``parent``: the pid the parent
    had — if it is already gone (it died before this call), the signal is sent now. Returns
    whether the request was made."""
    if _prctl is None:
        return False
    if _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def preexec_die_with_parent():
    """A ``preexec_fn`` for :class:`subprocess.Popen` (None where it does nothing): the child gets
    SIGKILL when the process that started it dies."""
    import threading

    # the signal comes when the *thread* that started the child ends: only the main thread's children
    # (a pool worker's kernel) are tied so, not those of a thread pool's short-lived threads (Dask)
    if _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def _set() -> None:
        die_with_parent(parent)

    return _set
