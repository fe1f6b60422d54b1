"""Rows of the parameter table: civilians (Epstein's rules) and the regime's legitimacy.

Joined, in order, into :data:`simulation.scenario.params.PARAMS`; see that
module for what the table drives.
"""

from __future__ import annotations

from simulation.scenario.param_type import Param
from simulation.scenario.table.common import PROB

P = Param

ROWS: tuple[Param, ...] = (
    # --- civilians -------------------------------------------------------
    P(
        "civilians.density",
        float,
        0.7,
        "share of cells",
        "Each cell holds a civilian with this probability at start (on the map, each Afghan "
        "cell; each civilian then stands for its province's people, docs/ODD.md, The map).",
        "Epstein 2002",
        **PROB,
        start_only=True,
    ),
    P(
        "civilians.vision",
        int,
        7,
        "cells",
        "Radius within which a civilian counts enforcers and actives.",
        "Epstein 2002",
        min=1,
        max=50,
    ),
    P(
        "civilians.threshold",
        float,
        0.1,
        "-",
        "Activation threshold T in G - N > T.",
        "Epstein 2002",
        **PROB,
    ),
    P(
        "civilians.arrest_constant",
        float,
        2.3,
        "-",
        "k in P = 1 - exp(-k * ratio); 2.3 makes P about 0.9 with one enforcer and one active.",
        "Epstein 2002",
        min=0.0,
        max=50.0,
    ),
    P(
        "civilians.arrest_ratio_rule",
        str,
        "exact",
        "-",
        "How C/A enters P: floor (NetLogo), round (Mesa's example) or exact (the paper's text).",
        "Epstein 2002; Wilensky 2004; Mesa example",
        choices=("floor", "round", "exact"),
    ),
    P(
        "civilians.hardship_shift",
        float,
        0.0,
        "-",
        "Added to every civilian's hardship H ~ U(0,1) (result clipped to [0,1]); raises "
        "privation across the board.",
        "Epstein 2002 (H); assumption (shift)",
        min=-1.0,
        max=1.0,
        label="Hardship shift",
        slider=True,
        step=0.05,
    ),
    P(
        "civilians.movement",
        str,
        "random",
        "-",
        "static: civilians stay put; random: Epstein's move to a random empty cell in vision; "
        "flight: move to the least violent empty cell in vision.",
        "Epstein 2002",
        choices=("static", "random", "flight"),
    ),
    P(
        "civilians.jailed_block_cells",
        bool,
        True,
        "-",
        "Jailed civilians stay on their cells and block them (Mesa's example); false frees "
        "the cell as in Epstein's paper.",
        "Mesa example; Epstein 2002",
    ),
    P(
        "civilians.susceptibility_mean",
        float,
        0.1,
        "-",
        "Mean of each civilian's susceptibility to extremist recruitment, drawn from "
        "Beta(4m, 4(1-m)).",
        "Osman 2020; Giustozzi 2023 (few recruits); assumption",
        **PROB,
        start_only=True,
    ),
    P(
        "civilians.attack_grievance",
        float,
        0.05,
        "per event",
        "Grievance shock to civilians near an attack or collateral harm: s += a(1 - s) "
        "(Bennett's anger rule).",
        "Bennett 2008",
        **PROB,
    ),
    P(
        "civilians.arrest_grievance",
        float,
        0.05,
        "per arrest",
        "Grievance shock to the civilians within civilians.arrest_radius of each arrest (families "
        "and neighbours): s += a(1 - s) per arrest (0: Epstein's civilians, whom arrests do not "
        "anger).",
        "Bennett 2008 (the anger rule's 0.05); Lichbach 1987",
        **PROB,
    ),
    P(
        "civilians.attack_fear",
        float,
        0.1,
        "per event",
        "Fear added near an attack: f += a(1 - f); fear adds to risk aversion.",
        "Bennett 2008",
        **PROB,
    ),
    P(
        "civilians.shock_radius",
        int,
        3,
        "cells",
        "Chebyshev radius around an attack or engagement within which civilians feel it.",
        "Bennett 2008 (interaction range 3)",
        min=0,
        max=50,
    ),
    P(
        "civilians.arrest_radius",
        int,
        1,
        "cells",
        "Chebyshev radius around an arrest within which civilians are angered by it: the "
        "household and its neighbours, where an attack (civilians.shock_radius) is felt "
        "across a neighbourhood.",
        "assumption (an arrest is a private event, an attack a public one)",
        min=0,
        max=50,
    ),
    P(
        "civilians.shock_memory",
        float,
        0.97,
        "per week",
        "Weekly retention of grievance shocks and fear (1 = never forgotten).",
        "assumption",
        **PROB,
    ),
    # --- legitimacy ------------------------------------------------------
    P(
        "legitimacy.initial",
        float,
        0.85,
        "-",
        "Base legitimacy L0 of the regime (Epstein's L).",
        "Epstein 2002; assumption",
        **PROB,
        label="Legitimacy",
        slider=True,
        step=0.01,
    ),
    P(
        "legitimacy.dynamic",
        bool,
        True,
        "-",
        "If false, legitimacy stays at its base value (Epstein's exogenous L).",
        "Epstein 2002",
    ),
    P(
        "legitimacy.repression_erosion",
        float,
        0.25,
        "per unit repression",
        "L = L0 - lambda_r * repression - D: how much repression erodes legitimacy.",
        "Lichbach 1987; thermostatic design (facts 4.4)",
        min=0.0,
        max=1.0,
    ),
    P(
        "legitimacy.attack_damage",
        float,
        0.005,
        "per 100 deaths",
        "Damage D added per 100 deaths in attacks the regime failed to prevent.",
        "article; assumption",
        min=0.0,
        max=1.0,
    ),
    P(
        "legitimacy.recovery",
        float,
        0.02,
        "per week",
        "Share of attack damage D that heals each week (slow recovery when calm).",
        "assumption",
        **PROB,
    ),
)
