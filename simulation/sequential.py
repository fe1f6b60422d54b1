"""Random sequential activation of the civil-violence layer, compiled with Numba.

One step of Epstein's Model I exactly as Mesa's ``shuffle_do`` runs it:
civilians and enforcers, mixed, act one at a time in a fresh random order,
and each sees the world as the agents before it left it. The state stays in
the :class:`~simulation.population.Population` arrays; this module only
walks them, in compiled code (no Python loop over agents).

Randomness comes from Numba's own generator, seeded once per step from the
model's ``schedule`` stream, so a run is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit

QUIET, ACTIVE, JAILED = 0, 1, 2
RULES = {"floor": 0, "round": 1, "exact": 2}
MOVES = {"static": 0, "random": 1, "flight": 2}
#: Random draws a mover makes before it counts its free cells one by one.
_DRAWS = 64


@njit(cache=True, inline="always")
def _wrap(v: int, n: int) -> int:
    while v < 0:
        v += n
    while v >= n:
        v -= n
    return v


@njit(cache=True, inline="always")
def _cell(x: int, y: int, dx: int, dy: int, w: int, h: int) -> int:
    return _wrap(x + dx, w) * h + _wrap(y + dy, h)


@njit(cache=True, inline="always")
def _below(n: int) -> int:
    """A uniform integer in ``[0, n)`` from one double (cheaper than randint)."""
    return int(np.random.random() * n)


@njit(cache=True, inline="always")
def _spread(seen: np.ndarray, x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int,
            h: int, d: int) -> None:
    """Add ``d`` to ``seen`` over the window around ``(x, y)`` (windows are symmetric)."""
    for o in range(len(dxs)):
        seen[_cell(x, y, dxs[o], dys[o], w, h)] += d


@njit(cache=True)
def _free_cell(x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int, h: int,
               occ: np.ndarray) -> int:
    """A uniformly random empty cell in the window around ``(x, y)``, or -1.

    Random draws first (uniform over the empty cells, given one is hit); if
    they all miss, every cell is counted and one drawn exactly.
    """
    n_off = len(dxs)
    for _ in range(_DRAWS):
        k = _below(n_off)
        c = _cell(x, y, dxs[k], dys[k], w, h)
        if occ[c] == 0:
            return c
    free = 0
    for k in range(n_off):
        if occ[_cell(x, y, dxs[k], dys[k], w, h)] == 0:
            free += 1
    if free == 0:
        return -1
    u = _below(free)
    for k in range(n_off):
        c = _cell(x, y, dxs[k], dys[k], w, h)
        if occ[c] == 0:
            if u == 0:
                return c
            u -= 1
    return -1


@njit(cache=True)
def _safest_cell(x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int, h: int,
                 occ: np.ndarray, danger: np.ndarray) -> int:
    """Flight: of 10 random cells in the window (then 30 more) the empty one with least danger."""
    n_off = len(dxs)
    for tries in (10, 30):
        best, best_d = -1, np.inf
        for _ in range(tries):
            k = _below(n_off)
            c = _cell(x, y, dxs[k], dys[k], w, h)
            if occ[c] == 0:
                d = danger[c] + 1e-9 * np.random.random()
                if d < best_d:
                    best, best_d = c, d
        if best >= 0:
            return best
    return _free_cell(x, y, dxs, dys, w, h, occ)


@njit(cache=True)
def _anywhere_free(occ: np.ndarray) -> int:
    """A uniformly random empty cell of the whole world, or -1."""
    n = len(occ)
    for _ in range(_DRAWS):
        c = _below(n)
        if occ[c] == 0:
            return c
    free = 0
    for c in range(n):
        if occ[c] == 0:
            free += 1
    if free == 0:
        return -1
    u = _below(free)
    for c in range(n):
        if occ[c] == 0:
            if u == 0:
                return c
            u -= 1
    return -1


@njit(cache=True)
def sequential_step(seed: int, w: int, h: int,
                    x: np.ndarray, y: np.ndarray, state: np.ndarray, jail: np.ndarray,
                    grievance: np.ndarray, risk: np.ndarray,
                    cop_slots: np.ndarray, cop_x: np.ndarray, cop_y: np.ndarray,
                    occ: np.ndarray, act: np.ndarray, cops: np.ndarray, civ_at: np.ndarray,
                    seen: np.ndarray, code: int, same_vision: bool,
                    civ_dx: np.ndarray, civ_dy: np.ndarray, cop_dx: np.ndarray, cop_dy: np.ndarray,
                    threshold: float, k: float, rule: int, move: int, danger: np.ndarray,
                    patrol: bool, jail_max: int, jailed_block: bool) -> int:
    """One step: every civilian and enforcer acts once, in one random order.

    Grids are flat (``x * h + y``). Civilian ``i``: a sentence counts down
    and nothing else happens; otherwise a released civilian turns quiet (and
    returns to the grid when jail does not hold cells), counts the enforcers
    ``C`` and other actives ``A - 1`` in its vision, turns active if
    ``G - R * (1 - exp(-k * rule(C / A))) > T``, and moves to a random empty
    cell in vision. Enforcer: arrests a uniformly random active civilian in
    its vision (sentence ``randint(0, jail_max)``), then patrols to a random
    empty cell in vision. Returns the number of arrests.

    ``seen`` holds, for every cell, ``code * enforcers + actives`` over its
    civilian vision window without the cell itself; it is kept up to date as
    agents act, so a civilian reads its counts in one look. ``same_vision``:
    enforcers see the same window, so ``seen`` tells them whether to look.
    """
    np.random.seed(seed)
    n = len(x)
    m = len(cop_slots)
    order = np.random.permutation(n + m)
    arrests = 0
    n_cop_off = len(cop_dx)
    for a in order:
        if a < n:  # ------------------------------------------------ a civilian
            i = a
            if jail[i] > 0:
                jail[i] -= 1
                continue
            xi, yi = x[i], y[i]
            here = xi * h + yi
            if state[i] == JAILED:
                state[i] = QUIET
                if not jailed_block:  # back onto the grid: its cell, a cell nearby, any cell
                    if occ[here] != 0:
                        here = _free_cell(xi, yi, civ_dx, civ_dy, w, h, occ)
                        if here < 0:
                            here = _anywhere_free(occ)
                        if here < 0:  # a full world: wait in jail
                            state[i] = JAILED
                            continue
                        xi, yi = here // h, here % h
                        x[i], y[i] = xi, yi
                    occ[here] += 1
                    civ_at[here] = i
            n_cops, n_act = divmod(seen[here], code)
            ratio = n_cops / (n_act + 1.0)
            if rule == 0:
                ratio = np.floor(ratio)
            elif rule == 1:
                ratio = np.rint(ratio)  # halves to even, as Python's round
            p = 1.0 - np.exp(-k * ratio)
            was_active = state[i] == ACTIVE
            now_active = grievance[i] - risk[i] * p > threshold
            if now_active != was_active:
                state[i] = ACTIVE if now_active else QUIET
                act[here] += 1 if now_active else -1
                _spread(seen, xi, yi, civ_dx, civ_dy, w, h, 1 if now_active else -1)
            if move == 0:
                continue
            if move == 2:
                to = _safest_cell(xi, yi, civ_dx, civ_dy, w, h, occ, danger)
            else:
                to = _free_cell(xi, yi, civ_dx, civ_dy, w, h, occ)
            if to < 0:
                continue
            occ[here] -= 1
            occ[to] += 1
            civ_at[here] = -1
            civ_at[to] = i
            x[i], y[i] = to // h, to % h
            if now_active:
                act[here] -= 1
                act[to] += 1
                _spread(seen, xi, yi, civ_dx, civ_dy, w, h, -1)
                _spread(seen, x[i], y[i], civ_dx, civ_dy, w, h, 1)
        else:  # ------------------------------------------------- an enforcer
            s = cop_slots[a - n]
            xs, ys = cop_x[s], cop_y[s]
            pick, found = -1, 0
            if not same_vision or seen[xs * h + ys] % code > 0:  # any active in sight?
                for o in range(n_cop_off):
                    c = _cell(xs, ys, cop_dx[o], cop_dy[o], w, h)
                    if act[c] > 0:  # at most one civilian a cell
                        found += 1
                        if _below(found) == 0:
                            pick = c
            if pick >= 0:
                who = civ_at[pick]
                state[who] = JAILED
                jail[who] = np.random.randint(0, jail_max + 1)
                act[pick] -= 1
                _spread(seen, pick // h, pick % h, civ_dx, civ_dy, w, h, -1)
                if not jailed_block:
                    occ[pick] -= 1
                    civ_at[pick] = -1
                arrests += 1
            if not patrol:
                continue
            to = _free_cell(xs, ys, cop_dx, cop_dy, w, h, occ)
            if to < 0:
                continue
            old = xs * h + ys
            occ[old] -= 1
            occ[to] += 1
            cops[old] -= 1
            cops[to] += 1
            cop_x[s], cop_y[s] = to // h, to % h
            _spread(seen, xs, ys, civ_dx, civ_dy, w, h, -code)
            _spread(seen, cop_x[s], cop_y[s], civ_dx, civ_dy, w, h, code)
    return arrests
