"""What the library raises besides ScenarioError and ResultsError.

Each keeps what the command line needs to say in one line (and how to
resume); ``str()`` gives a sentence for a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["InputError", "ReplicatesFailed", "RunInterrupted", "SaveError"]


class InputError(ValueError):
    """Bad input that is neither a scenario file's nor a run directory's (one line)."""


class ReplicatesFailed(RuntimeError):
    """Some replicates raised; the others finished and are saved (resume to retry).

    ``failures`` are :class:`~simulation.experiments.jobs.Failure`
    records, ``total`` the replicates asked for, ``partials`` the hidden
    folders that keep what was saved, ``written`` the outputs completed.
    """

    def __init__(
        self,
        failures: Sequence[Any],
        total: int,
        partials: Sequence[Path],
        written: Sequence[Path] = (),
    ):
        self.failures = list(failures)
        self.total = total
        self.partials = [Path(p) for p in partials]
        self.written = [Path(p) for p in written]
        super().__init__(
            f"{len(self.failures)} of {total} replicates failed "
            f"(first: {self.first}); the others are saved in {self.kept}; "
            "fix the cause and call again with resume=True"
        )

    @property
    def first(self) -> str:
        """The first failure, with its seed."""
        return str(self.failures[0].message())

    @property
    def kept(self) -> str:
        """Where the finished replicates are kept."""
        return ", ".join(str(p) for p in self.partials if p.exists()) or "the run directories"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or the command line's SIGTERM) while running: ``state`` says what is saved.

    The interrupt that stopped the run is the ``__cause__``.
    """

    def __init__(self, state: str):
        self.state = state
        super().__init__(f"interrupted; {state}; call again with resume=True to finish")


class SaveError(RuntimeError):
    """A write failed while running (a full disk, say): ``error`` and what is saved."""

    def __init__(self, error: OSError, state: str):
        self.error = error
        self.state = state
        super().__init__(f"{self.where}: {self.reason}; {state}")

    @property
    def where(self) -> str:
        """The file that could not be written, if known."""
        return str(self.error.filename) if self.error.filename is not None else "khorasan"

    @property
    def reason(self) -> str:
        """The operating system's reason."""
        return str(self.error.strerror or self.error)

    @property
    def disk_full(self) -> bool:
        """Whether the disk (or quota) is full."""
        import errno

        return self.error.errno in (errno.ENOSPC, errno.EDQUOT)
