"""Compare scenarios or saved runs: run the scenarios (common seeds), then write the comparison."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.api.errors import InputError
from simulation.api.loading import ScenarioLike, resolve
from simulation.api.running import (
    Options,
    check_memory,
    check_scheduler,
    run_plans,
    saving,
    source_of,
)
from simulation.scenario.core import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from simulation.experiments.loading import RunData

__all__ = ["Comparison", "compare", "unique_labels"]


@dataclass(frozen=True)
class Comparison:
    """A written comparison: its folder, table (as comparison.csv), labels and files."""

    out: Path
    table: pd.DataFrame
    labels: list[str]
    runs: list[Path]
    files: list[Path]


def unique_labels(names: Sequence[str]) -> list[str]:
    """Names, with a number added to repeats (``baseline``, ``baseline (2)``)."""
    out: list[str] = []
    for name in names:
        label, n = name, 1
        while label in out:
            n += 1
            label = f"{name} ({n})"
        out.append(label)
    return out


def _is_run_dir(item: ScenarioLike) -> bool:
    return not isinstance(item, Scenario) and Path(item).is_dir()


def _inputs(
    inputs: Sequence[ScenarioLike],
    set_: Sequence[str],
    replicates: int | None,
    seed: int | None,
    steps: int | None,
) -> tuple[dict[int, RunData], dict[int, Scenario]]:
    """The saved runs and the scenarios to run (with the first input's seeds), by position."""
    from simulation.experiments.compare import Extent, check_comparable
    from simulation.experiments.loading import load_run

    saved = {k: load_run(p) for k, p in enumerate(inputs) if _is_run_dir(p)}
    # common random numbers: every scenario runs the first input's seeds
    extra: dict[str, Any] = {} if steps is None else {"scenario.steps": steps}
    if 0 in saved:
        first_seed = int(saved[0].manifest["scenario"]["seed"])
        first_reps = saved[0].replicates
    else:
        first = resolve(inputs[0], set_, extra)
        first_seed, first_reps = first.seed, first.replicates
    extra["scenario.seed"] = seed if seed is not None else first_seed
    extra["scenario.replicates"] = replicates if replicates is not None else first_reps
    files = {k: resolve(p, set_, extra) for k, p in enumerate(inputs) if k not in saved}
    extents = [
        Extent(source_of(p), saved[k].start_date, int(saved[k].manifest["scenario"]["steps"]))
        if k in saved
        else Extent(source_of(p), files[k].start_date, files[k].steps)
        for k, p in enumerate(inputs)
    ]
    try:
        check_comparable(extents)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return saved, files


def _check_targets(
    out: Path, inputs: Sequence[ScenarioLike], saved: dict[int, RunData], files: dict[int, Scenario]
) -> None:
    """Each scenario's run directory under ``out`` must be its own, and no compared run."""
    from simulation.experiments.compare import COMPARISON_FILES
    from simulation.experiments.rundir import run_dir_for

    targets: dict[Path, str] = {}
    compared = {Path(inputs[k]).resolve() for k in saved}  # type: ignore[arg-type]
    for k, sc in files.items():
        target, source = run_dir_for(out, sc), source_of(inputs[k])
        if target.name in COMPARISON_FILES:
            raise InputError(
                f"{source}: scenario.name: {sc.name!r} would write its run "
                f"directory {target}, where the comparison goes; rename it"
            )
        if target in targets:
            raise InputError(
                f"{source}: scenario.name: {sc.name!r} is also the name of "
                f"{targets[target]}; both would write {target}"
            )
        if target.resolve() in compared:
            raise InputError(
                f"{source}: would write {target}, which is also compared "
                "as a run directory; use --out for another place"
            )
        targets[target] = source


def _metric_specs(metrics: str | Sequence[str] | None) -> Any:
    """The plotted metrics, from ``"a,b"`` or a list; a bad name is an :class:`InputError`."""
    from simulation.experiments.compare import parse_metrics

    try:
        return parse_metrics(
            metrics if metrics is None or isinstance(metrics, str) else ",".join(metrics)
        )
    except ValueError as exc:
        raise InputError(f"--metrics: {exc}") from None


def compare(
    inputs: Sequence[ScenarioLike],
    *,
    out: str | os.PathLike[str] = "runs/comparison",
    metrics: str | Sequence[str] | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    set: Sequence[str] = (),
    **options: Any,
) -> Comparison:
    """Compare two or more scenarios or saved run directories; the first is the reference.

    Scenarios (loaded, files or shipped names) are run first into
    ``OUT/<name>/`` with the first input's seeds (or ``seed``,
    ``replicates``), so replicates pair by seed. Writes comparison.csv and
    comparison.json (and, with ``plots``, comparison.png and
    difference.png) into ``out``. ``metrics``: the plotted metrics
    (``"cum_attack_deaths,arrests"`` or a list). The other keywords
    (``workers``, ``scheduler``, ``force``, ``resume``, ``plots``,
    ``progress``, ``command``, ``echo``, ``warn``) are those of
    :func:`~simulation.api.run`.
    """
    from simulation.experiments.compare import check_comparison_out
    from simulation.experiments.loading import load_run
    from simulation.experiments.planning import plan_runs

    opts, out = Options(**options), Path(out)
    check_scheduler(opts.scheduler)
    if len(inputs) < 2:
        raise InputError("compare: give at least two scenario files or run directories")
    specs = _metric_specs(metrics)
    saved, files = _inputs(inputs, set, replicates, seed, steps)
    check_comparison_out(
        out, [run.path for run in saved.values()], force=opts.force, resume=opts.resume
    )
    _check_targets(out, inputs, saved, files)
    check_memory(list(files.values()), opts)
    plans = plan_runs(
        list(files.values()), out, resume=opts.resume, force=opts.force, report=opts.warn
    )
    for plan in plans:
        if not plan.pending:
            opts.say(f"{plan.target}/ is already complete (--resume); reusing it")
    run_plans(plans, dataclasses.replace(opts, plots=False), "compare", lambda target: None)
    pending = [p for p in plans if p.pending]
    with saving([p.workspace for p in pending], sum(len(p.jobs) for p in pending)):
        by_scenario = iter(plans)
        runs = [
            saved[k] if k in saved else load_run(next(by_scenario).target)
            for k in range(len(inputs))
        ]
        return _write(runs, specs, out, opts)


def _write(runs: list[RunData], specs: Any, out: Path, opts: Options) -> Comparison:
    """The comparison of saved runs written into ``out`` (with figures if ``opts.plots``)."""
    from simulation.experiments.compare import write_comparison

    labels = unique_labels([r.name for r in runs])
    figures = None
    if opts.plots:
        from simulation.plots import comparison_figures

        figures = comparison_figures(runs, labels, specs)
    table, paths = write_comparison(
        runs, labels, specs, out, figures=figures, force=opts.force, resume=opts.resume
    )
    return Comparison(out, table, labels, [r.path for r in runs], paths)
