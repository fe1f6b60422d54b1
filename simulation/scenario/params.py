"""The one parameter table.

Every model parameter is defined here once, with its type, default, unit, valid
range, description and source. The table drives scenario validation, the
``khorasan params`` command, the parameter reference in ``docs/scenarios.md``
and the sliders of the browser app. Sources are short keys; the full
references are in ``docs/ODD.md`` (section "References").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulation.scenario.param_type import Param, did_you_mean, show

__all__ = [
    "PARAMS",
    "PARAM_INDEX",
    "SECTIONS",
    "SLIDER_PARAMS",
    "Param",
    "UnknownParameter",
    "cross_check",
    "defaults",
    "get",
    "resolve",
]

SECTIONS: dict[str, str] = {
    "world": "The grid, neighbourhoods and scheduling",
    "scale": "How many real people one agent stands for",
    "civilians": "Civilians: Epstein's grievance, activation, jail and movement rules",
    "legitimacy": "Regime legitimacy and its dynamics",
    "repression": "The Taliban's thermostatic repression",
    "taliban": "Taliban enforcers, fighters and counter-terrorism",
    "isisk": "ISIS-K cells: recruitment, attacks and losses",
    "surveillance": "US surveillance and Taliban intelligence",
}


P = Param
PROB = {"min": 0.0, "max": 1.0}

PARAMS: tuple[Param, ...] = (
    # --- world -----------------------------------------------------------
    P("world.width", int, 80, "cells", "Grid width; the grid is a torus.", "Epstein 2002",
      min=4, max=5000, label="World width", start_only=True),
    P("world.height", int, 80, "cells", "Grid height.", "Epstein 2002", min=4, max=5000,
      label="World height", start_only=True),
    P("world.neighbourhood", str, "von_neumann", "-",
      "Shape of every vision window: von_neumann (Manhattan diamond, as Mesa's example), "
      "moore (square), disc (Euclidean, as NetLogo's Rebellion and Epstein's radius 1.7 "
      "= 8 neighbours; 148 cells at radius 7) or cross (the four lattice directions only, "
      "as Epstein's text and Sugarscape; 28 cells at radius 7).",
      "Epstein 2002; Mesa example; NetLogo Rebellion",
      choices=("von_neumann", "moore", "disc", "cross")),
    P("world.activation", str, "sequential", "-",
      "How agents take turns within a step. sequential: one at a time in a fresh random "
      "order, each seeing what those before it did (Mesa's shuffle_do; compiled). batched: "
      "the random order cut into world.activation_batches batches that each act at once "
      "(vectorized; fewer batches damp cascades, docs/validation.md).",
      "Epstein 2002; Mesa example; vectorization notes", choices=("sequential", "batched")),
    P("world.activation_batches", int, 4, "batches",
      "With world.activation = batched: batches per step (neighbour counts are refreshed "
      "between batches). 1 is a synchronous update, known to be biased.",
      "vectorization notes", min=1, max=64),
    # --- scale -----------------------------------------------------------
    P("scale.people_per_civilian", int, 1, "people/agent",
      "Real people one civilian agent stands for. Civilian counts (active, jailed, arrests) "
      "are reported multiplied by it.", "assumption", min=1, max=10_000_000),
    P("scale.fighters_per_taliban_unit", int, 20, "fighters/unit",
      "Fighters one Taliban enforcer unit on the grid stands for (reporting of deployed strength).",
      "assumption", min=1, max=10_000),
    # --- civilians -------------------------------------------------------
    P("civilians.density", float, 0.7, "share of cells",
      "Each cell holds a civilian with this probability at start.", "Epstein 2002", **PROB,
      start_only=True),
    P("civilians.vision", int, 7, "cells",
      "Radius within which a civilian counts enforcers and actives.", "Epstein 2002",
      min=1, max=50),
    P("civilians.threshold", float, 0.1, "-", "Activation threshold T in G - N > T.",
      "Epstein 2002", **PROB),
    P("civilians.arrest_constant", float, 2.3, "-",
      "k in P = 1 - exp(-k * ratio); 2.3 makes P about 0.9 with one enforcer and one active.",
      "Epstein 2002", min=0.0, max=50.0),
    P("civilians.arrest_ratio_rule", str, "exact", "-",
      "How C/A enters P: floor (NetLogo), round (Mesa's example) or exact (the paper's text).",
      "Epstein 2002; Wilensky 2004; Mesa example", choices=("floor", "round", "exact")),
    P("civilians.hardship_shift", float, 0.0, "-",
      "Added to every civilian's hardship H ~ U(0,1) (result clipped to [0,1]); raises "
      "privation across the board.", "Epstein 2002 (H); assumption (shift)",
      min=-1.0, max=1.0, label="Hardship shift", slider=True, step=0.05),
    P("civilians.movement", str, "random", "-",
      "static: civilians stay put; random: Epstein's move to a random empty cell in vision; "
      "flight: move to the least violent empty cell in vision.", "Epstein 2002",
      choices=("static", "random", "flight")),
    P("civilians.jailed_block_cells", bool, True, "-",
      "Jailed civilians stay on their cells and block them (Mesa's example); false frees "
      "the cell as in Epstein's paper.", "Mesa example; Epstein 2002"),
    P("civilians.susceptibility_mean", float, 0.1, "-",
      "Mean of each civilian's susceptibility to extremist recruitment, drawn from "
      "Beta(4m, 4(1-m)).", "Osman 2020; Giustozzi 2023 (few recruits); assumption",
      **PROB, start_only=True),
    P("civilians.attack_grievance", float, 0.05, "per event",
      "Grievance shock to civilians near an attack or collateral harm: s += a(1 - s) "
      "(Bennett's anger rule).", "Bennett 2008", **PROB),
    P("civilians.attack_fear", float, 0.1, "per event",
      "Fear added near an attack: f += a(1 - f); fear adds to risk aversion.",
      "Bennett 2008", **PROB),
    P("civilians.shock_radius", int, 3, "cells",
      "Chebyshev radius around an attack or engagement within which civilians feel it.",
      "Bennett 2008 (interaction range 3)", min=0, max=50),
    P("civilians.shock_memory", float, 0.97, "per week",
      "Weekly retention of grievance shocks and fear (1 = never forgotten).", "assumption",
      **PROB),
    # --- legitimacy ------------------------------------------------------
    P("legitimacy.initial", float, 0.85, "-",
      "Base legitimacy L0 of the regime (Epstein's L).", "Epstein 2002; assumption",
      **PROB, label="Legitimacy", slider=True, step=0.01),
    P("legitimacy.dynamic", bool, True, "-",
      "If false, legitimacy stays at its base value (Epstein's exogenous L).", "Epstein 2002"),
    P("legitimacy.repression_erosion", float, 0.25, "per unit repression",
      "L = L0 - lambda_r * repression - D: how much repression erodes legitimacy.",
      "Lichbach 1987; thermostatic design (facts 4.4)", min=0.0, max=1.0),
    P("legitimacy.attack_damage", float, 0.005, "per 100 deaths",
      "Damage D added per 100 deaths in attacks the regime failed to prevent.",
      "article; assumption", min=0.0, max=1.0),
    P("legitimacy.recovery", float, 0.02, "per week",
      "Share of attack damage D that heals each week (slow recovery when calm).",
      "assumption", **PROB),
    # --- repression ------------------------------------------------------
    P("repression.thermostat", bool, True, "-",
      "If false, repression is held at repression.initial.", "Wlezien 1995"),
    P("repression.initial", float, 0.2, "0-1",
      "Repression level at start.", "facts 3.8 (edict timeline); assumption", **PROB),
    P("repression.baseline", float, 0.2, "0-1",
      "Ideological baseline rho0 of target repression.", "facts 4.2", **PROB,
      label="Repression baseline", slider=True, step=0.01),
    P("repression.baseline_drift", float, 0.0026, "per week",
      "Upward drift of the baseline per week the thermostat has been on (the regime consolidates).",
      "facts 3.8, 4.2",
      min=0.0, max=0.1),
    P("repression.baseline_max", float, 0.6, "0-1",
      "Ceiling of the drifting baseline.", "assumption", **PROB),
    P("repression.gain", float, 0.1, "-",
      "b in Rep* = rho0 + b * threat^c (coercive responsiveness).",
      "Davenport 2007; Gartner & Regan 1996", min=0.0, max=5.0,
      label="Thermostat gain", slider=True, step=0.01, slider_range=(0.0, 1.0)),
    P("repression.exponent", float, 0.5, "-",
      "c < 1 makes the response to threat concave.", "Gartner & Regan 1996",
      min=0.05, max=2.0),
    P("repression.rate_up", float, 0.15, "per week",
      "gamma_up: share of a gap above current repression closed each week.",
      "Wlezien 1995; Davenport 1995 (inertia)", **PROB),
    P("repression.rate_down", float, 0.0, "per week",
      "gamma_down: share of a gap below closed each week; 0 is a pure ratchet "
      "(no edict has been reversed).", "facts 3.8", **PROB),
    P("repression.edict_size", float, 0.05, "0-1",
      "Repression changes in whole edicts of this size when the thermostat's continuous "
      "pressure has moved that far (0: continuously).", "facts 3.8 (edicts); facts 4.3",
      min=0.0, max=1.0),
    P("repression.threat_memory", float, 0.9, "per week",
      "delta: weekly retention of perceived threat.", "facts 4.1", **PROB),
    P("repression.threat_per_death", float, 0.01, "per death",
      "Perceived threat added per attack death.", "facts 4.1; assumption", min=0.0, max=10.0),
    P("repression.threat_per_active", float, 2.0, "per active share",
      "Perceived threat added per unit share of civilians openly active.",
      "facts 4.1; assumption", min=0.0, max=100.0),
    P("repression.threat_per_defector", float, 0.02, "per defector",
      "Perceived threat added per Taliban defector to ISIS-K.", "facts 4.1; assumption",
      min=0.0, max=10.0),
    P("repression.enforcement_gain", float, 1.0, "-",
      "Enforcers deployed = taliban.enforcer_density * (1 + gain * repression).",
      "facts 4.4", min=0.0, max=10.0),
    P("repression.jail_gain", float, 1.0, "-",
      "Jail terms J = taliban.max_jail_term * (1 + gain * repression).", "facts 4.4",
      min=0.0, max=10.0),
    P("repression.hardship_gain", float, 0.3, "-",
      "Restrictions raise hardship: H' = H + (1 - H) * gain * repression.",
      "facts 3.8, 4.4", **PROB),
    # --- taliban ---------------------------------------------------------
    P("taliban.enforcer_density", float, 0.04, "share of cells",
      "Density of Taliban enforcer units (Epstein's cops) at zero repression.",
      "Epstein 2002", **PROB),
    P("taliban.vision", int, 7, "cells", "Radius within which an enforcer arrests.",
      "Epstein 2002", min=1, max=50),
    P("taliban.patrol", bool, True, "-",
      "Enforcers move to a random empty cell in vision each step.", "Epstein 2002"),
    P("taliban.max_jail_term", int, 8, "weeks",
      "J_max: jail term drawn uniformly from 0..J (Mesa's randint).", "Epstein 2002",
      min=0, max=1_000_000),
    P("taliban.initial_fighters", int, 150_000, "fighters",
      "Taliban fighting strength at start.", "background estimate [K]",
      min=0, max=10_000_000),
    P("taliban.replenishment", float, 0.01, "per week",
      "Share of the gap to initial strength refilled each week.", "assumption", **PROB),
    P("taliban.pragmatism", float, 0.3, "0-1",
      "Perceived Taliban weakness or pragmatism that disenchants hardliners.",
      "article; USIP 2016; UN MT 2021", **PROB),
    P("taliban.ct_detection", float, 0.001, "per week",
      "Chance per week that one nearby unit, with perfect surveillance, detects an ISIS-K cell.",
      "Kress & Szechtman 2009 [K]; assumption", **PROB),
    P("taliban.hunt_radius", int, 6, "cells",
      "Radius within which Taliban units can find an ISIS-K cell.", "assumption",
      min=0, max=100),
    P("taliban.ct_effectiveness", float, 0.5, "-",
      "Share of a detected cell's fighters removed in an engagement.",
      "Bennett 2008 (effectiveness)", **PROB),
    P("taliban.ct_accuracy", float, 0.8, "-",
      "1 - accuracy is the chance each civilian near an engagement is harmed.",
      "Bennett 2008 (accuracy)", **PROB),
    P("taliban.collateral_radius", int, 2, "cells",
      "Chebyshev radius of collateral harm around an engagement.", "Bennett 2008",
      min=0, max=50),
    P("taliban.losses_per_engagement", float, 2.0, "fighters",
      "Mean Taliban deaths per engagement.", "assumption", min=0.0, max=1000.0),
    # --- isisk -----------------------------------------------------------
    P("isisk.initial_fighters", int, 2000, "fighters",
      "ISIS-K strength at start.", "UN MT 2021 (1,500-2,200)", min=0, max=1_000_000,
      label="Initial ISIS-K fighters", slider=True, step=100, slider_range=(0, 10_000),
      start_only=True),
    P("isisk.fighters_per_cell", int, 25, "fighters/cell",
      "Nominal size of a cell; cells split above twice this.", "assumption",
      min=1, max=10_000),
    P("isisk.defector_recruitment", float, 0.3, "per week per 10k Taliban",
      "Base weekly defections to ISIS-K per 10,000 Taliban fighters.",
      "article; UN MT 2021; USIP 2016", min=0.0, max=100.0,
      label="Recruitment from Taliban defectors", slider=True, step=0.05,
      slider_range=(0.0, 5.0)),
    P("isisk.weakness_response", float, 1.0, "-",
      "Defection multiplier per unit of taliban.pragmatism: (1 + a_w * W).",
      "article", min=0.0, max=20.0),
    P("isisk.momentum_response", float, 1.0, "-",
      "Defection multiplier per unit momentum M in [0,1): (1 + a_m * M).", "article",
      min=0.0, max=20.0),
    P("isisk.momentum_half", float, 3.0, "attacks/week",
      "Successful attacks per week (smoothed) at which momentum is one half.",
      "assumption", min=0.01, max=1000.0),
    P("isisk.civilian_recruitment", float, 0.01, "per week",
      "Weekly recruitment chance of a civilian next to a cell, times susceptibility "
      "and grievance.", "Osman 2020; Giustozzi 2023", **PROB,
      label="Recruitment from civilians", slider=True, step=0.001, slider_range=(0.0, 0.1)),
    P("isisk.recruit_radius", int, 3, "cells",
      "Chebyshev radius within which a cell reaches civilians.", "assumption",
      min=0, max=50),
    P("isisk.recruits_per_civilian", int, 1, "fighters",
      "Fighters gained when a civilian agent is recruited.", "assumption",
      min=0, max=10_000),
    P("isisk.attrition", float, 0.002, "per week",
      "Weekly loss of fighters to death, desertion and surrender outside engagements.",
      "UN MT 2020 (surrenders); assumption", **PROB),
    P("isisk.attack_rate", float, 2.2, "plots/week per 1,000 fighters",
      "Attack plots per week per 1,000 fighters.", "ITIC 2020-22; assumption",
      min=0.0, max=1000.0),
    P("isisk.target_taliban", float, 0.45, "weight",
      "Weight of Taliban units among targets.", "ITIC; UNAMA", min=0.0, max=1.0),
    P("isisk.target_civilian", float, 0.45, "weight",
      "Weight of civilian gatherings (mosques, sectarian targets).", "UNAMA 2022-23",
      min=0.0, max=1.0),
    P("isisk.target_high_profile", float, 0.1, "weight",
      "Weight of high-profile targets in the capital region.", "article (Kabul airport)",
      min=0.0, max=1.0),
    P("isisk.deaths_alpha", float, 2.5, "-",
      "Tail exponent alpha of attack deaths, P(X >= x) ~ x^(1 - alpha).",
      "Bohorquez 2009; Clauset 2007", min=1.05, max=10.0),
    P("isisk.deaths_min", float, 1.0, "deaths",
      "Scale x_min of the deaths distribution for ordinary attacks.", "ITIC 2021-22",
      min=0.0, max=1000.0),
    P("isisk.high_profile_multiplier", float, 5.0, "-",
      "x_min multiplier for high-profile attacks.", "article (Kabul airport)",
      min=1.0, max=100.0),
    P("isisk.deaths_max", int, 300, "deaths",
      "Cap on deaths in one attack.", "facts 3.5 (largest attacks 95-183)",
      min=1, max=100_000),
    P("isisk.mass_casualty_threshold", int, 25, "deaths",
      "An attack with at least this many deaths counts as mass-casualty.", "assumption",
      min=1, max=100_000),
    P("isisk.move_radius", int, 3, "cells", "Radius of a cell's weekly move.", "assumption",
      min=0, max=100),
    P("isisk.momentum_memory", float, 0.9, "per week",
      "Weekly retention of the smoothed count of successful attacks.", "assumption", **PROB),
    # --- surveillance ----------------------------------------------------
    P("surveillance.us_level", float, 0.6, "0-1",
      "US surveillance: chance that US ISR alone interdicts a plot.",
      "DoD Lead IG; article", **PROB, label="US surveillance level", slider=True, step=0.01),
    P("surveillance.withdrawal_week", int, -1, "week",
      "Step at which US surveillance drops to us_level_after (-1: never).",
      "DoD Lead IG (Aug 2021)", min=-1, max=100_000,
      label="Week of the US withdrawal", slider=True, step=1, slider_range=(-1, 260)),
    P("surveillance.us_level_after", float, 0.05, "0-1",
      "US surveillance after withdrawal (over-the-horizon only).",
      "DoD Lead IG; Washington Times 2024 (one strike in 3 years)", **PROB),
    P("surveillance.taliban_intel", float, 0.03, "0-1",
      "Taliban intelligence capacity at start.", "ECRATS 2024", **PROB, start_only=True),
    P("surveillance.intel_growth", float, 0.08, "per week",
      "Logistic growth rate of Taliban intelligence toward intel_max.",
      "ECRATS 2024 (GDI from Oct 2021)", min=0.0, max=1.0),
    P("surveillance.intel_max", float, 0.9, "0-1",
      "Ceiling of Taliban intelligence capacity.", "UN 2024 (ISKP impaired); assumption",
      **PROB),
)

PARAM_INDEX: dict[str, Param] = {p.name: p for p in PARAMS}
SLIDER_PARAMS: tuple[Param, ...] = tuple(p for p in PARAMS if p.slider)


class UnknownParameter(KeyError):
    """A dotted name that is not in the table."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
        self.hint = did_you_mean(name, PARAM_INDEX) if isinstance(name, str) else ""

    def __str__(self) -> str:
        if not isinstance(self.name, str):
            return (f"parameter names are text such as 'isisk.attack_rate', got "
                    f"{type(self.name).__name__} {show(self.name)}")
        return f"unknown parameter{self.hint}"


def get(name: str) -> Param:
    """Return the parameter called ``name`` or raise UnknownParameter."""
    try:
        return PARAM_INDEX[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        raise UnknownParameter(name) from None


def defaults() -> dict[str, Any]:
    """A fresh dict of every parameter's default value."""
    return {p.name: p.default for p in PARAMS}


def cross_check(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Rules that involve several parameters: a list of ``(name, reason)`` problems."""
    problems = []
    side = min(values["world.width"], values["world.height"])
    for name in ("civilians.vision", "taliban.vision"):
        if 2 * values[name] + 1 > side:
            need = 2 * values[name] + 1
            problems.append((name, f"vision {values[name]} needs a world of at least {need} "
                                   f"cells a side (smallest side is {side})"))
    if values["civilians.density"] + values["taliban.enforcer_density"] > 1:
        problems.append(("taliban.enforcer_density",
                         "civilians.density + taliban.enforcer_density must be at most 1"))
    return problems


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated with checked ``overrides`` (dotted names)."""
    values = defaults()
    for name, value in (overrides or {}).items():
        values[name] = get(name).check(value)
    return values
