"""Performance benchmarks of khorasan, in one run.

1. **Epstein side by side**: Mesa 3.5's bundled ``epstein_civil_violence``
   example (timed with :func:`mesa_epstein.run_mesa_epstein`) against our
   ``scenarios/epstein_mesa_reference.toml`` on the same worlds, interleaved,
   timing stepping only (not initialisation). Mesa's first step builds its
   neighbourhood caches; it is timed on its own within the same run, and
   Mesa's rate *without* it ("steady") is the one compared, so the ratio does
   not profit from it; the rate with it is printed too. Our model gets one untimed warm-up step.
2. **Baseline scaling**: ``scenarios/baseline.toml`` on growing worlds up to
   about a million civilians, each size in a fresh process (peak RSS is per
   process): initialisation time (with Mesa agent views, as users get it,
   and without them), steps per second and peak RSS.
3. **Ensemble**: 100 replicates x 260 weeks of ``baseline.toml`` at its
   default size on 2 worker processes, wall time.

Tables go to stdout and, unless ``--no-write``, into ``benchmarks/RESULTS.md``
between the markers (text outside them is kept). ``--quick`` runs tiny sizes
for the smoke test. Run from the repository root::

    /work/venv/bin/python benchmarks/bench.py            # full (several minutes)
    /work/venv/bin/python benchmarks/bench.py --quick --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
for _p in (str(ROOT), str(ROOT / "benchmarks")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

#: Targets of the performance issue.
TARGET_RATIO = {100: 50.0, 200: 100.0}
TARGET_STEPS_PER_S = 2.0
TARGET_RSS_MIB = 2048.0
TARGET_INIT_S = 10.0
TARGET_ENSEMBLE_S = 60.0
MILLION = 900_000  # worlds with at least this many civilians count as "a million"


# ----------------------------------------------------------------- machine
def machine() -> dict[str, Any]:
    """Machine, software and load, for the record."""
    info: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "nproc": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
    }
    try:
        cpu = Path("/proc/cpuinfo").read_text().splitlines()
        info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in cpu if ln.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()
        kib = int(next(ln.split()[1] for ln in mem if ln.startswith("MemTotal")))
        info["ram_gib"] = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        info["ram_gib"] = None
    try:
        import mesa
        import numpy as np

        info["numpy"], info["mesa"] = np.__version__, mesa.__version__
    except ImportError:  # pragma: no cover
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    info["commit"] = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "simulation", "benchmarks")
    info["dirty"] = bool(dirty)
    return info


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------- 1. Epstein vs Mesa
def mesa_rates(width: int, seed: int, steps: int) -> dict[str, float]:
    """Mesa's agent-steps per second with and without its first step."""
    from mesa_epstein import run_mesa_epstein

    run = run_mesa_epstein(width, width, seed, steps)
    n = run["n_citizens"] + run["n_cops"]
    total_s, first_s = run["step_seconds"], run["first_step_seconds"]
    with_first = n * steps / total_s
    # The first step and the rest timed in the same run: the rest is never negative.
    steady = n * (steps - 1) / (total_s - first_s) if steps > 1 else with_first
    return {"agents": n, "with_first": with_first, "steady": steady, "first_step_s": first_s}


def our_rate(width: int, seed: int, steps: int) -> dict[str, float]:
    """Our agent-steps per second on ``epstein_mesa_reference`` (data collection is always on)."""
    from simulation import load_scenario
    from simulation.model import ConflictModel

    sc = load_scenario(
        SCENARIOS / "epstein_mesa_reference.toml",
        overrides={"world.width": width, "world.height": width},
    )
    model = ConflictModel(sc, rng=seed)
    model.step()  # warm-up (not timed)
    n = model.population.n_civilians + model.population.n_enforcers
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    dt_s = time.perf_counter() - t0
    return {"agents": n, "rate": n * steps / dt_s, "ms_per_step": dt_s / steps * 1000}


