"""Calibrate scenarios/historical_2015.toml: stage A on 2015-2021, stage B on 2015-2025.

    python -m simulation.validation.calibration                    # stage A (~15 min, 2 cores)
    python -m simulation.validation.calibration --stage post2021   # stage B (~15 min)
    python -m simulation.validation.calibration --quick            # a smoke test (~1 min)

Stage A (``--stage window``, the default) is the calibration proper; with its
values and the post-2021 values at their a priori settings
(:func:`a_priori_post`) the scenario is the *hold-out forecast* of 2022-2025.
Stage B (``--stage post2021``) then fits the three values that act only from
October 2021 (``POST_KNOBS``: Taliban intelligence's growth rate and ceiling,
ISIS-K's recruitment rate from January 2022) to the whole record (``CALIBRATION``
and ``HOLDOUT`` in :mod:`simulation.validation.targets`), with stage A's values
fixed, by the same procedure; its 2022-2025 fit is in-sample. Stage A runs
with the stage-B values pinned at their a priori settings, so its result does
not depend on stage B's.

Procedure of stage A (documented in docs/validation.md, part 3):

1. Eight parameters are searched (the table in :mod:`simulation.validation.knobs`);
   everything else is fixed in the scenario file.
2. Stage 1: a Latin hypercube of ``--candidates`` points (fixed seed 2015),
   each run for 2015-01 to 2021-12 with ``--reps`` replicates (seeds 1, 2, ...).
3. Stage 2: the ``--top`` best are re-run with ``--reps2`` more replicates
   (the next seeds); the best loss over all replicates wins.
   Stage 3: a Nelder-Mead polish from that winner (at most ``--polish``
   evaluations, each on all the seeds of stages 1 and 2, the same for every
   candidate; it stops once the loss is 0); its best replaces the winner if
   its loss is lower.
4. The loss (:func:`simulation.validation.targets.loss`) sums, over the
   calibration targets, the squared log-distance of the replicates' median
   from the target range narrowed by ``MARGIN`` (5%) at each end (0 inside).

In stage A only 2015-2021 data enter; the 2022-2025 targets (``HOLDOUT``) are
for the hold-out check of part 3 of the validation. The result is written to
``docs/data/calibration_historical.json`` (stage B:
``docs/data/calibration_post2021.json``); the winning values are copied by
hand into scenarios/historical_2015.toml (the validation page and
``tests/test_validation.py`` check that they match). The file also records the
code fingerprint the search ran on (``model_hash``, the one the validation
caches use), so that docs/validation.md can say whether the calibration and
the replicates it reports were made with the same code.

Runs go through :func:`simulation.experiments.execution.execute`, one process pool per
batch of runs (stage 1, stage 2, each polish evaluation).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.execution import execute
from simulation.experiments.fingerprint import code_fingerprint
from simulation.experiments.jobs import Job, run_job
from simulation.validation.knobs import (
    CALIBRATION_END,
    KNOBS,
    SCENARIO,
    STAGES,
    Knob,
    a_priori_post,
    scenario_values,
    stage_scenario,
)
from simulation.validation.paths import DATA
from simulation.validation.targets import loss

OUTPUT = DATA / "calibration_historical.json"
OUTPUTS = {"window": OUTPUT, "post2021": OUTPUT.with_name("calibration_post2021.json")}


@dataclass(frozen=True)
class TargetRunner:
    """A picklable runner: one replicate's value of each of a stage's targets."""

    stage: str

    def __call__(self, job: Job) -> dict[str, float]:
        """Run ``job`` and measure the targets."""
        df = run_job(job)
        df["date"] = pd.to_datetime(df["date"])
        return {t.key: t.value(df) for t in STAGES[self.stage][1]}


def evaluate(
    cands: Sequence[Mapping[str, float]],
    seeds: Sequence[int],
    workers: int,
    label: str,
    quiet: bool = False,
    stage: str = "window",
    base: Any = None,
) -> list[dict[str, np.ndarray]]:
    """Target values of every candidate over ``seeds`` (``base``: the scenario file)."""
    from simulation import load_scenario

    base = load_scenario(SCENARIO) if base is None else base
    targets = STAGES[stage][1]
    jobs = [Job(stage_scenario(base, c, stage), s, i) for c in cands for i, s in enumerate(seeds)]
    results = execute(jobs, workers, progress=not quiet, fn=TargetRunner(stage), desc=label)
    out = []
    for i in range(len(cands)):
        rows = results[i * len(seeds) : (i + 1) * len(seeds)]
        out.append({t.key: np.array([r[t.key] for r in rows]) for t in targets})
    return out


class _Reached(Exception):
    """Raised inside the Nelder-Mead objective when the loss reaches 0 (nothing to gain)."""


def polish(
    start: dict[str, float],
    seeds: Sequence[int],
    workers: int,
    max_evals: int,
    stage: str = "window",
    base: Any = None,
) -> tuple[dict[str, float], float, dict[str, np.ndarray], int]:
    """Nelder-Mead from ``start`` in the unit cube of the stage's knobs, on fixed ``seeds``.

    The same seeds for every candidate (common random numbers) make the loss
    a deterministic function of the parameters, so the simplex can descend.
    It stops early once the loss is 0. Returns the best candidate seen, its
    loss and values, and the evaluations.
    """
    from scipy.optimize import minimize

    knobs, targets = STAGES[stage]
    seen: list[tuple[float, dict[str, float], dict[str, np.ndarray]]] = []

    def objective(u: np.ndarray) -> float:
        cand = {k.name: k.draw(float(np.clip(x, 0.0, 1.0))) for k, x in zip(knobs, u, strict=True)}
        vals = evaluate([cand], seeds, workers, "polish", quiet=True, stage=stage, base=base)[0]
        lo = loss(vals, targets)
        seen.append((lo, cand, vals))
        if len(seen) % 10 == 0:
            print(
                f"  [polish] {len(seen)} evaluations, best loss {min(x[0] for x in seen):.4f}",
                flush=True,
            )
        if lo == 0.0:
            raise _Reached
        return lo

    u0 = np.array([k.unit(start[k.name]) for k in knobs])
    with contextlib.suppress(_Reached):
        minimize(
            objective,
            u0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * len(knobs),
            options={"maxfev": max_evals, "initial_simplex": _simplex(u0, 0.05)},
        )
    best = min(seen, key=lambda x: x[0])
    return best[1], best[0], best[2], len(seen)


def _simplex(u0: np.ndarray, step: float) -> np.ndarray:
    """A start simplex of ``step`` along each axis (inward at the cube's faces)."""
    pts = [u0]
    for i in range(len(u0)):
        p = u0.copy()
        p[i] += step if p[i] + step <= 1.0 else -step
        pts.append(p)
    return np.array(pts)


def latin_hypercube(n: int, seed: int, knobs: Sequence[Knob] = KNOBS) -> list[dict[str, float]]:
    """``n`` candidates from a Latin hypercube over ``knobs``."""
    rng = np.random.default_rng(seed)
    u = (np.stack([rng.permutation(n) for _ in knobs], axis=1) + rng.random((n, len(knobs)))) / n
    return [{k.name: k.draw(float(u[i, j])) for j, k in enumerate(knobs)} for i in range(n)]


@dataclass(frozen=True)
class Budget:
    """How much a search runs (the defaults are the shipped calibration's)."""

    candidates: int = 300  # Latin-hypercube size (100 for post2021 on the command line)
    reps: int = 3  # replicates per candidate, stage 1
    top: int = 10  # candidates kept for stage 2
    reps2: int = 6  # extra replicates in stage 2
    polish: int = 150  # most Nelder-Mead evaluations in stage 3 (0: none)
    include_current: bool = True  # also evaluate the values now in the scenario file


def _candidates(stage: str, budget: Budget, base: Any) -> list[dict[str, float]]:
    """Stage 1's candidates: the hypercube, the scenario's values, for B the a priori ones."""
    knobs = STAGES[stage][0]
    cands = latin_hypercube(budget.candidates, 2015 if stage == "window" else 2022, knobs)
    if budget.include_current:
        now = scenario_values(base)
        cands.insert(0, {k.name: now[k.name] for k in knobs})
    if stage == "post2021":  # the a priori values too: where the hold-out forecast starts
        prior = a_priori_post(base)
        cands.insert(0, {k.name: prior[k.name] for k in knobs})
    return cands


def _stage2(
    stage: str,
    budget: Budget,
    workers: int,
    base: Any,
    cands: Sequence[dict[str, float]],
    vals1: Sequence[dict[str, np.ndarray]],
    losses1: Sequence[float],
    seeds2: Sequence[int],
) -> list[dict[str, Any]]:
    """Stage 2: the best of stage 1 on more seeds, sorted by the loss over all their seeds."""
    targets = STAGES[stage][1]
    order = np.argsort(losses1)[: budget.top]
    print(f"Stage 2: best {len(order)} x {len(seeds2)} more replicates", flush=True)
    vals2 = evaluate([cands[i] for i in order], seeds2, workers, "stage 2", stage=stage, base=base)
    stage2 = []
    for i, v2 in zip(order, vals2, strict=True):
        merged = {k: np.concatenate([vals1[i][k], v2[k]]) for k in v2}
        stage2.append(
            {
                "candidate": cands[i],
                "loss_stage1": losses1[i],
                "loss": loss(merged, targets),
                "medians": {k: float(np.median(x)) for k, x in merged.items()},
            }
        )
    stage2.sort(key=lambda r: r["loss"])
    return stage2


def _polish_stage(
    best: dict[str, Any], seeds: Sequence[int], workers: int, max_evals: int, stage: str, base: Any
) -> dict[str, Any]:
    """Stage 3: the Nelder-Mead polish of stage 2's winner, as recorded in the output."""
    print(
        f"Stage 3: Nelder-Mead from the best, on seeds {seeds[0]}-{seeds[-1]}, "
        f"at most {max_evals} evaluations",
        flush=True,
    )
    cand3, loss3, vals3, n_evals = polish(best["candidate"], seeds, workers, max_evals, stage, base)
    return {
        "candidate": cand3,
        "loss": loss3,
        "evaluations": n_evals,
        "start_loss": best["loss"],
        "medians": {k: float(np.median(x)) for k, x in vals3.items()},
    }


def _write_stage1(
    path: Path,
    cands: Sequence[Mapping[str, float]],
    losses: Sequence[float],
    values: Sequence[Mapping[str, np.ndarray]],
) -> None:
    """Stage 1's candidates, losses and target values, as soon as they are known."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"candidate": c, "loss": lo, "values": {k: x.tolist() for k, x in v.items()}}
        for c, lo, v in zip(cands, losses, values, strict=True)
    ]
    path.write_text(json.dumps(rows, indent=1))


def search(
    stage: str = "window",
    budget: Budget | None = None,
    workers: int = 2,
    partial: Path | None = None,
) -> dict[str, Any]:
    """Run stages 1-3 of a calibration stage; the result as written to its JSON file.

    ``partial``: where to write stage 1's candidates as soon as they are known.
    """
    from simulation import load_scenario

    budget = budget or Budget()
    t0 = time.perf_counter()
    hash_start = code_fingerprint()
    knobs, targets = STAGES[stage]
    base = load_scenario(SCENARIO)
    cands = _candidates(stage, budget, base)
    seeds1 = list(range(1, budget.reps + 1))
    end = CALIBRATION_END if stage == "window" else "2025-03 (the whole run)"
    print(
        f"Stage 1: {len(cands)} candidates x {len(seeds1)} replicates, 2015-01 to "
        f"{end}, {workers} workers",
        flush=True,
    )
    vals1 = evaluate(cands, seeds1, workers, "stage 1", stage=stage, base=base)
    losses1 = [loss(v, targets) for v in vals1]
    if partial is not None:
        _write_stage1(partial, cands, losses1, vals1)
    seeds2 = list(range(budget.reps + 1, budget.reps + budget.reps2 + 1))
    stage2 = _stage2(stage, budget, workers, base, cands, vals1, losses1, seeds2)
    best = stage2[0]
    polished = None
    if budget.polish > 0:
        polished = _polish_stage(best, seeds1 + seeds2, workers, budget.polish, stage, base)
        if polished["loss"] < best["loss"]:
            best = polished
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(time.perf_counter() - t0, 1),
        # The code at the start and at the end: if they differ, the source
        # changed during the search (docs/validation.md says so).
        "model_hash": hash_start,
        "model_hash_end": code_fingerprint(),
        "settings": {**dataclasses.asdict(budget), "stage": stage, "workers": workers},
        "seeds_stage1": seeds1,
        "seeds_stage2": seeds2,
        "stage": stage,
        "knobs": [dataclasses.asdict(k) for k in knobs],
        "targets": [dataclasses.asdict(t) for t in targets],
        "best": best,
        "polish": polished,
        "stage2": stage2,
        "stage1": [
            {"candidate": c, "loss": float(lo)} for c, lo in zip(cands, losses1, strict=True)
        ],
    }


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m simulation.validation.calibration",
        description=(__doc__ or "").split("\n")[0],
    )
    ap.add_argument(
        "--stage",
        choices=tuple(STAGES),
        default="window",
        help="window: stage A, the 2015-2021 knobs on 2015-2021 (the default); "
        "post2021: stage B, the post-2021 knobs on the whole record, "
        "with stage A's values (those in the scenario file) fixed",
    )
    ap.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="Latin-hypercube size (default 300 for window, 100 for post2021)",
    )
    ap.add_argument("--reps", type=int, default=3, help="replicates per candidate, stage 1")
    ap.add_argument("--top", type=int, default=10, help="candidates kept for stage 2")
    ap.add_argument("--reps2", type=int, default=6, help="extra replicates in stage 2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--polish", type=int, default=150, help="most Nelder-Mead evaluations in stage 3 (0: none)"
    )
    ap.add_argument(
        "--quick", action="store_true", help="8 candidates, 1 + 1 replicates, 6 polish evaluations"
    )
    ap.add_argument(
        "--include-current",
        action="store_true",
        default=True,
        help="also evaluate the values now in the scenario file (default on)",
    )
    ap.add_argument(
        "--output",
        type=Path,
        default=None,
        help="default docs/data/calibration_historical.json (window) or "
        "docs/data/calibration_post2021.json (post2021)",
    )
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search and write docs/data/calibration_historical.json (or post2021's)."""
    args = _parse(argv)
    if args.candidates is None:
        args.candidates = 300 if args.stage == "window" else 100
    if args.quick:
        args.candidates, args.reps, args.top, args.reps2, args.polish = 8, 1, 2, 1, 6
    output = args.output or OUTPUTS[args.stage]
    budget = Budget(
        args.candidates, args.reps, args.top, args.reps2, args.polish, args.include_current
    )
    result = search(args.stage, budget, args.workers, partial=output.with_suffix(".stage1.json"))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    best = result["best"]
    print(f"\nBest (loss {best['loss']:.4f}) after {result['elapsed_seconds'] / 60:.1f} min:")
    for k, v in best["candidate"].items():
        print(f"  {k:14s} {v:.4g}")
    for t in STAGES[args.stage][1]:
        m = best["medians"][t.key]
        flag = "ok" if t.lo <= m <= t.hi else "OUT"
        print(f"  {t.label:40s} median {m:8.0f}  target {t.lo:.0f}-{t.hi:.0f}  {flag}")
    print(f"Wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
