"""The ``khorasan`` command line: run, compare, sweep, validate, show and list scenarios.

Every bad input (a scenario error, a bad ``--set``, an existing run
directory, a missing file, a bad option) ends with exactly one line on
stderr and exit status 2, never a traceback. A replicate that raises is
reported with its seed; the others finish and are saved, and the exit
status is 1. Ctrl-C (exit status 130), SIGTERM (143) and a write error such
as a full disk (2) say on one line what is saved and how to ``--resume``.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario
from simulation.scenario.loader import (
    ScenarioError,
    display_path,
    load_scenario,
    parse_assignment,
    scenario_to_toml,
)
from simulation.scenario.params import _did_you_mean

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # some replicates raised; the others are saved
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM

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
        ("khorasan compare a.toml b.toml", "compare scenarios"),
        ("khorasan sweep a.toml -p world.width=40:80:3", "sweep a parameter"),
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as it does on Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def _resume_hint(workspaces: Sequence[Any], n_jobs: int) -> Iterator[None]:
    """While running or writing: an interrupt or a write error says how to ``--resume``.

    Ctrl-C (exit 130) and SIGTERM (143) print one line saying how many
    replicates are saved; an OSError (a full disk, say) becomes one line
    ``path: reason; ...`` with the same hint (exit 2). The workspaces are
    closed (unlocked) and keep what they saved.
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        state = _saved_state(workspaces, n_jobs)
        what, code = (("terminated", EXIT_TERMINATED) if isinstance(exc, Terminated)
                      else ("interrupted", EXIT_INTERRUPTED))
        typer.echo(f"khorasan: {what}; {state}; run the same command with --resume to finish",
                   err=True)
        raise typer.Exit(code) from None
    except OSError as exc:
        state = _saved_state(workspaces, n_jobs)
        where = exc.filename if exc.filename is not None else "khorasan"
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise CliError(f"{where}: {exc.strerror or exc}; {state}; "
                       f"{'free some space' if full else 'fix that'}, then run the same "
                       "command with --resume to finish") from None


