"""Part 5: the vicious circle. The loop diagnostic on ``baseline`` and ``repression_fixed``.

Every link of :data:`simulation.experiments.loop.LINKS` is cut in turn on the
same 10 seeds as the intact scenario (260 weeks), and the loop gain is
measured by a pulse of fighters with the loop closed and opened at the
thermostat (:mod:`simulation.experiments.loop_results`). ``repression_fixed``
has the thermostat off, so opening it there changes nothing and its gain is 0
by construction: a check of the estimator on the model itself.

Each scenario's per-replicate quantities are cached in ``docs/data/`` (keyed
by the code fingerprint, the scenario files, the seeds, the links' cuts and
the pulse). To make this part alone (the page goes to
``docs/validation_partial.md``)::

    python -m simulation.validation --parts loop --workers 2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation import load_scenario
from simulation.experiments.execution import execute
from simulation.experiments.jobs import Job, run_job
from simulation.experiments.loop import (
    GAIN_LINK,
    INTACT,
    LINK_INDEX,
    LINKS,
    QUANTITIES,
    Arm,
    default_pulse,
    loop_arms,
    replicate_values,
)
from simulation.experiments.loop_results import (
    effect_row,
    link_effects,
    loop_gain,
    paired_column,
    values_table,
)
from simulation.validation.cache import cache_key, cached
from simulation.validation.paths import DATA, SCEN

#: The scenarios of this part, each with the files it is loaded from.
SCENARIOS: dict[str, tuple[str, ...]] = {
    "baseline": ("baseline.toml",),
    "repression_fixed": ("repression_fixed.toml", "baseline.toml"),
}


@dataclass(frozen=True)
class ArmValues:
    """A picklable runner: one replicate's quantities (and its seed)."""

    pulse_week: int

    def __call__(self, job: Job) -> dict[str, float]:
        """Run ``job`` and keep one number per quantity."""
        values = replicate_values(run_job(job), self.pulse_week)
        return {"replicate": job.replicate, "seed": job.seed, **values}


def _settings(seeds: Sequence[int], steps: int) -> dict[str, Any]:
    pulse = default_pulse(steps)
    return {
        "seeds": list(seeds),
        "steps": steps,
        "links": {link.name: dict(link.cut) for link in LINKS},
        "open_at": GAIN_LINK,
        "pulse": [pulse.fighters, pulse.week],
    }


def loop_runs(
    name: str, seeds: Sequence[int], steps: int, workers: int, allow_stale: bool
) -> tuple[list[Arm], list[list[dict[str, float]]]]:
    """The arms of ``name`` and each arm's replicates' quantities (cached)."""
    files = [SCEN / f for f in SCENARIOS[name]]
    sc = load_scenario(files[0], {"scenario.steps": steps})
    pulse = default_pulse(steps)
    arms = loop_arms(sc, LINKS, pulse, LINK_INDEX[GAIN_LINK])
    key = cache_key(_settings(seeds, steps), files)

    def compute() -> dict[str, Any]:
        jobs = [Job(arm.scenario, int(s), i) for arm in arms for i, s in enumerate(seeds)]
        res = execute(jobs, workers, progress=True, fn=ArmValues(pulse.week), desc=f"loop ({name})")
        columns = list(res[0])
        table = np.array([[r[c] for c in columns] for r in res], dtype=float)
        return {"columns": np.array(columns), "values": table}

    data = cached(DATA / f"runs_loop_{name}_{len(seeds)}_{steps}.npz", key, allow_stale, compute)
    columns = [str(c) for c in data["columns"]]
    rows = [dict(zip(columns, map(float, r), strict=True)) for r in data["values"]]
    for row in rows:
        row["replicate"], row["seed"] = int(row["replicate"]), int(row["seed"])
    n = len(seeds)
    return arms, [rows[k * n : (k + 1) * n] for k in range(len(arms))]


def contrast(baseline: Any, fixed: Any) -> list[dict[str, Any]]:
    """``repression_fixed`` against ``baseline``, intact arms paired by seed, per quantity."""
    seeds = sorted(set(baseline.loc[baseline["arm"] == INTACT, "seed"]))
    rows = []
    for name, q in QUANTITIES.items():
        base = paired_column(baseline, INTACT, name, seeds)
        other = paired_column(fixed, INTACT, name, seeds)
        rows.append({"quantity": name, "label": q.label, **effect_row(base, other)})
    return rows


def loop_part(quick: bool, workers: int, allow_stale: bool) -> dict[str, Any]:
    """Part 5's numbers: per scenario the link effects, the loop gain and its responses."""
    seeds = list(range(1, 5 if quick else 11))
    steps = 52 if quick else 260
    out: dict[str, Any] = {"seeds": seeds, "steps": steps}
    tables = {}
    for name in SCENARIOS:
        arms, values = loop_runs(name, seeds, steps, workers, allow_stale)
        table = tables[name] = values_table(arms, values)
        gain, responses = loop_gain(table, LINK_INDEX[GAIN_LINK], default_pulse(steps))
        out[name] = {
            "name": name,
            "steps": steps,
            "effects": link_effects(table, LINKS),
            "gain": gain,
            "responses": responses,
        }
    out["contrast"] = contrast(tables["baseline"], tables["repression_fixed"])
    return out
