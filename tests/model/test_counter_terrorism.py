"""Taliban counter-terrorism against ISIS-K cells (simulation.model.counter_terrorism)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.model.counter_terrorism import engage
from simulation.model.insurgency import Insurgency, InsurgencyStep


def _two_cells() -> Insurgency:
    ins = Insurgency(30, 30)
    ins.add_cells(np.array([5, 20]), np.array([5, 20]), np.array([40, 40]))
    return ins


def _enforcers_at(*xy: tuple[int, int]) -> np.ndarray:
    grid = np.zeros((30, 30), dtype=np.int8)
    for x, y in xy:
        grid[x, y] = 1
    return grid


def test_no_enforcer_in_range_no_engagement(params: dict[str, Any]) -> None:
    params.update({"taliban.ct_detection": 1.0, "taliban.hunt_radius": 3})
    ins, out = _two_cells(), InsurgencyStep()
    engage(ins, _enforcers_at((12, 12)), params, 1.0, np.random.default_rng(0), out)
    assert out.engagements == [] and out.ct_removals == 0 and ins.total_fighters == 80


def test_certain_detection_engages_the_cells_in_range(params: dict[str, Any]) -> None:
    params.update(
        {
            "taliban.ct_detection": 1.0,
            "taliban.hunt_radius": 3,
            "taliban.ct_effectiveness": 1.0,
            "taliban.losses_per_engagement": 0.0,
        }
    )
    ins, out = _two_cells(), InsurgencyStep()
    engage(ins, _enforcers_at((7, 4)), params, 1.0, np.random.default_rng(1), out)
    assert out.engagements == [(5, 5)]
    assert out.ct_removals == 40 and ins.fighters.tolist() == [0, 40]
    assert out.taliban_ct_deaths == 0


def test_no_surveillance_no_detection(params: dict[str, Any]) -> None:
    params.update({"taliban.ct_detection": 1.0, "taliban.hunt_radius": 3})
    ins, out = _two_cells(), InsurgencyStep()
    engage(ins, _enforcers_at((5, 5), (20, 21)), params, 0.0, np.random.default_rng(2), out)
    assert out.engagements == []
