"""Array operations on the torus: window sums, neighbourhood offsets, free-cell choice.

Grids are numpy arrays of shape ``(width, height)`` indexed ``[x, y]``, the
same coordinates as Mesa's ``discrete_space`` grids. A window of radius ``r``
excludes nothing: callers subtract an agent's own cell when they must.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

SHAPES = ("von_neumann", "moore")


def _wrap_pad(a: np.ndarray, r: int, axis: int, lead: int = 0) -> np.ndarray:
    """``a`` padded by ``r`` wrapped cells on both sides of ``axis`` (plus ``lead`` zeros first)."""
    n = a.shape[axis]
    idx = np.arange(-r, n + r) % n
    padded = np.take(a, idx, axis=axis)
    if lead:
        shape = list(padded.shape)
        shape[axis] = lead
        padded = np.concatenate([np.zeros(shape, dtype=padded.dtype), padded], axis=axis)
    return padded


def _window_1d(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Sum of ``a`` over ``[i - r, i + r]`` along ``axis`` with wrap-around (int32)."""
    if r == 0:
        return a.astype(np.int32)
    n = a.shape[axis]
    # Prefix sums of the wrapped, padded line with a leading zero: cs[j] = sum of the first j.
    cs = _wrap_pad(a.astype(np.int32, copy=False), r, axis, lead=1)
    np.cumsum(cs, axis=axis, out=cs)
    hi = [slice(None)] * a.ndim
    lo = [slice(None)] * a.ndim
    hi[axis] = slice(2 * r + 1, 2 * r + 1 + n)
    lo[axis] = slice(0, n)
    return cs[tuple(hi)] - cs[tuple(lo)]


def half_widths(radius: int, shape: str) -> np.ndarray:
    """Half-width of a window's row at each row offset ``|dx| = 0..radius``.

    ``von_neumann``: ``radius - |dx|`` (Manhattan diamond); ``moore``:
    ``radius`` (square); ``disc``: ``floor(sqrt(radius^2 - dx^2))`` (the
    Euclidean disc of NetLogo's ``in-radius``; 148 cells at radius 7);
    ``cross``: ``radius`` on the centre row, 0 elsewhere (the four lattice
    directions only, as Epstein's text and Sugarscape; 28 cells at radius 7).
    """
    d = np.arange(radius + 1)
    if shape == "cross":
        return np.where(d == 0, radius, 0)
    if shape == "von_neumann":
        return radius - d
    if shape == "moore":
        return np.full(radius + 1, radius)
    if shape == "disc":
        w = np.floor(np.sqrt(radius * radius - d * d)).astype(np.int64)
        # guard against sqrt rounding below an exact square
        return w + ((w + 1) ** 2 + d * d <= radius * radius)
    raise ValueError(f"unknown neighbourhood shape {shape!r}")


def _band_sum(g: np.ndarray, reach: np.ndarray, dtype: type = np.int32) -> np.ndarray:
    """Window sums by column prefix sums and slicing, for rows of half-width ``reach[|dx|]``.

    ``P`` holds, for every row padded by ``r`` wrapped rows on each side, the
    prefix sums of the row padded by ``r`` wrapped cells, so the sum over
    ``y - w .. y + w`` is a difference of two column slices; the window adds
    those column windows at row offsets ``dx = -r..r``. Only slicing, no index
    arrays: about ``3 r`` whole-grid operations. With ``dtype=np.int16`` the
    prefix sums wrap around, but their differences are exact whenever every
    window sum is below 2**15 (half the memory traffic).
    """
    r = len(reach) - 1
    w_, h = g.shape
    p = np.empty((w_ + 2 * r, h + 2 * r + 1), dtype=dtype)
    p[:, 0] = 0
    rows = p[r:r + w_]
    rows[:, 1:r + 1] = g[:, h - r:]
    rows[:, r + 1:r + 1 + h] = g
    rows[:, r + 1 + h:] = g[:, :r]
    np.cumsum(rows[:, 1:], axis=1, out=rows[:, 1:], dtype=dtype)
    p[:r] = p[w_:w_ + r]
    p[r + w_:] = p[r:2 * r]
    w = int(reach[0])
    out = p[r:r + w_, r + w + 1:r + w + 1 + h] - p[r:r + w_, r - w:r - w + h]  # dx = 0
    tmp = np.empty((w_ + 2 * r, h), dtype=dtype)
    for d in range(1, r + 1):  # the rows at dx = -d and dx = +d
        w = int(reach[d])
        t = tmp[:w_ + 2 * d]
        np.subtract(p[r - d:r + d + w_, r + w + 1:r + w + 1 + h],
                    p[r - d:r + d + w_, r - w:r - w + h], out=t)
        out += t[:w_]
        out += t[2 * d:]
    return out


