"""The calibration's knobs: what each stage searches, and where in the scenario it goes.

A knob is a searched value; :func:`apply` puts a candidate's values into the
historical scenario's parameters and dated events, :func:`scenario_values`
reads them back, and :func:`forecast_scenario` is the *hold-out forecast*:
the scenario with the post-2021 knobs (stage B's) at their a priori values.

Stage A's knobs (``KNOBS``); everything else is fixed in the scenario file
(parameter-table defaults, dated events and a priori values):

============================  ==========================================  ===============
name                          what it is                                  range
============================  ==========================================  ===============
``founding``                  fighters added at the founding (Jan 2015)    500 - 2,000
``defect_2015``               ``isisk.defector_recruitment`` until Jun 2015  2 - 8
``defect_later``              ``isisk.defector_recruitment`` from Jun 2015   0.5 - 3
``defect_2020``               ``isisk.defector_recruitment`` from Jan 2020   0.05 - 2 (log)
                              (the Nangarhar base lost)
``ct_detection``              ``taliban.ct_detection`` from Jan 2016         0.001 - 0.012
                              (half of it before: no US strikes yet)
``offensive_2016``            ``isisk.attrition`` in the Jan-Mar 2016        0.004 - 0.08 (log)
                              offensives in Nangarhar
``attack_rate``               ``isisk.attack_rate``                          2 - 7
``us_level``                  ``surveillance.us_level`` before Aug 2021      0.4 - 0.9
============================  ==========================================  ===============

(``defect_2020`` and ``offensive_2016`` were added when the six-parameter
search could not give both a 2015-16 peak and the decline of 2020-21: the
early-2016 offensives and the loss of the Nangarhar base were not events.)
(The lower bounds of ``ct_detection`` and ``us_level`` were 0.002 and 0.6
until the sequential schedule came in; that search's optimum sat near both.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.validation.paths import SCEN
from simulation.validation.targets import CALIBRATION, HOLDOUT, Target

SCENARIO = SCEN / "historical_2015.toml"
#: Stage A fits the record up to here.
CALIBRATION_END = dt.date(2021, 12, 31)


@dataclass(frozen=True)
class Knob:
    """One searched parameter."""

    name: str
    lo: float
    hi: float
    log: bool = False
    integer: bool = False

    def draw(self, u: float) -> float:
        """Map u in [0, 1] onto the range."""
        if self.log:
            x = float(np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo))))
        else:
            x = self.lo + u * (self.hi - self.lo)
        return float(round(x)) if self.integer else float(x)

    def unit(self, x: float) -> float:
        """The inverse of :meth:`draw`: where ``x`` sits in the range, in [0, 1]."""
        if self.log:
            return float((np.log(x) - np.log(self.lo)) / (np.log(self.hi) - np.log(self.lo)))
        return float((x - self.lo) / (self.hi - self.lo))


KNOBS: tuple[Knob, ...] = (
    Knob("founding", 500, 2000, integer=True),
    Knob("defect_2015", 2.0, 8.0),
    Knob("defect_later", 0.5, 3.0),
    Knob("ct_detection", 0.001, 0.012, log=True),
    Knob("attack_rate", 2.0, 7.0),
    Knob("us_level", 0.4, 0.9),
    Knob("offensive_2016", 0.004, 0.08, log=True),
    Knob("defect_2020", 0.05, 2.0, log=True),
)


#: Which dated event each event-borne knob goes into (by the start of its label),
#: and into which of that event's settings.
EVENT_KNOBS: dict[str, dict[str, str]] = {
    "Taliban-ISIS-K war begins": {"defect_later": "isisk.defector_recruitment"},
    "US strikes on ISIS-K authorised": {
        "ct_detection": "taliban.ct_detection",
        "offensive_2016": "isisk.attrition",
    },
    "Surrenders end": {"defect_2020": "isisk.defector_recruitment"},
}


#: Stage B ("post2021"): the knobs that act only from October 2021, fitted on the
#: whole record with the stage-A values fixed. Their values before stage B (the
#: parameter-table defaults, and the 2020 defection rate carried on) are the
#: a priori ones of the hold-out forecast (:func:`a_priori_post`).
POST_KNOBS: tuple[Knob, ...] = (
    Knob("intel_growth", 0.04, 0.5, log=True),
    Knob("intel_max", 0.8, 0.99),
    Knob("recruit_2022", 0.2, 6.0, log=True),
)
POST_EVENT_KNOBS: dict[str, dict[str, str]] = {
    "Taliban GDI ramps up": {
        "intel_growth": "surveillance.intel_growth",
        "intel_max": "surveillance.intel_max",
    },
    "ISIS-K recruits dissident Taliban": {"recruit_2022": "isisk.defector_recruitment"},
}
#: Knobs set at dated events, both stages (event label prefix -> knob -> parameter).
ALL_EVENT_KNOBS = EVENT_KNOBS | POST_EVENT_KNOBS
#: Knobs that are the scenario's own parameters (knob -> parameter).
PARAM_KNOBS = {
    "defect_2015": "isisk.defector_recruitment",
    "attack_rate": "isisk.attack_rate",
    "us_level": "surveillance.us_level",
}
#: Which knobs each stage searches, and which targets its loss counts.
STAGES: dict[str, tuple[tuple[Knob, ...], tuple[Target, ...]]] = {
    "window": (KNOBS, CALIBRATION),
    "post2021": (POST_KNOBS, CALIBRATION + HOLDOUT),
}


def a_priori_post(scenario: Any) -> dict[str, float]:
    """The post-2021 values before stage B: table defaults; the 2020 defection rate kept."""
    from simulation.scenario.params import defaults

    table = defaults()
    return {
        "intel_growth": float(table["surveillance.intel_growth"]),
        "intel_max": float(table["surveillance.intel_max"]),
        "recruit_2022": scenario_values(scenario)["defect_2020"],
    }


def apply(scenario: Any, cand: Mapping[str, float]) -> Any:
    """The scenario with a candidate's values put in the right parameters and events.

    ``cand`` may hold any subset of the knobs of both stages; the others keep
    the scenario's values.
    """
    over = {param: cand[knob] for knob, param in PARAM_KNOBS.items() if knob in cand}
    if "ct_detection" in cand:
        over["taliban.ct_detection"] = cand["ct_detection"] / 2
    sc = scenario.with_overrides(over) if over else scenario
    events = []
    for ev in sc.events:
        if ev.add_isisk_fighters and ev.label.startswith("ISIS-K founded") and "founding" in cand:
            ev = dataclasses.replace(ev, add_isisk_fighters=int(cand["founding"]))
        for prefix, knobs in ALL_EVENT_KNOBS.items():
            if ev.label.startswith(prefix):
                ev = dataclasses.replace(
                    ev,
                    set={
                        **ev.set,
                        **{param: cand[knob] for knob, param in knobs.items() if knob in cand},
                    },
                )
        events.append(ev)
    return dataclasses.replace(sc, events=tuple(events))


def scenario_values(scenario: Any) -> dict[str, float]:
    """The calibrated values of both stages as they stand in a scenario (see :func:`apply`)."""
    out = {knob: scenario.params[param] for knob, param in PARAM_KNOBS.items()}
    for ev in scenario.events:
        if ev.add_isisk_fighters and ev.label.startswith("ISIS-K founded"):
            out["founding"] = float(ev.add_isisk_fighters)
        for prefix, knobs in ALL_EVENT_KNOBS.items():
            if ev.label.startswith(prefix):
                out.update(
                    {knob: float(ev.set[param]) for knob, param in knobs.items() if param in ev.set}
                )
    return out


def forecast_scenario(scenario: Any) -> Any:
    """The scenario as stage A left it: post-2021 knobs at their a priori values."""
    return apply(scenario, a_priori_post(scenario))


def cut(scenario: Any, end: dt.date | None) -> Any:
    """The scenario ending at ``end`` (its later events dropped); as it is with None."""
    if end is None:
        return scenario
    steps = min(scenario.steps, scenario.step_of(end))
    return dataclasses.replace(
        scenario, steps=steps, events=tuple(e for e in scenario.events if e.step <= steps)
    )


def stage_scenario(base: Any, cand: Mapping[str, float], stage: str) -> Any:
    """What a stage runs for a candidate.

    Stage A: the post-2021 knobs at their a priori values, whatever stage B
    chose, cut at the end of 2021. Stage B: the whole run.
    """
    if stage == "window":
        return cut(apply(forecast_scenario(base), cand), CALIBRATION_END)
    return apply(base, cand)
