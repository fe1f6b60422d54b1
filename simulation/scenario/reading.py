"""Reading scenario files: size and depth limits, TOML, and ``extends`` chains.

A file is read only if it is a regular file of at most :data:`MAX_FILE_BYTES`
with values nested at most :data:`MAX_DEPTH` deep; each file of an
``extends`` chain (at most :data:`MAX_EXTENDS`) becomes a validated but
unmerged :class:`Layer`. Chains are followed in a loop, not by recursion.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulation.scenario import params as ptable
from simulation.scenario.core import Region
from simulation.scenario.errors import ScenarioError, display_path
from simulation.scenario.param_type import show
from simulation.scenario.schema import EventModel, FileModel, check_param
from simulation.scenario.schema_errors import error_from_pydantic

__all__ = [
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "EventSource",
    "Layer",
    "load_chain",
]


#: Longest scenario file read, in bytes (a scenario is a few kB; this refuses
#: ``/dev/zero``-like files before they fill the memory).
MAX_FILE_BYTES = 1 << 20
#: Longest ``extends`` chain, in files.
MAX_EXTENDS = 32
#: Deepest nesting of tables and arrays in a file.
MAX_DEPTH = 16


@dataclass
class EventSource:
    """One ``[[events]]`` entry, with its file, index and checked ``set`` values."""

    file: str
    index: int
    model: EventModel
    set: dict[str, Any]


@dataclass
class Layer:
    """One file of an ``extends`` chain, validated but not yet merged."""

    file: str
    path: Path
    header: dict[str, Any]
    params: dict[str, Any]
    events: list[EventSource] = field(default_factory=list)
    regions: list[Region] | None = None


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
        raise ScenarioError(
            file,
            "file",
            f"too large for a scenario file ({info.st_size} bytes; at most {MAX_FILE_BYTES})",
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(file, "file", exc.strerror or str(exc)) from None
    if len(data) > MAX_FILE_BYTES:  # it grew after the stat
        raise ScenarioError(
            file, "file", f"too large for a scenario file (more than {MAX_FILE_BYTES} bytes)"
        )
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
        raise ScenarioError(
            file, "toml", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "toml", f"invalid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(
            file, "toml", f"values nested too deeply (at most {MAX_DEPTH} levels)"
        ) from None
    if not raw:
        raise ScenarioError(
            file,
            "file",
            "empty file (no tables or keys): a scenario has at least a [scenario] table",
        )
    if _depth(raw) > MAX_DEPTH:
        raise ScenarioError(file, "toml", f"values nested too deeply (at most {MAX_DEPTH} levels)")
    return raw


def _load_layer(path: Path, file: str) -> Layer:
    raw = _read_toml(path, file)
    try:
        model = FileModel.model_validate(raw)
    except ValidationError as exc:
        raise error_from_pydantic(file, exc) from None
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
            checked[name] = check_param(file, key, name, value)
            if ptable.PARAM_INDEX[name].start_only:
                raise ScenarioError(
                    file, key, "cannot be changed by an event: it is read only when the run starts"
                )
        events.append(EventSource(file, i, ev, checked))
    regions = None
    if model.regions is not None:  # type: ignore[attr-defined]
        regions = []
        seen: set[str] = set()
        for i, r in enumerate(model.regions):  # type: ignore[attr-defined]
            if r.name in seen:
                raise ScenarioError(file, f"regions[{i}].name", f"duplicate region {r.name!r}")
            seen.add(r.name)
            fields = r.model_dump()
            provinces = fields.pop("provinces")
            if provinces is not None:  # a region of provinces: its box is unused
                fields.update(x0=0.0, x1=1.0, y0=0.0, y1=1.0, provinces=tuple(provinces))
            regions.append(Region(**fields))
    return Layer(file, path, header, params, events, regions)


def load_chain(path: Path, file: str) -> list[Layer]:
    """The layers of ``path`` and its ancestors, oldest ancestor first.

    A loop, iteratively: a chain of any length ends in a ScenarioError (at
    most MAX_EXTENDS files), not a RecursionError.
    """
    layers: list[Layer] = []
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
            raise ScenarioError(
                file,
                "extends",
                f"{show(target)} cannot be resolved: {getattr(exc, 'strerror', None) or exc}",
            ) from None
        seen.append(here)
        if parent in seen:
            cycle = " -> ".join(display_path(p) for p in (*seen[seen.index(parent) :], parent))
            raise ScenarioError(file, "extends", f"cycle: {cycle}")
        if len(seen) >= MAX_EXTENDS:
            raise ScenarioError(
                first,
                "extends",
                f"the extends chain is longer than "
                f"{MAX_EXTENDS} files (it reaches {display_path(parent)})",
            )
        try:
            is_file = parent.is_file()
            exists = is_file or parent.exists()
        except OSError as exc:
            raise ScenarioError(file, "extends", f"{show(target)}: {exc.strerror or exc}") from None
        if not is_file:
            what = "is not a file" if exists else "does not exist"
            raise ScenarioError(file, "extends", f"{show(target)} ({display_path(parent)}) {what}")
        path, file = parent, display_path(parent)
