"""The civil-violence layer: civilians and Taliban enforcers as numpy arrays (ODD 7.1).

Epstein's (2002) Model I. :class:`Population` holds the state of every
civilian and enforcer and the grid layers; each step they act once, one at a
time in a random order, in compiled code (:mod:`simulation.model.kernel`),
or, as an ablation, in random batches that act at once
(:mod:`simulation.model.batched`). Grievance and perceived risk are the
kernel's formulas (:func:`~simulation.model.kernel.grievance`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.model import batched, kernel
from simulation.model.space import half_widths, offsets

QUIET, ACTIVE, JAILED = kernel.QUIET, kernel.ACTIVE, kernel.JAILED
_NO_DANGER = np.zeros(1)


@dataclass(frozen=True, eq=False)
class StepRules:
    """The settings of one step of Epstein's rules: the regime's and the parameter table's.

    ``activation="sequential"``: one agent at a time in a random order
    (compiled, :mod:`simulation.model.kernel`); ``"batched"``: the order cut
    into ``batches`` random batches, each acting at once (vectorized).
    ``danger`` (cells' recent harm) steers civilians who move by ``"flight"``.
    """

    legitimacy: float
    hardship_boost: float
    threshold: float
    k: float
    rule: str
    civ_vision: int
    enforcer_vision: int
    shape: str
    movement: str
    patrol: bool
    jail_max: int
    jailed_block: bool
    batches: int = 1
    activation: str = "sequential"
    danger: np.ndarray | None = None


@dataclass
class StepCounts:
    """What the layer did in one step: arrests, counted by weight if weighted."""

    arrests: float = 0


@dataclass(frozen=True, eq=False)
class Placement:
    """Where everyone starts on a map (:meth:`simulation.model.land.Land.place`).

    Flat cell ids of the civilians and enforcers, the ``(width, height)`` mask
    of blocked cells (no one ever stands there), and each civilian's weight:
    how many civilians' worth of people it stands for.
    """

    civilians: np.ndarray
    enforcers: np.ndarray
    blocked: np.ndarray
    weight: np.ndarray


def _draw_cells(
    rng: np.random.Generator, n_cells: int, civilian_density: float, enforcer_density: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell independently holds a civilian, an enforcer or nothing (as Mesa): flat ids."""
    u = rng.random(n_cells)
    civ_cells = np.flatnonzero(u < civilian_density)
    enforcer_cells = np.flatnonzero(
        (u >= civilian_density) & (u < civilian_density + enforcer_density)
    )
    return civ_cells, enforcer_cells


class Population:
    """Array state of every civilian and enforcer, and the batch step."""

    def __init__(
        self,
        width: int,
        height: int,
        rng: np.random.Generator,
        civilian_density: float,
        enforcer_density: float,
        susceptibility_mean: float,
        placement: Placement | None = None,
    ) -> None:
        """``placement``: where everyone starts on a map; without it each cell
        independently holds a civilian, an enforcer or nothing (as Mesa).
        """
        self.width, self.height = width, height
        n_cells = width * height
        if placement is None:
            civ_cells, enforcer_cells = _draw_cells(
                rng, n_cells, civilian_density, enforcer_density
            )
        else:
            civ_cells, enforcer_cells = placement.civilians, placement.enforcers
        #: People-weight of each civilian (None: every civilian counts 1; see Placement).
        self.weight = None if placement is None else np.asarray(placement.weight, dtype=float)
        #: Weighted, or tracked (for civilians.arrest_grievance): the newly jailed of the last step.
        self.newly_jailed, self.track_newly_jailed = np.zeros(0, dtype=np.int64), False
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
        self._hardship_shift: float | None = None  # the shift the hardship was made with
        self.state = np.zeros(n, dtype=np.int8)
        self.jail = np.zeros(n, dtype=np.int32)
        self.shock = np.zeros(n)  # grievance shocks from attacks and collateral harm
        self.fear = np.zeros(n)
        self.region = np.zeros(n, dtype=np.int8)
        # Enforcers live in slots; dead slots are reused.
        self.enforcer_x = (enforcer_cells // height).astype(np.int32)
        self.enforcer_y = (enforcer_cells % height).astype(np.int32)
        self.enforcer_alive = np.ones(len(enforcer_cells), dtype=bool)
        self._make_layers(civ_cells, enforcer_cells, placement)
        # Work space for resolve_claims: -1 everywhere between uses.
        self.scratch = np.full(n_cells, -1, dtype=np.int64)
        # The sequential kernel's window-count layer (code * enforcers + actives) and code.
        self.seen = np.zeros(0, dtype=np.int16)
        self.seen_code = 0

    def _make_layers(
        self, civ_cells: np.ndarray, enforcer_cells: np.ndarray, placement: Placement | None
    ) -> None:
        """The grid layers of who stands where.

        Every cell holds at most one agent, so the layers are updated by plain
        fancy assignment on distinct cells (no np.add.at), and one byte a cell
        suffices: small layers stay in cache during the sequential step.
        """
        width, height = self.width, self.height
        self.occ = np.zeros((width, height), dtype=np.int8)  # blocking agents per cell
        self.act = np.zeros((width, height), dtype=np.int8)  # active civilians per cell
        self.enforcers = np.zeros((width, height), dtype=np.int8)  # enforcers per cell
        self.civ_at = np.full((width, height), -1, dtype=np.int32)  # non-jailed civilian
        flat_occ = self.occ.reshape(-1)
        flat_occ[civ_cells] = 1
        flat_occ[enforcer_cells] = 1
        self.enforcers.reshape(-1)[enforcer_cells] = 1
        self.civ_at.reshape(-1)[civ_cells] = np.arange(len(civ_cells))
        if placement is not None:  # nobody ever stands on a blocked cell: it stays occupied
            flat_occ[placement.blocked.reshape(-1)] = 1

    # ----------------------------------------------------------------- sizes
    @property
    def n_civilians(self) -> int:
        """Number of civilians (fixed)."""
        return len(self.x)

    @property
    def n_enforcers(self) -> int:
        """Number of enforcer units deployed."""
        return int(self.enforcer_alive.sum())

    @property
    def total(self) -> float:
        """Civilians counted by weight (their number when unweighted)."""
        return self.n_civilians if self.weight is None else float(self.weight.sum())

    def counts(self) -> tuple[float, float, float]:
        """(quiet, active, jailed) civilians, counted by weight if weighted."""
        if self.weight is None:
            c = np.bincount(self.state, minlength=3)
            return int(c[QUIET]), int(c[ACTIVE]), int(c[JAILED])
        c = np.bincount(self.state, weights=self.weight, minlength=3)
        return float(c[QUIET]), float(c[ACTIVE]), float(c[JAILED])

    def weighed(self, idx: np.ndarray) -> float:
        """How many civilians ``idx`` count for: their number, or their summed weight."""
        return len(idx) if self.weight is None else float(self.weight[idx].sum())

    # ------------------------------------------------------------ enforcers
    def set_enforcers(self, target: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Deploy or withdraw random enforcers to reach ``target``.

        Returns the slots added and the slots removed.
        """
        alive = np.flatnonzero(self.enforcer_alive)
        diff = target - len(alive)
        none = np.zeros(0, dtype=np.int64)
        if diff < 0:
            gone = rng.choice(alive, size=-diff, replace=False)
            self.withdraw(gone)
            return none, gone
        if diff > 0:
            free = np.flatnonzero(self.occ.reshape(-1) == 0)
            cells = rng.choice(free, size=min(diff, len(free)), replace=False)
            return self.deploy_on(cells), none
        return none, none

    def withdraw(self, slots: np.ndarray) -> None:
        """Take the enforcers in ``slots`` (distinct, deployed) off the grid."""
        self.enforcer_alive[slots] = False
        self.occ[self.enforcer_x[slots], self.enforcer_y[slots]] -= 1  # distinct cells
        self.enforcers[self.enforcer_x[slots], self.enforcer_y[slots]] -= 1

    def deploy_on(self, cells: np.ndarray) -> np.ndarray:
        """Put an enforcer on each of the (distinct, free) flat ``cells``; their slots."""
        n = len(cells)
        dead = np.flatnonzero(~self.enforcer_alive)[:n]
        new = np.concatenate(
            [dead, np.arange(len(self.enforcer_alive), len(self.enforcer_alive) + n - len(dead))]
        )
        grow = len(new) - len(dead)
        if grow:
            self.enforcer_x = np.concatenate([self.enforcer_x, np.zeros(grow, np.int32)])
            self.enforcer_y = np.concatenate([self.enforcer_y, np.zeros(grow, np.int32)])
            self.enforcer_alive = np.concatenate([self.enforcer_alive, np.zeros(grow, bool)])
        self.enforcer_x[new] = cells // self.height
        self.enforcer_y[new] = cells % self.height
        self.enforcer_alive[new] = True
        self.occ.reshape(-1)[cells] += 1  # distinct free cells
        self.enforcers.reshape(-1)[cells] += 1
        return new.astype(np.int64)

    # ------------------------------------------------------------ the step
    def shift_hardship(self, shift: float, region_shifts: np.ndarray) -> None:
        """Hardship for the scenario's ``shift`` plus each civilian's region's.

        Recomputed only when ``shift`` changes (a pass over all civilians).
        """
        if shift != self._hardship_shift:
            self.set_hardship(shift + region_shifts[self.region])
            self._hardship_shift = shift

    def set_hardship(self, shift: np.ndarray | float) -> None:
        """Hardship ``H = clip(raw + shift, 0, 1)``, ``shift`` per civilian (or one for all)."""
        self.hardship = np.clip(self.hardship_raw + shift, 0.0, 1.0)

    def grievance(
        self, legitimacy: float, hardship_boost: float, idx: np.ndarray | None = None
    ) -> np.ndarray:
        """G = 1 - (1 - H'(1 - L))(1 - shock), H' = H + (1 - H) * boost.

        For every civilian, or for the civilians ``idx`` only.
        """
        hard = self.hardship if idx is None else self.hardship[idx]
        shock = self.shock if idx is None else self.shock[idx]
        return kernel.grievance(hard, shock, float(legitimacy), float(hardship_boost))

    def mean_free_grievance(self, legitimacy: float, hardship_boost: float, jailed: int) -> float:
        """Mean grievance of the civilians not in jail (NaN if none); ``jailed``: how many are."""
        if self.weight is not None:  # weighted: the mean over people
            free = np.flatnonzero(self.state != JAILED)
            if not len(free):
                return float("nan")
            g = self.grievance(legitimacy, hardship_boost, free)
            return float(np.average(g, weights=self.weight[free]))
        if jailed == 0:
            return (
                float(self.grievance(legitimacy, hardship_boost).mean())
                if self.n_civilians
                else float("nan")
            )
        if jailed < self.n_civilians:
            free = np.flatnonzero(self.state != JAILED)
            return float(self.grievance(legitimacy, hardship_boost, free).mean())
        return float("nan")

    def at_cells(
        self, cells: np.ndarray, counts: np.ndarray, jailed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
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

    def week(
        self,
        rng: np.random.Generator,
        params: Mapping[str, Any],
        *,
        legitimacy: float,
        hardship_boost: float,
        jail_max: int,
        danger: np.ndarray | None,
    ) -> StepCounts:
        """:meth:`step` with the rules' settings read from the parameter table."""
        p = params
        return self.step(
            rng,
            StepRules(
                legitimacy=legitimacy,
                hardship_boost=hardship_boost,
                threshold=p["civilians.threshold"],
                k=p["civilians.arrest_constant"],
                rule=p["civilians.arrest_ratio_rule"],
                civ_vision=p["civilians.vision"],
                enforcer_vision=p["taliban.vision"],
                shape=p["world.neighbourhood"],
                batches=p["world.activation_batches"],
                activation=p["world.activation"],
                movement=p["civilians.movement"],
                patrol=p["taliban.patrol"],
                jail_max=jail_max,
                jailed_block=p["civilians.jailed_block_cells"],
                danger=danger,
            ),
        )

    def step(self, rng: np.random.Generator, rules: StepRules) -> StepCounts:
        """One step of Epstein's rules for every civilian and enforcer (see :class:`StepRules`)."""
        out = StepCounts()
        enforcer_slots = np.flatnonzero(self.enforcer_alive)
        track = self.weight is not None or self.track_newly_jailed
        was_jailed = self.state == JAILED if track else None
        if rules.activation == "sequential":
            out.arrests = self._sequential(rng, enforcer_slots, rules)
        elif rules.activation == "batched":
            out.arrests = batched.batched_step(self, rng, enforcer_slots, rules)
        else:
            raise ValueError(f"unknown activation {rules.activation!r}")
        if was_jailed is not None and out.arrests:
            # Weighted: the arrests times the mean weight of the newly jailed (the kernel
            # counts arrests, not whom; a civilian freed and re-arrested within the step
            # is counted by the kernel but is not newly jailed).
            newly = np.flatnonzero((self.state == JAILED) & ~was_jailed)
            if self.weight is not None:
                mean = self.weight[newly].mean() if len(newly) else self.total / self.n_civilians
                out.arrests = float(out.arrests * mean)
            self.newly_jailed = newly
        elif was_jailed is not None:
            self.newly_jailed = np.zeros(0, dtype=np.int64)
        return out

    def _sequential(
        self, rng: np.random.Generator, enforcer_slots: np.ndarray, rules: StepRules
    ) -> int:
        """The step in random sequential order (see :func:`kernel.sequential_step`)."""
        r = rules
        if r.rule not in kernel.RULES:
            raise ValueError(f"unknown arrest ratio rule {r.rule!r}")
        civ_dx, civ_dy = offsets(r.civ_vision, r.shape)
        enforcer_dx, enforcer_dy = offsets(r.enforcer_vision, r.shape)
        danger = r.danger
        flee = danger is not None and r.movement == "flight"
        code = len(civ_dx) + 1  # actives in a window never reach it
        # Every count fits in int16 for usual visions: half the memory traffic.
        seen = np.empty(self.width * self.height, np.int16 if code * code < 2**15 else np.int32)
        self.seen, self.seen_code = seen, code  # kept up to date by the kernel (tests read it)
        inputs = kernel.KernelInputs(
            w=self.width,
            h=self.height,
            x=self.x,
            y=self.y,
            state=self.state,
            jail=self.jail,
            hardship=self.hardship,
            shock=self.shock,
            risk=self.risk_aversion,
            fear=self.fear,
            enforcer_x=self.enforcer_x,
            enforcer_y=self.enforcer_y,
            enforcer_slots=enforcer_slots,
            occ=self.occ.reshape(-1),
            act=self.act.reshape(-1),
            enforcers=self.enforcers.reshape(-1),
            civ_at=self.civ_at.reshape(-1),
            seen=seen,
            code=code,
            same_vision=r.civ_vision == r.enforcer_vision,
            civ_dx=civ_dx,
            civ_dy=civ_dy,
            reach=half_widths(r.civ_vision, r.shape),
            enforcer_dx=enforcer_dx,
            enforcer_dy=enforcer_dy,
            legitimacy=float(r.legitimacy),
            boost=float(r.hardship_boost),
            threshold=float(r.threshold),
            k=float(r.k),
            rule=kernel.RULES[r.rule],
            move=kernel.MOVES[r.movement],
            danger=danger.reshape(-1).astype(np.float64, copy=False) if flee else _NO_DANGER,
            patrol=bool(r.patrol),
            jail_max=int(r.jail_max),
            jailed_block=bool(r.jailed_block),
        )
        return int(kernel.sequential_step(int(rng.integers(0, 2**32)), inputs))
