"""docs/guarantees.md names real tests: every ``tests/...py::name`` it cites exists.

Each reference must point at a test file that defines a test function of that
name (a parametrized test is named by its function: ``test_x``, not
``test_x[case]``), and each section of the page must cite at least one test.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "guarantees.md"
REFERENCE = re.compile(r"\btests/([\w/]+\.py)::(\w+)(?:\[[^\]\s]*\])?")
SECTIONS = ("Your files", "Your input", "The browser app")


def _sections() -> dict[str, str]:
    """The page's ``## `` sections, by title."""
    parts = re.split(r"^## +(.+?)\s*$", PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _references() -> list[tuple[str, str]]:
    return sorted(set(REFERENCE.findall(PAGE.read_text(encoding="utf-8"))))


@cache
def _test_functions(relpath: str) -> frozenset[str]:
    """Names of the module-level test functions (and test methods) in ``tests/relpath``."""
    tree = ast.parse((REPO / "tests" / relpath).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


def test_the_page_has_its_sections_and_each_cites_tests() -> None:
    sections = _sections()
    for title in SECTIONS:
        assert title in sections, f"docs/guarantees.md has no section '## {title}'"
        assert REFERENCE.search(sections[title]), f"'## {title}' cites no test"


def test_the_page_cites_many_tests() -> None:
    assert len(_references()) >= 30  # a misparse finding nothing fails here, not silently


@pytest.mark.parametrize(
    ("relpath", "name"), [pytest.param(*ref, id="::".join(ref)) for ref in _references()]
)
def test_each_cited_test_exists(relpath: str, name: str) -> None:
    path = REPO / "tests" / relpath
    assert path.is_file(), f"docs/guarantees.md cites tests/{relpath}, which does not exist"
    assert name in _test_functions(relpath), (
        f"docs/guarantees.md cites tests/{relpath}::{name}, which that file does not define"
    )
