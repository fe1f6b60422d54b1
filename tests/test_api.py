"""simulation.api from Python: the same files and checks as the command line, errors raised."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation import api
from simulation.experiments.jobs import FAIL_SEED_ENV
from simulation.experiments.summaries import HEADLINES
from simulation.experiments.workspace import partial_dir_for
from tests.tiny_runs import invoke, tiny_scenario, write

QUICK = {"workers": 1, "plots": False}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write(tmp_path, "tiny.toml", tiny_scenario(replicates=2, steps=4))


def test_load_takes_a_shipped_name_overrides_and_header_fields() -> None:
    sc = api.load("baseline", set=["isisk.attack_rate=3.5"], steps=6, replicates=2)
    assert (sc.name, sc.steps, sc.replicates) == ("baseline", 6, 2)
    assert sc.params["isisk.attack_rate"] == 3.5
    with pytest.raises(api.ScenarioError, match=r"isisk\.attack_rat"):
        api.load("baseline", set=["isisk.attack_rat=3"])
    with pytest.raises(api.ScenarioError, match="--set"):
        api.load("baseline", set=["no equals sign"])


def test_run_writes_what_the_command_writes(tiny: Path, tmp_path: Path) -> None:
    run_dir = api.run(tiny, out=tmp_path / "api", **QUICK)
    assert run_dir == tmp_path / "api" / "tiny"
    assert (
        invoke("run", tiny, "--out", tmp_path / "cli", "--no-plots", "-q", "-j", "1").exit_code == 0
    )
    for name in ("timeseries.csv", "summary.csv", "scenario.toml"):
        assert (run_dir / name).read_bytes() == (tmp_path / "cli" / "tiny" / name).read_bytes()
    data = api.open_run(run_dir)
    assert data.replicates == 2 and list(api.headlines(data).columns)[-len(HEADLINES) :] == [
        h.name for h in HEADLINES
    ]


def test_run_refuses_an_existing_run_unless_forced(tiny: Path, tmp_path: Path) -> None:
    api.run(tiny, out=tmp_path, **QUICK)
    with pytest.raises(api.ResultsError, match="already exists"):
        api.run(tiny, out=tmp_path, **QUICK)
    lines: list[str] = []
    api.run(tiny, out=tmp_path, force=True, echo=lines.append, **QUICK)
    assert lines and lines[0].startswith(f"wrote {tmp_path / 'tiny'}/")


def test_a_loaded_scenario_runs_with_fewer_steps(tmp_path: Path) -> None:
    sc = api.load("baseline", set=["world.width=20", "world.height=20"], replicates=1)
    run_dir = api.run(sc, out=tmp_path, steps=3, **QUICK)
    data = api.open_run(run_dir)
    assert data.timeseries["step"].max() == 3
    assert all(ev.step <= 3 for ev in data.events)


def test_failed_replicates_raise_and_resume_finishes(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAIL_SEED_ENV, "4")  # the second replicate (seeds 3, 4)
    with pytest.raises(api.ReplicatesFailed) as info:
        api.run(tiny, out=tmp_path, warn=lambda text: None, **QUICK)
    assert (info.value.total, len(info.value.failures)) == (2, 1)
    assert info.value.partials == [partial_dir_for(tmp_path / "tiny")]
    assert not (tmp_path / "tiny").exists()
    monkeypatch.delenv(FAIL_SEED_ENV)
    lines: list[str] = []
    api.run(tiny, out=tmp_path, resume=True, echo=lines.append, **QUICK)
    assert "1 saved earlier" in lines[0]


def test_compare_and_its_errors(tiny: Path, tmp_path: Path) -> None:
    other = write(tmp_path, "other.toml", tiny_scenario("other", replicates=2, steps=4))
    with pytest.raises(api.InputError, match="at least two"):
        api.compare([tiny], out=tmp_path / "cmp")
    with pytest.raises(api.InputError, match="--metrics: unknown metric"):
        api.compare([tiny, other], out=tmp_path / "cmp", metrics="nope")
    done = api.compare([tiny, other], out=tmp_path / "cmp", metrics=["attacks"], **QUICK)
    assert done.labels == ["tiny", "other"] and len(done.table) == 2 * len(HEADLINES)
    assert sorted(p.name for p in done.files) == ["comparison.csv", "comparison.json"]
    assert done.runs == [tmp_path / "cmp" / "tiny", tmp_path / "cmp" / "other"]


def test_sweep_writes_a_sweep_directory(tiny: Path, tmp_path: Path) -> None:
    out = api.sweep(tiny, ["isisk.attack_rate=1,2"], out=tmp_path / "sw", **QUICK)
    assert sorted(p.name for p in out.iterdir()) == [
        "scenario.toml",
        "summary.csv",
        "sweep.csv",
        "sweep.json",
    ]
    with pytest.raises(api.ScenarioError, match="--param"):
        api.sweep(tiny, ["a=1", "b=2", "c=3"], out=tmp_path / "sw2")
