"""ISIS-K cells as arrays: movement, attack plots, attrition (ODD 7.4, 7.5).

ISIS-K cells are few (tens to hundreds), so they live in small slot arrays
with an ``alive`` mask; the model wraps each slot in an
:class:`~simulation.model.agents.IsisKCell`. Every function here is
vectorized over ISIS-K cells or civilians. Counter-terrorism against the
cells is in :mod:`simulation.model.counter_terrorism`, recruitment in
:mod:`simulation.model.recruitment`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model import targets

if TYPE_CHECKING:
    pass

Box = tuple[int, int, int, int]

TARGET_TALIBAN, TARGET_CIVILIAN, TARGET_HIGH_PROFILE, TARGET_FORMER_GOV = 0, 1, 2, 3


@dataclass
class Attack:
    """One successful attack."""

    x: int
    y: int
    target: int
    deaths: int


@dataclass
class InsurgencyStep:
    """What ISIS-K and counter-terrorism did in one step."""

    plots: int = 0
    interdicted: int = 0
    attacks: list[Attack] = field(default_factory=list)
    recruits_defectors: int = 0
    recruits_civilians: int = 0
    recruits_events: int = 0
    ct_removals: int = 0
    attrition: int = 0
    engagements: list[tuple[int, int]] = field(default_factory=list)
    taliban_ct_deaths: int = 0


def pareto_deaths(u: np.ndarray, x_min: np.ndarray | float, alpha: float, cap: int) -> np.ndarray:
    """Heavy-tailed deaths: floor(x_min * u^(-1/(alpha-1))), capped; P(X >= x) ~ x^(1-alpha)."""
    x = np.asarray(x_min) * np.power(np.maximum(u, 1e-12), -1.0 / (alpha - 1.0))
    return np.minimum(np.floor(x), cap).astype(np.int64)


#: Where new ISIS-K cells go: a grid box ``(x0, x1, y0, y1)`` or flat cell ids on a map.
Place = tuple[int, int, int, int] | np.ndarray


class Insurgency:
    """ISIS-K cells in slots: position and fighters; and the momentum of recent attacks."""

    def __init__(
        self,
        width: int,
        height: int,
        reachable: np.ndarray | None = None,
        sanctuary: np.ndarray | None = None,
    ) -> None:
        """On a map, ``reachable`` and ``sanctuary`` are ``(width, height)`` masks: where
        cells may stand, and where they are out of the Taliban's reach.
        """
        self.width, self.height = width, height
        self.reachable, self.sanctuary = reachable, sanctuary
        #: On the map: Shia communities' cells and their chances (:mod:`.targets`).
        self.community_sites: tuple[np.ndarray, np.ndarray] | None = None
        #: Flat ids of the reachable cells ("anywhere" on a map; None on the grid).
        self.anywhere = None if reachable is None else np.flatnonzero(reachable.reshape(-1))
        #: Decaying average of successful attacks a week (it draws defectors).
        self.momentum = 0.0
        self.x = np.zeros(0, dtype=np.int32)
        self.y = np.zeros(0, dtype=np.int32)
        #: Each cell's home (where it was formed; a split keeps its parent's), on a map.
        self.home_x = np.zeros(0, dtype=np.int32)
        self.home_y = np.zeros(0, dtype=np.int32)
        self.fighters = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)

    @property
    def total_fighters(self) -> int:
        """All fighters in living ISIS-K cells."""
        return int(self.fighters[self.alive].sum())

    @property
    def n_cells(self) -> int:
        """Living ISIS-K cells."""
        return int(self.alive.sum())

    def add_cells(
        self,
        x: np.ndarray,
        y: np.ndarray,
        fighters: np.ndarray,
        home: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Create ISIS-K cells (reusing dead slots), at home where formed; return their slots."""
        n = len(x)
        dead = np.flatnonzero(~self.alive)[:n]
        extra = n - len(dead)
        if extra:
            start = len(self.alive)
            self.x = np.concatenate([self.x, np.zeros(extra, np.int32)])
            self.y = np.concatenate([self.y, np.zeros(extra, np.int32)])
            self.home_x = np.concatenate([self.home_x, np.zeros(extra, np.int32)])
            self.home_y = np.concatenate([self.home_y, np.zeros(extra, np.int32)])
            self.fighters = np.concatenate([self.fighters, np.zeros(extra, np.int64)])
            self.alive = np.concatenate([self.alive, np.zeros(extra, bool)])
            slots = np.concatenate([dead, np.arange(start, start + extra)])
        else:
            slots = dead
        self.x[slots], self.y[slots] = x, y
        self.home_x[slots], self.home_y[slots] = (x, y) if home is None else home
        self.fighters[slots] = fighters
        self.alive[slots] = True
        return slots

    def add_fighters(
        self, total: int, size: int, rng: np.random.Generator, box: Place | None
    ) -> np.ndarray:
        """Add ``total`` fighters as new ISIS-K cells of about ``size`` in ``box`` (or anywhere).

        ``box`` is a grid box ``(x0, x1, y0, y1)`` or, on a map, an array of flat cell ids.
        """
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        n = max(1, int(round(total / size)))
        fighters = np.full(n, total // n, dtype=np.int64)
        fighters[: total - fighters.sum()] += 1
        if box is None and self.anywhere is not None:
            box = self.anywhere
        if isinstance(box, np.ndarray):
            cells = box[rng.integers(0, len(box), size=n)]
            return self.add_cells(cells // self.height, cells % self.height, fighters)
        x0, x1, y0, y1 = box if box else (0, self.width, 0, self.height)
        x = rng.integers(x0, x1, size=n)
        y = rng.integers(y0, y1, size=n)
        return self.add_cells(x, y, fighters)

    def join_existing(self, total: int, rng: np.random.Generator, size: int) -> np.ndarray:
        """Spread ``total`` recruits over random living ISIS-K cells (a new one if none live)."""
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        alive = np.flatnonzero(self.alive)
        if len(alive) == 0:
            return self.add_fighters(total, size, rng, None)
        picks = rng.choice(alive, size=total)
        np.add.at(self.fighters, picks, 1)
        return np.zeros(0, dtype=np.int64)

    def remove_fighters(self, total: int, place: Any, rng: np.random.Generator) -> int:
        """Take up to ``total`` fighters, at random, from the living cells in ``place``.

        ``place`` is a box ``(x0, x1, y0, y1)``, an array of flat cell ids
        (``x * height + y``) or None (anywhere). Emptied cells die at the
        week's pruning. Returns how many were removed.
        """
        alive = np.flatnonzero(self.alive)
        x, y = self.x[alive], self.y[alive]
        if isinstance(place, np.ndarray):
            alive = alive[np.isin(x.astype(np.int64) * self.height + y, place)]
        elif place is not None:
            x0, x1, y0, y1 = place
            alive = alive[(x >= x0) & (x < x1) & (y >= y0) & (y < y1)]
        have = self.fighters[alive]
        n = int(min(total, have.sum()))
        if n <= 0:
            return 0
        self.fighters[alive] -= rng.multivariate_hypergeometric(have, n)
        return n

    def move(
        self,
        radius: int,
        rng: np.random.Generator,
        border_openness: float = 1.0,
        home_range: int = 0,
    ) -> None:
        """Each ISIS-K cell moves to a random grid cell within a Chebyshev ``radius``.

        On a map a move off the land, or farther than ``home_range`` cells
        (Chebyshev; 0: no limit) from the cell's home, is not made, and a move
        across the border (into or out of the sanctuary) is made with
        probability ``border_openness``.
        """
        alive = np.flatnonzero(self.alive)
        if radius <= 0 or len(alive) == 0:
            return
        step = rng.integers(-radius, radius + 1, size=(2, len(alive)))
        x = (self.x[alive] + step[0]) % self.width
        y = (self.y[alive] + step[1]) % self.height
        if self.reachable is not None and self.sanctuary is not None:
            ox, oy = self.x[alive], self.y[alive]
            crossing = self.sanctuary[x, y] != self.sanctuary[ox, oy]
            stay = ~self.reachable[x, y] | (crossing & (rng.random(len(alive)) >= border_openness))
            if home_range > 0:
                away = np.maximum(np.abs(x - self.home_x[alive]), np.abs(y - self.home_y[alive]))
                stay |= away > home_range
            x[stay], y[stay] = ox[stay], oy[stay]
        self.x[alive], self.y[alive] = x, y

    def in_sanctuary(self, slots: np.ndarray) -> np.ndarray:
        """Whether each ISIS-K cell ``slots`` is in the sanctuary (all False on the grid)."""
        if self.sanctuary is None:
            return np.zeros(len(slots), dtype=bool)
        return self.sanctuary[self.x[slots], self.y[slots]]

    def split_and_prune(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Split ISIS-K cells above twice ``size``; kill empty ones. Returns (new, dead) slots."""
        dead = np.flatnonzero(self.alive & (self.fighters <= 0))
        self.alive[dead] = False
        big = np.flatnonzero(self.alive & (self.fighters > 2 * size))
        if len(big) == 0:
            return np.zeros(0, dtype=np.int64), dead
        half = self.fighters[big] // 2
        self.fighters[big] -= half
        x = (self.x[big] + rng.integers(-2, 3, len(big))) % self.width
        y = (self.y[big] + rng.integers(-2, 3, len(big))) % self.height
        if self.reachable is not None and self.sanctuary is not None:
            # on a map a split stays with its parent rather than leave the land or cross the border
            ox, oy = self.x[big], self.y[big]
            stay = ~self.reachable[x, y] | (self.sanctuary[x, y] != self.sanctuary[ox, oy])
            x[stay], y[stay] = ox[stay], oy[stay]
        return self.add_cells(x, y, half, (self.home_x[big], self.home_y[big])), dead

    def presence_grid(self) -> np.ndarray:
        """Living ISIS-K cells per grid cell."""
        g = np.zeros((self.width, self.height), dtype=np.int32)
        alive = self.alive
        np.add.at(g, (self.x[alive], self.y[alive]), 1)
        return g


def seed_isisk_cells(
    ins: Insurgency,
    params: Mapping[str, Any],
    shares: list[tuple[float, Place]],
    rng: np.random.Generator,
) -> np.ndarray:
    """The initial ISIS-K cells: each region's share of the fighters in it, the rest anywhere.

    ``shares`` pairs each region's ``isisk_share`` with its box; returns the new slots.
    """
    total, size = params["isisk.initial_fighters"], params["isisk.fighters_per_cell"]
    placed = 0
    slots = []
    for share, box in shares:
        n = int(round(share * total))
        n = min(n, total - placed)
        if n > 0:
            slots.append(ins.add_fighters(n, size, rng, box))
            placed += n
    slots.append(ins.add_fighters(total - placed, size, rng, None))
    return np.concatenate(slots)


def plot_attacks(
    ins: Insurgency,
    params: Mapping[str, Any],
    effective_surveillance: float | np.ndarray,
    capital_box: Place | None,
    rng: np.random.Generator,
    out: InsurgencyStep,
    capacity: np.ndarray | None = None,
) -> None:
    """ISIS-K cells plot attacks; those not interdicted succeed, with heavy-tailed deaths.

    Plots are Poisson with mean ``isisk.attack_rate`` per 1,000 fighters, times the
    cell's local support ``capacity`` if given (:mod:`simulation.model.support`);
    each is interdicted with the probability of effective surveillance.
    High-profile attacks strike the capital. Updates ``ins.momentum``.
    """
    alive = np.flatnonzero(ins.alive)
    if len(alive) == 0 or params["isisk.attack_rate"] <= 0:
        return
    mean = params["isisk.attack_rate"] * ins.fighters[alive] / 1000.0
    mean = mean if capacity is None else mean * capacity[alive]
    if ins.sanctuary is not None:  # a cell in the sanctuary plots no attack
        mean = np.where(ins.in_sanctuary(alive), 0.0, mean)
    plotters = np.repeat(alive, rng.poisson(mean))
    out.plots = len(plotters)
    if out.plots == 0:
        return
    # Four uniforms per plot: target, interdiction, deaths, and the capital site.
    u = rng.random((out.plots, 4))
    target = targets.choose_targets(u[:, 0], params, capital_box is not None)
    eff = effective_surveillance  # per ISIS-K slot where intelligence differs by region
    success = u[:, 1] >= (eff[plotters] if isinstance(eff, np.ndarray) else eff)
    out.interdicted = int((~success).sum())
    x_min = np.where(
        target == TARGET_HIGH_PROFILE,
        params["isisk.deaths_min"] * params["isisk.high_profile_multiplier"],
        params["isisk.deaths_min"],
    )
    deaths = pareto_deaths(u[:, 2], x_min, params["isisk.deaths_alpha"], params["isisk.deaths_max"])
    xs, ys = ins.x[plotters].copy(), ins.y[plotters].copy()
    _strike_capital(xs, ys, target == TARGET_HIGH_PROFILE, u[:, 3], capital_box, ins.height)
    if ins.community_sites is not None:  # on the map: sectarian attacks (targets.py)
        civilian = success & (target == TARGET_CIVILIAN)
        share = params["isisk.sectarian_share"]
        targets.strike_communities(xs, ys, civilian, share, ins.community_sites, ins.height, rng)
    for i in np.flatnonzero(success):
        out.attacks.append(Attack(int(xs[i]), int(ys[i]), int(target[i]), int(deaths[i])))
    memory = params["isisk.momentum_memory"]
    ins.momentum = memory * ins.momentum + (1 - memory) * int(success.sum())


def _strike_capital(
    xs: np.ndarray,
    ys: np.ndarray,
    hp: np.ndarray,
    u: np.ndarray,
    capital: Place | None,
    height: int,
) -> None:
    """Move the high-profile attacks ``hp`` to a site in the capital (in place), from ``u``."""
    if isinstance(capital, np.ndarray):  # on a map: a cell of the capital's provinces
        site = capital[(u[hp] * len(capital)).astype(np.int64)]
        xs[hp], ys[hp] = site // height, site % height
    elif capital is not None:
        x0, x1, y0, y1 = capital
        # One uniform gives both coordinates of the site in the capital: x from u
        # itself, y from the fractional part of u * 7919 (a prime), which is
        # close to independent of u for a 53-bit double. Kept so that the draws,
        # and so every result, stay those of the first version.
        xs[hp] = x0 + (u[hp] * (x1 - x0)).astype(np.int32)
        ys[hp] = y0 + ((u[hp] * 7919 % 1) * (y1 - y0)).astype(np.int32)


def attrition(
    ins: Insurgency, params: Mapping[str, Any], rng: np.random.Generator, out: InsurgencyStep
) -> tuple[np.ndarray, np.ndarray]:
    """Fighters lost to attrition; then big ISIS-K cells split and empty ones die.

    Returns the (new, dead) slots.
    """
    alive = np.flatnonzero(ins.alive)
    if len(alive):
        lost = rng.binomial(ins.fighters[alive], params["isisk.attrition"])
        ins.fighters[alive] -= lost
        out.attrition = int(lost.sum())
    return ins.split_and_prune(params["isisk.fighters_per_cell"], rng)


#: Recruit-to-cell distances are computed in blocks of about this many pairs, so
#: that many recruits and many cells never need a recruits x cells matrix at once
#: (memory was quadratic in ISIS-K cells: 400,000 cells peaked at 12.5 GB).
PAIRS_PER_BLOCK = 1 << 20


def nearest_isisk_cell(
    ins: Insurgency, alive: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Index into ``alive`` of the nearest living ISIS-K cell (torus Chebyshev) of each point."""
    cx, cy = ins.x[alive], ins.y[alive]
    nearest = np.empty(len(x), dtype=np.intp)
    block = max(1, PAIRS_PER_BLOCK // len(alive))
    for s in range(0, len(x), block):
        dxs = np.abs(x[s : s + block, None] - cx)
        dys = np.abs(y[s : s + block, None] - cy)
        dist = np.maximum(np.minimum(dxs, ins.width - dxs), np.minimum(dys, ins.height - dys))
        nearest[s : s + block] = np.argmin(dist, axis=1)
    return nearest
