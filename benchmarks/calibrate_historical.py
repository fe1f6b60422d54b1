"""Calibrate scenarios/historical_2015.toml: stage A on 2015-2021, stage B on 2015-2025.

    python benchmarks/calibrate_historical.py                    # stage A (~15 min on 2 cores)
    python benchmarks/calibrate_historical.py --stage post2021   # stage B (~15 min)
    python benchmarks/calibrate_historical.py --quick            # a smoke test (~1 min)

Stage A (``--stage window``, the default) is the calibration proper; with its
values and the post-2021 values at their a priori settings
(:func:`a_priori_post`) the scenario is the *hold-out forecast* of 2022-2025.
Stage B (``--stage post2021``) then fits the three values that act only from
October 2021 (``POST_KNOBS``: Taliban intelligence's growth rate and ceiling,
ISIS-K's recruitment rate from January 2022) to the whole record (``CALIBRATION``
and ``HOLDOUT``), with stage A's values fixed, by the same procedure; its
2022-2025 fit is in-sample. Stage A runs with the stage-B values pinned at their
a priori settings, so its result does not depend on stage B's.

Procedure of stage A (documented in docs/validation.md, part 3):

1. Eight parameters are searched; everything else is fixed in the scenario file
   (parameter-table defaults, dated events and a priori values):

   ============================  ==========================================  ===============
   name                          what it is                                  range
   ============================  ==========================================  ===============
   ``founding``                  fighters added at the founding (Jan 2015)    500 - 2,000
   ``defect_2015``               ``isisk.defector_recruitment`` until Jun 2015  2 - 8
   ``defect_later``              ``isisk.defector_recruitment`` from Jun 2015   0.5 - 3
   ``defect_2020``               ``isisk.defector_recruitment`` from Jan 2020   0.05 - 2 (log)
                                 (the Nangarhar base lost)
   ``ct_detection``              ``taliban.ct_detection`` from Jan 2016         0.001 - 0.012
                                 (half of it before: no US strikes yet)
   ``offensive_2016``            ``isisk.attrition`` in the Jan-Mar 2016        0.004 - 0.08 (log)
                                 offensives in Nangarhar
   ``attack_rate``               ``isisk.attack_rate``                          2 - 7
   ``us_level``                  ``surveillance.us_level`` before Aug 2021      0.4 - 0.9
   ============================  ==========================================  ===============

   (``defect_2020`` and ``offensive_2016`` were added when the six-parameter
   search could not give both a 2015-16 peak and the decline of 2020-21: the
   early-2016 offensives and the loss of the Nangarhar base were not events.)
   (The lower bounds of ``ct_detection`` and ``us_level`` were 0.002 and 0.6
   until the sequential schedule came in; that search's optimum sat near both.)

2. Stage 1: a Latin hypercube of ``--candidates`` points (fixed seed 2015),
   each run for 2015-01 to 2021-12 with ``--reps`` replicates (seeds 1, 2, ...).
3. Stage 2: the ``--top`` best are re-run with ``--reps2`` more replicates
   (the next seeds); the best loss over all replicates wins.
   Stage 3: a Nelder-Mead polish from that winner (at most ``--polish``
   evaluations, each on all the seeds of stages 1 and 2, the same for every
   candidate; it stops once the loss is 0); its best replaces the winner if
   its loss is lower.
4. The loss sums, over the calibration targets (``CALIBRATION``), the squared
   log-distance of the replicates' median from the target range narrowed by
   ``MARGIN`` (5%) at each end (0 inside).

In stage A only 2015-2021 data enter; the 2022-2025 targets (``HOLDOUT``) are
for the hold-out check in docs/make_validation.py. The result is written to
``docs/data/calibration_historical.json`` (stage B:
``docs/data/calibration_post2021.json``); the winning values are copied by
hand into scenarios/historical_2015.toml (``make_validation.py`` and
``tests/test_validation.py`` check that they match). The file also records the
hash of the model source the search ran on (``model_hash``, as in
``docs/make_validation.py``), so that docs/validation.md can say whether the
calibration and the replicates it reports were made with the same model.
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
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "historical_2015.toml"
OUTPUT = ROOT / "docs" / "data" / "calibration_historical.json"
CALIBRATION_END = dt.date(2021, 12, 31)


@dataclass(frozen=True)
class Target:
    """A range that a statistic of the median path should fall in."""

    key: str
    label: str
    kind: str  # "at" (strength at a date), "peak" (max in window), "mean" (mean in window),
    #            "attacks" (successful attacks in a calendar year)
    lo: float
    hi: float
    start: str = ""
    end: str = ""
    source: str = ""

    def value(self, df: pd.DataFrame) -> float:
        """The statistic on one run (``df`` has a datetime ``date`` column)."""
        if self.kind == "attacks":
            year = int(self.start)
            return float(df.loc[df.date.dt.year == year, "attacks"].sum())
        if self.kind == "at":
            i = (df.date - pd.Timestamp(self.start)).abs().argmin()
            return float(df.isisk_fighters.iloc[i])
        window = (df.date >= pd.Timestamp(self.start)) & (df.date <= pd.Timestamp(self.end))
        series = df.loc[window, "isisk_fighters"]
        return float(series.max() if self.kind == "peak" else series.mean())


T = Target
CALIBRATION: tuple[Target, ...] = (
    T("peak_2015_16", "Peak strength 2015-16", "peak", 3000, 4000, "2015-01-01", "2016-12-31",
      "NYT 2021 (2021 ranks 'about half' of the 2016 peak)"),
    T("mar_2016", "Strength, March 2016", "at", 2000, 3000, "2016-03-15", "",
      "USIP Apr 2016: about 2,500"),
    T("feb_2017", "Strength, February 2017", "at", 2000, 3500, "2017-02-10", "",
      "UN MT 19th report: 2,000-3,500"),
    T("mid_2018_19", "Mean strength, mid-2018 to mid-2019", "mean", 2000, 4000, "2018-06-01",
      "2019-06-01", "UN 2,500-4,000; DoD fewer than 2,000"),
    T("jan_2020", "Strength, January 2020", "at", 2000, 3000, "2020-01-31", "",
      "UN MT 25th report: about 2,500 after the Nangarhar collapse"),
    T("early_2021", "Strength, early 2021", "at", 1000, 2200, "2021-02-15", "",
      "UN MT 27th report: 1,000-2,200"),
    T("mid_2021", "Strength, mid-2021", "at", 1500, 2200, "2021-07-15", "",
      "UN via NYT: 1,500-2,200"),
    T("attacks_2020", "Attacks in 2020", "attacks", 55, 110, "2020", "", "ITIC: 82 claimed"),
    T("attacks_2021", "Attacks in 2021", "attacks", 270, 460, "2021", "", "ITIC: 365 claimed"),
)
HOLDOUT: tuple[Target, ...] = (
    T("feb_2022", "Strength, February 2022", "at", 3000, 4500, "2022-02-15", "",
      "UN SG Feb 2022: 'approaching 4,000'"),
    T("jul_2024", "Strength, July 2024", "at", 2000, 3500, "2024-07-15", "",
      "UN MT 34th: 2,000-3,500 (others 4,000-6,000 with families)"),
    T("early_2025", "Strength, early 2025", "at", 1500, 2500, "2025-02-15", "",
      "UN MT 2025: about 2,000"),
    T("attacks_2022", "Attacks in 2022", "attacks", 130, 240, "2022", "", "ITIC: 181 claimed"),
    T("attacks_2023", "Attacks in 2023", "attacks", 10, 40, "2023", "",
      "Afghan Witness: 18 by October; RSIS: lowest since 2015"),
    T("attacks_2024", "Attacks in 2024", "attacks", 10, 45, "2024", "",
      "RSIS: 13 in H1; UN: 22 Feb 2024-Feb 2025"),
)


@dataclass(frozen=True)
class Knob:
    """One searched parameter."""

    name: str
    lo: float
    hi: float
    log: bool = False
    integer: bool = False

    def draw(self, u: float) -> float:
        """Map u in [0, 1] onto the range."""
        if self.log:
            x = float(np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo))))
        else:
            x = self.lo + u * (self.hi - self.lo)
        return float(round(x)) if self.integer else float(x)

    def unit(self, x: float) -> float:
        """The inverse of :meth:`draw`: where ``x`` sits in the range, in [0, 1]."""
        if self.log:
            return float((np.log(x) - np.log(self.lo)) / (np.log(self.hi) - np.log(self.lo)))
        return float((x - self.lo) / (self.hi - self.lo))


KNOBS: tuple[Knob, ...] = (
    Knob("founding", 500, 2000, integer=True),
    Knob("defect_2015", 2.0, 8.0),
    Knob("defect_later", 0.5, 3.0),
    Knob("ct_detection", 0.001, 0.012, log=True),
    Knob("attack_rate", 2.0, 7.0),
    Knob("us_level", 0.4, 0.9),
    Knob("offensive_2016", 0.004, 0.08, log=True),
    Knob("defect_2020", 0.05, 2.0, log=True),
)


#: Which dated event each event-borne knob goes into (by the start of its label),
#: and into which of that event's settings.
EVENT_KNOBS: dict[str, dict[str, str]] = {
    "Taliban-ISIS-K war begins": {"defect_later": "isisk.defector_recruitment"},
    "US strikes on ISIS-K authorised": {"ct_detection": "taliban.ct_detection",
                                        "offensive_2016": "isisk.attrition"},
    "Surrenders end": {"defect_2020": "isisk.defector_recruitment"},
}


#: Stage B ("post2021"): the knobs that act only from October 2021, fitted on the
#: whole record with the stage-A values fixed. Their values before stage B (the
#: parameter-table defaults, and the 2020 defection rate carried on) are the
#: a priori ones of the hold-out forecast (:func:`a_priori_post`).
POST_KNOBS: tuple[Knob, ...] = (
    Knob("intel_growth", 0.04, 0.5, log=True),
    Knob("intel_max", 0.8, 0.99),
    Knob("recruit_2022", 0.2, 6.0, log=True),
)
POST_EVENT_KNOBS: dict[str, dict[str, str]] = {
    "Taliban GDI ramps up": {"intel_growth": "surveillance.intel_growth",
                             "intel_max": "surveillance.intel_max"},
    "ISIS-K recruits dissident Taliban": {"recruit_2022": "isisk.defector_recruitment"},
}
#: Knobs set at dated events, both stages (event label prefix -> knob -> parameter).
ALL_EVENT_KNOBS = EVENT_KNOBS | POST_EVENT_KNOBS
#: Knobs that are the scenario's own parameters (knob -> parameter).
PARAM_KNOBS = {"defect_2015": "isisk.defector_recruitment", "attack_rate": "isisk.attack_rate",
               "us_level": "surveillance.us_level"}
#: Which knobs each stage searches, and which targets its loss counts.
STAGES: dict[str, tuple[tuple[Knob, ...], tuple[Target, ...]]] = {
    "window": (KNOBS, CALIBRATION),
    "post2021": (POST_KNOBS, CALIBRATION + HOLDOUT),
}
OUTPUTS = {"window": OUTPUT, "post2021": OUTPUT.with_name("calibration_post2021.json")}


def a_priori_post(scenario: Any) -> dict[str, float]:
    """The post-2021 values before stage B: table defaults; the 2020 defection rate kept."""
    from simulation.params import defaults

    table = defaults()
    return {"intel_growth": float(table["surveillance.intel_growth"]),
            "intel_max": float(table["surveillance.intel_max"]),
            "recruit_2022": scenario_values(scenario)["defect_2020"]}


def apply(scenario: Any, cand: Mapping[str, float]) -> Any:
    """The scenario with a candidate's values put in the right parameters and events.

    ``cand`` may hold any subset of the knobs of both stages; the others keep
    the scenario's values.
    """
    over = {param: cand[knob] for knob, param in PARAM_KNOBS.items() if knob in cand}
    if "ct_detection" in cand:
        over["taliban.ct_detection"] = cand["ct_detection"] / 2
    sc = scenario.with_overrides(over) if over else scenario
    events = []
    for ev in sc.events:
        if ev.add_isisk_fighters and ev.label.startswith("ISIS-K founded") and "founding" in cand:
            ev = dataclasses.replace(ev, add_isisk_fighters=int(cand["founding"]))
        for prefix, knobs in ALL_EVENT_KNOBS.items():
            if ev.label.startswith(prefix):
                ev = dataclasses.replace(ev, set={**ev.set, **{
                    param: cand[knob] for knob, param in knobs.items() if knob in cand}})
        events.append(ev)
    return dataclasses.replace(sc, events=tuple(events))


def scenario_values(scenario: Any) -> dict[str, float]:
    """The calibrated values of both stages as they stand in a scenario (see :func:`apply`)."""
    out = {knob: scenario.params[param] for knob, param in PARAM_KNOBS.items()}
    for ev in scenario.events:
        if ev.add_isisk_fighters and ev.label.startswith("ISIS-K founded"):
            out["founding"] = float(ev.add_isisk_fighters)
        for prefix, knobs in ALL_EVENT_KNOBS.items():
            if ev.label.startswith(prefix):
                out.update({knob: float(ev.set[param]) for knob, param in knobs.items()
                            if param in ev.set})
    return out


def forecast_scenario(scenario: Any) -> Any:
    """The scenario as stage A left it: post-2021 knobs at their a priori values."""
    return apply(scenario, a_priori_post(scenario))


def run(scenario: Any, seed: int, end: dt.date | None = None) -> pd.DataFrame:
    """One replicate (optionally cut at ``end``) with a datetime ``date`` column."""
    from simulation.model import simulate

    if end is not None:
        steps = min(scenario.steps, scenario.step_of(end))
        scenario = dataclasses.replace(scenario, steps=steps,
                                       events=tuple(e for e in scenario.events if e.step <= steps))
    df = simulate(scenario, seed, make_views=False)
    df["date"] = pd.to_datetime(df["date"])
    return df


def target_values(runs: Sequence[pd.DataFrame], targets: Sequence[Target]) -> dict[str, np.ndarray]:
    """Each target's statistic on each run."""
    return {t.key: np.array([t.value(df) for df in runs]) for t in targets}


