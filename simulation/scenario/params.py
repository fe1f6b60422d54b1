"""The one parameter table.

Every model parameter is defined here once, with its type, default, unit, valid
range, description and source. The table drives scenario validation, the
``khorasan params`` command, the parameter reference in ``docs/scenarios.md``
and the sliders of the browser app. Sources are short keys; the full
references are in ``docs/ODD.md`` (section "References").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulation.scenario.param_type import Param, did_you_mean, show
from simulation.scenario.table import civilians, isisk, taliban, world

__all__ = [
    "PARAMS",
    "PARAM_INDEX",
    "SECTIONS",
    "SLIDER_PARAMS",
    "Param",
    "UnknownParameter",
    "cross_check",
    "defaults",
    "get",
    "resolve",
]

SECTIONS: dict[str, str] = {
    "world": "The grid, neighbourhoods and scheduling",
    "scale": "How many real people one agent stands for",
    "civilians": "Civilians: Epstein's grievance, activation, jail and movement rules",
    "legitimacy": "Regime legitimacy and its dynamics",
    "repression": "The Taliban's thermostatic repression",
    "taliban": "Taliban enforcers, fighters and counter-terrorism",
    "isisk": "ISIS-K cells: recruitment, attacks and losses",
    "surveillance": "US surveillance and Taliban intelligence",
}


PARAMS: tuple[Param, ...] = (
    *world.ROWS,
    *civilians.ROWS,
    *taliban.ROWS,
    *isisk.ROWS,
)

PARAM_INDEX: dict[str, Param] = {p.name: p for p in PARAMS}
SLIDER_PARAMS: tuple[Param, ...] = tuple(p for p in PARAMS if p.slider)


class UnknownParameter(KeyError):
    """A dotted name that is not in the table."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
        self.hint = did_you_mean(name, PARAM_INDEX) if isinstance(name, str) else ""

    def __str__(self) -> str:
        if not isinstance(self.name, str):
            return (
                f"parameter names are text such as 'isisk.attack_rate', got "
                f"{type(self.name).__name__} {show(self.name)}"
            )
        return f"unknown parameter{self.hint}"


def get(name: str) -> Param:
    """Return the parameter called ``name`` or raise UnknownParameter."""
    try:
        return PARAM_INDEX[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise UnknownParameter(name) from None


def defaults() -> dict[str, Any]:
    """A fresh dict of every parameter's default value."""
    return {p.name: p.default for p in PARAMS}


def cross_check(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rules that involve several parameters: a list of ``(name, reason)`` problems."""
    problems = []
    side = min(values["world.width"], values["world.height"])
    for name in ("civilians.vision", "taliban.vision"):
        if 2 * values[name] + 1 > side:
            need = 2 * values[name] + 1
            problems.append(
                (
                    name,
                    f"vision {values[name]} needs a world of at least {need} "
                    f"cells a side (smallest side is {side})",
                )
            )
    if values["civilians.density"] + values["taliban.enforcer_density"] > 1:
        problems.append(
            (
                "taliban.enforcer_density",
                "civilians.density + taliban.enforcer_density must be at most 1",
            )
        )
    return problems


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with checked ``overrides`` (dotted names)."""
    values = defaults()
    for name, value in (overrides or {}).items():
        values[name] = get(name).check(value)
    return values
