"""Helpers shared by the command-line tests (plain functions; the fixtures built on them are
in ``tests/conftest.py``): a tiny scenario file, a CLI invoker, the one-line error check and
the environment of a ``khorasan`` child process."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from simulation.cli import app
from simulation.experiments.jobs import FAIL_SEED_ENV

#: The repository's root folder (where ``scenarios/``, ``docs/`` and ``simulation/`` are).
REPO = Path(__file__).resolve().parent.parent

#: The saved run of the ``tiny_run`` fixture: its steps and replicates.
TINY_RUN_STEPS = 3
TINY_RUN_REPLICATES = 2

runner = CliRunner()


def invoke(*args: object, catch_exceptions: bool = False):
    """``khorasan ARGS`` in-process (exceptions propagate unless asked)."""
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=catch_exceptions)


def tiny_scenario(
    name: str = "tiny",
    *,
    start: str = "2021-08-15",
    steps: int = 10,
    seed: int = 3,
    replicates: int = 2,
    description: str | None = None,
    extra: str = "",
) -> str:
    """A scenario on a 20x20 world with vision 3 (fast), plus ``extra`` TOML."""
    desc = f'description = "{description}"\n' if description else ""
    return (
        f'[scenario]\nname = "{name}"\n{desc}start_date = {start}\nsteps = {steps}\n'
        f"seed = {seed}\nreplicates = {replicates}\n\n"
        "[world]\nwidth = 20\nheight = 20\n\n[civilians]\nvision = 3\n\n"
        "[taliban]\nvision = 3\n" + extra
    )


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` (creating the folder) and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(result) -> str:
    """The single stderr line of a refused command (exit 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def child_env() -> dict[str, str]:
    """The environment for ``python -m simulation`` in a child process: this checkout on
    ``PYTHONPATH``, and without the test hooks (a failing seed, debug tracebacks) that a
    test may have set in this process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(FAIL_SEED_ENV, None)
    env.pop("KHORASAN_DEBUG", None)
    return env
