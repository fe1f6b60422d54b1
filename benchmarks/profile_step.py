"""Where a step's time goes: cProfile of a few steps, and the compiled kernel's share.

    python benchmarks/profile_step.py            # baseline.toml at 1200x1200 (~1M civilians)
    python benchmarks/profile_step.py --size 100 --scenario epstein_mesa_reference --steps 200

Prints the top functions by own time and the split of a step into the
compiled civil-violence kernel (``simulation.model.kernel.sequential_step``),
the numpy work around it (``Population._sequential``) and the rest of the
model (ISIS-K, regime, metrics). Compare the kernel's time per agent at a
small and a large world: the code is the same, so the difference is memory
traffic (a random order visits the grids at random, and large grids do not
fit in the cache).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--scenario", default="baseline", help="a name in scenarios/ (default baseline)"
    )
    ap.add_argument("--size", type=int, default=1200, help="world width = height (default 1200)")
    ap.add_argument("--steps", type=int, default=5, help="profiled steps (default 5)")
    ap.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    args = ap.parse_args(argv)

    import simulation.model.civilians as population
    import simulation.model.kernel as sequential
    from simulation import load_scenario
    from simulation.model import ConflictModel

    sc = load_scenario(
        ROOT / "scenarios" / f"{args.scenario}.toml",
        overrides={"world.width": args.size, "world.height": args.size},
    )
    model = ConflictModel(sc, rng=1, make_views=False)
    model.step()  # compile / load the kernel
    spent = {"kernel": 0.0, "around": 0.0}
    kernel, around = sequential.sequential_step, population.Population._sequential

    def timed_kernel(*a: object) -> object:
        t0 = time.perf_counter()
        out = kernel(*a)
        spent["kernel"] += time.perf_counter() - t0
        return out

    def timed_around(self: object, *a: object) -> object:
        t0 = time.perf_counter()
        out = around(self, *a)
        spent["around"] += time.perf_counter() - t0
        return out

    sequential.sequential_step = timed_kernel
    population.Population._sequential = timed_around
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(args.steps):
        model.step()
    prof.disable()
    total = time.perf_counter() - t0
    sequential.sequential_step, population.Population._sequential = kernel, around

    n = model.population.n_civilians + model.population.n_enforcers
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())
    per = total / args.steps
    k, a = spent["kernel"] / args.steps, (spent["around"] - spent["kernel"]) / args.steps
    print(
        f"{args.scenario} {args.size}x{args.size}: {n:,} agents, {per * 1e3:.0f} ms/step "
        f"(under the profiler): kernel {k * 1e3:.0f} ms ({k / per:.0%}, "
        f"{k / n * 1e9:.0f} ns/agent), numpy around it {a * 1e3:.0f} ms ({a / per:.0%}), "
        f"rest of the model {(per - k - a) * 1e3:.0f} ms ({(per - k - a) / per:.0%})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
