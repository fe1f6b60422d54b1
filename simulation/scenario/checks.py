"""The checks a merged scenario must pass: its calendar, regions and events.

They run once the ``extends`` chain is merged (and again with the overrides),
against the :class:`~simulation.scenario.core.Scenario` the run will use, and
report the file and key an offending value came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from simulation.scenario import params as ptable
from simulation.scenario.core import DAYS_PER_STEP, Event, Region, Scenario
from simulation.scenario.errors import ScenarioError
from simulation.scenario.param_type import did_you_mean, show
from simulation.scenario.provinces import map_too_small
from simulation.scenario.reading import EventSource
from simulation.scenario.schema import EventModel

__all__ = ["check_calendar", "check_events", "check_map", "check_regions", "resolve_events"]


def check_calendar(file: str, key: str, header: Mapping[str, Any]) -> None:
    """The run's last week must be a date the calendar holds (at most 9999-12-31)."""
    start, steps = header["start_date"], header["steps"]
    if (dt.date.max - start).days < DAYS_PER_STEP * steps:
        raise ScenarioError(
            file,
            key,
            f"{steps} weeks from {start.isoformat()} end after "
            f"{dt.date.max.isoformat()}, the last date the calendar holds",
        )


def _empty_box(region: Region, width: int, height: int) -> bool:
    x0, x1, y0, y1 = region.cell_bounds(width, height)
    return x0 >= x1 or y0 >= y1


def _box_text(scenario: Scenario, region: Region) -> str:
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    return (
        f"region {region.name!r} holds no cell of the {w}x{h} world "
        f"(x {region.x0:g}-{region.x1:g}, y {region.y0:g}-{region.y1:g} round to an "
        "empty box)"
    )


def check_map(file: str, scenario: Scenario) -> None:
    """On the map, the grid must hold the provinces inside their empty border."""
    if scenario.params["world.map"] == "afghanistan" and (reason := map_too_small(scenario)):
        raise ScenarioError(file, "world.width", reason)


def check_regions(file: str, scenario: Scenario) -> None:
    """Regions are boxes on the grid and provinces on the map; an empty one gets nothing.

    A region that holds no grid cell cannot be given fighters or be the capital.
    """
    w, h = scenario.params["world.width"], scenario.params["world.height"]
    on_map = scenario.params["world.map"] == "afghanistan"
    for i, r in enumerate(scenario.regions):
        if on_map and not r.provinces:
            raise ScenarioError(
                file,
                f"regions[{i}]",
                f"region {r.name!r} is a box, but world.map = 'afghanistan' places "
                "regions by province: give provinces = [...]",
            )
        if r.provinces:
            if not on_map:
                raise ScenarioError(
                    file,
                    f"regions[{i}].provinces",
                    f"region {r.name!r} names provinces, which need world.map = 'afghanistan'",
                )
            continue
        if not _empty_box(r, w, h):
            continue
        if r.isisk_share > 0:
            raise ScenarioError(
                file,
                f"regions[{i}].isisk_share",
                f"{_box_text(scenario, r)} but is given ISIS-K fighters",
            )
        if r.capital:
            raise ScenarioError(
                file,
                f"regions[{i}].capital",
                f"{_box_text(scenario, r)}, so it cannot be the capital",
            )


def check_events(scenario: Scenario, sources: list[EventSource]) -> None:
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
            raise ScenarioError(
                src.file,
                f"{key}.region",
                f"{_box_text(scenario, region)} but the event adds fighters to it",
            )
        if ev.remove_isisk_fighters and region is not None and _empty_box(region, w, h):
            raise ScenarioError(
                src.file,
                f"{key}.region",
                f"{_box_text(scenario, region)} but the event removes fighters from it",
            )
        values.update(src.set)
        for name, reason in ptable.cross_check(values):
            if name in src.set:
                raise ScenarioError(src.file, f"{key}.set.{name}", reason)


def _event_step(scenario: Scenario, ev: EventModel) -> int:
    if ev.date is not None:
        return scenario.step_of(ev.date)
    return int(ev.step)  # type: ignore[arg-type]


def resolve_events(
    scenario: Scenario, sources: list[EventSource], drop_late: bool
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
            raise ScenarioError(
                src.file,
                where,
                f"{what} is before the start date {scenario.start_date.isoformat()}",
            )
        if step > scenario.steps:
            if drop_late:
                continue
            last = scenario.date_of(scenario.steps).isoformat()
            raise ScenarioError(
                src.file,
                where,
                f"{what} is after the end of the run (step {scenario.steps}, {last})",
            )
        if ev.region is not None and ev.region not in names:
            defined = ", ".join(names) if names else "none"
            raise ScenarioError(
                src.file,
                f"{key}.region",
                f"unknown region {ev.region!r}"
                f"{did_you_mean(ev.region, names)}; defined regions: {defined}",
            )
        events.append(
            Event(
                step=step,
                label=ev.label,
                set=src.set,
                add_isisk_fighters=ev.add_isisk_fighters,
                region=ev.region,
                ramp_steps=ev.ramp_steps,
                remove_isisk_fighters=ev.remove_isisk_fighters,
            )
        )
    return tuple(sorted(events, key=lambda e: e.step))
