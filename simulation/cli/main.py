"""The ``khorasan`` command line: run, compare, sweep, loop, validate, show and list scenarios.

The commands only parse arguments, call the library (:mod:`simulation.api`)
and print: ``experiments.py`` registers ``run``, ``compare`` and ``sweep``;
``loop.py`` ``loop``; ``scenarios.py`` ``plot``, ``validate``, ``show``, ``params``, ``list`` and
``viz``. Every bad input (a scenario error, a bad ``--set``, an existing run
directory, a missing file, a bad option) ends with exactly one line on
stderr and exit status 2, never a traceback. A replicate that raises is
reported with its seed; the others finish and are saved, and the exit
status is 1. Ctrl-C (exit status 130), SIGTERM (143) and a write error such
as a full disk (2) say on one line what is saved and how to ``--resume``
(:mod:`simulation.cli.signals`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer

from simulation.cli import (  # noqa: F401  (registers the commands)
    experiments,
    loop,
    scenarios,
    sharing,
)
from simulation.cli.app import EXIT_INTERRUPTED, EXIT_TERMINATED, app
from simulation.cli.signals import Terminated, install_sigterm

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: usage errors become one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    install_sigterm()  # stop as on Ctrl-C, with the hint
    try:
        rc = app(args=args, prog_name="khorasan", standalone_mode=False)
    except typer.TyperException as exc:  # click usage errors (bad option, missing argument)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "khorasan"
        message = " ".join(exc.format_message().split())
        typer.echo(f"{where}: {message} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort as exc:
        if isinstance(exc.__cause__, Terminated):
            typer.echo("khorasan: terminated", err=True)
            sys.exit(EXIT_TERMINATED)
        typer.echo("khorasan: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug or a broken install: one line, traceback on request
        if os.environ.get("KHORASAN_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(
            f"khorasan: internal error: {type(exc).__name__}: {message} "
            "(set KHORASAN_DEBUG=1 to see the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
