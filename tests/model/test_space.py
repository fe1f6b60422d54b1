"""Neighbourhood sums, offsets and free-cell choice against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.model.moves import choose_free_cells, resolve_claims
from simulation.model.space import offsets, window_sum


def brute_window(grid: np.ndarray, r: int, shape: str) -> np.ndarray:
    w, h = grid.shape
    out = np.zeros_like(grid)
    dx, dy = offsets(r, shape, include_centre=True)
    for x in range(w):
        for y in range(h):
            out[x, y] = grid[(x + dx) % w, (y + dy) % h].sum()
    return out


@pytest.mark.parametrize("shape", ["von_neumann", "moore", "disc", "cross"])
@pytest.mark.parametrize("r", [0, 1, 3, 7, 12])
def test_window_sum_matches_brute_force(shape: str, r: int) -> None:
    g = np.random.default_rng(r).integers(0, 3, size=(17, 23)).astype(np.int32)
    assert (window_sum(g, r, shape) == brute_window(g, r, shape)).all()


def test_offsets_sizes() -> None:
    # Mesa's radius-7 von Neumann neighbourhood has 112 cells (without the centre).
    assert len(offsets(7, "von_neumann")[0]) == 112
    assert len(offsets(1, "moore")[0]) == 8
    assert len(offsets(2, "moore", include_centre=True)[0]) == 25
    # The Euclidean disc: radius 7 is the 148-site disc of the Epstein
    # transcription (facts 1.1) and of NetLogo's in-radius.
    assert len(offsets(1, "disc")[0]) == 4 and len(offsets(7, "disc")[0]) == 148
    dx, dy = offsets(7, "disc")
    assert (dx * dx + dy * dy <= 49).all()
    assert (3, 6) in set(zip(dx.tolist(), dy.tolist(), strict=True))  # 45 <= 49, not in a diamond
    # The cross: the four lattice directions only, 7 cells each.
    dx, dy = offsets(7, "cross")
    assert len(dx) == 28 and ((dx == 0) | (dy == 0)).all()
    assert np.abs(dx + dy).max() == 7


def test_resolve_claims_one_winner_per_cell() -> None:
    rng = np.random.default_rng(0)
    targets = np.array([5, 5, 5, 2, 9, 2])
    wins = np.zeros(len(targets))
    for _ in range(3000):
        win = resolve_claims(targets, 10, rng)
        assert sorted(targets[win]) == [2, 5, 9]
        wins += win
    # Each claimant on a shared cell wins about equally often.
    assert np.allclose(wins[:3] / 3000, 1 / 3, atol=0.05)
    assert np.allclose(wins[[3, 5]] / 3000, 1 / 2, atol=0.05)


@pytest.mark.parametrize("shape", ["von_neumann", "moore", "disc", "cross"])
def test_choose_free_cells_distinct_free_and_in_vision(shape: str) -> None:
    rng = np.random.default_rng(1)
    occ = (rng.random((30, 30)) < 0.75).astype(np.int16)
    movers = np.flatnonzero(occ.reshape(-1))[:200]  # crowded: not all can move
    x, y = (movers // 30).astype(np.int32), (movers % 30).astype(np.int32)
    before = occ.copy()
    target = choose_free_cells(x, y, occ, 3, shape, rng)
    ok = target >= 0
    assert 0.2 < ok.mean() < 1
    # A mover left without a cell had nothing free in vision once the others moved.
    dx, dy = offsets(3, shape)
    for i in np.flatnonzero(~ok):
        assert (occ[(x[i] + dx) % 30, (y[i] + dy) % 30] > 0).all()
    t = target[ok]
    assert len(set(t.tolist())) == len(t)  # no two movers share a cell
    assert (before.reshape(-1)[t] == 0).all()  # every target was free
    ddx = np.abs(t // 30 - x[ok])
    ddy = np.abs(t % 30 - y[ok])
    ddx, ddy = np.minimum(ddx, 30 - ddx), np.minimum(ddy, 30 - ddy)
    dist = {
        "von_neumann": ddx + ddy,
        "moore": np.maximum(ddx, ddy),
        "disc": np.sqrt(ddx * ddx + ddy * ddy),
        "cross": np.where((ddx == 0) | (ddy == 0), ddx + ddy, 99),
    }[shape]
    assert (dist <= 3).all() and (dist > 0).all()


def test_choose_free_cells_uniform() -> None:
    """A single mover with four free cells in vision picks each about equally."""
    occ = np.ones((11, 11), dtype=np.int16)
    free = [(5, 6), (5, 4), (6, 5), (4, 5)]
    for c in free:
        occ[c] = 0
    counts = dict.fromkeys(free, 0)
    rng = np.random.default_rng(3)
    for _ in range(2000):
        o = occ.copy()
        t = choose_free_cells(np.array([5]), np.array([5]), o, 1, "von_neumann", rng)[0]
        counts[(int(t // 11), int(t % 11))] += 1
    assert all(abs(v / 2000 - 0.25) < 0.04 for v in counts.values())