def window_sum(grid: np.ndarray, radius: int, shape: str, small: bool = False) -> np.ndarray:
    """Sum of ``grid`` over each cell's window (including the cell) on the torus.

    ``shape`` is ``moore`` (Chebyshev square), ``von_neumann`` (Manhattan
    diamond), ``disc`` (Euclidean) or ``cross``. Diamond, disc and cross are built from column
    windows of each row's half-width (:func:`half_widths`), so the cost is
    O(radius * cells) with no convolution. Returns int32, or int16 with
    ``small=True``, which the caller may pass when every window sum (and every
    cell) is below 2**15: it halves the memory traffic.
    """
    if radius <= 0:
        return grid.astype(np.int32)
    width, height = grid.shape
    reach = half_widths(radius, shape)
    if shape != "moore" and small and radius <= min(width, height):
        return _band_sum(grid.astype(np.int16, copy=False), reach, np.int16)
    g = grid.astype(np.int32, copy=False)
    if shape == "moore":
        return _window_1d(_window_1d(g, radius, 1), radius, 0)
    if radius <= min(width, height):
        return _band_sum(g, reach)
    # Windows wider than the world wrap more than once: column windows by index arrays.
    xs = np.arange(-radius, width + radius) % width
    out = np.zeros_like(g)
    for d in range(radius + 1):
        col = _window_1d(g, int(reach[d]), 1)[xs]
        for dx in ((0,) if d == 0 else (-d, d)):
            out += col[radius + dx: radius + dx + width]
    return out