#: The loss aims this share inside each end of every range: a candidate that
#: sits on a boundary with its own seeds lands outside with fresh ones (the
#: validation's 20 new seeds) about half the time.
MARGIN = 0.05


def loss(values: Mapping[str, np.ndarray], targets: Sequence[Target],
         margin: float = MARGIN) -> float:
    """Sum of squared log-distances of the medians from the ranges (narrowed by ``margin``)."""
    total = 0.0
    for t in targets:
        x = max(float(np.median(values[t.key])), 1.0)
        lo, hi = t.lo * (1 + margin), t.hi * (1 - margin)
        if lo > hi:  # too narrow to narrow: aim at its middle
            lo = hi = float(np.sqrt(t.lo * t.hi))
        d = max(0.0, np.log(lo / x), np.log(x / hi))
        total += d * d
    return total


def _task(args: tuple[dict[str, float], int, str]) -> dict[str, float]:
    from simulation import load_scenario

    cand, seed, stage = args
    base = load_scenario(SCENARIO)
    if stage == "window":
        # Stage A: the post-2021 knobs at their a priori values, whatever stage B chose.
        sc = apply(forecast_scenario(base), cand)
        df = run(sc, seed, CALIBRATION_END)
    else:
        df = run(apply(base, cand), seed)
    return {t.key: t.value(df) for t in STAGES[stage][1]}


