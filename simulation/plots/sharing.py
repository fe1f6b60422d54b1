"""What the shared outputs (``khorasan report`` and ``animate``) have in common.

Where they go by default, and the one guard on where they may go: a file
that khorasan did not write is never replaced. Each output carries a marker
(:data:`MARKER`) that says khorasan wrote it; an existing ``--out`` without
it is refused, and so is any other name inside a run directory (whose
``--force`` replaces only what khorasan wrote there).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from simulation.experiments.files import ResultsError
from simulation.experiments.rundir import FORMAT, SHARED_FILES

__all__ = ["MARKER", "check_output", "khorasan_dir"]

#: Every shared output holds these bytes (an HTML meta tag, a GIF comment, MP4 metadata).
MARKER = b"khorasan-shared-output"
#: How far into a file the marker is looked for (it is near the start, or an MP4's end).
_SCAN_BYTES = 1 << 20


def khorasan_dir(path: Path, manifest: str, kind: str) -> bool:
    """Whether ``path/manifest`` is a khorasan JSON manifest of format ``kind``."""
    try:
        data = json.loads((path / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == kind


def _has_marker(path: Path) -> bool:
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_SCAN_BYTES)
            fh.seek(max(0, size - _SCAN_BYTES))
            tail = fh.read(_SCAN_BYTES)
    except OSError:
        return False
    return MARKER in head or MARKER in tail


def check_output(out: str | os.PathLike[str]) -> Path:
    """``out`` as a path, or ResultsError if writing it could replace or add a user's file."""
    out = Path(out)
    parent = out.parent
    if khorasan_dir(parent, "manifest.json", FORMAT) and out.name not in SHARED_FILES:
        raise ResultsError(
            out,
            f"is inside the run directory {parent}, where khorasan writes only "
            f"{', '.join(SHARED_FILES)}; use --out for another place",
        )
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise ResultsError(out, "exists and is not a regular file; use --out for another place")
    if out.exists() and not _has_marker(out):
        raise ResultsError(
            out,
            "already exists and was not written by khorasan; move it away or use --out "
            "for another place",
        )
    if not parent.is_dir():
        raise ResultsError(parent, "no such directory")
    return out
