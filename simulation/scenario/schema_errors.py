"""Pydantic's validation errors as one-line :class:`ScenarioError` messages.

The most telling error is chosen (unknown keys first), its location becomes
a dotted key (``events[2].date``) and its reason plain words, with a
did-you-mean hint for misspelt keys and sections.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from simulation.scenario import params as ptable
from simulation.scenario.errors import ScenarioError
from simulation.scenario.param_type import did_you_mean, show
from simulation.scenario.schema import (
    SECTION_MODELS,
    EventModel,
    FileModel,
    HeaderModel,
    RegionModel,
)

__all__ = ["error_from_pydantic"]


def _key_of(loc: tuple[Any, ...]) -> str:
    """``("events", 2, "date")`` -> ``events[2].date``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the key at ``loc`` (for did-you-mean)."""
    model: type[BaseModel] | None = FileModel
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        if part == "events":
            model = EventModel
        elif part == "regions":
            model = RegionModel
        elif part == "scenario":
            model = HeaderModel
        elif part in SECTION_MODELS:
            model = SECTION_MODELS[part]
        else:
            return model
    return model


def _unknown_key_reason(loc: tuple[Any, ...]) -> str:
    name = str(loc[-1])
    parent = loc[:-1]
    if not parent:  # top level
        if name in HeaderModel.model_fields:
            return f"unknown section {name!r} ({name} belongs in the [scenario] table)"
        homes = [p.section for p in ptable.PARAMS if p.key == name]
        if homes:
            return f"unknown section {name!r} (did you mean {name} in [{homes[0]}]?)"
        options = list(FileModel.model_fields)
        return f"unknown section{did_you_mean(name, options)}; sections are " + ", ".join(options)
    if parent[0] in SECTION_MODELS and len(parent) == 1:
        dotted = f"{parent[0]}.{name}"
        reason = str(ptable.UnknownParameter(dotted))
        if "did you mean" not in reason:
            homes = [p.name for p in ptable.PARAMS if p.key == name]
            if homes:
                reason += f" ({name} is in [{homes[0].split('.')[0]}])"
        return reason
    model = _model_at(parent)
    options = [f.alias or n for n, f in model.model_fields.items()] if model else []
    return f"unknown key{did_you_mean(name, options)}; keys are " + ", ".join(options)


_TYPE_WORDS = {
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "list_type": "expected an array",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
}


_BOUND_WORDS = {
    "greater_than_equal": "must be at least",
    "greater_than": "must be greater than",
    "less_than_equal": "must be at most",
    "less_than": "must be less than",
}


def error_from_pydantic(
    file: str, exc: ValidationError, prefix: tuple[Any, ...] = ()
) -> ScenarioError:
    """The most telling pydantic error (unknown keys first) as a one-line ScenarioError."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = prefix + tuple(err["loc"])
    etype = err["type"]
    value = err.get("input")
    if etype == "extra_forbidden":
        reason = _unknown_key_reason(loc)
    elif etype == "missing":
        reason = "required key is missing"
    elif etype == "value_error":
        ctx_err = err.get("ctx", {}).get("error")
        reason = str(ctx_err) if ctx_err is not None else err["msg"]
    elif etype == "string_too_short":
        reason = "must not be empty"
    elif etype == "string_too_long":
        limit = err.get("ctx", {}).get("max_length", "?")
        reason = (
            f"too long: {len(value)} characters, at most {limit} "
            "(the name becomes a directory name)"
        )
    elif etype == "list_type" and loc and loc[-1] in ("events", "regions"):
        reason = f"expected an array of tables (write [[{loc[-1]}]]), got {_show(value)}"
    elif etype in _TYPE_WORDS:
        reason = f"{_TYPE_WORDS[etype]}, got {_show(value)}"
    elif etype in _BOUND_WORDS:
        bound = next(iter(err.get("ctx", {}).values()), "?")
        reason = f"{_BOUND_WORDS[etype]} {show(bound)}, got {_show(value)}"
    else:
        msg = err["msg"]
        reason = f"{msg[0].lower()}{msg[1:]}, got {_show(value)}"
    return ScenarioError(file, _key_of(loc) or "toml", reason)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return show(value)
