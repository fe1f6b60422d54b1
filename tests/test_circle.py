"""The vicious circle's links (ODD 7.1, 7.4, 7.7): each one's direction over paired seeds.

- cooperation: aggrieved places tip the Taliban off less, so fewer ISIS-K
  fighters are removed (``taliban.cooperation_grievance``);
- support: aggrieved places raise ISIS-K's attack capacity (``isisk.support_gain``);
- arrests anger families and neighbours (``civilians.arrest_grievance``);
- the crackdown pushes Taliban members to ISIS-K (``isisk.crackdown_response``).
"""

from __future__ import annotations

import numpy as np

from simulation import ConflictModel
from simulation.model import support
from simulation.model.civilians import JAILED
from tests.test_mechanisms import assert_higher, small, totals

SEEDS = range(6)


def test_local_grievance_is_the_mean_over_the_civilians_around_each_cell() -> None:
    """Checked against a plain loop over every ISIS-K cell's window."""
    model = ConflictModel(small(), rng=4, make_views=False)
    for _ in range(6):
        model.step()
    ins, pop = model.insurgency, model.population
    radius = model.params["taliban.hunt_radius"]
    local = support.local_grievance(ins, pop, model._grievance_of, radius)
    every = model._grievance_of(np.arange(pop.n_civilians))
    for slot in np.flatnonzero(ins.alive):
        dx = np.abs(pop.x - ins.x[slot])
        dy = np.abs(pop.y - ins.y[slot])
        dx, dy = np.minimum(dx, model.width - dx), np.minimum(dy, model.height - dy)
        near = (np.maximum(dx, dy) <= radius) & (pop.state != JAILED)
        want = every[near].mean() if near.any() else 0.0
        assert abs(local[slot] - want) < 1e-12
    assert np.all(local[~ins.alive] == 0)


def test_cooperation_lost_to_grievance_shelters_isisk() -> None:
    """Without tips from aggrieved places the Taliban remove fewer fighters."""
    tips = small(steps=104, taliban__cooperation_grievance=0.0)
    no_tips = small(steps=104, taliban__cooperation_grievance=3.0)
    assert_higher(
        totals(tips, "ct_removals", seeds=SEEDS), totals(no_tips, "ct_removals", seeds=SEEDS)
    )
    assert_higher(
        totals(no_tips, "isisk_fighters", "last", SEEDS),
        totals(tips, "isisk_fighters", "last", SEEDS),
    )


def test_local_support_raises_attacks() -> None:
    alone = small(steps=104, isisk__support_gain=0.0)
    supported = small(steps=104, isisk__support_gain=4.0)
    assert_higher(totals(supported, "attacks", seeds=SEEDS), totals(alone, "attacks", seeds=SEEDS))


def test_arrests_anger_families_and_neighbours() -> None:
    """On Epstein's grid, where arrests are many: arrests raise grievance and outbursts."""

    def epstein(a: float) -> object:
        return small("epstein_2002", steps=150, civilians__arrest_grievance=a)

    calm, angry = epstein(0.0), epstein(0.2)
    assert_higher(
        totals(angry, "mean_grievance", "mean", SEEDS),
        totals(calm, "mean_grievance", "mean", SEEDS),
    )
    assert_higher(
        totals(angry, "active_civilians", "mean", SEEDS),
        totals(calm, "active_civilians", "mean", SEEDS),
    )


def test_the_crackdown_pushes_defectors_to_isisk() -> None:
    none = small(steps=104, isisk__crackdown_response=0.0)
    strong = small(steps=104, isisk__crackdown_response=3.0)
    assert_higher(
        totals(strong, "recruits_defectors", seeds=SEEDS),
        totals(none, "recruits_defectors", seeds=SEEDS),
    )
