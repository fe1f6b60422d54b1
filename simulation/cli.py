"""The ``khorasan`` command line: run, validate, show and list scenarios.

Every bad input (a scenario error, a bad ``--set``, an existing run
directory, a missing file, a bad option) ends with exactly one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from simulation import params as ptable
from simulation.params import _did_you_mean
from simulation.scenario import Scenario
from simulation.scenario_file import (
    ScenarioError,
    load_scenario,
    parse_assignment,
    scenario_to_toml,
)

EXIT_BAD_INPUT = 2

def _examples(*lines: tuple[str, str], note: str = "") -> str:
    """A help epilog: example commands (with comments) and a note."""
    width = max((len(cmd) for cmd, _ in lines if len(cmd) < 60), default=0) + 2
    body = "\n".join(
        f"  [cyan]{escape(cmd)}[/cyan]"
        + (f"{' ' * max(2, width - len(cmd))}{what}" if what else "")
        for cmd, what in lines)
    return f"[bold]Examples[/bold]\n{body}" + (f"\n\n{note}" if note else "")


app = typer.Typer(
    name="khorasan",
    help="Agent-based simulation of ISIS-K, the Taliban and Afghan civilians: "
         "violence and thermostatic repression.",
    epilog=_examples(
        ("khorasan list", "the shipped scenarios"),
        ("khorasan validate scenarios/*.toml", "check scenario files"),
        ("khorasan run scenarios/baseline.toml", "run, save results and plots"),
        ("khorasan run a.toml --replicates 4 --steps 52 --set isisk.initial_fighters=3000", ""),
        ("khorasan show scenarios/baseline.toml --changed", "the resolved scenario"),
        ("khorasan params --section isisk", "the parameter table"),
        note="Every command has --help with examples. The scenario format and the "
             "parameter reference are in docs/scenarios.md.",
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class CliError(Exception):
    """Bad command-line input, printed as one line."""


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn expected errors into one stderr line and exit status 2."""
    from simulation.results import ResultsError

    try:
        yield
    except (ScenarioError, ResultsError, CliError) as exc:
        typer.echo(" ".join(str(exc).split()), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:  # e.g. --out is a file, or not writable
        where = exc.filename if exc.filename is not None else "khorasan"
        typer.echo(f"{where}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _overrides(scenario_path: Path, assignments: Sequence[str]) -> dict[str, Any]:
    """Parse ``--set NAME=VALUE`` options (values read as TOML)."""
    out: dict[str, Any] = {}
    for text in assignments:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise ScenarioError(scenario_path, "--set", str(exc)) from None
        out[name] = value
    return out


def _load(path: Path, assignments: Sequence[str], extra: dict[str, Any] | None = None
          ) -> Scenario:
    overrides = _overrides(path, assignments)
    overrides.update(extra or {})
    return load_scenario(path, overrides)


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="NAME=VALUE",
                 help="Override a parameter (dotted name; value read as TOML), e.g. "
                      "[cyan]--set isisk.initial_fighters=3000[/cyan] or "
                      "[cyan]--set civilians.movement=static[/cyan]. Header fields too: "
                      "[cyan]--set scenario.start_date=2021-09-01[/cyan]. Repeatable."),
]


