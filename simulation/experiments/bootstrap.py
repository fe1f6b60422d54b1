"""The bootstrap interval of a mean difference, for ``compare`` and the validation.

``scipy.stats.bootstrap``: when the runs share their seeds, ``paired=True`` with
``method="BCa"`` (bias-corrected and accelerated); otherwise each group is
resampled on its own with ``method="percentile"``, because scipy's two-sample BCa
covered less than the percentile interval in every measurement (90% intervals,
1,500-2,000 trials each, 8 and 20 runs a side: 0.789 against 0.818 and 0.808
against 0.849 on lognormal values, 0.837 against 0.853 and 0.857 against 0.876
on negative-binomial death counts), while the paired BCa is level with it
(0.868 against 0.874 and 0.818 against 0.822) and ahead on skewed differences
(0.799 against 0.778 at 20 runs). Two degenerate cases are decided here instead
of returning scipy's NaN or error:

- fewer than two values on a side (one replicate): there is no interval, so
  both ends are NaN (and it excludes nothing);
- no spread to resample (every paired difference equal, or both groups
  constant): every resample gives the estimate, so the interval is that one
  point, exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = ["mean_difference_interval", "paired_statistic_interval"]


def _paired_mean(other: np.ndarray, base: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(other - base, axis=axis)


def _mean_difference(other: np.ndarray, base: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(other, axis=axis) - np.mean(base, axis=axis)


def mean_difference_interval(
    base: np.ndarray, other: np.ndarray, paired: bool, level: float, resamples: int, seed: int
) -> tuple[float, float, float]:
    """Mean of ``other - base`` and its bootstrap ``level`` interval ``(mean, low, high)``.

    ``paired``: ``base[i]`` and ``other[i]`` share a seed, so pairs are resampled
    together (BCa); otherwise each group is resampled on its own (percentile). The generator is
    seeded with ``seed``: the same data give the same interval.
    """
    base, other = np.asarray(base, dtype=float), np.asarray(other, dtype=float)
    if paired and base.shape != other.shape:
        raise ValueError("paired samples must have the same length")
    if min(len(base), len(other)) < 2:
        estimate = float(np.mean(other) - np.mean(base)) if len(base) and len(other) else np.nan
        return estimate, np.nan, np.nan
    if paired:
        estimate = float(np.mean(other - base))
        constant = np.ptp(other - base) == 0
    else:
        estimate = float(np.mean(other) - np.mean(base))
        constant = np.ptp(other) == 0 and np.ptp(base) == 0
    if constant:
        return estimate, estimate, estimate
    res = stats.bootstrap(
        (other, base),
        _paired_mean if paired else _mean_difference,
        paired=paired,
        vectorized=True,
        confidence_level=level,
        n_resamples=resamples,
        method="BCa" if paired else "percentile",
        rng=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return estimate, float(ci.low), float(ci.high)


def paired_statistic_interval(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    level: float,
    resamples: int,
    seed: int,
) -> tuple[float, float, float]:
    """``statistic(*samples)`` and its paired BCa bootstrap ``level`` interval.

    The samples share their seeds (``samples[k][i]`` all come from seed
    ``i``), so the seeds are resampled together, as the paired mean
    difference is. ``statistic(*arrays, axis=-1)`` must be vectorized. The
    degenerate cases are decided as for :func:`mean_difference_interval`:
    fewer than two seeds give NaN ends; a statistic that every resample
    gives alike (no spread) gives that one point as both ends.
    """
    arrays = [np.asarray(s, dtype=float) for s in samples]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError("paired samples must have the same length")
    estimate = float(statistic(*arrays, axis=-1))
    if len(arrays[0]) < 2:
        return estimate, np.nan, np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate or undefined resamples are decided below
        res = stats.bootstrap(
            tuple(arrays),
            statistic,
            paired=True,
            vectorized=True,
            confidence_level=level,
            n_resamples=resamples,
            method="BCa",
            rng=np.random.default_rng(seed),
        )
    spread = res.bootstrap_distribution
    if np.all(np.isfinite(spread)) and np.ptp(spread) == 0:
        return estimate, estimate, estimate
    ci = res.confidence_interval
    return estimate, float(ci.low), float(ci.high)
