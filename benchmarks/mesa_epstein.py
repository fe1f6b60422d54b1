"""Reference runs of Mesa's bundled Epstein civil-violence example.

This module drives ``mesa.examples.advanced.epstein_civil_violence`` (Mesa
3.5.1) *unmodified* and caches per-step citizen-state counts for many seeds,
so that khorasan's vectorized re-implementation can be compared against it
statistically (KS / permutation tests) without re-running the slow Mesa
model every time.

Importable API
--------------
``run_mesa_epstein(width, height, seed, steps, **scenario_overrides)``
    One seeded run; per-step ``active``/``quiet``/``jailed`` counts.
``time_mesa_epstein(width, height, seed, steps)``
    Agent-steps per second of Mesa's stepping (init excluded).
``summary_stats(series, burn_in=50, outburst_threshold=50)``
    Scalar summary statistics of one run's series (from
    ``simulation.validation.mesa_reference``, re-exported here).
``load_reference(path)``
    Read the cache written by the CLI (likewise).

CLI
---
``python benchmarks/mesa_epstein.py --help``. By default it runs seeds 0..63
for both parameter points in ``POINTS`` on a 2-worker process pool and writes
``docs/data/mesa_epstein_reference.json``, then prints a summary table.

Notes on the Mesa model that matter for a faithful re-implementation
---------------------------------------------------------------------
* Both citizens and cops use ``cop_vision`` (``citizen_vision`` is unused).
* Jailed citizens are *not* removed from the grid: they keep occupying their
  cell (blocking movement) and are visible to neighbours in state ARRESTED.
* Jail terms are ``randint(0, max_jail_term)`` (inclusive), and a jailed
  citizen's sentence is decremented on its own activation, so within-step
  activation order matters.
* The arrest probability uses Python's ``round`` (banker's rounding) of the
  cop/active ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.examples.advanced.epstein_civil_violence.agents import Citizen, Cop
from mesa.examples.advanced.epstein_civil_violence.model import (
    EpsteinCivilViolence,
    EpsteinScenario,
)

# The statistics and the cache reader live in the library, where the validation uses them.
from simulation.validation.mesa_reference import STAT_NAMES, load_reference, summary_stats

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "data" / "mesa_epstein_reference.json"
SCHEMA = "khorasan/mesa_epstein_reference/v1"

#: Scenario overrides (relative to ``EpsteinScenario`` defaults) per point.
#: ``active_point``: lower legitimacy and fewer cops give recurring outbursts;
#: a short maximum jail term (30) returns arrested citizens to the street
#: quickly, so outbursts keep recurring instead of everyone ending in jail
#: (with Mesa's default of 1000 almost every arrest is permanent on a
#: 400-step horizon).
POINTS: dict[str, dict[str, Any]] = {
    "mesa_default": {},
    "active_point": {"legitimacy": 0.7, "cop_density": 0.04, "max_jail_term": 30},
}


def run_mesa_epstein(
    width: int, height: int, seed: int, steps: int, **scenario_overrides: Any
) -> dict[str, Any]:
    """Run Mesa's Epstein civil-violence example once and record state counts.

    The model is built exactly as the example intends:
    ``EpsteinCivilViolence(width, height, scenario=EpsteinScenario(rng=seed,
    **scenario_overrides))`` with its DataCollector left on, and
    ``model.step()`` is called ``steps`` times.

    Args:
        width: Grid width.
        height: Grid height.
        seed: Seed passed as ``EpsteinScenario(rng=seed)``.
        steps: Number of ``model.step()`` calls.
        **scenario_overrides: Any ``EpsteinScenario`` field (e.g.
            ``legitimacy=0.7``); unspecified fields keep Mesa's defaults.

    Returns:
        Dict with ``seed``, ``n_citizens``, ``n_cops``, ``active``,
        ``quiet``, ``jailed`` (lists of ``steps + 1`` ints; index 0 is the
        state right after initialisation, index ``t`` after step ``t``),
        ``step_seconds`` (wall-clock seconds inside ``model.step()`` only),
        ``first_step_seconds`` (the first of them) and ``init_seconds``.
    """
    unknown = set(scenario_overrides) - set(EpsteinScenario._scenario_defaults)
    if unknown:
        raise TypeError(f"Unknown EpsteinScenario parameter(s): {sorted(unknown)}")

    t_init = time.perf_counter()
    scenario = EpsteinScenario(rng=seed, **scenario_overrides)
    model = EpsteinCivilViolence(width=width, height=height, scenario=scenario)
    init_seconds = time.perf_counter() - t_init

    n_citizens = len(model.agents_by_type[Citizen])
    n_cops = len(model.agents_by_type[Cop])
    active = [int(model.ACTIVE)]
    quiet = [int(model.QUIET)]
    jailed = [int(model.ARRESTED)]

    step_seconds = first_step_seconds = 0.0
    for t in range(steps):
        t0 = time.perf_counter()
        model.step()
        step_seconds += time.perf_counter() - t0
        if t == 0:
            first_step_seconds = step_seconds
        active.append(int(model.ACTIVE))
        quiet.append(int(model.QUIET))
        jailed.append(int(model.ARRESTED))

    if active[-1] + quiet[-1] + jailed[-1] != n_citizens:
        raise RuntimeError("State counts do not add up to the number of citizens")

    return {
        "seed": int(seed),
        "n_citizens": n_citizens,
        "n_cops": n_cops,
        "active": active,
        "quiet": quiet,
        "jailed": jailed,
        "step_seconds": step_seconds,
        "first_step_seconds": first_step_seconds,
        "init_seconds": init_seconds,
    }


def time_mesa_epstein(width: int, height: int, seed: int, steps: int) -> float:
    """Benchmark Mesa's Epstein example at its default parameters.

    Args:
        width: Grid width.
        height: Grid height.
        seed: Scenario seed.
        steps: Number of steps to time.

    Returns:
        Agent-steps per second, ``(n_citizens + n_cops) * steps /
        step_seconds``, counting stepping time only (initialisation excluded,
        DataCollector on as in the example).
    """
    run = run_mesa_epstein(width, height, seed, steps)
    n_agents = run["n_citizens"] + run["n_cops"]
    return n_agents * steps / run["step_seconds"]


def stats_table(
    runs_by_point: Mapping[str, Sequence[Mapping[str, Any]]],
    burn_in: int = 50,
    outburst_threshold: int = 50,
) -> str:
    """Format mean ± sd (ddof=1) of :func:`summary_stats` per point.

    Args:
        runs_by_point: Point name -> list of run dicts.
        burn_in: Passed to :func:`summary_stats`.
        outburst_threshold: Passed to :func:`summary_stats`.

    Returns:
        A plain-text table, one row per statistic, one column per point.
    """
    names = list(runs_by_point)
    cells: dict[str, dict[str, str]] = {}
    for name in names:
        rows = [summary_stats(r, burn_in, outburst_threshold) for r in runs_by_point[name]]
        cells[name] = {}
        for stat in STAT_NAMES:
            values = np.array([row[stat] for row in rows])
            sd = values.std(ddof=1) if values.size > 1 else 0.0
            cells[name][stat] = f"{values.mean():.4g} ± {sd:.3g}"
    width = max(len(s) for s in STAT_NAMES)
    col = max(max(len(c) for c in cells[n].values()) for n in names)
    col = max(col, *(len(n) for n in names))
    header = "statistic".ljust(width) + "".join(f"  {n:>{col}}" for n in names)
    lines = [
        f"summary_stats (burn_in={burn_in}, outburst_threshold={outburst_threshold}), "
        f"mean ± sd over seeds",
        header,
        "-" * len(header),
    ]
    for stat in STAT_NAMES:
        lines.append(stat.ljust(width) + "".join(f"  {cells[n][stat]:>{col}}" for n in names))
    lines.append(
        "n_seeds".ljust(width) + "".join(f"  {len(runs_by_point[n]):>{col}}" for n in names)
    )
    return "\n".join(lines)


def _scenario_parameters(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Full parameter set (Mesa defaults + overrides), excluding the seed."""
    params = {**EpsteinScenario._scenario_defaults, **overrides}
    params.pop("rng", None)
    return params


