"""Sweep ISIS-K's attack rate over a few values and print the median deaths per value.

    python examples/sweep_attack_rate.py [OUT] [--values 1,2.2,4] [--replicates N] [--steps N]

Every value runs the same seeds; OUT (default: a new temporary folder) gets
sweep.csv, summary.csv, sweep.json, scenario.toml and sweep.png.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from simulation import api


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print the median cumulative attack deaths per value."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="sweep folder (default: temporary)")
    parser.add_argument(
        "--values", default="1,2.2,4", help="attack rates: A,B,... or START:STOP:NUM"
    )
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter at every point",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip sweep.png")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="khorasan-sweep-")) / "sweep"

    folder = api.sweep(
        "baseline",
        [f"isisk.attack_rate={args.values}"],
        out=out,
        replicates=args.replicates,
        steps=args.steps,
        set=args.set,
        plots=not args.no_plots,
        echo=print,
    )
    summary = pd.read_csv(folder / "summary.csv")
    deaths = summary[summary["metric"] == "cum_attack_deaths"]
    print("\nisisk.attack_rate -> median cumulative attack deaths")
    for rate, median in deaths[["isisk.attack_rate", "median"]].itertuples(index=False, name=None):
        print(f"  {rate:>8g}  {median:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
