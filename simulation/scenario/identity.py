"""A scenario's identity: a hash of what it is, not of how a file spells it.

Resume, ``run_is_complete`` and the replicate store's folders compare
scenarios by :func:`identity`, the sha256 of a canonical JSON text of the
scenario's data (its name, calendar, every parameter, events and regions, and
optionally its seed and replicate count). A change to how scenarios are
written as TOML (:mod:`simulation.scenario.writer`: spacing, comments, the
order of fields) therefore never makes a finished or interrupted run look
like another scenario's. The description and the source file are left out:
they change no result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from simulation.scenario.core import Scenario
from simulation.scenario.param_type import plain

__all__ = ["canonical", "identity"]


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (tuples and mappings as lists and dicts, dates as text)."""
    value = plain(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


#: Event fields added later, left out at their default so that older scenarios keep their identity.
_LATER_EVENT_FIELDS = {"remove_isisk_fighters": 0}


def _event(ev: Any) -> Any:
    data = dataclasses.asdict(ev)
    for name, default in _LATER_EVENT_FIELDS.items():
        if data.get(name) == default:
            del data[name]
    return _jsonable(data)


def canonical(scenario: Scenario, *, seeds: bool = True) -> str:
    """The canonical JSON text of ``scenario`` (with its seed and replicates if ``seeds``)."""
    data: dict[str, Any] = {
        "name": scenario.name,
        "start_date": scenario.start_date.isoformat(),
        "steps": scenario.steps,
        "params": _jsonable(dict(scenario.params)),
        "events": [_event(ev) for ev in scenario.events],
        "regions": [_jsonable(dataclasses.asdict(r)) for r in scenario.regions],
    }
    if seeds:
        data["seed"], data["replicates"] = scenario.seed, scenario.replicates
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def identity(scenario: Scenario, *, seeds: bool = True) -> str:
    """The sha256 (hex) of :func:`canonical`."""
    return hashlib.sha256(canonical(scenario, seeds=seeds).encode()).hexdigest()
