"""Scheduled events and ramps: the scenario's timeline, applied at the start of a step.

An :class:`~simulation.scenario.Event` sets parameters at its step, or with
``ramp_steps > 0`` moves numeric ones linearly to the new value over that
many steps (a :class:`Ramp`), and may add ISIS-K fighters to a region or
remove them from it (a surrender).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulation.scenario.core import Event

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel


@dataclass(frozen=True)
class Ramp:
    """Parameter ``name`` moving from ``start_value`` to ``end_value``.

    The ramp began at step ``start_step`` and takes ``steps`` steps; at step
    ``t`` the parameter is ``start + (end - start) * min(1, (t - start_step + 1) / steps)``.
    """

    name: str
    start_value: float
    end_value: float
    start_step: int
    steps: int

    def fraction(self, step: int) -> float:
        """How far along the ramp is at ``step`` (1: done)."""
        return min(1.0, (step - self.start_step + 1) / self.steps)

    def value(self, step: int) -> float:
        """The parameter's value at ``step``."""
        return self.start_value + (self.end_value - self.start_value) * self.fraction(step)


def set_param(params: MutableMapping[str, Any], name: str, value: Any) -> None:
    """Set a parameter, rounding to a whole number where the parameter is an integer."""
    current = params[name]
    if isinstance(current, int) and not isinstance(current, bool):
        value = int(round(value))
    params[name] = value


def _rampable(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Schedule:
    """The scenario's events by step and the ramps in progress."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.by_step: dict[int, list[Event]] = {}
        for ev in events:
            self.by_step.setdefault(ev.step, []).append(ev)
        self.ramps: list[Ramp] = []

    def advance_ramps(self, step: int, params: MutableMapping[str, Any]) -> None:
        """Set every ramped parameter to its value at ``step``; drop finished ramps."""
        still: list[Ramp] = []
        for ramp in self.ramps:
            set_param(params, ramp.name, ramp.value(step))
            if ramp.fraction(step) < 1.0:
                still.append(ramp)
        self.ramps = still

    def start(self, ev: Event, step: int, params: MutableMapping[str, Any]) -> None:
        """Set (or start ramping) the parameters of ``ev``."""
        for name, value in ev.set.items():
            if ev.ramp_steps > 0 and _rampable(value):
                self.ramps.append(
                    Ramp(name, float(params[name]), float(value), step, ev.ramp_steps)
                )
                # The first step of the ramp (written as in the original, for identical floats).
                set_param(params, name, params[name] + (value - params[name]) / ev.ramp_steps)
            else:
                set_param(params, name, value)

    def apply(self, model: ConflictModel, step: int) -> int:
        """Advance the ramps, then apply the events due at ``step``; return fighters added (net)."""
        self.advance_ramps(step, model.params)
        added = 0
        for ev in self.by_step.get(step, []):
            self.start(ev, step, model.params)
            if ev.add_isisk_fighters:
                box = model.region_box(ev.region)
                slots = model.insurgency.add_fighters(
                    ev.add_isisk_fighters,
                    model.params["isisk.fighters_per_cell"],
                    model.streams["events"],
                    box,
                )
                model.views.isisk_cells_added(slots)
                added += ev.add_isisk_fighters
            if ev.remove_isisk_fighters:
                added -= model.insurgency.remove_fighters(
                    ev.remove_isisk_fighters, model.region_box(ev.region), model.streams["events"]
                )
        return added
