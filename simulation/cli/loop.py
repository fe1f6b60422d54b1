"""``khorasan loop``: the vicious circle measured; options parsed here, the work done by the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.app import (
    QuietOption,
    ResumeOption,
    SchedulerOption,
    SetOption,
    WorkersOption,
    app,
    examples,
)
from simulation.cli.experiments import SweepReplicates, SweepSeed, SweepSteps, _options
from simulation.cli.signals import one_line_errors

__all__ = ["loop"]

# --- loop ----------------------------------------------------------------------


LoopOut = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="Loop directory (default: results/loop-<name>).", show_default=False
    ),
]
LoopForce = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing loop directory (once the new one is complete); only a "
        "loop directory khorasan wrote, holding nothing else, is replaced.",
    ),
]


@app.command(
    epilog=examples(
        ("khorasan loop scenarios/baseline.toml --replicates 10", "every link, 10 paired seeds"),
        (
            "khorasan loop scenarios/baseline.toml --replicates 4 --steps 52 "
            "--set world.width=40 --set world.height=40",
            "a quick look",
        ),
        (
            "khorasan loop scenarios/baseline.toml --links threat_repression,grievance_recruits",
            "only these links",
        ),
        note="Cuts each link of the vicious circle in turn (its parameters set to zero, "
        "everything else equal) on the same seeds as the intact scenario, and measures the "
        "loop gain: a pulse of fighters with the loop closed and opened at --open-at, "
        "G = 1 - Δopen/Δclosed (G > 0: the circle reinforces it). Writes OUT/links.csv "
        "(each cut's paired effect on its target and on the headlines, bootstrap 90% CI, % of "
        "intact, and the 5% rule), OUT/gain.csv, OUT/values.csv, OUT/loop.png, "
        "OUT/scenario.toml and OUT/loop.json. Links: fighters_attacks, deaths_threat, "
        "attacks_defections, defections_threat, dissent_threat, threat_repression, "
        "repression_grievance, repression_enforcement, enforcement_ct, ct_grievance, "
        "attacks_grievance, grievance_dissent, grievance_recruits (docs/ODD.md). "
        "Exit status 1 if a replicate failed.",
    )
)
def loop(
    scenario: Annotated[Path, typer.Argument(help="A scenario TOML file.", show_default=False)],
    out: LoopOut = None,
    replicates: SweepReplicates = None,
    seed: SweepSeed = None,
    steps: SweepSteps = None,
    set_: SetOption = None,
    links: Annotated[
        str | None,
        typer.Option(
            "--links",
            metavar="L1,L2,...",
            help="Only these links (default: all).",
            show_default=False,
        ),
    ] = None,
    open_at: Annotated[
        str, typer.Option("--open-at", metavar="LINK", help="Where the loop gain opens the loop.")
    ] = "threat_repression",
    pulse_fighters: Annotated[
        int,
        typer.Option("--pulse-fighters", min=1, help="Fighters added by the gain's pulse."),
    ] = 500,
    pulse_week: Annotated[
        int | None,
        typer.Option(
            "--pulse-week",
            help="Week of the pulse (default: a fifth of the run).",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    force: LoopForce = False,
    quiet: QuietOption = False,
) -> None:
    """Measure the vicious circle: cut each link on paired seeds, and the loop gain."""
    from simulation.api.looping import loop as measure_loop
    from simulation.cli.output import print_loop

    with one_line_errors():
        done = measure_loop(
            scenario,
            out=out,
            root="results",
            replicates=replicates,
            seed=seed,
            steps=steps,
            set=set_ or [],
            links=[n.strip() for n in links.split(",") if n.strip()] if links else None,
            open_at=open_at,
            pulse_fighters=pulse_fighters,
            pulse_week=pulse_week,
            **_options(workers, scheduler, force, resume, quiet),
        )
    print_loop(done.path)
