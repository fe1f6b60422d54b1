"""Scheduled events and ramps (simulation.model.events)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.model import ConflictModel
from simulation.model.events import Ramp, Schedule, set_param
from simulation.scenario.core import Event, Region, make_scenario


def test_ramp_moves_linearly_and_ends_at_its_value() -> None:
    ramp = Ramp("x", 0.2, 1.0, start_step=10, steps=4)
    assert [ramp.fraction(t) for t in range(10, 15)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert np.isclose(ramp.value(11), 0.6)
    assert ramp.value(13) == 1.0


def test_set_param_rounds_integer_parameters() -> None:
    p: dict[str, Any] = {"n": 3, "flag": True, "x": 0.5}
    set_param(p, "n", 4.6)
    set_param(p, "x", 2)
    set_param(p, "flag", False)
    assert p == {"n": 5, "flag": False, "x": 2}


def test_schedule_sets_at_the_step_and_ramps_over_the_next(params: dict[str, Any]) -> None:
    name = "legitimacy.initial"
    params[name] = 0.8
    sched = Schedule(
        [
            Event(step=2, label="drop", set={name: 0.4}, ramp_steps=4),
            Event(step=3, label="intel", set={"surveillance.intel_max": 0.5}),
        ]
    )
    seen = []
    for t in range(8):
        sched.advance_ramps(t, params)
        for ev in sched.by_step.get(t, []):
            sched.start(ev, t, params)
        seen.append(params[name])
    assert seen[:2] == [0.8, 0.8]
    assert np.allclose(seen[2:6], [0.7, 0.6, 0.5, 0.4])
    assert seen[6:] == [0.4, 0.4] and sched.ramps == []
    assert params["surveillance.intel_max"] == 0.5


def test_booleans_and_strings_are_set_at_once_even_with_a_ramp(params: dict[str, Any]) -> None:
    sched = Schedule(
        [
            Event(
                step=0,
                label="x",
                ramp_steps=5,
                set={"repression.thermostat": False, "civilians.movement": "static"},
            )
        ]
    )
    sched.start(sched.by_step[0][0], 0, params)
    assert params["repression.thermostat"] is False and params["civilians.movement"] == "static"
    assert sched.ramps == []


def test_event_adds_fighters_in_its_region() -> None:
    east = Region("east", 0.5, 1.0, 0.0, 0.5)
    scenario = make_scenario(
        {"world.width": 20, "world.height": 20, "isisk.initial_fighters": 0},
        regions=(east,),
        events=(Event(step=1, label="release", add_isisk_fighters=300, region="east"),),
    )
    model = ConflictModel(scenario, rng=3)
    assert model.insurgency.total_fighters == 0
    added = model.schedule.apply(model, 1)
    ins = model.insurgency
    assert added == 300 and ins.total_fighters == 300
    x0, x1, y0, y1 = model.region_box("east")
    alive = ins.alive
    assert ((ins.x[alive] >= x0) & (ins.x[alive] < x1)).all()
    assert ((ins.y[alive] >= y0) & (ins.y[alive] < y1)).all()
    assert len(model.views.isisk_cells) == ins.n_cells
