"""The batched ablation of the civil-violence step (``world.activation = "batched"``).

The random sequential order cut into ``K`` random batches: within a batch
every civilian and enforcer acts at once (vectorized); neighbour counts are
refreshed between batches, so no agent's information is more than 1/K step
stale (docs/ODD.md, Scheduling). Kept as an ablation of the compiled
sequential step (:mod:`simulation.model.kernel`): K = 1 is measurably
biased and K = 4 still damps within-step cascades (docs/validation.md).
The rules are those of the kernel, with the same grievance and risk formulas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.model.kernel import ACTIVE, JAILED, QUIET, perceived_risk
from simulation.model.moves import choose_free_cells, resolve_claims
from simulation.model.space import offsets, torus, window_sum

if TYPE_CHECKING:
    from simulation.model.civilians import Population, StepRules


def arrest_probability(
    enforcers: np.ndarray, actives: np.ndarray, k: float, rule: str
) -> np.ndarray:
    """Epstein's estimated arrest probability P = 1 - exp(-k * ratio(C / A)).

    ``rule`` is ``floor`` (NetLogo), ``round`` (Mesa; halves to even, as
    Python's round) or ``exact`` (the paper's text).
    """
    ratio = enforcers / actives
    if rule == "floor":
        ratio = np.floor(ratio)
    elif rule == "round":
        ratio = np.round(ratio)
    elif rule != "exact":
        raise ValueError(f"unknown arrest ratio rule {rule!r}")
    return 1.0 - np.exp(-k * ratio)


def batched_step(
    pop: Population, rng: np.random.Generator, enforcer_slots: np.ndarray, rules: StepRules
) -> int:
    """One step in ``batches`` random batches, each acting at once; returns the arrests."""
    n = pop.n_civilians
    flat_occ = pop.occ.reshape(-1)
    arrests = 0
    # Random sequential order, processed in K batches: the position of each
    # agent in the order is uniform, so its batch is uniform on 0..K-1.
    # Within a batch, conflicts (two movers, one cell; two enforcers, one
    # arrestee) go to a random one, as if it had come first.
    n_batches = max(1, rules.batches)
    civ_batch = rng.integers(0, n_batches, size=n, dtype=np.uint8)
    enforcer_batch = rng.integers(0, n_batches, size=len(enforcer_slots), dtype=np.uint8)
    if n_batches > 8:  # one stable counting sort instead of K passes
        civ_sorted = np.argsort(civ_batch, kind="stable")
        civ_split = np.split(
            civ_sorted, np.cumsum(np.bincount(civ_batch, minlength=n_batches))[:-1]
        )
    # Grievance and risk aversion do not change during the step.
    g_now = pop.grievance(rules.legitimacy, rules.hardship_boost)
    r_now = perceived_risk(pop.risk_aversion, pop.fear)
    for b in range(n_batches):
        civ = civ_split[b] if n_batches > 8 else (civ_batch == b).nonzero()[0]
        enf = enforcer_slots[enforcer_batch == b]
        _civilians_act(pop, civ, rng, g_now, r_now, rules, flat_occ)
        if len(enf):
            r = rules
            arrests += _enforcers_act(
                pop,
                enf,
                rng,
                r.enforcer_vision,
                r.shape,
                r.patrol,
                r.jail_max,
                r.jailed_block,
                flat_occ,
            )
    return arrests


def _neighbour_counts(pop: Population, vision: int, shape: str) -> tuple[np.ndarray, int]:
    """Enforcers * code + actives summed over every cell's window, and the code."""
    n_win = len(offsets(vision, shape, include_centre=True)[0])
    code = n_win + 1  # actives in a window never reach it
    small = n_win * code < 2**15  # every window sum fits in int16
    grid = pop.enforcers.astype(np.int32) * code
    grid += pop.act
    return window_sum(grid, vision, shape, small=small).reshape(-1), code


def _civilians_act(
    pop: Population,
    civ: np.ndarray,
    rng: np.random.Generator,
    g_now: np.ndarray,
    r_now: np.ndarray,
    rules: StepRules,
    flat_occ: np.ndarray,
) -> None:
    """The civilians of one batch: jail, activation, movement."""
    vision, shape, movement = rules.civ_vision, rules.shape, rules.movement
    if len(civ) == 0:
        return
    # Jail: a sentence counts down at the civilian's turn; nothing else happens.
    serving = pop.jail[civ] > 0
    if serving.any():
        pop.jail[civ[serving]] -= 1
        civ = civ[~serving]
        if len(civ) == 0:
            return
    was = pop.state[civ]
    jailed = was == JAILED
    if jailed.any():
        released = civ[jailed]
        pop.state[released] = QUIET
        was[jailed] = QUIET
        if not rules.jailed_block:
            _return_from_jail(pop, released, rng, vision, shape)
    # Activation.
    counts, code = _neighbour_counts(pop, vision, shape)
    cx, cy = pop.x[civ], pop.y[civ]
    cells = cx.astype(np.intp) * pop.height + cy
    c = counts[cells]
    was_active = was == ACTIVE
    enforcers_seen, actives_seen = np.divmod(c, code)
    actives_seen += 1
    actives_seen -= was_active
    p = arrest_probability(enforcers_seen, actives_seen, rules.k, rules.rule)
    g = g_now[civ]
    r = r_now[civ]
    now_active = (g - r * p) > rules.threshold
    changed = np.flatnonzero(now_active != was_active)
    if len(changed):
        on = now_active[changed]
        pop.act.reshape(-1)[cells[changed]] += np.where(on, 1, -1).astype(np.int8)
        pop.state[civ[changed]] = np.where(on, ACTIVE, QUIET)
    # Movement.
    if movement != "static":
        _move_civilians(
            pop,
            civ,
            rng,
            vision,
            shape,
            rules.danger if movement == "flight" else None,
            flat_occ,
            cells=cells,
        )


