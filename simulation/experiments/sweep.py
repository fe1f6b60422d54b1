"""Parameter sweeps: one or two parameters over a grid of values, many replicates each.

``--param NAME=START:STOP:NUM`` gives ``NUM`` evenly spaced values from
``START`` to ``STOP`` (integers for int parameters, duplicates dropped);
``--param NAME=A,B,C`` lists the values. Every grid point runs the same
seeds (common random numbers), so neighbouring points differ only by the
parameter.

A sweep directory holds

- ``sweep.csv``: tidy, one row per grid point and replicate: ``point``, the
  swept parameters, ``replicate``, ``seed`` and the headline metrics
  (:data:`simulation.experiments.summaries.HEADLINES`);
- ``summary.csv``: per point and headline metric the median, 10% and 90%
  quantiles and mean over replicates;
- ``sweep.png``: for one parameter, a line with a 10-90% band per headline
  metric against the parameter; for two, a heatmap of the median;
- ``sweep.json`` (what was run, seeds, versions, timings) and
  ``scenario.toml`` (the scenario the grid varies).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.files import csv_text
from simulation.experiments.manifest import git_info, package_versions
from simulation.experiments.rundir import SWEEP_FORMAT
from simulation.experiments.summaries import HEADLINES, QUANTILES, headline_table
from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario
from simulation.scenario.identity import identity
from simulation.scenario.loader import parse_assignment
from simulation.scenario.writer import scenario_to_toml

__all__ = ["SweepAxis", "parse_axis", "sweep_files", "sweep_points", "sweep_table"]

FORMAT = SWEEP_FORMAT
FORMAT_VERSION = 1
MAX_PARAMS = 2
#: Most grid points a sweep may have (per axis and in all): each point runs every
#: replicate and is loaded as a scenario, so more is almost always a typo.
MAX_POINTS = 10_000


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter and its values."""

    name: str
    values: tuple[Any, ...]

    @property
    def kind(self) -> type:
        """The parameter's type."""
        return ptable.get(self.name).kind


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def parse_axis(text: str) -> SweepAxis:
    """Parse ``NAME=START:STOP:NUM`` or ``NAME=A,B,...``; ValueError with a one-line reason.

    Values are checked against the parameter's type and range; int
    parameters get integer grid values (rounded, duplicates dropped).
    """
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ValueError(f"expected NAME=START:STOP:NUM or NAME=A,B,..., got {text!r}")
    param = ptable.get(name)  # UnknownParameter (a KeyError) with a hint
    values: list[Any]
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise ValueError(f"expected START:STOP:NUM, got {spec!r}")
        if param.kind not in (int, float):
            raise ValueError(f"{name} is a {param.type_name}; list its values as A,B,...")
        start, stop = _number(parts[0], "START"), _number(parts[1], "STOP")
        try:
            num = int(parts[2])
        except ValueError:
            raise ValueError(f"NUM {parts[2]!r} is not a whole number") from None
        if num < 1:
            raise ValueError(f"NUM must be at least 1, got {num}")
        if num > MAX_POINTS:  # checked before the grid is made
            raise ValueError(f"NUM {num:,} is more than the {MAX_POINTS:,} points a sweep may have")
        grid = np.linspace(start, stop, num) if num > 1 else np.array([start])
        if param.kind is int:
            values = [int(round(v)) for v in grid]
        else:
            values = [float(round(v, 12)) for v in grid]
    else:
        parts = [part for part in spec.split(",") if part.strip()]
        if len(parts) > MAX_POINTS:
            raise ValueError(
                f"{len(parts):,} values are more than the {MAX_POINTS:,} points a sweep may have"
            )
        values = [parse_assignment(f"v={part}")[1] for part in parts]
        if not values:
            raise ValueError(f"no values in {spec!r}")
    checked = []
    for v in values:
        try:
            checked.append(param.check(v))
        except ValueError as exc:
            raise ValueError(f"value {v!r}: {exc}") from None
    return SweepAxis(name, tuple(dict.fromkeys(checked)))