def evaluate(cands: Sequence[dict[str, float]], seeds: Sequence[int], pool: ProcessPoolExecutor,
             label: str, quiet: bool = False, stage: str = "window"
             ) -> list[dict[str, np.ndarray]]:
    """Target values of every candidate over ``seeds``."""
    targets = STAGES[stage][1]
    tasks = [(c, s, stage) for c in cands for s in seeds]
    results: list[Any] = [None] * len(tasks)
    t0 = time.perf_counter()
    futs = {pool.submit(_task, t): i for i, t in enumerate(tasks)}
    for n, fut in enumerate(as_completed(futs), start=1):
        results[futs[fut]] = fut.result()
        if not quiet and (n % max(1, len(tasks) // 10) == 0 or n == len(tasks)):
            el = time.perf_counter() - t0
            print(f"  [{label}] {n}/{len(tasks)} runs, {el:.0f} s", flush=True)
    out = []
    for i in range(len(cands)):
        rows = results[i * len(seeds):(i + 1) * len(seeds)]
        out.append({t.key: np.array([r[t.key] for r in rows]) for t in targets})
    return out


class _Reached(Exception):
    """Raised inside the Nelder-Mead objective when the loss reaches 0 (nothing to gain)."""


def polish(start: dict[str, float], seeds: Sequence[int], pool: ProcessPoolExecutor,
           max_evals: int, stage: str = "window"
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
        cand = {k.name: k.draw(float(np.clip(x, 0.0, 1.0))) for k, x in zip(knobs, u,
                                                                             strict=True)}
        vals = evaluate([cand], seeds, pool, "polish", quiet=True, stage=stage)[0]
        lo = loss(vals, targets)
        seen.append((lo, cand, vals))
        if len(seen) % 10 == 0:
            print(f"  [polish] {len(seen)} evaluations, best loss "
                  f"{min(x[0] for x in seen):.4f}", flush=True)
        if lo == 0.0:
            raise _Reached
        return lo

    u0 = np.array([k.unit(start[k.name]) for k in knobs])
    with contextlib.suppress(_Reached):
        minimize(objective, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(knobs),
                 options={"maxfev": max_evals, "initial_simplex": _simplex(u0, 0.05)})
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


def model_hash() -> str:
    """The hash of the model's dynamics source, as docs/make_validation.py computes it."""
    import importlib.util

    path = ROOT / "docs" / "make_validation.py"
    spec = importlib.util.spec_from_file_location("make_validation_for_hash", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return str(mod.model_hash())


def latin_hypercube(n: int, seed: int, knobs: Sequence[Knob] = KNOBS) -> list[dict[str, float]]:
    """``n`` candidates from a Latin hypercube over ``knobs``."""
    rng = np.random.default_rng(seed)
    u = (np.stack([rng.permutation(n) for _ in knobs], axis=1) + rng.random((n, len(knobs)))) / n
    return [{k.name: k.draw(float(u[i, j])) for j, k in enumerate(knobs)} for i in range(n)]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the search and write docs/data/calibration_historical.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", choices=tuple(STAGES), default="window",
                    help="window: stage A, the 2015-2021 knobs on 2015-2021 (the default); "
                         "post2021: stage B, the post-2021 knobs on the whole record, "
                         "with stage A's values (those in the scenario file) fixed")
    ap.add_argument("--candidates", type=int, default=None,
                    help="Latin-hypercube size (default 300 for window, 100 for post2021)")
    ap.add_argument("--reps", type=int, default=3, help="replicates per candidate, stage 1")
    ap.add_argument("--top", type=int, default=10, help="candidates kept for stage 2")
    ap.add_argument("--reps2", type=int, default=6, help="extra replicates in stage 2")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--polish", type=int, default=150,
                    help="most Nelder-Mead evaluations in stage 3 (0: none)")
    ap.add_argument("--quick", action="store_true",
                    help="8 candidates, 1 + 1 replicates, 6 polish evaluations")
    ap.add_argument("--include-current", action="store_true", default=True,
                    help="also evaluate the values now in the scenario file (default on)")
    ap.add_argument("--output", type=Path, default=None,
                    help="default docs/data/calibration_historical.json (window) or "
                         "docs/data/calibration_post2021.json (post2021)")
    args = ap.parse_args(argv)
    if args.candidates is None:
        args.candidates = 300 if args.stage == "window" else 100
    if args.output is None:
        args.output = OUTPUTS[args.stage]
    if args.quick:
        args.candidates, args.reps, args.top, args.reps2, args.polish = 8, 1, 2, 1, 6

    from simulation import load_scenario

    t0 = time.perf_counter()
    hash_start = model_hash()
    stage = args.stage
    knobs, targets = STAGES[stage]
    cands = latin_hypercube(args.candidates, 2015 if stage == "window" else 2022, knobs)
    if args.include_current:
        now = scenario_values(load_scenario(SCENARIO))
        cands.insert(0, {k.name: now[k.name] for k in knobs})
    if stage == "post2021":  # the a priori values too: where the hold-out forecast starts
        prior = a_priori_post(load_scenario(SCENARIO))
        cands.insert(0, {k.name: prior[k.name] for k in knobs})
    seeds1 = list(range(1, args.reps + 1))
    end = CALIBRATION_END if stage == "window" else "2025-03 (the whole run)"
    print(f"Stage 1: {len(cands)} candidates x {len(seeds1)} replicates, 2015-01 to "
          f"{end}, {args.workers} workers", flush=True)
    # spawn: every worker imports the model afresh (no half-old modules from a fork).
    with ProcessPoolExecutor(max_workers=args.workers,
                             mp_context=get_context("spawn")) as pool:
        vals1 = evaluate(cands, seeds1, pool, "stage 1", stage=stage)
        losses1 = [loss(v, targets) for v in vals1]
        partial = args.output.with_suffix(".stage1.json")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps([{"candidate": c, "loss": lo, "values": {
            k: x.tolist() for k, x in v.items()}} for c, lo, v in zip(cands, losses1, vals1,
                                                                      strict=True)], indent=1))
        order = np.argsort(losses1)[: args.top]
        seeds2 = list(range(args.reps + 1, args.reps + args.reps2 + 1))
        print(f"Stage 2: best {len(order)} x {len(seeds2)} more replicates", flush=True)
        vals2 = evaluate([cands[i] for i in order], seeds2, pool, "stage 2", stage=stage)
        stage2 = []
        for i, v2 in zip(order, vals2, strict=True):
            merged = {k: np.concatenate([vals1[i][k], v2[k]]) for k in v2}
            stage2.append({"candidate": cands[i], "loss_stage1": losses1[i],
                           "loss": loss(merged, targets),
                           "medians": {k: float(np.median(x)) for k, x in merged.items()}})
        stage2.sort(key=lambda r: r["loss"])
        best = stage2[0]
        seeds_all = seeds1 + seeds2
        polished: dict[str, Any] | None = None
        if args.polish > 0:
            print(f"Stage 3: Nelder-Mead from the best, on seeds {seeds_all[0]}-{seeds_all[-1]}, "
                  f"at most {args.polish} evaluations", flush=True)
            cand3, loss3, vals3, n_evals = polish(best["candidate"], seeds_all, pool, args.polish,
                                                  stage)
            polished = {"candidate": cand3, "loss": loss3, "evaluations": n_evals,
                        "start_loss": best["loss"],
                        "medians": {k: float(np.median(x)) for k, x in vals3.items()}}
            if loss3 < best["loss"]:
                best = polished
    elapsed = time.perf_counter() - t0
    result = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        # The model source at the start and at the end: if they differ, the source
        # changed during the search (docs/validation.md says so).
        "model_hash": hash_start, "model_hash_end": model_hash(),
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "seeds_stage1": seeds1, "seeds_stage2": seeds2,
        "stage": stage,
        "knobs": [dataclasses.asdict(k) for k in knobs],
        "targets": [dataclasses.asdict(t) for t in targets],
        "best": best,
        "polish": polished,
        "stage2": stage2,
        "stage1": [{"candidate": c, "loss": float(lo)} for c, lo in zip(cands, losses1,
                                                                           strict=True)],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"\nBest (loss {best['loss']:.4f}) after {elapsed / 60:.1f} min:")
    for k, v in best["candidate"].items():
        print(f"  {k:14s} {v:.4g}")
    for t in targets:
        m = best["medians"][t.key]
        flag = "ok" if t.lo <= m <= t.hi else "OUT"
        print(f"  {t.label:40s} median {m:8.0f}  target {t.lo:.0f}-{t.hi:.0f}  {flag}")
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
