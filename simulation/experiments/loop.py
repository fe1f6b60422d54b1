"""The vicious circle, measured: a registry of its links, cut-link experiments and the loop gain.

The article's circle (recruitment -> attacks -> thermostatic repression ->
grievance -> recruitment) is a set of :class:`Link` entries in :data:`LINKS`,
each a *from* and a *to* quantity (:data:`NODES`) and the parameter overrides
that cut it ("the link set to zero, everything else equal"). A new link of
the model is measured by adding one entry here.

The experiment runs *arms* on the same seeds (common random numbers, as
``compare`` does): the scenario intact, the scenario with each link cut, and
the two arms of the loop gain (:func:`loop_arms`). :func:`replicate_values`
turns one replicate into one number per quantity; :func:`link_effects` gives
each cut's paired effect on its *to* quantity and on the headlines
(:data:`HEADLINE_QUANTITIES`) with the project's bootstrap
(:func:`~simulation.experiments.compare.bootstrap_difference`), and
:func:`loop_gain` the gain (defined there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from simulation.scenario import params as ptable
from simulation.scenario.core import Event, Scenario

__all__ = [
    "DEFAULT_PULSE_FIGHTERS",
    "GAIN_LINK",
    "HEADLINE_QUANTITIES",
    "INTACT",
    "LINKS",
    "LINK_INDEX",
    "NODES",
    "PULSE",
    "PULSE_OPEN",
    "QUANTITIES",
    "UNCUT",
    "Arm",
    "Link",
    "Pulse",
    "Quantity",
    "cut_scenario",
    "default_pulse",
    "loop_arms",
    "pulse_scenario",
    "replicate_values",
]


@dataclass(frozen=True)
class Quantity:
    """One number per replicate: ``how`` (sum, mean, last) over a recorded metric (or a sum).

    ``metrics`` are added week by week first (``recruits`` is defectors plus
    civilians). A mean runs over weeks 1..N, as the headlines' does.
    """

    name: str
    label: str
    unit: str
    metrics: tuple[str, ...]
    how: str

    def of(self, frame: pd.DataFrame, start: int = 0) -> float:
        """This quantity of one replicate's frame (rows in step order), from step ``start``."""
        rows = frame[frame["step"] >= start]
        series = rows[list(self.metrics)].sum(axis=1)
        if self.how == "sum":
            return float(series.sum())
        if self.how == "last":
            return float(series.iloc[-1])
        weeks = series[rows["step"] >= 1] if (rows["step"] >= 1).any() else series
        return float(weeks.mean())


def _q(name: str, label: str, unit: str, metric: str | tuple[str, ...], how: str) -> Quantity:
    return Quantity(name, label, unit, metric if isinstance(metric, tuple) else (metric,), how)


#: Every quantity the diagnostic reports, by name.
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        _q("attacks", "Attacks", "attacks", "attacks", "sum"),
        _q("attack_deaths", "Attack deaths", "deaths", "attack_deaths", "sum"),
        _q("final_fighters", "ISIS-K fighters at the end", "fighters", "isisk_fighters", "last"),
        _q("mean_fighters", "Mean ISIS-K fighters", "fighters", "isisk_fighters", "mean"),
        _q("mean_repression", "Mean repression", "0-1", "repression", "mean"),
        _q("mean_grievance", "Mean grievance", "0-1", "mean_grievance", "mean"),
        _q("recruits", "Recruits", "fighters", ("recruits_defectors", "recruits_civilians"), "sum"),
        _q("civilian_recruits", "Recruits from civilians", "fighters", "recruits_civilians", "sum"),
        _q("defectors", "Recruits from Taliban defectors", "fighters", "recruits_defectors", "sum"),
        _q("mean_threat", "Mean perceived threat", "index", "perceived_threat", "mean"),
        _q("mean_active", "Mean active civilians", "people", "active_civilians", "mean"),
        _q("mean_enforcers", "Mean enforcer units", "units", "enforcers", "mean"),
        _q("ct_removals", "Counter-terrorism removals", "fighters", "ct_removals", "sum"),
    )
}
#: The headline outputs every cut is also measured on.
HEADLINE_QUANTITIES: tuple[str, ...] = (
    "attacks",
    "attack_deaths",
    "final_fighters",
    "mean_repression",
    "mean_grievance",
    "recruits",
)


