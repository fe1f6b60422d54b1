"""Sweep one or two parameters over a grid: every point runs the same seeds, saved as it goes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulation.api.errors import ReplicatesFailed
from simulation.api.loading import ScenarioLike, header, resolve
from simulation.api.running import (
    Options,
    check_memory,
    check_scheduler,
    execute,
    saving,
    source_of,
    where,
)
from simulation.scenario import params as ptable
from simulation.scenario.errors import ScenarioError

__all__ = ["parse_axes", "run_sweep", "sweep"]


def parse_axes(source: str, axes: Sequence[str]) -> list[Any]:
    """``NAME=START:STOP:NUM`` or ``NAME=A,B,...`` (once or twice) as sweep axes.

    Raises ScenarioError naming ``source`` and ``--param``.
    """
    from simulation.experiments.sweep import parse_axis

    if isinstance(axes, str):
        axes = [axes]
    if not 1 <= len(axes) <= 2:
        raise ScenarioError(source, "--param", "give one or two parameters to sweep")
    parsed = []
    for text in axes:
        name = text.partition("=")[0].strip()
        try:
            parsed.append(parse_axis(text))
        except (ValueError, ptable.UnknownParameter) as exc:
            raise ScenarioError(source, f"--param {name}", str(exc)) from None
    if len({a.name for a in parsed}) != len(parsed):
        raise ScenarioError(source, "--param", f"{parsed[0].name} is given twice")
    return parsed


def _write(
    target: Path,
    base: Any,
    axes: Sequence[Any],
    points: Sequence[Any],
    batches: Sequence[Any],
    seeds: Sequence[int],
    ws: Any,
    opts: Options,
) -> dict[str, Any]:
    """Run the grid's unsaved replicates, then write the sweep directory; the timings."""
    from simulation.experiments.execution import load_saved
    from simulation.experiments.rundir import publish_dir
    from simulation.experiments.sweep import sweep_files, sweep_table

    n_jobs = sum(len(j) for _, j in batches)
    with saving([ws], n_jobs):
        failures, timings = execute(batches, [ws], opts, "sweep")
        if failures:
            ws.close()
            raise ReplicatesFailed(failures, n_jobs, [ws.partial])
        try:
            frames = [load_saved(ws.store, jobs) for _, jobs in batches]
            table = sweep_table(points, frames)
            figure = None
            if opts.plots:
                from simulation.plots import sweep_figure

                figure = sweep_figure(base, axes, table)
            files = sweep_files(
                base, axes, table, seeds=seeds, figure=figure, timings=timings, command=opts.command
            )
            publish_dir(target, files, force=opts.force)
        except BaseException:
            ws.close()  # the saved replicates stay for resume; the lock goes
            raise
        ws.remove()
    return timings


def sweep(
    scenario: ScenarioLike,
    axes: Sequence[str],
    *,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] = "runs",
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    set: Sequence[str] = (),
    **options: Any,
) -> Path:
    """Sweep one or two parameters over a grid; the sweep directory.

    ``axes`` are ``NAME=START:STOP:NUM`` (evenly spaced) or ``NAME=A,B,...``
    (listed values). Every point runs the same seeds. Writes sweep.csv,
    summary.csv, sweep.json, scenario.toml (and sweep.png with ``plots``)
    into ``out`` (default ``ROOT/sweep-<name>-<parameters>``). The other
    keywords (``workers``, ``scheduler``, ``force``, ``resume``, ``plots``,
    ``progress``, ``command``, ``echo``, ``warn``) are those of
    :func:`~simulation.api.run`.
    """
    return run_sweep(
        scenario,
        axes,
        out=out,
        root=root,
        replicates=replicates,
        seed=seed,
        steps=steps,
        set=set,
        **options,
    )[0]


def run_sweep(
    scenario: ScenarioLike,
    axes: Sequence[str],
    *,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] = "runs",
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    set: Sequence[str] = (),
    **options: Any,
) -> tuple[Path, bool]:
    """:func:`sweep`, and whether it ran (False: ``resume`` found it complete)."""
    from simulation.experiments.jobs import make_jobs
    from simulation.experiments.rundir import prepare_target, slug
    from simulation.experiments.sweep import axes_record, sweep_is_complete, sweep_points
    from simulation.experiments.workspace import Workspace, resume_settings

    opts = Options(**options)
    check_scheduler(opts.scheduler)
    extra = header(replicates, seed, steps)
    base = resolve(scenario, set, extra)
    source = source_of(scenario)
    grid = parse_axes(source, axes)
    try:
        points = sweep_points(grid)
    except ValueError as exc:
        raise ScenarioError(source, "--param", str(exc)) from None
    scenarios = [resolve(scenario, set, {**extra, **dict(point)}) for point in points]
    check_memory(scenarios, opts, sweep=True)
    target = (
        Path(out)
        if out is not None
        else Path(root) / slug("-".join(["sweep", base.name, *(a.name for a in grid)]))
    )
    seeds = [j.seed for j in make_jobs(base)]
    complete = opts.resume and sweep_is_complete(target, base, grid, seeds)
    if not prepare_target(target, resume=opts.resume, force=opts.force, complete=complete):
        opts.say(f"{target}/ is already complete (--resume); nothing to run")
        return target, False
    settings = resume_settings(base, {"sweep.axes": axes_record(grid)})
    ws = Workspace(target).open(resume=opts.resume, force=opts.force, settings=settings)
    batches = [
        (ws.store, make_jobs(sc, point=point)) for sc, point in zip(scenarios, points, strict=True)
    ]
    timings = _write(target, base, grid, points, batches, seeds, ws, opts)
    opts.say(
        f"wrote {target}/  ({len(points)} points x {len(seeds)} replicates x "
        f"{base.steps} weeks, {timings['simulate_seconds']:.1f} s {where(timings)})"
    )
    return target, True
