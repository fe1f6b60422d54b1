"""Regions on the grid (simulation.model.regions)."""

from __future__ import annotations

import numpy as np

from simulation.model.regions import Regions
from simulation.scenario.core import Region


def test_regions_boxes_capital_and_assignment() -> None:
    east = Region("east", 0.5, 1.0, 0.0, 1.0, isisk_share=0.7, hardship_shift=0.2)
    kabul = Region("kabul", 0.4, 0.6, 0.4, 0.6, capital=True)
    r = Regions([east, kabul], 10, 10)
    assert r.names == ["elsewhere", "east", "kabul"]
    assert r.boxes == [(5, 10, 0, 10), (4, 6, 4, 6)] and r.capital_box == (4, 6, 4, 6)
    assert r.box("kabul") == (4, 6, 4, 6) and r.box("nowhere") is None and r.box(None) is None
    assert r.hardship_shift.tolist() == [0.0, 0.2, 0.0]
    assert r.isisk_shares == [(0.7, (5, 10, 0, 10)), (0.0, (4, 6, 4, 6))]
    x, y = np.array([0, 5, 4, 9]), np.array([0, 5, 4, 9])
    region = np.zeros(4, dtype=np.int8)
    r.assign(x, y, region)
    # the first region that holds a point wins: (5, 5) is in both east and kabul
    assert region.tolist() == [0, 1, 2, 1]
