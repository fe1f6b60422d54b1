"""The code fingerprint: a short hash of the source that decides a replicate's results.

Dask workers must run the same code as the client, ``--resume`` refuses
replicates saved by other code, and the validation caches are keyed by it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["FINGERPRINT_MODULES", "PACKAGE", "code_fingerprint", "fingerprint_files"]


#: The ``simulation`` package's folder, which the paths below are relative to.
PACKAGE = Path(__file__).resolve().parents[1]


#: The source that decides a replicate's results, as paths in the package (a folder
#: means every module in it): the model with its compiled kernel, the parameter
#: table, the scenario loader, and the experiments modules that run replicates and
#: save, summarise and read back their files.
FINGERPRINT_MODULES: tuple[str, ...] = (
    "experiments/__init__.py",
    "experiments/cluster.py",
    "experiments/execution.py",
    "experiments/files.py",
    "experiments/fingerprint.py",
    "experiments/jobs.py",
    "experiments/loading.py",
    "experiments/manifest.py",
    "experiments/manifest_checks.py",
    "experiments/planning.py",
    "experiments/pool.py",
    "experiments/rundir.py",
    "experiments/store.py",
    "experiments/summaries.py",
    "experiments/workspace.py",
    "model/",
    "model/data/afghanistan.json",  # the map's outlines and people decide results on it
    "scenario/",
    "scenario/table/",
)


def fingerprint_files(package: str | os.PathLike[str] | None = None) -> list[Path]:
    """The files that :func:`code_fingerprint` hashes (in ``package``, default this one)."""
    folder = Path(package) if package is not None else PACKAGE
    files: list[Path] = []
    for entry in FINGERPRINT_MODULES:
        path = folder / entry
        files.extend(sorted(path.glob("*.py")) if entry.endswith("/") else [path])
    return files


def code_fingerprint(package: str | os.PathLike[str] | None = None) -> str:
    """A short hash of the source of :data:`FINGERPRINT_MODULES` (in ``package``, default this one).

    The one code fingerprint: Dask workers must run the same code as the
    client (:func:`execute` compares this on every worker), ``--resume``
    refuses replicates saved by other code (it is recorded in the workspace),
    or the same seeds would give results of two versions mixed, and the
    validation caches are keyed by it.
    """
    folder = Path(package) if package is not None else PACKAGE
    h = hashlib.sha256()
    for path in fingerprint_files(folder):
        try:
            source = path.read_bytes()
        except FileNotFoundError:
            source = b"\0missing"
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(source).digest())
    return h.hexdigest()[:12]
