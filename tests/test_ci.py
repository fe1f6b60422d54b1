"""CI runs exactly the README's test command (DEVELOPERS.md: `.ci/run` calls that line)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _quick_start_lines() -> list[str]:
    """The command lines of the README's Quick start block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no Quick start bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_ci_runs_the_readme_test_line_verbatim() -> None:
    lines = _quick_start_lines()
    assert len(lines) == 2, lines  # one line to run the baseline, one to run the tests
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == lines[1]


def test_the_test_line_lints_and_checks_formatting() -> None:
    line = _quick_start_lines()[1]
    assert "ruff check ." in line and "ruff format --check ." in line
    assert line.index("ruff format --check") < line.index("pytest")
