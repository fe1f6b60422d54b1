"""Regions: named boxes of the grid (or sets of provinces on the map), with their
ISIS-K share and hardship shift.

Region id 0 is "elsewhere"; a civilian belongs to the first region that holds
its starting grid cell. The capital is where high-profile attacks strike. A
region's place is a box ``(x0, x1, y0, y1)`` on the grid and, on the map, the
flat ids of its provinces' cells (:data:`~simulation.model.insurgency.Place`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulation.model.insurgency import Box, Place
from simulation.model.land import Land
from simulation.scenario.core import Region


class Regions:
    """The scenario's regions on a ``width x height`` grid (on ``land`` if a map)."""

    def __init__(
        self, regions: Sequence[Region], width: int, height: int, land: Land | None = None
    ) -> None:
        self.names = ["elsewhere", *(r.name for r in regions)]
        self.height = height
        self.boxes: list[Box] = [r.cell_bounds(width, height) for r in regions]
        self.places: list[Place] = list(self.boxes)
        if land is not None:
            self.places = [land.cells_of(r.provinces) for r in regions]
        self.capital_box: Place | None = next(
            (b for r, b in zip(regions, self.places, strict=True) if r.capital), None
        )
        #: Each region id's hardship shift (0 for "elsewhere").
        self.hardship_shift = np.array([0.0, *(r.hardship_shift for r in regions)])
        #: Taliban intelligence's factor in each cell (the first region holding it wins),
        #: or None where every region keeps 1 (ODD 7.6).
        self.intel_grid = _intel_grid(regions, self.places, width, height)
        #: (share of the initial ISIS-K fighters, place) of each region.
        self.isisk_shares = [(r.isisk_share, b) for r, b in zip(regions, self.places, strict=True)]

    def box(self, name: str | None) -> Place | None:
        """The place of region ``name`` (None: no such region, so anywhere)."""
        if name is not None and name in self.names[1:]:
            return self.places[self.names.index(name) - 1]
        return None

    def assign(self, x: np.ndarray, y: np.ndarray, region: np.ndarray) -> None:
        """Set ``region`` (ids, 0 where unassigned) of the points ``(x, y)`` in place."""
        for rid, place in enumerate(self.places, start=1):
            if isinstance(place, np.ndarray):
                inside = np.isin(x.astype(np.int64) * self.height + y, place) & (region == 0)
            else:
                x0, x1, y0, y1 = place
                inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1) & (region == 0)
            region[inside] = rid


def _intel_grid(
    regions: Sequence[Region], places: Sequence[Place], width: int, height: int
) -> np.ndarray | None:
    """Each cell's intelligence factor (1 outside every region); None if all are 1."""
    if all(r.intel_factor == 1.0 for r in regions):
        return None
    grid = np.ones(width * height)
    done = np.zeros(width * height, dtype=bool)
    for r, place in zip(regions, places, strict=True):
        if isinstance(place, np.ndarray):
            cells = place
        else:
            x0, x1, y0, y1 = place
            xs, ys = np.meshgrid(np.arange(x0, x1), np.arange(y0, y1), indexing="ij")
            cells = (xs * height + ys).reshape(-1)
        cells = cells[~done[cells]]
        grid[cells] = r.intel_factor
        done[cells] = True
    return grid.reshape(width, height)
