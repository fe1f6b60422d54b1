"""Checks of a saved ``manifest.json`` before anything in it is used.

Each problem is a :class:`~simulation.experiments.files.ResultsError` naming
the manifest and the key (``scenario.steps: expected an integer >= 1, ...``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from simulation.experiments.files import ResultsError, is_int
from simulation.experiments.rundir import FORMAT, FORMAT_VERSION, HASHED_RUN_FILES
from simulation.scenario.core import DAYS_PER_STEP

__all__ = ["MAX_MANIFEST_BYTES", "check_manifest"]


#: Larger manifests are refused unread (a real one is a few kB).
MAX_MANIFEST_BYTES = 16 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Manifest:
    """Checks of the parts of a manifest that the readers use, each a ResultsError."""

    def __init__(self, path: Path, data: bytes):
        self.path = path
        try:
            value = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise ResultsError(path, "not UTF-8 text") from None
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ResultsError(
                path,
                f"not valid JSON: {exc}"
                if isinstance(exc, json.JSONDecodeError)
                else "not valid JSON: nested too deeply",
            ) from None
        if not isinstance(value, dict):
            raise ResultsError(path, f"expected a JSON object, not {_json_type(value)}")
        self.data: dict[str, Any] = value

    def fail(self, key: str, reason: str) -> ResultsError:
        """The error for ``key``."""
        return ResultsError(self.path, f"{key}: {reason}")

    def get(self, key: str, within: dict[str, Any] | None = None, prefix: str = "") -> Any:
        """``key`` of ``within`` (default: the manifest), or an error if missing."""
        table = self.data if within is None else within
        if key not in table:
            raise self.fail(prefix + key, "missing")
        return table[key]

    def integer(
        self, key: str, within: dict[str, Any] | None = None, prefix: str = "", minimum: int = 0
    ) -> int:
        """``key``, which must be an integer >= ``minimum``."""
        value = self.get(key, within, prefix)
        if not is_int(value) or value < minimum:
            raise self.fail(prefix + key, f"expected an integer >= {minimum}, not {_shown(value)}")
        return value

    def text(self, key: str, within: dict[str, Any] | None = None, prefix: str = "") -> str:
        """``key``, which must be a string."""
        value = self.get(key, within, prefix)
        if not isinstance(value, str):
            raise self.fail(prefix + key, f"expected a string, not {_shown(value)}")
        return value

    def table(
        self, key: str, within: dict[str, Any] | None = None, prefix: str = ""
    ) -> dict[str, Any]:
        """``key``, which must be a JSON object."""
        value = self.get(key, within, prefix)
        if not isinstance(value, dict):
            raise self.fail(prefix + key, f"expected a JSON object, not {_json_type(value)}")
        return value

    def array(self, key: str) -> list[Any]:
        """``key`` of the manifest, which must be a list."""
        value = self.get(key)
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, not {_json_type(value)}")
        return value


def _json_type(value: Any) -> str:
    """What kind of JSON value ``value`` is, for an error message."""
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    if isinstance(value, (dict, list)):
        return _json_type(value)
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def check_manifest(path: Path, data: bytes) -> dict[str, Any]:
    """The manifest, checked for everything :class:`~.loading.RunData` and the readers use."""
    m = _Manifest(path, data)
    _check_format(m)
    _check_scenario(m)
    _check_seeds(m)
    _check_events(m)
    _check_files(m)
    return m.data


def _check_format(m: _Manifest) -> None:
    """The ``format`` and a ``format_version`` this khorasan reads."""
    if m.data.get("format") != FORMAT:
        raise m.fail("format", f"expected {FORMAT!r}; not a khorasan run manifest")
    version = m.get("format_version")
    if not is_int(version) or version < 1:
        raise m.fail("format_version", f"expected an integer, not {_shown(version)}")
    if version > FORMAT_VERSION:
        raise m.fail(
            "format_version",
            f"{version} is newer than this khorasan reads ({FORMAT_VERSION}); upgrade khorasan",
        )


def _check_scenario(m: _Manifest) -> None:
    """``scenario``: its name, a start date and steps that stay within the calendar."""
    sc = m.table("scenario")
    m.text("name", sc, "scenario.")
    start = m.text("start_date", sc, "scenario.")
    try:
        start_date = dt.date.fromisoformat(start)
    except ValueError:
        raise m.fail(
            "scenario.start_date", f"expected a date YYYY-MM-DD, not {_shown(start)}"
        ) from None
    steps = m.integer("steps", sc, "scenario.", minimum=1)
    try:
        start_date + dt.timedelta(days=DAYS_PER_STEP * steps)
    except OverflowError:
        raise m.fail(
            "scenario.steps", f"{steps} weeks after {start} is past the year 9999"
        ) from None
    m.integer("seed", sc, "scenario.")


def _check_seeds(m: _Manifest) -> None:
    """``replicates`` and as many different ``seeds``."""
    replicates = m.integer("replicates", minimum=1)
    seeds = m.array("seeds")
    if not all(is_int(s) and s >= 0 for s in seeds):
        raise m.fail("seeds", "expected a list of integers >= 0")
    if len(seeds) != replicates or len(set(seeds)) != len(seeds):
        raise m.fail(
            "seeds", f"expected {replicates} different seeds (replicates), not {len(seeds)}"
        )


def _check_events(m: _Manifest) -> None:
    """``params`` (the one the plots read) and each of the ``events``."""
    params = m.table("params")
    if "surveillance.withdrawal_week" in params:
        m.integer("surveillance.withdrawal_week", params, "params.", minimum=-(2**63))
    for i, ev in enumerate(m.array("events")):
        where = f"events[{i}]."
        if not isinstance(ev, dict):
            raise m.fail(f"events[{i}]", f"expected a JSON object, not {_json_type(ev)}")
        m.integer("step", ev, where)
        m.text("label", ev, where)
        if not isinstance(ev.get("set") or {}, dict):
            raise m.fail(where + "set", f"expected a JSON object, not {_json_type(ev['set'])}")
        for key in ("add_isisk_fighters", "ramp_steps", "remove_isisk_fighters"):
            if ev.get(key) is not None:
                m.integer(key, ev, where)
        if ev.get("region") is not None:
            m.text("region", ev, where)


def _check_files(m: _Manifest) -> None:
    """``metrics``, and a size and sha256 for each hashed file."""
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
