"""Part 1: khorasan against Mesa's Epstein example, for three schedules of the civilian layer.

At two parameter points of ``scenarios/epstein_mesa_reference.toml``
(``EPSTEIN_POINTS``) our runs are compared with Mesa 3.5.1's bundled example
(cached by ``benchmarks/mesa_epstein.py``) statistic by statistic, with KS and
permutation tests, Holm-corrected over each schedule's family of tests. The
schedules (``AGREEMENT_VARIANTS``): the default random sequential activation
(``world.activation = "sequential"``) and the batched ablation
(``world.activation = "batched"``) with K = 4 random batches per step and with
K = 1 (a synchronous update, known to be biased).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulation import load_scenario
from simulation.validation.cache import cache_key, cached
from simulation.validation.epstein import BURN_IN, OUTBURST
from simulation.validation.mesa_reference import load_reference, summary_stats
from simulation.validation.paths import DATA, MESA_CACHE, SCEN
from simulation.validation.runs import run_columns
from simulation.validation.stats import holm, ks_p, min_detectable_smd, permutation_p, smd

#: The two comparison points, as overrides of scenarios/epstein_mesa_reference.toml.
#: They mirror ``POINTS`` in benchmarks/mesa_epstein.py.
EPSTEIN_POINTS: dict[str, dict[str, Any]] = {
    "mesa_default": {},
    "active_point": {
        "legitimacy.initial": 0.7,
        "taliban.enforcer_density": 0.04,
        "taliban.max_jail_term": 30,
    },
}
AGREEMENT_STATS = (
    "mean_frac_active",
    "mean_frac_jailed",
    "mean_frac_quiet",
    "n_outbursts",
    "peak_outburst_size",
)
#: Schedules compared with Mesa: label -> K random batches per step, where 0 means
#: the default, exact random sequential activation (``world.activation = "sequential"``)
#: and K > 0 the batched ablation (``world.activation = "batched"``); K = 1 is a
#: synchronous update, known to be biased.
AGREEMENT_VARIANTS: dict[str, int] = {"sequential": 0, "K=4": 4, "K=1": 1}
#: How each variant is described in tables and legends.
VARIANT_LABELS = {
    "sequential": "sequential (default)",
    "K=4": "batched, K = 4",
    "K=1": "batched, K = 1 (synchronous)",
}
#: The fast agreement check of tests/test_validation.py (also reported in
#: validation.md from the cached runs): the mean jailed share over steps
#: burn_in..steps at one point, ``n_seeds`` of ours against Mesa's cached runs;
#: it passes if |SMD| < smd_bound and the permutation p > p_bound.
FAST_TEST: dict[str, Any] = {
    "point": "active_point",
    "n_seeds": 32,
    "steps": 10,
    "burn_in": 1,
    "stat": "mean_frac_jailed",
    "smd_bound": 0.5,
    "p_bound": 0.01,
    "n_perm": 5000,
}


def schedule_overrides(batches: int) -> dict[str, Any]:
    """Parameter overrides for a schedule: 0 is sequential, K > 0 is K random batches."""
    if batches == 0:
        return {"world.activation": "sequential"}
    return {"world.activation": "batched", "world.activation_batches": batches}


def variant_tag(batches: int) -> str:
    """The schedule's name in cache files: ``sequential`` or ``K4``."""
    return "sequential" if batches == 0 else f"K{batches}"


def point_scenario(point: str, batches: int, steps: int) -> Any:
    """The reference scenario at ``point`` with a schedule, cut to ``steps``."""
    sc = load_scenario(
        SCEN / "epstein_mesa_reference.toml",
        overrides={**EPSTEIN_POINTS[point], **schedule_overrides(batches)},
    )
    return dataclasses.replace(sc, steps=steps)


def run_epstein_series(
    point: str, batches: int, seeds: Sequence[int], steps: int, workers: int = 1
) -> list[dict[str, Any]]:
    """Our runs at ``point``, uncached, as summary_stats-ready dicts (one per seed).

    ``batches`` = 0 is the default sequential schedule, K > 0 the batched one
    with K batches.
    """
    res = run_columns(
        point_scenario(point, batches, steps),
        seeds,
        ("active_civilians", "quiet_civilians", "jailed_civilians"),
        workers,
        f"{point} {variant_tag(batches)}",
    )
    counts = [
        np.stack([r["active_civilians"], r["quiet_civilians"], r["jailed_civilians"]]).astype(
            np.int32
        )
        for r in res
    ]
    return [
        {
            "seed": int(s),
            "n_citizens": int(c[:, 0].sum()),
            "active": c[0],
            "quiet": c[1],
            "jailed": c[2],
        }
        for s, c in zip(seeds, counts, strict=True)
    ]


