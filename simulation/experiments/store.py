"""Replicates saved as they finish: one checked CSV per replicate (a :class:`ReplicateStore`).

A replicate's file is named by its seed under a short hash of its scenario
(:func:`scenario_key`), so a resumed run reuses exactly the replicates that
would come out the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.experiments.files import (
    ResultsError,
    atomic_write_bytes,
    atomic_write_text,
    csv_text,
    is_int,
    name_path,
)
from simulation.experiments.jobs import ATTACHED
from simulation.scenario.core import Scenario
from simulation.scenario.identity import identity
from simulation.scenario.writer import scenario_to_toml

__all__ = ["ReplicateStore", "read_replicate_csv", "scenario_key"]


def scenario_key(scenario: Scenario) -> str:
    """A short hash of everything in ``scenario`` that can change a replicate's result.

    The seed and replicate count are left out: a replicate's file is named by
    its own seed, so a resumed run with more replicates reuses the saved ones.
    It is the scenario's :func:`~simulation.scenario.identity.identity`, so how
    the TOML writer spells a scenario never matters.
    """
    return identity(scenario, seeds=False)[:12]


def read_replicate_csv(path: str | os.PathLike[str] | io.BytesIO) -> pd.DataFrame:
    """Read a replicate CSV back with exactly the values that were written."""
    # pandas 3 parses floats exactly by default (and deprecates the option)
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, dtype={"date": str}, **exact)


#: A replicate's CSV (not its record by province).
_REPLICATE = re.compile(r"seed-\d+\.csv")


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
            data = csv_text(frame).encode()
            check: dict[str, Any] = {
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": len(frame),
            }
            for key in ATTACHED:  # the record by province, snapshots: checked too
                extra = frame.attrs.get(key)
                if extra is not None:
                    check[key] = {
                        "bytes": len(extra),
                        "sha256": hashlib.sha256(extra).hexdigest(),
                    }
                    atomic_write_bytes(self.attached_path(scenario, seed, key), extra)
            atomic_write_text(self.check_path(scenario, seed), json.dumps(check) + "\n")
            atomic_write_bytes(path, data)
        except OSError as exc:  # e.g. a full disk: say which replicate could not be saved
            raise name_path(exc, path) from None
        self.redo.pop(path, None)
        with contextlib.suppress(OSError):
            os.unlink(self.error_path(scenario, seed))
        return path

    def attached_path(self, scenario: Scenario, seed: int, key: str) -> Path:
        """Where that replicate's ``attrs[key]`` is saved (:data:`~.jobs.ATTACHED`)."""
        return self.folder(scenario) / f"seed-{seed}{ATTACHED[key]}"

    def _verified(self, scenario: Scenario, seed: int) -> tuple[bytes, int, dict[str, bytes]]:
        """The CSV's bytes and rows, and the attached files' bytes (the record by province,
        snapshots: those it has), if they match the check file (else ResultsError)."""
        path, check_path = self.path(scenario, seed), self.check_path(scenario, seed)
        try:
            data = path.read_bytes()
            check = json.loads(check_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ResultsError(
                path, "its check file is missing" if exc.filename == str(check_path) else "missing"
            ) from None
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8 or not JSON
            raise ResultsError(path, f"its check file is unreadable: {exc}") from None
        if not (
            isinstance(check, dict)
            and is_int(check.get("bytes"))
            and is_int(check.get("rows"))
            and isinstance(check.get("sha256"), str)
        ):
            raise ResultsError(path, "its check file is damaged")
        if len(data) != check["bytes"] or hashlib.sha256(data).hexdigest() != check["sha256"]:
            raise ResultsError(
                path,
                f"{len(data):,} bytes that do not match the "
                f"{check['bytes']:,} bytes saved; the file is damaged",
            )
        attached = {
            key: self._verified_attached(scenario, seed, check[key], key)
            for key in ATTACHED
            if check.get(key) is not None
        }
        return data, check["rows"], attached

    def _verified_attached(self, scenario: Scenario, seed: int, entry: Any, key: str) -> bytes:
        """An attached file's bytes, if they match the check file's ``entry``."""
        path = self.attached_path(scenario, seed, key)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ResultsError(path, f"unreadable: {exc.strerror or exc}") from None
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)) or (
            len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry["sha256"]
        ):
            raise ResultsError(path, "does not match its check file; the file is damaged")
        return data

    def load(self, scenario: Scenario, seed: int) -> pd.DataFrame:
        """Read one saved replicate, checked against its check file (else ResultsError)."""
        data, rows, attached = self._verified(scenario, seed)
        frame = read_replicate_csv(io.BytesIO(data))
        if len(frame) != rows:
            raise ResultsError(self.path(scenario, seed), f"{len(frame)} rows, {rows} saved")
        frame.attrs.update(attached)
        return frame

    def error_path(self, scenario: Scenario, seed: int) -> Path:
        """Where the traceback of a failed replicate goes."""
        return self.folder(scenario) / f"seed-{seed}.error.txt"

    def save_error(self, scenario: Scenario, seed: int, text: str) -> Path:
        """Record that a replicate failed."""
        return atomic_write_text(self.error_path(scenario, seed), text)

    def count(self) -> int:
        """Number of saved replicates (of any scenario)."""
        if not self.root.is_dir():
            return 0
        return sum(1 for p in self.root.glob("*/seed-*.csv") if _REPLICATE.fullmatch(p.name))
