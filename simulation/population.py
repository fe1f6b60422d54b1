"""The civil-violence layer: civilians and Taliban enforcers as numpy arrays.

Epstein's (2002) Model I, vectorized. Each step, civilians and enforcers act
in a random order, processed in ``K`` random batches: within a batch every
agent acts at once; neighbour counts are refreshed between batches, so no
agent's information is more than 1/K step stale (see docs/ODD.md, Scheduling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.grid_ops import choose_free_cells, offsets, resolve_claims, window_sum

QUIET, ACTIVE, JAILED = 0, 1, 2
_CODE = 4096  # one int grid holds enforcers * _CODE + actives


@dataclass
class StepCounts:
    """What the layer did in one step."""

    arrests: int = 0


def arrest_probability(cops: np.ndarray, actives: np.ndarray, k: float, rule: str) -> np.ndarray:
    """Epstein's estimated arrest probability P = 1 - exp(-k * ratio(C / A)).

    ``rule`` is ``floor`` (NetLogo), ``round`` (Mesa; halves to even, as
    Python's round) or ``exact`` (the paper's text).
    """
    ratio = cops / actives
    if rule == "floor":
        ratio = np.floor(ratio)
    elif rule == "round":
        ratio = np.round(ratio)
    elif rule != "exact":
        raise ValueError(f"unknown arrest ratio rule {rule!r}")
    return 1.0 - np.exp(-k * ratio)


class Population:
    """Array state of every civilian and enforcer, and the batch step."""

    def __init__(self, width: int, height: int, rng: np.random.Generator,
                 civilian_density: float, enforcer_density: float,
                 susceptibility_mean: float) -> None:
        self.width, self.height = width, height
        n_cells = width * height
        # Each cell independently holds a civilian, an enforcer or nothing (as Mesa).
        u = rng.random(n_cells)
        civ_cells = np.flatnonzero(u < civilian_density)
        cop_cells = np.flatnonzero((u >= civilian_density)
                                   & (u < civilian_density + enforcer_density))
        n = len(civ_cells)
        self.x = (civ_cells // height).astype(np.int32)
        self.y = (civ_cells % height).astype(np.int32)
        self.hardship_raw = rng.random(n)
        self.risk_aversion = rng.random(n)
        m = susceptibility_mean
        if 0.0 < m < 1.0:
            self.susceptibility = rng.beta(4 * m, 4 * (1 - m), size=n)
        else:
            self.susceptibility = np.full(n, float(m))
        self.hardship = self.hardship_raw.copy()  # after shifts, set by the model
        self.state = np.zeros(n, dtype=np.int8)
        self.jail = np.zeros(n, dtype=np.int32)
        self.shock = np.zeros(n)  # grievance shocks from attacks and collateral harm
        self.fear = np.zeros(n)
        self.region = np.zeros(n, dtype=np.int8)
        # Enforcers live in slots; dead slots are reused.
        self.cop_x = (cop_cells // height).astype(np.int32)
        self.cop_y = (cop_cells % height).astype(np.int32)
        self.cop_alive = np.ones(len(cop_cells), dtype=bool)
        # Layers.
        self.occ = np.zeros((width, height), dtype=np.int16)  # blocking agents per cell
        self.act = np.zeros((width, height), dtype=np.int32)  # active civilians per cell
        self.cops = np.zeros((width, height), dtype=np.int32)  # enforcers per cell
        self.civ_at = np.full((width, height), -1, dtype=np.int64)  # non-jailed civilian
        np.add.at(self.occ, (self.x, self.y), 1)
        np.add.at(self.occ, (self.cop_x, self.cop_y), 1)
        self.cops[self.cop_x, self.cop_y] += 1
        self.civ_at[self.x, self.y] = np.arange(n)

    # ----------------------------------------------------------------- sizes
    @property
    def n_civilians(self) -> int:
        """Number of civilians (fixed)."""
        return len(self.x)

    @property
    def n_enforcers(self) -> int:
        """Number of enforcer units deployed."""
        return int(self.cop_alive.sum())

    def counts(self) -> tuple[int, int, int]:
        """(quiet, active, jailed) civilians."""
        c = np.bincount(self.state, minlength=3)
        return int(c[QUIET]), int(c[ACTIVE]), int(c[JAILED])

    # ------------------------------------------------------------ enforcers
    def set_enforcers(self, target: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Deploy or withdraw random enforcers to reach ``target``.

        Returns the slots added and the slots removed.
        """
        alive = np.flatnonzero(self.cop_alive)
        diff = target - len(alive)
        if diff < 0:
            gone = rng.choice(alive, size=-diff, replace=False)
            self.cop_alive[gone] = False
            np.add.at(self.occ, (self.cop_x[gone], self.cop_y[gone]), -1)
            np.add.at(self.cops, (self.cop_x[gone], self.cop_y[gone]), -1)
            return np.zeros(0, dtype=np.int64), gone
        if diff > 0:
            free = np.flatnonzero(self.occ.reshape(-1) == 0)
            diff = min(diff, len(free))
            cells = rng.choice(free, size=diff, replace=False)
            dead = np.flatnonzero(~self.cop_alive)[:diff]
            new = np.concatenate([dead, np.arange(len(self.cop_alive),
                                                  len(self.cop_alive) + diff - len(dead))])
            grow = len(new) - len(dead)
            if grow:
                self.cop_x = np.concatenate([self.cop_x, np.zeros(grow, np.int32)])
                self.cop_y = np.concatenate([self.cop_y, np.zeros(grow, np.int32)])
                self.cop_alive = np.concatenate([self.cop_alive, np.zeros(grow, bool)])
            self.cop_x[new] = cells // self.height
            self.cop_y[new] = cells % self.height
            self.cop_alive[new] = True
            np.add.at(self.occ, (self.cop_x[new], self.cop_y[new]), 1)
            np.add.at(self.cops, (self.cop_x[new], self.cop_y[new]), 1)
            return new.astype(np.int64), np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------ the step
    def grievance(self, legitimacy: float, hardship_boost: float) -> np.ndarray:
        """G = 1 - (1 - H'(1 - L))(1 - shock), H' = H + (1 - H) * boost."""
        h = self.hardship + (1.0 - self.hardship) * hardship_boost
        return 1.0 - (1.0 - h * (1.0 - legitimacy)) * (1.0 - self.shock)

    def step(self, rng: np.random.Generator, *, legitimacy: float, hardship_boost: float,
             threshold: float, k: float, rule: str, civ_vision: int, cop_vision: int,
             shape: str, batches: int, movement: str, patrol: bool, jail_max: int,
             jailed_block: bool, danger: np.ndarray | None = None) -> StepCounts:
        """One step of Epstein's rules for every civilian and enforcer."""
        out = StepCounts()
        n = self.n_civilians
        cop_slots = np.flatnonzero(self.cop_alive)
        order = rng.permutation(n + len(cop_slots))
        chunks = np.array_split(order, max(1, batches))
        flat_occ = self.occ.reshape(-1)
        for chunk in chunks:
            civ = np.sort(chunk[chunk < n])
            cop = cop_slots[chunk[chunk >= n] - n]
            self._civilians_act(civ, rng, legitimacy, hardship_boost, threshold, k, rule,
                                civ_vision, shape, movement, jailed_block, danger, flat_occ)
            if len(cop):
                out.arrests += self._enforcers_act(cop, rng, cop_vision, shape, patrol,
                                                   jail_max, jailed_block, flat_occ)
        return out

    def _civilians_act(self, civ: np.ndarray, rng: np.random.Generator, legitimacy: float,
                       hardship_boost: float, threshold: float, k: float, rule: str,
                       vision: int, shape: str, movement: str, jailed_block: bool,
                       danger: np.ndarray | None, flat_occ: np.ndarray) -> None:
        if len(civ) == 0:
            return
        # Jail: a sentence counts down at the civilian's turn; nothing else happens.
        serving = self.jail[civ] > 0
        self.jail[civ[serving]] -= 1
        civ = civ[~serving]
        if len(civ) == 0:
            return
        released = civ[self.state[civ] == JAILED]
        if len(released):
            self.state[released] = QUIET
            if not jailed_block:
                self._return_from_jail(released, rng, vision, shape)
        # Activation.
        code = window_sum(self.cops * _CODE + self.act, vision, shape)
        cx, cy = self.x[civ], self.y[civ]
        c = code[cx, cy]
        was_active = self.state[civ] == ACTIVE
        cops_seen = c // _CODE
        actives_seen = 1 + c % _CODE - was_active
        p = arrest_probability(cops_seen, actives_seen, k, rule)
        h = self.hardship[civ] + (1.0 - self.hardship[civ]) * hardship_boost
        g = 1.0 - (1.0 - h * (1.0 - legitimacy)) * (1.0 - self.shock[civ])
        r = 1.0 - (1.0 - self.risk_aversion[civ]) * (1.0 - self.fear[civ])
        now_active = (g - r * p) > threshold
        changed = now_active != was_active
        if changed.any():
            self.act[cx[changed], cy[changed]] += np.where(now_active[changed], 1, -1)
            self.state[civ[changed]] = np.where(now_active[changed], ACTIVE, QUIET)
        # Movement.
        if movement != "static":
            self._move_civilians(civ, rng, vision, shape,
                                 danger if movement == "flight" else None, flat_occ)

    def _return_from_jail(self, released: np.ndarray, rng: np.random.Generator, vision: int,
                          shape: str) -> None:
        """Put released civilians back on the grid (when jail frees their cells).

        A civilian whose cell was taken while it was in jail goes to a random
        free cell in vision, or anywhere free if there is none.
        """
        rx, ry = self.x[released], self.y[released]
        taken = self.occ[rx, ry] > 0
        # Two released from one cell in the same batch: one stays, the other moves.
        cells = rx.astype(np.int64) * self.height + ry
        _, first = np.unique(cells, return_index=True)
        dup = np.ones(len(released), dtype=bool)
        dup[first] = False
        taken |= dup
        stay = released[~taken]
        self.occ[self.x[stay], self.y[stay]] += 1
        self.civ_at[self.x[stay], self.y[stay]] = stay
        moving = released[taken]
        if len(moving) == 0:
            return
        target = choose_free_cells(self.x[moving], self.y[moving], self.occ, vision, shape, rng)
        lost = np.flatnonzero(target < 0)
        if len(lost):
            free = np.flatnonzero(self.occ.reshape(-1) == 0)
            picks = rng.choice(free, size=min(len(lost), len(free)), replace=False)
            target[lost[: len(picks)]] = picks
            self.occ.reshape(-1)[picks] += 1
        ok = target >= 0  # a completely full world keeps the rest in jail's place
        moving, target = moving[ok], target[ok]
        self.x[moving] = (target // self.height).astype(np.int32)
        self.y[moving] = (target % self.height).astype(np.int32)
        self.civ_at[self.x[moving], self.y[moving]] = moving

    def _move_civilians(self, civ: np.ndarray, rng: np.random.Generator, vision: int,
                        shape: str, danger: np.ndarray | None, flat_occ: np.ndarray) -> None:
        ox, oy = self.x[civ], self.y[civ]
        target = choose_free_cells(ox, oy, self.occ, vision, shape, rng, score=danger)
        moved = target >= 0
        if not moved.any():
            return
        civ, ox, oy, target = civ[moved], ox[moved], oy[moved], target[moved]
        nx, ny = (target // self.height).astype(np.int32), (target % self.height).astype(np.int32)
        np.subtract.at(self.occ, (ox, oy), 1)
        self.civ_at[ox, oy] = -1
        self.civ_at[nx, ny] = civ
        active = self.state[civ] == ACTIVE
        if active.any():
            np.subtract.at(self.act, (ox[active], oy[active]), 1)
            np.add.at(self.act, (nx[active], ny[active]), 1)
        self.x[civ], self.y[civ] = nx, ny

    def _enforcers_act(self, cop: np.ndarray, rng: np.random.Generator, vision: int,
                       shape: str, patrol: bool, jail_max: int, jailed_block: bool,
                       flat_occ: np.ndarray) -> int:
        arrests = 0
        dx, dy = offsets(vision, shape)
        flat_act = self.act.reshape(-1)
        pending = cop
        for _ in range(4):  # enforcers that lost a conflict look again
            if len(pending) == 0:
                break
            cand = (((self.cop_x[pending, None] + dx) % self.width) * self.height
                    + (self.cop_y[pending, None] + dy) % self.height)
            has = flat_act[cand] > 0
            any_active = has.any(axis=1)
            if not any_active.any():
                break
            pending, cand, has = pending[any_active], cand[any_active], has[any_active]
            keys = np.where(has, rng.random(has.shape), -1.0)
            target = cand[np.arange(len(pending)), np.argmax(keys, axis=1)]
            win = resolve_claims(target, self.width * self.height, rng)
            hit = target[win]
            who = self.civ_at.reshape(-1)[hit]
            self.state[who] = JAILED
            self.jail[who] = rng.integers(0, jail_max + 1, size=len(who))
            flat_act[hit] -= 1
            if not jailed_block:
                flat_occ[hit] -= 1
                self.civ_at.reshape(-1)[hit] = -1
            arrests += len(who)
            pending = pending[~win]
        if patrol:
            self._move_enforcers(cop, rng, vision, shape)
        return arrests

    def _move_enforcers(self, cop: np.ndarray, rng: np.random.Generator, vision: int,
                        shape: str) -> None:
        ox, oy = self.cop_x[cop], self.cop_y[cop]
        target = choose_free_cells(ox, oy, self.occ, vision, shape, rng)
        moved = target >= 0
        if not moved.any():
            return
        cop, ox, oy, target = cop[moved], ox[moved], oy[moved], target[moved]
        nx, ny = (target // self.height).astype(np.int32), (target % self.height).astype(np.int32)
        np.subtract.at(self.occ, (ox, oy), 1)
        np.subtract.at(self.cops, (ox, oy), 1)
        np.add.at(self.cops, (nx, ny), 1)
        self.cop_x[cop], self.cop_y[cop] = nx, ny
