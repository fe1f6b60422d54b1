"""Executors on this machine: serially, or on a process pool whose workers die with it.

An executor maps (runner, jobs, workers) to (index, result) pairs as the
jobs finish. Pool workers end with the main process however it ends (even
SIGKILL), and are terminated if the caller stops early.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from simulation.experiments.jobs import Job, Runner

__all__ = ["PARENT_CHECK_SECONDS", "Executor", "default_workers", "run_on_pool", "run_serial"]


Executor = Callable[[Runner, Sequence[Job], int], Iterator[tuple[int, Any]]]


def run_serial(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs one after another in this process."""
    for i, job in enumerate(jobs):
        yield i, fn(job)


#: How often a pool worker checks that the process that started it is still alive.
PARENT_CHECK_SECONDS = 0.5


def _exit_if_orphaned(parent: int) -> None:
    """End this worker at once if ``parent`` is no longer its parent."""
    if os.getppid() != parent:  # re-parented: the main process is gone
        os._exit(1)


def _watch_parent(parent: int) -> None:
    """Check for ever, every PARENT_CHECK_SECONDS, that ``parent`` is alive."""
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        _exit_if_orphaned(parent)


def _worker_init(parent: int) -> None:
    """In each pool worker: end with the main process, however it ends (even SIGKILL).

    On Linux the kernel kills the worker when its parent dies
    (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); everywhere, a daemon thread also
    checks every :data:`PARENT_CHECK_SECONDS` that the parent is still there.
    Without this a killed run's workers (hundreds of MB each) kept running.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    _exit_if_orphaned(parent)  # the parent may have died before prctl
    threading.Thread(
        target=_watch_parent, args=(parent,), name="khorasan-parent-watch", daemon=True
    ).start()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes at once (an interrupt, an error)."""
    processes = getattr(pool, "_processes", None) or {}
    for proc in list(processes.values()):
        with contextlib.suppress(OSError, AttributeError, ValueError):
            proc.terminate()


def run_on_pool(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs on a spawn-context process pool, yielding as they finish.

    If the caller stops early (Ctrl-C, SIGTERM, an error while saving), the
    workers are terminated rather than left to finish their replicates; and
    they die with this process if it is killed (:func:`_worker_init`).
    """
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )
    finished = False
    try:
        pending: dict[Future[Any], int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield pending.pop(fut), fut.result()
        finished = True
    finally:
        if not finished:
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """One worker per available CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
