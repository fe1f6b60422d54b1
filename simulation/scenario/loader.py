"""Scenario files: load, validate and write TOML scenarios.

A scenario file has a ``[scenario]`` header, one table per parameter section
(``[world]``, ``[isisk]``, ...), ``[[events]]`` and ``[[regions]]``. The
structure is validated with pydantic and every parameter value with the
parameter table's :meth:`simulation.scenario.params.Param.check`. Every problem is
reported as a :class:`ScenarioError` whose text is one line,
``file: key: reason``. The format is described in ``docs/scenarios.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from simulation.scenario import params as ptable
from simulation.scenario.core import DAYS_PER_STEP, Event, Region, Scenario, seed_problem
from simulation.scenario.params import _did_you_mean, show

__all__ = [
    "HEADER_FIELDS",
    "ScenarioError",
    "format_toml_value",
    "load_scenario",
    "parse_assignment",
    "scenario_to_toml",
]


#: Longest scenario file read, in bytes (a scenario is a few kB; this refuses
#: ``/dev/zero``-like files before they fill the memory).
MAX_FILE_BYTES = 1 << 20
#: Longest ``extends`` chain, in files.
MAX_EXTENDS = 32
#: Deepest nesting of tables and arrays in a file.
MAX_DEPTH = 16
#: Longest scenario name, in characters: it becomes a directory name.
NAME_MAX = 100
#: Longest key or reason in an error message, in characters.
_KEY_MAX, _REASON_MAX = 120, 400


class ScenarioError(Exception):
    """A problem in a scenario file or override, reported as ``file: key: reason``."""

    def __init__(self, file: str | os.PathLike[str], key: str, reason: str):
        self.file = str(file)
        self.key = _clip(" ".join(str(key).split()), _KEY_MAX)
        self.reason = _clip(" ".join(str(reason).split()), _REASON_MAX)
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.reason}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- pydantic models of the file structure ---------------------------------

def _to_date(value: Any) -> dt.date:
    """Accept a TOML date or a ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a date like 2021-08-31, got the date-time {value.isoformat()}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2021-08-31, got {show(value)}")


def _one_line(value: str) -> str:
    if any(ord(c) < 32 for c in value):
        raise ValueError("must be a single line of text")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_to_date)]
Line = Annotated[str, Field(min_length=1), AfterValidator(_one_line)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_one_line)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
#: Largest count in one event (as isisk.initial_fighters).
_MAX_COUNT = ptable.PARAM_INDEX["isisk.initial_fighters"].max
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class HeaderModel(BaseModel):
    """The ``[scenario]`` table; every field is optional so children can inherit."""

    model_config = _STRICT

    name: Name | None = None
    description: str | None = None
    start_date: IsoDate | None = None
    steps: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    replicates: Annotated[int, Field(ge=1, le=100_000)] | None = None
    extends: Line | None = None


#: Header fields a scenario can set (``extends`` excluded).
HEADER_FIELDS: tuple[str, ...] = (
    "name", "description", "start_date", "steps", "seed", "replicates",
)


class EventModel(BaseModel):
    """One ``[[events]]`` entry."""

    model_config = _STRICT

    label: Line
    date: IsoDate | None = None
    step: Annotated[int, Field(ge=0)] | None = None
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    add_isisk_fighters: Annotated[int, Field(ge=0, le=_MAX_COUNT)] = 0
    region: Line | None = None
    ramp_steps: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _date_or_step(self) -> EventModel:
        if (self.date is None) == (self.step is None):
            raise ValueError("give exactly one of date or step")
        return self


class RegionModel(BaseModel):
    """One ``[[regions]]`` entry."""

    model_config = _STRICT

    name: Line
    x0: Fraction
    x1: Fraction
    y0: Fraction
    y1: Fraction
    isisk_share: Fraction = 0.0
    hardship_shift: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    capital: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> RegionModel:
        if self.x0 >= self.x1:
            raise ValueError(f"x0 must be less than x1 (got {self.x0} >= {self.x1})")
        if self.y0 >= self.y1:
            raise ValueError(f"y0 must be less than y1 (got {self.y0} >= {self.y1})")
        return self


def _param_field(p: ptable.Param) -> tuple[Any, Any]:
    return (Annotated[Any, AfterValidator(p.check)], None)


_SECTION_MODELS: dict[str, type[BaseModel]] = {
    section: create_model(  # type: ignore[call-overload]
        f"{section.title()}Section",
        __config__=ConfigDict(extra="forbid", allow_inf_nan=False),
        **{p.key: _param_field(p) for p in ptable.PARAMS if p.section == section},
    )
    for section in ptable.SECTIONS
}

