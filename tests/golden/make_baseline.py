"""Regenerate the golden baseline (tests/golden/baseline.json) on purpose.

Like Covasim's ``tests/baseline.json``: a few scenarios, one fixed seed each,
every metric of every week written exactly (``repr`` of each float). The test
``tests/test_golden.py`` re-runs them and requires the same numbers, so any
change to the random draws, their order or a rule shows up. Run this only
when a change is meant to alter results, and say why in the commit::

    python -m tests.golden.make_baseline
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BASELINE = HERE / "baseline.json"

#: (scenario file, seed, steps, overrides): small enough to run in seconds,
#: wide enough to touch every mechanism (events, ramps, regions, Epstein rules).
CASES: list[tuple[str, int, int, dict[str, Any]]] = [
    ("baseline.toml", 11, 60, {"world.width": 40, "world.height": 40}),
    ("defector_surge.toml", 12, 40, {"world.width": 40, "world.height": 40}),
    ("repression_fixed.toml", 13, 40, {"world.width": 40, "world.height": 40}),
    ("historical_2015.toml", 14, 120, {"world.width": 40, "world.height": 40}),
    ("epstein_2002.toml", 15, 60, {}),
    ("epstein_legitimacy_sudden.toml", 16, 60, {}),
]


def case_key(case: tuple[str, int, int, dict[str, Any]]) -> str:
    """``baseline.toml@11x60``: the key of a case in the baseline file."""
    name, seed, steps, _ = case
    return f"{name}@{seed}x{steps}"


def run_case(case: tuple[str, int, int, dict[str, Any]]) -> dict[str, list[Any]]:
    """Every metric of one fixed-seed run, column by column, as plain JSON values."""
    from simulation.model import simulate
    from simulation.scenario.loader import load_scenario

    name, seed, steps, overrides = case
    scenario = load_scenario(
        REPO / "scenarios" / name, overrides={"scenario.steps": steps, **overrides}
    )
    df = simulate(scenario, seed, make_views=False)
    out: dict[str, list[Any]] = {}
    for column in df.columns:
        values = df[column].tolist()
        out[str(column)] = [v if isinstance(v, (int, float, str)) else str(v) for v in values]
    return out


def compute() -> dict[str, dict[str, list[Any]]]:
    """All cases, keyed by :func:`case_key`."""
    return {case_key(c): run_case(c) for c in CASES}


def dumps(data: dict[str, Any]) -> str:
    """The file's text: floats by ``repr`` (exact round trip), one column a line."""
    lines = ["{"]
    for i, case in enumerate(sorted(data)):
        lines.append(f"  {json.dumps(case)}: {{")
        columns = sorted(data[case])
        for j, col in enumerate(columns):
            end = "," if j < len(columns) - 1 else ""
            lines.append(f"    {json.dumps(col)}: {json.dumps(data[case][col])}{end}")
        lines.append("  }," if i < len(data) - 1 else "  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    BASELINE.write_text(dumps(compute()), encoding="utf-8")
    print(f"wrote {BASELINE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
