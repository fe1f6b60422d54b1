"""The command line, ``khorasan``: it parses arguments, calls :mod:`simulation.api`, prints.

``main.py`` is the entry point; ``app.py`` the Typer app and shared options;
``experiments.py``, ``scenarios.py`` and ``sharing.py`` the commands; ``signals.py`` turns
SIGTERM and the library's errors into one line and an exit status;
``output.py`` prints tables; ``docs.py`` renders the generated parts of
``docs/scenarios.md``.
"""

from __future__ import annotations

from simulation.cli.main import app, main

__all__ = ["app", "main"]
