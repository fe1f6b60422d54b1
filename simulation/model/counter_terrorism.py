"""Taliban counter-terrorism against ISIS-K cells (ODD 7.7).

Each enforcer within ``taliban.hunt_radius`` of an ISIS-K cell detects it
with probability ``taliban.ct_detection`` times effective surveillance, so an
ISIS-K cell seen by ``n`` enforcers is engaged with probability ``1 - (1 - q)^n``.
An engagement removes each of the ISIS-K cell's fighters with probability
``taliban.ct_effectiveness``, costs the Taliban a Poisson number of fighters,
and may harm civilians nearby (:mod:`simulation.model.harm`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulation.model.insurgency import Insurgency, InsurgencyStep
from simulation.model.space import window_cells


def engage(
    ins: Insurgency,
    enforcers: np.ndarray,
    params: Mapping[str, Any],
    effective_surveillance: float | np.ndarray,
    rng: np.random.Generator,
    out: InsurgencyStep,
    cooperation: np.ndarray | None = None,
) -> None:
    """Engage the ISIS-K cells that enforcers detect; record what happened in ``out``.

    ``enforcers`` is the grid of enforcers per grid cell (``width x height``);
    ``cooperation`` (per ISIS-K slot, :mod:`simulation.model.support`)
    multiplies each cell's chance of being detected by one unit.
    """
    alive = np.flatnonzero(ins.alive)
    if len(alive) == 0:
        return
    # Enforcers within the hunt radius of each ISIS-K cell (the windows around them only).
    n_units = enforcers.reshape(-1)[
        window_cells(
            ins.width, ins.height, ins.x[alive], ins.y[alive], params["taliban.hunt_radius"]
        )
    ].sum(axis=1)
    eff = effective_surveillance
    eff = eff[alive] if isinstance(eff, np.ndarray) else eff  # by cell where regions differ
    q = params["taliban.ct_detection"] * eff
    if cooperation is not None:
        q = q * cooperation[alive]
    p_detect = 1.0 - np.power(1.0 - q, n_units)
    if ins.sanctuary is not None:  # on a map: out of the Taliban's reach in the sanctuary
        p_detect = np.where(ins.in_sanctuary(alive), 0.0, p_detect)
    hit = alive[rng.random(len(alive)) < p_detect]
    if len(hit) == 0:
        return
    removed = rng.binomial(ins.fighters[hit], params["taliban.ct_effectiveness"])
    ins.fighters[hit] -= removed
    out.ct_removals = int(removed.sum())
    out.taliban_ct_deaths = int(
        rng.poisson(params["taliban.losses_per_engagement"], len(hit)).sum()
    )
    out.engagements = [(int(ins.x[s]), int(ins.y[s])) for s in hit]
