"""The app's settings: sliders generated from the parameter table, and the scenario they make.

Mesa's controls pass settings as flat keyword arguments, so a parameter
``isisk.defector_recruitment`` travels as ``isisk__defector_recruitment``
(:func:`kwarg_name`). Each parameter flagged ``slider=True`` in
:mod:`simulation.scenario.params` becomes a :class:`SliderSpec`, and the seed is the
last slider. :func:`changes` and :func:`build_scenario` turn slider values
back into a scenario.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import solara

from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario
from simulation.scenario.loader import load_scenario

SEED = "seed"


def kwarg_name(dotted: str) -> str:
    """``isisk.defector_recruitment`` -> ``isisk__defector_recruitment`` (a keyword argument)."""
    return dotted.replace(".", "__")


def dotted_name(kwarg: str) -> str:
    """The inverse of :func:`kwarg_name`."""
    return kwarg.replace("__", ".")


def _decimals(x: float) -> int:
    """Decimal places ``x`` needs (at most 6): 0.05 -> 2, 0.8181 -> 4, 100 -> 0."""
    text = f"{abs(float(x)):.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _on_grid(value: float, start: float, step: float) -> bool:
    """True if ``value`` is a whole number of ``step`` from ``start``."""
    k = (value - start) / step
    return abs(k - round(k)) < 1e-6


@dataclass(frozen=True)
class SliderSpec:
    """A slider of the app: a parameter flagged ``slider=True`` in the table, or the seed."""

    kwarg: str
    name: str  # dotted parameter name, or "seed"
    label: str
    unit: str
    kind: type
    min: float
    max: float
    step: float

    def clean(self, value: Any) -> Any:
        """``value`` (a slider's number) as the parameter's type, without float noise."""
        if isinstance(value, solara.Reactive):
            value = value.value
        if self.kind is int:
            return int(round(float(value)))
        return round(float(value), 8)

    def fit(self, value: Any) -> tuple[float, float, float]:
        """``(min, max, step)`` of a slider that shows ``value`` exactly.

        The range is widened to include it, and the step made finer (by tens)
        if it is off the grid: the browser's slider snaps to its grid and
        would otherwise change a scenario's value (0.8181 to 0.82) as it
        loads.
        """
        value = self.clean(value)
        lo, hi, step = min(self.min, value), max(self.max, value), self.step
        for _ in range(7):
            if _on_grid(value, lo, step) or (self.kind is int and step <= 1):
                break
            step = max(1, step / 10) if self.kind is int else step / 10
        return lo, hi, step

    def value_of(self, scenario: Scenario) -> Any:
        """This slider's value in ``scenario``."""
        return scenario.seed if self.name == SEED else scenario.params[self.name]

    def text(self, value: Any) -> str:
        """The value as shown in the page, with the step's decimals or more if needed."""
        if self.kind is int:
            return f"{int(value)}"
        return f"{float(value):.{max(_decimals(self.step), _decimals(value))}f}"

    def caption(self, value: Any) -> str:
        """The slider's label with its value: ``Legitimacy: 0.85``."""
        unit = self.unit if self.unit and self.unit.lower() not in self.label.lower() else ""
        return f"{self.label}: {self.text(value)}" + (f" {unit}" if unit else "")


def _slider_spec(p: ptable.Param) -> SliderSpec:
    lo, hi = p.slider_range if p.slider_range is not None else (p.min, p.max)
    if lo is None or hi is None:
        raise ValueError(f"{p.name}: a slider needs min and max (or slider_range)")
    step = p.step if p.step is not None else (1 if p.kind is int else (hi - lo) / 100)
    unit = "" if p.unit in ("", "-", "0-1") else p.unit
    return SliderSpec(kwarg_name(p.name), p.name, p.label or p.name, unit, p.kind, lo, hi, step)


#: Every slider, generated from the parameter table, then the seed.
SLIDERS: tuple[SliderSpec, ...] = (
    *(_slider_spec(p) for p in ptable.SLIDER_PARAMS),
    SliderSpec(SEED, SEED, "Random seed", "", int, 0, 999, 1),
)
SLIDER_INDEX: dict[str, SliderSpec] = {s.kwarg: s for s in SLIDERS}


def slider_values(scenario: Scenario) -> dict[str, Any]:
    """The sliders' values for ``scenario``, by keyword name."""
    return {s.kwarg: s.value_of(scenario) for s in SLIDERS}


def changes(base: Scenario, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that differ from ``base``: dotted names (``scenario.seed`` for the seed)."""
    out: dict[str, Any] = {}
    for kwarg, value in settings.items():
        spec = SLIDER_INDEX.get(kwarg)
        name = dotted_name(kwarg) if spec is None else spec.name
        value = spec.clean(value) if spec is not None else value
        if name == SEED:
            if value != base.seed:
                out["scenario.seed"] = value
        elif value != base.params[name]:
            out[name] = value
    return out


def build_scenario(path: str | os.PathLike[str], settings: Mapping[str, Any]) -> Scenario:
    """The scenario in ``path`` with ``settings`` (keyword names) applied, validated."""
    base = load_scenario(path)
    return load_scenario(path, changes(base, settings)) if settings else base


def change_text(base: Scenario, name: str, value: Any) -> str:
    """A change from ``base`` as the page shows it: ``0.85 → 0.80``."""
    seed = name == "scenario.seed"
    spec = SLIDER_INDEX[SEED] if seed else SLIDER_INDEX[kwarg_name(name)]
    old = base.seed if seed else base.params[name]
    return f"{spec.text(old)} → {spec.text(value)}"
