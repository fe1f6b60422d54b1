"""Mesa's Epstein example as reference: the cached runs and their summary statistics.

``benchmarks/mesa_epstein.py`` runs Mesa's bundled example (unmodified) and
writes ``docs/data/mesa_epstein_reference.json``; :func:`load_reference`
reads it, and :func:`summary_stats` summarises one run (Mesa's or ours) in
the statistics that part 1 of the validation compares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from simulation.validation.paths import MESA_CACHE

STAT_NAMES: tuple[str, ...] = (
    "mean_frac_active",
    "mean_frac_jailed",
    "mean_frac_quiet",
    "n_outbursts",
    "peak_active",
    "peak_outburst_size",
    "max_outburst_length",
)


def runs_above(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(start, stop)`` index pairs of maximal runs of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def summary_stats(
    series: Mapping[str, Any], burn_in: int = 50, outburst_threshold: int = 50
) -> dict[str, float]:
    """Summarise one run's per-step series.

    Only entries with index ``>= burn_in`` are used (index 0 is the state
    after initialisation, so with ``burn_in=50`` the window starts after
    step 50). An *outburst* is a maximal run of consecutive steps in that
    window with ``active > outburst_threshold``; a run already in progress at
    the burn-in boundary is counted, truncated to the window.

    Args:
        series: Mapping with ``active``, ``quiet``, ``jailed`` (sequences of
            counts) and ``n_citizens`` (e.g. one run from
            :func:`run_mesa_epstein` or from the cache).
        burn_in: Number of leading entries to discard.
        outburst_threshold: Active count that must be strictly exceeded.

    Returns:
        Dict with ``mean_frac_active``, ``mean_frac_jailed``,
        ``mean_frac_quiet`` (time means of count / n_citizens),
        ``n_outbursts``, ``peak_active`` (max active count in the window),
        ``peak_outburst_size`` (largest outburst size, size = sum of the
        active counts over the outburst's steps, i.e. active agent-steps;
        0 if there is none) and ``max_outburst_length`` (longest outburst in
        steps; 0 if none).
    """
    n_citizens = float(series["n_citizens"])
    active = np.asarray(series["active"], dtype=np.int64)[burn_in:]
    jailed = np.asarray(series["jailed"], dtype=np.int64)[burn_in:]
    quiet = np.asarray(series["quiet"], dtype=np.int64)[burn_in:]
    if active.size == 0:
        raise ValueError(f"Series of length {len(series['active'])} <= burn_in")

    outbursts = runs_above(active > outburst_threshold)
    sizes = [int(active[a:b].sum()) for a, b in outbursts]
    lengths = [b - a for a, b in outbursts]
    return {
        "mean_frac_active": float(active.mean() / n_citizens),
        "mean_frac_jailed": float(jailed.mean() / n_citizens),
        "mean_frac_quiet": float(quiet.mean() / n_citizens),
        "n_outbursts": float(len(outbursts)),
        "peak_active": float(active.max()),
        "peak_outburst_size": float(max(sizes, default=0)),
        "max_outburst_length": float(max(lengths, default=0)),
    }


def load_reference(path: Path | str = MESA_CACHE) -> dict[str, Any]:
    """Load the cached reference dataset.

    Returns:
        The decoded JSON: ``{"schema", "description", "points": {name:
        {"metadata": {...}, "runs": [{"seed", "n_citizens", "n_cops",
        "active", "quiet", "jailed", "step_seconds", "init_seconds"}, ...]}}}``.
    """
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