def khorasan_epstein_runs(
    point: str,
    batches: int,
    seeds: Sequence[int],
    steps: int,
    workers: int,
    allow_stale: bool = False,
) -> list[dict[str, Any]]:
    """Our runs at ``point`` with a schedule (``batches``: 0 sequential, K > 0 batched),
    cached, as summary_stats-ready dicts."""
    settings = {
        "point": point,
        "schedule": schedule_overrides(batches),
        "seeds": list(seeds),
        "steps": steps,
        "overrides": EPSTEIN_POINTS[point],
    }
    key = cache_key(settings, [SCEN / "epstein_mesa_reference.toml"])
    path = DATA / f"khorasan_epstein_{point}_{variant_tag(batches)}_{len(seeds)}x{steps}.npz"

    def compute() -> dict[str, Any]:
        runs = run_epstein_series(point, batches, seeds, steps, workers)
        return {
            "n_citizens": np.array([r["n_citizens"] for r in runs]),
            "counts": np.stack([np.stack([r["active"], r["quiet"], r["jailed"]]) for r in runs]),
            "seeds": np.array(list(seeds)),
        }

    data = cached(path, key, allow_stale, compute)
    return [
        {"seed": int(s), "n_citizens": int(n), "active": c[0], "quiet": c[1], "jailed": c[2]}
        for s, n, c in zip(data["seeds"], data["n_citizens"], data["counts"], strict=True)
    ]


def truncate(run: Mapping[str, Any], length: int) -> dict[str, Any]:
    """A run dict with its series cut to ``length`` entries."""
    return {**run, **{k: np.asarray(run[k])[:length] for k in ("active", "quiet", "jailed")}}


def stats_matrix(
    runs: Sequence[Mapping[str, Any]],
    length: int,
    names: Sequence[str] = AGREEMENT_STATS,
    burn_in: int = BURN_IN,
    threshold: int = OUTBURST,
) -> dict[str, np.ndarray]:
    """summary_stats of each run (cut to ``length``), one array per statistic."""
    rows = [summary_stats(truncate(r, length), burn_in, threshold) for r in runs]
    return {n: np.array([row[n] for row in rows], dtype=float) for n in names}


def compare(
    ours: Mapping[str, np.ndarray],
    ref: Mapping[str, np.ndarray],
    names: Sequence[str] = AGREEMENT_STATS,
    n_perm: int = 20_000,
) -> list[dict[str, Any]]:
    """One row per statistic: means, sds, SMD, KS p and permutation p."""
    rows = []
    for n in names:
        a, b = ours[n], ref[n]
        rows.append(
            {
                "stat": n,
                "ours_mean": float(a.mean()),
                "ours_sd": float(a.std(ddof=1)),
                "mesa_mean": float(b.mean()),
                "mesa_sd": float(b.std(ddof=1)),
                "smd": smd(a, b),
                "ks_p": ks_p(a, b),
                "perm_p": permutation_p(a, b, n_perm),
            }
        )
    return rows


def fast_verdict(ours: np.ndarray, mesa: np.ndarray) -> dict[str, Any]:
    """The fast check's verdict: SMD, permutation p and whether the bound is passed."""
    d = smd(ours, mesa)
    p = permutation_p(ours, mesa, n_perm=FAST_TEST["n_perm"])
    return {
        "smd": d,
        "p": p,
        "passes": bool(abs(d) < FAST_TEST["smd_bound"] and p > FAST_TEST["p_bound"]),
    }


