"""Smoke test of benchmarks/bench.py: tiny sizes, checks that it prints its tables.

The benchmarks themselves are not part of the test suite (they take minutes);
run ``python benchmarks/bench.py`` for the numbers in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bench_quick_prints_tables(tmp_path: Path, repo_root: Path) -> None:
    out_file = tmp_path / "RESULTS.md"
    out_file.write_text("# Results\n\nHand-written notes stay.\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            str(repo_root / "benchmarks" / "bench.py"),
            "--quick",
            "--workers",
            "1",
            "--output",
            str(out_file),
        ],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for heading in ("### 1. Epstein side by side", "### 2. Baseline scaling", "### 3. Ensemble"):
        assert heading in text
    assert "| 20x20 |" in text  # the Epstein row and the first scaling row
    assert "| 30x30 |" in text
    assert "ours/Mesa" in text and "peak RSS (MiB)" in text and "wall (s)" in text
    epstein_row = next(
        ln for ln in text.splitlines() if ln.startswith("| 20x20 | ") and "x** (" in ln
    )
    assert float(epstein_row.split("**")[1].rstrip("x")) > 0  # a ratio was computed
    written = out_file.read_text(encoding="utf-8")
    assert "Hand-written notes stay." in written
    assert "<!-- bench:begin -->" in written and "### 3. Ensemble" in written
