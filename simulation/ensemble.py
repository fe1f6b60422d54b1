"""Ensembles: many seeded replicates of one scenario, serially or on a process pool.

A replicate is described by a picklable :class:`Job`; :func:`run_job` turns
one into a DataFrame. Replicate ``i`` always uses seed ``seed + i``, so
results do not depend on how many workers ran them. Executors sit behind
:func:`execute`, a registry of small functions, so other schedulers (Dask,
resume from disk) can be added without touching callers.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm import tqdm

from simulation.scenario import Scenario

__all__ = ["EXECUTORS", "Job", "execute", "make_jobs", "run_ensemble", "run_job"]


@dataclass(frozen=True)
class Job:
    """One replicate: a scenario, its seed and the replicate number."""

    scenario: Scenario
    seed: int
    replicate: int


def make_jobs(scenario: Scenario, replicates: int | None = None,
              seed: int | None = None) -> list[Job]:
    """Jobs for replicates ``0..n-1`` with seeds ``seed, seed+1, ...``."""
    n = scenario.replicates if replicates is None else replicates
    base = scenario.seed if seed is None else seed
    return [Job(scenario, base + i, i) for i in range(n)]


def run_job(job: Job) -> pd.DataFrame:
    """Run one replicate; its metrics with ``replicate`` and ``seed`` columns in front."""
    from simulation.model import simulate

    df = simulate(job.scenario, job.seed, make_views=False)  # views never change results
    df = df.copy()
    df.insert(0, "seed", job.seed)
    df.insert(0, "replicate", job.replicate)
    return df


Runner = Callable[[Job], Any]
Executor = Callable[[Runner, Sequence[Job], int], Iterator[tuple[int, Any]]]


def _serial(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs one after another in this process."""
    for i, job in enumerate(jobs):
        yield i, fn(job)


def _process_pool(fn: Runner, jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Any]]:
    """Run the jobs on a spawn-context process pool, yielding as they finish."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        pending: dict[Future[Any], int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()


#: Named executors; each maps (runner, jobs, workers) to (index, result) pairs.
EXECUTORS: dict[str, Executor] = {"serial": _serial, "process": _process_pool}


def default_workers() -> int:
    """One worker per available CPU."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def execute(jobs: Sequence[Job], workers: int = 1, progress: bool = True,
            fn: Runner = run_job, executor: str | None = None,
            desc: str = "replicates") -> list[Any]:
    """Run ``fn`` on every job and return the results in job order.

    ``workers=1`` (or a single job) runs serially in this process, otherwise
    on a process pool. ``progress`` shows a tqdm bar with ETA on stderr.
    """
    workers = max(1, min(workers, len(jobs))) if jobs else 1
    name = executor or ("serial" if workers == 1 else "process")
    results: list[Any] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=desc, unit="run", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    with bar:
        for i, result in EXECUTORS[name](fn, jobs, workers):
            results[i] = result
            bar.update(1)
    return results


def concat_results(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack replicate frames, ordered by replicate then step."""
    df = pd.concat(list(frames), ignore_index=True)
    return df.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)


def run_ensemble(scenario: Scenario, replicates: int | None = None, seed: int | None = None,
                 workers: int = 1, progress: bool = True) -> pd.DataFrame:
    """Run ``replicates`` seeded replicates (defaults from the scenario) and stack them.

    The result has columns ``replicate``, ``seed``, ``step``, ``date`` and
    every metric, one row per replicate and step, and is the same whatever
    ``workers`` is.
    """
    jobs = make_jobs(scenario, replicates, seed)
    return concat_results(execute(jobs, workers, progress, desc=scenario.name))
