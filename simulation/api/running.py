"""Run scenarios and save them: the safety and resume logic of ``run``, ``compare``, ``sweep``.

Replicates are saved as they finish in a hidden workspace
(``OUT/.NAME.partial/``); a run directory is written only once all of its
replicates are saved, so an interrupted or failed run can be finished with
``resume=True`` and gives the same files as an uninterrupted one.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation.api.errors import InputError, ReplicatesFailed, RunInterrupted, SaveError
from simulation.api.loading import Echo, ScenarioLike, header, resolve
from simulation.scenario.core import Scenario

__all__ = ["Options", "check_scheduler", "run", "run_many", "where"]


@dataclass(frozen=True)
class Options:
    """How to run: workers, scheduler, what may be replaced, and where to report."""

    workers: int = 1
    scheduler: str | None = None
    force: bool = False
    resume: bool = False
    plots: bool = True
    progress: bool = False
    command: Sequence[str] | None = None
    echo: Echo | None = None  # each line of what was done
    warn: Echo | None = None  # notes and failed replicates (default: stderr)

    def say(self, text: str) -> None:
        """Report a line of what was done (nothing without ``echo``)."""
        if self.echo is not None:
            self.echo(text)

    def note(self, text: str) -> None:
        """Report a note (a line on stderr without ``warn``)."""
        (self.warn or (lambda t: print(t, file=sys.stderr)))(text)


def check_scheduler(scheduler: str | None) -> None:
    """A scheduler must be a Dask address: checked before any folder or lock is made."""
    from simulation.experiments.cluster import check_scheduler as check

    if scheduler:
        try:
            check(scheduler)
        except ValueError as exc:
            raise InputError(f"--scheduler: {exc}") from None


def workers_for(opts: Options, note: bool = False) -> int:
    """Worker processes for ``workers`` (0: one per CPU), at most one per CPU here."""
    from simulation.experiments.cluster import local_workers

    n, asked = local_workers(opts.workers, opts.scheduler)
    if note and asked is not None:
        opts.note(
            f"khorasan: note: --workers {asked} is more than the {n} CPU"
            f"{'s' if n != 1 else ''} available; using {n}"
        )
    return n


def check_memory(scenarios: Sequence[Scenario], opts: Options, *, sweep: bool = False) -> None:
    """Refuse a run that needs more memory than the machine has (before anything is made)."""
    from simulation.experiments.cluster import LOCAL_DASK
    from simulation.experiments.resources import check_memory as check

    n_jobs = sum(sc.replicates for sc in scenarios)
    n = max(1, min(workers_for(opts), n_jobs))
    check(scenarios, n, sweep=sweep, remote=bool(opts.scheduler) and opts.scheduler != LOCAL_DASK)


def saved_state(workspaces: Sequence[Any], n_jobs: int) -> str:
    """``3 of 8 replicates are saved in OUT/.NAME.partial`` (closing the workspaces)."""
    saved, where_, open_ = 0, [], False
    for ws in workspaces:
        open_ |= ws.partial.is_dir()
        count = ws.store.count()
        if count:
            saved += count
            where_.append(str(ws.partial))
        ws.close()
    if where_:
        return f"{saved} of {n_jobs} replicates are saved in {', '.join(where_)}"
    if open_:
        return f"none of the {n_jobs} replicates had finished"
    return "what was written so far is kept"


@contextmanager
def saving(workspaces: Sequence[Any], n_jobs: int) -> Iterator[None]:
    """While running or writing: an interrupt or a write error says what is saved.

    A KeyboardInterrupt becomes :class:`RunInterrupted` and an OSError (a
    full disk, say) :class:`SaveError`, each with what is saved; the
    workspaces are closed (unlocked) and keep what they saved.
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        raise RunInterrupted(saved_state(workspaces, n_jobs)) from exc
    except OSError as exc:
        raise SaveError(exc, saved_state(workspaces, n_jobs)) from None


def execute(
    batches: Sequence[Any], workspaces: Sequence[Any], opts: Options, desc: str
) -> tuple[list[Any], dict[str, Any]]:
    """Run every batch's unsaved jobs (saving each); the failures and the timings."""
    from simulation.experiments import execution
    from simulation.experiments.cluster import DaskUnavailable

    n_jobs = sum(len(jobs) for _, jobs in batches)
    n_workers = workers_for(opts, note=True)
    if not opts.scheduler:
        n_workers = max(1, min(n_workers, n_jobs))
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    try:
        failures = execution.run_saved(
            batches,
            n_workers,
            progress=opts.progress,
            desc=desc,
            scheduler=opts.scheduler,
            report=opts.warn,
        )
    except DaskUnavailable as exc:
        for ws in workspaces:
            ws.close()
        raise InputError(str(exc)) from None
    except (KeyboardInterrupt, OSError):  # saving() counts what is saved, then closes
        raise
    except BaseException:  # anything else: release the locks
        for ws in workspaces:
            ws.close()
        raise
    timings = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "simulate_seconds": round(time.perf_counter() - t0, 3),
        "workers": n_workers,
        "scheduler": opts.scheduler or ("serial" if n_workers == 1 else "process"),
        "cpus": os.cpu_count(),
    }
    return failures, timings


def where(timings: dict[str, Any]) -> str:
    """``on 2 workers``, ``on a local Dask cluster of 2 workers`` or ``on Dask at ADDR``."""
    from simulation.experiments.cluster import LOCAL_DASK

    n, scheduler = timings["workers"], timings["scheduler"]
    workers = f"{n} worker{'s' if n != 1 else ''}"
    if scheduler == LOCAL_DASK:
        return f"on a local Dask cluster of {workers}"
    if scheduler not in ("serial", "process"):
        return f"on Dask at {scheduler}"
    return f"on {workers}"


