"""The validation's statistics (simulation/validation/stats.py) on cases with known answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from simulation.experiments.bootstrap import mean_difference_interval
from simulation.validation.stats import (
    fisher_p,
    holm,
    ks_p,
    mean_difference_ci,
    min_detectable_smd,
    permutation_p,
    smd,
)


def test_permutation_p_is_exact_on_small_samples() -> None:
    # 20 splits of six values into three and three; only the observed one and its
    # mirror image reach |mean difference| = 3.
    assert permutation_p(np.array([1.0, 2, 3]), np.array([4.0, 5, 6])) == pytest.approx(2 / 20)


def test_permutation_p_detects_a_known_shift() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, 40)
    shifted = rng.normal(1.0, 1.0, 40)
    same = rng.normal(0.0, 1.0, 40)
    p_shift = permutation_p(a, shifted, n_perm=5000)
    assert p_shift < 0.001
    assert p_shift >= 1 / 5001  # the +1 correction: never 0
    assert permutation_p(a, same, n_perm=5000) > 0.05
    assert permutation_p(a, a.copy()) == 1.0
    # Two-sided: the direction of the shift does not matter.
    assert permutation_p(shifted, a, n_perm=5000) == pytest.approx(p_shift, abs=0.002)


def test_permutation_p_is_uniform_under_the_null_and_seeded() -> None:
    # 200 pairs of samples from one distribution: the p-values spread evenly over
    # (0, 1], so about 5% fall below 0.05 (a miscalibrated test fails the KS check).
    rng = np.random.default_rng(3)
    ps = np.array(
        [
            permutation_p(rng.normal(0, 1, 15), rng.normal(0, 1, 15), n_perm=999, seed=i)
            for i in range(200)
        ]
    )
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.01 <= np.mean(ps < 0.05) <= 0.10
    # The same seed gives the same p; other seeds other draws of the resamples.
    a, b = rng.normal(0, 1, 30), rng.normal(0.4, 1, 30)
    assert permutation_p(a, b, n_perm=999, seed=5) == permutation_p(a, b, n_perm=999, seed=5)
    assert len({permutation_p(a, b, n_perm=999, seed=s) for s in range(5, 10)}) > 1


def test_holm_textbook_example() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, which the
    # step-down makes monotone (0.06 for the last); returned in the given order.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.01, 0.04, 0.5]) == pytest.approx([0.03, 0.08, 0.5])
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_bca_bootstrap_covers_the_true_mean_difference() -> None:
    rng = np.random.default_rng(7)
    covered = {True: 0, False: 0}
    trials = 40
    for _ in range(trials):
        base = rng.normal(10.0, 2.0, 60)
        paired_other = base + 1.5 + rng.normal(0.0, 0.5, 60)  # true difference 1.5
        for paired in (True, False):
            other = paired_other if paired else rng.normal(11.5, 2.0, 60)
            diff, lo, hi = mean_difference_ci(
                base, other, paired, level=0.9, n_resamples=2000, seed=int(rng.integers(1 << 30))
            )
            assert lo <= diff <= hi
            covered[paired] += lo <= 1.5 <= hi
    # A 90% interval: about 36 of 40; well above chance either way.
    assert covered[True] >= 31 and covered[False] >= 31
    # Pairing removes the between-run spread: a much narrower interval.
    base = rng.normal(10.0, 2.0, 60)
    other = base + 1.5 + rng.normal(0.0, 0.5, 60)
    _, lo_p, hi_p = mean_difference_ci(base, other, True)
    _, lo_u, hi_u = mean_difference_ci(base, other, False)
    assert hi_p - lo_p < (hi_u - lo_u) / 2
    assert lo_p > 0


def test_bootstrap_interval_is_seeded() -> None:
    rng = np.random.default_rng(4)
    base = rng.lognormal(3, 1, 20)
    other = base + rng.lognormal(1, 1, 20)
    for paired in (True, False):
        first = mean_difference_ci(base, other, paired, n_resamples=2000, seed=9)
        assert mean_difference_ci(base, other, paired, n_resamples=2000, seed=9) == first
        assert mean_difference_ci(base, other, paired, n_resamples=2000, seed=10) != first


@pytest.mark.parametrize("paired", [True, False])
def test_bootstrap_degenerate_cases_are_decided_without_nan(paired: bool) -> None:
    # scipy's BCa gives NaN (and a warning) when there is nothing to resample, and
    # refuses samples of one value: those cases have their own answers.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DegenerateDataWarning, no division by zero
        base = np.array([3.0, 5.0, 9.0, 1.0]) if paired else np.full(4, 2.0)
        other = base + 10 if paired else np.full(5 - paired, 12.0)  # no spread
        assert mean_difference_interval(base, other, paired, 0.9, 1000, 0) == (10.0, 10.0, 10.0)
        assert mean_difference_ci(base, other, paired) == (10.0, 10.0, 10.0)
        est, lo, hi = mean_difference_interval(
            np.array([1.0]), np.array([4.0]), paired, 0.9, 1000, 0
        )  # one run a side: no interval
        assert est == 3.0 and np.isnan(lo) and np.isnan(hi)
        # two runs a side with some spread: a proper interval around the estimate
        est, lo, hi = mean_difference_interval(
            np.array([1.0, 2.0]), np.array([4.0, 7.0]), paired, 0.9, 1000, 0
        )
        assert np.isfinite([lo, hi]).all() and lo <= est <= hi and lo < hi
    if paired:
        with pytest.raises(ValueError, match="same length"):
            mean_difference_interval(np.zeros(3), np.zeros(4), True, 0.9, 1000, 0)


def test_other_helpers() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert smd(a, a) == 0.0
    assert smd(a + 1, a) == pytest.approx(1 / a.std(ddof=1))
    assert ks_p(np.zeros(5), np.zeros(7)) == 1.0
    assert ks_p(np.arange(30.0), np.arange(30.0) + 100) < 1e-6
    # Fisher's tea-tasting table [[3, 1], [1, 3]]: 0.486 two-sided, 0.243 one-sided.
    assert fisher_p(3, 4, 1, 4) == pytest.approx(0.4857, abs=1e-4)
    assert fisher_p(3, 4, 1, 4, alternative="greater") == pytest.approx(0.2429, abs=1e-4)
    # 64 runs a side at 5%, 80% power: (1.96 + 0.84) * sqrt(2 / 64).
    assert min_detectable_smd(64, 64, 0.05) == pytest.approx(0.4953, abs=1e-3)
