"""Movement on the grid: each mover picks a uniformly random free cell in its vision.

Grids are as in :mod:`simulation.model.space` (``[x, y]``, flat ids
``x * height + y``). Two movers never get the same cell: of several
claimants of a cell one, at random, wins (:func:`resolve_claims`).
"""

from __future__ import annotations

import numpy as np

from simulation.model.space import Torus, torus

_ARANGE = np.arange(0)


def _arange(n: int) -> np.ndarray:
    """``np.arange(n)`` as a read-only view of a shared, growing array."""
    global _ARANGE
    a = _ARANGE
    if len(a) < n:
        a = np.arange(max(n, 2 * len(a), 1024))
        a.setflags(write=False)
        _ARANGE = a
    return a[:n]


def resolve_claims(
    targets: np.ndarray, n_cells: int, rng: np.random.Generator, scratch: np.ndarray | None = None
) -> np.ndarray:
    """For claims on flat cell ids, a mask of one uniformly random winner per cell.

    ``scratch``, if given, is an int array of ``n_cells`` holding -1; it is
    left that way.
    """
    n = len(targets)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = rng.permutation(n)
    claim = np.full(n_cells, -1, dtype=np.int64) if scratch is None else scratch
    claim[targets[order]] = order  # last write wins; the order is random
    winners = claim[targets] == _arange(n)
    claim[targets] = -1
    return winners


#: Above this many candidates a random round draws and looks at one try at a
#: time (most movers find a free cell in the first few; only the rest go on).
_STAGED = 50_000


