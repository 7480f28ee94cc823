"""Where the notebooks run: a local pool of warm-kernel workers, or Dask."""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from typing import Any, Callable

log = logging.getLogger("msoko.runner")

ResultCallback = Callable[[dict[str, Any]], None]


class _SigintBlocked:
    """Around spawning pool workers: SIGINT blocked in the spawning thread, so that a new worker
    starts with it blocked (the mask is inherited) and a Ctrl-C during its start-up stays pending
    until :func:`worker.init_worker` ignores it — instead of a KeyboardInterrupt traceback from the
    middle of multiprocessing's bootstrap. A Ctrl-C meant for the run is delivered on leaving."""

    def __enter__(self):
        self.old = None
        if hasattr(signal, "pthread_sigmask"):
            self.old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


def _failed(key: str, msg: str) -> dict[str, Any]:
    return {"key": key, "status": "failed", "executed": None, "html": None, "error": msg,
            "duration": 0.0, "worker": ""}


class LocalPool:
    """The local process pool, startable ahead of the reports.

    ``msoko run`` starts it just before the indicators are computed: computing uses one core,
    and meanwhile n − 1 workers start and warm their kernels (imports of pandas, scipy, msoko:
    a few seconds each) on the others. Each worker keeps one warm kernel for all its reports."""

    def __init__(self, n_jobs: int, kernel_log: str | None = None):
        self.n = max(1, int(n_jobs))
        self.kernel_log = kernel_log
        self.pool = None
        self._workers: dict = {}
        # the workers' kernels keep their connection files and sockets here: removed with the pool, also
        # when a worker was killed and could not remove its own (the files hold the kernel's key)
        self.kernel_tmp: str | None = None

    def remember_workers(self) -> None:
        """Note the pool's worker processes (called after each submit): once the pool has seen
        a worker die it may forget the others, which must still be killed."""
        if self.pool is not None:
            self._workers.update(getattr(self.pool, "_processes", None) or {})

    def start(self, warm: int | None = None) -> "LocalPool":
        """Create the pool and spawn ``warm`` workers now (default: all); the pool spawns the
        others when the reports are submitted."""
        from concurrent.futures import ProcessPoolExecutor

        from msoko.runner import worker

        if self.pool is None:
            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent; same on Windows
            self.kernel_tmp = self.kernel_tmp or tempfile.mkdtemp(prefix="msoko-run-")
            self.pool = ProcessPoolExecutor(max_workers=self.n, mp_context=ctx, initializer=worker.init_worker,
                                            initargs=(self.kernel_log, True, self.kernel_tmp))
            with _SigintBlocked():
                for _ in range(self.n if warm is None else max(0, min(warm, self.n))):
                    self.pool.submit(worker.ready)  # one task per worker: the pool spawns it now
            self.remember_workers()
        return self

    def start_beside_one_busy_core(self) -> "LocalPool":
        """Warm the workers that the cores left idle by a one-core computation can carry (n − 1):
        warming all of them would slow the computation down as much as it saves."""
        return self.start(warm=self.n - 1)

    def shutdown(self, *, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self.pool = None
            self._workers = {}
        self._remove_kernel_tmp()

    def _remove_kernel_tmp(self) -> None:
        if self.kernel_tmp:
            shutil.rmtree(self.kernel_tmp, ignore_errors=True)
            self.kernel_tmp = None

    def has_dead_worker(self) -> bool:
        """A worker process of the pool has exited. The pool notices a dead worker through the
        processes' sentinels, but a worker spawned on demand is added after the management thread
        was woken for its task (CPython 3.11 ``submit``: wakeup, then spawn), so its death can go
        unseen until some other result arrives; the run checks for itself."""
        if self.pool is None:
            return False
        if getattr(self.pool, "_broken", False):  # noticed after all (its processes are forgotten then)
            return True
        self.remember_workers()
        return any(p.exitcode is not None for p in self._workers.values())

    def discard_broken(self, join_timeout: float = 30.0) -> None:
        """Throw away a broken pool without waiting on it.

        When a worker dies, the pool stops reading its result pipe; a surviving worker that
        was sending a large result (an executed notebook) then blocks in ``write`` for ever,
        and ``shutdown(wait=True)`` joins it for ever (seen on Python 3.11 in CI: the run hung
        until the job was killed). So: kill every worker process still there, then shut the
        pool down without joining its management thread. Their kernels exit with them
        (ipykernel's parent poller)."""
        if self.pool is None:
            return
        self.remember_workers()
        procs = list(self._workers.values())
        self._workers = {}
        for p in procs:
            try:
                if p.is_alive():
                    p.kill()
            except (OSError, ValueError, AttributeError):  # pragma: no cover - already gone
                pass
        self.pool.shutdown(wait=False, cancel_futures=True)
        # the pool's own management thread may be reaping or joining the same processes: kill by
        # pid until each has an exit code (a Process object's poll can lose that race)
        deadline = time.monotonic() + join_timeout
        while time.monotonic() < deadline:
            alive = []
            for p in procs:
                try:
                    if p.is_alive():
                        alive.append(p)
                except (OSError, ValueError, AttributeError, AssertionError):  # pragma: no cover
                    pass
            if not alive:
                break
            for p in alive:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, TypeError):  # already gone
                    pass
                try:
                    p.join(0.2)
                except (OSError, ValueError, AttributeError, AssertionError):  # pragma: no cover
                    pass
        self.pool = None
        self._remove_kernel_tmp()


