"""The example scripts in examples/: each runs (small) and writes what it says it writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.experiments.loading import load_run
from simulation.experiments.summaries import HEADLINES

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SMALL = [
    "--replicates",
    "2",
    "--steps",
    "4",
    "--set",
    "world.width=20",
    "--set",
    "world.height=20",
    "--set",
    "civilians.vision=3",
    "--set",
    "taliban.vision=3",
]

pytestmark = pytest.mark.slow


def run_example(name: str, *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python examples/NAME ARGS`` run in ``cwd`` (outside the repository)."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_every_example_is_listed_in_the_readme_and_tested() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == ["compare_surveillance.py", "run_baseline.py", "sweep_attack_rate.py"]
    for name in scripts:
        assert f"`{name}`" in readme


def test_run_baseline_writes_a_run_and_prints_its_headlines(tmp_path: Path) -> None:
    done = run_example("run_baseline.py", tmp_path / "out", *SMALL, "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = load_run(tmp_path / "out" / "baseline")  # checked against its manifest
    assert run.replicates == 2
    assert sorted(run.timeseries["step"].unique()) == [0, 1, 2, 3, 4]
    for h in HEADLINES:
        assert h.name in done.stdout
    assert not (tmp_path / "out" / "baseline" / "plots").exists()


def test_run_baseline_draws_the_plots(tmp_path: Path) -> None:
    done = run_example("run_baseline.py", tmp_path / "out", *SMALL, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pngs = sorted((tmp_path / "out" / "baseline" / "plots").glob("*.png"))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)


def test_compare_surveillance_writes_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_example("compare_surveillance.py", out, *SMALL, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "comparison" / "comparison.csv")
    assert set(table["scenario"]) == {"baseline", "us_surveillance_retained"}
    assert len(table) == 2 * len(HEADLINES)
    other = table[table["scenario"] == "us_surveillance_retained"]
    assert other["diff_mean"].notna().all() and other["paired"].all()
    manifest = json.loads((out / "comparison" / "comparison.json").read_text())
    assert manifest["scenarios"] == ["baseline", "us_surveillance_retained"]
    for png in ("comparison.png", "difference.png"):
        assert (out / "comparison" / png).stat().st_size > 1000
    assert "us_surveillance_retained minus baseline" in done.stdout


def test_sweep_attack_rate_writes_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    done = run_example("sweep_attack_rate.py", out, *SMALL, "--values", "1,3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "sweep.csv")
    assert sorted(table["isisk.attack_rate"].unique()) == [1, 3]
    assert len(table) == 2 * 2  # points x replicates
    assert (out / "summary.csv").stat().st_size > 0 and (out / "sweep.png").is_file()
    assert json.loads((out / "sweep.json").read_text())["points"] == 2


def test_an_example_without_a_folder_writes_into_a_temporary_one(tmp_path: Path) -> None:
    done = run_example("run_baseline.py", *SMALL, "--no-plots", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.split("wrote ", 1)[1].split("/  (", 1)[0])
    try:
        assert run_dir.name == "baseline" and run_dir.parent.name.startswith("khorasan-run-")
        assert REPO not in run_dir.parents and tmp_path not in run_dir.parents
        assert load_run(run_dir).replicates == 2
    finally:
        shutil.rmtree(run_dir.parent, ignore_errors=True)


def test_a_bad_override_fails_with_the_scenario_error(tmp_path: Path) -> None:
    done = run_example(
        "run_baseline.py", tmp_path / "out", "--set", "isisk.attack_rat=2", cwd=tmp_path
    )
    assert done.returncode != 0
    assert "ScenarioError" in done.stderr and "isisk.attack_rat" in done.stderr
    assert not (tmp_path / "out" / "baseline").exists()
