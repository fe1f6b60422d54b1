"""Array operations on the torus: window sums, neighbourhood offsets, free-cell choice.

Grids are numpy arrays of shape ``(width, height)`` indexed ``[x, y]``, the
same coordinates as Mesa's ``discrete_space`` grids. A window of radius ``r``
excludes nothing: callers subtract an agent's own cell when they must.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SHAPES = ("von_neumann", "moore")


def _window_1d(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Sum of ``a`` over ``[i - r, i + r]`` along ``axis`` with wrap-around."""
    if r == 0:
        return a.copy()
    n = a.shape[axis]
    idx = np.arange(-r, n + r) % n
    padded = np.take(a, idx, axis=axis)
    cs = np.cumsum(padded, axis=axis, dtype=np.int32)
    zero_shape = list(cs.shape)
    zero_shape[axis] = 1
    cs = np.concatenate([np.zeros(zero_shape, dtype=cs.dtype), cs], axis=axis)
    hi = np.take(cs, np.arange(2 * r + 1, n + 2 * r + 1), axis=axis)
    lo = np.take(cs, np.arange(0, n), axis=axis)
    return hi - lo


def window_sum(grid: np.ndarray, radius: int, shape: str) -> np.ndarray:
    """Sum of ``grid`` over each cell's window (including the cell) on the torus.

    ``shape`` is ``moore`` (Chebyshev square) or ``von_neumann`` (Manhattan
    diamond). The diamond is built from row windows of shrinking width, so the
    cost is O(radius * cells) with no convolution.
    """
    if radius <= 0:
        return grid.astype(np.int32)
    g = grid.astype(np.int32, copy=False)
    if shape == "moore":
        return _window_1d(_window_1d(g, radius, 0), radius, 1)
    if shape != "von_neumann":
        raise ValueError(f"unknown neighbourhood shape {shape!r}")
    width = g.shape[0]
    # Column windows of half-width w = 0..radius, padded along x for the shifts.
    xs = np.arange(-radius, width + radius) % width
    out = np.zeros_like(g)
    for w in range(radius + 1):
        col = _window_1d(g, w, 1)[xs]
        dxs = (radius - w,) if w == radius else (-(radius - w), radius - w)
        for dx in dxs:
            out += col[radius + dx: radius + dx + width]
    return out


@lru_cache(maxsize=32)
def offsets(radius: int, shape: str, include_centre: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``(dx, dy)`` offsets of a neighbourhood, as two int arrays."""
    r = np.arange(-radius, radius + 1)
    dx, dy = np.meshgrid(r, r, indexing="ij")
    dx, dy = dx.ravel(), dy.ravel()
    if shape == "von_neumann":
        keep = np.abs(dx) + np.abs(dy) <= radius
    elif shape == "moore":
        keep = np.ones_like(dx, dtype=bool)
    else:
        raise ValueError(f"unknown neighbourhood shape {shape!r}")
    if not include_centre:
        keep &= (dx != 0) | (dy != 0)
    dx, dy = dx[keep].astype(np.int32), dy[keep].astype(np.int32)
    dx.setflags(write=False)
    dy.setflags(write=False)
    return dx, dy


def resolve_claims(targets: np.ndarray, n_cells: int, rng: np.random.Generator,
                   scratch: np.ndarray | None = None) -> np.ndarray:
    """For claims on flat cell ids, a mask of one uniformly random winner per cell."""
    n = len(targets)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = rng.permutation(n)
    claim = np.full(n_cells, -1, dtype=np.int64) if scratch is None else scratch
    claim[targets[order]] = order  # last write wins; the order is random
    winners = claim[targets] == np.arange(n)
    claim[targets] = -1
    return winners


def choose_free_cells(
    x: np.ndarray,
    y: np.ndarray,
    occupancy: np.ndarray,
    radius: int,
    shape: str,
    rng: np.random.Generator,
    tries: int = 10,
    score: np.ndarray | None = None,
) -> np.ndarray:
    """Pick for each mover a uniformly random free cell within its vision.

    Returns flat target cell ids (``x * height + y``), or -1 where no free cell
    is in vision. Two movers never get the same cell. With ``score`` the mover
    takes the free candidate with the lowest score (flight from danger).
    Marks chosen cells in ``occupancy``; the caller clears the old cells.
    """
    width, height = occupancy.shape
    n_cells = width * height
    flat_occ = occupancy.reshape(-1)
    dx, dy = offsets(radius, shape)
    result = np.full(len(x), -1, dtype=np.int64)
    pending = np.arange(len(x))
    scratch = np.full(n_cells, -1, dtype=np.int64)
    for round_ in range(3):
        if len(pending) == 0:
            break
        px, py = x[pending], y[pending]
        exact = round_ == 2
        if exact:  # every offset: movers that found nothing free in random tries
            k = np.broadcast_to(np.arange(len(dx)), (len(pending), len(dx)))
        else:
            k = rng.integers(0, len(dx), size=(len(pending), tries))
        cand = ((px[:, None] + dx[k]) % width) * height + (py[:, None] + dy[k]) % height
        free = flat_occ[cand] == 0
        if score is not None and not exact:
            s = np.where(free, score.reshape(-1)[cand] + 1e-9 * rng.random(cand.shape), np.inf)
            pick = np.argmin(s, axis=1)
        elif exact:
            pick = np.argmax(np.where(free, rng.random(cand.shape), -1.0), axis=1)
        else:
            pick = np.argmax(free, axis=1)
        rows = np.arange(len(pending))
        ok = free[rows, pick]
        target = cand[rows, pick]
        cand_idx = np.flatnonzero(ok)
        win = resolve_claims(target[cand_idx], n_cells, rng, scratch)
        won = cand_idx[win]
        result[pending[won]] = target[won]
        flat_occ[target[won]] += 1
        if exact:
            # Losers of a conflict in the exact round take any cell still free.
            for i in cand_idx[~win]:
                options = cand[i][flat_occ[cand[i]] == 0]
                if len(options):
                    pick_one = options[rng.integers(len(options))]
                    result[pending[i]] = pick_one
                    flat_occ[pick_one] += 1
            break
        pending = np.sort(np.concatenate([pending[cand_idx[~win]], pending[~ok]]))
    return result
