"""``khorasan run``, ``compare`` and ``sweep``: options parsed here, the work done by the API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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
from simulation.cli.signals import one_line_errors

__all__ = ["compare", "run", "sweep"]


def _options(
    workers: int, scheduler: str | None, force: bool, resume: bool, quiet: bool, plots: bool = True
) -> dict[str, Any]:
    """The API's keywords for the shared options: lines of what was done go to stdout."""
    return {
        "workers": workers,
        "scheduler": scheduler,
        "force": force,
        "resume": resume,
        "plots": plots,
        "progress": not quiet,
        "command": ["khorasan", *sys.argv[1:]],
        "echo": typer.echo,
    }


# --- run -----------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan run scenarios/baseline.toml", "one worker per CPU"),
        ("khorasan run scenarios/*.toml --out results/ --workers 4", "several scenarios"),
        (
            "khorasan run scenarios/baseline.toml --replicates 2 --steps 52 "
            "--set world.width=40 --set world.height=40",
            "",
        ),
        ("khorasan run scenarios/baseline.toml --resume", "finish an interrupted run"),
        (
            "khorasan run scenarios/baseline.toml --scheduler tcp://head-node:8786",
            "on a Dask cluster",
        ),
        note="Writes OUT/<scenario name>/ with timeseries.csv, summary.csv, manifest.json, "
        "scenario.toml and plots/*.png. Replicate i uses seed SEED+i, so the results do "
        "not depend on --workers or --scheduler. Each replicate is saved as it finishes "
        "(in OUT/.NAME.partial/), so an interrupted run can be finished with --resume. If "
        "a replicate fails, the others still run and are saved, and the exit status is 1.",
    )
)
def run(
    scenarios: Annotated[
        list[Path],
        typer.Argument(metavar="SCENARIO", help="Scenario TOML files.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run directories.")] = Path(
        "results"
    ),
    replicates: Annotated[
        int | None,
        typer.Option(min=1, help="Replicates (default: the scenario's).", show_default=False),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, help="Seed of replicate 0 (default: the scenario's).", show_default=False
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Weeks to simulate (default: the scenario's); later events are dropped.",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    workers: Annotated[
        int, typer.Option("--workers", "-j", min=0, help="Worker processes; 0 = one per CPU.")
    ] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace existing run directories (once the new one is complete) and "
            "discard replicates saved by an interrupted run. Only directories khorasan wrote, "
            "holding nothing else, are replaced; anything else is refused.",
        ),
    ] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    resume: ResumeOption = False,
    scheduler: SchedulerOption = None,
) -> None:
    """Run scenarios: seeded replicates, saved results and plots."""
    from simulation.api import run_many

    with one_line_errors():
        run_many(
            scenarios,
            out=out,
            replicates=replicates,
            steps=steps,
            seed=seed,
            set=set_ or [],
            **_options(workers, scheduler, force, resume, quiet, plots=not no_plots),
        )


# --- compare -------------------------------------------------------------------


CompareInputs = Annotated[
    list[Path],
    typer.Argument(
        metavar="SCENARIO_OR_RUN_DIR",
        help="Two or more scenario files or run directories; the first is the reference.",
        show_default=False,
    ),
]
CompareOut = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Directory for the comparison and the runs of scenario files."
    ),
]
MetricsOption = Annotated[
    str | None,
    typer.Option(
        "--metrics",
        "-m",
        metavar="M1,M2,...",
        help="Metrics to plot (see below).",
        show_default=False,
    ),
]
CompareReplicates = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Replicates of every scenario file (default: the first input's).",
        show_default=False,
    ),
]
CompareSeed = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Seed of replicate 0 for every scenario file (default: the first input's).",
        show_default=False,
    ),
]
CompareSteps = Annotated[
    int | None,
    typer.Option(min=1, help="Weeks to simulate in every scenario file.", show_default=False),
]
CompareForce = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace existing run directories under OUT and the comparison files "
        "in OUT; only what khorasan wrote (and nobody changed since) is replaced.",
    ),
]


