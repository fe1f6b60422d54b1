"""The map as scenario files see it: the 34 provinces' names and the empty border.

The map itself (outlines and populations) is model data,
:mod:`simulation.model.geography`; scenario files only name provinces, and
these are the names they are checked against (``tests/model/test_geography.py``
checks that the map has exactly these).
"""

from __future__ import annotations

from collections.abc import Iterable

from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario
from simulation.scenario.param_type import did_you_mean

#: Parameters whose values are radii in cells: the map's empty border must be wider.
RADIUS_PARAMS: tuple[str, ...] = tuple(
    p.name
    for p in ptable.PARAMS
    if p.unit == "cells" and (p.name.endswith("radius") or p.name.endswith("vision"))
)
#: The smallest map inside the border, in cells a side.
MIN_MAP_CELLS = 8

PROVINCES: tuple[str, ...] = (
    "Badakhshan", "Badghis", "Baghlan", "Balkh", "Bamyan", "Daykundi", "Farah", "Faryab",
    "Ghazni", "Ghor", "Helmand", "Herat", "Jowzjan", "Kabul", "Kandahar", "Kapisa", "Khost",
    "Kunar", "Kunduz", "Laghman", "Logar", "Nangarhar", "Nimruz", "Nuristan", "Paktia",
    "Paktika", "Panjshir", "Parwan", "Samangan", "Sar-e Pol", "Takhar", "Uruzgan", "Wardak",
    "Zabul",
)  # fmt: skip


def unknown_province(names: Iterable[str]) -> str | None:
    """The reason the first name that is not a province is refused (None if all are)."""
    for name in names:
        if name not in PROVINCES:
            return f"no province {name!r}{did_you_mean(name, PROVINCES)}"
    return None


def border_width(scenario: Scenario) -> int:
    """Empty cells on each side of the map: more than any radius the run can use.

    Radii set by events count too, so that no window ever wraps onto the map;
    2 more for the offset of a splitting ISIS-K cell.
    """
    values = [int(scenario.params[name]) for name in RADIUS_PARAMS]
    for event in scenario.events:
        values += [int(v) for k, v in event.set.items() if k in RADIUS_PARAMS]
    return 2 + max(values)


def map_too_small(scenario: Scenario) -> str | None:
    """Why the grid cannot hold the map and its border (None if it can)."""
    b = border_width(scenario)
    need = 2 * b + MIN_MAP_CELLS
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    if min(w, h) < need:
        return (
            f"the map needs at least {need}x{need} cells (a border of {b} empty cells, "
            f"more than the largest radius, on each side); got {w}x{h}"
        )
    return None
