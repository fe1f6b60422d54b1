"""Random sequential activation of the civil-violence layer, compiled with Numba.

One step of Epstein's Model I exactly as Mesa's ``shuffle_do`` runs it:
civilians and enforcers, mixed, act one at a time in a fresh random order,
and each sees the world as the agents before it left it. The state stays in
the :class:`~simulation.population.Population` arrays; this module only
walks them, in compiled code (no Python loop over agents).

Random numbers come from xoshiro256+ (Blackman and Vigna 2018; doubles from
its top 53 bits), seeded by splitmix64 once per step from the model's
``schedule`` stream, so a run is reproducible from its seed. It is inlined
here because Numba's ``np.random`` calls cost several times more, and a
step draws about seven numbers per agent.
"""

from __future__ import annotations

import numpy as np
from numba import njit

QUIET, ACTIVE, JAILED = 0, 1, 2
RULES = {"floor": 0, "round": 1, "exact": 2}
MOVES = {"static": 0, "random": 1, "flight": 2}
#: Random draws a mover makes before it counts its free cells one by one.
_DRAWS = 64


@njit(cache=True)
def _wrap(v: int, n: int) -> int:
    while v < 0:
        v += n
    while v >= n:
        v -= n
    return v


@njit(cache=True)
def _cell(x: int, y: int, dx: int, dy: int, w: int, h: int) -> int:
    return _wrap(x + dx, w) * h + _wrap(y + dy, h)



@njit(cache=True)
def _next(st: np.ndarray) -> np.uint64:
    """xoshiro256+ (Blackman and Vigna): the next 64 random bits."""
    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
    result = s0 + s3
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << np.uint64(45)) | (s3 >> np.uint64(19))
    st[0], st[1], st[2], st[3] = s0, s1, s2, s3
    return result


