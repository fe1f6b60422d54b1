"""ISIS-K cells: seeding, recruitment, attack plots, attrition (simulation.model.insurgency)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.model import insurgency, recruitment
from simulation.model.insurgency import (
    TARGET_HIGH_PROFILE,
    Insurgency,
    InsurgencyStep,
    pareto_deaths,
)


def _cells(n: int = 10, fighters: int = 100, size: int = 20) -> Insurgency:
    ins = Insurgency(size, size)
    rng = np.random.default_rng(0)
    ins.add_cells(rng.integers(0, size, n), rng.integers(0, size, n), np.full(n, fighters))
    return ins


def test_seed_cells_places_each_regions_share(params: dict[str, Any]) -> None:
    params.update({"isisk.initial_fighters": 1000, "isisk.fighters_per_cell": 50})
    ins = Insurgency(20, 20)
    rng = np.random.default_rng(1)
    slots = insurgency.seed_isisk_cells(ins, params, [(0.6, (0, 5, 0, 5))], rng)
    assert ins.total_fighters == 1000 and len(slots) == ins.n_cells
    in_box = (ins.x < 5) & (ins.y < 5)
    assert ins.fighters[in_box].sum() >= 600


def test_defector_rate_grows_with_strength_pragmatism_and_momentum(params: dict[str, Any]) -> None:
    params.update(
        {
            "isisk.defector_recruitment": 1.0,
            "isisk.weakness_response": 1.0,
            "taliban.pragmatism": 0.5,
            "isisk.momentum_response": 2.0,
            "isisk.momentum_half": 3.0,
        }
    )
    assert recruitment.defector_rate(params, 10_000, 0.0) == 1.5
    assert recruitment.defector_rate(params, 10_000, 3.0) == 1.5 * 2.0
    assert recruitment.defector_rate(params, 20_000, 0.0) == 3.0


def test_plots_are_interdicted_with_the_chance_of_surveillance(params: dict[str, Any]) -> None:
    params["isisk.attack_rate"] = 50.0
    for eff, all_stopped in ((1.0, True), (0.0, False)):
        ins, out = _cells(), InsurgencyStep()
        insurgency.plot_attacks(ins, params, eff, None, np.random.default_rng(2), out)
        assert out.plots > 0
        assert (out.interdicted == out.plots) is all_stopped
        assert len(out.attacks) == out.plots - out.interdicted
    assert ins.momentum > 0  # successes build momentum


def test_high_profile_attacks_strike_the_capital(params: dict[str, Any]) -> None:
    params.update(
        {
            "isisk.attack_rate": 50.0,
            "isisk.target_taliban": 0.0,
            "isisk.target_civilian": 0.0,
            "isisk.target_high_profile": 1.0,
        }
    )
    box = (2, 6, 10, 13)
    out = InsurgencyStep()
    insurgency.plot_attacks(_cells(), params, 0.0, box, np.random.default_rng(3), out)
    assert out.attacks and all(a.target == TARGET_HIGH_PROFILE for a in out.attacks)
    assert all(2 <= a.x < 6 and 10 <= a.y < 13 for a in out.attacks)
    ys = {a.y for a in out.attacks}
    assert len(ys) == 3  # the y drawn from the same uniform still covers the box


def test_without_a_capital_no_attack_is_high_profile(params: dict[str, Any]) -> None:
    params.update(
        {
            "isisk.attack_rate": 50.0,
            "isisk.target_taliban": 0.0,
            "isisk.target_civilian": 0.0,
            "isisk.target_high_profile": 1.0,
        }
    )
    out = InsurgencyStep()
    insurgency.plot_attacks(_cells(), params, 0.0, None, np.random.default_rng(4), out)
    assert out.attacks and all(a.target != TARGET_HIGH_PROFILE for a in out.attacks)


def test_attrition_of_everyone_kills_every_cell(params: dict[str, Any]) -> None:
    params["isisk.attrition"] = 1.0
    ins, out = _cells(n=5), InsurgencyStep()
    new, dead = insurgency.attrition(ins, params, np.random.default_rng(5), out)
    assert out.attrition == 500 and ins.n_cells == 0 and len(dead) == 5 and len(new) == 0


def test_big_cells_split(params: dict[str, Any]) -> None:
    params.update({"isisk.attrition": 0.0, "isisk.fighters_per_cell": 20})
    ins, out = _cells(n=3, fighters=100), InsurgencyStep()
    new, _ = insurgency.attrition(ins, params, np.random.default_rng(6), out)
    assert len(new) == 3 and ins.n_cells == 6 and ins.total_fighters == 300


def test_pareto_deaths_are_capped_and_at_least_the_minimum() -> None:
    u = np.linspace(1e-9, 1, 1000)
    d = pareto_deaths(u, 2.0, 2.5, 300)
    assert d.min() >= 2 and d.max() == 300


def test_nearest_cell_in_blocks_matches_the_full_distance_matrix(monkeypatch) -> None:
    ins = _cells(n=37, size=20)
    alive = np.flatnonzero(ins.alive)
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 20, 101), rng.integers(0, 20, 101)
    dx = np.abs(x[:, None] - ins.x[alive])
    dy = np.abs(y[:, None] - ins.y[alive])
    full = np.argmin(np.maximum(np.minimum(dx, 20 - dx), np.minimum(dy, 20 - dy)), axis=1)
    monkeypatch.setattr(insurgency, "PAIRS_PER_BLOCK", 100)  # blocks of 2 recruits
    assert np.array_equal(insurgency.nearest_isisk_cell(ins, alive, x, y), full)
