"""Run the baseline scenario (2 replicates x 20 weeks) and print its headline metrics.

    python examples/run_baseline.py [OUT] [--replicates N] [--steps N] [--set NAME=VALUE]

OUT is the folder for the run directory (default: a new temporary folder).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from simulation import api


def main(argv: list[str] | None = None) -> int:
    """Run, save and summarise the baseline; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="output folder (default: temporary)")
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter, as khorasan run --set",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="khorasan-run-"))

    run_dir = api.run(
        "baseline",
        out=out,
        replicates=args.replicates,
        steps=args.steps,
        set=args.set,
        plots=not args.no_plots,
        echo=print,
    )
    table = api.headlines(run_dir)
    print(f"\n{run_dir}: headline metrics, median over {len(table)} replicates")
    print(table.drop(columns=["replicate", "seed"], errors="ignore").median().to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