def finish(plan: Any, timings: dict[str, Any], opts: Options, failed: bool) -> Path | None:
    """Write a run directory whose replicates all finished; keep the workspace otherwise."""
    from simulation.experiments.planning import finish_run

    if failed:
        plan.workspace.close()
        return None
    run_dir = finish_run(plan, timings=timings, command=opts.command, force=opts.force)
    reused = f", {plan.reused} saved earlier" if plan.reused else ""
    opts.say(
        f"wrote {run_dir}/  ({len(plan.jobs)} replicates x {plan.scenario.steps} weeks"
        f"{reused}, {timings['simulate_seconds']:.1f} s {where(timings)})"
    )
    if opts.plots:
        from simulation.plots import plot_run

        for png in plot_run(run_dir):
            opts.say(f"  plot {png}")
    return run_dir


def complete_already(run_dir: Path, opts: Options) -> None:
    """``resume`` found ``run_dir`` complete: draw the plots it lacks (killed while plotting)."""
    from simulation.plots import missing_plots, plot_run

    missing = missing_plots(run_dir) if opts.plots else []
    if not missing:
        opts.say(f"{run_dir}/ is already complete (--resume); nothing to run")
        return
    opts.say(f"{run_dir}/ is complete (--resume); drawing its missing plots")
    for png in plot_run(run_dir, missing):
        opts.say(f"  plot {png}")


def run_plans(
    plans: Sequence[Any], opts: Options, desc: str, complete: Callable[[Path], None]
) -> list[Path]:
    """Run the pending plans, write their run directories; ``complete`` for the others.

    Raises :class:`ReplicatesFailed` (after writing the runs that finished)
    if any replicate raised.
    """
    pending = [p for p in plans if p.pending]
    n_jobs = sum(len(p.jobs) for p in pending)
    failures: list[Any] = []
    written: list[Path] = []
    with saving([p.workspace for p in pending], n_jobs):
        for plan in plans:
            if not plan.pending:
                complete(plan.target)
        if pending:
            failures, timings = execute(
                [(p.workspace.store, p.jobs) for p in pending],
                [p.workspace for p in pending],
                opts,
                desc,
            )
            for plan in pending:
                failed = any(f.job.scenario is plan.scenario for f in failures)
                if (run_dir := finish(plan, timings, opts, failed)) is not None:
                    written.append(run_dir)
    if failures:
        raise ReplicatesFailed(failures, n_jobs, [p.workspace.partial for p in pending], written)
    return [plan.target for plan in plans]


def source_of(scenario: ScenarioLike) -> str:
    """How to name a scenario in a message: its file, or its name."""
    if isinstance(scenario, Scenario):
        return str(scenario.source or scenario.name)
    return str(scenario)


def run_many(
    scenarios: Sequence[ScenarioLike],
    *,
    out: str | os.PathLike[str] = "runs",
    replicates: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    set: Sequence[str] = (),
    **options: Any,
) -> list[Path]:
    """Run several scenarios in one go (one pool of workers); their run directories.

    The keywords are those of :func:`run`. Every target is checked before
    anything is written.
    """
    from simulation.experiments.planning import plan_runs
    from simulation.experiments.rundir import run_dir_for

    opts = Options(**options)
    check_scheduler(opts.scheduler)
    extra = header(replicates, seed, steps)
    loaded = [(source_of(s), resolve(s, set, extra)) for s in scenarios]
    seen: dict[Path, str] = {}
    for source, sc in loaded:
        target = run_dir_for(out, sc)
        if target in seen:
            raise InputError(
                f"{source}: scenario.name: {sc.name!r} is also the name of "
                f"{seen[target]}; both would write {target}"
            )
        seen[target] = source
    check_memory([sc for _, sc in loaded], opts)
    plans = plan_runs(
        [sc for _, sc in loaded], out, resume=opts.resume, force=opts.force, report=opts.warn
    )
    pending = [p for p in plans if p.pending]
    desc = pending[0].scenario.name if len(pending) == 1 else "run"
    return run_plans(plans, opts, desc, lambda target: complete_already(target, opts))


def run(
    scenario: ScenarioLike,
    *,
    out: str | os.PathLike[str] = "runs",
    replicates: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    set: Sequence[str] = (),
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    resume: bool = False,
    plots: bool = True,
    progress: bool = False,
    command: Sequence[str] | None = None,
    echo: Echo | None = None,
    warn: Echo | None = None,
) -> Path:
    """Run a scenario's seeded replicates and save them into ``OUT/<name>/``; that folder.

    ``scenario`` is a :class:`Scenario`, a file or a shipped name;
    ``replicates``, ``steps`` and ``seed`` replace the scenario's and ``set``
    are ``NAME=VALUE`` overrides. ``workers=0`` uses one process per CPU;
    ``scheduler`` a Dask cluster. An existing run directory is refused
    unless ``force``; ``resume`` finishes an interrupted run. ``plots``
    draws ``plots/*.png``; ``progress`` shows a bar on stderr; ``echo`` is
    given each line of what was done. Raises ScenarioError, ResultsError,
    InputError, ReplicatesFailed, RunInterrupted or SaveError.
    """
    return run_many(
        [scenario],
        out=out,
        replicates=replicates,
        steps=steps,
        seed=seed,
        set=set,
        workers=workers,
        scheduler=scheduler,
        force=force,
        resume=resume,
        plots=plots,
        progress=progress,
        command=command,
        echo=echo,
        warn=warn,
    )[0]
