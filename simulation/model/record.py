"""The metrics recorded every step: names, units and plot groups, and the weekly record.

Flows are totals over the week (``attacks``); stocks are levels at the end of
the week (``isisk_fighters``). All are in real-world units unless the unit
says otherwise. :func:`week_row` computes one week's row; its keys are
checked against :data:`METRICS`, so the table and the record cannot drift.
This module imports no Mesa or Numba: the results and plots read the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulation.model.insurgency import TARGET_TALIBAN

if TYPE_CHECKING:
    from simulation.model.insurgency import InsurgencyStep
    from simulation.model.model import ConflictModel


@dataclass(frozen=True)
class Metric:
    """One recorded time series."""

    name: str
    label: str
    unit: str
    group: str
    flow: bool
    description: str


M = Metric
METRICS: tuple[Metric, ...] = (
    # violence
    M(
        "attacks",
        "Attacks",
        "attacks/week",
        "violence",
        True,
        "Successful ISIS-K attacks (not interdicted).",
    ),
    M(
        "attacks_interdicted",
        "Attacks interdicted",
        "plots/week",
        "violence",
        True,
        "Attack plots stopped by US surveillance or Taliban intelligence.",
    ),
    M(
        "attack_deaths",
        "Attack deaths",
        "deaths/week",
        "violence",
        True,
        "People killed in ISIS-K attacks.",
    ),
    M(
        "civilian_deaths",
        "Civilian deaths",
        "deaths/week",
        "violence",
        True,
        "Civilians killed in ISIS-K attacks.",
    ),
    M(
        "taliban_deaths",
        "Taliban deaths",
        "deaths/week",
        "violence",
        True,
        "Taliban killed in ISIS-K attacks and counter-terrorism engagements.",
    ),
    M(
        "mass_casualty_attacks",
        "Mass-casualty attacks",
        "attacks/week",
        "violence",
        True,
        "Attacks with at least isisk.mass_casualty_threshold deaths.",
    ),
    M(
        "collateral_casualties",
        "Collateral casualties",
        "people/week",
        "violence",
        True,
        "Civilians harmed in Taliban counter-terrorism engagements.",
    ),
    M(
        "violence_index",
        "Violence index",
        "0-1",
        "violence",
        False,
        "1 - exp(-(attack_deaths + collateral_casualties) / 25): weekly harm on a 0-1 scale.",
    ),
    # ISIS-K
    M("isisk_fighters", "ISIS-K fighters", "fighters", "isisk", False, "ISIS-K fighting strength."),
    M("isisk_cells", "ISIS-K cells", "cells", "isisk", False, "Number of ISIS-K cells."),
    M(
        "ct_removals",
        "CT removals",
        "fighters/week",
        "isisk",
        True,
        "ISIS-K fighters removed by Taliban counter-terrorism.",
    ),
    M(
        "recruits_defectors",
        "Recruits: Taliban defectors",
        "fighters/week",
        "isisk",
        True,
        "Taliban fighters who defected to ISIS-K.",
    ),
    M(
        "recruits_civilians",
        "Recruits: civilians",
        "fighters/week",
        "isisk",
        True,
        "Civilians recruited by nearby ISIS-K cells.",
    ),
    M(
        "recruits_events",
        "Recruits: scripted inflows",
        "fighters/week",
        "isisk",
        True,
        "Fighters added by scenario events (prison releases, foreign fighters), less those "
        "they remove (surrenders).",
    ),
    # Taliban and regime
    M(
        "taliban_fighters",
        "Taliban fighters",
        "fighters",
        "taliban",
        False,
        "Taliban fighting strength.",
    ),
    M(
        "enforcers",
        "Taliban enforcer units",
        "units",
        "taliban",
        False,
        "Taliban enforcer units deployed on the grid.",
    ),
    M("repression", "Repression", "0-1", "repression", False, "The regime's repression level."),
    M(
        "target_repression",
        "Target repression",
        "0-1",
        "repression",
        False,
        "The thermostat's target Rep* = baseline + b * threat^c.",
    ),
    M(
        "arrests",
        "Arrests",
        "people/week",
        "repression",
        True,
        "Civilians arrested by Taliban enforcers.",
    ),
    M("legitimacy", "Legitimacy", "0-1", "regime", False, "Regime legitimacy L."),
    M(
        "perceived_threat",
        "Perceived threat",
        "index",
        "regime",
        False,
        "The regime's decaying memory of attacks, dissent and defections.",
    ),
    M(
        "effective_surveillance",
        "Effective surveillance",
        "0-1",
        "regime",
        False,
        "Chance a plot is interdicted: 1 - (1 - US)(1 - Taliban intelligence).",
    ),
    M(
        "repression_index",
        "Repression index",
        "0-1",
        "repression",
        False,
        "Mean of repression, the jailed share of civilians and the deployed enforcer "
        "share relative to the most that repression can deploy.",
    ),
    # civilians
    M("jailed_civilians", "Jailed civilians", "people", "civilians", False, "Civilians in jail."),
    M(
        "active_civilians",
        "Active civilians",
        "people",
        "civilians",
        False,
        "Civilians in open resistance or protest.",
    ),
    M(
        "quiet_civilians",
        "Quiet civilians",
        "people",
        "civilians",
        False,
        "Civilians neither active nor jailed.",
    ),
    M(
        "mean_grievance",
        "Mean grievance",
        "0-1",
        "civilians",
        False,
        "Mean grievance of civilians not in jail.",
    ),
)

METRIC_INDEX: dict[str, Metric] = {m.name: m for m in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
_NAMES = frozenset(METRIC_NAMES)


def _violence(ins: InsurgencyStep, params: Any, collateral: float) -> dict[str, Any]:
    """The violence metrics of the week."""
    deaths = [a.deaths for a in ins.attacks]
    attack_deaths = int(sum(deaths))
    civ_deaths = int(sum(a.deaths for a in ins.attacks if a.target != TARGET_TALIBAN))
    collateral = collateral * params["scale.people_per_civilian"]
    return {
        "attacks": len(ins.attacks),
        "attacks_interdicted": ins.interdicted,
        "attack_deaths": attack_deaths,
        "civilian_deaths": civ_deaths,
        "taliban_deaths": attack_deaths - civ_deaths + ins.taliban_ct_deaths,
        "mass_casualty_attacks": sum(d >= params["isisk.mass_casualty_threshold"] for d in deaths),
        "collateral_casualties": collateral,
        "violence_index": 1.0 - math.exp(-(attack_deaths + collateral) / 25.0),
    }


def week_row(
    model: ConflictModel,
    ins: InsurgencyStep,
    arrests: int,
    counts: tuple[int, int, int] | None = None,
) -> dict[str, Any]:
    """The metrics row of the step just ended (``step``, ``date``, then METRICS in order).

    ``counts``: (quiet, active, jailed) civilians, if already counted.
    """
    p, pop, reg = model.params, model.population, model.regime
    ppl = p["scale.people_per_civilian"]
    quiet, active, jailed = pop.counts() if counts is None else counts
    n = max(1, pop.total)
    max_units = model.max_enforcers()
    values = {
        **_violence(ins, p, model.collateral),
        "isisk_fighters": model.insurgency.total_fighters,
        "isisk_cells": model.insurgency.n_cells,
        "ct_removals": ins.ct_removals,
        "recruits_defectors": ins.recruits_defectors,
        "recruits_civilians": ins.recruits_civilians,
        "recruits_events": ins.recruits_events,
        "taliban_fighters": int(round(reg.fighters)),
        "enforcers": pop.n_enforcers,
        "repression": reg.repression,
        "target_repression": reg.target_repression,
        "arrests": arrests * ppl,
        "legitimacy": reg.legitimacy,
        "perceived_threat": reg.perceived_threat,
        "effective_surveillance": model.effective_surveillance,
        "repression_index": (
            reg.repression + jailed / n + (pop.n_enforcers / max_units if max_units else 0.0)
        )
        / 3.0,
        "jailed_civilians": jailed * ppl,
        "active_civilians": active * ppl,
        "quiet_civilians": quiet * ppl,
        "mean_grievance": pop.mean_free_grievance(reg.legitimacy, model.hardship_boost, jailed),
    }
    if values.keys() != _NAMES:
        raise RuntimeError(f"the record and METRICS disagree: {sorted(values.keys() ^ _NAMES)}")
    return {
        "step": model.steps,
        "date": model.date.isoformat(),
        **{name: values[name] for name in METRIC_NAMES},
    }
