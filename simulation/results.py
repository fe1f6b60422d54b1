"""Run directories: write and read the saved results of an ensemble.

A run directory ``OUT/<scenario name>/`` holds

- ``timeseries.csv``: ``replicate, seed, step, date`` and every metric, one
  row per replicate and step;
- ``summary.csv``: per metric and step the median, 10% and 90% quantiles and
  mean over replicates (tidy: ``step, date, metric, median, q10, q90, mean``);
- ``manifest.json``: the resolved scenario, seeds, package versions, git
  commit, timings and command line;
- ``scenario.toml``: the fully resolved scenario, runnable as it is;
- ``plots/`` (written later by :mod:`simulation.plots`).

The directory is assembled under a hidden temporary name and renamed into
place when complete, so a crash never leaves a run that looks finished. An
existing run directory is only replaced with ``force=True``, and only once
the new one is complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.metrics import METRIC_NAMES
from simulation.scenario import Event, Scenario
from simulation.scenario_file import scenario_to_toml

__all__ = [
    "ID_COLUMNS",
    "ResultsError",
    "RunData",
    "RunExistsError",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_run_dir",
    "load_run",
    "run_dir_for",
    "summarize",
    "write_run",
]

ID_COLUMNS: tuple[str, ...] = ("replicate", "seed", "step", "date")
QUANTILES: tuple[float, float] = (0.1, 0.9)
FORMAT = "khorasan-run"
FORMAT_VERSION = 1


class ResultsError(Exception):
    """A problem with a run directory, reported as one line ``path: reason``."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = " ".join(reason.split())
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class RunExistsError(ResultsError):
    """The run directory exists and ``force`` was not given."""


# --- atomic writes -----------------------------------------------------------

def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text with ``\\n`` line ends."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# --- run directory -----------------------------------------------------------

def slug(name: str) -> str:
    """A file-system-safe directory name for a scenario name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return s or "scenario"


def run_dir_for(out: str | os.PathLike[str], scenario: Scenario) -> Path:
    """Where the run of ``scenario`` goes under ``out``."""
    return Path(out) / slug(scenario.name)


def check_run_dir(run_dir: str | os.PathLike[str], force: bool = False) -> None:
    """Raise RunExistsError if ``run_dir`` exists and ``force`` is false."""
    run_dir = Path(run_dir)
    for parent in run_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ResultsError(parent, "exists and is not a directory")
            break
    if run_dir.exists() and not force:
        raise RunExistsError(run_dir, "run directory already exists "
                             "(use --force to replace it, or --out for another place)")
    if run_dir.exists() and not run_dir.is_dir():
        raise ResultsError(run_dir, "exists and is not a directory")


def _csv(df: pd.DataFrame, float_format: str | None = None) -> str:
    """Deterministic CSV text (shortest round-trip floats unless given, ``\\n`` line ends)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", float_format=float_format)
    return buf.getvalue()


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns of a time-series frame: known metrics first, then extras."""
    known = [m for m in METRIC_NAMES if m in df.columns]
    extra = [c for c in df.columns if c not in ID_COLUMNS and c not in METRIC_NAMES]
    return known + extra


def tidy_timeseries(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in the saved order, rows by replicate then step."""
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"time series lacks columns {missing}")
    out = df[[*ID_COLUMNS, *metric_columns(df)]]
    out = out.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)
    return out.astype({"replicate": "int64", "seed": "int64", "step": "int64",
                       "date": "string"})


def summarize(timeseries: pd.DataFrame, quantiles: tuple[float, float] = QUANTILES
              ) -> pd.DataFrame:
    """Per step and metric: median, low and high quantiles and mean over replicates."""
    lo, hi = quantiles
    dates = timeseries.groupby("step", sort=True)["date"].first()
    steps = dates.index.to_numpy()
    parts = []
    for metric in metric_columns(timeseries):
        wide = timeseries.pivot(index="step", columns="replicate", values=metric)
        values = wide.reindex(steps).to_numpy(dtype=float)
        parts.append(pd.DataFrame({
            "step": steps,
            "date": dates.to_numpy(),
            "metric": metric,
            "median": np.nanmedian(values, axis=1),
            f"q{round(lo * 100)}": np.nanquantile(values, lo, axis=1),
            f"q{round(hi * 100)}": np.nanquantile(values, hi, axis=1),
            "mean": np.nanmean(values, axis=1),
        }))
    return pd.concat(parts, ignore_index=True)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _khorasan_version() -> str:
    try:
        return importlib.metadata.version("khorasan")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
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
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def event_record(scenario: Scenario, ev: Event) -> dict[str, Any]:
    """An event as a JSON-ready dict, with its date."""
    return {
        "step": ev.step,
        "date": scenario.date_of(ev.step).isoformat(),
        "label": ev.label,
        "set": dict(ev.set),
        "add_isisk_fighters": ev.add_isisk_fighters,
        "region": ev.region,
        "ramp_steps": ev.ramp_steps,
    }