@lru_cache(maxsize=32)
def offsets(radius: int, shape: str, include_centre: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``(dx, dy)`` offsets of a neighbourhood, as two int arrays."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r, indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    keep = np.abs(dy) <= half_widths(radius, shape)[np.abs(dx)]
    if not include_centre:
        keep &= (dx != 0) | (dy != 0)
    dx, dy = dx[keep].astype(np.int32), dy[keep].astype(np.int32)
    dx.setflags(write=False)
    dy.setflags(write=False)
    return dx, dy


class Torus:
    """Index tables for one neighbourhood on one torus (cached by :func:`torus`).

    Positions are also numbered on the grid padded by ``r`` wrapped cells on
    each side (``wp x hp``), where every neighbour of ``(x, y)`` is
    ``pid(x, y) + off[k]`` with no wrap-around arithmetic; ``canon`` maps a
    padded id back to the flat id ``x * height + y``.
    """

    def __init__(self, width: int, height: int, radius: int, shape: str,
                 include_centre: bool = False) -> None:
        self.width, self.height, self.r = width, height, radius
        self.wp, self.hp = width + 2 * radius, height + 2 * radius
        dx, dy = offsets(radius, shape, include_centre)
        self.off = (dx.astype(np.intp) * self.hp + dy).astype(np.intp)
        self.off.setflags(write=False)
        self.n_off = len(self.off)
        xs = np.arange(-radius, width + radius) % width
        ys = np.arange(-radius, height + radius) % height
        self.canon = (xs[:, None] * height + ys[None, :]).astype(np.intp).reshape(-1)
        self.canon.setflags(write=False)
        # Padded rows and columns as index arrays (radius may exceed the world).
        self._xs, self._ys = xs, ys
        self._slices = radius <= min(width, height)

    def pid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Padded ids of positions ``(x, y)``."""
        return (x.astype(np.intp) + self.r) * self.hp + (y + self.r)

    def pad(self, grid: np.ndarray) -> np.ndarray:
        """A flat copy of ``grid`` on the padded numbering (wrapped borders)."""
        r, w, h = self.r, self.width, self.height
        if not self._slices:
            return grid[np.ix_(self._xs, self._ys)].reshape(-1)
        p = np.empty((self.wp, self.hp), dtype=grid.dtype)
        p[r:r + w, r:r + h] = grid
        self._wrap(p)
        return p.reshape(-1)

    def _wrap(self, p: np.ndarray) -> None:
        """Fill the border of padded ``p`` from its interior."""
        r, w, h = self.r, self.width, self.height
        p[r:r + w, :r] = p[r:r + w, h:h + r]
        p[r:r + w, r + h:] = p[r:r + w, r:2 * r]
        p[:r] = p[w:w + r]
        p[r + w:] = p[r:2 * r]

    def set_cells(self, padded: np.ndarray, cells: np.ndarray, value: Any) -> None:
        """Set flat ``cells`` (every copy of them) in a padded copy made by :meth:`pad`."""
        r = self.r
        if not self._slices:
            mask = np.isin(self.canon, cells)
            padded[mask] = value
            return
        x, y = np.divmod(cells, self.height)
        padded[(x + r) * self.hp + (y + r)] = value
        self._wrap(padded.reshape(self.wp, self.hp))


@lru_cache(maxsize=16)
def torus(width: int, height: int, radius: int, shape: str,
          include_centre: bool = False) -> Torus:
    """The (cached) :class:`Torus` tables of a neighbourhood."""
    return Torus(width, height, radius, shape, include_centre)


def window_cells(width: int, height: int, x: np.ndarray, y: np.ndarray,
                 radius: int, shape: str = "moore") -> np.ndarray:
    """Flat ids of every cell in the window of each point, one row per point."""
    tor = torus(width, height, radius, shape, True)
    return tor.canon[tor.pid(np.asarray(x), np.asarray(y))[:, None] + tor.off]


def sparse_window_sum(width: int, height: int, x: np.ndarray, y: np.ndarray,
                      radius: int, shape: str = "moore") -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_sum` of a grid of point counts, where it is not zero.

    For points ``(x, y)`` (repeats count), returns the sorted flat ids of the
    cells whose window holds at least one point and how many it holds: the
    same numbers as ``window_sum`` of the grid with a 1 added per point, at
    a cost proportional to the points, not to the world.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    cells = window_cells(width, height, x, y, radius, shape).reshape(-1)
    if width * height <= 16 * len(cells):  # a small world: count with a dense array
        counts = np.bincount(cells, minlength=width * height)
        hit = counts.nonzero()[0]
        return hit, counts[hit]
    return np.unique(cells, return_counts=True)


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


def resolve_claims(targets: np.ndarray, n_cells: int, rng: np.random.Generator,
                   scratch: np.ndarray | None = None) -> np.ndarray:
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


def _first_free(rows: np.ndarray, ppid: np.ndarray, tries: int, tor: Torus,
                pfree: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
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


def _pick(cand: np.ndarray, key: np.ndarray | None,
          flat_occ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _choose_few(pid: np.ndarray, occupancy: np.ndarray, tor: Torus, rng: np.random.Generator,
                tries: int, score: np.ndarray | None, scratch: np.ndarray) -> np.ndarray:
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


def _choose_many(pid: np.ndarray, occupancy: np.ndarray, tor: Torus, rng: np.random.Generator,
                 tries: int, scratch: np.ndarray) -> np.ndarray:
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


def _choose_exact(movers: np.ndarray, pid: np.ndarray, tor: Torus, flat_occ: np.ndarray,
                  result: np.ndarray, rng: np.random.Generator, scratch: np.ndarray) -> None:
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
