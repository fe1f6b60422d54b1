"""khorasan sweep: grid parsing, and the command on tiny runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simulation.experiments.jobs import FAIL_SEED_ENV
from simulation.experiments.summaries import HEADLINES
from simulation.experiments.sweep import SweepAxis, parse_axis, sweep_points
from simulation.experiments.workspace import partial_dir_for
from tests.tiny_runs import invoke, tiny_scenario

TINY = tiny_scenario()
HEADLINE_COLUMNS = [h.name for h in HEADLINES]


def test_parse_axis() -> None:
    assert parse_axis("isisk.defector_recruitment=0:2:5") == SweepAxis(
        "isisk.defector_recruitment", (0.0, 0.5, 1.0, 1.5, 2.0)
    )
    axis = parse_axis("isisk.initial_fighters=1000:2000:4")
    assert axis.values == (1000, 1333, 1667, 2000)
    assert all(type(v) is int for v in axis.values)
    assert parse_axis("world.width=20:22:5").values == (20, 21, 22)  # duplicates dropped
    assert parse_axis("civilians.movement=static,random").values == ("static", "random")
    assert parse_axis("isisk.defector_recruitment=0.1,0.3").values == (0.1, 0.3)
    assert parse_axis("isisk.defector_recruitment=0.7:0.7:1").values == (0.7,)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("isisk.defector_recruitment", "expected NAME=START:STOP:NUM"),
        ("isisk.defector_recruitment=0:2", "expected START:STOP:NUM"),
        ("isisk.defector_recruitment=0:2:x", "NUM 'x' is not a whole number"),
        ("isisk.defector_recruitment=0:2:0", "NUM must be at least 1"),
        ("isisk.defector_recruitment=-1:2:3", "below the minimum"),
        ("civilians.movement=0:1:2", "list its values"),
    ],
)
def test_parse_axis_errors(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_axis(text)


def test_sweep_points_first_parameter_varies_slowest() -> None:
    points = sweep_points([SweepAxis("a.x", (1, 2)), SweepAxis("b.y", (5, 6, 7))])
    assert points[:4] == [
        (("a.x", 1), ("b.y", 5)),
        (("a.x", 1), ("b.y", 6)),
        (("a.x", 1), ("b.y", 7)),
        (("a.x", 2), ("b.y", 5)),
    ]


def test_sweep_one_parameter(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "sw"
    result = invoke(
        "sweep",
        tiny,
        "--param",
        "isisk.defector_recruitment=0:2:3",
        "--out",
        out,
        "--workers",
        "1",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "sweep.csv",
        "summary.csv",
        "sweep.png",
        "sweep.json",
        "scenario.toml",
    }
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns) == [
        "point",
        "isisk.defector_recruitment",
        "replicate",
        "seed",
        *HEADLINE_COLUMNS,
    ]
    assert len(table) == 3 * 2
    assert list(table["isisk.defector_recruitment"].unique()) == [0, 1, 2]
    assert list(table["seed"]) == [3, 4] * 3  # the same seeds at every point
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["axes"] == [{"name": "isisk.defector_recruitment", "values": [0.0, 1.0, 2.0]}]
    assert "Median over replicates per grid point" in result.stdout
    assert not partial_dir_for(out).exists()


def test_sweep_two_parameters_failure_and_resume(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "grid"
    args = [
        "sweep",
        tiny,
        "-p",
        "isisk.initial_fighters=500:1000:2",
        "-p",
        "surveillance.us_level_after=0.05,0.5",
        "--out",
        out,
        "--workers",
        "1",
        "--quiet",
        "--steps",
        "6",
    ]
    monkeypatch.setenv(FAIL_SEED_ENV, "4")
    result = invoke(*args)
    assert result.exit_code == 1
    assert (
        "(seed 4) at isisk.initial_fighters=500, surveillance.us_level_after=0.05 failed"
        in result.stderr
    )
    assert "4 of 8 replicates failed" in result.stderr
    assert not out.exists()
    assert len(list(partial_dir_for(out).glob("*/seed-3.csv"))) == 4

    monkeypatch.setenv(FAIL_SEED_ENV, "3")  # seed 3 is saved: resume must not run it
    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:3]) == [
        "point",
        "isisk.initial_fighters",
        "surveillance.us_level_after",
    ]
    assert len(table) == 4 * 2
    assert (out / "sweep.png").stat().st_size > 10_000


def test_sweep_bad_param_is_one_line(tiny: Path, tmp_path: Path) -> None:
    for params, text in [
        (["isisk.defector_recruitmnt=0:1:2"], "did you mean"),
        (
            ["world.width=20:30:2", "isisk.attack_rate=1:2:2", "isisk.initial_fighters=1:2:2"],
            "one or two",
        ),
        (["world.width=5:6:2"], "vision"),
    ]:
        args = [a for p in params for a in ("--param", p)]
        result = invoke("sweep", tiny, *args, "--out", tmp_path / "sw")
        assert result.exit_code == 2, params
        assert len(result.stderr.strip().splitlines()) == 1 and text in result.stderr
        assert str(tiny) in result.stderr
    assert not (tmp_path / "sw").exists()
