"""The scenario files shipped with the package, found by name.

They live in the top-level ``scenarios/`` folder of the source;
``simulation/scenario/scenarios`` is a symlink to it, so a wheel (``pip install
.``) holds a copy as package data and a checkout or an editable install reads
the folder itself. ``extends = "baseline.toml"`` in a shipped file resolves
beside it, in the same folder.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

__all__ = ["SUFFIX", "resolve", "shipped_dir", "shipped_names"]

#: The suffix of a scenario file.
SUFFIX = ".toml"


def shipped_dir() -> Path:
    """The folder of the shipped scenario files."""
    folder = Path(str(files("simulation.scenario") / "scenarios"))
    if folder.is_dir():
        return folder
    # a checkout whose symlink was written as a plain file (git without symlinks)
    return Path(__file__).resolve().parents[2] / "scenarios"


def shipped_names() -> list[str]:
    """The names of the shipped scenarios (file stems), sorted."""
    return sorted(p.stem for p in shipped_dir().glob(f"*{SUFFIX}") if p.is_file())


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """The scenario file meant by ``name_or_path``.

    An existing path wins; else a shipped scenario's name (``baseline``, or
    ``baseline.toml``) is its shipped file. Anything else is returned as given,
    so that loading it reports the missing file.
    """
    path = Path(name_or_path)
    try:
        if path.exists() or path.parent != Path("."):
            return path
    except (OSError, ValueError):  # a name too long, a NUL byte: the loader tells
        return path
    stem = path.name.removesuffix(SUFFIX)
    if stem in shipped_names():
        return shipped_dir() / f"{stem}{SUFFIX}"
    return path
