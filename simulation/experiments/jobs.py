"""Replicates as jobs: a picklable :class:`Job`, its seed, and :func:`run_job`.

Replicate ``i`` always uses seed ``seed + i``, so results do not depend on
how many workers ran them, nor where. A job that raises under
:class:`Guarded` comes back as a :class:`Failure`.

Test hook: if the environment variable ``KHORASAN_FAIL_SEED`` holds a seed
(or several, comma-separated), :func:`run_job` raises ``RuntimeError`` for
those seeds. It exists only so that tests can make one replicate fail.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simulation.experiments.files import csv_text
from simulation.scenario.core import Scenario

__all__ = [
    "FAIL_SEED_ENV",
    "Failure",
    "Guarded",
    "Job",
    "Runner",
    "concat_results",
    "make_jobs",
    "run_job",
]


#: Test hook: seeds (comma-separated) for which :func:`run_job` raises.
FAIL_SEED_ENV = "KHORASAN_FAIL_SEED"
#: The ``attrs`` key of a replicate frame's record by province (CSV bytes, on the map).
PROVINCES = "provinces"
#: The ``attrs`` key of a replicate frame's snapshots (``world.snapshot_every``; npz bytes).
SNAPSHOTS = "snapshots"
#: What rides along with a replicate frame in ``attrs``: key -> file suffix in the store.
ATTACHED: dict[str, str] = {PROVINCES: ".provinces.csv", SNAPSHOTS: ".snapshots.npz"}


@dataclass(frozen=True)
class Job:
    """One replicate: a scenario, its seed and the replicate number.

    ``point`` holds the swept parameter values of a sweep job (for messages).
    """

    scenario: Scenario
    seed: int
    replicate: int
    point: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        """``baseline replicate 3 (seed 4)``, with the sweep point if any."""
        text = f"{self.scenario.name} replicate {self.replicate} (seed {self.seed})"
        if self.point:
            text += " at " + ", ".join(f"{k}={v!r}" for k, v in self.point)
        return text


def make_jobs(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    point: tuple[tuple[str, Any], ...] = (),
) -> list[Job]:
    """Jobs for replicates ``0..n-1`` with seeds ``seed, seed+1, ...``."""
    from simulation.scenario.core import seed_problem

    n = scenario.replicates if replicates is None else replicates
    base = scenario.seed if seed is None else seed
    problem = seed_problem(base, n)
    if problem is not None:
        raise ValueError(f"seed: {problem}")
    return [Job(scenario, base + i, i, point) for i in range(n)]


def _fail_if_asked(seed: int) -> None:
    """The ``KHORASAN_FAIL_SEED`` test hook."""
    wanted = os.environ.get(FAIL_SEED_ENV, "").strip()
    if wanted and str(seed) in {s.strip() for s in wanted.split(",")}:
        raise RuntimeError(f"{FAIL_SEED_ENV}={wanted}: simulated failure of seed {seed}")


def run_job(job: Job) -> pd.DataFrame:
    """Run one replicate; its metrics with ``replicate`` and ``seed`` columns in front.

    On the map its record by province rides along as CSV bytes in
    ``attrs["provinces"]`` (same columns in front), and with
    ``world.snapshot_every`` its snapshots as npz bytes in ``attrs["snapshots"]``,
    for the store to save.
    """
    from simulation.model import run_model
    from simulation.model.snapshots import EVERY, run_with_snapshots

    _fail_if_asked(job.seed)
    every = int(job.scenario.params.get(EVERY, 0))
    snapshots = None
    if every > 0:
        model, snapshots = run_with_snapshots(job.scenario, job.seed, every)
    else:
        model = run_model(job.scenario, job.seed, make_views=False)  # views change no result
    df = model.metrics().copy()
    df.insert(0, "seed", job.seed)
    df.insert(0, "replicate", job.replicate)
    provinces = model.province_metrics()
    if provinces is not None:
        provinces.insert(0, "seed", job.seed)
        provinces.insert(0, "replicate", job.replicate)
        df.attrs[PROVINCES] = csv_text(provinces).encode()
    if snapshots is not None:
        df.attrs[SNAPSHOTS] = snapshots
    return df


@dataclass(frozen=True)
class Failure:
    """A job that raised: the job, the error on one line and its traceback."""

    job: Job
    error: str
    traceback: str

    def message(self) -> str:
        """``baseline replicate 3 (seed 4) failed: RuntimeError: ...``."""
        return f"{self.job.describe()} failed: {self.error}"


@dataclass(frozen=True)
class Guarded:
    """Wrap a runner so that an exception comes back as a :class:`Failure`.

    It runs inside the worker, so a failing replicate never stops the others
    and its traceback survives the trip back from another process or machine.
    """

    fn: Callable[[Job], Any]

    def __call__(self, job: Job) -> Any:
        try:
            return self.fn(job)
        except Exception as exc:
            error = " ".join(f"{type(exc).__name__}: {exc}".split())
            return Failure(job, error, traceback.format_exc())


Runner = Callable[[Job], Any]


def concat_results(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack replicate frames, ordered by replicate then step."""
    df = pd.concat(list(frames), ignore_index=True)
    return df.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)
