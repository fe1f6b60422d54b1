"""Kills: SIGKILL at random points of a run (also while plotting), SIGTERM, pool workers.

Issue #14, item 6 and "What must be shown": after any kill, ``--resume``
finishes the run with files byte-identical to an uninterrupted run's, and no
process of the killed run (its pool workers included) is left alive.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulation.experiments.workspace import partial_dir_for
from simulation.plots import FIGURES
from tests.tiny_runs import child_env, tiny_scenario, write

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.slow

#: Where the kill times come from (seconds are drawn from it, so the points vary
#: with the machine's speed but not from one run of the test to the next).
KILL_SEED = 20260814


def start(*args: object) -> subprocess.Popen[str]:
    """``khorasan ARGS`` in a new process (as the console script runs it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "simulation", *map(str, args)],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Family:
    """Every process a command started (found while it runs), to check none outlives it."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.main = psutil.Process(proc.pid)
        self.seen: dict[int, psutil.Process] = {}

    def look(self) -> list[psutil.Process]:
        try:
            for child in self.main.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass
        return list(self.seen.values())

    def alive(self) -> list[psutil.Process]:
        out = []
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    def assert_all_gone(self, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [(p.pid, " ".join(p.cmdline())[:80]) for p in self.alive()]
        for p in self.alive():  # never leave them behind, even when failing
            p.kill()
        assert not left, f"processes of the killed run still alive: {left}"


def kill_after(
    proc: subprocess.Popen[str], family: Family, until, sig: int = signal.SIGKILL
) -> bool:
    """Send ``sig`` once ``until()`` is true; False if the command finished first."""
    while not until():
        family.look()
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    family.look()
    proc.send_signal(sig)
    # send_signal skips a process that has already ended (it polls first): then the
    # command finished before the signal, and was not killed (a race under load)
    return proc.returncode is None or proc.returncode == -sig


def workers_of(family: Family) -> list[psutil.Process]:
    return [p for p in family.look() if "spawn_main" in " ".join(p.cmdline())]


def test_sigkill_at_random_points_then_resume_gives_identical_files(tmp_path: Path) -> None:
    tiny = write(tmp_path, "tiny.toml", tiny_scenario(steps=40, seed=5, replicates=6))
    args = ["run", tiny, "--quiet", "--workers", "2"]

    # the uninterrupted run, timed: when its run directory appears, when it ends
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    proc = start(*args, "--out", ref)
    family = Family(proc)
    while not (ref / "tiny" / "manifest.json").exists() and proc.poll() is None:
        family.look()
        time.sleep(0.005)
    published = time.monotonic() - t0
    assert proc.wait(timeout=300) == 0, proc.communicate()
    total = time.monotonic() - t0
    family.assert_all_gone()
    assert sorted(p.name for p in (ref / "tiny" / "plots").iterdir()) == sorted(
        f"{n}.png" for n in FIGURES
    )

    out = tmp_path / "killed"
    run_dir = out / "tiny"
    rng = random.Random(KILL_SEED)
    # three kills anywhere in the run, then one while it draws its plots
    points = sorted(rng.uniform(0.15, 1.0) * published for _ in range(3))
    stages = []
    for at in points:
        proc = start(*args, "--out", out, "--resume")
        family = Family(proc)
        began = time.monotonic()
        killed = kill_after(proc, family, lambda at=at, began=began: time.monotonic() - began >= at)
        proc.communicate(timeout=60)
        family.assert_all_gone()
        if killed:
            assert proc.returncode == -signal.SIGKILL
        assert not run_dir.exists() or (run_dir / "manifest.json").exists()
        # replicates saved so far (all of them once the run directory is written)
        stages.append(
            6 if run_dir.exists() else len(list(partial_dir_for(run_dir).glob("*/seed-*.csv")))
        )
    assert sorted(stages) == stages, stages  # the work only grows

    # then a kill while it draws its plots (sooner, if it ends first under another load)
    delay = rng.uniform(0.0, 0.5) * (total - published)
    for _ in range(4):
        if run_dir.exists():  # start the run directory over, so that it is plotted again
            for p in sorted(run_dir.rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            run_dir.rmdir()
        proc = start(*args, "--out", out, "--resume")
        family = Family(proc)
        seen: dict[str, float] = {}

        def plotting(seen=seen, delay=delay) -> bool:
            if "at" not in seen and (run_dir / "manifest.json").exists():
                seen["at"] = time.monotonic()
            return "at" in seen and time.monotonic() - seen["at"] >= delay

        killed = kill_after(proc, family, plotting)
        stdout, stderr = proc.communicate(timeout=60)
        family.assert_all_gone()
        if killed:
            break
        assert proc.returncode == 0, stderr
        delay /= 4
    else:
        raise AssertionError("every run ended before it could be killed while plotting")
    assert proc.returncode == -signal.SIGKILL
    drawn = (
        sorted(p.name for p in (run_dir / "plots").glob("*.png"))
        if (run_dir / "plots").is_dir()
        else []
    )
    assert len(drawn) < len(FIGURES), "killed while plotting, yet every plot is there"

    # --resume until it says the run is complete
    for _ in range(3):
        proc = start(*args, "--out", out, "--resume")
        family = Family(proc)
        stdout, stderr = proc.communicate(timeout=300)
        family.look()
        family.assert_all_gone()
        assert proc.returncode == 0, stderr
        if "already complete" in stdout:
            break
        assert "drawing its missing plots" in stdout or "wrote" in stdout, stdout
    else:
        raise AssertionError("--resume never called the run complete")

    for name in (
        "timeseries.csv",
        "summary.csv",
        "scenario.toml",
        *(f"plots/{n}.png" for n in FIGURES),
    ):
        assert (run_dir / name).read_bytes() == (ref / "tiny" / name).read_bytes(), name

    def manifest(folder: Path) -> dict:
        data = json.loads((folder / "manifest.json").read_text())
        for key in ("timings", "created", "command"):  # when, how fast, and the --out given
            data.pop(key)
        return data

    assert manifest(run_dir) == manifest(ref / "tiny")
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]  # no workspace, no temp dirs
    assert not [p for p in run_dir.rglob("*") if p.name.startswith(".")]


LONG = tiny_scenario(steps=30000, seed=1, replicates=4)  # each replicate takes seconds


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_pool_workers_die_with_the_main_process(tmp_path: Path, sig: int) -> None:
    tiny = write(tmp_path, "long.toml", LONG)
    out = tmp_path / "out"
    proc = start("run", tiny, "--out", out, "--quiet", "--no-plots", "--workers", "2")
    family = Family(proc)
    deadline = time.monotonic() + 120
    # both workers started and busy with a replicate (each takes far longer than the check)
    while len([w for w in workers_of(family) if w.cpu_times().user > 1.5]) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the pool workers did not start"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    family.assert_all_gone(within=5.0)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("khorasan: terminated; none of the 4 replicates had finished")
        assert lines[0].endswith("run the same command with --resume to finish")
    else:
        assert proc.returncode == -signal.SIGKILL


def test_sigterm_says_how_to_resume_and_resume_finishes(tmp_path: Path) -> None:
    tiny = write(tmp_path, "tiny.toml", tiny_scenario(steps=16, seed=2, replicates=400))
    out = tmp_path / "out"
    args = ["run", tiny, "--out", out, "--quiet", "--no-plots", "--workers", "1"]
    proc = start(*args)
    family = Family(proc)
    partial = partial_dir_for(out / "tiny")
    assert kill_after(
        proc, family, lambda: len(list(partial.glob("*/seed-*.csv"))) >= 2, signal.SIGTERM
    )
    _, stderr = proc.communicate(timeout=60)
    family.assert_all_gone()
    assert proc.returncode == 143
    line = stderr.strip()
    assert "\n" not in line and line.startswith("khorasan: terminated; ")
    assert f"of 400 replicates are saved in {partial}" in line and "--resume" in line
    saved = len(list(partial.glob("*/seed-*.csv")))
    assert saved >= 2
    # the lock was released: a resume can start (and is refused only for other settings)
    proc = start(*args, "--resume", "--replicates", "3")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "scenario.replicates 400 -> 3" in stderr
    assert len(list(partial.glob("*/seed-*.csv"))) == saved