def sweep_points(axes: Sequence[SweepAxis]) -> list[tuple[tuple[str, Any], ...]]:
    """Every grid point, as ``((name, value), ...)``; the first parameter varies slowest.

    ValueError if the grid has more than :data:`MAX_POINTS` points (checked first).
    """
    n = math.prod(len(a.values) for a in axes)
    if n > MAX_POINTS:
        sizes = " x ".join(f"{len(a.values):,}" for a in axes)
        raise ValueError(
            f"the grid has {sizes} = {n:,} points, more than the {MAX_POINTS:,} a sweep may have"
        )
    return [
        tuple(zip((a.name for a in axes), combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


def sweep_table(
    points: Sequence[tuple[tuple[str, Any], ...]], frames: Sequence[pd.DataFrame]
) -> pd.DataFrame:
    """Tidy table: one row per point and replicate with the parameters and headline metrics."""
    parts = []
    for k, (point, frame) in enumerate(zip(points, frames, strict=True)):
        table = headline_table(frame)
        for i, (name, value) in enumerate(point):
            table.insert(i, name, value)
        table.insert(0, "point", k)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def sweep_summary(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Per point and headline metric: median, 10%, 90% and mean over replicates."""
    rows = []
    for point, g in table.groupby("point", sort=True):
        for h in HEADLINES:
            v = g[h.name].to_numpy(dtype=float)
            rows.append(
                {
                    "point": point,
                    **{n: g[n].iloc[0] for n in names},
                    "metric": h.name,
                    "median": float(np.median(v)),
                    "q10": float(np.quantile(v, QUANTILES[0])),
                    "q90": float(np.quantile(v, QUANTILES[1])),
                    "mean": float(v.mean()),
                }
            )
    return pd.DataFrame(rows)


def _csv(df: pd.DataFrame) -> bytes:
    """A sweep table as CSV (ten significant digits), by the one CSV writer."""
    return csv_text(df, "%.10g").encode()


def axes_record(axes: Sequence[SweepAxis]) -> list[dict[str, Any]]:
    """The axes as JSON-ready dicts."""
    return [{"name": a.name, "values": list(a.values)} for a in axes]


def sweep_files(
    scenario: Scenario,
    axes: Sequence[SweepAxis],
    table: pd.DataFrame,
    *,
    seeds: Sequence[int],
    figure: bytes | None = None,
    timings: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, bytes]:
    """A sweep directory's files, for :func:`~simulation.experiments.rundir.publish_dir`.

    ``table`` is :func:`sweep_table` of the points' results; ``figure`` the
    PNG of ``sweep.png`` (drawn by :func:`simulation.plots.sweep.sweep_figure`),
    left out if None.
    """
    names = [a.name for a in axes]
    files = {"sweep.csv": _csv(table), "summary.csv": _csv(sweep_summary(table, names))}
    if figure is not None:
        files["sweep.png"] = bytes(figure)
    files["scenario.toml"] = scenario_to_toml(scenario).encode()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scenario": {
            "name": scenario.name,
            "start_date": scenario.start_date.isoformat(),
            "steps": scenario.steps,
            "seed": scenario.seed,
            "source": str(scenario.source) if scenario.source else None,
        },
        "identity": identity(scenario),
        "axes": axes_record(axes),
        "points": int(table["point"].nunique()),
        "replicates": len(seeds),
        "seeds": [int(s) for s in seeds],
        "headlines": {
            h.name: {"label": h.label, "unit": h.unit, "metric": h.metric, "how": h.how}
            for h in HEADLINES
        },
        "files": {n: {"bytes": len(d)} for n, d in files.items()},
        "versions": package_versions(),
        "git": git_info(),
        "timings": dict(timings or {}),
        "command": list(command if command is not None else sys.argv),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    files["sweep.json"] = (json.dumps(manifest, indent=2, default=str) + "\n").encode()
    return files


def sweep_is_complete(
    sweep_dir: str | Path, scenario: Scenario, axes: Sequence[SweepAxis], seeds: Sequence[int]
) -> bool:
    """Whether ``sweep_dir`` is a finished sweep of exactly this scenario, grid and seeds."""
    sweep_dir = Path(sweep_dir)
    try:
        manifest = json.loads((sweep_dir / "sweep.json").read_text(encoding="utf-8"))
        saved = (sweep_dir / "scenario.toml").read_text(encoding="utf-8")
        (sweep_dir / "sweep.csv").stat()
    except (OSError, json.JSONDecodeError):
        return False
    recorded = manifest.get("identity")
    same = (  # a sweep written before sweeps recorded their identity: the file's text decides
        recorded == identity(scenario)
        if isinstance(recorded, str)
        else saved == scenario_to_toml(scenario)
    )
    return (
        manifest.get("format") == FORMAT
        and same
        and manifest.get("axes") == json.loads(json.dumps(axes_record(axes)))
        and manifest.get("seeds") == [int(s) for s in seeds]
    )
