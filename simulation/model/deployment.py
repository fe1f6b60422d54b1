"""The Taliban's deployment by province, toward the threat (on the map).

Each week the Taliban note, for every province, the ISIS-K attacks in it and
the ISIS-K cells their counter-terrorism engaged there. They act on what they
saw ``taliban.response_delay`` weeks ago: the threat of a province is

    T_p ← m · T_p + (attacks_p + engagements_p)(t − delay),   m = repression.threat_memory.

Their units (as many as repression deploys, ODD 7.3) are then shared out:
province p should hold

    n_p = N · [(1 − f) · C_p / C + f · T_p / Σ T],   f = taliban.deploy_focus,

C_p its Afghan cells (with no threat yet, by area alone). Units are withdrawn
at random from provinces above their share and put on random free cells of
those below it, so the total is unchanged. With f = 0 (the default) nothing
moves and the map keeps Epstein's uniform police. ODD 7.11.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model.insurgency import InsurgencyStep

if TYPE_CHECKING:
    from simulation.model.civilians import Population
    from simulation.model.land import Land


class Deployment:
    """The threat the Taliban see in each province, and units moved toward it."""

    def __init__(self, land: Land, delay: int) -> None:
        n = len(land.names)
        self.flat = land.province.reshape(-1)
        self.height = land.height
        self.cells = np.bincount(self.flat[self.flat >= 0], minlength=n).astype(float)
        self.seen: deque[np.ndarray] = deque([np.zeros(n)] * (delay + 1), maxlen=delay + 1)
        #: The threat of each province, as the Taliban see it (T_p).
        self.threat = np.zeros(n)

    def observe(self, ins: InsurgencyStep, memory: float) -> None:
        """Note the week's attacks and engagements by province; update T from the delayed ones."""
        n = len(self.cells)
        events = np.zeros(n)
        for x, y in [(a.x, a.y) for a in ins.attacks] + list(ins.engagements):
            p = self.flat[x * self.height + y]
            if p >= 0:
                events[p] += 1
        self.seen.append(events)
        self.threat = memory * self.threat + self.seen[0]

    def share(self, focus: float) -> np.ndarray:
        """Each province's share of the units: by area, and ``focus`` of it by threat."""
        area = self.cells / self.cells.sum()
        total = self.threat.sum()
        if focus <= 0 or total <= 0:
            return area
        return (1 - focus) * area + focus * self.threat / total

    def rebalance(
        self, pop: Population, focus: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Move units from provinces above their share to those below; (added, removed)."""
        none = np.zeros(0, dtype=np.int64)
        alive = np.flatnonzero(pop.enforcer_alive)
        if focus <= 0 or not len(alive) or self.threat.sum() <= 0:
            return none, none
        cells = pop.enforcer_x[alive].astype(np.int64) * pop.height + pop.enforcer_y[alive]
        where = self.flat[cells]
        have = np.bincount(where, minlength=len(self.cells))
        want = _apportion(len(alive), self.share(focus))
        removed = [
            rng.choice(alive[where == p], size=have[p] - want[p], replace=False)
            for p in np.flatnonzero(have > want)
        ]
        gone = np.concatenate(removed) if removed else none
        pop.withdraw(gone)
        free = pop.occ.reshape(-1) == 0
        added = []
        for p in np.flatnonzero(want > have):
            room = np.flatnonzero(free & (self.flat == p))
            cells = rng.choice(room, size=min(want[p] - have[p], len(room)), replace=False)
            added.append(pop.deploy_on(cells))
        return (np.concatenate(added) if added else none), gone


def _apportion(total: int, share: np.ndarray) -> np.ndarray:
    """Whole numbers summing to ``total`` in proportion to ``share`` (largest remainders)."""
    exact = total * share
    out = np.floor(exact).astype(np.int64)
    out[np.argsort(out - exact, kind="stable")[: total - out.sum()]] += 1
    return out


def make_deployment(land: Land | None, params: Any) -> Deployment | None:
    """The map's deployment (None on the grid)."""
    return None if land is None else Deployment(land, int(params["taliban.response_delay"]))
