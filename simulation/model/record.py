"""The metrics recorded every step: names, units and plot groups.

Flows are totals over the week (``attacks``); stocks are levels at the end of
the week (``isisk_fighters``). All are in real-world units unless the unit
says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    M("attacks", "Attacks", "attacks/week", "violence", True,
      "Successful ISIS-K attacks (not interdicted)."),
    M("attacks_interdicted", "Attacks interdicted", "plots/week", "violence", True,
      "Attack plots stopped by US surveillance or Taliban intelligence."),
    M("attack_deaths", "Attack deaths", "deaths/week", "violence", True,
      "People killed in ISIS-K attacks."),
    M("civilian_deaths", "Civilian deaths", "deaths/week", "violence", True,
      "Civilians killed in ISIS-K attacks."),
    M("taliban_deaths", "Taliban deaths", "deaths/week", "violence", True,
      "Taliban killed in ISIS-K attacks and counter-terrorism engagements."),
    M("mass_casualty_attacks", "Mass-casualty attacks", "attacks/week", "violence", True,
      "Attacks with at least isisk.mass_casualty_threshold deaths."),
    M("collateral_casualties", "Collateral casualties", "people/week", "violence", True,
      "Civilians harmed in Taliban counter-terrorism engagements."),
    M("violence_index", "Violence index", "0-1", "violence", False,
      "1 - exp(-(attack_deaths + collateral_casualties) / 25): weekly harm on a 0-1 scale."),
    # ISIS-K
    M("isisk_fighters", "ISIS-K fighters", "fighters", "isisk", False,
      "ISIS-K fighting strength."),
    M("isisk_cells", "ISIS-K cells", "cells", "isisk", False, "Number of ISIS-K cells."),
    M("ct_removals", "CT removals", "fighters/week", "isisk", True,
      "ISIS-K fighters removed by Taliban counter-terrorism."),
    M("recruits_defectors", "Recruits: Taliban defectors", "fighters/week", "isisk", True,
      "Taliban fighters who defected to ISIS-K."),
    M("recruits_civilians", "Recruits: civilians", "fighters/week", "isisk", True,
      "Civilians recruited by nearby ISIS-K cells."),
    M("recruits_events", "Recruits: scripted inflows", "fighters/week", "isisk", True,
      "Fighters added by scenario events (prison releases, foreign fighters)."),
    # Taliban and regime
    M("taliban_fighters", "Taliban fighters", "fighters", "taliban", False,
      "Taliban fighting strength."),
    M("enforcers", "Taliban enforcer units", "units", "taliban", False,
      "Taliban enforcer units deployed on the grid."),
    M("repression", "Repression", "0-1", "repression", False,
      "The regime's repression level."),
    M("target_repression", "Target repression", "0-1", "repression", False,
      "The thermostat's target Rep* = baseline + b * threat^c."),
    M("arrests", "Arrests", "people/week", "repression", True,
      "Civilians arrested by Taliban enforcers."),
    M("legitimacy", "Legitimacy", "0-1", "regime", False, "Regime legitimacy L."),
    M("perceived_threat", "Perceived threat", "index", "regime", False,
      "The regime's decaying memory of attacks, dissent and defections."),
    M("effective_surveillance", "Effective surveillance", "0-1", "regime", False,
      "Chance a plot is interdicted: 1 - (1 - US)(1 - Taliban intelligence)."),
    M("repression_index", "Repression index", "0-1", "repression", False,
      "Mean of repression, the jailed share of civilians and the deployed enforcer "
      "share relative to the most that repression can deploy."),
    # civilians
    M("jailed_civilians", "Jailed civilians", "people", "civilians", False,
      "Civilians in jail."),
    M("active_civilians", "Active civilians", "people", "civilians", False,
      "Civilians in open resistance or protest."),
    M("quiet_civilians", "Quiet civilians", "people", "civilians", False,
      "Civilians neither active nor jailed."),
    M("mean_grievance", "Mean grievance", "0-1", "civilians", False,
      "Mean grievance of civilians not in jail."),
)

METRIC_INDEX: dict[str, Metric] = {m.name: m for m in METRICS}
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
