"""Shared fixtures of the model's unit tests: a small world and its parameters."""

from __future__ import annotations

from typing import Any

import pytest

from simulation.model import ConflictModel
from simulation.scenario import params as ptable
from simulation.scenario.core import make_scenario


@pytest.fixture
def params() -> dict[str, Any]:
    """Every parameter at its default (a fresh, mutable copy)."""
    return dict(ptable.defaults())


@pytest.fixture
def small_model() -> ConflictModel:
    """A 20 x 20 world with default parameters, seed 1."""
    return ConflictModel(make_scenario({"world.width": 20, "world.height": 20}), rng=1)