@dataclass(frozen=True)
class Node:
    """A quantity of the circle, drawn as a node of ``loop.png``."""

    name: str
    label: str
    quantity: str


#: The circle's quantities, in the order they stand on the figure's circle (clockwise
#: from the top).
NODES: dict[str, Node] = {
    n.name: n
    for n in (
        Node("fighters", "ISIS-K\nfighters", "mean_fighters"),
        Node("attacks", "Attacks\n& deaths", "attacks"),
        Node("defections", "Taliban\ndefections", "defectors"),
        Node("threat", "Perceived\nthreat", "mean_threat"),
        Node("repression", "Repression", "mean_repression"),
        Node("enforcement", "Enforcer\nunits", "mean_enforcers"),
        Node("ct", "Counter-\nterrorism", "ct_removals"),
        Node("grievance", "Grievance", "mean_grievance"),
        Node("dissent", "Open\ndissent", "mean_active"),
        Node("recruits", "Civilian\nrecruits", "civilian_recruits"),
    )
}


@dataclass(frozen=True)
class Link:
    """A link of the circle: ``source`` drives ``target``; ``cut`` sets it to zero.

    ``cut`` maps parameters to the values that cut the link and nothing else
    the model does; the cut's effect is measured on ``target``'s quantity.
    """

    name: str
    source: str
    target: str
    cut: Mapping[str, Any]
    note: str = ""

    @property
    def label(self) -> str:
        """``Perceived threat -> Repression``."""
        return f"{_flat(NODES[self.source].label)} → {_flat(NODES[self.target].label)}"

    @property
    def cut_text(self) -> str:
        """``repression.gain = 0``."""
        return "; ".join(f"{k} = {v}" for k, v in self.cut.items())


def _flat(label: str) -> str:
    return label.replace("-\n", "-").replace("\n", " ")


#: The links the parameters can cut today. Each override was checked in the model's
#: code (the equation it zeroes is in ``note``).
LINKS: tuple[Link, ...] = (
    Link("fighters_attacks", "fighters", "attacks", {"isisk.attack_rate": 0.0},
         "plots ~ Poisson(attack_rate * fighters / 1000) per cell"),
    Link("deaths_threat", "attacks", "threat", {"repression.threat_per_death": 0.0},
         "T += w_d * attack deaths"),
    Link("attacks_defections", "attacks", "defections", {"isisk.momentum_response": 0.0},
         "defection rate * (1 + a_m * M), M the momentum of recent attacks"),
    Link("defections_threat", "defections", "threat", {"repression.threat_per_defector": 0.0},
         "T += w_f * defectors"),
    Link("dissent_threat", "dissent", "threat", {"repression.threat_per_active": 0.0},
         "T += w_a * active share"),
    Link("threat_repression", "threat", "repression", {"repression.gain": 0.0},
         "Rep* = rho0(t) + b * T^c: the thermostat (the drift of rho0 stays)"),
    Link("repression_grievance", "repression", "grievance",
         {"repression.hardship_gain": 0.0, "legitimacy.repression_erosion": 0.0},
         "H' = H + (1 - H) * gain * Rep and L = L0 - lambda_r * Rep - D"),
    Link("repression_enforcement", "repression", "enforcement",
         {"repression.enforcement_gain": 0.0}, "enforcers = d * (1 + gain * Rep)"),
    Link("enforcement_ct", "enforcement", "ct", {"taliban.ct_detection": 0.0},
         "a cell seen by n enforcers is detected with 1 - (1 - q * eff)^n"),
    Link("ct_grievance", "ct", "grievance", {"taliban.ct_accuracy": 1.0},
         "collateral harm 1 - accuracy^n near engagements, each a grievance shock"),
    Link("attacks_grievance", "attacks", "grievance", {"civilians.attack_grievance": 0.0},
         "shock s += a(1 - s) near attacks (and near collateral harm: the same a)"),
    Link("grievance_dissent", "grievance", "dissent", {"civilians.threshold": 1.0},
         "active if G - N > T; G <= 1, so T = 1 makes no one active"),
    Link("grievance_recruits", "grievance", "recruits", {"isisk.civilian_recruitment": 0.0},
         "recruited with 1 - (1 - rate * S * G)^k near k cells"),
    Link("enforcement_grievance", "enforcement", "grievance",
         {"civilians.arrest_grievance": 0.0},
         "arrests anger families and neighbours: s += a(1 - s) per arrest nearby"),
    Link("grievance_ct", "grievance", "ct", {"taliban.cooperation_grievance": 0.0},
         "detection * max(0, 1 - kappa * G_loc): aggrieved places give no tips"),
    Link("grievance_attacks", "grievance", "attacks", {"isisk.support_gain": 0.0},
         "plots * (1 + sigma * G_loc): local support raises capacity"),
)  # fmt: skip
LINK_INDEX: dict[str, Link] = {link.name: link for link in LINKS}

