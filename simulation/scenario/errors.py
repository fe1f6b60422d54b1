"""The one error of scenario files, :class:`ScenarioError`, and how files are named in it.

Every problem in a scenario file or an override is one line,
``file: key: reason``; keys and reasons are cut to a readable length.
"""

from __future__ import annotations

import os

__all__ = ["ScenarioError", "display_path"]

#: Longest key or reason in an error message, in characters.
_KEY_MAX, _REASON_MAX = 120, 400


class ScenarioError(Exception):
    """A problem in a scenario file or override, reported as ``file: key: reason``."""

    def __init__(self, file: str | os.PathLike[str], key: str, reason: str):
        self.file = str(file)
        self.key = _clip(" ".join(str(key).split()), _KEY_MAX)
        self.reason = _clip(" ".join(str(reason).split()), _REASON_MAX)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)
