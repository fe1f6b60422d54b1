"""Reading runs back: :func:`load_run` and the checks that refuse a damaged run.

Everything is checked before it is used: the manifest
(:mod:`~simulation.experiments.manifest_checks`), each file's size and sha256
against it, and the tables' columns, types, rows and dates.
:func:`run_is_complete` and :func:`run_damage` say whether a run directory
already holds a scenario's run, whole or damaged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.experiments.files import ResultsError, is_int
from simulation.experiments.manifest_checks import MAX_MANIFEST_BYTES, check_manifest
from simulation.experiments.rundir import HASHED_RUN_FILES, PROVINCES_FILE
from simulation.experiments.summaries import ID_COLUMNS, metric_columns
from simulation.scenario.core import DAYS_PER_STEP, Event, Scenario
from simulation.scenario.identity import identity
from simulation.scenario.writer import scenario_to_toml

__all__ = [
    "SUMMARY_COLUMNS",
    "RunData",
    "load_run",
    "run_damage",
    "run_is_complete",
]


@dataclass(frozen=True)
class RunData:
    """A saved run, as read back by :func:`load_run`."""

    path: Path
    timeseries: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any]
    events: tuple[Event, ...]
    #: On the map: one row per replicate, step and place (None for a run on the grid).
    provinces: pd.DataFrame | None = None

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
        return self.start_date + dt.timedelta(days=DAYS_PER_STEP * step)

    def metric(self, name: str) -> pd.DataFrame:
        """Summary rows of one metric, indexed by step."""
        return self.summary[self.summary["metric"] == name].set_index("step")


SUMMARY_COLUMNS: tuple[str, ...] = ("step", "date", "metric", "median", "q10", "q90", "mean")


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (ResultsError if it is missing, not a file or too large)."""
    if not path.exists():
        raise ResultsError(path, "missing; not a complete khorasan run directory")
    if not path.is_file():
        raise ResultsError(path, "not a regular file")
    try:
        if limit is not None and path.stat().st_size > limit:
            raise ResultsError(path, f"larger than {limit:,} bytes; not a khorasan run manifest")
        return path.read_bytes()
    except OSError as exc:
        raise ResultsError(path, f"unreadable: {exc.strerror or exc}") from None


def _verify(path: Path, data: bytes, entry: Mapping[str, Any]) -> None:
    """Refuse ``data`` unless it has the size and sha256 recorded in the manifest."""
    if len(data) != entry["bytes"]:
        raise ResultsError(
            path,
            f"{len(data):,} bytes, but the manifest recorded "
            f"{entry['bytes']:,}; the file is damaged or was changed",
        )
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ResultsError(
            path, "does not match its sha256 in the manifest; the file is damaged or was changed"
        )


