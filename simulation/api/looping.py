"""Measure the vicious circle: every link cut on the same seeds, and the loop gain.

``loop(scenario)`` runs the arms of :func:`simulation.experiments.loop.loop_arms`
(intact, each link cut, the pulse with the loop closed and opened), each
replicate saved as it finishes (resumable), and writes a loop directory:
``links.csv``, ``gain.csv``, ``values.csv``, ``loop.png``, ``scenario.toml``
and ``loop.json``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
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
from simulation.scenario.errors import ScenarioError

__all__ = ["LoopResult", "loop"]


@dataclass(frozen=True)
class LoopResult:
    """A loop directory and its numbers: the link effects, the gain, the pulse responses."""

    path: Path
    ran: bool
    effects: Any = None
    gain: Any = None
    responses: Any = None


def _arms(base: Any, source: str, links: Sequence[str] | None, pulse: Any, open_at: str) -> Any:
    """The links and arms, with bad names or pulses as ScenarioError naming the option."""
    from simulation.experiments.loop import LINK_INDEX, check_links, loop_arms

    try:
        chosen = check_links(list(links) if links else list(LINK_INDEX))
    except ValueError as exc:
        raise ScenarioError(source, "--links", str(exc)) from None
    try:
        opened = check_links([open_at])[0]
    except ValueError as exc:
        raise ScenarioError(source, "--open-at", str(exc)) from None
    if opened not in chosen:
        chosen.append(opened)
    if pulse.fighters < 1:
        raise ScenarioError(source, "--pulse-fighters", "must be at least 1")
    try:
        return chosen, opened, loop_arms(base, chosen, pulse, opened)
    except ValueError as exc:
        raise ScenarioError(source, "--pulse-week", str(exc)) from None


def _results(arms: Any, batches: Any, store: Any, chosen: Any, opened: Any, pulse: Any) -> Any:
    """The values table, the link effects, the gain and the responses, from the saved runs."""
    from simulation.experiments.execution import load_saved
    from simulation.experiments.loop import replicate_values
    from simulation.experiments.loop_results import link_effects, loop_gain, values_table

    per_arm = []
    for _, jobs in batches:
        frame = load_saved(store, jobs)
        per_arm.append(
            [
                {
                    "replicate": int(rep),
                    "seed": int(g["seed"].iloc[0]),
                    **replicate_values(g, pulse.week),
                }
                for rep, g in frame.groupby("replicate", sort=True)
            ]
        )
    values = values_table(arms, per_arm)
    gain, responses = loop_gain(values, opened, pulse)
    return values, link_effects(values, chosen), gain, responses


def loop(
    scenario: ScenarioLike,
    *,
    out: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] = "results",
    replicates: int | None = None,
    seed: int | None = None,
    steps: int | None = None,
    set: Sequence[str] = (),
    links: Sequence[str] | None = None,
    open_at: str = "threat_repression",
    pulse_fighters: int | None = None,
    pulse_week: int | None = None,
    **options: Any,
) -> LoopResult:
    """Measure the circle of ``scenario``; the loop directory (default ``ROOT/loop-<name>``).

    Every link of :data:`~simulation.experiments.loop.LINKS` (or those named
    in ``links``) is cut in turn on the same seeds; the loop gain opens the
    loop at ``open_at`` and adds ``pulse_fighters`` (default 500) at ``pulse_week``
    (default a fifth of the run). The other keywords (``workers``,
    ``scheduler``, ``force``, ``resume``, ``plots``, ``progress``,
    ``command``, ``echo``, ``warn``) are those of :func:`~simulation.api.run`.
    """
    from simulation.experiments.jobs import make_jobs
    from simulation.experiments.loop import default_pulse
    from simulation.experiments.loop_results import check_loop_target, loop_is_complete
    from simulation.experiments.rundir import slug
    from simulation.experiments.workspace import Workspace, resume_settings

    opts = Options(**options)
    check_scheduler(opts.scheduler)
    base = resolve(scenario, set, header(replicates, seed, steps))
    source = source_of(scenario)
    pulse = default_pulse(base.steps, pulse_fighters, pulse_week)
    chosen, opened, arms = _arms(base, source, links, pulse, open_at)
    check_memory([a.scenario for a in arms], opts, sweep=True)
    target = Path(out) if out is not None else Path(root) / slug(f"loop-{base.name}")
    settings = {
        "loop.links": {link.name: dict(link.cut) for link in chosen},
        "loop.open_at": opened.name,
        "loop.pulse": {"fighters": pulse.fighters, "week": pulse.week},
        "loop.seeds": [j.seed for j in make_jobs(base)],
    }
    if opts.resume and not opts.force and loop_is_complete(target, base, settings):
        opts.say(f"{target}/ is already complete (--resume); nothing to run")
        return LoopResult(target, False)
    check_loop_target(target, force=opts.force)
    ws = Workspace(target).open(
        resume=opts.resume, force=opts.force, settings=resume_settings(base, settings)
    )
    batches = [(ws.store, make_jobs(a.scenario, point=(("arm", a.name),))) for a in arms]
    result = _write(target, base, arms, batches, ws, opts, chosen, opened, pulse, settings)
    return result


def _write(
    target: Path, base: Any, arms: Any, batches: Any, ws: Any, opts: Options,
    chosen: Any, opened: Any, pulse: Any, settings: dict[str, Any],
) -> LoopResult:  # fmt: skip
    """Run the unsaved replicates, then write the loop directory."""
    from simulation.experiments.loop_results import loop_files, publish_loop

    n_jobs = sum(len(j) for _, j in batches)
    with saving([ws], n_jobs):
        failures, timings = execute(batches, [ws], opts, f"loop {base.name}")
        if failures:
            ws.close()
            raise ReplicatesFailed(failures, n_jobs, [ws.partial])
        try:
            values, effects, gain, responses = _results(
                arms, batches, ws.store, chosen, opened, pulse
            )
            figure = None
            if opts.plots:
                from simulation.plots.loop import loop_figure

                figure = loop_figure(base.name, chosen, effects, gain, base.steps)
            files = loop_files(
                base, settings, values, effects, gain, responses,
                figure=figure, timings=timings, command=opts.command,
            )  # fmt: skip
            publish_loop(target, files, force=opts.force)
        except BaseException:
            ws.close()  # the saved replicates stay for resume; the lock goes
            raise
        ws.remove()
    opts.say(
        f"wrote {target}/  ({len(arms)} arms x {len(batches[0][1])} replicates x "
        f"{base.steps} weeks, {timings['simulate_seconds']:.1f} s {where(timings)})"
    )
    return LoopResult(target, True, effects, gain, responses)