def bench_epstein(
    sizes: list[int],
    our_steps: dict[int, int],
    mesa_steps: dict[int, int],
    repeats: int,
    skip_mesa: bool,
) -> list[dict[str, Any]]:
    """Interleaved timings of both models per size; medians over ``repeats`` seeds."""
    rows = []
    for w in sizes:
        mesa_runs, our_runs = [], []
        for rep in range(repeats):
            seed = rep + 1
            if not skip_mesa:
                mesa_runs.append(mesa_rates(w, seed, mesa_steps[w]))
            our_runs.append(our_rate(w, seed, our_steps[w]))
            m = mesa_runs[-1] if mesa_runs else None
            print(
                f"  {w}x{w} seed {seed}: ours {our_runs[-1]['rate']:,.0f} agent-steps/s"
                + (
                    f", Mesa {m['steady']:,.0f} (with first step {m['with_first']:,.0f})"
                    if m
                    else ""
                ),
                flush=True,
            )
        row: dict[str, Any] = {
            "size": w,
            "our_steps": our_steps[w],
            "repeats": repeats,
            "our_agents": statistics.median(r["agents"] for r in our_runs),
            "ours": statistics.median(r["rate"] for r in our_runs),
            "our_ms": statistics.median(r["ms_per_step"] for r in our_runs),
        }
        if mesa_runs:
            row.update(
                {
                    "mesa_steps": mesa_steps[w],
                    "mesa_agents": statistics.median(r["agents"] for r in mesa_runs),
                    "mesa": statistics.median(r["steady"] for r in mesa_runs),
                    "mesa_with_first": statistics.median(r["with_first"] for r in mesa_runs),
                    "mesa_first_s": statistics.median(r["first_step_s"] for r in mesa_runs),
                }
            )
            row["ratio"] = row["ours"] / row["mesa"]
            row["ratio_with_first"] = row["ours"] / row["mesa_with_first"]
        rows.append(row)
    return rows


# ----------------------------------------------------------- 2. scaling
def scaling_child(width: int, steps: int) -> dict[str, Any]:
    """One world size, measured in this (fresh) process."""
    import gc

    from simulation import load_scenario
    from simulation.model import ConflictModel

    sc = load_scenario(
        SCENARIOS / "baseline.toml", overrides={"world.width": width, "world.height": width}
    )
    t0 = time.perf_counter()
    model = ConflictModel(sc, rng=1)  # with Mesa agent views, as users get it
    init_s = time.perf_counter() - t0
    model.step()  # warm-up (not timed)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.step()
    step_s = (time.perf_counter() - t0) / steps
    out = {
        "size": width,
        "steps": steps,
        "civilians": model.population.n_civilians,
        "agents": len(model.agents),
        "init_s": init_s,
        "step_s": step_s,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    del model
    gc.collect()
    t0 = time.perf_counter()
    ConflictModel(sc, rng=1, make_views=False)
    out["init_no_views_s"] = time.perf_counter() - t0
    return out


def bench_scaling(sizes: list[int], steps: dict[int, int]) -> list[dict[str, Any]]:
    """Each size in a fresh subprocess (RSS only grows within a process)."""
    rows = []
    for w in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--_scaling-child", str(w), str(steps[w])],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scaling child {w} failed:\n{proc.stderr}")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"  {w}x{w}: {row['civilians']:,} civilians, init {row['init_s']:.2f} s, "
            f"{1 / row['step_s']:.2f} steps/s, peak RSS {row['rss_mib']:.0f} MiB",
            flush=True,
        )
        rows.append(row)
    return rows


