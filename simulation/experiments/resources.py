"""How much memory a run needs, estimated from its scenarios before it starts.

:func:`estimate_memory` adds up what the largest items of a replicate cost
(grid cells, civilians, enforcers, ISIS-K cells, attacks, recorded weeks),
times the replicates that run at once, plus what the main process holds
while it writes the results. :func:`check_memory` refuses, with one line
naming the file and the key that costs most, a run that needs more than the
machine has available (``MemAvailable`` of ``/proc/meminfo``).

The per-item costs below were measured on this code (Linux, CPython 3.12,
numpy 2): peak RSS (``ru_maxrss``) of a fresh process running one replicate
(:func:`simulation.experiments.jobs.run_job`, 2 steps) after a warm-up replicate,
minus the RSS after the warm-up, varying one size at a time:

- empty worlds of 1000x1000 and 2000x2000: 46 and 182 MB, 45 bytes a cell;
- density 0.7 on the same worlds: 113 bytes a civilian more;
- enforcer densities 0.3 and 0.6 on 1000x1000: 483 bytes an enforcer;
- 100,000 and 400,000 ISIS-K cells (1 fighter each) on 200x200: about 600
  bytes a cell, plus 16 bytes per cell of its largest window (hunt,
  recruitment or collateral radius: 16 bytes x 169 cells at radius 6);
- 100,000 and 400,000 plots a week (attack_rate 1000, no surveillance):
  250 bytes a successful attack plus 16 bytes per cell of its shock window;
- civilian vision 25 to 50: the compiled step's arrest-probability table,
  8 x (window cells + 1)^2 bytes;
- 20,000 weeks on 200x200: 2.5 kB a recorded week;
- writing a run directory (load, stack, CSV) of 100 x 1000 and 400 x 1000
  replicate-weeks: about 1 kB a row; a sweep holds every point's rows at
  about 300 bytes a row;
- a worker process with khorasan imported and its kernel compiled: 225 MB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simulation.scenario.core import Scenario

__all__ = [
    "MemoryEstimate",
    "available_memory",
    "check_memory",
    "estimate_memory",
    "replicate_bytes",
]

# Bytes per item, measured as described in the module docstring.
PROCESS_BYTES = 225 * 2**20  # a worker process: interpreter, libraries, compiled kernel
CELL_BYTES = 45  # per grid cell: layers, index tables, work arrays
CIVILIAN_BYTES = 113  # per civilian: state arrays and the step's temporaries
ENFORCER_BYTES = 490  # per enforcer unit: slot arrays and its Mesa agent
ISISK_CELL_BYTES = 600  # per ISIS-K cell: slot arrays, its Mesa agent, bookkeeping
WINDOW_BYTES = 16  # per ISIS-K cell or attack and cell of its window (int64 ids, copies)
ATTACK_BYTES = 250  # per successful attack in a week
STEP_BYTES = 2_500  # per recorded week of a replicate (a dict of metrics, then a frame)
RUN_ROW_BYTES = 1_000  # per replicate-week while a run directory is written
SWEEP_ROW_BYTES = 300  # per replicate-week of every sweep point, held until the end


@dataclass
class MemoryEstimate:
    """Bytes a run needs (beyond the running process) and what they are for.

    ``parts`` maps ``(file, key)`` to bytes, so that the largest one names
    what to change; ``workers`` replicates run at once.
    """

    total: int = 0
    workers: int = 1
    parts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, file: str, key: str, nbytes: float) -> None:
        nbytes = int(max(0.0, nbytes))
        self.parts[(file, key)] = self.parts.get((file, key), 0) + nbytes
        self.total += nbytes

    @property
    def dominant(self) -> tuple[str, str]:
        """``(file, key)`` of the largest part."""
        return max(self.parts.items(), key=lambda kv: kv[1])[0]


def _window(radius: int) -> int:
    return (2 * radius + 1) ** 2


def _source(sc: Scenario) -> str:
    return str(sc.source) if sc.source is not None else sc.name


def _event_key(sc: Scenario, k: int) -> tuple[str, str]:
    """Where event ``k`` (in step order) comes from: ``(file, events[i].add_isisk_fighters)``.

    The file's own index is found by reading it again (only for messages);
    events inherited through ``extends`` keep their position in step order.
    """
    import tomllib

    ev = sc.events[k]
    file = _source(sc)
    try:
        raw = tomllib.loads(Path(sc.source).read_text(encoding="utf-8")) if sc.source else {}
        for i, entry in enumerate(raw.get("events") or []):
            if (
                isinstance(entry, dict)
                and entry.get("label") == ev.label
                and entry.get("add_isisk_fighters") == ev.add_isisk_fighters
            ):
                return file, f"events[{i}].add_isisk_fighters"
    except (OSError, ValueError, AttributeError):
        pass
    return file, f"events[{k}].add_isisk_fighters"


def replicate_bytes(sc: Scenario, into: MemoryEstimate | None = None, times: int = 1) -> int:
    """Peak bytes of one replicate of ``sc``; with ``into``, added there ``times`` over."""
    from simulation.model.space import offsets

    p = sc.params
    est = MemoryEstimate()
    file = _source(sc)
    w, h = int(p["world.width"]), int(p["world.height"])
    cells = w * h
    est.add(file, "world.width" if w >= h else "world.height", cells * CELL_BYTES)
    civilians = min(cells, round(float(p["civilians.density"]) * cells))
    est.add(file, "civilians.density", civilians * CIVILIAN_BYTES)
    most = float(p["taliban.enforcer_density"]) * (1 + float(p["repression.enforcement_gain"]))
    enforcers = min(cells - civilians, round(most * cells))
    est.add(file, "taliban.enforcer_density", enforcers * ENFORCER_BYTES)
    n_off = len(offsets(int(p["civilians.vision"]), p["world.neighbourhood"])[0]) + 1
    est.add(file, "civilians.vision", 8 * n_off * n_off)

    # ISIS-K cells: the initial ones and those added by events (growth is not foreseen).
    size = max(1, int(p["isisk.fighters_per_cell"]))
    per_cell = ISISK_CELL_BYTES + WINDOW_BYTES * _window(
        max(
            int(p["taliban.hunt_radius"]),
            int(p["isisk.recruit_radius"]),
            int(p["taliban.collateral_radius"]),
        )
    )
    fighters = int(p["isisk.initial_fighters"])
    est.add(file, "isisk.initial_fighters", math.ceil(fighters / size) * per_cell)
    for k, ev in enumerate(sc.events):
        if ev.add_isisk_fighters:
            fighters += ev.add_isisk_fighters
            where, key = _event_key(sc, k)
            est.add(where, key, math.ceil(ev.add_isisk_fighters / size) * per_cell)
    # Attacks in the busiest week: plots at the attack rate, those that get through.
    us = (
        min(float(p["surveillance.us_level"]), float(p["surveillance.us_level_after"]))
        if int(p["surveillance.withdrawal_week"]) >= 0
        else float(p["surveillance.us_level"])
    )
    through = (1 - us) * (1 - float(p["surveillance.taliban_intel"]))
    plots = float(p["isisk.attack_rate"]) * fighters / 1000
    est.add(
        file,
        "isisk.attack_rate",
        plots
        * (
            32 + through * (ATTACK_BYTES + WINDOW_BYTES * _window(int(p["civilians.shock_radius"])))
        ),
    )
    est.add(file, "scenario.steps", (sc.steps + 1) * STEP_BYTES)
    if into is not None:
        for (f, key), nbytes in est.parts.items():
            into.add(f, key, nbytes * times)
    return est.total


def estimate_memory(
    scenarios: Sequence[Scenario], workers: int, *, sweep: bool = False, remote: bool = False
) -> MemoryEstimate:
    """Bytes that running ``scenarios`` on ``workers`` needs, beyond this process.

    ``workers`` replicates run at once (1: in this process; more: each in
    a worker process of its own), each as large as the largest scenario's.
    The results are then written by this process: one scenario at a time
    for ``run`` and ``compare``, every point at once for a sweep
    (``sweep``). With ``remote`` (a Dask scheduler elsewhere) the replicates
    run on other machines and only the results count.
    """
    est = MemoryEstimate(workers=max(1, workers))
    if not scenarios:
        return est
    if not remote:
        biggest = max(scenarios, key=replicate_bytes)
        replicate_bytes(biggest, est, est.workers)
        if est.workers > 1:
            est.add(_source(biggest), "--workers", est.workers * PROCESS_BYTES)
    if sweep:
        rows = sum(sc.replicates * (sc.steps + 1) for sc in scenarios)
        est.add(_source(scenarios[0]), "scenario.replicates", rows * SWEEP_ROW_BYTES)
    biggest_run = max(scenarios, key=lambda sc: sc.replicates * (sc.steps + 1))
    est.add(
        _source(biggest_run),
        "scenario.replicates",
        biggest_run.replicates * (biggest_run.steps + 1) * RUN_ROW_BYTES,
    )
    return est


def available_memory() -> int | None:
    """Bytes of memory available to new allocations: MemAvailable, within a cgroup limit."""
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # a container's memory limit (cgroup v2)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            avail = min(avail, max(0, int(limit) - int(used)))
    except (OSError, ValueError):
        pass
    return avail


def _gib(nbytes: float) -> str:
    g = nbytes / 2**30
    return (
        f"{g:.0f} GiB" if g >= 10 else f"{g:.1f} GiB" if g >= 0.1 else f"{nbytes / 2**20:.0f} MiB"
    )


def check_memory(
    scenarios: Sequence[Scenario],
    workers: int,
    *,
    sweep: bool = False,
    remote: bool = False,
    available: int | None = None,
) -> MemoryEstimate:
    """Refuse (ScenarioError, one line) a run that needs more memory than is available."""
    from simulation.scenario.errors import ScenarioError

    est = estimate_memory(scenarios, workers, sweep=sweep, remote=remote)
    have = available_memory() if available is None else available
    if have is None or est.total <= have:
        return est
    file, key = est.dominant
    hint = ""
    if est.workers > 1:
        one = estimate_memory(scenarios, 1, sweep=sweep, remote=remote).total
        if one <= have:
            hint = f" (with --workers 1 it needs about {_gib(one)})"
    reason = (
        f"this run needs about {_gib(est.total)} of memory, the machine has "
        f"{_gib(have)} available{hint}"
    )
    raise ScenarioError(file, key, reason)
