"""SIGTERM, Ctrl-C and errors as the command line reports them: one line and an exit status.

Every bad input ends with exactly one line on stderr and exit status 2. A
run stopped by Ctrl-C (130) or SIGTERM (143), or by a write error such as a
full disk (2), says on one line what is saved and how to ``--resume``; a
run whose replicates partly failed says so and exits with status 1.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from simulation.api.errors import InputError, ReplicatesFailed, RunInterrupted, SaveError
from simulation.cli.app import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED
from simulation.scenario.errors import ScenarioError

__all__ = ["CliError", "Terminated", "install_sigterm", "one_line_errors"]

RESUME = "run the same command with --resume"


class CliError(InputError):
    """Bad command-line input, printed as one line."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as it does on Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def install_sigterm() -> None:
    """Make SIGTERM stop a run as Ctrl-C does, with the resume hint (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _interrupted(exc: RunInterrupted) -> typer.Exit:
    what, code = (
        ("terminated", EXIT_TERMINATED)
        if isinstance(exc.__cause__, Terminated)
        else ("interrupted", EXIT_INTERRUPTED)
    )
    typer.echo(f"khorasan: {what}; {exc.state}; {RESUME} to finish", err=True)
    return typer.Exit(code)


def _save_error(exc: SaveError) -> str:
    fix = "free some space" if exc.disk_full else "fix that"
    return _one_line(f"{exc.where}: {exc.reason}; {exc.state}; {fix}, then {RESUME} to finish")


def _failed(exc: ReplicatesFailed) -> typer.Exit:
    typer.echo(
        f"khorasan: {len(exc.failures)} of {exc.total} replicates failed (first: "
        f"{exc.first}); the others are saved in {exc.kept}; fix the cause and "
        f"{RESUME} to retry only the failed ones",
        err=True,
    )
    return typer.Exit(EXIT_FAILED)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the library's errors into one stderr line and the command's exit status."""
    from simulation.experiments.files import ResultsError

    try:
        yield
    except (ScenarioError, ResultsError, InputError) as exc:
        typer.echo(_one_line(str(exc)), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except SaveError as exc:
        typer.echo(_save_error(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RunInterrupted as exc:
        raise _interrupted(exc) from None
    except ReplicatesFailed as exc:
        raise _failed(exc) from None
    except OSError as exc:  # e.g. --out is a file, or not writable
        where = exc.filename if exc.filename is not None else "khorasan"
        typer.echo(f"{where}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