def _run_task(args: tuple[str, int, int, int, int, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Process-pool worker: run one (point, seed) and tag it with the point."""
    point, width, height, seed, steps, overrides = args
    return point, run_mesa_epstein(width, height, seed, steps, **overrides)


def run_point(
    point: str,
    overrides: Mapping[str, Any],
    seeds: Iterable[int],
    width: int,
    height: int,
    steps: int,
    workers: int,
) -> dict[str, Any]:
    """Run all seeds of one parameter point in a process pool.

    Prints one progress line per finished run (to stdout, flushed).

    Returns:
        ``{"metadata": {...}, "runs": [run dicts sorted by seed]}``.
    """
    seeds = list(seeds)
    tasks = [(point, width, height, s, steps, dict(overrides)) for s in seeds]
    runs: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_run_task, t) for t in tasks]
        for i, fut in enumerate(as_completed(futures), start=1):
            _, run = fut.result()
            runs.append(run)
            elapsed = time.perf_counter() - t_start
            eta = elapsed / i * (len(tasks) - i)
            print(
                f"[{point}] {i:3d}/{len(tasks)} seed={run['seed']:3d} "
                f"step_s={run['step_seconds']:6.1f} max_active={max(run['active']):4d} "
                f"elapsed={elapsed / 60:5.1f}min eta={eta / 60:5.1f}min",
                flush=True,
            )
    wall = time.perf_counter() - t_start
    runs.sort(key=lambda r: r["seed"])
    metadata = {
        "point": point,
        "mesa_version": mesa.__version__,
        "python_version": platform.python_version(),
        "model": "mesa.examples.advanced.epstein_civil_violence.EpsteinCivilViolence",
        "scenario_overrides": dict(overrides),
        "parameters": _scenario_parameters(overrides),
        "width": width,
        "height": height,
        "steps": steps,
        "series_length": steps + 1,
        "series_note": "index 0 = after init; index t = after model.step() number t",
        "seeds": seeds,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workers": workers,
        "wall_time_seconds": round(wall, 2),
        "sum_step_seconds": round(sum(r["step_seconds"] for r in runs), 2),
    }
    return {"metadata": metadata, "runs": runs}


def _compact_json(obj: Any, depth: int = 0, expand_depth: int = 3) -> str:
    """JSON with dict/list nesting indented down to ``expand_depth``, leaves compact.

    With the cache layout this puts each run (with its int lists) on one line.
    """
    pad = " " * depth
    if depth < expand_depth and isinstance(obj, dict) and obj:
        items = [
            f"{pad} {json.dumps(str(k))}: {_compact_json(v, depth + 1, expand_depth)}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if depth < expand_depth and isinstance(obj, list) and obj and isinstance(obj[0], dict):
        items = [f"{pad} {_compact_json(v, depth + 1, expand_depth)}" for v in obj]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(obj, separators=(",", ":"))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Run Mesa's Epstein civil-violence example for many seeds at two "
            "parameter points and cache per-step active/quiet/jailed counts."
        )
    )
    parser.add_argument("--n-seeds", type=int, default=64, help="seeds 0..N-1 (default 64)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--steps", type=int, default=400, help="steps per run (default 400)")
    parser.add_argument("--width", type=int, default=40, help="grid width (default 40)")
    parser.add_argument("--height", type=int, default=40, help="grid height (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="process-pool size (default 2)")
    parser.add_argument(
        "--points",
        nargs="+",
        choices=sorted(POINTS),
        default=list(POINTS),
        help="parameter points to run (default: all)",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"cache path (default {DEFAULT_OUTPUT})"
    )
    parser.add_argument(
        "--summary-only",
        action="store_true",
        help="do not run; print the summary table of an existing cache at --output",
    )
    parser.add_argument("--burn-in", type=int, default=50, help="summary burn-in (default 50)")
    parser.add_argument(
        "--outburst-threshold", type=int, default=50, help="summary outburst threshold (default 50)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: run the reference points, write the cache, print stats."""
    args = _parse_args(argv)
    if args.summary_only:
        data = load_reference(args.output)
        runs_by_point = {name: p["runs"] for name, p in data["points"].items()}
        print(stats_table(runs_by_point, args.burn_in, args.outburst_threshold))
        return 0

    seeds = list(range(args.first_seed, args.first_seed + args.n_seeds))
    print(
        f"Mesa {mesa.__version__}: {len(args.points)} point(s) x {len(seeds)} seeds x "
        f"{args.steps} steps on {args.width}x{args.height}, {args.workers} workers",
        flush=True,
    )
    t_start = time.perf_counter()
    points = {
        name: run_point(
            name, POINTS[name], seeds, args.width, args.height, args.steps, args.workers
        )
        for name in args.points
    }
    total = time.perf_counter() - t_start
    data = {
        "schema": SCHEMA,
        "description": (
            "Per-step citizen-state counts from Mesa's bundled Epstein civil-violence "
            "example (unmodified), generated by benchmarks/mesa_epstein.py."
        ),
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "total_wall_time_seconds": round(total, 2),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "points": points,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(_compact_json(data) + "\n", encoding="utf-8")
    tmp.replace(args.output)
    size_kb = args.output.stat().st_size / 1024
    print(f"\nWrote {args.output} ({size_kb:.0f} KiB) in {total / 60:.1f} min\n", flush=True)
    runs_by_point = {name: p["runs"] for name, p in points.items()}
    print(stats_table(runs_by_point, args.burn_in, args.outburst_threshold), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