def _first_free(
    rows: np.ndarray,
    ppid: np.ndarray,
    tries: int,
    tor: Torus,
    pfree: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """For movers ``rows`` (padded ids ``ppid``) the first free cell among ``tries`` neighbours.

    One try at a time: every mover draws a neighbour, and only those that hit
    an occupied cell draw the next one, so a mover draws about 1 / (free
    share) tries, not ``tries``. ``pfree`` is the padded mask of free cells.
    Returns the movers that found one (in no particular order) and their
    padded targets.
    """
    found, targets = [], []
    for _ in range(tries):
        if len(rows) == 0:
            break
        cand = ppid + tor.off[rng.integers(0, tor.n_off, size=len(ppid))]
        free = pfree[cand]
        found.append(rows[free])
        targets.append(cand[free])
        miss = ~free
        rows, ppid = rows[miss], ppid[miss]
    if not found:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate(found), np.concatenate(targets)


def _pick(
    cand: np.ndarray, key: np.ndarray | None, flat_occ: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's choice among its candidate cells that are free now.

    The first free one (tries are in random order), or with ``key`` the free
    one with the lowest key. Returns ``(has a free candidate, cell)``.
    """
    free = flat_occ[cand] == 0
    j = free.argmax(axis=1) if key is None else np.where(free, key, np.inf).argmin(axis=1)
    rows = _arange(len(cand))
    return free[rows, j], cand[rows, j]


def choose_free_cells(
    x: np.ndarray,
    y: np.ndarray,
    occupancy: np.ndarray,
    radius: int,
    shape: str,
    rng: np.random.Generator,
    tries: int = 10,
    score: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Pick for each mover a uniformly random free cell within its vision.

    Returns flat target cell ids (``x * height + y``), or -1 where no free cell
    is in vision. Two movers never get the same cell. With ``score`` the mover
    takes the free candidate with the lowest score (flight from danger).
    Marks chosen cells in ``occupancy``; the caller clears the old cells.

    Each mover draws random neighbours and claims the first that is free; of
    the claimants of a cell one, at random, wins, and the losers claim their
    next free try, until every mover has moved or run out of free tries. The
    few left look at every neighbour and draw one of the free ones uniformly.
    A mover thus always ends on a uniformly random cell among those free when
    it claimed. Tries: ``tries`` each, then ``3 * tries`` for those out of
    free tries. Few movers: the tries are drawn at once, and the movers take
    turns in one random order (the later claimant of a cell wins, as if it
    had moved first in a sequential activation). Many movers: tries are
    drawn one at a time and claims resolved by :func:`resolve_claims`.
    ``scratch``: see :func:`resolve_claims`.
    """
    width, height = occupancy.shape
    n_cells = width * height
    n = len(x)
    if n == 0:
        return np.full(0, -1, dtype=np.int64)
    if scratch is None:
        scratch = np.full(n_cells, -1, dtype=np.int64)
    tor = torus(width, height, radius, shape)
    pid = tor.pid(x, y)
    if score is None and n * tries > _STAGED:
        return _choose_many(pid, occupancy, tor, rng, tries, scratch)
    return _choose_few(pid, occupancy, tor, rng, tries, score, scratch)


def _choose_few(
    pid: np.ndarray,
    occupancy: np.ndarray,
    tor: Torus,
    rng: np.random.Generator,
    tries: int,
    score: np.ndarray | None,
    scratch: np.ndarray,
) -> np.ndarray:
    """:func:`choose_free_cells` for few movers: few, whole-array operations."""
    n = len(pid)
    flat_occ = occupancy.reshape(-1)
    order = rng.permutation(n)  # the movers' turns
    opid = pid[order]
    res = np.full(n, -1, dtype=np.int64)
    movers = None  # movers (in turn order) still looking; None: all
    for n_tries in (tries, 3 * tries):
        p = opid if movers is None else opid[movers]
        cand = tor.canon[p[:, None] + tor.off[rng.integers(0, tor.n_off, size=(len(p), n_tries))]]
        key = None
        if score is not None:
            key = score.reshape(-1)[cand] + 1e-9 * rng.random(cand.shape)
        ok, claims = _pick(cand, key, flat_occ)
        rows = ok.nonzero()[0]
        claims = claims[rows]
        while len(rows):
            k = _arange(len(rows))
            scratch[claims] = k  # of several claimants of a cell, the last one's write stays
            win = scratch[claims] == k
            scratch[claims] = -1
            won_t = claims[win]
            res[rows[win] if movers is None else movers[rows[win]]] = won_t
            flat_occ[won_t] += 1
            lost = rows[~win]
            if len(lost) == 0:
                break
            ok, claims = _pick(cand[lost], None if key is None else key[lost], flat_occ)
            rows, claims = lost[ok], claims[ok]
        movers = (res < 0).nonzero()[0]
        if len(movers) == 0:
            break
    if len(movers):
        _choose_exact(movers, opid, tor, flat_occ, res, rng, scratch)
    result = np.empty(n, dtype=np.int64)
    result[order] = res
    return result


def _choose_many(
    pid: np.ndarray,
    occupancy: np.ndarray,
    tor: Torus,
    rng: np.random.Generator,
    tries: int,
    scratch: np.ndarray,
) -> np.ndarray:
    """:func:`choose_free_cells` for many movers: little work per mover.

    The movers stay in their (spatial) order for cache-friendly lookups; tries
    are drawn one at a time and looked up in a padded mask of free cells,
    kept up to date as winners take cells.
    """
    n = len(pid)
    flat_occ = occupancy.reshape(-1)
    n_cells = len(flat_occ)
    canon = tor.canon
    result = np.full(n, -1, dtype=np.int64)
    pfree = tor.pad(occupancy == 0)
    pending = _arange(n)  # movers still looking
    for n_tries in (tries, 3 * tries):
        rows, target_p = _first_free(pending, pid[pending], n_tries, tor, pfree, rng)
        claims = canon[target_p]
        while len(rows):
            win = resolve_claims(claims, n_cells, rng, scratch)
            won_t = claims[win]
            result[rows[win]] = won_t
            flat_occ[won_t] += 1
            tor.set_cells(pfree, won_t, False)
            lost = rows[~win]
            if len(lost) == 0:
                break
            rows, target_p = _first_free(lost, pid[lost], n_tries, tor, pfree, rng)
            claims = canon[target_p]
        pending = (result < 0).nonzero()[0]
        if len(pending) == 0:
            return result
    _choose_exact(pending, pid, tor, flat_occ, result, rng, scratch)
    return result


def _choose_exact(
    movers: np.ndarray,
    pid: np.ndarray,
    tor: Torus,
    flat_occ: np.ndarray,
    result: np.ndarray,
    rng: np.random.Generator,
    scratch: np.ndarray,
) -> None:
    """Movers without a free cell among their tries look at every neighbour.

    Each draws one of its free neighbours uniformly; one random claimant per
    cell wins and the losers draw again.
    """
    cand = tor.canon[pid[movers][:, None] + tor.off]
    rows = _arange(len(movers))
    while len(rows):
        c = cand if len(rows) == len(cand) else cand[rows]
        free = flat_occ[c] == 0
        count = free.sum(axis=1)
        has = (count > 0).nonzero()[0]
        if len(has) == 0:
            break
        free, c, count = free[has], c[has], count[has]
        u = (rng.random(len(count)) * count).astype(np.intp)  # the u-th free neighbour
        j = (np.cumsum(free, axis=1) > u[:, None]).argmax(axis=1)
        claims = c[_arange(len(c)), j]
        rows = rows[has]
        win = resolve_claims(claims, len(flat_occ), rng, scratch)
        won_t = claims[win]
        result[movers[rows[win]]] = won_t
        flat_occ[won_t] += 1
        rows = rows[~win]