def build_manifest(scenario: Scenario, timeseries: pd.DataFrame, *,
                   timings: Mapping[str, Any] | None = None,
                   command: Sequence[str] | None = None,
                   files: Mapping[str, bytes] | None = None) -> dict[str, Any]:
    """The manifest of a run: everything needed to understand and repeat it."""
    seeds = (timeseries[["replicate", "seed"]].drop_duplicates()
             .sort_values("replicate"))
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
        "replicates": len(seeds),
        "seeds": [int(s) for s in seeds["seed"]],
        "params": dict(scenario.params),
        "overrides": dict(scenario.overrides),
        "events": [event_record(scenario, ev) for ev in scenario.events],
        "regions": [vars(r).copy() for r in scenario.regions],
        "metrics": metric_columns(timeseries),
        "quantiles": list(QUANTILES),
        "files": {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in (files or {}).items()},
        "versions": package_versions(),
        "git": git_info(),
        "timings": dict(timings or {}),
        "command": list(command if command is not None else sys.argv),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_run(out: str | os.PathLike[str], scenario: Scenario, timeseries: pd.DataFrame, *,
              timings: Mapping[str, Any] | None = None,
              command: Sequence[str] | None = None, force: bool = False) -> Path:
    """Write the run directory ``out/<scenario name>/`` and return its path.

    Refuses (RunExistsError) if it exists, unless ``force``; the old
    directory is then replaced only after the new one is complete.
    """
    run_dir = run_dir_for(out, scenario)
    check_run_dir(run_dir, force)
    ts = tidy_timeseries(timeseries)
    files = {
        "timeseries.csv": _csv(ts).encode(),
        "summary.csv": _csv(summarize(ts), "%.10g").encode(),
        "scenario.toml": scenario_to_toml(scenario).encode(),
    }
    manifest = build_manifest(scenario, ts, timings=timings, command=command, files=files)
    files["manifest.json"] = (json.dumps(manifest, indent=2, default=str) + "\n").encode()

    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = run_dir.parent / f".{run_dir.name}.partial-{tag}"
    old = run_dir.parent / f".{run_dir.name}.old-{tag}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            atomic_write_bytes(tmp / name, data)
        if run_dir.exists():
            check_run_dir(run_dir, force)
            os.replace(run_dir, old)
        os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not run_dir.exists():
            os.replace(old, run_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return run_dir


# --- reading -----------------------------------------------------------------

@dataclass(frozen=True)
class RunData:
    """A saved run, as read back by :func:`load_run`."""

    path: Path
    timeseries: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any]
    events: tuple[Event, ...]

    @property
    def name(self) -> str:
        """The scenario name."""
        return str(self.manifest["scenario"]["name"])

    @property
    def replicates(self) -> int:
        """Number of replicates saved."""
        return int(self.manifest["replicates"])

    @property
    def params(self) -> dict[str, Any]:
        """Resolved parameter values of the run."""
        return dict(self.manifest["params"])

    @property
    def start_date(self) -> dt.date:
        """Date of step 0."""
        return dt.date.fromisoformat(self.manifest["scenario"]["start_date"])

    def date_of(self, step: int) -> dt.date:
        """Calendar date of ``step``."""
        return self.start_date + dt.timedelta(days=7 * step)

    def metric(self, name: str) -> pd.DataFrame:
        """Summary rows of one metric, indexed by step."""
        return self.summary[self.summary["metric"] == name].set_index("step")


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read a run directory written by :func:`write_run` (ResultsError if it is not one)."""
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(path, "no such run directory")
    for name in ("manifest.json", "timeseries.csv", "summary.csv"):
        if not (path / name).is_file():
            raise ResultsError(path / name, "missing; not a complete khorasan run directory")
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(path / "manifest.json", f"unreadable: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ResultsError(path / "manifest.json", "not a khorasan run manifest")
    timeseries = pd.read_csv(path / "timeseries.csv", dtype={"date": str})
    summary = pd.read_csv(path / "summary.csv", dtype={"date": str, "metric": str})
    events = tuple(
        Event(step=int(e["step"]), label=str(e["label"]), set=dict(e.get("set") or {}),
              add_isisk_fighters=int(e.get("add_isisk_fighters") or 0),
              region=e.get("region"), ramp_steps=int(e.get("ramp_steps") or 0))
        for e in manifest.get("events", [])
    )
    return RunData(path, timeseries, summary, manifest, events)