def _saved_state(workspaces: Sequence[Any], n_jobs: int) -> str:
    """``3 of 8 replicates are saved in OUT/.NAME.partial`` (closing the workspaces)."""
    saved, where, open_ = 0, [], False
    for ws in workspaces:
        open_ |= ws.partial.is_dir()
        count = ws.store.count()
        if count:
            saved += count
            where.append(str(ws.partial))
        ws.close()
    if where:
        return f"{saved} of {n_jobs} replicates are saved in {', '.join(where)}"
    if open_:
        return f"none of the {n_jobs} replicates had finished"
    return "what was written so far is kept"


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn expected errors into one stderr line and exit status 2."""
    from simulation.experiments.results import ResultsError

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

ResumeOption = Annotated[
    bool,
    typer.Option("--resume",
                 help="Finish an interrupted run: keep the replicates it saved (in the hidden "
                      "OUT/.NAME.partial/) and run only the missing or failed ones; the "
                      "results are identical to an uninterrupted run. Refused if the saved "
                      "replicates were made with other settings or by other khorasan code "
                      "(the message says what differs; --force discards them). Complete "
                      "outputs of the same settings are kept as they are (missing plots "
                      "are drawn)."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", metavar="ADDRESS", envvar="KHORASAN_SCHEDULER",
                 help="Run the replicates on a Dask cluster: [cyan]tcp://HOST:8786[/cyan] "
                      "(a running dask-scheduler), or [cyan]local-dask[/cyan] for a "
                      "LocalCluster on this machine (2 workers unless --workers). Same results "
                      "as local runs. Needs khorasan\\[distributed]; see docs/distributed.md.",
                 show_default=False),
]
WorkersOption = Annotated[
    int, typer.Option("--workers", "-j", min=0, help="Worker processes; 0 = one per CPU."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


# --- run -----------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan run scenarios/baseline.toml", "one worker per CPU"),
    ("khorasan run scenarios/*.toml --out results/ --workers 4", "several scenarios"),
    ("khorasan run scenarios/baseline.toml --replicates 2 --steps 52 "
     "--set world.width=40 --set world.height=40", ""),
    ("khorasan run scenarios/baseline.toml --resume", "finish an interrupted run"),
    ("khorasan run scenarios/baseline.toml --scheduler tcp://head-node:8786",
     "on a Dask cluster"),
    note="Writes OUT/<scenario name>/ with timeseries.csv, summary.csv, manifest.json, "
         "scenario.toml and plots/*.png. Replicate i uses seed SEED+i, so the results do "
         "not depend on --workers or --scheduler. Each replicate is saved as it finishes "
         "(in OUT/.NAME.partial/), so an interrupted run can be finished with --resume. If "
         "a replicate fails, the others still run and are saved, and the exit status is 1.",
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
        "--force", help="Replace existing run directories (once the new one is complete) and "
        "discard replicates saved by an interrupted run. Only directories khorasan wrote, "
        "holding nothing else, are replaced; anything else is refused.")
    ] = False,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    resume: ResumeOption = False,
    scheduler: SchedulerOption = None,
) -> None:
    """Run scenarios: seeded replicates, saved results and plots."""
    from simulation.experiments.ensemble import plan_runs
    from simulation.experiments.results import run_dir_for

    _check_scheduler(scheduler)
    header = _header_overrides(replicates, seed, steps)
    with _one_line_errors():
        loaded = [(path, _load(path, set_ or [], header)) for path in scenarios]
        seen: dict[Path, Path] = {}
        for path, sc in loaded:
            target = run_dir_for(out, sc)
            if target in seen:
                raise CliError(f"{path}: scenario.name: {sc.name!r} is also the name of "
                               f"{seen[target]}; both would write {target}")
            seen[target] = path
        _check_memory([sc for _, sc in loaded], workers, scheduler)
        plans = plan_runs([sc for _, sc in loaded], out, resume=resume, force=force)
        pending = [p for p in plans if p.pending]
        n_jobs = sum(len(p.jobs) for p in pending)
        with _resume_hint([p.workspace for p in pending], n_jobs):
            for plan in plans:
                if not plan.pending:
                    _complete_already(plan.target, no_plots)
            if not pending:
                return
            desc = pending[0].scenario.name if len(pending) == 1 else "run"
            failures, timings = _execute([(p.workspace.store, p.jobs) for p in pending],
                                         [p.workspace for p in pending],
                                         workers, scheduler, quiet, desc)
            for plan in pending:
                _finish_one(plan, timings, force, no_plots, failed=_failed_in(plan, failures))
        if failures:
            _report_failures(failures, n_jobs, [p.workspace.partial for p in pending])


def _complete_already(run_dir: Path, no_plots: bool) -> None:
    """``--resume`` found ``run_dir`` complete: draw the plots it lacks (killed while plotting)."""
    from simulation.plots import missing_plots, plot_run

    missing = [] if no_plots else missing_plots(run_dir)
    if not missing:
        typer.echo(f"{run_dir}/ is already complete (--resume); nothing to run")
        return
    typer.echo(f"{run_dir}/ is complete (--resume); drawing its missing plots")
    for png in plot_run(run_dir, missing):
        typer.echo(f"  plot {png}")


def _workers_for(workers: int, scheduler: str | None, note: bool = False) -> int:
    """Worker processes for ``--workers`` (0: one per CPU), at most one per CPU here.

    With ``note``, a cut is said on stderr (one line, not an error).
    """
    from simulation.experiments.ensemble import local_workers

    n, asked = local_workers(workers, scheduler)
    if note and asked is not None:
        typer.echo(f"khorasan: note: --workers {asked} is more than the {n} CPU"
                   f"{'s' if n != 1 else ''} available; using {n}", err=True)
    return n


def _check_scheduler(scheduler: str | None) -> None:
    """``--scheduler`` must be a Dask address: checked before any folder or lock is made."""
    from simulation.experiments.ensemble import check_scheduler

    if scheduler:
        with _one_line_errors():
            try:
                check_scheduler(scheduler)
            except ValueError as exc:
                raise CliError(f"--scheduler: {exc}") from None


def _check_memory(scenarios: Sequence[Scenario], workers: int, scheduler: str | None,
                  *, sweep: bool = False) -> None:
    """Refuse a run that needs more memory than the machine has (before anything is made)."""
    from simulation.experiments.ensemble import LOCAL_DASK
    from simulation.experiments.resources import check_memory

    n_jobs = sum(sc.replicates for sc in scenarios)
    n = max(1, min(_workers_for(workers, scheduler), n_jobs))
    check_memory(scenarios, n, sweep=sweep,
                 remote=bool(scheduler) and scheduler != LOCAL_DASK)


def _execute(batches: Sequence[Any], workspaces: Sequence[Any], workers: int,
             scheduler: str | None, quiet: bool, desc: str
             ) -> tuple[list[Any], dict[str, Any]]:
    """Run the jobs not saved yet, saving each replicate (inside :func:`_resume_hint`).

    ``batches`` pairs replicate stores with their jobs; ``workspaces`` hold
    the stores (closed here if Dask is unavailable). Returns the failures and
    the timings for the manifests.
    """
    from simulation.experiments.ensemble import DaskUnavailable, run_saved

    n_jobs = sum(len(jobs) for _, jobs in batches)
    n_workers = _workers_for(workers, scheduler, note=True)
    if not scheduler:
        n_workers = max(1, min(n_workers, n_jobs))
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    try:
        failures = run_saved(batches, n_workers, progress=not quiet, desc=desc,
                             scheduler=scheduler)
    except DaskUnavailable as exc:
        for ws in workspaces:
            ws.close()
        raise CliError(str(exc)) from None
    except (KeyboardInterrupt, OSError):  # _resume_hint counts what is saved, then closes
        raise
    except BaseException:  # anything else: release the locks
        for ws in workspaces:
            ws.close()
        raise
    seconds = time.perf_counter() - t0
    timings = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "simulate_seconds": round(seconds, 3),
        "workers": n_workers,
        "scheduler": scheduler or ("serial" if n_workers == 1 else "process"),
        "cpus": os.cpu_count(),
    }
    return failures, timings


def _where(timings: dict[str, Any]) -> str:
    """``on 2 workers``, ``on a local Dask cluster of 2 workers`` or ``on Dask at ADDR``."""
    from simulation.experiments.ensemble import LOCAL_DASK

    n, scheduler = timings["workers"], timings["scheduler"]
    workers = f"{n} worker{'s' if n != 1 else ''}"
    if scheduler == LOCAL_DASK:
        return f"on a local Dask cluster of {workers}"
    if scheduler not in ("serial", "process"):
        return f"on Dask at {scheduler}"
    return f"on {workers}"


def _failed_in(plan: Any, failures: Sequence[Any]) -> bool:
    return any(f.job.scenario is plan.scenario for f in failures)


def _finish_one(plan: Any, timings: dict[str, Any], force: bool, no_plots: bool,
                failed: bool) -> Path | None:
    """Write a run directory whose replicates all finished; keep the workspace otherwise."""
    from simulation.experiments.ensemble import finish_run

    if failed:
        plan.workspace.close()
        return None
    run_dir = finish_run(plan, timings=timings, command=["khorasan", *sys.argv[1:]],
                         force=force)
    reused = f", {plan.reused} saved earlier" if plan.reused else ""
    typer.echo(f"wrote {run_dir}/  ({len(plan.jobs)} replicates x {plan.scenario.steps} weeks"
               f"{reused}, {timings['simulate_seconds']:.1f} s {_where(timings)})")
    if not no_plots:
        from simulation.plots import plot_run

        for png in plot_run(run_dir):
            typer.echo(f"  plot {png}")
    return run_dir


def _report_failures(failures: Sequence[Any], total: int, partials: Sequence[Path]) -> None:
    """One summary line on stderr and exit status 1."""
    kept = [str(p) for p in partials if p.exists()]
    first = failures[0].message()
    typer.echo(f"khorasan: {len(failures)} of {total} replicates failed (first: {first}); "
               f"the others are saved in {', '.join(kept) or 'the run directories'}; fix the "
               "cause and run the same command with --resume to retry only the failed ones",
               err=True)
    raise typer.Exit(EXIT_FAILED)


# --- compare -------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan compare scenarios/baseline.toml scenarios/us_surveillance_retained.toml", ""),
    ("khorasan compare results/baseline results/defector_surge --out results/cmp",
     "saved run directories"),
    ("khorasan compare a.toml b.toml c.toml --replicates 40 --metrics cum_attack_deaths,arrests",
     ""),
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
))
def compare(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="SCENARIO_OR_RUN_DIR", help="Two or more scenario files or run directories; "
        "the first is the reference.", show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Directory for the comparison and the runs of scenario files.")
    ] = Path("results/comparison"),
    metrics: Annotated[str | None, typer.Option(
        "--metrics", "-m", metavar="M1,M2,...", help="Metrics to plot (see below).",
        show_default=False)] = None,
    replicates: Annotated[int | None, typer.Option(
        min=1, help="Replicates of every scenario file (default: the first input's).",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, help="Seed of replicate 0 for every scenario file (default: the first "
        "input's).", show_default=False)] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="Weeks to simulate in every scenario file.", show_default=False)] = None,
    set_: SetOption = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace existing run directories under OUT and the comparison files "
        "in OUT; only what khorasan wrote (and nobody changed since) is replaced.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Compare scenarios: figures, paired differences and a table with confidence intervals."""
    from simulation.experiments.compare import (
        COMPARISON_FILES,
        Extent,
        check_comparable,
        check_comparison_out,
        parse_metrics,
        write_comparison,
    )
    from simulation.experiments.ensemble import plan_runs
    from simulation.experiments.results import RunData, load_run, run_dir_for

    _check_scheduler(scheduler)
    with _one_line_errors():
        if len(inputs) < 2:
            raise CliError("compare: give at least two scenario files or run directories")
        try:
            specs = parse_metrics(metrics)
        except ValueError as exc:
            raise CliError(f"--metrics: {exc}") from None
        saved: dict[int, RunData] = {k: load_run(p) for k, p in enumerate(inputs) if p.is_dir()}
        # common random numbers: every scenario file runs the first input's seeds
        header: dict[str, Any] = {}
        if steps is not None:
            header["scenario.steps"] = steps
        if 0 in saved:
            first_seed = int(saved[0].manifest["scenario"]["seed"])
            first_reps = saved[0].replicates
        else:
            first = _load(inputs[0], set_ or [], header)
            first_seed, first_reps = first.seed, first.replicates
        header["scenario.seed"] = seed if seed is not None else first_seed
        header["scenario.replicates"] = replicates if replicates is not None else first_reps
        files = {k: _load(p, set_ or [], header) for k, p in enumerate(inputs) if k not in saved}

        extents = [Extent(str(p), saved[k].start_date, int(saved[k].manifest["scenario"]["steps"]))
                   if k in saved else Extent(str(p), files[k].start_date, files[k].steps)
                   for k, p in enumerate(inputs)]
        try:
            check_comparable(extents)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        check_comparison_out(out, [run.path for run in saved.values()], force=force,
                             resume=resume)
        targets: dict[Path, Path] = {}
        inputs_resolved = {p.resolve(): p for k, p in enumerate(inputs) if k in saved}
        for k, sc in files.items():
            target = run_dir_for(out, sc)
            if target.name in COMPARISON_FILES:
                raise CliError(f"{inputs[k]}: scenario.name: {sc.name!r} would write its run "
                               f"directory {target}, where the comparison goes; rename it")
            if target in targets:
                raise CliError(f"{inputs[k]}: scenario.name: {sc.name!r} is also the name of "
                               f"{targets[target]}; both would write {target}")
            if target.resolve() in inputs_resolved:
                raise CliError(f"{inputs[k]}: would write {target}, which is also compared "
                               "as a run directory; use --out for another place")
            targets[target] = inputs[k]

        _check_memory(list(files.values()), workers, scheduler)
        plans = plan_runs(list(files.values()), out, resume=resume, force=force)
        pending = [p for p in plans if p.pending]
        for plan in plans:
            if not plan.pending:
                typer.echo(f"{plan.target}/ is already complete (--resume); reusing it")
        n_jobs = sum(len(p.jobs) for p in pending)
        with _resume_hint([p.workspace for p in pending], n_jobs):
            if pending:
                failures, timings = _execute([(p.workspace.store, p.jobs) for p in pending],
                                             [p.workspace for p in pending],
                                             workers, scheduler, quiet, "compare")
                for plan in pending:
                    _finish_one(plan, timings, force, True, failed=_failed_in(plan, failures))
                if failures:
                    _report_failures(failures, n_jobs, [p.workspace.partial for p in pending])
            by_scenario = iter(plans)
            runs = [saved[k] if k in saved else load_run(next(by_scenario).target)
                    for k in range(len(inputs))]
            labels = _unique_labels([r.name for r in runs])
            from simulation.plots import comparison_figures

            table, paths = write_comparison(runs, labels, specs, out, force=force,
                                            resume=resume,
                                            figures=comparison_figures(runs, labels, specs))
    from simulation.cli.output import console, print_comparison

    print_comparison(table, labels, console())
    for path in paths:
        typer.echo(f"wrote {path}")