def fast_stat(runs: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """FAST_TEST's statistic over ``runs`` (cut to its steps)."""
    st = FAST_TEST["stat"]
    return stats_matrix(runs, FAST_TEST["steps"] + 1, [st], burn_in=FAST_TEST["burn_in"])[st]


def _shares(runs: Sequence[Mapping[str, Any]], length: int) -> dict[str, np.ndarray]:
    """Each run's active and jailed shares of its citizens, per step."""
    return {
        s: np.array([np.asarray(r[s][:length]) / r["n_citizens"] for r in runs])
        for s in ("active", "jailed")
    }


def _point_entry(
    point: str,
    ref: Mapping[str, Any] | None,
    n_seeds: int,
    workers: int,
    allow_stale: bool,
    out: dict[str, Any],
) -> dict[str, Any]:
    """One point of part 1: every schedule against Mesa (or, without Mesa, our sequential)."""
    have_mesa = ref is not None
    if ref is not None:
        mesa_runs = ref["points"][point]["runs"]
        meta = ref["points"][point]["metadata"]
        length = int(meta["series_length"])
    else:
        mesa_runs, meta, length = [], {}, 401
    steps = length - 1
    entry: dict[str, Any] = {
        "mesa_seeds": len(mesa_runs),
        "steps": steps,
        "mesa_parameters": meta.get("parameters", {}),
        "variants": {},
    }
    mesa_stats = stats_matrix(mesa_runs, length) if have_mesa else None
    for label, k in AGREEMENT_VARIANTS.items():
        runs = khorasan_epstein_runs(point, k, list(range(n_seeds)), steps, workers, allow_stale)
        ours = stats_matrix(runs, length)
        if mesa_stats is None:  # no Mesa side: the sequential schedule is the reference
            mesa_stats = ours
            mesa_runs = runs
        if have_mesa and point == FAST_TEST["point"]:
            fast_runs = runs[: FAST_TEST["n_seeds"]]
            out.setdefault("fast_test", {})[label] = {
                **fast_verdict(fast_stat(fast_runs), fast_stat(mesa_runs)),
                "n_seeds": len(fast_runs),
            }
        entry["variants"][label] = {
            "rows": compare(ours, mesa_stats),
            "paths": {s: x.mean(axis=0) for s, x in _shares(runs, length).items()},
        }
    shares = _shares(mesa_runs, length)
    entry["mesa_paths"] = {s: x.mean(axis=0) for s, x in shares.items()}
    entry["mesa_se"] = {s: x.std(axis=0, ddof=1) / np.sqrt(len(x)) for s, x in shares.items()}
    return entry


def _family(out: dict[str, Any], label: str) -> dict[str, Any]:
    """Holm over one schedule's family (2 points x 5 statistics x 2 tests = 20 p-values).

    Writes the adjusted p-values into the rows (``ks_p_holm``, ``perm_p_holm``)
    and returns the family's verdict and the test that decides it.
    """
    ps, where = [], []
    for point, entry in out["points"].items():
        for i, row in enumerate(entry["variants"][label]["rows"]):
            for test in ("ks_p", "perm_p"):
                ps.append(row[test])
                where.append((point, i, test))
    adjusted = holm(ps)
    for adj, (point, i, test) in zip(adjusted, where, strict=True):
        out["points"][point]["variants"][label]["rows"][i][test + "_holm"] = adj
    # The test that decides the family: the smallest adjusted p and where it is.
    j = int(np.argmin(adjusted))
    point, i, test = where[j]
    row = out["points"][point]["variants"][label]["rows"][i]
    return {
        "min_holm": float(adjusted[j]),
        "min_raw": float(min(ps)),
        "rejected": bool(adjusted[j] < 0.05),
        "n_rejecting": int(sum(a < 0.05 for a in adjusted)),
        "n_tests": len(ps),
        "worst": {"point": point, "stat": row["stat"], "test": test, "smd": row["smd"]},
        "max_abs_smd": max(
            abs(r["smd"]) for e in out["points"].values() for r in e["variants"][label]["rows"]
        ),
    }


def agreement_part(quick: bool, workers: int, allow_stale: bool) -> dict[str, Any]:
    """Part 1: khorasan's schedules (AGREEMENT_VARIANTS) against the cached Mesa runs."""
    have_mesa = MESA_CACHE.exists()
    ref = load_reference(MESA_CACHE) if have_mesa else None
    if not have_mesa:
        print(
            f"  {MESA_CACHE.name} is missing (benchmarks/mesa_epstein.py writes it): "
            "comparing khorasan's schedules with its sequential one only",
            flush=True,
        )
    n_seeds = 16 if quick else 64
    out: dict[str, Any] = {
        "n_seeds": n_seeds,
        "points": {},
        "burn_in": BURN_IN,
        "outburst_threshold": OUTBURST,
        "have_mesa": have_mesa,
    }
    for point in EPSTEIN_POINTS:
        out["points"][point] = _point_entry(point, ref, n_seeds, workers, allow_stale, out)
    n_mesa = min(e["mesa_seeds"] for e in out["points"].values()) if have_mesa else n_seeds
    n_tests = 2 * len(EPSTEIN_POINTS) * len(AGREEMENT_STATS)
    out["n_mesa"] = n_mesa
    out["mde"] = {
        "raw": min_detectable_smd(n_seeds, n_mesa, 0.05),
        "holm": min_detectable_smd(n_seeds, n_mesa, 0.05 / n_tests),
    }
    out["family"] = {label: _family(out, label) for label in AGREEMENT_VARIANTS}
    return out
