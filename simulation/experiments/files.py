"""Files of a run: atomic writes, the one CSV writer, and the one-line error.

Every file khorasan saves goes through :func:`atomic_write_bytes` (a
temporary file renamed into place, so a crash never leaves half a file) and
every table through :func:`csv_text` (deterministic text). Problems with a
run directory are a :class:`ResultsError`: one line ``path: reason``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "TEMP_FILE",
    "ResultsError",
    "RunExistsError",
    "atomic_write_bytes",
    "atomic_write_text",
    "csv_text",
    "is_int",
    "listing",
    "name_path",
]


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


def _umask() -> int:
    """The process's umask (read without changing it)."""
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


#: A temporary file left by :func:`atomic_write_bytes` when a write was killed.
TEMP_FILE = re.compile(r"\..+\.partial")


def csv_text(df: pd.DataFrame, float_format: str | None = None) -> str:
    """Deterministic CSV text (shortest round-trip floats unless given, ``\\n`` line ends)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", float_format=float_format)
    return buf.getvalue()


def listing(names: Sequence[str]) -> str:
    """The first three ``names``, and how many more."""
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def is_int(value: Any) -> bool:
    """Whether ``value`` is an int (a JSON integer), not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)
