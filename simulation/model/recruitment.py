"""Recruitment into ISIS-K: Taliban defectors and civilians near its cells (ODD 7.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model.insurgency import Insurgency, nearest_isisk_cell
from simulation.model.space import sparse_window_sum

if TYPE_CHECKING:
    from simulation.model.civilians import Population


def civilian_recruitment(
    idx: np.ndarray,
    near: np.ndarray,
    grievance: np.ndarray,
    susceptibility: np.ndarray,
    rate: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Which of the civilians ``idx`` are recruited this week.

    ``idx`` are the civilians (not in jail) within the recruitment radius of
    ``near`` ISIS-K cells (ascending), ``grievance`` their grievance; each is
    recruited with probability 1 - (1 - rate * S * G)^near.
    """
    if rate <= 0 or len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    # 1 - (1 - q)^k as 1 - exp(k log(1 - q)): vectorized, unlike pow with array exponents
    q = np.clip(rate * susceptibility[idx] * grievance, 0, 1)
    with np.errstate(divide="ignore"):  # q = 1: log 0 = -inf, and p = 1
        p = -np.expm1(near * np.log1p(-q))
    return idx[rng.random(len(idx)) < p]


def defector_rate(
    params: Mapping[str, Any], taliban_fighters: float, momentum: float, repression: float = 0.0
) -> float:
    """Expected Taliban defectors this week (Poisson mean).

    ``d * F / 10,000 * (1 + weakness * pragmatism) * (1 + response * M / (M + half))
    * (1 + crackdown * Rep)``.
    """
    m = momentum / (momentum + params["isisk.momentum_half"])
    return (
        params["isisk.defector_recruitment"]
        * taliban_fighters
        / 10_000
        * (1 + params["isisk.weakness_response"] * params["taliban.pragmatism"])
        * (1 + params["isisk.momentum_response"] * m)
        * (1 + params["isisk.crackdown_response"] * repression)
    )


def recruit_civilians(
    ins: Insurgency,
    pop: Population,
    grievance_of: Any,
    params: Mapping[str, Any],
    rng: np.random.Generator,
) -> int:
    """Civilians near ISIS-K cells join them; returns the fighters recruited.

    ``grievance_of(idx)`` gives the grievance of civilians ``idx``. Each
    recruit joins the nearest living ISIS-K cell (Chebyshev distance on the torus).
    On the map a civilian agent stands for its province's people (its weight
    w, mean 1), so a recruited agent brings ``isisk.recruits_per_civilian * w``
    fighters, rounded at random to a whole number with that mean: recruitment
    scales with the local population (ODD 7.5).
    """
    if params["isisk.civilian_recruitment"] <= 0 or not ins.n_cells:
        return 0
    # Civilians (not in jail) within the radius of k >= 1 ISIS-K cells: only
    # the neighbourhoods of the ISIS-K cells are looked at, not the world.
    alive = np.flatnonzero(ins.alive)
    sites, k = sparse_window_sum(
        ins.width, ins.height, ins.x[alive], ins.y[alive], params["isisk.recruit_radius"]
    )
    near, k = pop.at_cells(sites, k)
    idx = civilian_recruitment(
        near, k, grievance_of(near), pop.susceptibility, params["isisk.civilian_recruitment"], rng
    )
    per = params["isisk.recruits_per_civilian"]
    if pop.weight is None:
        gained: int | np.ndarray = per
        n_rec = len(idx) * per
    else:
        gained = people_rounded(per * pop.weight[idx], rng)
        n_rec = int(gained.sum())
    if n_rec:
        alive = np.flatnonzero(ins.alive)
        at = alive[nearest_isisk_cell(ins, alive, pop.x[idx], pop.y[idx])]
        np.add.at(ins.fighters, at, gained)
    return n_rec


def people_rounded(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` rounded down or up at random, to whole numbers with mean ``x``."""
    whole = np.floor(x)
    return (whole + (rng.random(len(x)) < x - whole)).astype(np.int64)
