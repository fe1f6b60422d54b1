"""The land: Afghanistan's provinces on the grid, and who may stand where.

With ``world.map = "afghanistan"`` the grid holds the 34 provinces
(:mod:`simulation.model.geography`) inside a border of empty cells at least
as wide as any radius the scenario uses, so the grid's wrap-around never joins
two places on the map: the map is bounded. Cells outside Afghanistan are
*blocked*: no civilian or Taliban unit ever stands there (their occupancy is
set once and never cleared). ISIS-K cells may stand on Afghan cells and in
the sanctuary, Pakistan's former tribal districts east of the border.

Civilians are placed by population (NSIA 1400 estimates): each province's
share of the civilian agents is its share of the people, placed on distinct
random cells of the province. Since a cell holds one agent, the most densely
peopled province (Kabul) is filled at ``civilians.density`` and the others
in proportion to their people per cell (docs/ODD.md, "The map").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.model import geography, targets
from simulation.model.civilians import Placement
from simulation.scenario.core import Scenario
from simulation.scenario.provinces import border_width, map_too_small


@dataclass(frozen=True)
class Land:
    """Afghanistan on the model's ``width x height`` grid (arrays indexed ``[x, y]``).

    ``province[x, y]``: index into ``names``, -1 outside Afghanistan;
    ``sanctuary[x, y]``: the Pakistani side where ISIS-K cells may go.
    """

    width: int
    height: int
    border: int
    names: tuple[str, ...]
    province: np.ndarray
    sanctuary: np.ndarray
    population: np.ndarray
    #: The map inside the border (for plots: lon/lat of its cells).
    inner: geography.ProvinceMap

    @property
    def habitable(self) -> np.ndarray:
        """Cells where civilians and Taliban units may stand (Afghanistan)."""
        return self.province >= 0

    @property
    def reachable(self) -> np.ndarray:
        """Cells where ISIS-K cells may stand: Afghanistan and the sanctuary."""
        return self.habitable | self.sanctuary

    @property
    def n_habitable(self) -> int:
        """Number of Afghan cells."""
        return int(self.habitable.sum())

    def cells_of(self, names: Iterable[str]) -> np.ndarray:
        """Flat cell ids (``x * height + y``, ascending) of the provinces ``names``."""
        ids = [self.inner.index(name) for name in names]
        return np.flatnonzero(np.isin(self.province.reshape(-1), ids))

    def place(
        self, rng: np.random.Generator, civilian_density: float, enforcer_density: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Civilians and enforcers on the land, as on Epstein's grid; civilians weighted by people.

        Each Afghan cell holds a civilian with probability ``d = civilian_density``
        or else an enforcer with probability ``enforcer_density``, as on the grid,
        so Epstein's rules meet the densities they were made for everywhere. A
        civilian of province ``p`` (``P_p`` people, ``N_p`` civilians; ``P`` people
        and ``C`` cells in all) stands for ``w_p = (P_p / P) (d C) / N_p`` civilians'
        worth of people: the weights of a province sum to its share of the people,
        and all weights to ``d C``, so ``scale.people_per_civilian = P / (d C)``
        makes every count real people. Returns (civilian cells, weights, enforcer cells).
        """
        flat = self.province.reshape(-1)
        land = np.flatnonzero(flat >= 0)
        u = rng.random(len(land))
        civ = land[u < civilian_density]
        enforcers = land[(u >= civilian_density) & (u < civilian_density + enforcer_density)]
        n_civ = np.bincount(flat[civ], minlength=len(self.names)).astype(float)
        wanted = civilian_density * len(land) * self.population / self.population.sum()
        per_civilian = np.where(n_civ > 0, wanted / np.maximum(n_civ, 1), 0.0)
        return civ, per_civilian[flat[civ]], enforcers

    def community_sites(self) -> tuple[np.ndarray, np.ndarray]:
        """Shia and Hazara communities' cells and chances (:func:`.targets.community_sites`)."""
        return targets.community_sites(self.province, self.names, self.population)

    def placement(
        self, rng: np.random.Generator, civilian_density: float, enforcer_density: float
    ) -> Placement:
        """:meth:`place`'s draw as the population's start: cells outside Afghanistan blocked."""
        civ, weight, enforcers = self.place(rng, civilian_density, enforcer_density)
        return Placement(civ, enforcers, ~self.habitable, weight)


def make_land(scenario: Scenario) -> Land | None:
    """The scenario's land, or None on the abstract grid (``world.map = "grid"``)."""
    p: Mapping[str, Any] = scenario.params
    if p.get("world.map", "grid") != "afghanistan":
        return None
    width, height = p["world.width"], p["world.height"]
    if reason := map_too_small(scenario):
        raise ValueError(f"world.width: {reason}")
    border = border_width(scenario)
    inner = geography.rasterize(width - 2 * border, height - 2 * border)
    province = np.full((width, height), -1, dtype=np.int16)
    sanctuary = np.zeros((width, height), dtype=bool)
    inside = (slice(border, width - border), slice(border, height - border))
    province[inside] = inner.province
    sanctuary[inside] = inner.sanctuary
    return Land(
        width,
        height,
        border,
        inner.names,
        province,
        sanctuary,
        np.asarray(inner.population, dtype=float),
        inner,
    )
