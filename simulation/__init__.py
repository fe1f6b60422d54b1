"""khorasan: an agent-based model of ISIS-K, the Taliban and Afghan civilians.

``from simulation import ConflictModel, load_scenario``. Names are imported
lazily so that the command line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ConflictModel", "Scenario", "load_scenario", "make_scenario", "simulate"]

_WHERE = {
    "ConflictModel": "simulation.model",
    "simulate": "simulation.model",
    "Scenario": "simulation.scenario",
    "make_scenario": "simulation.scenario",
    "load_scenario": "simulation.scenario.loader",
}

if TYPE_CHECKING:
    from simulation.model import ConflictModel, simulate
    from simulation.scenario.core import Scenario, make_scenario
    from simulation.scenario.loader import load_scenario


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")
