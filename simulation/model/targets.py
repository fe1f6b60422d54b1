"""What an ISIS-K plot strikes: the target type, and on the map the place.

Each plot draws its target from the weights ``isisk.target_taliban``,
``isisk.target_civilian``, ``isisk.target_high_profile`` (only where there is
a capital) and ``isisk.target_former_gov`` (former government and security
personnel; 0 by default). Taliban and former-government targets are struck
where the cell stands, high-profile ones in the capital.

On the map, a share ``isisk.sectarian_share`` of the attacks on civilians
strike Shia and Hazara communities instead of the cell's surroundings: a cell
of the provinces in :data:`SHIA_PROVINCES`, each province drawn in proportion
to its people (a proxy for the size of its communities) and the cell
uniformly inside it. ODD 7.11.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: Where Shia and Hazara communities live: Kabul's west, the central highlands
#: (Bamyan, Daykundi, parts of Ghazni, Uruzgan and Wardak), and communities in
#: Mazar-e-Sharif (Balkh), Herat and Kunduz (geography.md §3, marked there as
#: background knowledge to check before citing).
SHIA_PROVINCES: tuple[str, ...] = (
    "Kabul",
    "Bamyan",
    "Daykundi",
    "Ghazni",
    "Uruzgan",
    "Wardak",
    "Balkh",
    "Herat",
    "Kunduz",
)


def choose_targets(u: np.ndarray, params: Mapping[str, Any], has_capital: bool) -> np.ndarray:
    """Each plot's target (Taliban, civilian, high-profile, former government) from ``u``."""
    former = params["isisk.target_former_gov"]
    weights = np.array(
        [
            params["isisk.target_taliban"],
            params["isisk.target_civilian"],
            params["isisk.target_high_profile"] if has_capital else 0.0,
            former,
        ]
    )
    if weights.sum() <= 0:
        weights = np.array([0.0, 1.0, 0.0, 0.0])
    target = np.searchsorted(np.cumsum(weights / weights.sum()), u, side="right")
    # a u at the rounding edge of the last sum takes the last type (as before the fourth)
    return np.minimum(target, 3 if former > 0 else 2)


def community_sites(
    province: np.ndarray, names: tuple[str, ...], population: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Flat cells of :data:`SHIA_PROVINCES` and the chance of each (a province by its people)."""
    flat = province.reshape(-1)
    cells, chance = [], []
    for name in SHIA_PROVINCES:
        p = names.index(name)
        mine = np.flatnonzero(flat == p)
        if len(mine):
            cells.append(mine)
            chance.append(np.full(len(mine), population[p] / len(mine)))
    all_cells, all_chance = np.concatenate(cells), np.concatenate(chance)
    return all_cells, all_chance / all_chance.sum()


def strike_communities(
    xs: np.ndarray,
    ys: np.ndarray,
    civilian: np.ndarray,
    share: float,
    sites: tuple[np.ndarray, np.ndarray],
    height: int,
    rng: np.random.Generator,
) -> None:
    """Move a ``share`` of the attacks on civilians (mask ``civilian``) to community sites."""
    idx = np.flatnonzero(civilian)
    if share <= 0 or not len(idx):
        return
    moved = idx[rng.random(len(idx)) < share]
    cells = rng.choice(sites[0], size=len(moved), p=sites[1])
    xs[moved], ys[moved] = cells // height, cells % height
