"""Random sequential activation of the civil-violence layer, compiled with Numba.

One step of Epstein's Model I exactly as Mesa's ``shuffle_do`` runs it:
civilians and enforcers, mixed, act one at a time in a fresh random order,
and each sees the world as the agents before it left it. The state stays in
the :class:`~simulation.model.civilians.Population` arrays; this module only
walks them, in compiled code (no Python loop over agents).

Random numbers come from xoshiro256+ (Blackman and Vigna 2018; doubles from
its top 53 bits), seeded by splitmix64 once per step from the model's
``schedule`` stream, so a run is reproducible from its seed. It is inlined
here because Numba's ``np.random`` calls cost several times more, and a
step draws about seven numbers per agent.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

QUIET, ACTIVE, JAILED = 0, 1, 2
RULES = {"floor": 0, "round": 1, "exact": 2}
MOVES = {"static": 0, "random": 1, "flight": 2}
#: Random draws a mover makes before it counts its free cells one by one.
_DRAWS = 64
#: Turns ahead whose cells the kernel asks the memory system for.
_AHEAD = 8


@intrinsic
def _prefetch(typingctx, arr, idx):  # Numba intrinsic: (typing context, argument types)
    """Ask for the cache line of ``arr[idx]`` (LLVM's prefetch; never faults, returns nothing).

    A random order visits the grids at random, and on a large world each
    visit waits for main memory; asking a few turns ahead overlaps the waits.
    """
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


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
def _spread(seen: np.ndarray, x: int, y: int, reach: np.ndarray, w: int, h: int, d: int) -> None:
    """Add ``d`` to ``seen`` over the window around ``(x, y)``, the cell itself excluded.

    ``reach[|dx|]`` is the half-width of the window's row at offset ``dx``
    (:func:`simulation.model.space.half_widths`). Row by row (``y`` is the fast
    axis of the flat grids), so the inner loop is a run of adjacent cells.
    """
    v = len(reach) - 1
    for dx in range(-v, v + 1):
        r = reach[abs(dx)]
        row = _wrap(x + dx, w) * h
        if y - r >= 0 and y + r < h:
            for c in range(row + y - r, row + y + r + 1):
                seen[c] += d
        else:
            for dy in range(-r, r + 1):
                seen[row + _wrap(y + dy, h)] += d
    seen[x * h + y] -= d


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
def _free_cell(
    st: np.ndarray,
    x: int,
    y: int,
    dxs: np.ndarray,
    dys: np.ndarray,
    w: int,
    h: int,
    occ: np.ndarray,
) -> int:
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
def _safest_cell(
    st: np.ndarray,
    x: int,
    y: int,
    dxs: np.ndarray,
    dys: np.ndarray,
    w: int,
    h: int,
    occ: np.ndarray,
    danger: np.ndarray,
) -> int:
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
def _deal(st: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deal items ``0..n-1`` into ``B = n // 16384`` random buckets.

    Returns each item's dealt place and the buckets' start offsets (``B + 1``):
    item ``i`` goes to the next free place of its bucket, in index order.
    """
    n_buckets = max(1, n // 16384)
    place = np.empty(n, dtype=np.int32)  # first each item's bucket, then its place
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(n):
        b = _below(st, n_buckets)
        place[i] = b
        start[b + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    for i in range(n):
        b = place[i]
        place[i] = fill[b]
        fill[b] += 1
    return place, start


@njit(cache=True)
def _shuffle_buckets(st: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``dealt[j]``: the dealt place whose item takes turn ``j`` (Fisher-Yates per bucket)."""
    dealt = np.arange(start[-1]).astype(np.int32)
    for b in range(len(start) - 1):
        lo = start[b]
        for i in range(start[b + 1] - 1, lo, -1):
            j = lo + _below(st, i - lo + 1)
            dealt[i], dealt[j] = dealt[j], dealt[i]
    return dealt


@njit(cache=True)
def random_order(st: np.ndarray, n: int) -> np.ndarray:
    """A uniformly random permutation of ``0..n-1`` that stays in cache while it is made.

    Rao and Sandelius' method: deal every item into one of ``B`` random
    buckets, shuffle each bucket (Fisher-Yates, small enough for the cache)
    and concatenate. Each of the ``n!`` orders is equally likely. The kernel
    makes its order with the same two functions and the same draws.
    """
    place, start = _deal(st, n)
    placed = np.empty(n, dtype=np.int32)
    placed[place] = np.arange(n, dtype=np.int32)
    return placed[_shuffle_buckets(st, start)]


class KernelInputs(NamedTuple):
    """Everything :func:`sequential_step` reads and writes, by name (Numba takes it as one tuple).

    Arrays are updated in place; grids are flat (``x * h + y``).
    """

    # the world
    w: int
    h: int
    # civilians, by index
    x: np.ndarray
    y: np.ndarray
    state: np.ndarray
    jail: np.ndarray
    hardship: np.ndarray
    shock: np.ndarray
    risk: np.ndarray
    fear: np.ndarray
    # enforcers: positions by slot, and the slots deployed
    enforcer_x: np.ndarray
    enforcer_y: np.ndarray
    enforcer_slots: np.ndarray
    # grid layers: blocking agents, active civilians, enforcers, non-jailed civilian's index
    occ: np.ndarray
    act: np.ndarray
    enforcers: np.ndarray
    civ_at: np.ndarray
    # the window-count layer (code * enforcers + actives) and its code
    seen: np.ndarray
    code: int
    same_vision: bool
    # neighbourhoods: civilian offsets and row half-widths, enforcer offsets
    civ_dx: np.ndarray
    civ_dy: np.ndarray
    reach: np.ndarray
    enforcer_dx: np.ndarray
    enforcer_dy: np.ndarray
    # the week's rules
    legitimacy: float
    boost: float
    threshold: float
    k: float
    rule: int
    move: int
    danger: np.ndarray
    patrol: bool
    jail_max: int
    jailed_block: bool


@njit(cache=True)
def grievance(hardship: Any, shock: Any, legitimacy: float, boost: float) -> Any:
    """Grievance ``G = 1 - (1 - H'(1 - L))(1 - shock)``, ``H' = H + (1 - H) * boost``.

    The one definition, for scalars or arrays, from Python and from the kernel:
    hardship ``H`` (restrictions raise it by ``boost``), legitimacy ``L`` and
    the grievance shock of nearby attacks.
    """
    h = hardship + (1.0 - hardship) * boost
    return 1.0 - (1.0 - h * (1.0 - legitimacy)) * (1.0 - shock)


@njit(cache=True)
def perceived_risk(risk_aversion: Any, fear: Any) -> Any:
    """Risk aversion with fear: ``R' = 1 - (1 - R)(1 - fear)`` (scalars or arrays)."""
    return 1.0 - (1.0 - risk_aversion) * (1.0 - fear)


@njit(cache=True)
def sequential_step(seed: int, a: KernelInputs) -> int:
    """One step: every civilian and enforcer acts once, in one random order.

    ``seed`` seeds the step's random numbers; ``a`` holds the arrays and rules.
    Grids are flat (``x * h + y``). Civilian ``i``: a sentence counts down
    and nothing else happens; otherwise a released civilian turns quiet (and
    returns to the grid when jail does not hold cells), counts the enforcers
    ``C`` and other actives ``A - 1`` in its vision, and turns active if
    ``G - R' * P > T``: grievance ``G = 1 - (1 - H'(1 - L))(1 - shock)`` with
    ``H' = H + (1 - H) * boost``, risk aversion ``R' = 1 - (1 - R)(1 - fear)``
    and the estimated arrest probability ``P = 1 - exp(-k * rule(C / A))``;
    then it moves to a random empty cell in vision. Enforcer (slots
    ``enforcer_slots``): arrests a uniformly random active civilian in its vision
    (sentence ``randint(0, jail_max)``), then patrols to a random empty cell
    in vision. Updates the population's arrays and layers in place (``act``,
    ``civ_at``: each non-jailed civilian's cell, or every civilian's when
    jail holds cells); returns the number of arrests.

    ``seen`` (any contents on entry) becomes, for every cell, ``code *
    enforcers + actives`` over its civilian vision window without the cell
    itself, and is kept up to date as agents act, so a civilian reads its
    counts in one look. ``same_vision``: enforcers see the same window, so
    ``seen`` tells them whether to look. ``reach``: the half-widths of the
    civilian window's rows (:func:`simulation.model.space.half_widths`).

    Memory: the turn order is dealt (:func:`_deal`) with each agent's data
    carried along, in index order, so the agents' arrays are read and
    written sequentially and only the grids are visited at random; the loop
    asks for the next turns' cells ahead of time (:func:`_prefetch`). At
    the end each bucket's shuffle is undone in the cache and the data are
    undealt in index order. An arrest finds its civilian's turn through
    ``act_who`` (1 + the turn of the active civilian on each cell, 0: none).
    """
    w, h = a.w, a.h
    x, y, state, jail = a.x, a.y, a.state, a.jail
    hardship, shock, risk, fear = a.hardship, a.shock, a.risk, a.fear
    enforcer_x, enforcer_y, enforcer_slots = a.enforcer_x, a.enforcer_y, a.enforcer_slots
    occ, act, enforcers, civ_at = a.occ, a.act, a.enforcers, a.civ_at
    seen, code, same_vision = a.seen, a.code, a.same_vision
    civ_dx, civ_dy, reach, enforcer_dx, enforcer_dy = (
        a.civ_dx,
        a.civ_dy,
        a.reach,
        a.enforcer_dx,
        a.enforcer_dy,
    )
    legitimacy, boost, threshold = a.legitimacy, a.boost, a.threshold
    k, rule, move, danger = a.k, a.rule, a.move, a.danger
    patrol, jail_max, jailed_block = a.patrol, a.jail_max, a.jailed_block
    st = _seeded(seed)
    n = len(x)
    m = len(enforcer_slots)
    total = n + m
    v = len(reach) - 1
    # The estimated arrest probability for each value of seen, filled in as met.
    p_arrest = np.full(code * (len(civ_dx) + 1), -1.0)
    seen[:] = 0
    # Deal: each agent's cell, 4 * sentence + state (-1: an enforcer) and, for
    # a civilian, the critical P: active iff G - R' * P > T, that is
    # P < (G - T) / R' (R' = 0: iff G > T).
    place, start = _deal(st, total)
    dc = np.empty(total, dtype=np.int32)
    ds = np.full(total, -1, dtype=np.int32)
    dk = np.zeros(total, dtype=np.float64)
    for i in range(n):
        p = place[i]
        dc[p] = x[i] * h + y[i]
        ds[p] = 4 * jail[i] + state[i]
        g_t = grievance(hardship[i], shock[i], legitimacy, boost) - threshold
        r = perceived_risk(risk[i], fear[i])
        if r > 0:
            dk[p] = g_t / r
        else:
            dk[p] = np.inf if g_t > 0 else -np.inf
        if state[i] == ACTIVE:
            _spread(seen, x[i], y[i], reach, w, h, 1)
    for q in range(m):
        s = enforcer_slots[q]
        dc[place[n + q]] = enforcer_x[s] * h + enforcer_y[s]
        _spread(seen, enforcer_x[s], enforcer_y[s], reach, w, h, code)
    dealt = _shuffle_buckets(st, start)
    tc = np.empty(total, dtype=np.int32)  # in turn order: the agent's cell,
    ts = np.empty(total, dtype=np.int32)  # its status (as ds)
    tk = np.empty(total, dtype=np.float64)  # and critical P
    act_who = np.zeros(w * h, dtype=np.int32)
    for j in range(total):  # a gather within each bucket: in the cache
        p = dealt[j]
        tc[j], ts[j], tk[j] = dc[p], ds[p], dk[p]
        if ts[j] == ACTIVE:
            act_who[tc[j]] = j + 1
    civ_at[:] = -1
    arrests = 0
    n_enforcer_off = len(enforcer_dx)
    for j in range(total):
        if j + _AHEAD < total:  # ask for the cells a turn a few ahead will read
            ahead = tc[j + _AHEAD]
            _prefetch(seen, ahead)
            xa, ya = ahead // h, ahead % h
            enforcer = ts[j + _AHEAD] < 0
            for i in range(-v, v + 1):
                row = _wrap(xa + i, w) * h + ya
                _prefetch(occ, row - reach[abs(i)])
                _prefetch(occ, row + reach[abs(i)])
                if enforcer:
                    _prefetch(seen, row)
        here = tc[j]
        xi, yi = here // h, here % h
        if ts[j] >= 0:  # -------------------------------------------------- a civilian
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
            sv = seen[here]
            pa = p_arrest[sv]
            if pa < 0:
                n_enf, n_act = divmod(sv, code)
                ratio = n_enf / (n_act + 1.0)
                if rule == 0:
                    ratio = np.floor(ratio)
                elif rule == 1:
                    ratio = np.rint(ratio)  # halves to even, as Python's round
                pa = 1.0 - np.exp(-k * ratio)
                p_arrest[sv] = pa
            now_active = pa < tk[j]
            if now_active != was_active:
                ts[j] = ACTIVE if now_active else QUIET
                act_who[here] = j + 1 if now_active else 0
                _spread(seen, xi, yi, reach, w, h, 1 if now_active else -1)
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
                act_who[to] = j + 1
                _spread(seen, xi, yi, reach, w, h, -1)
                _spread(seen, to // h, to % h, reach, w, h, 1)
        else:  # ------------------------------------------------------- an enforcer
            pick, found = -1, 0
            if not same_vision or seen[here] % code > 0:  # any active in sight?
                for o in range(n_enforcer_off):
                    c = _cell(xi, yi, enforcer_dx[o], enforcer_dy[o], w, h)
                    if act_who[c] > 0:
                        found += 1
                        if _below(st, found) == 0:
                            pick = c
            if pick >= 0:
                ts[act_who[pick] - 1] = JAILED + 4 * _below(st, jail_max + 1)
                act_who[pick] = 0
                _spread(seen, pick // h, pick % h, reach, w, h, -1)
                if not jailed_block:
                    occ[pick] -= 1
                arrests += 1
            if not patrol:
                continue
            to = _free_cell(st, xi, yi, enforcer_dx, enforcer_dy, w, h, occ)
            if to < 0:
                continue
            occ[here] -= 1
            occ[to] += 1
            enforcers[here] -= 1
            enforcers[to] += 1
            tc[j] = to
            _spread(seen, xi, yi, reach, w, h, -code)
            _spread(seen, to // h, to % h, reach, w, h, code)
    # Write back: undo each bucket's shuffle (in the cache), then undeal in index order.
    for j in range(total):
        dc[dealt[j]], ds[dealt[j]] = tc[j], ts[j]
    for i in range(n):
        p = place[i]
        c = dc[p]
        x[i], y[i] = c // h, c % h
        state[i], jail[i] = ds[p] & 3, ds[p] >> 2
        if jailed_block or ds[p] & 3 != JAILED:
            civ_at[c] = i
    for q in range(m):
        s, c = enforcer_slots[q], dc[place[n + q]]
        enforcer_x[s], enforcer_y[s] = c // h, c % h
    for c in range(w * h):
        act[c] = 1 if act_who[c] > 0 else 0
    return arrests
