"""Fixtures shared by the tests in ``tests/`` (``tests/model/conftest.py`` adds the model's).

The plain helpers they are built on (``tiny_scenario``, ``write``, ``invoke``,
``one_error_line``, ``child_env``) are in ``tests/tiny_runs.py``, to be imported where a
test calls them directly. Session-scoped fixtures hand out things that are never changed:
a test that wants to change a saved run copies it first (``shutil.copytree``).

The markers (``slow``, ``browser``) are registered in ``pyproject.toml``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import tiny_runs


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder (``scenarios/``, ``docs/``, ``simulation/``). Read only."""
    return tiny_runs.REPO


@pytest.fixture(scope="session")
def cli_runner() -> CliRunner:
    """The one Typer ``CliRunner`` the in-process CLI tests share."""
    return tiny_runs.runner


@pytest.fixture(scope="session")
def khorasan() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``khorasan(*args, timeout=60, cwd=None, memory=None)``: ``python -m simulation ARGS``
    in a child process (so a hang or a memory blow-up stays there), with this checkout on
    ``PYTHONPATH`` and no test hooks in its environment; ``memory`` caps its address space
    in bytes. Returns the finished process (text output captured)."""

    def run(
        *args: object, timeout: float = 60, cwd: Path | None = None, memory: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        def limit() -> None:
            if memory is not None:
                resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

        return subprocess.run(
            [sys.executable, "-m", "simulation", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=tiny_runs.child_env(),
            preexec_fn=limit,
        )

    return run


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """``tmp_path/tiny.toml``: the default ``tiny_scenario()`` (a module may override this
    fixture with a scenario of its own under the same name)."""
    return tiny_runs.write(tmp_path, "tiny.toml", tiny_runs.tiny_scenario())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete saved run directory of a tiny scenario (``tiny_runs.TINY_RUN_STEPS``
    steps, ``tiny_runs.TINY_RUN_REPLICATES`` replicates, no plots), made once per test
    process. Its scenario file is ``tiny_run.parent.parent / "tiny.toml"``. Read only: copy
    it to change it."""
    base = tmp_path_factory.mktemp("tiny_run")
    path = tiny_runs.write(
        base,
        "tiny.toml",
        tiny_runs.tiny_scenario(
            steps=tiny_runs.TINY_RUN_STEPS, replicates=tiny_runs.TINY_RUN_REPLICATES
        ),
    )
    result = tiny_runs.invoke(
        "run", path, "--out", base / "out", "--workers", "1", "--quiet", "--no-plots"
    )
    assert result.exit_code == 0, result.output
    return base / "out" / "tiny"