#: Arrows of the circle no parameter cuts today (accounting identities): drawn dashed.
UNCUT: tuple[tuple[str, str, str], ...] = (
    ("recruits", "fighters", "recruits join a cell"),
    ("defections", "fighters", "defectors join a cell"),
    ("ct", "fighters", "removals leave the cells"),
)

#: The link the loop gain opens by default: the thermostat.
GAIN_LINK = "threat_repression"
INTACT, PULSE, PULSE_OPEN = "intact", "pulse", "pulse_open"


@dataclass(frozen=True)
class Pulse:
    """The loop gain's exogenous perturbation: ``fighters`` added at week ``week``."""

    fighters: int
    week: int


#: The loop gain's pulse by default: 500 fighters (a quarter of the baseline's initial
#: 2,000) ...
DEFAULT_PULSE_FIGHTERS = 500


def default_pulse(steps: int, fighters: int | None = None, week: int | None = None) -> Pulse:
    """... at a fifth of the run (week 52 of 260), so that four fifths of it follow."""
    return Pulse(
        DEFAULT_PULSE_FIGHTERS if fighters is None else int(fighters),
        max(1, steps // 5) if week is None else int(week),
    )


@dataclass(frozen=True)
class Arm:
    """An arm of the experiment: a name (``intact``, ``cut:LINK``, ``pulse``...), its scenario."""

    name: str
    scenario: Scenario


def cut_scenario(scenario: Scenario, link: Link) -> Scenario:
    """``scenario`` with ``link`` cut, also in its dated events (an event never re-opens it)."""
    sc = scenario.with_overrides(dict(link.cut))
    events = tuple(
        dataclasses.replace(ev, set={k: link.cut.get(k, v) for k, v in ev.set.items()})
        if any(k in link.cut for k in ev.set)
        else ev
        for ev in sc.events
    )
    return dataclasses.replace(sc, events=events)


def pulse_scenario(scenario: Scenario, pulse: Pulse) -> Scenario:
    """``scenario`` with the pulse's fighters added at its week (anywhere on the grid)."""
    event = Event(pulse.week, "Loop-gain pulse", add_isisk_fighters=pulse.fighters)
    events = tuple(sorted((*scenario.events, event), key=lambda e: e.step))
    return dataclasses.replace(scenario, events=events)


def check_links(names: Sequence[str]) -> list[Link]:
    """The links named (ValueError naming an unknown one); every cut parameter is checked."""
    links = []
    for name in names:
        if name not in LINK_INDEX:
            raise ValueError(f"unknown link {name!r}; links: {', '.join(LINK_INDEX)}")
        links.append(LINK_INDEX[name])
    for link in links:
        for param, value in link.cut.items():
            ptable.get(param).check(value)
    return links


def loop_arms(scenario: Scenario, links: Sequence[Link], pulse: Pulse, open_at: Link) -> list[Arm]:
    """The arms, in order: intact, each link cut, the pulse closed and the pulse open."""
    if not 1 <= pulse.week < scenario.steps:
        raise ValueError(
            f"the pulse's week {pulse.week} must lie within the run's {scenario.steps} weeks"
        )
    arms = [Arm(INTACT, scenario)]
    arms += [Arm(f"cut:{link.name}", cut_scenario(scenario, link)) for link in links]
    arms.append(Arm(PULSE, pulse_scenario(scenario, pulse)))
    arms.append(Arm(PULSE_OPEN, pulse_scenario(cut_scenario(scenario, open_at), pulse)))
    return arms


def replicate_values(frame: pd.DataFrame, pulse_week: int) -> dict[str, float]:
    """Every quantity of one replicate, and ``gain_measure``: mean fighters from the pulse on."""
    frame = frame.sort_values("step", kind="stable")
    out = {name: q.of(frame) for name, q in QUANTITIES.items()}
    out["gain_measure"] = QUANTITIES["mean_fighters"].of(frame, start=pulse_week)
    return out
