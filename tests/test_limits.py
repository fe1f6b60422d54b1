"""Limits (issue 14, items 12 and 15): memory, sweep sizes, --workers, --scheduler, text sweeps."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from simulation.experiments import resources
from simulation.experiments.jobs import Job, run_job
from simulation.experiments.pool import default_workers
from simulation.experiments.resources import replicate_bytes
from simulation.scenario.core import make_scenario
from tests.tiny_runs import invoke, tiny_scenario, write

QUICK = ("--replicates", "1", "--steps", "2", "--quiet")
GiB = 2**30


def _one_error_line(result, prefix: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# --- item 12: memory -----------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        {"world.width": 300, "world.height": 300},  # grid cells and civilians
        {
            "world.width": 100,
            "world.height": 100,
            "isisk.initial_fighters": 20_000,
            "isisk.fighters_per_cell": 1,
        },  # ISIS-K cells and their windows
    ],
)
def test_replicate_estimate_is_within_a_factor_two_of_the_measured_peak(sizes) -> None:
    sc = make_scenario({"civilians.vision": 3, "taliban.vision": 3, **sizes}, steps=2)
    run_job(
        Job(
            make_scenario(
                {"world.width": 20, "world.height": 20, "civilians.vision": 3, "taliban.vision": 3},
                steps=2,
            ),
            1,
            0,
        )
    )  # imports, compiled kernel
    tracemalloc.start()
    try:
        run_job(Job(sc, 1, 0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = replicate_bytes(sc)
    assert peak > 5 * 2**20  # the sizes are large enough to measure
    assert 0.5 <= estimate / peak <= 2.0, (estimate, peak)


def _fake_memory(monkeypatch: pytest.MonkeyPatch, nbytes: int) -> None:
    monkeypatch.setattr(resources, "available_memory", lambda: nbytes)


def _khorasan_in_3_gib(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``khorasan ARGS`` in a process that may not map more than 3 GiB (old code fails fast)."""
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
        "from simulation.cli import main; sys.argv = ['khorasan'] + sys.argv[1:]; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_run_refuses_event_fighters_that_exhaust_memory(tmp_path: Path) -> None:
    # 16 surges of 10^6 fighters (the most one event may add) in cells of one fighter:
    # 16 million cells, over 40 GiB per replicate
    surges = "".join(
        f'\n[[events]]\nlabel = "surge {i}"\nstep = 2\nadd_isisk_fighters = 1000000\n'
        for i in range(16)
    )
    path = write(
        tmp_path,
        "scen.toml",
        tiny_scenario(
            extra=(
                "\n[isisk]\nfighters_per_cell = 1\n"
                '\n[[events]]\nlabel = "quiet"\nstep = 1\n' + surges
            )
        ),
    )
    out = tmp_path / "out"
    proc = _khorasan_in_3_gib("run", path, "--out", out, *QUICK, "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"{path}: events[1].add_isisk_fighters: this run needs about ")
    have = resources.available_memory()
    assert have is not None
    need = int(line.split("about ")[1].split(" GiB")[0])
    assert need > 40 and need * GiB > have
    assert line.endswith(" available")
    assert not out.exists()


def test_run_compare_and_sweep_refuse_what_does_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 50,000 one-fighter cells need about 160 MB; say the machine has 64 MiB
    _fake_memory(monkeypatch, 64 * 2**20)
    big = write(
        tmp_path,
        "big.toml",
        tiny_scenario("big", extra="\n[isisk]\ninitial_fighters = 50000\nfighters_per_cell = 1\n"),
    )
    small = write(tmp_path, "small.toml", tiny_scenario("small"))
    out = tmp_path / "out"
    for args in (
        ("run", big),
        ("compare", small, big),
        (
            "sweep",
            small,
            "-p",
            "isisk.initial_fighters=1000,50000",
            "--set",
            "isisk.fighters_per_cell=1",
        ),
    ):
        result = invoke(*args, "--out", out, *QUICK, "--workers", "1")
        line = _one_error_line(
            result,
            f"{big if args[0] != 'sweep' else small}: "
            "isisk.initial_fighters: this run needs about ",
        )
        assert "the machine has 64 MiB available" in line
        assert not out.exists()
    assert (
        invoke("run", small, "--out", out, *QUICK, "--no-plots", "--workers", "1").exit_code == 0
    )  # what fits still runs


def test_sweep_axis_of_a_billion_points_is_refused_without_allocating(tmp_path: Path) -> None:
    path = write(tmp_path, "scen.toml", tiny_scenario())
    t0 = time.perf_counter()
    proc = _khorasan_in_3_gib(
        "sweep",
        path,
        "-p",
        "isisk.attack_rate=0:1:1000000000",
        "--out",
        tmp_path / "out",
        "--quiet",
        cwd=tmp_path,
    )
    assert time.perf_counter() - t0 < 30
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"{path}: --param isisk.attack_rate: NUM 1,000,000,000 is more "
        "than the 10,000 points a sweep may have"
    )
    assert not (tmp_path / "out").exists()