def _unique_labels(names: Sequence[str]) -> list[str]:
    """Names, with a number added to repeats (``baseline``, ``baseline (2)``)."""
    out: list[str] = []
    for name in names:
        label, n = name, 1
        while label in out:
            n += 1
            label = f"{name} ({n})"
        out.append(label)
    return out


# --- sweep ---------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan sweep scenarios/baseline.toml --param isisk.defector_recruitment=0:2:5", ""),
    ("khorasan sweep scenarios/baseline.toml -p isisk.initial_fighters=1000:4000:4 "
     "-p surveillance.us_level_after=0.05,0.3,0.55 --replicates 5", "a 4 x 3 grid"),
    note="START:STOP:NUM gives NUM evenly spaced values (integers for int parameters); "
         "A,B,C lists them (also text and true/false values); at most 10,000 points. "
         "Every grid point runs the same seeds. Writes OUT/sweep.csv (one "
         "row per point and replicate with the headline metrics), OUT/summary.csv, "
         "OUT/sweep.png (lines with 10–90% bands for one parameter, heatmaps of the median "
         "for two), OUT/sweep.json and OUT/scenario.toml. Default OUT: "
         "results/sweep-<name>-<parameters>. Exit status 1 if a replicate failed.",
))
def sweep(
    scenario: Annotated[Path, typer.Argument(help="A scenario TOML file.", show_default=False)],
    param: Annotated[list[str], typer.Option(
        "--param", "-p", metavar="NAME=START:STOP:NUM",
        help="A parameter and its values (START:STOP:NUM or A,B,...); once or twice.",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Sweep directory (default: results/sweep-<name>-<parameters>).",
        show_default=False)] = None,
    replicates: Annotated[int | None, typer.Option(
        min=1, help="Replicates per grid point (default: the scenario's).",
        show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        min=0, help="Seed of replicate 0 (default: the scenario's).", show_default=False)
    ] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="Weeks to simulate (default: the scenario's).", show_default=False)
    ] = None,
    set_: SetOption = None,
    workers: WorkersOption = 0,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing sweep directory (once the new one is complete); "
        "only a sweep directory khorasan wrote, holding nothing else, is replaced.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Sweep one or two parameters over a grid: a tidy CSV and line or heatmap plots."""
    from simulation.experiments.ensemble import load_saved, make_jobs, resume_settings
    from simulation.experiments.results import Workspace, prepare_target, publish_dir, slug
    from simulation.experiments.sweep import (
        axes_record,
        parse_axis,
        sweep_files,
        sweep_is_complete,
        sweep_points,
    )

    _check_scheduler(scheduler)
    header = _header_overrides(replicates, seed, steps)
    with _one_line_errors():
        base = _load(scenario, set_ or [], header)
        if not 1 <= len(param) <= 2:
            raise ScenarioError(scenario, "--param", "give one or two parameters to sweep")
        axes = []
        for text in param:
            name = text.partition("=")[0].strip()
            try:
                axes.append(parse_axis(text))
            except (ValueError, ptable.UnknownParameter) as exc:
                raise ScenarioError(scenario, f"--param {name}", str(exc)) from None
        if len({a.name for a in axes}) != len(axes):
            raise ScenarioError(scenario, "--param", f"{axes[0].name} is given twice")
        try:
            points = sweep_points(axes)
        except ValueError as exc:
            raise ScenarioError(scenario, "--param", str(exc)) from None
        scenarios = [_load(scenario, set_ or [], {**header, **dict(point)}) for point in points]
        _check_memory(scenarios, workers, scheduler, sweep=True)
        target = out or Path("results") / slug(
            "-".join(["sweep", base.name, *(a.name for a in axes)]))
        seeds = [j.seed for j in make_jobs(base)]
        complete = resume and sweep_is_complete(target, base, axes, seeds)
        if not prepare_target(target, resume=resume, force=force, complete=complete):
            typer.echo(f"{target}/ is already complete (--resume); nothing to run")
            return
        settings = resume_settings(base, {"sweep.axes": axes_record(axes)})
        ws = Workspace(target).open(resume=resume, force=force, settings=settings)
        batches = [(ws.store, make_jobs(sc, point=point))
                   for sc, point in zip(scenarios, points, strict=True)]
        n_jobs = sum(len(j) for _, j in batches)
        with _resume_hint([ws], n_jobs):
            failures, timings = _execute(batches, [ws], workers, scheduler, quiet, "sweep")
            if failures:
                ws.close()
                _report_failures(failures, n_jobs, [ws.partial])
            try:
                frames = [load_saved(ws.store, jobs) for _, jobs in batches]
                from simulation.experiments.sweep import sweep_table
                from simulation.plots import sweep_figure

                table = sweep_table(points, frames)
                files = sweep_files(base, axes, table, seeds=seeds, timings=timings,
                                    figure=sweep_figure(base, axes, table),
                                    command=["khorasan", *sys.argv[1:]])
                publish_dir(target, files, force=force)
            except BaseException:
                ws.close()  # the saved replicates stay for --resume; the lock goes
                raise
            ws.remove()
    typer.echo(f"wrote {target}/  ({len(points)} points x {len(seeds)} replicates x "
               f"{base.steps} weeks, {timings['simulate_seconds']:.1f} s {_where(timings)})")
    from simulation.cli.output import print_sweep

    print_sweep(target / "summary.csv", [a.name for a in axes])


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

    from simulation.cli.docs import param_reference_markdown

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
    from simulation.scenario.loader import format_toml_value

    return format_toml_value(p.default, p.kind)


