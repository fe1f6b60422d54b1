"""The civilians around each ISIS-K cell: support for it, cooperation with the Taliban (ODD 7.7).

The path from civilians back to counter-terrorism. For each living ISIS-K
cell, ``G`` is the mean grievance of the free civilians within
``taliban.hunt_radius`` of it (over people on the map, where agents are
weighted). Grievance there does two things:

- **cooperation**: the chance that a unit detects the cell is multiplied by
  ``max(0, 1 - taliban.cooperation_grievance * G)``: aggrieved places give
  no tips (Kalyvas 2006: information flows from civilians who collaborate);
- **support**: the cell's attack plots are multiplied by
  ``1 + isisk.support_gain * G``: shelter and networks raise its capacity.

``G`` is a mean, not a count, so it does not grow or shrink with the grid's
resolution. Only the windows around the cells are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulation.model.civilians import JAILED, Population
from simulation.model.insurgency import PAIRS_PER_BLOCK, Insurgency
from simulation.model.space import window_cells


def needed(params: Mapping[str, Any]) -> bool:
    """Whether either effect is on (otherwise nothing is computed)."""
    return params["taliban.cooperation_grievance"] > 0 or params["isisk.support_gain"] > 0


def local_grievance(ins: Insurgency, pop: Population, grievance_of: Any, radius: int) -> np.ndarray:
    """Mean grievance of the free civilians near each ISIS-K slot (0 where none; 0 if dead).

    The free civilians' grievance (times their weight) and weight are summed
    on the grid once, then over each cell's window.
    """
    out = np.zeros(len(ins.alive))
    alive = np.flatnonzero(ins.alive)
    if len(alive) == 0:
        return out
    free = np.flatnonzero(pop.state != JAILED)
    weight = np.ones(len(free)) if pop.weight is None else pop.weight[free]
    cells = pop.x[free].astype(np.int64) * pop.height + pop.y[free]
    n = pop.width * pop.height
    g_sum = np.bincount(cells, weights=grievance_of(free) * weight, minlength=n)
    w_sum = np.bincount(cells, weights=weight, minlength=n)
    # In blocks of cells, so that many cells never need a cells x window matrix at once.
    block = max(1, PAIRS_PER_BLOCK // (2 * radius + 1) ** 2)
    for s in range(0, len(alive), block):
        slots = alive[s : s + block]
        win = window_cells(ins.width, ins.height, ins.x[slots], ins.y[slots], radius)
        total = w_sum[win].sum(axis=1)
        g = g_sum[win].sum(axis=1)
        out[slots] = np.divide(g, total, out=np.zeros(len(slots)), where=total > 0)
    return out


def cooperation(params: Mapping[str, Any], grievance: np.ndarray) -> np.ndarray:
    """The factor on each cell's chance of detection: ``max(0, 1 - kappa * G)``."""
    return np.maximum(0.0, 1.0 - params["taliban.cooperation_grievance"] * grievance)


def capacity(params: Mapping[str, Any], grievance: np.ndarray) -> np.ndarray:
    """The factor on each cell's attack plots: ``1 + sigma * G``."""
    return 1.0 + params["isisk.support_gain"] * grievance