# --- run -----------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan run scenarios/baseline.toml", "one worker per CPU"),
    ("khorasan run scenarios/*.toml --out results/ --workers 4", "several scenarios"),
    ("khorasan run scenarios/baseline.toml --replicates 2 --steps 52 "
     "--set world.width=40 --set world.height=40", ""),
    note="Writes OUT/<scenario name>/ with timeseries.csv, summary.csv, manifest.json, "
         "scenario.toml and plots/*.png. Replicate i uses seed SEED+i, so the results do "
         "not depend on --workers.",
))
def run(
    scenarios: Annotated[list[Path], typer.Argument(
        metavar="SCENARIO", help="Scenario TOML files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run directories.")
                   ] = Path("results"),
    replicates: Annotated[int | None, typer.Option(
        min=1, help="Replicates (default: the scenario's).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, help="Seed of replicate 0 (default: the scenario's).", show_default=False)
    ] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="Weeks to simulate (default: the scenario's); later events are dropped.",
        show_default=False)] = None,
    set_: SetOption = None,
    workers: Annotated[int, typer.Option(
        "--workers", "-j", min=0, help="Worker processes; 0 = one per CPU.")] = 0,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace existing run directories (once the new one is complete).")
    ] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run scenarios: seeded replicates, saved results and plots."""
    from simulation.ensemble import default_workers, make_jobs
    from simulation.results import check_run_dir, run_dir_for

    header: dict[str, Any] = {}
    if replicates is not None:
        header["scenario.replicates"] = replicates
    if seed is not None:
        header["scenario.seed"] = seed
    if steps is not None:
        header["scenario.steps"] = steps
    with _one_line_errors():
        loaded = [(path, _load(path, set_ or [], header)) for path in scenarios]
        seen: dict[Path, Path] = {}
        for path, sc in loaded:
            target = run_dir_for(out, sc)
            if target in seen:
                raise CliError(f"{path}: scenario.name: {sc.name!r} is also the name of "
                               f"{seen[target]}; both would write {target}")
            seen[target] = path
            check_run_dir(target, force)
        n_workers = workers or default_workers()
        for path, sc in loaded:
            jobs = make_jobs(sc)
            _run_one(path, sc, jobs, out, min(n_workers, len(jobs)), force, no_plots, quiet)


def _run_one(path: Path, scenario: Scenario, jobs: list[Any], out: Path, workers: int,
             force: bool, no_plots: bool, quiet: bool) -> None:
    from simulation.ensemble import concat_results, execute
    from simulation.results import write_run

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    try:
        frames = execute(jobs, workers=workers, progress=not quiet, desc=scenario.name)
    except ValueError as exc:  # the model refusing a parameter combination
        raise CliError(f"{path}: run: {exc}") from None
    seconds = time.perf_counter() - t0
    timings = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "simulate_seconds": round(seconds, 3),
        "workers": workers,
        "cpus": os.cpu_count(),
    }
    run_dir = write_run(out, scenario, concat_results(frames), timings=timings,
                        command=["khorasan", *sys.argv[1:]], force=force)
    typer.echo(f"wrote {run_dir}/  ({len(jobs)} replicates x {scenario.steps} weeks, "
               f"{seconds:.1f} s on {workers} worker{'s' if workers != 1 else ''})")
    if not no_plots:
        from simulation.plots import plot_run

        for png in plot_run(run_dir):
            typer.echo(f"  plot {png}")


# --- plot ----------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan plot results/baseline", ""),
    note="Reads only the saved files of the run directory and rewrites its plots/*.png.",
))
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(
        metavar="RUN_DIR", help="Run directories written by [cyan]khorasan run[/cyan].",
        show_default=False)],
) -> None:
    """Redraw the plots of saved runs."""
    from simulation.plots import plot_run

    with _one_line_errors():
        for run_dir in run_dirs:
            for png in plot_run(run_dir):
                typer.echo(f"plot {png}")


# --- validate ------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan validate scenarios/*.toml", ""),
    ("khorasan validate my.toml --set isisk.attack_rate=5", "with an override"),
    note="Prints 'OK path' for each valid file and one 'file: key: reason' line on stderr "
         "for each invalid one; exits with status 2 if any is invalid.",
))
def validate(
    scenarios: Annotated[list[Path], typer.Argument(
        metavar="SCENARIO", help="Scenario TOML files.", show_default=False)],
    set_: SetOption = None,
) -> None:
    """Check scenario files (and overrides) without running them."""
    bad = 0
    for path in scenarios:
        try:
            _load(path, set_ or [])
        except ScenarioError as exc:
            typer.echo(str(exc), err=True)
            bad += 1
        else:
            typer.echo(f"OK {path}")
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


# --- show ----------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan show scenarios/baseline.toml", "every parameter"),
    ("khorasan show scenarios/baseline.toml --changed", "only non-default parameters"),
    ("khorasan show child.toml --set surveillance.us_level=0.3 > resolved.toml", ""),
    note="The output is itself a valid scenario file, with extends resolved.",
))
def show(
    scenario: Annotated[Path, typer.Argument(help="A scenario TOML file.", show_default=False)],
    set_: SetOption = None,
    changed: Annotated[bool, typer.Option(
        "--changed", help="Only parameters that differ from their defaults.")] = False,
) -> None:
    """Print the fully resolved scenario as TOML."""
    with _one_line_errors():
        sc = _load(scenario, set_ or [])
    only = None
    if changed:
        only = {n: sc.params[n] for n in ptable.PARAM_INDEX if n in sc.overrides}
    typer.echo(scenario_to_toml(sc, only=only), nl=False)


# --- params --------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan params", "every section"),
    ("khorasan params --section isisk", "one section"),
    ("khorasan params --markdown > reference.md", "the reference in docs/scenarios.md"),
    note="Sections: " + ", ".join(ptable.SECTIONS) + ".",
))
def params(
    section: Annotated[str | None, typer.Option(
        "--section", help="Only this section.", show_default=False)] = None,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the Markdown reference used in docs/scenarios.md.")] = False,
) -> None:
    """Print the parameter table: name, default, unit, range and description."""
    from rich.console import Console
    from rich.table import Table

    from simulation.docs_gen import param_reference_markdown

    if section is not None and section not in ptable.SECTIONS:
        hint = _did_you_mean(section, ptable.SECTIONS)
        typer.echo(f"--section: unknown section {section!r}{hint}; sections are "
                   + ", ".join(ptable.SECTIONS), err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if markdown:
        typer.echo(param_reference_markdown(section), nl=False)
        return
    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    for name, title in ptable.SECTIONS.items():
        if section is not None and name != section:
            continue
        table = Table(title=f"[{name}] {title}", title_justify="left", show_lines=False,
                      header_style="bold", expand=False)
        table.add_column("name", style="cyan", no_wrap=True)
        table.add_column("default", justify="right")
        table.add_column("unit")
        table.add_column("range")
        table.add_column("description", ratio=1)
        for p in ptable.PARAMS:
            if p.section == name:
                table.add_row(p.name, _default_text(p), p.unit, p.range_text, p.description,
                              )
        console.print(table)
        console.print()


def _default_text(p: ptable.Param) -> str:
    from simulation.scenario_file import format_toml_value

    return format_toml_value(p.default, p.kind)


# --- list ----------------------------------------------------------------------

def scenarios_dir() -> Path:
    """``./scenarios`` if it exists, else the repository's scenarios folder."""
    here = Path("scenarios")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "scenarios"


