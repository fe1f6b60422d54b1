"""The library: what the ``khorasan`` command does, callable from Python or a notebook.

    from simulation import api

    sc = api.load("baseline", steps=20, replicates=2)   # a shipped name or a file
    run_dir = api.run(sc, out="runs")                    # run, save, plot
    data = api.open_run(run_dir)                         # RunData: timeseries, summary
    cmp = api.compare(["baseline", "us_surveillance_retained"], out="runs/cmp", steps=20)
    cmp.table                                            # as comparison.csv
    api.sweep("baseline", ["isisk.attack_rate=1:3:3"], out="runs/sweep", replicates=2)
    api.loop("baseline", out="runs/loop", replicates=4, steps=52)  # the vicious circle
    api.report(run_dir)                                  # run_dir/report.html

Runs are saved as the command line saves them, with the same checks: an
existing output is refused unless ``force=True``; ``resume=True`` finishes
an interrupted run with identical results. Errors are exceptions:
ScenarioError (a scenario file or override), ResultsError (a run
directory), :class:`InputError` (other bad input), :class:`ReplicatesFailed`
(some replicates raised; the others are saved), :class:`RunInterrupted`
(Ctrl-C; what is saved) and :class:`SaveError` (a write failed; what is
saved). Nothing is printed but an optional progress bar (``progress=True``);
``echo`` is given each line of what was done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulation.api.comparing import Comparison, compare
from simulation.api.errors import InputError, ReplicatesFailed, RunInterrupted, SaveError
from simulation.api.loading import header, headlines, load, open_run, plot, scenarios_dir
from simulation.api.looping import LoopResult, loop
from simulation.api.running import run, run_many
from simulation.api.sharing import animate, report
from simulation.api.sweeping import sweep
from simulation.scenario.core import Scenario
from simulation.scenario.errors import ScenarioError

if TYPE_CHECKING:
    from simulation.experiments.files import ResultsError
    from simulation.experiments.loading import RunData

__all__ = [
    "Comparison",
    "InputError",
    "LoopResult",
    "ReplicatesFailed",
    "ResultsError",
    "RunData",
    "RunInterrupted",
    "SaveError",
    "Scenario",
    "ScenarioError",
    "animate",
    "compare",
    "header",
    "headlines",
    "load",
    "loop",
    "open_run",
    "plot",
    "report",
    "run",
    "run_many",
    "scenarios_dir",
    "sweep",
]


def __getattr__(name: str) -> Any:
    """``ResultsError`` and ``RunData``, imported when first used (pandas is slow to load)."""
    if name in ("ResultsError", "RunData"):
        from simulation.experiments import files, loading

        return getattr(files if name == "ResultsError" else loading, name)
    raise AttributeError(f"module 'simulation.api' has no attribute {name!r}")
