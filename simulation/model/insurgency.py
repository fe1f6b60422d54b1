"""ISIS-K cells as arrays: recruitment, attrition, attacks and counter-terrorism.

Cells are few (tens to hundreds), so they live in small slot arrays with an
``alive`` mask; the model wraps each slot in an :class:`~simulation.model.agents.IsisKCell`.
Every function here is vectorized over cells or civilians.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TARGET_TALIBAN, TARGET_CIVILIAN, TARGET_HIGH_PROFILE = 0, 1, 2


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


class Insurgency:
    """ISIS-K cells in slots: position and fighters."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.x = np.zeros(0, dtype=np.int32)
        self.y = np.zeros(0, dtype=np.int32)
        self.fighters = np.zeros(0, dtype=np.int64)
        self.alive = np.zeros(0, dtype=bool)

    @property
    def total_fighters(self) -> int:
        """All fighters in living cells."""
        return int(self.fighters[self.alive].sum())

    @property
    def n_cells(self) -> int:
        """Living cells."""
        return int(self.alive.sum())

    def add_cells(self, x: np.ndarray, y: np.ndarray, fighters: np.ndarray) -> np.ndarray:
        """Create cells (reusing dead slots); return their slots."""
        n = len(x)
        dead = np.flatnonzero(~self.alive)[:n]
        extra = n - len(dead)
        if extra:
            start = len(self.alive)
            self.x = np.concatenate([self.x, np.zeros(extra, np.int32)])
            self.y = np.concatenate([self.y, np.zeros(extra, np.int32)])
            self.fighters = np.concatenate([self.fighters, np.zeros(extra, np.int64)])
            self.alive = np.concatenate([self.alive, np.zeros(extra, bool)])
            slots = np.concatenate([dead, np.arange(start, start + extra)])
        else:
            slots = dead
        self.x[slots], self.y[slots] = x, y
        self.fighters[slots] = fighters
        self.alive[slots] = True
        return slots

    def add_fighters(self, total: int, size: int, rng: np.random.Generator,
                     box: tuple[int, int, int, int] | None) -> np.ndarray:
        """Add ``total`` fighters as new cells of about ``size`` in ``box`` (or anywhere)."""
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        n = max(1, int(round(total / size)))
        fighters = np.full(n, total // n, dtype=np.int64)
        fighters[: total - fighters.sum()] += 1
        x0, x1, y0, y1 = box if box else (0, self.width, 0, self.height)
        x = rng.integers(x0, x1, size=n)
        y = rng.integers(y0, y1, size=n)
        return self.add_cells(x, y, fighters)

    def join_existing(self, total: int, rng: np.random.Generator, size: int) -> np.ndarray:
        """Spread ``total`` recruits over random living cells (a new cell if none live)."""
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        alive = np.flatnonzero(self.alive)
        if len(alive) == 0:
            return self.add_fighters(total, size, rng, None)
        picks = rng.choice(alive, size=total)
        np.add.at(self.fighters, picks, 1)
        return np.zeros(0, dtype=np.int64)

    def move(self, radius: int, rng: np.random.Generator) -> None:
        """Each cell moves to a random position within a Chebyshev ``radius``."""
        alive = np.flatnonzero(self.alive)
        if radius <= 0 or len(alive) == 0:
            return
        step = rng.integers(-radius, radius + 1, size=(2, len(alive)))
        self.x[alive] = (self.x[alive] + step[0]) % self.width
        self.y[alive] = (self.y[alive] + step[1]) % self.height

    def split_and_prune(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Split cells above twice ``size``; kill empty ones. Returns (new, dead) slots."""
        dead = np.flatnonzero(self.alive & (self.fighters <= 0))
        self.alive[dead] = False
        big = np.flatnonzero(self.alive & (self.fighters > 2 * size))
        if len(big) == 0:
            return np.zeros(0, dtype=np.int64), dead
        half = self.fighters[big] // 2
        self.fighters[big] -= half
        x = (self.x[big] + rng.integers(-2, 3, len(big))) % self.width
        y = (self.y[big] + rng.integers(-2, 3, len(big))) % self.height
        return self.add_cells(x, y, half), dead

    def presence_grid(self) -> np.ndarray:
        """Living cells per grid position."""
        g = np.zeros((self.width, self.height), dtype=np.int32)
        alive = self.alive
        np.add.at(g, (self.x[alive], self.y[alive]), 1)
        return g


def civilian_recruitment(idx: np.ndarray, near: np.ndarray, grievance: np.ndarray,
                         susceptibility: np.ndarray, rate: float,
                         rng: np.random.Generator) -> np.ndarray:
    """Which of the civilians ``idx`` are recruited this week.

    ``idx`` are the civilians (not in jail) within the recruitment radius of
    ``near`` cells (ascending), ``grievance`` their grievance; each is
    recruited with probability 1 - (1 - rate * S * G)^near.
    """
    if rate <= 0 or len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    # 1 - (1 - q)^k as 1 - exp(k log(1 - q)): vectorized, unlike pow with array exponents
    q = np.clip(rate * susceptibility[idx] * grievance, 0, 1)
    with np.errstate(divide="ignore"):  # q = 1: log 0 = -inf, and p = 1
        p = -np.expm1(near * np.log1p(-q))
    return idx[rng.random(len(idx)) < p]
