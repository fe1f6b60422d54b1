"""Surveillance: US over-the-horizon surveillance and Taliban intelligence (ODD 7.6).

A plot is interdicted with the probability of effective surveillance,
``1 - (1 - US)(1 - Taliban intelligence)``. US surveillance drops to its
post-withdrawal level from the withdrawal week on; Taliban intelligence grows
logistically toward its ceiling, week by week.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def us_level(params: Mapping[str, Any], step: int) -> float:
    """US surveillance in force at ``step`` (after any withdrawal)."""
    w = params["surveillance.withdrawal_week"]
    if w >= 0 and step >= w:
        return params["surveillance.us_level_after"]
    return params["surveillance.us_level"]


def effective(us: float, taliban_intel: float) -> float:
    """Chance a plot is interdicted: ``1 - (1 - US)(1 - Taliban intelligence)``."""
    return 1.0 - (1.0 - us) * (1.0 - taliban_intel)


def grow_intel(intel: float, params: Mapping[str, Any]) -> float:
    """Taliban intelligence a week later: logistic growth toward ``surveillance.intel_max``."""
    cap = params["surveillance.intel_max"]
    if cap > intel:
        return min(
            cap, intel + params["surveillance.intel_growth"] * max(intel, 0.01) * (1 - intel / cap)
        )
    return intel
