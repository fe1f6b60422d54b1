"""Simulations for the validation, on the project's one executor (:func:`ensemble.execute`).

A run is an :class:`~simulation.experiments.jobs.Job` (a scenario and a seed);
:class:`Columns` runs it in a worker and sends back only the columns a part
needs, as arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulation.experiments.execution import execute
from simulation.experiments.jobs import Job, run_job
from simulation.scenario.core import Scenario


@dataclass(frozen=True)
class Columns:
    """A picklable runner: one replicate's ``columns`` as arrays (and ``date`` if asked)."""

    columns: tuple[str, ...]
    dates: bool = False

    def __call__(self, job: Job) -> dict[str, np.ndarray]:
        """Run ``job`` and keep the columns."""
        df = run_job(job)
        out = {c: df[c].to_numpy() for c in self.columns}
        if self.dates:
            out["date"] = df["date"].to_numpy().astype("datetime64[D]")
        return out


def jobs_for(scenario: Scenario, seeds: Sequence[int]) -> list[Job]:
    """One job per seed (replicate numbers 0, 1, ...)."""
    return [Job(scenario, int(s), i) for i, s in enumerate(seeds)]


def run_columns(
    scenarios: Sequence[Scenario] | Scenario,
    seeds: Sequence[int],
    columns: Sequence[str],
    workers: int,
    label: str,
    dates: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Each seed's run of the scenario (or of its own scenario, one per seed): the columns.

    Serial with ``workers`` = 1, else on ensemble's spawn-context process pool
    (every worker imports the model afresh); a progress bar on stderr.
    """
    if isinstance(scenarios, Scenario):
        jobs = jobs_for(scenarios, seeds)
    else:
        jobs = [Job(sc, int(s), i) for i, (sc, s) in enumerate(zip(scenarios, seeds, strict=True))]
    return execute(jobs, workers, progress=True, fn=Columns(tuple(columns), dates), desc=label)
