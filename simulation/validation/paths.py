"""Where the validation reads and writes: the repository's docs, data and scenarios."""

from __future__ import annotations

from pathlib import Path

#: The repository root (the validation runs from a checkout: it writes docs/).
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Simulation caches and the calibration's outputs.
DATA = DOCS / "data"
FIG = DOCS / "figures"
SCEN = ROOT / "scenarios"
#: Mesa's side of the agreement (written by benchmarks/mesa_epstein.py).
MESA_CACHE = DATA / "mesa_epstein_reference.json"
