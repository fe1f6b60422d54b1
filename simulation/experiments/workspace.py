"""Resume: the workspace of a run not written yet, and what its replicates must share.

While a run is going, each finished replicate is saved at once as
``OUT/.NAME.partial/<scenario key>/seed-<seed>.csv`` (a :class:`Workspace`),
so an interrupted run can be resumed: only the missing replicates are run
again, and the run directory, written from the saved files, is byte for byte
what an uninterrupted run writes. The workspace records the code
fingerprint and settings it was made with (``settings.json``,
:func:`resume_settings`) and refuses to be resumed with others, saying what
differs. It is removed once the run directory is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulation.experiments.files import TEMP_FILE, ResultsError, atomic_write_text, listing
from simulation.experiments.fingerprint import code_fingerprint
from simulation.experiments.manifest import event_record
from simulation.experiments.store import ReplicateStore
from simulation.scenario.core import Scenario

__all__ = ["SETTINGS_FILE", "Workspace", "partial_dir_for", "resume_settings"]


#: The settings an interrupted run was started with, in its workspace.
SETTINGS_FILE = "settings.json"
#: What a workspace's scenario folder holds: replicates (their records by province, snapshots),
#: error records, the scenario.
_SAVED_FILE = re.compile(
    r"seed-\d+(\.provinces)?\.csv|seed-\d+\.snapshots\.npz|\.seed-\d+\.csv\.check"
    r"|seed-\d+\.error\.txt|scenario\.toml"
    r"|\..+\.partial"
)


def _canonical(settings: Mapping[str, Any]) -> str:
    """``settings`` as JSON text that is equal exactly when the settings are."""
    return json.dumps(dict(settings), indent=1, sort_keys=True, default=str) + "\n"


def _brief(value: Any) -> str:
    """A short rendering of a setting's value for a message."""
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
        return (
            f"{what} have no record of the code and settings that made them (an older "
            "khorasan?); resuming could mix them with other results: add --force to "
            "discard them and start over"
        )
    after = json.loads(new)
    if before.get("code") != after.get("code"):
        return (
            f"{what} were made by other khorasan code (fingerprint {before.get('code')}, "
            f"now {after.get('code')}); resuming would mix results of two code versions: "
            "add --force to discard them and start over"
        )
    missing = object()
    diffs = [
        f"{key} {_brief(before.get(key))} -> {_brief(after.get(key))}"
        if key in before and key in after
        else f"{key} {'added' if key in after else 'gone'}"
        for key in sorted({*after, *before}, key=lambda k: (not k.startswith("scenario."), k))
        if before.get(key, missing) != after.get(key, missing)
    ]
    return (
        f"{what} were made with other settings ({listing(diffs)}); resuming would mix "
        "them: run with the settings they were made with, or add --force to discard them "
        "and start over"
    )


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

    def open(
        self, *, resume: bool, force: bool, settings: Mapping[str, Any] | None = None
    ) -> Workspace:
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

    def _check_saved(self, resume: bool, force: bool, settings: Mapping[str, Any] | None) -> None:
        """Keep, refuse or (with ``force``) discard what an earlier run saved."""
        saved = self.store.count()
        new = None if settings is None else _canonical(settings)
        old = self._recorded()
        if saved and not resume:
            if not force:
                raise ResultsError(
                    self.target,
                    f"an interrupted run saved {saved} replicate"
                    f"{'s' if saved != 1 else ''} in {self.partial}; add --resume "
                    "to finish it, or --force to start over",
                )
            self._clear()
        elif saved and new is not None and old != new:
            if not force:
                raise ResultsError(self.partial, _mismatch(saved, old, new))
            self._clear()
        if new is not None and self._recorded() != new:
            atomic_write_text(self.partial / SETTINGS_FILE, new)

    def _recorded(self) -> str | None:
        """The settings recorded in the workspace, or None."""
        try:
            return (self.partial / SETTINGS_FILE).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None

    def _clear(self) -> None:
        """Discard the saved replicates, refusing if the folder holds anything else."""
        foreign = []
        for child in sorted(self.partial.iterdir()):
            if child.name in (".lock", SETTINGS_FILE) or TEMP_FILE.fullmatch(child.name):
                ok = child.is_file() and not child.is_symlink()
            elif re.fullmatch(r"[0-9a-f]{12}", child.name):
                ok = (
                    child.is_dir()
                    and not child.is_symlink()
                    and all(
                        f.is_file() and not f.is_symlink() and _SAVED_FILE.fullmatch(f.name)
                        for f in child.iterdir()
                    )
                )
            else:
                ok = False
            if not ok:
                foreign.append(child.name)
        if foreign:
            raise ResultsError(
                self.partial,
                f"holds files khorasan did not write "
                f"({listing(foreign)}); --force discards only khorasan's saved "
                "replicates: move them away first",
            )
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


def resume_settings(scenario: Scenario, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What saved replicates must share to be resumed: code, scenario, seeds (and ``extra``).

    Recorded in the workspace (:meth:`~simulation.experiments.workspace.Workspace.open`),
    which refuses to resume with anything different and says what differs.
    The description and name are left out: they change no result.
    """
    return {
        "code": code_fingerprint(),
        "scenario.start_date": scenario.start_date.isoformat(),
        "scenario.steps": scenario.steps,
        "scenario.seed": scenario.seed,
        "scenario.replicates": scenario.replicates,
        **dict(scenario.params),
        "events": [event_record(scenario, ev) for ev in scenario.events],
        "regions": [vars(r).copy() for r in scenario.regions],
        **dict(extra or {}),
    }
