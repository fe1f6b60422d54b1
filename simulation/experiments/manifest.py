"""The manifest of a run (scenario, seeds, versions, git commit, hashes) and :func:`write_run`.

``manifest.json`` holds everything needed to understand and repeat a run,
and the size and sha256 of each file beside it, which the readers check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.files import csv_text
from simulation.experiments.jobs import PROVINCES, SNAPSHOTS
from simulation.experiments.rundir import (
    FORMAT,
    FORMAT_VERSION,
    PROVINCES_FILE,
    SNAPSHOTS_FILE,
    check_run_dir,
    publish_dir,
    run_dir_for,
)
from simulation.experiments.summaries import (
    QUANTILES,
    metric_columns,
    summarize,
    tidy_timeseries,
)
from simulation.scenario.core import Event, Scenario
from simulation.scenario.identity import identity
from simulation.scenario.writer import scenario_to_toml

__all__ = [
    "build_manifest",
    "event_record",
    "git_info",
    "package_versions",
    "write_run",
]


def _version(dist: str) -> str:
    """The installed version of ``dist``, or ``unknown``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _khorasan_version() -> str:
    """khorasan's version, installed or from ``pyproject.toml``."""
    try:
        return importlib.metadata.version("khorasan")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def package_versions() -> dict[str, str]:
    """Versions of khorasan, mesa, numpy, pandas and python."""
    return {
        "khorasan": _khorasan_version(),
        "mesa": _version("mesa"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def git_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Commit and dirty flag of the git work tree holding the package, or None."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def event_record(scenario: Scenario, ev: Event) -> dict[str, Any]:
    """An event as a JSON-ready dict, with its date."""
    record = {
        "step": ev.step,
        "date": scenario.date_of(ev.step).isoformat(),
        "label": ev.label,
        "set": dict(ev.set),
        "add_isisk_fighters": ev.add_isisk_fighters,
        "region": ev.region,
        "ramp_steps": ev.ramp_steps,
    }
    if ev.remove_isisk_fighters:  # only where used: older manifests read the same
        record["remove_isisk_fighters"] = ev.remove_isisk_fighters
    return record


def build_manifest(
    scenario: Scenario,
    timeseries: pd.DataFrame,
    *,
    timings: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
    files: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """The manifest of a run: everything needed to understand and repeat it."""
    seeds = timeseries[["replicate", "seed"]].drop_duplicates().sort_values("replicate")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scenario": {
            "name": scenario.name,
            "description": scenario.description,
            "start_date": scenario.start_date.isoformat(),
            "steps": scenario.steps,
            "seed": scenario.seed,
            "replicates": scenario.replicates,
            "source": str(scenario.source) if scenario.source else None,
        },
        "identity": identity(scenario),
        "replicates": len(seeds),
        "seeds": [int(s) for s in seeds["seed"]],
        "params": dict(scenario.params),
        "overrides": dict(scenario.overrides),
        "events": [event_record(scenario, ev) for ev in scenario.events],
        "regions": [vars(r).copy() for r in scenario.regions],
        "metrics": metric_columns(timeseries),
        "quantiles": list(QUANTILES),
        "files": {
            name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in (files or {}).items()
        },
        "versions": package_versions(),
        "git": git_info(),
        "timings": dict(timings or {}),
        "command": list(command if command is not None else sys.argv),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_run(
    out: str | os.PathLike[str],
    scenario: Scenario,
    timeseries: pd.DataFrame,
    *,
    timings: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Write the run directory ``out/<scenario name>/`` and return its path.

    Refuses (RunExistsError) if it exists, unless ``force``; the old
    directory is then replaced only after the new one is complete.
    """
    run_dir = run_dir_for(out, scenario)
    check_run_dir(run_dir, force)
    provinces = timeseries.attrs.get(PROVINCES)  # on the map: the record by province
    ts = tidy_timeseries(timeseries)
    files = {
        "timeseries.csv": csv_text(ts).encode(),
        "summary.csv": csv_text(summarize(ts), "%.10g").encode(),
        "scenario.toml": scenario_to_toml(scenario).encode(),
    }
    if provinces is not None:
        files[PROVINCES_FILE] = provinces
    snapshots = timeseries.attrs.get(SNAPSHOTS)  # with world.snapshot_every
    if snapshots is not None:
        files[SNAPSHOTS_FILE] = snapshots
    manifest = build_manifest(scenario, ts, timings=timings, command=command, files=files)
    files["manifest.json"] = (json.dumps(manifest, indent=2, default=str) + "\n").encode()

    return publish_dir(run_dir, files, force)