# --- list ----------------------------------------------------------------------

def scenarios_dir() -> Path:
    """``./scenarios`` if it exists, else the repository's scenarios folder."""
    here = Path("scenarios")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "scenarios"


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
        typer.echo(f"no scenarios in {display_path(folder)}")
        return
    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    table = Table(title=f"Scenarios in {display_path(folder)}", title_justify="left",
                  header_style="bold")
    table.add_column("file", style="cyan", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("weeks", justify="right")
    table.add_column("description", ratio=1)
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            table.add_row(escape(display_path(path)), "", "",
                          f"[red]invalid: {escape(f'{exc.key}: {exc.reason}')}[/red]")
            continue
        table.add_row(escape(display_path(path)), escape(sc.name), str(sc.steps),
                      escape(sc.description))
    console.print(table)


# --- viz -----------------------------------------------------------------------

@app.command(epilog=_examples(
    ("khorasan viz", "baseline, on port 8521"),
    ("khorasan viz scenarios/defector_surge.toml", "another scenario"),
    ("khorasan viz --port 8600 --save-dir my-scenarios", ""),
    note="Needs the \\[viz] extra. The first start fetches the page's JavaScript with npm "
         "into ~/.cache/khorasan/solara-cdn ($KHORASAN_ASSETS_DIR); after that it runs "
         "offline. 'Save as scenario' writes to scenarios/user/ (--save-dir).",
))
def viz(
    scenario: Annotated[Path | None, typer.Argument(
        metavar="[SCENARIO]", help="Scenario shown first (default: scenarios/baseline.toml).",
        show_default=False)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8521,
    save_dir: Annotated[Path | None, typer.Option(
        "--save-dir", help="Folder for 'Save as scenario' (default: scenarios/user).",
        show_default=False)] = None,
) -> None:
    """Explore the model in the browser: map, live plots, sliders (Mesa's controls, on Solara)."""
    from simulation.viz.server import VizError, run_viz

    with _one_line_errors():
        try:
            rc = run_viz(scenario, host=host, port=port, save_dir=save_dir, echo=typer.echo)
        except VizError as exc:
            raise CliError(f"khorasan viz: {exc}") from None
    raise typer.Exit(rc)


# --- entry point -----------------------------------------------------------------


def _header_overrides(replicates: int | None, seed: int | None,
                      steps: int | None) -> dict[str, Any]:
    """``--replicates``, ``--seed`` and ``--steps`` as ``scenario.*`` overrides."""
    given = {"scenario.replicates": replicates, "scenario.seed": seed, "scenario.steps": steps}
    return {name: value for name, value in given.items() if value is not None}

def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: usage errors become one line and exit status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)  # stop as on Ctrl-C, with the hint
    try:
        rc = app(args=args, prog_name="khorasan", standalone_mode=False)
    except typer.TyperException as exc:  # click usage errors (bad option, missing argument)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "khorasan"
        message = " ".join(exc.format_message().split())
        typer.echo(f"{where}: {message} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort as exc:
        if isinstance(exc.__cause__, Terminated):
            typer.echo("khorasan: terminated", err=True)
            sys.exit(EXIT_TERMINATED)
        typer.echo("khorasan: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug or a broken install: one line, traceback on request
        if os.environ.get("KHORASAN_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"khorasan: internal error: {type(exc).__name__}: {message} "
                   "(set KHORASAN_DEBUG=1 to see the traceback)", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
