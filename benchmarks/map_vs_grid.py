"""A 260-week replicate on the map against the same on the abstract grid, in one run.

    python benchmarks/map_vs_grid.py [--repeats 5]

Runs ``scenarios/afghanistan.toml`` (150 x 121 cells, about 4,200 civilians on
Afghan land) and ``scenarios/baseline.toml`` (80 x 80, about 4,500 civilians),
interleaved, each for its 260 weeks with the same seeds after one warm-up run
of each (the kernel compiled), and prints the median wall time of each and
their ratio (map / grid). The target is a ratio of at most 2: ensembles on the
map must stay fast enough for the sensitivity analysis.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from simulation.model import run_model
from simulation.scenario.loader import load_scenario

REPO = Path(__file__).resolve().parents[1]


def seconds(path: Path, seed: int) -> float:
    """Wall time of one replicate of ``path`` with ``seed`` (no Mesa views)."""
    scenario = load_scenario(path)
    start = time.perf_counter()
    run_model(scenario, seed, make_views=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="seeds per world (default 5)")
    args = parser.parse_args()
    worlds = {
        "map": REPO / "scenarios" / "afghanistan.toml",
        "grid": REPO / "scenarios" / "baseline.toml",
    }
    for path in worlds.values():
        seconds(path, 0)  # warm-up: compile and cache
    times: dict[str, list[float]] = {name: [] for name in worlds}
    for seed in range(1, args.repeats + 1):
        for name, path in worlds.items():
            times[name].append(seconds(path, seed))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name in worlds:
        print(f"{name}: median {median[name]:.2f} s per 260-week replicate ({args.repeats} seeds)")
    ratio = median["map"] / median["grid"]
    print(f"map / grid: {ratio:.2f} (target <= 2): {'met' if ratio <= 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
