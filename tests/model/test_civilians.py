"""Bookkeeping of the civilian layer: layers always agree with the agent arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import ConflictModel, load_scenario
from simulation.model.batched import arrest_probability
from simulation.model.civilians import ACTIVE, JAILED
from simulation.model.space import window_sum

ROOT = Path(__file__).resolve().parents[2]


def check_layers(model: ConflictModel) -> None:
    p = model.population
    block = model.params["civilians.jailed_block_cells"]
    on_grid = np.ones(p.n_civilians, bool) if block else p.state != JAILED
    occ = np.zeros_like(p.occ)
    np.add.at(occ, (p.x[on_grid], p.y[on_grid]), 1)
    np.add.at(occ, (p.enforcer_x[p.enforcer_alive], p.enforcer_y[p.enforcer_alive]), 1)
    assert (occ == p.occ).all() and occ.max() <= 1
    act = np.zeros_like(p.act)
    active = p.state == ACTIVE
    np.add.at(act, (p.x[active], p.y[active]), 1)
    assert (act == p.act).all()
    free = np.flatnonzero(p.state != JAILED)
    assert (p.civ_at[p.x[free], p.y[free]] == free).all()
    assert (p.jail >= 0).all()
    if model.params["world.activation"] == "sequential":
        # The kernel's running counts of enforcers and actives in each civilian window.
        vision, shape = model.params["civilians.vision"], model.params["world.neighbourhood"]
        layers = p.enforcers.astype(np.int32) * p.seen_code + p.act
        seen = window_sum(layers, vision, shape).reshape(-1) - layers.reshape(-1)
        assert (seen == p.seen).all()


@pytest.mark.parametrize("activation", ["sequential", "batched"])
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("epstein_2002", {}),
        ("epstein_mesa_reference", {}),
        ("baseline", {}),
        (
            "baseline",
            {
                "civilians.jailed_block_cells": False,
                "civilians.movement": "flight",
                "taliban.vision": 4,
            },
        ),
        ("epstein_2002", {"world.neighbourhood": "moore", "civilians.movement": "static"}),
        ("baseline", {"world.neighbourhood": "disc"}),
        ("epstein_2002", {"world.neighbourhood": "cross"}),
    ],
)
def test_layers_stay_consistent(name: str, extra: dict, activation: str) -> None:
    sc = load_scenario(
        ROOT / "scenarios" / f"{name}.toml",
        overrides={"world.width": 30, "world.height": 30, "world.activation": activation, **extra},
    )
    for seed in range(2):
        model = ConflictModel(sc, rng=seed, make_views=False)
        for _ in range(60):
            model.step()
            check_layers(model)


def test_arrest_probability_rules() -> None:
    c = np.array([1, 1, 3, 0])
    a = np.array([1, 2, 2, 1])
    floor = arrest_probability(c, a, 2.3, "floor")
    rnd = arrest_probability(c, a, 2.3, "round")
    exact = arrest_probability(c, a, 2.3, "exact")
    assert np.isclose(floor[0], 1 - np.exp(-2.3))  # about 0.9 with one cop, one active
    assert floor[1] == 0 and rnd[1] == 0  # round(0.5) = 0: halves go to even
    assert np.isclose(rnd[2], 1 - np.exp(-2.3 * 2))  # round(1.5) = 2
    assert np.isclose(exact[1], 1 - np.exp(-1.15))
    assert (floor <= exact + 1e-12).all()
    assert (exact[3], floor[3]) == (0, 0)


def test_agents_are_mesa_views() -> None:
    from simulation.model.agents import Civilian, Enforcer, IsisKCell, TalibanRegime

    sc = load_scenario(
        ROOT / "scenarios" / "baseline.toml", overrides={"world.width": 30, "world.height": 30}
    )
    model = ConflictModel(sc, rng=1)
    for _ in range(5):
        model.step()
    types = model.agents_by_type
    civs = list(types[Civilian])
    assert len(civs) == model.population.n_civilians
    assert len(types[Enforcer]) == model.population.n_enforcers
    assert len(types[IsisKCell]) == model.insurgency.n_cells
    assert len(types[TalibanRegime]) == 1
    grievance = model.population.grievance(model.regime.legitimacy, model.hardship_boost)
    for agent in civs[:50]:
        assert agent.grievance == pytest.approx(grievance[agent.index])
        assert agent.pos == (
            int(model.population.x[agent.index]),
            int(model.population.y[agent.index]),
        )
        assert agent.state.value == model.population.state[agent.index]
    cells = list(types[IsisKCell])
    assert sum(c.fighters for c in cells) == model.insurgency.total_fighters
    assert civs[0].cell.coordinate == civs[0].pos
