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
existing run directory is only replaced with ``force=True``, only if
khorasan wrote it and nothing else was added (:func:`check_replaceable`),
and only once the new one is complete.

While a run is going, each finished replicate is saved at once as
``OUT/.NAME.partial/<scenario key>/seed-<seed>.csv`` (a :class:`Workspace`),
so an interrupted run can be resumed: only the missing replicates are run
again, and the run directory, written from the saved files, is byte for byte
what an uninterrupted run writes. The workspace records the code
fingerprint and settings it was made with (``settings.json``) and refuses to
be resumed with others. It is removed once the run directory is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
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

from simulation.model.record import METRIC_NAMES
from simulation.scenario.core import Event, Scenario
from simulation.scenario.loader import scenario_to_toml

__all__ = [
    "HEADLINES",
    "ID_COLUMNS",
    "Headline",
    "ReplicateStore",
    "ResultsError",
    "RunData",
    "RunExistsError",
    "Workspace",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_replaceable",
    "check_run_dir",
    "headline_table",
    "load_run",
    "partial_dir_for",
    "prepare_target",
    "publish_dir",
    "run_damage",
    "run_dir_for",
    "run_is_complete",
    "scenario_key",
    "set_aside",
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


def name_path(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """``exc`` with ``path`` as its file name if it names none (write errors such as ENOSPC)."""
    if exc.filename is None and exc.errno is not None:
        exc.filename = str(path)
    return exc


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, then rename it into place.

    An OSError (a full disk, say) names ``path`` and leaves no temporary file.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if exc.filename == tmp:  # name the file the caller asked for, not the hidden one
            exc.filename = None
        raise name_path(exc, path) from None
    except BaseException:
        if tmp is not None:
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


#: Files of a run directory (``manifest.json``) and of a sweep directory (``sweep.json``).
RUN_FILES: tuple[str, ...] = ("manifest.json", "timeseries.csv", "summary.csv", "scenario.toml")
SWEEP_FILES: tuple[str, ...] = ("sweep.json", "sweep.csv", "summary.csv", "sweep.png",
                                "scenario.toml")
#: The ``format`` of a sweep directory's ``sweep.json`` (see :mod:`simulation.experiments.sweep`).
SWEEP_FORMAT = "khorasan-sweep"
#: A temporary file left by :func:`atomic_write_bytes` when a write was killed.
_TEMP_FILE = re.compile(r"\..+\.partial")


def _khorasan_manifest(path: Path) -> tuple[str, dict[str, Any]] | None:
    """The name and content of the khorasan manifest in ``path``, if it holds one."""
    for name, kind in ((RUN_FILES[0], FORMAT), (SWEEP_FILES[0], SWEEP_FORMAT)):
        try:
            data = json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == kind:
            return name, data
    return None


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def check_replaceable(path: str | os.PathLike[str]) -> None:
    """Raise ResultsError unless ``path`` is a run or sweep directory that khorasan wrote.

    That is a real directory (not a link) holding khorasan's ``manifest.json``
    or ``sweep.json`` and nothing but the files khorasan writes there (those
    the manifest lists, and PNGs in ``plots/``): ``--force`` may replace only
    such a directory, never a user's folder or a run with the user's own
    files added.
    """
    path = Path(path)
    if path.is_symlink():
        raise ResultsError(path, "is a symbolic link; --force replaces only directories "
                           "khorasan wrote")
    if not path.is_dir():
        raise ResultsError(path, "exists and is not a directory")
    found = _khorasan_manifest(path)
    if found is None:
        raise ResultsError(path, "not a directory khorasan wrote (it holds no khorasan "
                           "manifest.json or sweep.json); --force replaces only those: move it "
                           "away or use --out for another place")
    name, manifest = found
    listed = manifest.get("files")
    allowed = {*(listed if isinstance(listed, dict) else ()),
               *(RUN_FILES if name == RUN_FILES[0] else SWEEP_FILES)}
    foreign: list[str] = []
    for entry in sorted(path.iterdir()):
        real_dir = entry.is_dir() and not entry.is_symlink()
        if entry.name == "plots" and real_dir and name == RUN_FILES[0]:
            foreign += [f"plots/{p.name}" for p in sorted(entry.iterdir())
                        if p.is_symlink() or not p.is_file()
                        or not (p.suffix == ".png" or _TEMP_FILE.fullmatch(p.name))]
        elif entry.name not in allowed or entry.is_symlink() or not entry.is_file():
            foreign.append(entry.name + ("/" if real_dir else ""))
    if foreign:
        raise ResultsError(path, f"holds files khorasan did not write ({_listing(foreign)}); "
                           "--force replaces only what khorasan wrote: move them away first")


def check_run_dir(run_dir: str | os.PathLike[str], force: bool = False) -> None:
    """Raise RunExistsError if ``run_dir`` exists and ``force`` is false.

    With ``force`` an existing ``run_dir`` must be one that khorasan wrote
    (:func:`check_replaceable`); anything else is refused (ResultsError).
    """
    run_dir = Path(run_dir)
    for parent in run_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ResultsError(parent, "exists and is not a directory")
            break
    if not run_dir.exists() and not run_dir.is_symlink():
        return
    if not force:
        raise RunExistsError(run_dir, "run directory already exists "
                             "(use --force to replace it, or --out for another place)")
    check_replaceable(run_dir)


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

    return publish_dir(run_dir, files, force)


def publish_dir(target: str | os.PathLike[str], files: Mapping[str, bytes],
                force: bool = False) -> Path:
    """Write ``files`` into a new directory ``target``, all or nothing.

    The files are written into a hidden ``.NAME.partial-TAG`` folder next to
    ``target``, which is then renamed into place, so a crash never leaves a
    directory that looks complete. An existing ``target`` is replaced only
    with ``force`` and only once the new one is complete. Names may contain
    ``/`` for subfolders.
    """
    run_dir = Path(target)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = run_dir.parent / f".{run_dir.name}.partial-{tag}"
    old = run_dir.parent / f".{run_dir.name}.old-{tag}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise name_path(exc, run_dir) from None
    try:
        for name, data in files.items():
            try:
                atomic_write_bytes(tmp / name, data)
            except OSError as exc:  # name the file being published, not the hidden copy
                if exc.errno is not None:
                    exc.filename = str(run_dir / name)
                raise
        if run_dir.exists() or run_dir.is_symlink():
            check_run_dir(run_dir, force)
            os.replace(run_dir, old)
        os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not run_dir.exists():
            os.replace(old, run_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
    # what an earlier publish of ``target``, killed half-way, left behind
    for stale in run_dir.parent.glob(f".{glob.escape(run_dir.name)}.*-*"):
        if (re.fullmatch(rf"\.{re.escape(run_dir.name)}\.(partial|old)-[0-9a-f]{{8}}", stale.name)
                and stale.is_dir() and not stale.is_symlink()):
            shutil.rmtree(stale, ignore_errors=True)
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


#: The files of a run directory whose sizes and hashes its manifest holds.
HASHED_RUN_FILES: tuple[str, ...] = RUN_FILES[1:]
SUMMARY_COLUMNS: tuple[str, ...] = ("step", "date", "metric", "median", "q10", "q90", "mean")
#: Larger manifests are refused unread (a real one is a few kB).
MAX_MANIFEST_BYTES = 16 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


class _Manifest:
    """Checks of the parts of a manifest that the readers use, each a ResultsError."""

    def __init__(self, path: Path, data: bytes):
        self.path = path
        try:
            value = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise ResultsError(path, "not UTF-8 text") from None
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ResultsError(path, f"not valid JSON: {exc}"
                               if isinstance(exc, json.JSONDecodeError)
                               else "not valid JSON: nested too deeply") from None
        if not isinstance(value, dict):
            raise ResultsError(path, f"expected a JSON object, not {_json_type(value)}")
        self.data: dict[str, Any] = value

    def fail(self, key: str, reason: str) -> ResultsError:
        return ResultsError(self.path, f"{key}: {reason}")

    def get(self, key: str, within: dict[str, Any] | None = None, prefix: str = "") -> Any:
        table = self.data if within is None else within
        if key not in table:
            raise self.fail(prefix + key, "missing")
        return table[key]

    def integer(self, key: str, within: dict[str, Any] | None = None, prefix: str = "",
                minimum: int = 0) -> int:
        value = self.get(key, within, prefix)
        if not _is_int(value) or value < minimum:
            raise self.fail(prefix + key, f"expected an integer >= {minimum}, not {_shown(value)}")
        return value

    def text(self, key: str, within: dict[str, Any] | None = None, prefix: str = "") -> str:
        value = self.get(key, within, prefix)
        if not isinstance(value, str):
            raise self.fail(prefix + key, f"expected a string, not {_shown(value)}")
        return value

    def table(self, key: str, within: dict[str, Any] | None = None, prefix: str = ""
              ) -> dict[str, Any]:
        value = self.get(key, within, prefix)
        if not isinstance(value, dict):
            raise self.fail(prefix + key, f"expected a JSON object, not {_json_type(value)}")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.get(key)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, not {_json_type(value)}")
        return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    if isinstance(value, (dict, list)):
        return _json_type(value)
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _check_manifest(path: Path, data: bytes) -> dict[str, Any]:
    """The manifest, checked for everything :class:`RunData` and the readers use."""
    m = _Manifest(path, data)
    if m.data.get("format") != FORMAT:
        raise m.fail("format", f"expected {FORMAT!r}; not a khorasan run manifest")
    version = m.get("format_version")
    if not _is_int(version) or version < 1:
        raise m.fail("format_version", f"expected an integer, not {_shown(version)}")
    if version > FORMAT_VERSION:
        raise m.fail("format_version", f"{version} is newer than this khorasan reads "
                     f"({FORMAT_VERSION}); upgrade khorasan")
    sc = m.table("scenario")
    m.text("name", sc, "scenario.")
    start = m.text("start_date", sc, "scenario.")
    try:
        start_date = dt.date.fromisoformat(start)
    except ValueError:
        raise m.fail("scenario.start_date", f"expected a date YYYY-MM-DD, not {_shown(start)}"
                     ) from None
    steps = m.integer("steps", sc, "scenario.", minimum=1)
    try:
        start_date + dt.timedelta(days=7 * steps)
    except OverflowError:
        raise m.fail("scenario.steps", f"{steps} weeks after {start} is past the year 9999"
                     ) from None
    m.integer("seed", sc, "scenario.")
    replicates = m.integer("replicates", minimum=1)
    seeds = m.array("seeds")
    if not all(_is_int(s) and s >= 0 for s in seeds):
        raise m.fail("seeds", "expected a list of integers >= 0")
    if len(seeds) != replicates or len(set(seeds)) != len(seeds):
        raise m.fail("seeds", f"expected {replicates} different seeds (replicates), "
                     f"not {len(seeds)}")
    params = m.table("params")
    if "surveillance.withdrawal_week" in params:
        m.integer("surveillance.withdrawal_week", params, "params.", minimum=-2**63)
    for i, ev in enumerate(m.array("events")):
        where = f"events[{i}]."
        if not isinstance(ev, dict):
            raise m.fail(f"events[{i}]", f"expected a JSON object, not {_json_type(ev)}")
        m.integer("step", ev, where)
        m.text("label", ev, where)
        if not isinstance(ev.get("set") or {}, dict):
            raise m.fail(where + "set", f"expected a JSON object, not {_json_type(ev['set'])}")
        for key in ("add_isisk_fighters", "ramp_steps"):
            if ev.get(key) is not None:
                m.integer(key, ev, where)
        if ev.get("region") is not None:
            m.text("region", ev, where)
    metrics = m.array("metrics")
    if not metrics or not all(isinstance(x, str) for x in metrics):
        raise m.fail("metrics", "expected a list of metric names")
    files = m.table("files")
    for name in HASHED_RUN_FILES:
        entry = m.table(name, files, "files.")
        m.integer("bytes", entry, f"files.{name}.")
        digest = m.text("sha256", entry, f"files.{name}.")
        if not _SHA256.fullmatch(digest):
            raise m.fail(f"files.{name}.sha256", "expected 64 lowercase hex digits")
    return m.data


def _verify(path: Path, data: bytes, entry: Mapping[str, Any]) -> None:
    """Refuse ``data`` unless it has the size and sha256 recorded in the manifest."""
    if len(data) != entry["bytes"]:
        raise ResultsError(path, f"{len(data):,} bytes, but the manifest recorded "
                           f"{entry['bytes']:,}; the file is damaged or was changed")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ResultsError(path, "does not match its sha256 in the manifest; "
                           "the file is damaged or was changed")


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
    col = df[column]
    if not pd.api.types.is_integer_dtype(col) or pd.api.types.is_bool_dtype(col):
        bad = col[pd.to_numeric(col, errors="coerce").isna()]
        shown = f"{bad.iloc[0]!r}" if len(bad) else "a non-integer value"
        raise ResultsError(path, f"{column}: expected whole numbers in every row, "
                           f"found {shown}")


def _numbers(path: Path, df: pd.DataFrame, column: str) -> None:
    col = df[column]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
        shown = f"{bad.iloc[0]!r}" if len(bad) else "a non-numeric value"
        raise ResultsError(path, f"{column}: expected numbers, found {shown}")
    if col.isna().all():
        raise ResultsError(path, f"{column}: no values (every row is empty or NaN)")


def _check_timeseries(path: Path, df: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
    _columns(path, df, [*ID_COLUMNS, *manifest["metrics"]])
    for column in ("replicate", "seed", "step"):
        _integers(path, df, column)
    for column in metric_columns(df):
        _numbers(path, df, column)
    steps = int(manifest["scenario"]["steps"])
    seeds = [int(s) for s in manifest["seeds"]]
    want = len(seeds) * (steps + 1)
    if len(df) != want:
        raise ResultsError(path, f"{len(df)} rows, expected {want} (steps 0 to {steps} of "
                           f"{len(seeds)} replicates); the file is incomplete")
    if set(df["seed"]) != set(seeds):
        raise ResultsError(path, f"seed: the seeds {sorted(set(df['seed']))[:5]} are not the "
                           f"manifest's {seeds[:5]}")
    pairs = df[["replicate", "seed"]].drop_duplicates()
    if len(pairs) != len(seeds) or pairs["replicate"].nunique() != len(seeds):
        raise ResultsError(path, "replicate: expected one seed per replicate, "
                           f"{len(seeds)} replicates")
    if df.duplicated(["replicate", "step"]).any() or not df["step"].between(0, steps).all():
        raise ResultsError(path, f"step: expected steps 0 to {steps} once per replicate")
    start = dt.date.fromisoformat(manifest["scenario"]["start_date"])
    expected = df["step"].map(lambda s: (start + dt.timedelta(days=7 * int(s))).isoformat())
    wrong = df["date"].astype(object).ne(expected.astype(object))
    if wrong.any():
        row = df[wrong].iloc[0]
        raise ResultsError(path, f"date: {row['date']!r} at step {row['step']}, expected "
                           f"{expected[wrong].iloc[0]} (weeks from the start date)")


def _check_summary(path: Path, df: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
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
    manifest = _check_manifest(manifest_path, _read_bytes(manifest_path, MAX_MANIFEST_BYTES))
    data = {}
    for name in HASHED_RUN_FILES:
        data[name] = _read_bytes(path / name)
        _verify(path / name, data[name], manifest["files"][name])
    timeseries = _read_table(path / "timeseries.csv", data["timeseries.csv"], {"date": str})
    _check_timeseries(path / "timeseries.csv", timeseries, manifest)
    summary = _read_table(path / "summary.csv", data["summary.csv"],
                          {"date": str, "metric": str})
    _check_summary(path / "summary.csv", summary, manifest)
    events = tuple(
        Event(step=int(e["step"]), label=str(e["label"]), set=dict(e.get("set") or {}),
              add_isisk_fighters=int(e.get("add_isisk_fighters") or 0),
              region=e.get("region"), ramp_steps=int(e.get("ramp_steps") or 0))
        for e in manifest["events"]
    )
    return RunData(path, timeseries, summary, manifest, events)


# --- headline metrics ----------------------------------------------------------

@dataclass(frozen=True)
class Headline:
    """A number summarising one replicate's whole run, e.g. cumulative attack deaths."""

    name: str
    label: str
    unit: str
    metric: str
    how: str  # "sum", "max", "last" or "mean" over the steps of the replicate

    def of(self, values: pd.Series) -> float:
        """The headline of one replicate's series (rows in step order, step 0 first)."""
        if self.how == "sum":
            return float(values.sum())
        if self.how == "max":
            return float(values.max())
        if self.how == "last":
            return float(values.iloc[-1])
        return float(values.iloc[1:].mean() if len(values) > 1 else values.mean())


#: The per-replicate numbers that ``compare`` and ``sweep`` report. Sums run
#: over every step (flows are zero at step 0); the mean is over weeks 1..N.
HEADLINES: tuple[Headline, ...] = (
    Headline("cum_attack_deaths", "Cumulative attack deaths", "deaths", "attack_deaths", "sum"),
    Headline("peak_isisk_fighters", "Peak ISIS-K fighters", "fighters", "isisk_fighters", "max"),
    Headline("final_isisk_fighters", "Final ISIS-K fighters", "fighters", "isisk_fighters",
             "last"),
    Headline("mean_repression", "Mean repression", "0-1", "repression", "mean"),
    Headline("total_arrests", "Total arrests", "people", "arrests", "sum"),
)
HEADLINE_INDEX: dict[str, Headline] = {h.name: h for h in HEADLINES}


def headline_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate: ``replicate``, ``seed`` and every headline metric."""
    rows = []
    ordered = timeseries.sort_values(["replicate", "step"], kind="stable")
    for (rep, seed), g in ordered.groupby(["replicate", "seed"], sort=True):
        row: dict[str, Any] = {"replicate": int(rep), "seed": int(seed)}
        for h in HEADLINES:
            row[h.name] = h.of(g[h.metric]) if h.metric in g.columns else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["replicate", "seed", *HEADLINE_INDEX])


# --- replicates saved as they finish (resume) ------------------------------------

def scenario_key(scenario: Scenario) -> str:
    """A short hash of everything in ``scenario`` that can change a replicate's result.

    The seed and replicate count are left out: a replicate's file is named by
    its own seed, so a resumed run with more replicates reuses the saved ones.
    """
    import dataclasses

    bare = dataclasses.replace(scenario, seed=0, replicates=1, description="", source=None)
    return hashlib.sha256(scenario_to_toml(bare).encode()).hexdigest()[:12]


def read_replicate_csv(path: str | os.PathLike[str] | io.BytesIO) -> pd.DataFrame:
    """Read a replicate CSV back with exactly the values that were written."""
    # pandas 3 parses floats exactly by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, dtype={"date": str}, **exact)


class ReplicateStore:
    """One CSV per finished replicate: ``ROOT/<scenario key>/seed-<seed>.csv``.

    Each file is written atomically as soon as its replicate finishes, so a
    killed run loses at most the replicates that were still running. A
    replicate that raised leaves ``seed-<seed>.error.txt`` (its traceback)
    instead, and is run again on resume. Each CSV has a hidden check file
    ``.seed-<seed>.csv.check`` (its size, sha256 and rows); a CSV that does
    not match it is run again too, never used.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self._keys: dict[int, tuple[Scenario, str]] = {}  # keeps the scenario alive
        self.redo: dict[Path, str] = {}  # saved files that did not verify, and why

    def folder(self, scenario: Scenario) -> Path:
        """The folder of ``scenario``'s replicates (with its ``scenario.toml``)."""
        known = self._keys.get(id(scenario))
        if known is None:
            known = self._keys[id(scenario)] = (scenario, scenario_key(scenario))
        return self.root / known[1]

    def path(self, scenario: Scenario, seed: int) -> Path:
        """Where the replicate of ``scenario`` with ``seed`` is saved."""
        return self.folder(scenario) / f"seed-{seed}.csv"

    def check_path(self, scenario: Scenario, seed: int) -> Path:
        """The replicate's check file: the size, sha256 and rows of its CSV."""
        path = self.path(scenario, seed)
        return path.with_name(f".{path.name}.check")

    def problem(self, scenario: Scenario, seed: int) -> str | None:
        """Why that replicate's saved file cannot be used, or None if it verifies."""
        path = self.path(scenario, seed)
        if not path.is_file():
            return "not saved"
        try:
            self._verified(scenario, seed)
        except ResultsError as exc:
            return exc.reason
        return None

    def has(self, scenario: Scenario, seed: int) -> bool:
        """Whether that replicate is saved whole (its file matches its check file).

        A file that does not verify (damaged, cut short, or without a check
        file, as an older khorasan saved it) counts as not saved, so it is
        run again; the reason is kept in :attr:`redo`.
        """
        why = self.problem(scenario, seed)
        if why is not None and why != "not saved":
            self.redo[self.path(scenario, seed)] = why
        return why is None

    def save(self, scenario: Scenario, seed: int, frame: pd.DataFrame) -> Path:
        """Save one replicate's frame (atomically) and drop any earlier error file.

        The check file (size, sha256 and rows of the CSV) is written first,
        then the CSV, each atomically: a replicate's CSV is there only once
        it can be verified, and a kill in between leaves no CSV.
        """
        folder = self.folder(scenario)
        path = self.path(scenario, seed)
        try:
            if not (folder / "scenario.toml").is_file():
                atomic_write_text(folder / "scenario.toml", scenario_to_toml(scenario))
            data = _csv(frame).encode()
            check = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                     "rows": len(frame)}
            atomic_write_text(self.check_path(scenario, seed), json.dumps(check) + "\n")
            atomic_write_bytes(path, data)
        except OSError as exc:  # e.g. a full disk: say which replicate could not be saved
            raise name_path(exc, path) from None
        self.redo.pop(path, None)
        with contextlib.suppress(OSError):
            os.unlink(self.error_path(scenario, seed))
        return path

    def _verified(self, scenario: Scenario, seed: int) -> tuple[bytes, int]:
        """The CSV's bytes and rows, if they match its check file (else ResultsError)."""
        path, check_path = self.path(scenario, seed), self.check_path(scenario, seed)
        try:
            data = path.read_bytes()
            check = json.loads(check_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ResultsError(path, "its check file is missing" if exc.filename
                               == str(check_path) else "missing") from None
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8 or not JSON
            raise ResultsError(path, f"its check file is unreadable: {exc}") from None
        if not (isinstance(check, dict) and _is_int(check.get("bytes"))
                and _is_int(check.get("rows")) and isinstance(check.get("sha256"), str)):
            raise ResultsError(path, "its check file is damaged")
        if len(data) != check["bytes"] or hashlib.sha256(data).hexdigest() != check["sha256"]:
            raise ResultsError(path, f"{len(data):,} bytes that do not match the "
                               f"{check['bytes']:,} bytes saved; the file is damaged")
        return data, check["rows"]

    def load(self, scenario: Scenario, seed: int) -> pd.DataFrame:
        """Read one saved replicate, checked against its check file (else ResultsError)."""
        data, rows = self._verified(scenario, seed)
        frame = read_replicate_csv(io.BytesIO(data))
        if len(frame) != rows:
            raise ResultsError(self.path(scenario, seed), f"{len(frame)} rows, {rows} saved")
        return frame

    def error_path(self, scenario: Scenario, seed: int) -> Path:
        """Where the traceback of a failed replicate goes."""
        return self.folder(scenario) / f"seed-{seed}.error.txt"

    def save_error(self, scenario: Scenario, seed: int, text: str) -> Path:
        """Record that a replicate failed."""
        return atomic_write_text(self.error_path(scenario, seed), text)

    def count(self) -> int:
        """Number of saved replicates (of any scenario)."""
        return sum(1 for _ in self.root.glob("*/seed-*.csv")) if self.root.is_dir() else 0


#: The settings an interrupted run was started with, in its workspace.
SETTINGS_FILE = "settings.json"
#: What a workspace's scenario folder holds: replicates, error records, the scenario.
_SAVED_FILE = re.compile(
    r"seed-\d+\.csv|\.seed-\d+\.csv\.check|seed-\d+\.error\.txt|scenario\.toml|\..+\.partial"
)


def _canonical(settings: Mapping[str, Any]) -> str:
    """``settings`` as JSON text that is equal exactly when the settings are."""
    return json.dumps(dict(settings), indent=1, sort_keys=True, default=str) + "\n"


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _mismatch(saved: int, old: str | None, new: str) -> str:
    """Why ``saved`` replicates recorded with settings ``old`` cannot be resumed with ``new``."""
    what = f"its {saved} saved replicate{'s' if saved != 1 else ''}"
    try:
        before = json.loads(old) if old is not None else None
    except ValueError:
        before = None
    if not isinstance(before, dict):
        return (f"{what} have no record of the code and settings that made them (an older "
                "khorasan?); resuming could mix them with other results: add --force to "
                "discard them and start over")
    after = json.loads(new)
    if before.get("code") != after.get("code"):
        return (f"{what} were made by other khorasan code (fingerprint {before.get('code')}, "
                f"now {after.get('code')}); resuming would mix results of two code versions: "
                "add --force to discard them and start over")
    missing = object()
    diffs = [f"{key} {_brief(before.get(key))} -> {_brief(after.get(key))}"
             if key in before and key in after else f"{key} {'added' if key in after else 'gone'}"
             for key in sorted({*after, *before}, key=lambda k: (not k.startswith("scenario."), k))
             if before.get(key, missing) != after.get(key, missing)]
    return (f"{what} were made with other settings ({_listing(diffs)}); resuming would mix "
            "them: run with the settings they were made with, or add --force to discard them "
            "and start over")


def partial_dir_for(target: str | os.PathLike[str]) -> Path:
    """The hidden folder where the replicates of ``target`` are saved until it is written."""
    target = Path(target)
    return target.parent / f".{target.name}.partial"


class Workspace:
    """The saved replicates of one run (or sweep) directory that is not written yet.

    ``OUT/.NAME.partial/`` holds a :class:`ReplicateStore`; the finished
    directory ``OUT/NAME/`` is written only when every replicate is saved
    (by :func:`publish_dir`, all or nothing), and the workspace is then
    removed. The workspace is locked while in use, so two processes never
    fill it at once.
    """

    def __init__(self, target: str | os.PathLike[str]):
        self.target = Path(target)
        self.partial = partial_dir_for(self.target)
        self.store = ReplicateStore(self.partial)
        self._lock: int | None = None
        self._made_parent = False

    def open(self, *, resume: bool, force: bool,
             settings: Mapping[str, Any] | None = None) -> Workspace:
        """Create (or, with ``resume``, reuse) the workspace and lock it.

        Saved replicates of an earlier run are kept only with ``resume``;
        without it they are discarded with ``force`` and otherwise refused
        (ResultsError), so finished work is never thrown away by accident.

        ``settings`` (JSON-ready: the code fingerprint, the scenario, its
        seeds...) is recorded in ``settings.json``; ``resume`` refuses saved
        replicates recorded with other settings, saying what differs, unless
        ``force`` (which then discards them and starts over).
        """
        import fcntl

        self._made_parent = not self.partial.parent.exists()
        self.partial.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.partial / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ResultsError(self.partial, "in use by another khorasan process") from None
        self._lock = fd
        try:
            self._check_saved(resume, force, settings)
        except BaseException:
            self.close()
            raise
        return self

    def _check_saved(self, resume: bool, force: bool,
                     settings: Mapping[str, Any] | None) -> None:
        """Keep, refuse or (with ``force``) discard what an earlier run saved."""
        saved = self.store.count()
        new = None if settings is None else _canonical(settings)
        old = self._recorded()
        if saved and not resume:
            if not force:
                raise ResultsError(self.target, f"an interrupted run saved {saved} replicate"
                                   f"{'s' if saved != 1 else ''} in {self.partial}; add --resume "
                                   "to finish it, or --force to start over")
            self._clear()
        elif saved and new is not None and old != new:
            if not force:
                raise ResultsError(self.partial, _mismatch(saved, old, new))
            self._clear()
        if new is not None and self._recorded() != new:
            atomic_write_text(self.partial / SETTINGS_FILE, new)

    def _recorded(self) -> str | None:
        try:
            return (self.partial / SETTINGS_FILE).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None

    def _clear(self) -> None:
        """Discard the saved replicates, refusing if the folder holds anything else."""
        foreign = []
        for child in sorted(self.partial.iterdir()):
            if child.name in (".lock", SETTINGS_FILE) or _TEMP_FILE.fullmatch(child.name):
                ok = child.is_file() and not child.is_symlink()
            elif re.fullmatch(r"[0-9a-f]{12}", child.name):
                ok = child.is_dir() and not child.is_symlink() and all(
                    f.is_file() and not f.is_symlink() and _SAVED_FILE.fullmatch(f.name)
                    for f in child.iterdir())
            else:
                ok = False
            if not ok:
                foreign.append(child.name)
        if foreign:
            raise ResultsError(self.partial, f"holds files khorasan did not write "
                               f"({_listing(foreign)}); --force discards only khorasan's saved "
                               "replicates: move them away first")
        for child in self.partial.iterdir():
            if child.name != ".lock":
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    def close(self) -> None:
        """Release the lock; the saved replicates stay (an empty workspace is removed)."""
        if self._lock is not None:
            if not any(self.partial.glob("*/seed-*")):
                shutil.rmtree(self.partial, ignore_errors=True)
                if self._made_parent:  # leave no empty OUT behind
                    with contextlib.suppress(OSError):
                        self.partial.parent.rmdir()
            os.close(self._lock)
            self._lock = None

    def remove(self) -> None:
        """Delete the workspace once its directory is written."""
        shutil.rmtree(self.partial, ignore_errors=True)
        self.close()


def run_is_complete(run_dir: str | os.PathLike[str], scenario: Scenario) -> bool:
    """Whether ``run_dir`` is a finished run of exactly ``scenario`` (same seeds too).

    Every file must match its size and sha256 in the manifest (as
    :func:`load_run` checks), so a damaged run is not complete.
    """
    try:
        run = load_run(run_dir)
    except ResultsError:
        return False
    return run.manifest["files"]["scenario.toml"]["sha256"] == _sha256(scenario_to_toml(scenario))


def _sha256(text: str) -> str:
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


def set_aside(run_dir: str | os.PathLike[str]) -> Path:
    """Rename ``run_dir`` to ``NAME.damaged-TAG`` next to it (nothing is deleted)."""
    run_dir = Path(run_dir)
    kept = run_dir.with_name(f"{run_dir.name}.damaged-{uuid.uuid4().hex[:8]}")
    os.rename(run_dir, kept)
    return kept


def prepare_target(target: str | os.PathLike[str], *, resume: bool, force: bool,
                   complete: bool) -> bool:
    """Check that ``target`` may be written; False if ``resume`` finds it already done.

    ``complete`` says whether the existing ``target`` holds exactly what
    would be written. Without ``force`` an existing target is refused
    (RunExistsError), unless ``resume`` and ``complete``.
    """
    target = Path(target)
    if target.exists() and resume and not force:
        if complete:
            return False
        raise RunExistsError(target, "already exists with other settings "
                             "(use --force to replace it, or --out for another place)")
    check_run_dir(target, force)
    return True
