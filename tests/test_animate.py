"""``khorasan animate`` and the snapshots it draws from: frames, formats, bad input."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageChops

from simulation.experiments.jobs import SNAPSHOTS, Job, run_job
from simulation.experiments.rundir import SNAPSHOTS_FILE, check_replaceable
from simulation.model.snapshots import CELL_STATES, npz_bytes, read_npz
from simulation.plots import animate as animate_module
from simulation.plots.sharing import MARKER
from simulation.scenario.loader import load_scenario
from tests import tiny_runs
from tests.test_provinces_output import map_scenario
from tests.tiny_runs import one_error_line

STEPS = 6


def invoke(*args: object):
    return tiny_runs.invoke(*args, catch_exceptions=True)


def gif_frames(path: Path) -> list[Image.Image]:
    with Image.open(path) as im:
        assert im.format == "GIF" and im.info.get("comment") == MARKER
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(im.convert("RGB"))
    return frames


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny grid run that saved a snapshot every week."""
    base = tmp_path_factory.mktemp("grid")
    path = tiny_runs.write(base, "tiny.toml", tiny_runs.tiny_scenario(steps=STEPS))
    result = invoke(
        "run", path, "--out", base / "out", "-j", "1", "-q", "--set", "world.snapshot_every=1"
    )
    assert result.exit_code == 0, result.output
    return base / "out" / "tiny"


def test_snapshots_change_no_result_and_hold_every_cell(tmp_path: Path) -> None:
    path = tiny_runs.write(tmp_path, "t.toml", tiny_runs.tiny_scenario(steps=7))
    plain = run_job(Job(load_scenario(path), seed=4, replicate=0))
    sc = load_scenario(path, {"world.snapshot_every": 3})
    shot = run_job(Job(sc, seed=4, replicate=0))
    pd.testing.assert_frame_equal(plain, shot)  # the same numbers, to the last digit
    assert SNAPSHOTS not in plain.attrs
    arrays = read_npz(shot.attrs[SNAPSHOTS])
    assert arrays["steps"].tolist() == [0, 3, 6]
    states = arrays["states"]
    assert states.shape == (3, 20, 20) and states.dtype == np.int8
    assert set(np.unique(states)) <= set(range(len(CELL_STATES)))
    assert not np.array_equal(states[0], states[-1])  # agents moved
    assert npz_bytes(arrays) == npz_bytes(read_npz(npz_bytes(arrays)))  # same arrays, same bytes


def test_grid_gif_has_a_frame_per_snapshot_and_they_differ(grid_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(grid_run, tmp_path / "tiny")
    result = invoke("animate", run, "-q")
    assert result.exit_code == 0, result.output
    frames = gif_frames(run / "animation.gif")
    assert len(frames) == STEPS + 1
    assert all(ImageChops.difference(a, b).getbbox() for a, b in itertools.pairwise(frames))
    check_replaceable(run)  # the animation is khorasan's: --force may still replace the run
    assert invoke("animate", run, "-q", "--weeks", "2").exit_code == 0  # over its own file
    assert len(gif_frames(run / "animation.gif")) == 3


def test_map_gif_shows_the_provinces_week_by_week(tmp_path: Path) -> None:
    result = invoke("run", map_scenario(tmp_path), "--out", tmp_path / "out", "-q", "-j", "1")
    assert result.exit_code == 0, result.output
    out = tmp_path / "map.gif"
    result = invoke("animate", tmp_path / "out" / "tinymap", "--out", out, "-q", "--weeks", "5")
    assert result.exit_code == 0, result.output
    frames = gif_frames(out)
    assert len(frames) == 6  # weeks 0 to 5, from provinces.csv (no snapshots needed)
    assert any(ImageChops.difference(a, b).getbbox() for a, b in itertools.pairwise(frames))


def test_mp4_with_ffmpeg(grid_run: Path, tmp_path: Path) -> None:
    if animate_module.ffmpeg_path() is None:
        pytest.skip("no ffmpeg (pip install 'khorasan[mp4]')")
    out = tmp_path / "a.mp4"
    result = invoke("animate", grid_run, "--format", "mp4", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[4:8] == b"ftyp" and MARKER in data


def test_mp4_without_ffmpeg_is_one_line(
    grid_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(animate_module, "ffmpeg_path", lambda: None)
    out = tmp_path / "a.mp4"
    line = one_error_line(invoke("animate", grid_run, "--format", "mp4", "--out", out))
    assert "needs ffmpeg" in line and "khorasan[mp4]" in line and not out.exists()


def test_a_resumed_run_saves_the_same_snapshots(tmp_path: Path, monkeypatch) -> None:
    path = tiny_runs.write(tmp_path, "tiny.toml", tiny_runs.tiny_scenario(steps=4, replicates=3))
    every = ["--set", "world.snapshot_every=2", "-j", "1", "-q", "--no-plots"]
    assert invoke("run", path, "--out", tmp_path / "a", *every).exit_code == 0
    monkeypatch.setenv("KHORASAN_FAIL_SEED", "4")
    assert invoke("run", path, "--out", tmp_path / "b", *every).exit_code == 1
    monkeypatch.delenv("KHORASAN_FAIL_SEED")
    assert invoke("run", path, "--out", tmp_path / "b", *every, "--resume").exit_code == 0
    whole = (tmp_path / "a" / "tiny" / SNAPSHOTS_FILE).read_bytes()
    assert (tmp_path / "b" / "tiny" / SNAPSHOTS_FILE).read_bytes() == whole
    assert read_npz(whole)["states"].shape[:2] == (3, 3)  # 3 replicates, weeks 0, 2, 4


def test_bad_input_is_one_line_and_exit_2(grid_run: Path, tiny_run: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    line = one_error_line(invoke("animate", tmp_path / "empty"))
    assert line.startswith(f"{tmp_path / 'empty'}: not a run directory")
    line = one_error_line(invoke("animate", tiny_run))  # a grid run without snapshots
    assert line.startswith(f"{tiny_run}: holds no snapshots") and "snapshot_every" in line
    line = one_error_line(invoke("animate", grid_run, "--replicate", "7"))
    assert "--replicate" in line and "0 to 1" in line
    line = one_error_line(invoke("animate", grid_run, "--format", "webm"))
    assert "--format" in line and "gif or mp4" in line
    mine = tmp_path / "mine.gif"
    mine.write_bytes(b"GIF89a not khorasan's")
    line = one_error_line(invoke("animate", grid_run, "--out", mine))
    assert "not written by khorasan" in line and mine.read_bytes() == b"GIF89a not khorasan's"
