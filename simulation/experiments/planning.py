"""Runs into run directories, as the command line does them: plan, then finish.

:func:`plan_runs` checks every target before anything is written, sets aside
damaged runs on ``--resume``, and opens (and locks) a
:class:`~simulation.experiments.workspace.Workspace` for each run to do;
:func:`finish_run` writes a run directory from its saved replicates.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.experiments.execution import load_saved
from simulation.experiments.files import ResultsError
from simulation.experiments.jobs import Job, make_jobs
from simulation.experiments.loading import run_damage, run_is_complete
from simulation.experiments.manifest import write_run
from simulation.experiments.rundir import prepare_target, run_dir_for, set_aside
from simulation.experiments.workspace import Workspace, partial_dir_for, resume_settings
from simulation.scenario.core import Scenario

__all__ = ["RunPlan", "finish_run", "plan_runs"]


@dataclass
class RunPlan:
    """A scenario to run into ``target`` (a run directory), with its saved replicates.

    ``workspace`` is None when ``--resume`` found ``target`` already complete.
    """

    scenario: Scenario
    target: Path
    jobs: list[Job]
    workspace: Workspace | None
    reused: int = 0  # replicates already saved by an earlier, interrupted run

    @property
    def pending(self) -> bool:
        """Whether the run directory still has to be written."""
        return self.workspace is not None


def plan_runs(
    scenarios: Sequence[Scenario],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    force: bool = False,
    report: Callable[[str], None] | None = None,
) -> list[RunPlan]:
    """Check every run directory first, then open (and lock) their workspaces.

    Raises :class:`~simulation.experiments.files.ResultsError` (one line) before
    anything is written if any target may not be written. With ``resume``,
    a run directory of the same scenario whose files do not match their
    hashes is renamed ``NAME.damaged-TAG`` (``report``, default stderr,
    says so) and run again.
    """
    targets = []
    damaged = []
    for sc in scenarios:
        target = run_dir_for(out, sc)
        complete = resume and run_is_complete(target, sc)
        damage = run_damage(target, sc) if resume and not complete and not force else None
        if damage is not None:
            damaged.append((target, damage))
        todo = damage is not None or prepare_target(
            target, resume=resume, force=force, complete=complete
        )
        targets.append((sc, target, todo))
    say = report or (lambda text: print(text, file=sys.stderr))
    for target, damage in damaged:
        say(f"{damage}; kept as {set_aside(target)} and running it again (--resume)")
    for sc, target, todo in targets:
        if not todo and partial_dir_for(target).is_dir():
            # killed after writing the run but before dropping its workspace: the saved
            # replicates (same code and settings, else they stay) are in the run already
            with contextlib.suppress(ResultsError):
                Workspace(target).open(
                    resume=True, force=False, settings=resume_settings(sc)
                ).remove()
    plans: list[RunPlan] = []
    try:
        for sc, target, todo in targets:
            ws = (
                Workspace(target).open(resume=resume, force=force, settings=resume_settings(sc))
                if todo
                else None
            )
            jobs = make_jobs(sc)
            reused = sum(ws.store.has(sc, j.seed) for j in jobs) if ws is not None else 0
            plans.append(RunPlan(sc, target, jobs, ws, reused))
    except BaseException:
        for plan in plans:
            if plan.workspace is not None:
                plan.workspace.close()
        raise
    return plans


def finish_run(
    plan: RunPlan,
    *,
    timings: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Write the run directory from the saved replicates, then drop the workspace."""
    assert plan.workspace is not None
    ts = load_saved(plan.workspace.store, plan.jobs)
    timings = {**(timings or {}), "replicates_reused": plan.reused}
    run_dir = write_run(
        plan.target.parent, plan.scenario, ts, timings=timings, command=command, force=force
    )
    plan.workspace.remove()
    return run_dir
