"""Scenarios by name or path, with ``--set``-style overrides; saved runs opened and drawn."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.scenario.core import Scenario
from simulation.scenario.errors import ScenarioError
from simulation.scenario.loader import load_scenario, parse_assignment
from simulation.scenario.shipped import resolve as shipped_resolve
from simulation.scenario.shipped import shipped_dir

if TYPE_CHECKING:
    import pandas as pd

    from simulation.experiments.loading import RunData

__all__ = [
    "ScenarioLike",
    "header",
    "headlines",
    "load",
    "open_run",
    "plot",
    "resolve",
    "scenarios_dir",
]

#: A scenario: a loaded one, a file, or the name of a shipped one (``"baseline"``).
ScenarioLike = Scenario | str | os.PathLike[str]
#: A callback given each line of what was done (the command line prints them).
Echo = Callable[[str], None]


def scenarios_dir() -> Path:
    """``./scenarios`` if it exists, else the shipped scenarios (also after ``pip install .``)."""
    here = Path("scenarios")
    return here if here.is_dir() else shipped_dir()


def scenario_path(scenario: str | os.PathLike[str]) -> Path:
    """The file of ``scenario``: a path as given, or (a string) a shipped name (``baseline``)."""
    return shipped_resolve(scenario)


def header(
    replicates: int | None = None, seed: int | None = None, steps: int | None = None
) -> dict[str, Any]:
    """``replicates``, ``seed`` and ``steps`` (those given) as ``scenario.*`` overrides."""
    given = {"scenario.replicates": replicates, "scenario.seed": seed, "scenario.steps": steps}
    return {name: value for name, value in given.items() if value is not None}


def overrides(where: str | os.PathLike[str], assignments: Sequence[str]) -> dict[str, Any]:
    """Parse ``NAME=VALUE`` assignments (values read as TOML), as the CLI's ``--set``."""
    if isinstance(assignments, str):
        assignments = [assignments]
    out: dict[str, Any] = {}
    for text in assignments:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise ScenarioError(where, "--set", str(exc)) from None
        out[name] = value
    return out


def load(scenario: str | os.PathLike[str], set: Sequence[str] = (), **fields: Any) -> Scenario:
    """Load a scenario file, or a shipped scenario by name, with overrides.

    ``set`` are ``NAME=VALUE`` overrides as on the command line
    (``"isisk.initial_fighters=3000"``); ``fields`` are header fields
    (``steps=20``, ``replicates=2``, ``seed=5``). Raises ScenarioError.
    """
    path = scenario_path(scenario)
    extra = overrides(path, set)
    extra.update({f"scenario.{name}": value for name, value in fields.items()})
    return load_scenario(path, extra)


def _with_header(sc: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A loaded scenario with ``scenario.*`` fields replaced (later events dropped)."""
    fields = {name.removeprefix("scenario."): value for name, value in changes.items()}
    if "steps" in fields:
        fields["events"] = tuple(ev for ev in sc.events if ev.step <= fields["steps"])
    try:
        return dataclasses.replace(sc, **fields)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(sc.source or sc.name, "scenario", str(exc)) from None


def resolve(
    scenario: ScenarioLike, set: Sequence[str] = (), extra: Mapping[str, Any] | None = None
) -> Scenario:
    """A scenario from a file, a name or a loaded one, with ``set`` and ``extra`` overrides."""
    if not isinstance(scenario, Scenario):
        path = scenario_path(scenario)
        return load_scenario(path, {**overrides(path, set), **(extra or {})})
    changes = {**overrides(scenario.source or scenario.name, set), **(extra or {})}
    head = {k: v for k, v in changes.items() if k.startswith("scenario.")}
    params = {k: v for k, v in changes.items() if k not in head}
    try:
        sc = scenario.with_overrides(params) if params else scenario
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(scenario.source or scenario.name, "--set", str(exc)) from None
    return _with_header(sc, head) if head else sc


def open_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read a saved run directory (checked against its manifest). Raises ResultsError."""
    from simulation.experiments.loading import load_run

    return load_run(run_dir)


def plot(run_dir: str | os.PathLike[str], only: Sequence[str] | None = None) -> list[Path]:
    """(Re)draw a run directory's plots (``only`` these files); returns the PNGs written."""
    from simulation.plots import plot_run

    return plot_run(run_dir, only)


def headlines(run: RunData | str | os.PathLike[str]) -> pd.DataFrame:
    """One row per replicate of a saved run: its seed and the headline metrics."""
    from simulation.experiments.loading import RunData
    from simulation.experiments.summaries import headline_table

    data = run if isinstance(run, RunData) else open_run(run)
    return headline_table(data.timeseries)
