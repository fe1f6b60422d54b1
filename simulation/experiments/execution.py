"""Running a batch of jobs: :func:`execute` on a named executor, and saving as they finish.

Executors sit behind :func:`execute`, a registry of small functions
(``serial``, ``process``, ``dask``), so callers never depend on where jobs
run. :func:`run_saved` runs only the jobs whose replicates are not saved yet
in a :class:`~simulation.experiments.store.ReplicateStore`, saves each one as
soon as it finishes, and reports replicates that raise (a
:class:`~simulation.experiments.jobs.Failure`) without stopping the others.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from tqdm import tqdm

from simulation.experiments.cluster import LOCAL_DASK, run_on_dask
from simulation.experiments.files import csv_text
from simulation.experiments.jobs import (
    PROVINCES,
    SNAPSHOTS,
    Failure,
    Guarded,
    Job,
    Runner,
    concat_results,
    make_jobs,
    run_job,
)
from simulation.experiments.pool import Executor, run_on_pool, run_serial
from simulation.experiments.store import ReplicateStore, read_replicate_csv
from simulation.scenario.core import Scenario

__all__ = ["EXECUTORS", "execute", "load_saved", "run_ensemble", "run_saved"]


#: Named executors; each maps (runner, jobs, workers) to (index, result) pairs.
EXECUTORS: dict[str, Executor] = {"serial": run_serial, "process": run_on_pool, "dask": run_on_dask}


def execute(
    jobs: Sequence[Job],
    workers: int = 1,
    progress: bool = True,
    fn: Runner = run_job,
    executor: str | None = None,
    desc: str = "replicates",
    *,
    scheduler: str | None = None,
    on_result: Callable[[int, Any], None] | None = None,
    keep_going: bool = False,
    done: int = 0,
) -> list[Any]:
    """Run ``fn`` on every job and return the results in job order.

    ``workers=1`` (or a single job) runs serially in this process, otherwise
    on a process pool; with ``scheduler`` (a Dask address such as
    ``tcp://host:8786``, or ``local-dask``) on a Dask cluster. The results
    are the same in every case. ``progress`` shows a tqdm bar with ETA on
    stderr; ``done`` jobs finished earlier count toward it. ``on_result(i,
    result)`` is called in this process as each job finishes. With
    ``keep_going`` a job that raises gives a :class:`Failure` as its result
    instead of stopping the rest.
    """
    if scheduler:
        runner: Executor = functools.partial(run_on_dask, address=scheduler)
        if scheduler == LOCAL_DASK and workers < 1:
            workers = 2
    else:
        workers = max(1, min(workers, len(jobs))) if jobs else 1
        runner = EXECUTORS[executor or ("serial" if workers == 1 else "process")]
    call = Guarded(fn) if keep_going else fn
    results: list[Any] = [None] * len(jobs)
    if not jobs:
        return results
    bar = tqdm(
        total=len(jobs) + done,
        initial=done,
        desc=desc,
        unit="run",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    with bar:
        for i, result in runner(call, jobs, workers):
            results[i] = result
            if on_result is not None:
                on_result(i, result)
            bar.update(1)
    return results


def run_saved(
    batches: Sequence[tuple[ReplicateStore, Sequence[Job]]],
    workers: int = 1,
    progress: bool = True,
    desc: str = "replicates",
    scheduler: str | None = None,
    report: Callable[[str], None] | None = None,
) -> list[Failure]:
    """Run every job not yet saved in its store, saving each result as it arrives.

    ``batches`` pairs a :class:`~simulation.experiments.store.ReplicateStore` with
    its jobs. A job that raises is reported (``report``, default: a line
    above the progress bar) and its traceback saved next to where its result
    would be; the others still run. Returns the failures, in job order.
    """
    todo = [
        (store, job)
        for store, jobs in batches
        for job in jobs
        if not store.has(job.scenario, job.seed)
    ]
    total = sum(len(jobs) for _, jobs in batches)
    failures: dict[int, Failure] = {}
    say = report or (lambda text: tqdm.write(text, file=sys.stderr))
    for store in {id(store): store for store, _ in batches}.values():
        for path, why in store.redo.items():  # saved files that did not verify
            say(f"{path}: {why}; running that replicate again")

    def save(i: int, result: Any) -> None:
        """Save job ``i``'s result, or record and report its failure."""
        store, job = todo[i]
        if isinstance(result, Failure):
            store.save_error(job.scenario, job.seed, f"{result.message()}\n\n{result.traceback}")
            failures[i] = result
            say(result.message())
        else:
            store.save(job.scenario, job.seed, result)

    execute(
        [job for _, job in todo],
        workers,
        progress,
        desc=desc,
        scheduler=scheduler,
        on_result=save,
        keep_going=True,
        done=total - len(todo),
    )
    return [failures[i] for i in sorted(failures)]


def load_saved(store: ReplicateStore, jobs: Sequence[Job]) -> pd.DataFrame:
    """The saved replicates of ``jobs``, stacked in replicate order.

    On the map their records by province are stacked too, into the result's
    ``attrs["provinces"]`` (CSV bytes), and their snapshots (if any) into
    ``attrs["snapshots"]``, for :func:`~simulation.experiments.manifest.write_run`.
    """
    frames, provinces, snapshots = [], [], []
    for job in jobs:
        df = store.load(job.scenario, job.seed)
        df["replicate"] = job.replicate  # the file is named by seed; numbering may differ
        shots = df.attrs.pop(SNAPSHOTS, None)
        if shots is not None:
            snapshots.append((job.replicate, job.seed, shots))
        by_province = df.attrs.pop(PROVINCES, None)
        if by_province is not None:
            table = read_replicate_csv(io.BytesIO(by_province))
            table["replicate"] = job.replicate
            provinces.append(table)
        frames.append(df)
    stacked = concat_results(frames)
    if provinces:
        table = pd.concat(provinces, ignore_index=True)
        table = table.sort_values(["replicate", "step"], kind="stable")
        stacked.attrs[PROVINCES] = csv_text(table).encode()
    if snapshots:
        from simulation.model.snapshots import stack

        snapshots.sort()
        stacked.attrs[SNAPSHOTS] = stack(*(list(c) for c in zip(*snapshots, strict=True)))
    return stacked


def run_ensemble(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    progress: bool = True,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run ``replicates`` seeded replicates (defaults from the scenario) and stack them.

    The result has columns ``replicate``, ``seed``, ``step``, ``date`` and
    every metric, one row per replicate and step, and is the same whatever
    ``workers`` or ``scheduler`` is.
    """
    jobs = make_jobs(scenario, replicates, seed)
    return concat_results(execute(jobs, workers, progress, desc=scenario.name, scheduler=scheduler))
