"""The package's shape: layers that import one way, no cycles, small modules and functions.

The folders of ``simulation/`` are layers. Data flows one way, from the scenario
to the model, to saved results, to plots and pages, to the command line::

    scenario -> model -> experiments -> plots -> viz, validation -> cli

A module may import from its own layer or the layers below it, never above.
``viz`` and ``validation`` share a layer and do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulation"

#: Each top-level part of the package and its layer (higher may import lower).
LAYERS: dict[str, int] = {
    "scenario": 1,
    "model": 2,
    "experiments": 3,
    "plots": 4,
    "viz": 5,
    "validation": 5,
    "api": 6,
    "cli": 7,
}
#: The package's own ``__init__`` (lazy names) and ``__main__`` stand outside the layers.
FACADE = {"__init__", "__main__"}

MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60
#: Modules allowed past the limits, each with its reason.
LONG_MODULES = {
    "model/kernel.py": "the Numba-compiled sequential kernel: one compiled unit, "
    "its helpers must sit beside it",
}
LONG_FUNCTIONS_IN = {
    "model/kernel.py": "the compiled kernel's inner loop is one function on purpose "
    "(Numba inlines nothing across modules)",
}


def _modules() -> dict[str, Path]:
    """Dotted name (without ``simulation.``) -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str, *, top_level_only: bool = False) -> set[str]:
    """The ``simulation`` modules that module ``name`` imports (dotted, no prefix)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join([*base, node.module] if node.module else base)
                targets = [f"simulation.{mod}" if mod else "simulation"]
            else:
                targets = [node.module or ""]
            targets += [f"{targets[0]}.{a.name}" for a in node.names]
        for t in targets:
            if t == "simulation" or not t.startswith("simulation."):
                continue
            dotted = t.removeprefix("simulation.")
            while dotted and dotted not in MODULES:
                dotted = dotted.rpartition(".")[0]
            if dotted and dotted != name:
                found.add(dotted)
    return found


def _part(name: str) -> str:
    return name.split(".")[0]


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {_part(n) for n in MODULES} - FACADE
    assert sorted(parts - set(LAYERS)) == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _part(n) not in FACADE))
def test_no_module_imports_from_a_layer_above_it(name: str) -> None:
    mine = LAYERS[_part(name)]
    wrong = sorted(
        other
        for other in _imports(name)
        if _part(other) not in FACADE
        and _part(other) != _part(name)
        and LAYERS[_part(other)] >= mine
    )
    assert wrong == [], f"{name} (layer {mine}) imports {wrong}"


def test_the_import_graph_has_no_cycles() -> None:
    graph = nx.DiGraph()
    for name in MODULES:
        graph.add_node(name)
        for other in _imports(name, top_level_only=True):
            # importing a package's submodule runs the package first: that is no edge
            if not name.startswith(other + "."):
                graph.add_edge(name, other)
    assert list(nx.simple_cycles(graph)) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_are_short(name: str) -> None:
    path = MODULES[name]
    rel = path.relative_to(PACKAGE).as_posix()
    text = path.read_text(encoding="utf-8")
    if rel not in LONG_MODULES:
        assert text.count("\n") <= MAX_MODULE_LINES, f"{rel}: {text.count(chr(10))} lines"
    if rel in LONG_FUNCTIONS_IN:
        return
    long = sorted(
        (node.end_lineno - node.lineno + 1, node.name)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    )
    assert long == [], f"{rel}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_analysis_finds_imports() -> None:
    # the checks above would pass vacuously if the import parsing found nothing
    assert "scenario.params" in _imports("scenario.core")
    assert "model" in {_part(n) for n in _imports("experiments.jobs")}