@app.command(
    epilog=examples(
        ("khorasan compare scenarios/baseline.toml scenarios/us_surveillance_retained.toml", ""),
        (
            "khorasan compare results/baseline results/defector_surge --out results/cmp",
            "saved run directories",
        ),
        (
            "khorasan compare a.toml b.toml c.toml --replicates 40 "
            "--metrics cum_attack_deaths,arrests",
            "",
        ),
        note="Each argument is a scenario file (run first, into OUT/<name>/, with the same seeds "
        "for every scenario: common random numbers) or a run directory written by "
        "[cyan]khorasan run[/cyan]. All must share the start date and the number of weeks. "
        "Writes OUT/comparison.png (median and 10–90% band per scenario), "
        "OUT/difference.png (each scenario minus the first, paired by seed) and "
        "OUT/comparison.csv (headline metrics: median, 10–90%, mean difference from the "
        "first with a bootstrap 90% CI and whether it excludes zero) and OUT/comparison.json "
        "(their hashes). Existing comparison files are replaced only with --force, and only "
        "if khorasan wrote them; OUT may not be a compared run directory. Metrics: any recorded "
        "metric ([cyan]khorasan params[/cyan] lists parameters; docs/scenarios.md lists "
        "metrics) or cum_NAME for the running total of a weekly flow; default "
        "attack_deaths,cum_attack_deaths,attacks,repression,arrests,isisk_fighters. "
        "Exit status 1 if a replicate failed.",
    )
)
def compare(
    inputs: CompareInputs,
    out: CompareOut = Path("results/comparison"),
    metrics: MetricsOption = None,
    replicates: CompareReplicates = None,
    seed: CompareSeed = None,
    steps: CompareSteps = None,
    set_: SetOption = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    force: CompareForce = False,
    quiet: QuietOption = False,
) -> None:
    """Compare scenarios: figures, paired differences and a table with confidence intervals."""
    from simulation.api import compare as compare_runs
    from simulation.cli.output import console, print_comparison

    with one_line_errors():
        done = compare_runs(
            inputs,
            out=out,
            metrics=metrics,
            replicates=replicates,
            seed=seed,
            steps=steps,
            set=set_ or [],
            **_options(workers, scheduler, force, resume, quiet),
        )
    print_comparison(done.table, done.labels, console())
    for path in done.files:
        typer.echo(f"wrote {path}")


# --- sweep ---------------------------------------------------------------------


ParamOption = Annotated[
    list[str],
    typer.Option(
        "--param",
        "-p",
        metavar="NAME=START:STOP:NUM",
        help="A parameter and its values (START:STOP:NUM or A,B,...); once or twice.",
        show_default=False,
    ),
]
SweepOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Sweep directory (default: results/sweep-<name>-<parameters>).",
        show_default=False,
    ),
]
SweepReplicates = Annotated[
    int | None,
    typer.Option(
        min=1, help="Replicates per grid point (default: the scenario's).", show_default=False
    ),
]
SweepSeed = Annotated[
    int | None,
    typer.Option(min=0, help="Seed of replicate 0 (default: the scenario's).", show_default=False),
]
SweepSteps = Annotated[
    int | None,
    typer.Option(min=1, help="Weeks to simulate (default: the scenario's).", show_default=False),
]
SweepForce = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing sweep directory (once the new one is complete); "
        "only a sweep directory khorasan wrote, holding nothing else, is replaced.",
    ),
]


@app.command(
    epilog=examples(
        ("khorasan sweep scenarios/baseline.toml --param isisk.defector_recruitment=0:2:5", ""),
        (
            "khorasan sweep scenarios/baseline.toml -p isisk.initial_fighters=1000:4000:4 "
            "-p surveillance.us_level_after=0.05,0.3,0.55 --replicates 5",
            "a 4 x 3 grid",
        ),
        note="START:STOP:NUM gives NUM evenly spaced values (integers for int parameters); "
        "A,B,C lists them (also text and true/false values); at most 10,000 points. "
        "Every grid point runs the same seeds. Writes OUT/sweep.csv (one "
        "row per point and replicate with the headline metrics), OUT/summary.csv, "
        "OUT/sweep.png (lines with 10–90% bands for one parameter, heatmaps of the median "
        "for two), OUT/sweep.json and OUT/scenario.toml. Default OUT: "
        "results/sweep-<name>-<parameters>. Exit status 1 if a replicate failed.",
    )
)
def sweep(
    scenario: Annotated[Path, typer.Argument(help="A scenario TOML file.", show_default=False)],
    param: ParamOption,
    out: SweepOut = None,
    replicates: SweepReplicates = None,
    seed: SweepSeed = None,
    steps: SweepSteps = None,
    set_: SetOption = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    force: SweepForce = False,
    quiet: QuietOption = False,
) -> None:
    """Sweep one or two parameters over a grid: a tidy CSV and line or heatmap plots."""
    from simulation.api.sweeping import run_sweep
    from simulation.cli.output import print_sweep

    with one_line_errors():
        target, ran = run_sweep(
            scenario,
            param,
            out=out,
            root="results",
            replicates=replicates,
            seed=seed,
            steps=steps,
            set=set_ or [],
            **_options(workers, scheduler, force, resume, quiet),
        )
    if ran:
        print_sweep(target / "summary.csv", [p.partition("=")[0].strip() for p in param])
