"""Space: the torus's neighbourhoods, window sums and index tables.

Grids are numpy arrays of shape ``(width, height)`` indexed ``[x, y]``, the
same coordinates as Mesa's ``discrete_space`` grids. A window of radius ``r``
excludes nothing: callers subtract an agent's own cell when they must.
Choosing free cells to move to is in :mod:`simulation.model.moves`.
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
    rows = p[r : r + w_]
    rows[:, 1 : r + 1] = g[:, h - r :]
    rows[:, r + 1 : r + 1 + h] = g
    rows[:, r + 1 + h :] = g[:, :r]
    np.cumsum(rows[:, 1:], axis=1, out=rows[:, 1:], dtype=dtype)
    p[:r] = p[w_ : w_ + r]
    p[r + w_ :] = p[r : 2 * r]
    w = int(reach[0])
    out = p[r : r + w_, r + w + 1 : r + w + 1 + h] - p[r : r + w_, r - w : r - w + h]  # dx = 0
    tmp = np.empty((w_ + 2 * r, h), dtype=dtype)
    for d in range(1, r + 1):  # the rows at dx = -d and dx = +d
        w = int(reach[d])
        t = tmp[: w_ + 2 * d]
        np.subtract(
            p[r - d : r + d + w_, r + w + 1 : r + w + 1 + h],
            p[r - d : r + d + w_, r - w : r - w + h],
            out=t,
        )
        out += t[:w_]
        out += t[2 * d :]
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
        for dx in (0,) if d == 0 else (-d, d):
            out += col[radius + dx : radius + dx + width]
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

    def __init__(
        self, width: int, height: int, radius: int, shape: str, include_centre: bool = False
    ) -> None:
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
        p[r : r + w, r : r + h] = grid
        self._wrap(p)
        return p.reshape(-1)

    def _wrap(self, p: np.ndarray) -> None:
        """Fill the border of padded ``p`` from its interior."""
        r, w, h = self.r, self.width, self.height
        p[r : r + w, :r] = p[r : r + w, h : h + r]
        p[r : r + w, r + h :] = p[r : r + w, r : 2 * r]
        p[:r] = p[w : w + r]
        p[r + w :] = p[r : 2 * r]

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
def torus(width: int, height: int, radius: int, shape: str, include_centre: bool = False) -> Torus:
    """The (cached) :class:`Torus` tables of a neighbourhood."""
    return Torus(width, height, radius, shape, include_centre)


def window_cells(
    width: int, height: int, x: np.ndarray, y: np.ndarray, radius: int, shape: str = "moore"
) -> np.ndarray:
    """Flat ids of every cell in the window of each point, one row per point."""
    tor = torus(width, height, radius, shape, True)
    return tor.canon[tor.pid(np.asarray(x), np.asarray(y))[:, None] + tor.off]


def sparse_window_sum(
    width: int, height: int, x: np.ndarray, y: np.ndarray, radius: int, shape: str = "moore"
) -> tuple[np.ndarray, np.ndarray]:
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
