"""Where replicates run (serial, process pool, Dask), resume after a kill, failures."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.experiments.execution import execute, run_saved
from simulation.experiments.jobs import FAIL_SEED_ENV, Job, make_jobs, run_job
from simulation.experiments.store import ReplicateStore, read_replicate_csv
from simulation.experiments.workspace import partial_dir_for
from simulation.scenario.loader import load_scenario
from tests.tiny_runs import child_env, invoke, tiny_scenario

TINY = tiny_scenario(
    steps=12,
    seed=7,
    replicates=3,
    extra="""
[surveillance]
withdrawal_week = 2

[[events]]
step = 1
label = "Prison releases"
add_isisk_fighters = 200
""",
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_serial_process_pool_and_dask_give_identical_files(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    outputs = {}
    for name, opts in {
        "serial": ["--workers", "1"],
        "pool": ["--workers", "2"],
        "dask": ["--scheduler", "local-dask"],
    }.items():
        result = invoke("run", tiny, "--out", tmp_path / name, "--quiet", "--no-plots", *opts)
        assert result.exit_code == 0, result.output
        outputs[name] = (tmp_path / name / "tiny" / "timeseries.csv").read_bytes()
        assert not partial_dir_for(tmp_path / name / "tiny").exists()
    assert outputs["serial"] == outputs["pool"] == outputs["dask"]
    assert outputs["serial"].count(b"\n") == 1 + 3 * 13


def test_execute_keeps_going_past_a_failure(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(tiny)
    monkeypatch.setenv(FAIL_SEED_ENV, "8")
    results = execute(make_jobs(sc), workers=1, progress=False, keep_going=True)
    assert [type(r).__name__ for r in results] == ["DataFrame", "Failure", "DataFrame"]
    assert "seed 8" in results[1].message() and "RuntimeError" in results[1].error
    with pytest.raises(RuntimeError, match="simulated failure of seed 8"):
        execute(make_jobs(sc), workers=1, progress=False)


def test_saved_replicate_round_trips_exactly(tiny: Path, tmp_path: Path) -> None:
    sc = load_scenario(tiny)
    job = Job(sc, 11, 0)
    frame = run_job(job)
    store = ReplicateStore(tmp_path / "store")
    assert run_saved([(store, [job])], progress=False) == []
    back = read_replicate_csv(store.path(sc, 11))
    pd.testing.assert_frame_equal(back, frame)


def test_failing_replicate_reports_and_resume_retries_it(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv(FAIL_SEED_ENV, "8")
    result = invoke("run", tiny, "--out", out, "--workers", "1", "--quiet", "--no-plots")
    assert result.exit_code == 1
    assert "tiny replicate 1 (seed 8) failed: RuntimeError" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("khorasan: 1 of 3 replicates failed") and "--resume" in last
    assert not (out / "tiny").exists()  # never a run directory with a replicate missing
    partial = partial_dir_for(out / "tiny")
    assert sorted(p.name for p in partial.glob("*/seed-*")) == [
        "seed-7.csv",
        "seed-8.error.txt",
        "seed-9.csv",
    ]

    # without --resume the saved replicates are protected
    monkeypatch.delenv(FAIL_SEED_ENV)
    result = invoke("run", tiny, "--out", out, "--workers", "1", "--quiet", "--no-plots")
    assert result.exit_code == 2
    assert "--resume" in result.stderr and len(result.stderr.strip().splitlines()) == 1

    # --resume runs only seed 8: make the others fail if they were run again
    monkeypatch.setenv(FAIL_SEED_ENV, "7,9")
    result = invoke(
        "run", tiny, "--out", out, "--workers", "1", "--quiet", "--no-plots", "--resume"
    )
    assert result.exit_code == 0, result.output
    assert not partial.exists()
    monkeypatch.delenv(FAIL_SEED_ENV)
    fresh = tmp_path / "fresh"
    assert (
        invoke("run", tiny, "--out", fresh, "--workers", "1", "--quiet", "--no-plots").exit_code
        == 0
    )
    assert (out / "tiny" / "timeseries.csv").read_bytes() == (
        fresh / "tiny" / "timeseries.csv"
    ).read_bytes()

    # --resume on a finished run with the same settings has nothing to do
    result = invoke("run", tiny, "--out", out, "--quiet", "--no-plots", "--resume")
    assert result.exit_code == 0 and "already complete" in result.stdout
    # ... but with other settings it is refused
    result = invoke("run", tiny, "--out", out, "--quiet", "--no-plots", "--resume", "--seed", "1")
    assert result.exit_code == 2 and "other settings" in result.stderr


def _start(tiny: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulation",
            "run",
            str(tiny),
            "--out",
            str(out),
            "--quiet",
            "--no-plots",
            "--workers",
            "1",
            "--replicates",
            "8",
            "--steps",
            "16",
            *extra,
        ],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # pytest-xdist workers ignore SIGINT, and an ignored signal stays ignored
        # across exec: give the child the default disposition back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_saved(partial: Path, proc: subprocess.Popen[str], n: int) -> list[Path]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        saved = sorted(partial.glob("*/seed-*.csv"))
        if len(saved) >= n:
            return saved
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no replicates saved in time")


def test_resume_after_kill_is_byte_identical(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "killed"
    partial = partial_dir_for(out / "tiny")
    proc = _start(tiny, out)
    try:
        _wait_for_saved(partial, proc, 2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert not (out / "tiny").exists()  # nothing that looks finished
    saved = sorted(partial.glob("*/seed-*.csv"))
    assert 2 <= len(saved) < 8
    for path in saved:  # every saved file is whole (written atomically)
        assert len(read_replicate_csv(path)) == 17
    seeds = [p.stem.removeprefix("seed-") for p in saved]

    # resuming must not run the saved seeds again: make them fail if it did
    monkeypatch.setenv(FAIL_SEED_ENV, ",".join(seeds))
    args = ["--quiet", "--no-plots", "--workers", "1", "--replicates", "8", "--steps", "16"]
    result = invoke("run", tiny, "--out", out, "--resume", *args)
    assert result.exit_code == 0, result.output
    monkeypatch.delenv(FAIL_SEED_ENV)
    assert invoke("run", tiny, "--out", tmp_path / "whole", *args).exit_code == 0
    assert (out / "tiny" / "timeseries.csv").read_bytes() == (
        tmp_path / "whole" / "tiny" / "timeseries.csv"
    ).read_bytes()
    assert (out / "tiny" / "summary.csv").read_bytes() == (
        tmp_path / "whole" / "tiny" / "summary.csv"
    ).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed", "tiny.toml", "whole"]
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]  # workspace gone


def test_ctrl_c_says_how_to_resume(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Many replicates, so the run cannot finish before the interrupt arrives.
    proc = _start(tiny, out, "--replicates", "400")
    try:
        _wait_for_saved(partial_dir_for(out / "tiny"), proc, 1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1


def test_dask_missing_is_one_line(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    result = invoke("run", tiny, "--out", tmp_path, "--quiet", "--scheduler", "local-dask")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("--scheduler needs Dask: pip install 'khorasan[distributed]'")
    assert list(tmp_path.iterdir()) == [tiny]
