"""The structure of a scenario file, as pydantic models.

A file has a ``[scenario]`` header (:class:`HeaderModel`), one table per
parameter section (``[world]``, ``[isisk]``, ...; made from the parameter
table), ``[[events]]`` (:class:`EventModel`) and ``[[regions]]``
(:class:`RegionModel`); :data:`FileModel` is the whole file. Parameter values
are checked by the table's :meth:`~simulation.scenario.param_type.Param.check`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from simulation.scenario import params as ptable
from simulation.scenario.errors import ScenarioError
from simulation.scenario.param_type import show
from simulation.scenario.provinces import unknown_province

__all__ = [
    "HEADER_FIELDS",
    "NAME_MAX",
    "SECTION_MODELS",
    "EventModel",
    "FileModel",
    "HeaderModel",
    "RegionModel",
    "check_param",
]

#: Longest scenario name, in characters: it becomes a directory name.
NAME_MAX = 100


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
    "name",
    "description",
    "start_date",
    "steps",
    "seed",
    "replicates",
)


class EventModel(BaseModel):
    """One ``[[events]]`` entry."""

    model_config = _STRICT

    label: Line
    date: IsoDate | None = None
    step: Annotated[int, Field(ge=0)] | None = None
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    add_isisk_fighters: Annotated[int, Field(ge=0, le=_MAX_COUNT)] = 0
    remove_isisk_fighters: Annotated[int, Field(ge=0, le=_MAX_COUNT)] = 0
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
    x0: Fraction | None = None
    x1: Fraction | None = None
    y0: Fraction | None = None
    y1: Fraction | None = None
    isisk_share: Fraction = 0.0
    hardship_shift: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    capital: bool = False
    provinces: list[Line] | None = None
    intel_factor: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0

    @field_validator("provinces")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        if names is not None:
            if not names:
                raise ValueError("provinces must name at least one province")
            if reason := unknown_province(names):
                raise ValueError(reason)
        return names

    @model_validator(mode="after")
    def _ordered(self) -> RegionModel:
        box = (self.x0, self.x1, self.y0, self.y1)
        if self.provinces is not None:
            if any(v is not None for v in box):
                raise ValueError("give either provinces or the box x0, x1, y0, y1, not both")
            return self
        if any(v is None for v in box):
            raise ValueError("a region needs its box x0, x1, y0, y1 (or, on the map, provinces)")
        if self.x0 >= self.x1:
            raise ValueError(f"x0 must be less than x1 (got {self.x0} >= {self.x1})")
        if self.y0 >= self.y1:
            raise ValueError(f"y0 must be less than y1 (got {self.y0} >= {self.y1})")
        return self


def _param_field(p: ptable.Param) -> tuple[Any, Any]:
    return (Annotated[Any, AfterValidator(p.check)], None)


SECTION_MODELS: dict[str, type[BaseModel]] = {
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
    **{s: (m | None, None) for s, m in SECTION_MODELS.items()},
)


def check_param(file: str, key: str, name: str, value: Any) -> Any:
    """``value`` checked as parameter ``name``; a problem is a ScenarioError at ``key``."""
    try:
        p = ptable.get(name)
    except ptable.UnknownParameter as exc:
        raise ScenarioError(file, key, str(exc)) from None
    try:
        return p.check(value)
    except ValueError as exc:
        raise ScenarioError(file, key, str(exc)) from None
