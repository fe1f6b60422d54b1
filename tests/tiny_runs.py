"""Shared by the command-line tests: a tiny scenario file and a CLI invoker."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from simulation.cli import app

runner = CliRunner()


def invoke(*args: object, catch_exceptions: bool = False):
    """``khorasan ARGS`` in-process (exceptions propagate unless asked)."""
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=catch_exceptions)


def tiny_scenario(name: str = "tiny", *, start: str = "2021-08-15", steps: int = 10,
                  seed: int = 3, replicates: int = 2, description: str | None = None,
                  extra: str = "") -> str:
    """A scenario on a 20x20 world with vision 3 (fast), plus ``extra`` TOML."""
    desc = f'description = "{description}"\n' if description else ""
    return (f'[scenario]\nname = "{name}"\n{desc}start_date = {start}\nsteps = {steps}\n'
            f"seed = {seed}\nreplicates = {replicates}\n\n"
            "[world]\nwidth = 20\nheight = 20\n\n[civilians]\nvision = 3\n\n"
            "[taliban]\nvision = 3\n" + extra)


def write(folder: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``folder/name`` (creating the folder) and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