def run_local(payloads: list[dict], n_jobs: int, on_result: ResultCallback,
              kernel_log: str | None = None, pool: LocalPool | None = None) -> None:
    """Run the reports on ``pool`` (started here when not given: ``n_jobs`` processes)."""
    from msoko.runner import worker

    if not payloads:
        if pool is not None:
            pool.shutdown()
        return
    n = max(1, min(n_jobs, len(payloads)))
    if n == 1 and (pool is None or pool.pool is None):
        # No pool: run here (saves a process start), kernel stopped afterwards.
        worker.init_worker(kernel_log, prestart=False)
        try:
            for p in payloads:
                on_result(worker.execute_job(p))
        finally:
            worker.shutdown_worker_kernel()
        return

    own = LocalPool(n, kernel_log) if pool is None or pool.pool is None else pool
    try:
        _run_on_pool(payloads, n, on_result, own)
    except BaseException:
        # Ctrl+C / SIGTERM: the workers ignore Ctrl-C (worker.init_worker) and would finish their
        # reports first: kill them; their kernels exit with them (ipykernel's parent poller).
        own.discard_broken()
        raise
    own.shutdown()


# A worker's kernel keeps the municipality's slice it loaded (msoko.report.data.load) for the next report of
# that municipality: the reports go to the workers in batches of one municipality, so that on a region each
# slice is loaded (and its indices built) by one worker once, not by every worker for every kind of report
# (600-school region: ~1 s of a school report's CPU is the first report of a slice in a kernel). Batches are
# small enough to keep the workers evenly busy and the progress moving: at most MAX_BATCH reports and at
# least BATCHES_PER_WORKER batches per worker; a run of one municipality goes report by report.
MAX_BATCH = 24
BATCHES_PER_WORKER = 4


def batches(payloads: list[dict], n: int) -> list[list[dict]]:
    """``payloads`` (in the plan's order: a municipality's reports together) cut into batches of
    consecutive reports of one municipality (``payload["group"]``), each of at most
    ``min(MAX_BATCH, ⌈len / (BATCHES_PER_WORKER · n)⌉)`` reports; one report per batch when the reports
    are of one municipality (and the regional ones)."""
    import math

    if len({p.get("group", "") for p in payloads if p.get("group", "")}) <= 1:
        # one municipality: every worker keeps its slice anyway; one report at a time keeps the progress
        # moving report by report
        return [[p] for p in payloads]
    size = max(1, min(MAX_BATCH, math.ceil(len(payloads) / (BATCHES_PER_WORKER * max(1, n)))))
    out: list[list[dict]] = []
    for p in payloads:
        if out and len(out[-1]) < size and out[-1][0].get("group", "") == p.get("group", ""):
            out[-1].append(p)
        else:
            out.append([p])
    return out