@njit(cache=True)
def _uniform(st: np.ndarray) -> float:
    """A uniform double in [0, 1)."""
    return float(_next(st) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _seeded(seed: int) -> np.ndarray:
    """A xoshiro256+ state from ``seed`` by splitmix64."""
    st = np.empty(4, dtype=np.uint64)
    z = np.uint64(seed)
    for i in range(4):
        z += np.uint64(0x9E3779B97F4A7C15)
        v = z
        v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        st[i] = v ^ (v >> np.uint64(31))
    return st

@njit(cache=True)
def _below(st: np.ndarray, n: int) -> int:
    """A uniform integer in ``[0, n)`` from one double."""
    return int(_uniform(st) * n)


@njit(cache=True)
def _spread(seen: np.ndarray, x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int,
            h: int, d: int) -> None:
    """Add ``d`` to ``seen`` over the window around ``(x, y)`` (windows are symmetric)."""
    for o in range(len(dxs)):
        seen[_cell(x, y, dxs[o], dys[o], w, h)] += d


@njit(cache=True)
def _exact_empty(st: np.ndarray, occ: np.ndarray, cand: np.ndarray) -> int:
    """Count the empty cells among ``cand`` and draw one of them uniformly (-1: none)."""
    free = 0
    for c in cand:
        if occ[c] == 0:
            free += 1
    if free == 0:
        return -1
    u = _below(st, free)
    for c in cand:
        if occ[c] == 0:
            if u == 0:
                return c
            u -= 1
    return -1


@njit(cache=True)
def _free_cell(st: np.ndarray, x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int, h: int,
               occ: np.ndarray) -> int:
    """A uniformly random empty cell in the window around ``(x, y)``, or -1.

    Random draws first (uniform over the empty cells, given one is hit); if
    they all miss, every cell is counted and one drawn exactly.
    """
    n_off = len(dxs)
    for _ in range(_DRAWS):
        k = _below(st, n_off)
        c = _cell(x, y, dxs[k], dys[k], w, h)
        if occ[c] == 0:
            return c
    cand = np.empty(n_off, dtype=np.int64)
    for k in range(n_off):
        cand[k] = _cell(x, y, dxs[k], dys[k], w, h)
    return _exact_empty(st, occ, cand)


@njit(cache=True)
def _safest_cell(st: np.ndarray, x: int, y: int, dxs: np.ndarray, dys: np.ndarray, w: int, h: int,
                 occ: np.ndarray, danger: np.ndarray) -> int:
    """Flight: of 10 random cells in the window (then 30 more) the empty one with least danger."""
    n_off = len(dxs)
    for tries in (10, 30):
        best, best_d = -1, np.inf
        for _ in range(tries):
            k = _below(st, n_off)
            c = _cell(x, y, dxs[k], dys[k], w, h)
            if occ[c] == 0:
                d = danger[c] + 1e-9 * _uniform(st)
                if d < best_d:
                    best, best_d = c, d
        if best >= 0:
            return best
    return _free_cell(st, x, y, dxs, dys, w, h, occ)


@njit(cache=True)
def _anywhere_free(st: np.ndarray, occ: np.ndarray) -> int:
    """A uniformly random empty cell of the whole world, or -1."""
    n = len(occ)
    for _ in range(_DRAWS):
        c = _below(st, n)
        if occ[c] == 0:
            return c
    return _exact_empty(st, occ, np.arange(n))


@njit(cache=True)
def random_order(st: np.ndarray, n: int) -> np.ndarray:
    """A uniformly random permutation of ``0..n-1`` that stays in cache while it is made.

    Rao and Sandelius' method: deal every item into one of ``B`` random
    buckets, shuffle each bucket (Fisher-Yates, small enough for the cache)
    and concatenate. Each of the ``n!`` orders is equally likely.
    """
    n_buckets = max(1, n // 16384)
    bucket = np.empty(n, dtype=np.int32)
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(n):
        b = _below(st, n_buckets)
        bucket[i] = b
        start[b + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    out = np.empty(n, dtype=np.int32)
    for i in range(n):
        b = bucket[i]
        out[fill[b]] = i
        fill[b] += 1
    for b in range(n_buckets):
        lo = start[b]
        for i in range(start[b + 1] - 1, lo, -1):
            j = lo + _below(st, i - lo + 1)
            out[i], out[j] = out[j], out[i]
    return out


@njit(cache=True)
def sequential_step(seed: int, w: int, h: int,
                    x: np.ndarray, y: np.ndarray, state: np.ndarray, jail: np.ndarray,
                    hardship: np.ndarray, shock: np.ndarray, risk: np.ndarray, fear: np.ndarray,
                    legitimacy: float, boost: float, threshold: float,
                    cop_x: np.ndarray, cop_y: np.ndarray, cop_slots: np.ndarray,
                    occ: np.ndarray, act: np.ndarray, cops: np.ndarray, civ_at: np.ndarray,
                    seen: np.ndarray, code: int, same_vision: bool,
                    civ_dx: np.ndarray, civ_dy: np.ndarray, cop_dx: np.ndarray, cop_dy: np.ndarray,
                    k: float, rule: int, move: int, danger: np.ndarray,
                    patrol: bool, jail_max: int, jailed_block: bool) -> int:
    """One step: every civilian and enforcer acts once, in one random order.

    Grids are flat (``x * h + y``). Civilian ``i``: a sentence counts down
    and nothing else happens; otherwise a released civilian turns quiet (and
    returns to the grid when jail does not hold cells), counts the enforcers
    ``C`` and other actives ``A - 1`` in its vision, and turns active if
    ``G - R' * P > T``: grievance ``G = 1 - (1 - H'(1 - L))(1 - shock)`` with
    ``H' = H + (1 - H) * boost``, risk aversion ``R' = 1 - (1 - R)(1 - fear)``
    and the estimated arrest probability ``P = 1 - exp(-k * rule(C / A))``;
    then it moves to a random empty cell in vision. Enforcer (slots
    ``cop_slots``): arrests a uniformly random active civilian in its vision
    (sentence ``randint(0, jail_max)``), then patrols to a random empty cell
    in vision. Updates the population's arrays and layers in place (``act``,
    ``civ_at``: each non-jailed civilian's cell, or every civilian's when
    jail holds cells); returns the number of arrests.

    ``seen`` (any contents on entry) becomes, for every cell, ``code *
    enforcers + actives`` over its civilian vision window without the cell
    itself, and is kept up to date as agents act, so a civilian reads its
    counts in one look. ``same_vision``: enforcers see the same window, so
    ``seen`` tells them whether to look. ``act_who`` holds 1 + the active
    civilian on each cell (0: none).

    Memory: each agent's own data are packed (in index order) and then
    copied into turn order, so the loop reads them sequentially and only the
    grids are visited at random; they are written back at the end. An
    arrest finds its civilian's turn through ``rank``.
    """
    st = _seeded(seed)
    n = len(x)
    m = len(cop_slots)
    # Pack each civilian's data, in index order (sequential: cheap). Active
    # iff G - R' * P > T, that is P < (G - T) / R' (R' = 0: iff G > T).
    seen[:] = 0
    act_who = np.zeros(w * h, dtype=np.int32)
    cell = np.empty(n, dtype=np.int32)
    status = np.empty(n, dtype=np.int32)  # 4 * sentence + state
    critical = np.empty(n, dtype=np.float64)
    for i in range(n):
        c = x[i] * h + y[i]
        cell[i] = c
        status[i] = 4 * jail[i] + state[i]
        hh = hardship[i] + (1.0 - hardship[i]) * boost
        g_t = 1.0 - (1.0 - hh * (1.0 - legitimacy)) * (1.0 - shock[i]) - threshold
        r = 1.0 - (1.0 - risk[i]) * (1.0 - fear[i])
        if r > 0:
            critical[i] = g_t / r
        else:
            critical[i] = np.inf if g_t > 0 else -np.inf
        if state[i] == ACTIVE:
            act_who[c] = i + 1
            _spread(seen, x[i], y[i], civ_dx, civ_dy, w, h, 1)
    for s in cop_slots:
        _spread(seen, cop_x[s], cop_y[s], civ_dx, civ_dy, w, h, code)
    civ_at[:] = -1
    order = random_order(st, n + m)
    tc = np.empty(n + m, dtype=np.int32)  # the agent's cell
    ts = np.zeros(n + m, dtype=np.int32)  # 4 * sentence + state
    tk = np.zeros(n + m, dtype=np.float64)  # critical arrest probability
    rank = np.empty(n, dtype=np.int32)
    for j in range(n + m):
        a = order[j]
        if a < n:
            tc[j], ts[j], tk[j] = cell[a], status[a], critical[a]
            rank[a] = j
        else:
            s = cop_slots[a - n]
            tc[j] = cop_x[s] * h + cop_y[s]
    arrests = 0
    n_cop_off = len(cop_dx)
    for j in range(n + m):
        here = tc[j]
        xi, yi = here // h, here % h
        if order[j] < n:  # ------------------------------------------------ a civilian
            if ts[j] >= 4:  # serving: the sentence counts down
                ts[j] -= 4
                continue
            was_active = ts[j] == ACTIVE
            if ts[j] == JAILED:
                ts[j] = QUIET
                if not jailed_block:  # back onto the grid: its cell, a cell nearby, any cell
                    if occ[here] != 0:
                        here = _free_cell(st, xi, yi, civ_dx, civ_dy, w, h, occ)
                        if here < 0:
                            here = _anywhere_free(st, occ)
                        if here < 0:  # a full world: wait in jail
                            ts[j] = JAILED
                            continue
                        xi, yi = here // h, here % h
                        tc[j] = here
                    occ[here] += 1
            n_cops, n_act = divmod(seen[here], code)
            ratio = n_cops / (n_act + 1.0)
            if rule == 0:
                ratio = np.floor(ratio)
            elif rule == 1:
                ratio = np.rint(ratio)  # halves to even, as Python's round
            now_active = 1.0 - np.exp(-k * ratio) < tk[j]
            if now_active != was_active:
                ts[j] = ACTIVE if now_active else QUIET
                act_who[here] = order[j] + 1 if now_active else 0
                _spread(seen, xi, yi, civ_dx, civ_dy, w, h, 1 if now_active else -1)
            if move == 0:
                continue
            if move == 2:
                to = _safest_cell(st, xi, yi, civ_dx, civ_dy, w, h, occ, danger)
            else:
                to = _free_cell(st, xi, yi, civ_dx, civ_dy, w, h, occ)
            if to < 0:
                continue
            occ[here] -= 1
            occ[to] += 1
            tc[j] = to
            if now_active:
                act_who[here] = 0
                act_who[to] = order[j] + 1
                _spread(seen, xi, yi, civ_dx, civ_dy, w, h, -1)
                _spread(seen, to // h, to % h, civ_dx, civ_dy, w, h, 1)
        else:  # ------------------------------------------------- an enforcer
            pick, found = -1, 0
            if not same_vision or seen[here] % code > 0:  # any active in sight?
                for o in range(n_cop_off):
                    c = _cell(xi, yi, cop_dx[o], cop_dy[o], w, h)
                    if act_who[c] > 0:
                        found += 1
                        if _below(st, found) == 0:
                            pick = c
            if pick >= 0:
                jw = rank[act_who[pick] - 1]
                ts[jw] = JAILED + 4 * _below(st, jail_max + 1)
                act_who[pick] = 0
                _spread(seen, pick // h, pick % h, civ_dx, civ_dy, w, h, -1)
                if not jailed_block:
                    occ[pick] -= 1
                arrests += 1
            if not patrol:
                continue
            to = _free_cell(st, xi, yi, cop_dx, cop_dy, w, h, occ)
            if to < 0:
                continue
            occ[here] -= 1
            occ[to] += 1
            cops[here] -= 1
            cops[to] += 1
            tc[j] = to
            _spread(seen, xi, yi, civ_dx, civ_dy, w, h, -code)
            _spread(seen, to // h, to % h, civ_dx, civ_dy, w, h, code)
    for j in range(n + m):  # write the agents' data back
        a = order[j]
        c = tc[j]
        if a < n:
            x[a], y[a] = c // h, c % h
            st = ts[j] & 3
            state[a], jail[a] = st, ts[j] >> 2
            if jailed_block or st != JAILED:
                civ_at[c] = a
        else:
            s = cop_slots[a - n]
            cop_x[s], cop_y[s] = c // h, c % h
    for c in range(w * h):
        act[c] = 1 if act_who[c] > 0 else 0
    return arrests
