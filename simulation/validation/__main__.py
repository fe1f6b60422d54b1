"""Build docs/validation.md: every table and figure of the validation.

    python -m simulation.validation --workers 2      # full run (about 8 min on 2 shared
                                                     # cores uncached; seconds when cached)
    python -m simulation.validation --quick          # fewer seeds and steps (about 2 min)
    python -m simulation.validation --parts epstein  # one part, to docs/validation_partial.md
    python -m simulation.validation --parts loop     # the vicious circle alone (a few min)

Each part caches its simulations in ``docs/data/`` (:mod:`.cache`); the script
prints and records (in ``docs/data/validation_run.json`` and on the page) how
long each part took.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from simulation.experiments.fingerprint import code_fingerprint
from simulation.validation.agreement import agreement_part
from simulation.validation.cache import LEDGER
from simulation.validation.epstein import epstein_part
from simulation.validation.historical import historical_part
from simulation.validation.loop import loop_part
from simulation.validation.page import render
from simulation.validation.page.figures import (
    figure_agreement,
    figure_crises,
    figure_historical,
    figure_run2,
)
from simulation.validation.page.loop import figure_loop
from simulation.validation.paths import DATA, DOCS, FIG, ROOT
from simulation.validation.space import space_part

#: The parts of docs/validation.md, in order.
ALL_PARTS = ("agreement", "epstein", "historical", "space", "loop")
#: Each part: its title, how it runs, and the figures it draws (file stem, function).
PARTS: dict[
    str,
    tuple[
        str, Callable[..., dict[str, Any]], tuple[tuple[str, Callable[[Any, Path], None], str], ...]
    ],
] = {
    "agreement": (
        "Part 1: agreement with Mesa's Epstein example",
        agreement_part,
        (("validation_agreement", figure_agreement, ""),),
    ),
    "epstein": (
        "Part 2: Epstein (2002)",
        epstein_part,
        (("validation_run2", figure_run2, "run2"), ("validation_crises", figure_crises, "")),
    ),
    "historical": (
        "Part 3: historical scenario",
        historical_part,
        (("validation_historical", figure_historical, ""),),
    ),
    "space": ("Part 4: space (the map scenario)", space_part, ()),
    "loop": (
        "Part 5: the vicious circle",
        loop_part,
        (
            ("validation_loop_baseline", figure_loop, "baseline"),
            ("validation_loop_repression_fixed", figure_loop, "repression_fixed"),
        ),
    ),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: ``--quick``, ``--parts``, ``--workers``, ``--allow-stale``."""
    ap = argparse.ArgumentParser(
        prog="python -m simulation.validation", description="Build docs/validation.md"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="fewer seeds and steps; writes docs/validation_quick.md instead",
    )
    ap.add_argument(
        "--parts",
        nargs="+",
        default=list(ALL_PARTS),
        choices=ALL_PARTS,
        help="run only these parts; the page then goes to "
        "docs/validation_partial.md, so the full docs/validation.md is kept",
    )
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument(
        "--allow-stale",
        action="store_true",
        help="reuse caches made with other code (say so in the log)",
    )
    return ap.parse_args(argv)


def run_part(name: str, args: argparse.Namespace, suffix: str) -> tuple[dict[str, Any], float]:
    """Run one part and draw its figures; its results and the seconds it took."""
    title, fn, figures = PARTS[name]
    LEDGER.part = name
    t0 = time.perf_counter()
    print(title, flush=True)
    res = fn(args.quick, args.workers, args.allow_stale)
    for stem, draw, key in figures:
        draw(res[key] if key else res, FIG / f"{stem}{suffix}.png")
    return res, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the parts, write figures, docs/validation.md and docs/data/validation_run.json."""
    args = parse_args(argv)
    t_all = time.perf_counter()
    LEDGER.workers = args.workers
    FIG.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    results: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    for name in ALL_PARTS:
        if name in args.parts:
            results[name], timings[name] = run_part(name, args, suffix)
    timings["total"] = time.perf_counter() - t_all
    text = render(
        results.get("agreement"),
        results.get("epstein"),
        results.get("historical"),
        results.get("space"),
        timings,
        args.quick,
        loop=results.get("loop"),
    )
    if set(args.parts) != set(ALL_PARTS):
        suffix += "_partial"  # never overwrite the full page with a part of it
    out = DOCS / f"validation{suffix}.md"
    out.write_text(text, encoding="utf-8")
    record = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "parts": args.parts,
        "workers": args.workers,
        "seconds": {k: round(v, 1) for k, v in timings.items()},
        "cached_simulation_seconds": {k: round(v, 1) for k, v in LEDGER.compute_seconds.items()},
        "model_hash": code_fingerprint(),
    }
    (DATA / f"validation_run{suffix}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(
        f"Wrote {out.relative_to(ROOT)}; took {timings['total']:.0f} s "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in timings.items() if k != 'total')})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
