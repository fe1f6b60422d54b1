"""Regions: named boxes of the grid, with their ISIS-K share and hardship shift.

Region id 0 is "elsewhere"; a civilian belongs to the first region whose box
holds its starting grid cell. The capital's box is where high-profile attacks
strike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulation.scenario.core import Region

Box = tuple[int, int, int, int]


class Regions:
    """The scenario's regions on a ``width x height`` grid."""

    def __init__(self, regions: Sequence[Region], width: int, height: int) -> None:
        self.names = ["elsewhere", *(r.name for r in regions)]
        self.boxes: list[Box] = [r.cell_bounds(width, height) for r in regions]
        self.capital_box: Box | None = next(
            (b for r, b in zip(regions, self.boxes, strict=True) if r.capital), None
        )
        #: Each region id's hardship shift (0 for "elsewhere").
        self.hardship_shift = np.array([0.0, *(r.hardship_shift for r in regions)])
        #: (share of the initial ISIS-K fighters, box) of each region.
        self.isisk_shares = [(r.isisk_share, b) for r, b in zip(regions, self.boxes, strict=True)]

    def box(self, name: str | None) -> Box | None:
        """The box of region ``name`` (None: no such region, so anywhere)."""
        if name is not None and name in self.names[1:]:
            return self.boxes[self.names.index(name) - 1]
        return None

    def assign(self, x: np.ndarray, y: np.ndarray, region: np.ndarray) -> None:
        """Set ``region`` (ids, 0 where unassigned) of the points ``(x, y)`` in place."""
        for rid, (x0, x1, y0, y1) in enumerate(self.boxes, start=1):
            inside = (x >= x0) & (x < x1) & (y >= y0) & (y < y1) & (region == 0)
            region[inside] = rid