FileModel: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "ScenarioFile",
    __config__=ConfigDict(extra="forbid", strict=True, allow_inf_nan=False),
    scenario=(HeaderModel, Field(default_factory=HeaderModel)),
    events=(list[EventModel], Field(default_factory=list)),
    regions=(list[RegionModel] | None, None),
    **{s: (m | None, None) for s, m in _SECTION_MODELS.items()},
)


# --- error translation -------------------------------------------------------

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
        elif part in _SECTION_MODELS:
            model = _SECTION_MODELS[part]
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
        return f"unknown section{_did_you_mean(name, options)}; sections are " + ", ".join(
            options)
    if parent[0] in _SECTION_MODELS and len(parent) == 1:
        dotted = f"{parent[0]}.{name}"
        reason = str(ptable.UnknownParameter(dotted))
        if "did you mean" not in reason:
            homes = [p.name for p in ptable.PARAMS if p.key == name]
            if homes:
                reason += f" ({name} is in [{homes[0].split('.')[0]}])"
        return reason
    model = _model_at(parent)
    options = [
        f.alias or n for n, f in model.model_fields.items()
    ] if model else []
    return f"unknown key{_did_you_mean(name, options)}; keys are " + ", ".join(options)


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


def _error_from_pydantic(file: str, exc: ValidationError, prefix: tuple[Any, ...] = ()
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
        reason = (f"too long: {len(value)} characters, at most {limit} "
                  "(the name becomes a directory name)")
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


# --- loading -------------------------------------------------------------------

@dataclass
class _EventSource:
    file: str
    index: int
    model: EventModel
    set: dict[str, Any]


@dataclass
class _Layer:
    """One file of an ``extends`` chain, validated but not yet merged."""

    file: str
    path: Path
    header: dict[str, Any]
    params: dict[str, Any]
    events: list[_EventSource] = field(default_factory=list)
    regions: list[Region] | None = None


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (accepts dotted TOML keys in ``set``)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _check_param(file: str, key: str, name: str, value: Any) -> Any:
    try:
        p = ptable.get(name)
    except ptable.UnknownParameter as exc:
        raise ScenarioError(file, key, str(exc)) from None
    try:
        return p.check(value)
    except ValueError as exc:
        raise ScenarioError(file, key, str(exc)) from None


def _read_bytes(path: Path, file: str) -> bytes:
    """The file's bytes: a regular file of at most MAX_FILE_BYTES, else ScenarioError.

    The type is checked before opening, so a FIFO or a device (``/dev/zero``)
    is refused instead of blocking or filling the memory.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(file, "file", "no such file") from None
    except (OSError, ValueError) as exc:  # a symlink loop, a name too long, a NUL byte
        raise ScenarioError(file, "file", getattr(exc, "strerror", None) or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(file, "file", "is a directory, not a scenario file")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(file, "file", "not a regular file (a device, FIFO or socket)")
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(file, "file", f"too large for a scenario file ({info.st_size} "
                            f"bytes; at most {MAX_FILE_BYTES})")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(file, "file", exc.strerror or str(exc)) from None
    if len(data) > MAX_FILE_BYTES:  # it grew after the stat
        raise ScenarioError(file, "file", f"too large for a scenario file (more than "
                            f"{MAX_FILE_BYTES} bytes)")
    return data


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value`` (iteratively: no recursion limit)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, d = todo.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, d + 1)
        if deepest > MAX_DEPTH:
            break
        todo.extend((c, d + 1) for c in children)
    return deepest


def _read_toml(path: Path, file: str) -> dict[str, Any]:
    data = _read_bytes(path, file)
    try:
        # a UTF-8 byte order mark (some Windows editors write one) is skipped
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(file, "toml", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                            ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "toml", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(file, "toml", f"values nested too deeply (at most {MAX_DEPTH} "
                            "levels)") from None
    if not raw:
        raise ScenarioError(file, "file", "empty file (no tables or keys): a scenario has at "
                            "least a [scenario] table")
    if _depth(raw) > MAX_DEPTH:
        raise ScenarioError(file, "toml", f"values nested too deeply (at most {MAX_DEPTH} "
                            "levels)")
    return raw


def _load_layer(path: Path, file: str) -> _Layer:
    raw = _read_toml(path, file)
    try:
        model = FileModel.model_validate(raw)
    except ValidationError as exc:
        raise _error_from_pydantic(file, exc) from None
    header = model.scenario.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    params: dict[str, Any] = {}
    for section in ptable.SECTIONS:
        sec = getattr(model, section)
        if sec is not None:
            for key in sec.model_fields_set:
                params[f"{section}.{key}"] = getattr(sec, key)
    events = []
    for i, ev in enumerate(model.events):  # type: ignore[attr-defined]
        checked = {}
        for name, value in _flatten(ev.set_).items():
            key = f"events[{i}].set.{name}"
            checked[name] = _check_param(file, key, name, value)
            if ptable.PARAM_INDEX[name].start_only:
                raise ScenarioError(file, key, "cannot be changed by an event: it is read "
                                    "only when the run starts")
        events.append(_EventSource(file, i, ev, checked))
    regions = None
    if model.regions is not None:  # type: ignore[attr-defined]
        regions = []
        seen: set[str] = set()
        for i, r in enumerate(model.regions):  # type: ignore[attr-defined]
            if r.name in seen:
                raise ScenarioError(file, f"regions[{i}].name", f"duplicate region {r.name!r}")
            seen.add(r.name)
            regions.append(Region(**r.model_dump()))
    return _Layer(file, path, header, params, events, regions)


def _load_chain(path: Path, file: str) -> list[_Layer]:
    """The layers of ``path`` and its ancestors, oldest ancestor first.

    A loop, iteratively: a chain of any length ends in a ScenarioError (at
    most MAX_EXTENDS files), not a RecursionError.
    """
    layers: list[_Layer] = []
    seen: list[Path] = []
    first = file
    while True:
        layer = _load_layer(path, file)
        layers.append(layer)
        target = layer.header.pop("extends", None)
        if target is None:
            return layers[::-1]
        try:
            here = path.resolve()
            parent = (path.parent / target).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before 3.13)
            raise ScenarioError(file, "extends", f"{show(target)} cannot be resolved: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
        seen.append(here)
        if parent in seen:
            cycle = " -> ".join(display_path(p) for p in (*seen[seen.index(parent):], parent))
            raise ScenarioError(file, "extends", f"cycle: {cycle}")
        if len(seen) >= MAX_EXTENDS:
            raise ScenarioError(first, "extends", f"the extends chain is longer than "
                                f"{MAX_EXTENDS} files (it reaches {display_path(parent)})")
        try:
            is_file = parent.is_file()
            exists = is_file or parent.exists()
        except OSError as exc:
            raise ScenarioError(file, "extends", f"{show(target)}: {exc.strerror or exc}"
                                ) from None
        if not is_file:
            what = "is not a file" if exists else "does not exist"
            raise ScenarioError(file, "extends", f"{show(target)} ({display_path(parent)}) "
                                f"{what}")
        path, file = parent, display_path(parent)


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


def _header_override(file: str, name: str, value: Any) -> Any:
    field_name = name.split(".", 1)[1]
    if field_name not in HEADER_FIELDS:
        hint = _did_you_mean(field_name, HEADER_FIELDS)
        raise ScenarioError(file, name, f"not a settable header field{hint}")
    if value is None:
        raise ScenarioError(file, name, "expected a value, got None")
    value = ptable.plain(value)
    try:
        model = HeaderModel.model_validate({field_name: value})
    except ValidationError as exc:
        raise _error_from_pydantic(file, exc, ("scenario",)) from None
    return getattr(model, field_name)


def load_scenario(path: str | os.PathLike[str],
                  overrides: Mapping[str, Any] | None = None) -> Scenario:
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
        raise ScenarioError(file, "overrides", f"expected a mapping of parameter names to "
                            f"values, got {type(overrides).__name__}")
    try:
        return _load_scenario(path, file, overrides or {})
    except RecursionError:  # a last resort: the reading and the checks avoid recursion
        raise ScenarioError(file, "toml", "values nested too deeply") from None


def _load_scenario(path: Path, file: str, overrides: Mapping[str, Any]) -> Scenario:
    layers = _load_chain(path, file)
    header: dict[str, Any] = {
        f.name: f.default for f in dataclasses.fields(Scenario) if f.name in HEADER_FIELDS
    }
    values = ptable.defaults()
    regions: list[Region] = []
    regions_file = file
    sources: list[_EventSource] = []
    for layer in layers:
        header.update(layer.header)
        values.update(layer.params)
        sources.extend(layer.events)
        if layer.regions is not None:
            regions, regions_file = layer.regions, layer.file

    # the name is not inherited: a child without one is named after its file
    header["name"] = layers[-1].header.get("name", path.stem)
    _check_calendar(file, "scenario.steps", header)
    # the file's own events, checked against its own steps (whatever the overrides say);
    # the seeds are checked below, once the overrides are in
    own = {**header, "seed": 0, "replicates": 1}
    _resolve_events(Scenario(**own, regions=tuple(regions)), sources, drop_late=False)

    steps_overridden = False
    for name, value in overrides.items():
        if not isinstance(name, str):
            raise ScenarioError(file, show(name), "parameter names are text such as "
                                f"'isisk.attack_rate', got {type(name).__name__} {show(name)}")
        if name.startswith("scenario."):
            header[name.split(".", 1)[1]] = _header_override(file, name, value)
            steps_overridden |= name == "scenario.steps"
        else:
            if value is None:
                raise ScenarioError(file, name, "expected a value, got None")
            values[name] = _check_param(file, name, name, value)

    for name, reason in ptable.cross_check(values):
        raise ScenarioError(file, name, reason)
    seeds = seed_problem(header["seed"], header["replicates"])
    if seeds is not None:
        raise ScenarioError(file, "scenario.seed", seeds)
    if len(overrides):
        _check_calendar(file, next((n for n in ("scenario.steps", "scenario.start_date")
                                    if n in overrides), "scenario.steps"), header)
    scenario = Scenario(
        **header,
        params=values,
        regions=tuple(regions),
        source=path,
        overrides=_non_defaults(values),
    )
    _check_regions(regions_file, scenario)
    events = _resolve_events(scenario, sources, drop_late=steps_overridden)
    _check_events(scenario, sources)
    return dataclasses.replace(scenario, events=events)


def _check_calendar(file: str, key: str, header: Mapping[str, Any]) -> None:
    """The run's last week must be a date the calendar holds (at most 9999-12-31)."""
    start, steps = header["start_date"], header["steps"]
    if (dt.date.max - start).days < DAYS_PER_STEP * steps:
        raise ScenarioError(file, key, f"{steps} weeks from {start.isoformat()} end after "
                            f"{dt.date.max.isoformat()}, the last date the calendar holds")


def _empty_box(region: Region, width: int, height: int) -> bool:
    x0, x1, y0, y1 = region.cell_bounds(width, height)
    return x0 >= x1 or y0 >= y1


def _box_text(scenario: Scenario, region: Region) -> str:
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    return (f"region {region.name!r} holds no cell of the {w}x{h} world "
            f"(x {region.x0:g}-{region.x1:g}, y {region.y0:g}-{region.y1:g} round to an "
            "empty box)")


def _check_regions(file: str, scenario: Scenario) -> None:
    """A region that holds no grid cell cannot be given fighters or be the capital."""
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    for i, r in enumerate(scenario.regions):
        if not _empty_box(r, w, h):
            continue
        if r.isisk_share > 0:
            raise ScenarioError(file, f"regions[{i}].isisk_share",
                                f"{_box_text(scenario, r)} but is given ISIS-K fighters")
        if r.capital:
            raise ScenarioError(file, f"regions[{i}].capital",
                                f"{_box_text(scenario, r)}, so it cannot be the capital")


def _check_events(scenario: Scenario, sources: list[_EventSource]) -> None:
    """What events set or add, checked as the run will meet it, in order of steps."""
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    regions = {r.name: r for r in scenario.regions}
    step_of = {id(src): _event_step(scenario, src.model) for src in sources}
    values = dict(scenario.params)
    for src in sorted(sources, key=lambda src: step_of[id(src)]):
        key = f"events[{src.index}]"
        ev = src.model
        if step_of[id(src)] > scenario.steps:
            continue  # dropped: after a shortened end
        region = regions.get(ev.region) if ev.region is not None else None
        if ev.add_isisk_fighters and region is not None and _empty_box(region, w, h):
            raise ScenarioError(src.file, f"{key}.region",
                                f"{_box_text(scenario, region)} but the event adds "
                                "fighters to it")
        values.update(src.set)
        for name, reason in ptable.cross_check(values):
            if name in src.set:
                raise ScenarioError(src.file, f"{key}.set.{name}", reason)


def _non_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    return {n: v for n, v in values.items() if v != ptable.PARAM_INDEX[n].default}


def _event_step(scenario: Scenario, ev: EventModel) -> int:
    if ev.date is not None:
        return scenario.step_of(ev.date)
    return int(ev.step)  # type: ignore[arg-type]


def _resolve_events(scenario: Scenario, sources: list[_EventSource], drop_late: bool
                    ) -> tuple[Event, ...]:
    names = [r.name for r in scenario.regions]
    events: list[Event] = []
    for src in sources:
        ev = src.model
        key = f"events[{src.index}]"
        step = _event_step(scenario, ev)
        if ev.date is not None:
            where = f"{key}.date"
            what = f"{ev.date.isoformat()} (step {step})"
        else:
            where = f"{key}.step"
            what = f"step {show(step)}"
        if step < 0:
            raise ScenarioError(src.file, where, f"{what} is before the start date "
                                f"{scenario.start_date.isoformat()}")
        if step > scenario.steps:
            if drop_late:
                continue
            last = scenario.date_of(scenario.steps).isoformat()
            raise ScenarioError(src.file, where, f"{what} is after the end of the run "
                                f"(step {scenario.steps}, {last})")
        if ev.region is not None and ev.region not in names:
            defined = ", ".join(names) if names else "none"
            raise ScenarioError(src.file, f"{key}.region", f"unknown region {ev.region!r}"
                                f"{_did_you_mean(ev.region, names)}; defined regions: {defined}")
        events.append(Event(step=step, label=ev.label, set=src.set,
                            add_isisk_fighters=ev.add_isisk_fighters, region=ev.region,
                            ramp_steps=ev.ramp_steps))
    return tuple(sorted(events, key=lambda e: e.step))


# --- writing -------------------------------------------------------------------

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


def scenario_to_toml(scenario: Scenario, extends: str | None = None,
                     only: Mapping[str, Any] | None = None) -> str:
    """Write ``scenario`` as a TOML scenario file.

    Without ``extends`` the file is self-contained: every header field,
    parameter, region and event. With ``extends`` it is a child of that file
    (path relative to where the new file will be saved): it writes the name,
    description and parameters but no events or regions, which it inherits.
    ``only`` restricts the parameters written to its keys (dotted names; the
    values written are ``only``'s); ``scenario.<field>`` keys in it also pin
    header fields of a child.
    """
    lines: list[str] = []
    selected = dict(only) if only is not None else None
    header_keys = list(HEADER_FIELDS)
    if extends is not None and selected is not None:
        header_keys = ["name", "description"] + [
            f for f in HEADER_FIELDS[2:] if f"scenario.{f}" in selected]
    lines.append("[scenario]")
    for f in header_keys:
        value = (selected or {}).get(f"scenario.{f}", getattr(scenario, f))
        lines.append(f"{f} = {format_toml_value(value)}")
        if f == "description" and extends is not None:
            lines.append(f"extends = {format_toml_value(extends)}")

    if selected is None:
        param_values = dict(scenario.params)
    else:
        param_values = {}
        for name, value in selected.items():
            if name.startswith("scenario."):
                continue
            param_values[name] = _check_param(str(scenario.source or scenario.name), name,
                                              name, value)
    for section in ptable.SECTIONS:
        items = [p for p in ptable.PARAMS if p.section == section and p.name in param_values]
        if not items:
            continue
        lines.append("")
        lines.append(f"[{section}]")
        for p in items:
            text = f"{p.key} = {format_toml_value(param_values[p.name], p.kind)}"
            lines.append(f"{text:<40} # {p.unit}" if p.unit not in ("", "-") else text)

    if extends is None:
        for r in scenario.regions:
            lines += ["", "[[regions]]"]
            for f in dataclasses.fields(Region):
                kind = float if f.type in ("float", float) else None
                lines.append(f"{f.name} = {format_toml_value(getattr(r, f.name), kind)}")
        for ev in scenario.events:
            lines += ["", "[[events]]",
                      f"step = {ev.step:<10} # {scenario.date_of(ev.step).isoformat()}",
                      f"label = {format_toml_value(ev.label)}"]
            if ev.set:
                lines.append(f"set = {format_toml_value(_typed_set(ev.set))}")
            if ev.add_isisk_fighters:
                lines.append(f"add_isisk_fighters = {ev.add_isisk_fighters}")
            if ev.region is not None:
                lines.append(f"region = {format_toml_value(ev.region)}")
            if ev.ramp_steps:
                lines.append(f"ramp_steps = {ev.ramp_steps}")
    return "\n".join(lines) + "\n"


def _typed_set(values: Mapping[str, Any]) -> dict[str, Any]:
    """Event ``set`` values with floats kept floats (``1.0``, not ``1``)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        p = ptable.PARAM_INDEX.get(name)
        out[name] = float(value) if p is not None and p.kind is float else value
    return out