def test_sweep_grid_of_two_axes_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path, "scen.toml", tiny_scenario())
    result = invoke(
        "sweep",
        path,
        "-p",
        "isisk.attack_rate=0:1:5000",
        "-p",
        "legitimacy.initial=0:1:5000",
        "--out",
        tmp_path / "out",
        *QUICK,
    )
    line = _one_error_line(
        result, f"{path}: --param: the grid has 5,000 x 5,000 = 25,000,000 points"
    )
    assert "10,000" in line
    assert not (tmp_path / "out").exists()


def test_workers_are_capped_at_the_cpu_count_with_a_note(tmp_path: Path) -> None:
    path = write(tmp_path, "scen.toml", tiny_scenario())
    cpus = default_workers()
    out = tmp_path / "out"
    result = invoke(
        "run",
        path,
        "--out",
        out,
        "--replicates",
        str(cpus + 1),
        "--steps",
        "2",
        "--quiet",
        "--no-plots",
        "--workers",
        str(cpus + 8),
    )
    assert result.exit_code == 0, result.output
    assert f"khorasan: note: --workers {cpus + 8} is more than the {cpus} CPU" in result.stderr
    manifest = json.loads((out / "tiny" / "manifest.json").read_text())
    assert manifest["timings"]["workers"] == cpus


# --- item 15: --scheduler and text sweeps -------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "local-dask",
        "tcp://10.0.0.5:8786",
        "head:8786",
        "tls://head.example.org:8786",
        "tcp://[::1]:8786",
        "inproc://10.0.0.5/1234/1",
        "ws://h:80",
    ],
)
def test_dask_addresses_are_accepted(address: str) -> None:
    from simulation.experiments.cluster import check_scheduler

    check_scheduler(address)


@pytest.mark.parametrize(
    "address",
    [
        "foo",
        "tcp://head",
        "tcp://:8786",
        "http://head:8786",
        "tcp://head:port",
        "tcp://head:99999",
        "inproc://",
    ],
)
def test_other_scheduler_addresses_are_refused(address: str) -> None:
    from simulation.experiments.cluster import check_scheduler

    with pytest.raises(ValueError, match="local-dask"):
        check_scheduler(address)


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_bad_scheduler_is_refused_before_any_folder_or_lock(tmp_path: Path, command: str) -> None:
    a = write(tmp_path, "a.toml", tiny_scenario("a"))
    b = write(tmp_path, "b.toml", tiny_scenario("b"))
    args = {"run": [a], "compare": [a, b], "sweep": [a, "-p", "legitimacy.initial=0.5,0.9"]}
    out = tmp_path / "out"
    result = invoke(command, *args[command], "--out", out, "--scheduler", "foo", *QUICK)
    _one_error_line(result, "--scheduler: 'foo' is not a Dask scheduler address")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "b.toml"]


def test_a_failure_while_running_releases_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulation.experiments.execution as execution

    def broken(*args, **kwargs):
        raise RuntimeError("the executor broke")

    monkeypatch.setattr(execution, "run_saved", broken)
    path = write(tmp_path, "scen.toml", tiny_scenario())
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out, *QUICK, catch_exceptions=True)
    assert isinstance(result.exception, RuntimeError)
    partial = out / ".tiny.partial"
    if partial.exists():  # whatever is left must not be locked
        fd = os.open(partial / ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert not partial.exists()  # nothing was saved, so nothing is kept


def test_sweep_of_text_and_true_false_parameters(tmp_path: Path) -> None:
    path = write(tmp_path, "scen.toml", tiny_scenario())
    out = tmp_path / "out"
    result = invoke(
        "sweep",
        path,
        "-p",
        "civilians.movement=static,flight",
        "--out",
        out,
        *QUICK,
        "--workers",
        "1",
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    assert list(dict.fromkeys(summary["civilians.movement"])) == ["static", "flight"]
    assert (out / "sweep.png").stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # two axes, one of them true/false: a heatmap
    out2 = tmp_path / "out2"
    result = invoke(
        "sweep",
        path,
        "-p",
        "civilians.movement=static,flight",
        "-p",
        "legitimacy.dynamic=true,false",
        "--out",
        out2,
        *QUICK,
        "--workers",
        "1",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out2 / "sweep.csv")
    assert len(table) == 4
    assert (out2 / "sweep.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
