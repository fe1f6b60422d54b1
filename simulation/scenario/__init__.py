"""Scenarios: the parameter table, the validated scenario, and its TOML files.

- ``params.py``: the one parameter table (names, units, ranges, sources), of
  ``param_type.Param`` rows;
- ``core.py``: the data types the model runs on (:class:`Scenario`, events, regions);
- ``loader.py``: loading and validating scenario files (the entry points), helped by
  ``reading.py`` (limits, TOML, ``extends``), ``schema.py`` and ``schema_errors.py``
  (the file's structure and its errors), ``checks.py`` (the merged scenario) and
  ``errors.py`` (:class:`ScenarioError`);
- ``writer.py``: scenarios written back as TOML;
- ``shipped.py``: the scenario files shipped with the package.

Names are imported lazily, so that ``from simulation.scenario import params``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "DAYS_PER_STEP",
    "Event",
    "Region",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "make_scenario",
    "scenario_to_toml",
]

_WHERE = {
    "DAYS_PER_STEP": "simulation.scenario.core",
    "Event": "simulation.scenario.core",
    "Region": "simulation.scenario.core",
    "Scenario": "simulation.scenario.core",
    "make_scenario": "simulation.scenario.core",
    "ScenarioError": "simulation.scenario.errors",
    "load_scenario": "simulation.scenario.loader",
    "scenario_to_toml": "simulation.scenario.writer",
}

if TYPE_CHECKING:
    from simulation.scenario.core import DAYS_PER_STEP, Event, Region, Scenario, make_scenario
    from simulation.scenario.errors import ScenarioError
    from simulation.scenario.loader import load_scenario
    from simulation.scenario.writer import scenario_to_toml


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'simulation.scenario' has no attribute {name!r}")
