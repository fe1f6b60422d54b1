"""The validated scenario: parameters, timed events and regions.

This module holds the data types the model runs on. Loading and validating
TOML files is in :mod:`simulation.scenario.loader`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from simulation.scenario import params as ptable

DAYS_PER_STEP = 7
#: The largest seed a replicate may have: the result files hold seeds as 64-bit
#: signed integers (numpy's SeedSequence would take larger ones).
MAX_SEED = 2**63 - 1


def seed_problem(seed: int, replicates: int) -> str | None:
    """Why replicates ``seed .. seed + replicates - 1`` cannot be run, or None if they can."""
    if seed < 0:
        return f"must be at least 0, got {seed}"
    last = seed + replicates - 1
    if last > MAX_SEED:
        return (
            f"{seed} with {replicates} replicates needs seeds up to {last}, past the "
            f"largest the result files hold ({MAX_SEED}, 2**63 - 1); use a seed of at "
            f"most {MAX_SEED - replicates + 1}"
        )
    return None


@dataclass(frozen=True)
class Event:
    """A timed intervention: set parameters and/or add or remove ISIS-K fighters at a step.

    ``remove_isisk_fighters`` takes fighters out of the cells standing in the
    event's ``region`` (anywhere without one): a surrender or a collapse.

    With ``ramp_steps > 0`` the parameters in ``set`` move linearly from their
    value at ``step`` to the new value over that many steps (a gradual change).
    """

    step: int
    label: str
    set: Mapping[str, Any] = field(default_factory=dict)
    add_isisk_fighters: int = 0
    region: str | None = None
    ramp_steps: int = 0
    remove_isisk_fighters: int = 0


@dataclass(frozen=True)
class Region:
    """A rectangle of the world, in fractions of its width and height, or provinces.

    ``isisk_share`` is the share of the initial ISIS-K cells placed in it;
    ``capital`` marks where high-profile targets are. On the map
    (``world.map = "afghanistan"``) a region is a set of ``provinces`` instead
    of a box.
    """

    name: str
    x0: float
    x1: float
    y0: float
    y1: float
    isisk_share: float = 0.0
    hardship_shift: float = 0.0
    capital: bool = False
    provinces: tuple[str, ...] = ()
    intel_factor: float = 1.0

    def cell_bounds(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Integer cell bounds ``(x0, x1, y0, y1)``, end-exclusive, at least one cell."""
        x0 = int(round(self.x0 * width))
        y0 = int(round(self.y0 * height))
        x1 = max(x0 + 1, int(round(self.x1 * width)))
        y1 = max(y0 + 1, int(round(self.y1 * height)))
        return x0, min(x1, width), y0, min(y1, height)


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario: every parameter has a value."""

    name: str = "default"
    description: str = ""
    start_date: dt.date = dt.date(2021, 8, 15)
    steps: int = 260
    seed: int = 1
    replicates: int = 10
    params: Mapping[str, Any] = field(default_factory=ptable.defaults)
    events: tuple[Event, ...] = ()
    regions: tuple[Region, ...] = ()
    source: Path | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.seed, int) and isinstance(self.replicates, int):
            problem = seed_problem(self.seed, self.replicates)
            if problem is not None:
                raise ValueError(f"seed: {problem}")

    def date_of(self, step: int) -> dt.date:
        """Calendar date at the end of ``step`` (step 0 is the start date)."""
        return self.start_date + dt.timedelta(days=DAYS_PER_STEP * step)

    def step_of(self, date: dt.date) -> int:
        """The step whose date is nearest ``date`` (rounded to whole weeks)."""
        return int(round((date - self.start_date).days / DAYS_PER_STEP))

    def with_params(self, **changes: Any) -> Scenario:
        """A copy with parameters changed; keys use ``__`` for dots, or pass a dict."""
        return self.with_overrides({k.replace("__", "."): v for k, v in changes.items()})

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with checked parameter overrides (dotted names)."""
        values = dict(self.params)
        for name, value in overrides.items():
            values[name] = ptable.get(name).check(value)
        return replace(self, params=values, overrides={**self.overrides, **overrides})


def make_scenario(overrides: Mapping[str, Any] | None = None, **header: Any) -> Scenario:
    """Build a scenario in code from parameter overrides and header fields."""
    return replace(
        Scenario(**header), params=ptable.resolve(overrides), overrides=dict(overrides or {})
    )
