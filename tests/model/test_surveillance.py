"""US surveillance and Taliban intelligence (simulation.model.surveillance)."""

from __future__ import annotations

import itertools
from typing import Any

from simulation.model import surveillance


def test_us_level_drops_from_the_withdrawal_week(params: dict[str, Any]) -> None:
    params.update(
        {
            "surveillance.us_level": 0.6,
            "surveillance.us_level_after": 0.05,
            "surveillance.withdrawal_week": 10,
        }
    )
    assert surveillance.us_level(params, 9) == 0.6
    assert surveillance.us_level(params, 10) == surveillance.us_level(params, 50) == 0.05
    params["surveillance.withdrawal_week"] = -1  # never
    assert surveillance.us_level(params, 500) == 0.6


def test_effective_surveillance_combines_independent_chances() -> None:
    assert surveillance.effective(0.0, 0.0) == 0.0
    assert surveillance.effective(1.0, 0.2) == 1.0
    assert abs(surveillance.effective(0.5, 0.5) - 0.75) < 1e-15


def test_intel_grows_logistically_to_its_ceiling(params: dict[str, Any]) -> None:
    params.update({"surveillance.intel_growth": 0.5, "surveillance.intel_max": 0.6})
    intel, path = 0.03, []
    for _ in range(100):
        intel = surveillance.grow_intel(intel, params)
        path.append(intel)
    assert all(b >= a for a, b in itertools.pairwise(path))
    assert path[-1] <= 0.6 and path[-1] > 0.59
    # at or above the ceiling, it stays
    assert surveillance.grow_intel(0.7, params) == 0.7