# ----------------------------------------------------------- 3. ensemble
def bench_ensemble(replicates: int, workers: int, quick: bool) -> dict[str, Any]:
    """Wall time of ``run_ensemble`` on baseline.toml (CPU time of the workers too)."""
    from simulation import load_scenario
    from simulation.experiments.execution import run_ensemble

    sc = load_scenario(
        SCENARIOS / "baseline.toml",
        overrides={"world.width": 20, "world.height": 20} if quick else None,
    )
    if quick:
        sc = dataclasses.replace(sc, steps=3)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    df = run_ensemble(sc, replicates=replicates, seed=1, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert df["replicate"].nunique() == replicates
    out = {
        "replicates": replicates,
        "steps": sc.steps,
        "workers": workers,
        "world": f"{sc.params['world.width']}x{sc.params['world.height']}",
        "wall_s": wall,
        "worker_cpu_s": cpu,
    }
    print(
        f"  {replicates} x {sc.steps} weeks on {workers} workers: {wall:.1f} s wall, "
        f"{cpu:.1f} s worker CPU",
        flush=True,
    )
    return out


# ------------------------------------------------------------- report
def _short(value: float, target: float, higher_is_better: bool) -> str:
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "met"
    factor = target / value if higher_is_better else value / target
    return f"**not met** ({factor:.2f}x short)"


def report(
    info: dict[str, Any],
    epstein: list[dict[str, Any]],
    scaling: list[dict[str, Any]],
    ensemble: dict[str, Any] | None,
    load_before: str,
    load_after: str,
) -> str:
    """The results as Markdown."""
    lines = [
        f"Measured {info['date']} on commit `{info['commit']}`"
        + (" (with uncommitted changes in simulation/ or benchmarks/)" if info["dirty"] else "")
        + f"; {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM; Python "
        f"{info['python']}, numpy {info.get('numpy')}, Mesa {info.get('mesa')}.",
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. The machine "
        "is shared: compare ratios measured in the same run, not absolute times across runs.",
        "",
    ]
    targets: list[tuple[str, str, str]] = []
    if epstein:
        lines += [
            "### 1. Epstein side by side (agent-steps per second, stepping only)",
            "",
            "| world | agents (ours / Mesa) | ours | Mesa, steady | Mesa, with 1st step "
            "| Mesa 1st step (s) | ours/Mesa | ours ms/step | steps ours / Mesa |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in epstein:
            if "mesa" in r:
                lines.append(
                    f"| {r['size']}x{r['size']} | {r['our_agents']:,.0f} / {r['mesa_agents']:,.0f} "
                    f"| {r['ours']:,.0f} | {r['mesa']:,.0f} | {r['mesa_with_first']:,.0f} "
                    f"| {r['mesa_first_s']:.2f} | **{r['ratio']:.0f}x** "
                    f"({r['ratio_with_first']:.0f}x with 1st) | {r['our_ms']:.2f} "
                    f"| {r['our_steps']} / {r['mesa_steps']} |"
                )
                if r["size"] in TARGET_RATIO:
                    t = TARGET_RATIO[r["size"]]
                    targets.append(
                        (
                            f"ours/Mesa at {r['size']}x{r['size']} >= {t:.0f}x",
                            f"{r['ratio']:.0f}x",
                            _short(r["ratio"], t, True),
                        )
                    )
            else:
                lines.append(
                    f"| {r['size']}x{r['size']} | {r['our_agents']:,.0f} / - "
                    f"| {r['ours']:,.0f} | - | - | - | - | {r['our_ms']:.2f} "
                    f"| {r['our_steps']} / - |"
                )
        lines += [
            "",
            f"Median of {epstein[0]['repeats']} seed(s) per size, the two models "
            "interleaved. Mesa: its example as shipped (DataCollector on); 'steady' leaves "
            "out its first step, which builds neighbourhood caches (timed on its own in the "
            "same run). Ours: epstein_mesa_reference.toml at the same "
            "size, Mesa agent views on, metrics recorded every step, one warm-up step.",
            "",
        ]
    if scaling:
        lines += [
            "### 2. Baseline scaling (baseline.toml, density 0.7)",
            "",
            "| world | civilians | Mesa agents | init (s) | init without views (s) "
            "| steps/s | ms/step | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in scaling:
            lines.append(
                f"| {r['size']}x{r['size']} | {r['civilians']:,} | {r['agents']:,} "
                f"| {r['init_s']:.2f} | {r['init_no_views_s']:.2f} | {1 / r['step_s']:.2f} "
                f"| {r['step_s'] * 1000:.0f} | {r['rss_mib']:.0f} |"
            )
        lines += [
            "",
            "Each size in a fresh process; steps timed after one warm-up step "
            f"({', '.join(str(r['steps']) for r in scaling)} steps). Init includes "
            "creating the Mesa agent views (one per civilian, enforcer and ISIS-K cell); "
            "'without views' is make_views=False.",
            "",
        ]
        big = [r for r in scaling if r["civilians"] >= MILLION]
        if big:
            r = big[-1]
            targets += [
                (
                    f"{r['civilians']:,} civilians: >= {TARGET_STEPS_PER_S:g} steps/s",
                    f"{1 / r['step_s']:.2f}",
                    _short(1 / r["step_s"], TARGET_STEPS_PER_S, True),
                ),
                (
                    f"{r['civilians']:,} civilians: peak RSS <= {TARGET_RSS_MIB:.0f} MiB",
                    f"{r['rss_mib']:.0f} MiB",
                    _short(r["rss_mib"], TARGET_RSS_MIB, False),
                ),
                (
                    f"{r['civilians']:,} civilians: init <= {TARGET_INIT_S:g} s",
                    f"{r['init_s']:.1f} s",
                    _short(r["init_s"], TARGET_INIT_S, False),
                ),
            ]
    if ensemble:
        e = ensemble
        lines += [
            "### 3. Ensemble",
            "",
            "| replicates x weeks | world | workers | wall (s) | worker CPU (s) |",
            "|---|---|---|---|---|",
            f"| {e['replicates']} x {e['steps']} | {e['world']} | {e['workers']} "
            f"| {e['wall_s']:.1f} | {e['worker_cpu_s']:.1f} |",
            "",
            "`simulation.experiments.execution.run_ensemble(baseline, replicates, seed=1, "
            "workers)`, spawned worker processes included.",
            "",
        ]
        if e["replicates"] >= 100:
            targets.append(
                (
                    f"ensemble {e['replicates']} x {e['steps']} weeks <= {TARGET_ENSEMBLE_S:g} s",
                    f"{e['wall_s']:.1f} s",
                    _short(e["wall_s"], TARGET_ENSEMBLE_S, False),
                )
            )
    if targets:
        lines += ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in targets]
        lines.append("")
    return "\n".join(lines)


def write_results(path: Path, block: str) -> None:
    """Put ``block`` between the markers of ``path`` (creating it if needed)."""
    text = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else (
            "# Benchmark results\n\nProduced by `benchmarks/bench.py`.\n\n"
            + BEGIN
            + "\n"
            + END
            + "\n"
        )
    )
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + END + "\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + BEGIN + "\n" + block.rstrip("\n") + "\n" + END + tail, encoding="utf-8")


# ---------------------------------------------------------------- main
def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _per_size(
    text: str | None, sizes: list[int], default: dict[int, int], fallback: int
) -> dict[int, int]:
    if text is None:
        return {w: default.get(w, fallback) for w in sizes}
    values = _ints(text)
    if len(values) == 1:
        return dict.fromkeys(sizes, values[0])
    if len(values) != len(sizes):
        raise SystemExit("give one step count, or one per size")
    return dict(zip(sizes, values, strict=True))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few steps (smoke test); does not write RESULTS.md "
        "unless --output is given",
    )
    p.add_argument("--sizes", help="Epstein world sizes (default 40,100,200)")
    p.add_argument("--our-steps", help="our timed steps, one or one per size (default 300,200,100)")
    p.add_argument("--mesa-steps", help="Mesa's steps, one or one per size (default 40,20,10)")
    p.add_argument("--repeats", type=int, help="seeds per Epstein size (default 2)")
    p.add_argument("--skip-mesa", action="store_true", help="time only our model in part 1")
    p.add_argument("--skip-epstein", action="store_true", help="skip part 1")
    p.add_argument("--scaling-sizes", help="baseline world sizes (default 100,300,600,1200)")
    p.add_argument("--scaling-steps", help="timed steps, one or one per size (default 50,20,10,8)")
    p.add_argument("--skip-scaling", action="store_true", help="skip part 2")
    p.add_argument("--replicates", type=int, help="ensemble replicates (default 100)")
    p.add_argument("--workers", type=int, default=2, help="ensemble workers (default 2)")
    p.add_argument("--skip-ensemble", action="store_true", help="skip part 3")
    p.add_argument("--output", type=Path, help=f"results file (default {RESULTS})")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--_scaling-child", nargs=2, type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._scaling_child:
        print(json.dumps(scaling_child(*args._scaling_child)))
        return 0
    q = args.quick
    sizes = _ints(args.sizes) if args.sizes else ([20] if q else [40, 100, 200])
    our_steps = _per_size(args.our_steps, sizes, {40: 300, 100: 200, 200: 100}, 3 if q else 100)
    mesa_steps = _per_size(args.mesa_steps, sizes, {40: 40, 100: 20, 200: 10}, 2 if q else 10)
    repeats = args.repeats or (1 if q else 2)
    ssizes = (
        _ints(args.scaling_sizes)
        if args.scaling_sizes
        else ([20, 30] if q else [100, 300, 600, 1200])
    )
    ssteps = _per_size(
        args.scaling_steps, ssizes, {100: 50, 300: 20, 600: 10, 1200: 8}, 2 if q else 8
    )
    replicates = args.replicates or (2 if q else 100)

    info = machine()
    load_before = load()
    print(
        f"khorasan benchmarks, commit {info['commit']}, {info['nproc']} CPUs "
        f"({info['cpu']}), load {load_before}",
        flush=True,
    )
    epstein = scaling = []
    ensemble = None
    if not args.skip_epstein:
        print("1. Epstein side by side", flush=True)
        epstein = bench_epstein(sizes, our_steps, mesa_steps, repeats, args.skip_mesa)
    if not args.skip_scaling:
        print("2. Baseline scaling", flush=True)
        scaling = bench_scaling(ssizes, ssteps)
    if not args.skip_ensemble:
        print("3. Ensemble", flush=True)
        ensemble = bench_ensemble(replicates, args.workers, q)
    text = report(info, epstein, scaling, ensemble, load_before, load())
    print()
    print(text)
    out = args.output or (None if q else RESULTS)
    if out is not None and not args.no_write:
        write_results(out, text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
