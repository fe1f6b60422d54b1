"""Compare the baseline (US surveillance lost) with us_surveillance_retained.

    python examples/compare_surveillance.py [OUT] [--replicates N] [--steps N] [--set NAME=VALUE]

Both scenarios run with the same seeds into OUT/ (default: a new temporary
folder), then OUT/comparison/ gets comparison.csv, comparison.json and the
figures; the mean difference in each headline metric is printed with its
bootstrap 90% interval.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from simulation import api


def main(argv: list[str] | None = None) -> int:
    """Run both scenarios, compare them and print the differences; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="output folder (default: temporary)")
    parser.add_argument("--replicates", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter in both scenarios",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="khorasan-compare-"))

    size = {"replicates": args.replicates, "steps": args.steps, "set": args.set}
    baseline = api.run("baseline", out=out, plots=False, echo=print, **size)
    retained = api.run("us_surveillance_retained", out=out, plots=False, echo=print, **size)
    result = api.compare([baseline, retained], out=out / "comparison", plots=not args.no_plots)
    diffs = result.table.dropna(subset=["diff_mean"])
    print(f"\n{result.labels[1]} minus {result.labels[0]} (mean, bootstrap 90% CI):")
    for row in diffs.itertuples(index=False):
        print(
            f"  {row.label:<28} {row.diff_mean:+12.1f}  "
            f"[{row.diff_ci_low:.1f}, {row.diff_ci_high:.1f}]"
        )
    for path in result.files:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
