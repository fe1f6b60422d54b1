"""Writing scenarios back as TOML scenario files.

:func:`scenario_to_toml` writes a self-contained file (every header field,
parameter, region and event) or a child that ``extends`` another file;
:func:`format_toml_value` writes one value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from simulation.scenario import params as ptable
from simulation.scenario.core import Region, Scenario
from simulation.scenario.schema import HEADER_FIELDS, check_param

__all__ = ["format_toml_value", "scenario_to_toml"]


def format_toml_value(value: Any, kind: type | None = None) -> str:
    """One value as TOML text (``kind=float`` forces a float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind is float or isinstance(value, float):
        x = float(value)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {format_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key)
    return key if bare else format_toml_value(key)


def scenario_to_toml(
    scenario: Scenario, extends: str | None = None, only: Mapping[str, Any] | None = None
) -> str:
    """Write ``scenario`` as a TOML scenario file.

    Without ``extends`` the file is self-contained: every header field,
    parameter, region and event. With ``extends`` it is a child of that file
    (path relative to where the new file will be saved): it writes the name,
    description and parameters but no events or regions, which it inherits.
    ``only`` restricts the parameters written to its keys (dotted names; the
    values written are ``only``'s); ``scenario.<field>`` keys in it also pin
    header fields of a child.
    """
    selected = dict(only) if only is not None else None
    lines = _header_lines(scenario, extends, selected)
    lines += _param_lines(_param_values(scenario, selected))
    if extends is None:
        lines += _region_lines(scenario) + _event_lines(scenario)
    return "\n".join(lines) + "\n"


def _header_lines(
    scenario: Scenario, extends: str | None, selected: dict[str, Any] | None
) -> list[str]:
    """The ``[scenario]`` table (with ``extends`` after the description)."""
    header_keys = list(HEADER_FIELDS)
    if extends is not None and selected is not None:
        header_keys = ["name", "description"] + [
            f for f in HEADER_FIELDS[2:] if f"scenario.{f}" in selected
        ]
    lines = ["[scenario]"]
    for f in header_keys:
        value = (selected or {}).get(f"scenario.{f}", getattr(scenario, f))
        lines.append(f"{f} = {format_toml_value(value)}")
        if f == "description" and extends is not None:
            lines.append(f"extends = {format_toml_value(extends)}")
    return lines


def _param_values(scenario: Scenario, selected: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters to write: all of the scenario's, or the checked ``selected`` ones."""
    if selected is None:
        return dict(scenario.params)
    param_values = {}
    for name, value in selected.items():
        if name.startswith("scenario."):
            continue
        param_values[name] = check_param(str(scenario.source or scenario.name), name, name, value)
    return param_values


def _param_lines(param_values: Mapping[str, Any]) -> list[str]:
    """One table per section that has values, each value with its unit as a comment."""
    lines: list[str] = []
    for section in ptable.SECTIONS:
        items = [p for p in ptable.PARAMS if p.section == section and p.name in param_values]
        if not items:
            continue
        lines.append("")
        lines.append(f"[{section}]")
        for p in items:
            text = f"{p.key} = {format_toml_value(param_values[p.name], p.kind)}"
            lines.append(f"{text:<40} # {p.unit}" if p.unit not in ("", "-") else text)
    return lines


def _region_lines(scenario: Scenario) -> list[str]:
    """The ``[[regions]]`` entries, every field written."""
    lines: list[str] = []
    for r in scenario.regions:
        lines += ["", "[[regions]]"]
        for f in dataclasses.fields(Region):
            if r.provinces and f.name in ("x0", "x1", "y0", "y1"):
                continue  # a region of provinces has no box
            if f.name == "intel_factor" and r.intel_factor == 1.0:
                continue  # the default: files written before it existed stay the same
            if f.name == "provinces":
                if r.provinces:
                    lines.append(f"provinces = {format_toml_value(list(r.provinces))}")
                continue
            kind = float if f.type in ("float", float) else None
            lines.append(f"{f.name} = {format_toml_value(getattr(r, f.name), kind)}")
    return lines


def _event_lines(scenario: Scenario) -> list[str]:
    """The ``[[events]]`` entries, by step (with the date as a comment)."""
    lines: list[str] = []
    for ev in scenario.events:
        lines += [
            "",
            "[[events]]",
            f"step = {ev.step:<10} # {scenario.date_of(ev.step).isoformat()}",
            f"label = {format_toml_value(ev.label)}",
        ]
        if ev.set:
            lines.append(f"set = {format_toml_value(_typed_set(ev.set))}")
        if ev.add_isisk_fighters:
            lines.append(f"add_isisk_fighters = {ev.add_isisk_fighters}")
        if ev.remove_isisk_fighters:
            lines.append(f"remove_isisk_fighters = {ev.remove_isisk_fighters}")
        if ev.region is not None:
            lines.append(f"region = {format_toml_value(ev.region)}")
        if ev.ramp_steps:
            lines.append(f"ramp_steps = {ev.ramp_steps}")
    return lines


def _typed_set(values: Mapping[str, Any]) -> dict[str, Any]:
    """Event ``set`` values with floats kept floats (``1.0``, not ``1``)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        p = ptable.PARAM_INDEX.get(name)
        out[name] = float(value) if p is not None and p.kind is float else value
    return out
