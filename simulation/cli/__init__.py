"""The command line, ``khorasan``: it parses arguments and calls the library.

``main.py`` holds the Typer app and its commands; ``docs.py`` renders the
generated parts of ``docs/scenarios.md``.
"""

from __future__ import annotations

from simulation.cli.main import app, main

__all__ = ["app", "main"]
