"""The civil-violence layer: civilians and Taliban enforcers as numpy arrays.

Epstein's (2002) Model I, vectorized. Each step, civilians and enforcers act
in a random order, processed in ``K`` random batches: within a batch every
agent acts at once; neighbour counts are refreshed between batches, so no
agent's information is more than 1/K step stale (see docs/ODD.md, Scheduling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.model import kernel as sequential
from simulation.model.space import (
    choose_free_cells,
    half_widths,
    offsets,
    resolve_claims,
    torus,
    window_sum,
)

QUIET, ACTIVE, JAILED = sequential.QUIET, sequential.ACTIVE, sequential.JAILED
_NO_DANGER = np.zeros(1)


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
        # Every cell holds at most one agent, so the layers are updated by plain
        # fancy assignment on distinct cells (no np.add.at), and one byte a cell
        # suffices: small layers stay in cache during the sequential step.
        self.occ = np.zeros((width, height), dtype=np.int8)  # blocking agents per cell
        self.act = np.zeros((width, height), dtype=np.int8)  # active civilians per cell
        self.cops = np.zeros((width, height), dtype=np.int8)  # enforcers per cell
        self.civ_at = np.full((width, height), -1, dtype=np.int32)  # non-jailed civilian
        flat_occ = self.occ.reshape(-1)
        flat_occ[civ_cells] = 1
        flat_occ[cop_cells] = 1
        self.cops.reshape(-1)[cop_cells] = 1
        self.civ_at.reshape(-1)[civ_cells] = np.arange(n)
        # Work space for resolve_claims: -1 everywhere between uses.
        self._claims = np.full(n_cells, -1, dtype=np.int64)

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
            self.occ[self.cop_x[gone], self.cop_y[gone]] -= 1  # distinct cells
            self.cops[self.cop_x[gone], self.cop_y[gone]] -= 1
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
            self.occ.reshape(-1)[cells] += 1  # distinct free cells
            self.cops.reshape(-1)[cells] += 1
            return new.astype(np.int64), np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------ the step
    def grievance(self, legitimacy: float, hardship_boost: float,
                  idx: np.ndarray | None = None) -> np.ndarray:
        """G = 1 - (1 - H'(1 - L))(1 - shock), H' = H + (1 - H) * boost.

        For every civilian, or for the civilians ``idx`` only.
        """
        hard = self.hardship if idx is None else self.hardship[idx]
        shock = self.shock if idx is None else self.shock[idx]
        return sequential.grievance(hard, shock, float(legitimacy), float(hardship_boost))

    def mean_free_grievance(self, legitimacy: float, hardship_boost: float,
                            jailed: int) -> float:
        """Mean grievance of the civilians not in jail (NaN if none); ``jailed``: how many are."""
        if jailed == 0:
            return float(self.grievance(legitimacy, hardship_boost).mean()) \
                if self.n_civilians else float("nan")
        if jailed < self.n_civilians:
            free = np.flatnonzero(self.state != JAILED)
            return float(self.grievance(legitimacy, hardship_boost, free).mean())
        return float("nan")

    def at_cells(self, cells: np.ndarray, counts: np.ndarray,
                 jailed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Civilians standing on flat ``cells``, ascending, with their cell's count.

        Civilians not in jail, plus (``jailed=True``) those in jail, whose
        recorded position is one of the (sorted, distinct) ``cells``.
        """
        who = self.civ_at.reshape(-1)[cells]
        on = who >= 0
        who, n = who[on], counts[on]
        free = self.state[who] != JAILED
        who, n = who[free], n[free]
        if jailed:
            jl = np.flatnonzero(self.state == JAILED)
            if len(jl):
                pos = self.x[jl].astype(np.intp) * self.height + self.y[jl]
                at = np.minimum(np.searchsorted(cells, pos), len(cells) - 1)
                there = cells[at] == pos
                who = np.concatenate([who, jl[there]])
                n = np.concatenate([n, counts[at[there]]])
        if 16 * len(who) > self.n_civilians:  # many: sort by scattering
            mark = np.zeros(self.n_civilians, dtype=counts.dtype)
            mark[who] = n
            who = mark.nonzero()[0]
            return who, mark[who]
        order = np.argsort(who)
        return who[order], n[order]

    def step(self, rng: np.random.Generator, *, legitimacy: float, hardship_boost: float,
             threshold: float, k: float, rule: str, civ_vision: int, cop_vision: int,
             shape: str, batches: int, movement: str, patrol: bool, jail_max: int,
             jailed_block: bool, danger: np.ndarray | None = None,
             activation: str = "sequential") -> StepCounts:
        """One step of Epstein's rules for every civilian and enforcer.

        ``activation="sequential"``: one agent at a time in a random order
        (compiled, :mod:`simulation.model.kernel`); ``"batched"``: the order cut
        into ``batches`` random batches, each acting at once (vectorized).
        """
        out = StepCounts()
        n = self.n_civilians
        cop_slots = np.flatnonzero(self.cop_alive)
        flat_occ = self.occ.reshape(-1)
        if activation == "sequential":
            out.arrests = self._sequential(rng, cop_slots, legitimacy, hardship_boost, threshold,
                                           k, rule, civ_vision, cop_vision, shape, movement,
                                           patrol, jail_max, jailed_block, danger)
            return out
        if activation != "batched":
            raise ValueError(f"unknown activation {activation!r}")
        # Random sequential order, processed in K batches: the position of each
        # agent in the order is uniform, so its batch is uniform on 0..K-1.
        # Within a batch, conflicts (two movers, one cell; two enforcers, one
        # arrestee) go to a random one, as if it had come first.
        n_batches = max(1, batches)
        civ_batch = rng.integers(0, n_batches, size=n, dtype=np.uint8)
        cop_batch = rng.integers(0, n_batches, size=len(cop_slots), dtype=np.uint8)
        if n_batches > 8:  # one stable counting sort instead of K passes
            civ_sorted = np.argsort(civ_batch, kind="stable")
            civ_split = np.split(civ_sorted, np.cumsum(np.bincount(civ_batch,
                                                                   minlength=n_batches))[:-1])
        # Grievance and risk aversion do not change during the step.
        self._g_now = self.grievance(legitimacy, hardship_boost)
        self._r_now = 1.0 - (1.0 - self.risk_aversion) * (1.0 - self.fear)
        for b in range(n_batches):
            civ = civ_split[b] if n_batches > 8 else (civ_batch == b).nonzero()[0]
            cop = cop_slots[cop_batch == b]
            self._civilians_act(civ, rng, legitimacy, hardship_boost, threshold, k, rule,
                                civ_vision, shape, movement, jailed_block, danger, flat_occ)
            if len(cop):
                out.arrests += self._enforcers_act(cop, rng, cop_vision, shape, patrol,
                                                   jail_max, jailed_block, flat_occ)
        self._g_now = self._r_now = None
        return out

    def _sequential(self, rng: np.random.Generator, cop_slots: np.ndarray, legitimacy: float,
                    hardship_boost: float, threshold: float, k: float, rule: str,
                    civ_vision: int, cop_vision: int, shape: str, movement: str,
                    patrol: bool, jail_max: int, jailed_block: bool,
                    danger: np.ndarray | None) -> int:
        """The step in random sequential order (see :func:`sequential.sequential_step`)."""
        if rule not in sequential.RULES:
            raise ValueError(f"unknown arrest ratio rule {rule!r}")
        civ_dx, civ_dy = offsets(civ_vision, shape)
        cop_dx, cop_dy = offsets(cop_vision, shape)
        flee = danger is not None and movement == "flight"
        code = len(civ_dx) + 1  # actives in a window never reach it
        # Every count fits in int16 for usual visions: half the memory traffic.
        seen = np.empty(self.width * self.height, np.int16 if code * code < 2**15 else np.int32)
        self.seen, self.seen_code = seen, code  # kept up to date by the kernel (tests read it)
        inputs = sequential.KernelInputs(
            w=self.width, h=self.height,
            x=self.x, y=self.y, state=self.state, jail=self.jail,
            hardship=self.hardship, shock=self.shock, risk=self.risk_aversion, fear=self.fear,
            cop_x=self.cop_x, cop_y=self.cop_y, cop_slots=cop_slots,
            occ=self.occ.reshape(-1), act=self.act.reshape(-1), cops=self.cops.reshape(-1),
            civ_at=self.civ_at.reshape(-1),
            seen=seen, code=code, same_vision=civ_vision == cop_vision,
            civ_dx=civ_dx, civ_dy=civ_dy, reach=half_widths(civ_vision, shape),
            cop_dx=cop_dx, cop_dy=cop_dy,
            legitimacy=float(legitimacy), boost=float(hardship_boost), threshold=float(threshold),
            k=float(k), rule=sequential.RULES[rule], move=sequential.MOVES[movement],
            danger=danger.reshape(-1).astype(np.float64, copy=False) if flee else _NO_DANGER,
            patrol=bool(patrol), jail_max=int(jail_max), jailed_block=bool(jailed_block))
        return int(sequential.sequential_step(int(rng.integers(0, 2**32)), inputs))

    def _neighbour_counts(self, vision: int, shape: str) -> tuple[np.ndarray, int]:
        """Enforcers * code + actives summed over every cell's window, and the code."""
        n_win = len(offsets(vision, shape, include_centre=True)[0])
        code = n_win + 1  # actives in a window never reach it
        small = n_win * code < 2**15  # every window sum fits in int16
        grid = self.cops.astype(np.int32) * code
        grid += self.act
        return window_sum(grid, vision, shape, small=small).reshape(-1), code

    def _civilians_act(self, civ: np.ndarray, rng: np.random.Generator, legitimacy: float,
                       hardship_boost: float, threshold: float, k: float, rule: str,
                       vision: int, shape: str, movement: str, jailed_block: bool,
                       danger: np.ndarray | None, flat_occ: np.ndarray) -> None:
        if len(civ) == 0:
            return
        # Jail: a sentence counts down at the civilian's turn; nothing else happens.
        serving = self.jail[civ] > 0
        if serving.any():
            self.jail[civ[serving]] -= 1
            civ = civ[~serving]
            if len(civ) == 0:
                return
        was = self.state[civ]
        jailed = was == JAILED
        if jailed.any():
            released = civ[jailed]
            self.state[released] = QUIET
            was[jailed] = QUIET
            if not jailed_block:
                self._return_from_jail(released, rng, vision, shape)
        # Activation.
        counts, code = self._neighbour_counts(vision, shape)
        cx, cy = self.x[civ], self.y[civ]
        cells = cx.astype(np.intp) * self.height + cy
        c = counts[cells]
        was_active = was == ACTIVE
        cops_seen, actives_seen = np.divmod(c, code)
        actives_seen += 1
        actives_seen -= was_active
        p = arrest_probability(cops_seen, actives_seen, k, rule)
        g = self._g_now[civ] if self._g_now is not None else \
            self.grievance(legitimacy, hardship_boost)[civ]
        r = self._r_now[civ] if self._r_now is not None else \
            1.0 - (1.0 - self.risk_aversion[civ]) * (1.0 - self.fear[civ])
        now_active = (g - r * p) > threshold
        changed = np.flatnonzero(now_active != was_active)
        if len(changed):
            on = now_active[changed]
            self.act.reshape(-1)[cells[changed]] += np.where(on, 1, -1).astype(np.int8)
            self.state[civ[changed]] = np.where(on, ACTIVE, QUIET)
        # Movement.
        if movement != "static":
            self._move_civilians(civ, rng, vision, shape,
                                 danger if movement == "flight" else None, flat_occ,
                                 cells=cells)

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
        self.occ[self.x[stay], self.y[stay]] += 1  # distinct free cells
        self.civ_at[self.x[stay], self.y[stay]] = stay
        moving = released[taken]
        if len(moving) == 0:
            return
        target = choose_free_cells(self.x[moving], self.y[moving], self.occ, vision, shape, rng,
                                   scratch=self._claims)
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
                        shape: str, danger: np.ndarray | None, flat_occ: np.ndarray,
                        cells: np.ndarray | None = None) -> None:
        ox, oy = self.x[civ], self.y[civ]
        target = choose_free_cells(ox, oy, self.occ, vision, shape, rng, score=danger,
                                   scratch=self._claims)
        moved = np.flatnonzero(target >= 0)
        if len(moved) == 0:
            return
        if len(moved) < len(civ):
            civ, target = civ[moved], target[moved]
            old = cells[moved] if cells is not None else \
                ox[moved].astype(np.intp) * self.height + oy[moved]
        else:
            old = cells if cells is not None else ox.astype(np.intp) * self.height + oy
        nx, ny = np.divmod(target, self.height)
        # Old cells are distinct and occupied, new ones distinct and were free.
        flat_occ[old] -= 1
        flat_civ = self.civ_at.reshape(-1)
        flat_civ[old] = -1
        flat_civ[target] = civ
        active = self.state[civ] == ACTIVE
        if active.any():
            flat_act = self.act.reshape(-1)
            flat_act[old[active]] -= 1
            flat_act[target[active]] += 1
        self.x[civ], self.y[civ] = nx, ny

    def _enforcers_act(self, cop: np.ndarray, rng: np.random.Generator, vision: int,
                       shape: str, patrol: bool, jail_max: int, jailed_block: bool,
                       flat_occ: np.ndarray) -> int:
        """Each enforcer arrests a uniformly random active civilian in its vision.

        When several pick the same civilian, a random one wins and the others
        look again (up to four times). Then the enforcers patrol.
        """
        tor = torus(self.width, self.height, vision, shape)
        act_cells = np.flatnonzero(self.act)
        arrests = 0
        if len(act_cells) == 0:
            pass
        elif len(act_cells) < len(cop):
            arrests = self._arrest_from_actives(cop, act_cells, tor, rng, jail_max,
                                                jailed_block, flat_occ)
        else:
            arrests = self._arrest_by_scan(cop, tor, rng, jail_max, jailed_block, flat_occ)
        if patrol:
            self._move_enforcers(cop, rng, vision, shape)
        return arrests

    def _jail(self, hit: np.ndarray, rng: np.random.Generator, jail_max: int,
              jailed_block: bool, flat_occ: np.ndarray) -> int:
        """Arrest the active civilians on (distinct) flat cells ``hit``."""
        flat_civ = self.civ_at.reshape(-1)
        who = flat_civ[hit]
        self.state[who] = JAILED
        self.jail[who] = rng.integers(0, jail_max + 1, size=len(who))
        self.act.reshape(-1)[hit] -= 1
        if not jailed_block:
            flat_occ[hit] -= 1
            flat_civ[hit] = -1
        return len(who)

    def _arrest_by_scan(self, cop: np.ndarray, tor: Any, rng: np.random.Generator,
                        jail_max: int, jailed_block: bool, flat_occ: np.ndarray) -> int:
        """Arrests when actives are many: every enforcer scans its whole vision."""
        flat_act = self.act.reshape(-1)
        n_cells = self.width * self.height
        arrests = 0
        pending = cop
        for _ in range(4):  # enforcers that lost a conflict look again
            if len(pending) == 0:
                break
            cand = tor.canon[tor.pid(self.cop_x[pending], self.cop_y[pending])[:, None] + tor.off]
            has = flat_act[cand] > 0
            any_active = has.any(axis=1)
            if not any_active.all():
                if not any_active.any():
                    break
                pending, cand, has = pending[any_active], cand[any_active], has[any_active]
            keys = np.where(has, rng.random(has.shape), -1.0)
            target = cand[np.arange(len(pending)), np.argmax(keys, axis=1)]
            win = resolve_claims(target, n_cells, rng, self._claims)
            arrests += self._jail(target[win], rng, jail_max, jailed_block, flat_occ)
            pending = pending[~win]
        return arrests

    def _arrest_from_actives(self, cop: np.ndarray, act_cells: np.ndarray, tor: Any,
                             rng: np.random.Generator, jail_max: int, jailed_block: bool,
                             flat_occ: np.ndarray) -> int:
        """Arrests when actives are fewer than enforcers: start from the actives.

        The (enforcer, active) pairs in sight of each other are found from the
        actives' neighbourhoods (neighbourhoods are symmetric); each enforcer
        then picks one of its pairs uniformly, which is the same rule as
        scanning its vision, at a cost that grows with the actives only.
        """
        n_cells = self.width * self.height
        cop_cells = self.cop_x[cop].astype(np.intp) * self.height + self.cop_y[cop]
        here = self._claims  # -1 everywhere between uses
        here[cop_cells] = np.arange(len(cop))  # enforcers stand on distinct cells
        seen = here[tor.canon[tor.pid(*np.divmod(act_cells, self.height))[:, None] + tor.off]]
        here[cop_cells] = -1
        pair_act, pair_off = (seen >= 0).nonzero()
        pair_cop = seen[pair_act, pair_off]
        pair_cell = act_cells[pair_act]
        flat_act = self.act.reshape(-1)
        arrests = 0
        for _ in range(4):  # enforcers that lost a conflict look again
            if len(pair_cop) == 0:
                break
            # Each enforcer's pick: the last of its pairs in a random order.
            shuffle = rng.permutation(len(pair_cop))
            pick = np.full(len(cop), -1, dtype=np.intp)
            pick[pair_cop[shuffle]] = pair_cell[shuffle]
            picking = (pick >= 0).nonzero()[0]
            target = pick[picking]
            win = resolve_claims(target, n_cells, rng, self._claims)
            arrests += self._jail(target[win], rng, jail_max, jailed_block, flat_occ)
            done = np.zeros(len(cop), dtype=bool)
            done[picking[win]] = True
            left = ~done[pair_cop] & (flat_act[pair_cell] > 0)
            pair_cop, pair_cell = pair_cop[left], pair_cell[left]
        return arrests

    def _move_enforcers(self, cop: np.ndarray, rng: np.random.Generator, vision: int,
                        shape: str) -> None:
        ox, oy = self.cop_x[cop], self.cop_y[cop]
        target = choose_free_cells(ox, oy, self.occ, vision, shape, rng, scratch=self._claims)
        moved = np.flatnonzero(target >= 0)
        if len(moved) == 0:
            return
        cop, ox, oy, target = cop[moved], ox[moved], oy[moved], target[moved]
        old = ox.astype(np.intp) * self.height + oy
        # Old cells are distinct and occupied, new ones distinct and were free.
        self.occ.reshape(-1)[old] -= 1
        flat_cops = self.cops.reshape(-1)
        flat_cops[old] -= 1
        flat_cops[target] += 1
        self.cop_x[cop], self.cop_y[cop] = np.divmod(target, self.height)
