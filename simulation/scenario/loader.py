"""Scenario files: the entry points that load and validate a TOML scenario.

A scenario file has a ``[scenario]`` header, one table per parameter section
(``[world]``, ``[isisk]``, ...), ``[[events]]`` and ``[[regions]]``; the
format is described in ``docs/scenarios.md``. The work is shared out:

- ``reading.py``: size and depth limits, TOML, the ``extends`` chain;
- ``schema.py`` and ``schema_errors.py``: the file's structure (pydantic) and
  its errors in plain words;
- ``checks.py``: the calendar, regions and events of the merged scenario;
- ``writer.py``: scenarios written back as TOML.

Every problem is a :class:`ScenarioError` whose text is one line,
``file: key: reason``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulation.scenario import params as ptable
from simulation.scenario.checks import (
    check_calendar,
    check_events,
    check_map,
    check_regions,
    resolve_events,
)
from simulation.scenario.core import Region, Scenario, seed_problem
from simulation.scenario.errors import ScenarioError
from simulation.scenario.param_type import did_you_mean, plain, show
from simulation.scenario.reading import (
    EventSource,
    Layer,
    load_chain,
)
from simulation.scenario.schema import HEADER_FIELDS, HeaderModel, check_param
from simulation.scenario.schema_errors import error_from_pydantic

__all__ = ["load_scenario", "parse_assignment"]


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse ``name=value`` (``--set``); the value is read as TOML, else kept as text."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return name, value


def load_scenario(
    path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Load, merge (``extends``) and validate a scenario file.

    Header fields are inherited from ``extends`` parents except ``name``,
    which defaults to the file's stem. ``overrides`` maps dotted parameter
    names (or ``scenario.steps`` and the other header fields) to values;
    they are applied last. The file's events must fall within its own steps
    whatever the overrides; if the overrides shorten the run, events after
    its new end are dropped. Raises ScenarioError.
    """
    path = Path(path)
    file = str(path)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ScenarioError(
            file,
            "overrides",
            f"expected a mapping of parameter names to values, got {type(overrides).__name__}",
        )
    try:
        return _load_scenario(path, file, overrides or {})
    except RecursionError:  # a last resort: the reading and the checks avoid recursion
        raise ScenarioError(file, "toml", "values nested too deeply") from None


@dataclasses.dataclass
class _Merged:
    """An ``extends`` chain merged, oldest ancestor first: what the overrides start from."""

    header: dict[str, Any]
    values: dict[str, Any]
    regions: list[Region]
    regions_file: str
    sources: list[EventSource]


def _merge(layers: list[Layer], file: str) -> _Merged:
    """The layers' header fields, parameters and events, and the last regions given."""
    header: dict[str, Any] = {
        f.name: f.default for f in dataclasses.fields(Scenario) if f.name in HEADER_FIELDS
    }
    merged = _Merged(header, ptable.defaults(), [], file, [])
    for layer in layers:
        merged.header.update(layer.header)
        merged.values.update(layer.params)
        merged.sources.extend(layer.events)
        if layer.regions is not None:
            merged.regions, merged.regions_file = layer.regions, layer.file
    return merged


def _load_scenario(path: Path, file: str, overrides: Mapping[str, Any]) -> Scenario:
    layers = load_chain(path, file)
    merged = _merge(layers, file)
    header, values, regions = merged.header, merged.values, merged.regions
    # the name is not inherited: a child without one is named after its file
    header["name"] = layers[-1].header.get("name", path.stem)
    check_calendar(file, "scenario.steps", header)
    # the file's own events, checked against its own steps (whatever the overrides say);
    # the seeds are checked below, once the overrides are in
    own = {**header, "seed": 0, "replicates": 1}
    resolve_events(Scenario(**own, regions=tuple(regions)), merged.sources, drop_late=False)

    steps_overridden = _apply_overrides(file, overrides, header, values)
    for name, reason in ptable.cross_check(values):
        raise ScenarioError(file, name, reason)
    seeds = seed_problem(header["seed"], header["replicates"])
    if seeds is not None:
        raise ScenarioError(file, "scenario.seed", seeds)
    if len(overrides):
        check_calendar(
            file,
            next(
                (n for n in ("scenario.steps", "scenario.start_date") if n in overrides),
                "scenario.steps",
            ),
            header,
        )
    scenario = Scenario(
        **header,
        params=values,
        regions=tuple(regions),
        source=path,
        overrides=_non_defaults(values),
    )
    check_regions(merged.regions_file, scenario)
    events = resolve_events(scenario, merged.sources, drop_late=steps_overridden)
    check_events(scenario, merged.sources)
    scenario = dataclasses.replace(scenario, events=events)
    check_map(file, scenario)
    return scenario


def _apply_overrides(
    file: str, overrides: Mapping[str, Any], header: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Checked ``overrides`` written into ``header`` and ``values``; True if they set the steps."""
    steps_overridden = False
    for name, value in overrides.items():
        if not isinstance(name, str):
            raise ScenarioError(
                file,
                show(name),
                "parameter names are text such as "
                f"'isisk.attack_rate', got {type(name).__name__} {show(name)}",
            )
        if name.startswith("scenario."):
            header[name.split(".", 1)[1]] = _header_override(file, name, value)
            steps_overridden |= name == "scenario.steps"
        else:
            if value is None:
                raise ScenarioError(file, name, "expected a value, got None")
            values[name] = check_param(file, name, name, value)
    return steps_overridden


def _header_override(file: str, name: str, value: Any) -> Any:
    field_name = name.split(".", 1)[1]
    if field_name not in HEADER_FIELDS:
        hint = did_you_mean(field_name, HEADER_FIELDS)
        raise ScenarioError(file, name, f"not a settable header field{hint}")
    if value is None:
        raise ScenarioError(file, name, "expected a value, got None")
    value = plain(value)
    try:
        model = HeaderModel.model_validate({field_name: value})
    except ValidationError as exc:
        raise error_from_pydantic(file, exc, ("scenario",)) from None
    return getattr(model, field_name)


def _non_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    return {n: v for n, v in values.items() if v != ptable.PARAM_INDEX[n].default}
