"""Harm to civilians: attacks and collateral harm raise grievance and fear nearby (ODD 7.5, 7.7).

Each week shocks, fear and the danger map decay by ``civilians.shock_memory``.
An attack raises the grievance shock and fear of every civilian within
``civilians.shock_radius`` (jailed ones too), and adds to the danger map
that fleeing civilians avoid. A counter-terrorism engagement harms each
civilian (not in jail) within ``taliban.collateral_radius`` of ``n``
engagements with probability ``1 - accuracy^n``, raising its grievance shock.

Only the windows around the sites are visited (sparse window sums), so the
cost does not grow with the world, apart from the weekly decay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulation.model.civilians import Population
from simulation.model.insurgency import Attack
from simulation.model.space import sparse_window_sum


def decay(pop: Population, danger: np.ndarray, params: Mapping[str, Any]) -> None:
    """Shocks, fear and danger fade by ``civilians.shock_memory`` a week."""
    keep = params["civilians.shock_memory"]
    pop.shock *= keep
    pop.fear *= keep
    danger *= keep


def attack_shocks(
    pop: Population, danger: np.ndarray, attacks: Sequence[Attack], params: Mapping[str, Any]
) -> None:
    """Attacks raise grievance and fear within ``civilians.shock_radius`` and mark danger."""
    if not attacks:
        return
    w, h = danger.shape
    sites, hits = sparse_window_sum(
        w, h, [a.x for a in attacks], [a.y for a in attacks], params["civilians.shock_radius"]
    )
    danger.reshape(-1)[sites] += hits
    # Every civilian on a hit grid cell, in jail or not.
    touched, nt = pop.at_cells(sites, hits, jailed=True)
    if len(touched):
        pop.shock[touched] = (
            1 - (1 - pop.shock[touched]) * (1 - params["civilians.attack_grievance"]) ** nt
        )
        pop.fear[touched] = (
            1 - (1 - pop.fear[touched]) * (1 - params["civilians.attack_fear"]) ** nt
        )


def arrest_shocks(pop: Population, params: Mapping[str, Any]) -> None:
    """Each arrest raises the grievance of everyone within ``civilians.arrest_radius``.

    Families and neighbours of the newly jailed: ``s += a(1 - s)`` per arrest
    nearby, ``a = civilians.arrest_grievance`` (ODD 7.1).
    """
    a, newly = params["civilians.arrest_grievance"], pop.newly_jailed
    if a <= 0 or not len(newly):
        return
    sites, hits = sparse_window_sum(
        pop.width, pop.height, pop.x[newly], pop.y[newly], params["civilians.arrest_radius"]
    )
    touched, nt = pop.at_cells(sites, hits, jailed=True)
    if len(touched):
        pop.shock[touched] = 1 - (1 - pop.shock[touched]) * (1 - a) ** nt


def collateral_harm(
    pop: Population,
    engagements: Sequence[tuple[int, int]],
    params: Mapping[str, Any],
    rng: np.random.Generator,
) -> float:
    """Civilians harmed near counter-terrorism engagements; returns how many (by weight)."""
    if not engagements:
        return 0
    ex, ey = np.array(engagements).T
    sites, n = sparse_window_sum(pop.width, pop.height, ex, ey, params["taliban.collateral_radius"])
    near, n = pop.at_cells(sites, n)  # not in jail
    if not len(near):
        return 0
    harmed_p = 1 - params["taliban.ct_accuracy"] ** n
    harmed = near[rng.random(len(near)) < harmed_p]
    pop.shock[harmed] = 1 - (1 - pop.shock[harmed]) * (1 - params["civilians.attack_grievance"])
    return pop.weighed(harmed)