def _relative(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


@app.command("list", epilog=_examples(
    ("khorasan list", ""),
    ("khorasan list --dir my-scenarios", "another folder"),
    note="Looks in ./scenarios, or else in the scenarios folder next to the package.",
))
def list_(
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Folder to list instead of scenarios/.", show_default=False)] = None,
) -> None:
    """List the shipped scenarios with their descriptions."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    folder = directory or scenarios_dir()
    if not folder.is_dir():
        typer.echo(f"{folder}: no such folder", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    files = sorted(folder.glob("*.toml"))
    if not files:
        typer.echo(f"no scenarios in {_relative(folder)}")
        return
    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    table = Table(title=f"Scenarios in {_relative(folder)}", title_justify="left",
                  header_style="bold")
    table.add_column("file", style="cyan", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("weeks", justify="right")
    table.add_column("description", ratio=1)
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            table.add_row(escape(_relative(path)), "", "",
                          f"[red]invalid: {escape(f'{exc.key}: {exc.reason}')}[/red]")
            continue
        table.add_row(escape(_relative(path)), escape(sc.name), str(sc.steps),
                      escape(sc.description))
    console.print(table)


# --- entry point -----------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: usage errors become one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    try:
        rc = app(args=args, prog_name="khorasan", standalone_mode=False)
    except typer.TyperException as exc:  # click usage errors (bad option, missing argument)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "khorasan"
        message = " ".join(exc.format_message().split())
        typer.echo(f"{where}: {message} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("khorasan: interrupted", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
