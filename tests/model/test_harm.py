"""Attacks and collateral harm shock nearby civilians (simulation.model.harm)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.model import harm
from simulation.model.civilians import Population
from simulation.model.insurgency import Attack


def _population() -> Population:
    return Population(30, 30, np.random.default_rng(0), 0.7, 0.0, 0.3)


def _distance(pop: Population, x: int, y: int) -> np.ndarray:
    dx = np.abs(pop.x - x)
    dy = np.abs(pop.y - y)
    return np.maximum(np.minimum(dx, 30 - dx), np.minimum(dy, 30 - dy))


def test_decay_fades_shock_fear_and_danger(params: dict[str, Any]) -> None:
    pop, danger = _population(), np.ones((30, 30))
    pop.shock[:] = 0.5
    pop.fear[:] = 0.2
    params["civilians.shock_memory"] = 0.5
    harm.decay(pop, danger, params)
    assert (pop.shock == 0.25).all() and (pop.fear == 0.1).all() and (danger == 0.5).all()


def test_an_attack_shocks_only_civilians_within_its_radius(params: dict[str, Any]) -> None:
    pop, danger = _population(), np.zeros((30, 30))
    params.update(
        {
            "civilians.shock_radius": 3,
            "civilians.attack_grievance": 0.2,
            "civilians.attack_fear": 0.4,
        }
    )
    harm.attack_shocks(pop, danger, [Attack(10, 10, 1, 5)], params)
    near = _distance(pop, 10, 10) <= 3
    assert np.allclose(pop.shock[near], 0.2) and (pop.shock[~near] == 0).all()
    assert np.allclose(pop.fear[near], 0.4) and (pop.fear[~near] == 0).all()
    assert danger.sum() == 49 and danger[10, 10] == 1


def test_collateral_harm_follows_accuracy(params: dict[str, Any]) -> None:
    params.update({"taliban.collateral_radius": 2, "civilians.attack_grievance": 0.3})
    pop = _population()
    params["taliban.ct_accuracy"] = 1.0  # never misses
    assert harm.collateral_harm(pop, [(15, 15)], params, np.random.default_rng(1)) == 0
    params["taliban.ct_accuracy"] = 0.0  # always harms
    n = harm.collateral_harm(pop, [(15, 15)], params, np.random.default_rng(1))
    near = _distance(pop, 15, 15) <= 2
    assert n == near.sum() and np.allclose(pop.shock[near], 0.3)
    assert harm.collateral_harm(pop, [], params, np.random.default_rng(1)) == 0