def _read_table(path: Path, data: bytes, dtype: Mapping[str, Any]) -> pd.DataFrame:
    """Parse CSV bytes (ResultsError for anything that is not a table)."""
    try:
        text = data.decode("utf-8")
        return pd.read_csv(io.StringIO(text), dtype=dict(dtype))
    except UnicodeDecodeError:
        raise ResultsError(path, "not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise ResultsError(path, "empty; expected a header and rows") from None
    except (pd.errors.ParserError, ValueError, TypeError) as exc:
        raise ResultsError(path, f"not a valid table: {str(exc).splitlines()[0]}") from None


def _columns(path: Path, df: pd.DataFrame, required: Sequence[str]) -> None:
    """Refuse a table lacking a ``required`` column, repeating one, or without rows."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ResultsError(path, f"{missing[0]}: column missing")
    for column in df.columns:  # pandas reads a repeated "x" as "x.1"
        first = re.sub(r"\.\d+$", "", str(column))
        if first != column and first in df.columns:
            raise ResultsError(path, f"{first}: column repeated")
    if df.empty:
        raise ResultsError(path, "no rows; expected one per replicate and step")


def _integers(path: Path, df: pd.DataFrame, column: str) -> None:
    """Refuse ``column`` unless it holds whole numbers in every row."""
    col = df[column]
    if not pd.api.types.is_integer_dtype(col) or pd.api.types.is_bool_dtype(col):
        bad = col[pd.to_numeric(col, errors="coerce").isna()]
        shown = f"{bad.iloc[0]!r}" if len(bad) else "a non-integer value"
        raise ResultsError(path, f"{column}: expected whole numbers in every row, found {shown}")


def _numbers(path: Path, df: pd.DataFrame, column: str) -> None:
    """Refuse ``column`` unless it holds numbers, not all of them missing."""
    col = df[column]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
        shown = f"{bad.iloc[0]!r}" if len(bad) else "a non-numeric value"
        raise ResultsError(path, f"{column}: expected numbers, found {shown}")
    if col.isna().all():
        raise ResultsError(path, f"{column}: no values (every row is empty or NaN)")


def _check_timeseries(path: Path, df: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
    """Refuse a time series that is not every step of every seed the manifest lists."""
    _columns(path, df, [*ID_COLUMNS, *manifest["metrics"]])
    for column in ("replicate", "seed", "step"):
        _integers(path, df, column)
    for column in metric_columns(df):
        _numbers(path, df, column)
    steps = int(manifest["scenario"]["steps"])
    seeds = [int(s) for s in manifest["seeds"]]
    want = len(seeds) * (steps + 1)
    if len(df) != want:
        raise ResultsError(
            path,
            f"{len(df)} rows, expected {want} (steps 0 to {steps} of "
            f"{len(seeds)} replicates); the file is incomplete",
        )
    if set(df["seed"]) != set(seeds):
        raise ResultsError(
            path,
            f"seed: the seeds {sorted(set(df['seed']))[:5]} are not the manifest's {seeds[:5]}",
        )
    pairs = df[["replicate", "seed"]].drop_duplicates()
    if len(pairs) != len(seeds) or pairs["replicate"].nunique() != len(seeds):
        raise ResultsError(
            path, f"replicate: expected one seed per replicate, {len(seeds)} replicates"
        )
    if df.duplicated(["replicate", "step"]).any() or not df["step"].between(0, steps).all():
        raise ResultsError(path, f"step: expected steps 0 to {steps} once per replicate")
    start = dt.date.fromisoformat(manifest["scenario"]["start_date"])
    expected = df["step"].map(
        lambda s: (start + dt.timedelta(days=DAYS_PER_STEP * int(s))).isoformat()
    )
    wrong = df["date"].astype(object).ne(expected.astype(object))
    if wrong.any():
        row = df[wrong].iloc[0]
        raise ResultsError(
            path,
            f"date: {row['date']!r} at step {row['step']}, expected "
            f"{expected[wrong].iloc[0]} (weeks from the start date)",
        )


def _check_summary(path: Path, df: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
    """Refuse a summary with missing columns, bad numbers or unknown metrics."""
    _columns(path, df, SUMMARY_COLUMNS)
    _integers(path, df, "step")
    for column in SUMMARY_COLUMNS[3:]:
        _numbers(path, df, column)
    unknown = sorted(set(df["metric"].astype(str)) - set(manifest["metrics"]))
    if unknown:
        raise ResultsError(path, f"metric: {unknown[0]!r} is not a metric of the run")


def load_run(path: str | os.PathLike[str]) -> RunData:
    """Read and check a run directory written by :func:`write_run`.

    Everything is checked before it is used: the manifest's shape, each
    file's size and sha256 against the manifest, and the tables' columns,
    types, rows and dates. Anything wrong is a ResultsError naming the file
    (and key), so a damaged run is never plotted or compared.
    """
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(path, "no such run directory")
    manifest_path = path / "manifest.json"
    manifest = check_manifest(manifest_path, _read_bytes(manifest_path, MAX_MANIFEST_BYTES))
    data = {}
    for name in HASHED_RUN_FILES:
        data[name] = _read_bytes(path / name)
        _verify(path / name, data[name], manifest["files"][name])
    timeseries = _read_table(path / "timeseries.csv", data["timeseries.csv"], {"date": str})
    _check_timeseries(path / "timeseries.csv", timeseries, manifest)
    summary = _read_table(path / "summary.csv", data["summary.csv"], {"date": str, "metric": str})
    _check_summary(path / "summary.csv", summary, manifest)
    events = tuple(
        Event(
            step=int(e["step"]),
            label=str(e["label"]),
            set=dict(e.get("set") or {}),
            add_isisk_fighters=int(e.get("add_isisk_fighters") or 0),
            region=e.get("region"),
            ramp_steps=int(e.get("ramp_steps") or 0),
            remove_isisk_fighters=int(e.get("remove_isisk_fighters") or 0),
        )
        for e in manifest["events"]
    )
    return RunData(path, timeseries, summary, manifest, events, _provinces(path, manifest))


def _provinces(path: Path, manifest: Mapping[str, Any]) -> pd.DataFrame | None:
    """The record by province, if the manifest lists one (checked against its hash)."""
    entry = manifest["files"].get(PROVINCES_FILE)
    if entry is None:
        return None
    where = path / PROVINCES_FILE
    if not (isinstance(entry, dict) and is_int(entry.get("bytes"))):
        raise ResultsError(path / "manifest.json", f"files.{PROVINCES_FILE}: expected bytes")
    data = _read_bytes(where)
    _verify(where, data, entry)
    table = _read_table(where, data, {"date": str, "province": str})
    _columns(where, table, ("replicate", "seed", "step", "date", "province"))
    return table


def run_is_complete(run_dir: str | os.PathLike[str], scenario: Scenario) -> bool:
    """Whether ``run_dir`` is a finished run of exactly ``scenario`` (same seeds too).

    Every file must match its size and sha256 in the manifest (as
    :func:`load_run` checks), so a damaged run is not complete.
    """
    try:
        run = load_run(run_dir)
    except ResultsError:
        return False
    recorded = run.manifest.get("identity")
    if isinstance(recorded, str):
        return recorded == identity(scenario)
    # written before runs recorded their identity: the scenario file's text decides
    return run.manifest["files"]["scenario.toml"]["sha256"] == _sha256(scenario_to_toml(scenario))


def _sha256(text: str) -> str:
    """The sha256 of ``text`` (UTF-8), in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def run_damage(run_dir: str | os.PathLike[str], scenario: Scenario) -> ResultsError | None:
    """What is wrong with ``run_dir`` if it is a damaged run of exactly ``scenario``, else None.

    It is a run of ``scenario`` if its ``scenario.toml``, or the sha256 its
    manifest records for it, is that of ``scenario``; it is damaged if
    :func:`load_run` refuses it. Anything else (no run, another run, a run
    that is whole) gives None.
    """
    run_dir = Path(run_dir)
    want = scenario_to_toml(scenario)
    try:
        same = _read_bytes(run_dir / "scenario.toml") == want.encode()
    except ResultsError:
        same = False
    if not same:
        try:
            manifest = json.loads(_read_bytes(run_dir / "manifest.json", MAX_MANIFEST_BYTES))
            same = manifest["files"]["scenario.toml"]["sha256"] == _sha256(want)
        except (ResultsError, ValueError, RecursionError, LookupError, TypeError):
            return None
    if not same:
        return None
    try:
        load_run(run_dir)
    except ResultsError as exc:
        return exc
    return None