def _return_from_jail(
    pop: Population, released: np.ndarray, rng: np.random.Generator, vision: int, shape: str
) -> None:
    """Put released civilians back on the grid (when jail frees their cells).

    A civilian whose cell was taken while it was in jail goes to a random
    free cell in vision, or anywhere free if there is none.
    """
    rx, ry = pop.x[released], pop.y[released]
    taken = pop.occ[rx, ry] > 0
    # Two released from one cell in the same batch: one stays, the other moves.
    cells = rx.astype(np.int64) * pop.height + ry
    _, first = np.unique(cells, return_index=True)
    dup = np.ones(len(released), dtype=bool)
    dup[first] = False
    taken |= dup
    stay = released[~taken]
    pop.occ[pop.x[stay], pop.y[stay]] += 1  # distinct free cells
    pop.civ_at[pop.x[stay], pop.y[stay]] = stay
    moving = released[taken]
    if len(moving) == 0:
        return
    target = choose_free_cells(
        pop.x[moving], pop.y[moving], pop.occ, vision, shape, rng, scratch=pop.scratch
    )
    lost = np.flatnonzero(target < 0)
    if len(lost):
        free = np.flatnonzero(pop.occ.reshape(-1) == 0)
        picks = rng.choice(free, size=min(len(lost), len(free)), replace=False)
        target[lost[: len(picks)]] = picks
        pop.occ.reshape(-1)[picks] += 1
    ok = target >= 0  # a completely full world keeps the rest in jail's place
    moving, target = moving[ok], target[ok]
    pop.x[moving] = (target // pop.height).astype(np.int32)
    pop.y[moving] = (target % pop.height).astype(np.int32)
    pop.civ_at[pop.x[moving], pop.y[moving]] = moving


def _move_civilians(
    pop: Population,
    civ: np.ndarray,
    rng: np.random.Generator,
    vision: int,
    shape: str,
    danger: np.ndarray | None,
    flat_occ: np.ndarray,
    cells: np.ndarray | None = None,
) -> None:
    ox, oy = pop.x[civ], pop.y[civ]
    target = choose_free_cells(
        ox, oy, pop.occ, vision, shape, rng, score=danger, scratch=pop.scratch
    )
    moved = np.flatnonzero(target >= 0)
    if len(moved) == 0:
        return
    if len(moved) < len(civ):
        civ, target = civ[moved], target[moved]
        old = (
            cells[moved]
            if cells is not None
            else ox[moved].astype(np.intp) * pop.height + oy[moved]
        )
    else:
        old = cells if cells is not None else ox.astype(np.intp) * pop.height + oy
    nx, ny = np.divmod(target, pop.height)
    # Old cells are distinct and occupied, new ones distinct and were free.
    flat_occ[old] -= 1
    flat_civ = pop.civ_at.reshape(-1)
    flat_civ[old] = -1
    flat_civ[target] = civ
    active = pop.state[civ] == ACTIVE
    if active.any():
        flat_act = pop.act.reshape(-1)
        flat_act[old[active]] -= 1
        flat_act[target[active]] += 1
    pop.x[civ], pop.y[civ] = nx, ny


def _enforcers_act(
    pop: Population,
    enf: np.ndarray,
    rng: np.random.Generator,
    vision: int,
    shape: str,
    patrol: bool,
    jail_max: int,
    jailed_block: bool,
    flat_occ: np.ndarray,
) -> int:
    """Each enforcer arrests a uniformly random active civilian in its vision.

    When several pick the same civilian, a random one wins and the others
    look again (up to four times). Then the enforcers patrol.
    """
    tor = torus(pop.width, pop.height, vision, shape)
    act_cells = np.flatnonzero(pop.act)
    arrests = 0
    if len(act_cells) == 0:
        pass
    elif len(act_cells) < len(enf):
        arrests = _arrest_from_actives(
            pop, enf, act_cells, tor, rng, jail_max, jailed_block, flat_occ
        )
    else:
        arrests = _arrest_by_scan(pop, enf, tor, rng, jail_max, jailed_block, flat_occ)
    if patrol:
        _move_enforcers(pop, enf, rng, vision, shape)
    return arrests


def _jail(
    pop: Population,
    hit: np.ndarray,
    rng: np.random.Generator,
    jail_max: int,
    jailed_block: bool,
    flat_occ: np.ndarray,
) -> int:
    """Arrest the active civilians on (distinct) flat cells ``hit``."""
    flat_civ = pop.civ_at.reshape(-1)
    who = flat_civ[hit]
    pop.state[who] = JAILED
    pop.jail[who] = rng.integers(0, jail_max + 1, size=len(who))
    pop.act.reshape(-1)[hit] -= 1
    if not jailed_block:
        flat_occ[hit] -= 1
        flat_civ[hit] = -1
    return len(who)


def _arrest_by_scan(
    pop: Population,
    enf: np.ndarray,
    tor: Any,
    rng: np.random.Generator,
    jail_max: int,
    jailed_block: bool,
    flat_occ: np.ndarray,
) -> int:
    """Arrests when actives are many: every enforcer scans its whole vision."""
    flat_act = pop.act.reshape(-1)
    n_cells = pop.width * pop.height
    arrests = 0
    pending = enf
    for _ in range(4):  # enforcers that lost a conflict look again
        if len(pending) == 0:
            break
        cand = tor.canon[
            tor.pid(pop.enforcer_x[pending], pop.enforcer_y[pending])[:, None] + tor.off
        ]
        has = flat_act[cand] > 0
        any_active = has.any(axis=1)
        if not any_active.all():
            if not any_active.any():
                break
            pending, cand, has = pending[any_active], cand[any_active], has[any_active]
        keys = np.where(has, rng.random(has.shape), -1.0)
        target = cand[np.arange(len(pending)), np.argmax(keys, axis=1)]
        win = resolve_claims(target, n_cells, rng, pop.scratch)
        arrests += _jail(pop, target[win], rng, jail_max, jailed_block, flat_occ)
        pending = pending[~win]
    return arrests


def _arrest_from_actives(
    pop: Population,
    enf: np.ndarray,
    act_cells: np.ndarray,
    tor: Any,
    rng: np.random.Generator,
    jail_max: int,
    jailed_block: bool,
    flat_occ: np.ndarray,
) -> int:
    """Arrests when actives are fewer than enforcers: start from the actives.

    The (enforcer, active) pairs in sight of each other are found from the
    actives' neighbourhoods (neighbourhoods are symmetric); each enforcer
    then picks one of its pairs uniformly, which is the same rule as
    scanning its vision, at a cost that grows with the actives only.
    """
    n_cells = pop.width * pop.height
    enforcer_cells = pop.enforcer_x[enf].astype(np.intp) * pop.height + pop.enforcer_y[enf]
    here = pop.scratch  # -1 everywhere between uses
    here[enforcer_cells] = np.arange(len(enf))  # enforcers stand on distinct cells
    seen = here[tor.canon[tor.pid(*np.divmod(act_cells, pop.height))[:, None] + tor.off]]
    here[enforcer_cells] = -1
    pair_act, pair_off = (seen >= 0).nonzero()
    pair_enf = seen[pair_act, pair_off]
    pair_cell = act_cells[pair_act]
    flat_act = pop.act.reshape(-1)
    arrests = 0
    for _ in range(4):  # enforcers that lost a conflict look again
        if len(pair_enf) == 0:
            break
        # Each enforcer's pick: the last of its pairs in a random order.
        shuffle = rng.permutation(len(pair_enf))
        pick = np.full(len(enf), -1, dtype=np.intp)
        pick[pair_enf[shuffle]] = pair_cell[shuffle]
        picking = (pick >= 0).nonzero()[0]
        target = pick[picking]
        win = resolve_claims(target, n_cells, rng, pop.scratch)
        arrests += _jail(pop, target[win], rng, jail_max, jailed_block, flat_occ)
        done = np.zeros(len(enf), dtype=bool)
        done[picking[win]] = True
        left = ~done[pair_enf] & (flat_act[pair_cell] > 0)
        pair_enf, pair_cell = pair_enf[left], pair_cell[left]
    return arrests


def _move_enforcers(
    pop: Population, enf: np.ndarray, rng: np.random.Generator, vision: int, shape: str
) -> None:
    ox, oy = pop.enforcer_x[enf], pop.enforcer_y[enf]
    target = choose_free_cells(ox, oy, pop.occ, vision, shape, rng, scratch=pop.scratch)
    moved = np.flatnonzero(target >= 0)
    if len(moved) == 0:
        return
    enf, ox, oy, target = enf[moved], ox[moved], oy[moved], target[moved]
    old = ox.astype(np.intp) * pop.height + oy
    # Old cells are distinct and occupied, new ones distinct and were free.
    pop.occ.reshape(-1)[old] -= 1
    flat_enforcers = pop.enforcers.reshape(-1)
    flat_enforcers[old] -= 1
    flat_enforcers[target] += 1
    pop.enforcer_x[enf], pop.enforcer_y[enf] = np.divmod(target, pop.height)