def _run_on_pool(payloads: list[dict], n: int, on_result: ResultCallback, own: LocalPool) -> None:
    """At most ``n`` batches of reports (:func:`batches`) in flight. When a worker process dies (killed
    for memory, a crash of the interpreter), the pool breaks and every report in flight is lost with it.
    The pool is started afresh and those reports run again one at a time, alone, so that an innocent
    report is rebuilt and the one that kills its worker is named: a report lost twice is failed."""
    from collections import deque
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    from msoko.runner import worker

    queue, suspects = deque(batches(payloads, n)), deque()
    lost_once: set[str] = set()
    in_flight: dict = {}

    def lost(batch: list[dict], why: str) -> None:
        """Reports lost with a broken pool: each runs again alone, failed when lost twice."""
        for p in batch:
            if p["key"] in lost_once:
                on_result(_failed(p["key"], f"процесс-исполнитель аварийно завершился дважды на этом отчёте {why}"))
            else:
                lost_once.add(p["key"])
                log.warning("процесс-исполнитель аварийно завершился; отчёт %s будет выполнен ещё раз", p["key"])
                suspects.append([p])

    while queue or suspects or in_flight:
        executor = own.start().pool
        with _SigintBlocked():   # a submit may spawn a worker
            if suspects:
                if not in_flight:
                    b = suspects.popleft()
                    in_flight[executor.submit(worker.execute_batch, b)] = b
            else:
                while queue and len(in_flight) < n:
                    b = queue.popleft()
                    in_flight[executor.submit(worker.execute_batch, b)] = b
        own.remember_workers()
        done = _wait_some(in_flight, own)
        if not done or any(isinstance(f.exception(), BrokenProcessPool) for f in done):
            # The rest of the broken pool fails at once (bounded: never hang on a dead pool).
            if done:
                wait(list(in_flight), timeout=10)
            own.discard_broken()
            done, _ = wait(list(in_flight), timeout=60)
            for fut in list(in_flight):
                if fut not in done:  # pragma: no cover - a future the dead pool never settled
                    lost(in_flight.pop(fut), "(после аварии пула не ответил)")
        for fut in done:
            b = in_flight.pop(fut)
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                lost(b, f"(нехватка памяти или сбой интерпретатора): {exc}")
            elif exc is not None:  # pragma: no cover - defensive
                for p in b:
                    on_result(_failed(p["key"], f"{type(exc).__name__}: {exc}"))
            else:
                for res in fut.result():
                    on_result(res)


def _wait_some(in_flight: dict, own: LocalPool, poll: float = 10.0) -> set:
    """The futures that are done (at least one), or an empty set when a worker died without the
    pool noticing (see :meth:`LocalPool.has_dead_worker`): the pool is then treated as broken."""
    from concurrent.futures import FIRST_COMPLETED, wait

    while True:
        done, _ = wait(list(in_flight), timeout=poll, return_when=FIRST_COMPLETED)
        if done:
            return done
        if own.has_dead_worker():
            log.warning("процесс-исполнитель завершился, а пул этого не заметил; пул перезапускается")
            return set()


def _shutdown_kernels_on_worker() -> int:
    from msoko.runner import worker

    return worker.shutdown_all_kernels()


def run_dask(payloads: list[dict], scheduler: Any, on_result: ResultCallback) -> None:
    """Submit every report to an existing Dask cluster (``scheduler`` is an
    address such as ``tcp://host:8786`` or a ``distributed.Client``).

    Workers need msoko installed and read access to the processed folder (the
    notebook text travels with the task; results come back as strings and are
    written here)."""
    if not payloads:
        return
    from distributed import Client, as_completed

    from msoko.runner import worker

    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    try:
        try:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        except Exception:  # noqa: BLE001 - a sizing hint only
            n_workers = 1
        work = batches(payloads, n_workers)   # a municipality's reports together: its slice read once
        futs = client.map(worker.execute_batch, work, pure=False,
                          key=[f"msoko-reports-{i}-{os.getpid()}" for i in range(len(work))])
        keys = {f.key: b for f, b in zip(futs, work)}
        for fut in as_completed(futs, loop=client.loop):
            try:
                results = fut.result()
            except Exception as exc:
                results = [_failed(p["key"], f"ошибка исполнителя Dask: {type(exc).__name__}: {exc}")
                           for p in keys[fut.key]]
            for res in results:
                on_result(res)
        # Do not leave kernels with a possibly stale msoko on the workers.
        try:
            client.run(_shutdown_kernels_on_worker)
        except Exception as exc:  # pragma: no cover
            log.warning("не удалось остановить ядра на узлах Dask: %s", exc)
    finally:
        if own:
            client.close()
