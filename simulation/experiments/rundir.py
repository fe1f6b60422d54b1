"""Run directories: where they go, and when one may be written or replaced.

A run directory ``OUT/<scenario name>/`` holds ``manifest.json``,
``timeseries.csv``, ``summary.csv``, ``scenario.toml`` and ``plots/``.
It is assembled under a hidden temporary name and renamed into place when
complete (:func:`publish_dir`), so a crash never leaves a run that looks
finished. An existing run directory is only replaced with ``force=True``,
only if khorasan wrote it and nothing else was added
(:func:`check_replaceable`), and only once the new one is complete.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulation.experiments.files import (
    TEMP_FILE,
    ResultsError,
    RunExistsError,
    atomic_write_bytes,
    listing,
    name_path,
)
from simulation.scenario.core import Scenario

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "HASHED_RUN_FILES",
    "PROVINCES_FILE",
    "RUN_FILES",
    "SHARED_FILES",
    "SNAPSHOTS_FILE",
    "SWEEP_FILES",
    "SWEEP_FORMAT",
    "check_replaceable",
    "check_run_dir",
    "prepare_target",
    "publish_dir",
    "run_dir_for",
    "set_aside",
    "slug",
]

FORMAT = "khorasan-run"
FORMAT_VERSION = 1


def slug(name: str) -> str:
    """A file-system-safe directory name for a scenario name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return s or "scenario"


def run_dir_for(out: str | os.PathLike[str], scenario: Scenario) -> Path:
    """Where the run of ``scenario`` goes under ``out``."""
    return Path(out) / slug(scenario.name)


#: Files of a run directory (``manifest.json``) and of a sweep directory (``sweep.json``).
RUN_FILES: tuple[str, ...] = ("manifest.json", "timeseries.csv", "summary.csv", "scenario.toml")
SWEEP_FILES: tuple[str, ...] = (
    "sweep.json",
    "sweep.csv",
    "summary.csv",
    "sweep.png",
    "scenario.toml",
)
#: The ``format`` of a sweep directory's ``sweep.json`` (see :mod:`simulation.experiments.sweep`).
SWEEP_FORMAT = "khorasan-sweep"
#: The files of a run directory whose sizes and hashes its manifest holds.
HASHED_RUN_FILES: tuple[str, ...] = RUN_FILES[1:]
#: On the map, a run also has its record by province (hashed in the manifest too).
PROVINCES_FILE = "provinces.csv"
#: With ``world.snapshot_every``, a run also has its snapshots (hashed in the manifest too).
SNAPSHOTS_FILE = "snapshots.npz"
#: What ``khorasan report`` and ``animate`` write into a run directory by default: not
#: part of the run (not in its manifest), but khorasan's, so ``--force`` may replace them.
SHARED_FILES: tuple[str, ...] = ("report.html", "animation.gif", "animation.mp4")


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


def check_replaceable(path: str | os.PathLike[str]) -> None:
    """Raise ResultsError unless ``path`` is a run or sweep directory that khorasan wrote.

    That is a real directory (not a link) holding khorasan's ``manifest.json``
    or ``sweep.json`` and nothing but the files khorasan writes there (those
    the manifest lists, PNGs in ``plots/`` and the :data:`SHARED_FILES`):
    ``--force`` may replace only
    such a directory, never a user's folder or a run with the user's own
    files added.
    """
    path = Path(path)
    if path.is_symlink():
        raise ResultsError(
            path, "is a symbolic link; --force replaces only directories khorasan wrote"
        )
    if not path.is_dir():
        raise ResultsError(path, "exists and is not a directory")
    found = _khorasan_manifest(path)
    if found is None:
        raise ResultsError(
            path,
            "not a directory khorasan wrote (it holds no khorasan "
            "manifest.json or sweep.json); --force replaces only those: move it "
            "away or use --out for another place",
        )
    name, manifest = found
    listed = manifest.get("files")
    allowed = {
        *(listed if isinstance(listed, dict) else ()),
        *(RUN_FILES if name == RUN_FILES[0] else SWEEP_FILES),
        *(SHARED_FILES if name == RUN_FILES[0] else ()),
    }
    foreign: list[str] = []
    for entry in sorted(path.iterdir()):
        real_dir = entry.is_dir() and not entry.is_symlink()
        if entry.name == "plots" and real_dir and name == RUN_FILES[0]:
            foreign += [
                f"plots/{p.name}"
                for p in sorted(entry.iterdir())
                if p.is_symlink()
                or not p.is_file()
                or not (p.suffix == ".png" or TEMP_FILE.fullmatch(p.name))
            ]
        elif entry.name not in allowed or entry.is_symlink() or not entry.is_file():
            foreign.append(entry.name + ("/" if real_dir else ""))
    if foreign:
        raise ResultsError(
            path,
            f"holds files khorasan did not write ({listing(foreign)}); "
            "--force replaces only what khorasan wrote: move them away first",
        )


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
        raise RunExistsError(
            run_dir,
            "run directory already exists (use --force to replace it, or --out for another place)",
        )
    check_replaceable(run_dir)


def publish_dir(
    target: str | os.PathLike[str], files: Mapping[str, bytes], force: bool = False
) -> Path:
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
        if (
            re.fullmatch(rf"\.{re.escape(run_dir.name)}\.(partial|old)-[0-9a-f]{{8}}", stale.name)
            and stale.is_dir()
            and not stale.is_symlink()
        ):
            shutil.rmtree(stale, ignore_errors=True)
    return run_dir


def set_aside(run_dir: str | os.PathLike[str]) -> Path:
    """Rename ``run_dir`` to ``NAME.damaged-TAG`` next to it (nothing is deleted)."""
    run_dir = Path(run_dir)
    kept = run_dir.with_name(f"{run_dir.name}.damaged-{uuid.uuid4().hex[:8]}")
    os.rename(run_dir, kept)
    return kept


def prepare_target(
    target: str | os.PathLike[str], *, resume: bool, force: bool, complete: bool
) -> bool:
    """Check that ``target`` may be written; False if ``resume`` finds it already done.

    ``complete`` says whether the existing ``target`` holds exactly what
    would be written. Without ``force`` an existing target is refused
    (RunExistsError), unless ``resume`` and ``complete``.
    """
    target = Path(target)
    if target.exists() and resume and not force:
        if complete:
            return False
        raise RunExistsError(
            target,
            "already exists with other settings "
            "(use --force to replace it, or --out for another place)",
        )
    check_run_dir(target, force)
    return True
