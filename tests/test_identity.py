"""A scenario's identity depends on what it is, never on how the TOML writer spells it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simulation.experiments import loading, store
from simulation.experiments.loading import run_is_complete
from simulation.experiments.store import scenario_key
from simulation.scenario.identity import identity
from simulation.scenario.loader import load_scenario
from tests.tiny_runs import invoke, tiny_scenario, write


@pytest.fixture
def scenario(tmp_path: Path):
    return load_scenario(write(tmp_path, "tiny.toml", tiny_scenario()))


def test_identity_follows_content_not_description(scenario) -> None:
    assert identity(dataclasses.replace(scenario, description="other words")) == identity(scenario)
    changed = dict(
        scenario.params, **{"isisk.attack_rate": scenario.params["isisk.attack_rate"] + 1}
    )
    assert identity(dataclasses.replace(scenario, params=changed)) != identity(scenario)
    assert identity(dataclasses.replace(scenario, seed=scenario.seed + 1)) != identity(scenario)
    # the store's key leaves the seeds out (a resumed run may add replicates)
    more = dataclasses.replace(scenario, seed=scenario.seed + 1, replicates=7)
    assert scenario_key(more) == scenario_key(scenario)


def test_a_cosmetic_change_to_the_writer_keeps_runs_complete_and_keys(
    scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert invoke("run", scenario.source, "--out", out, "--quiet", "-j", "1").exit_code == 0
    key = scenario_key(scenario)
    assert run_is_complete(out / "tiny", scenario)

    def restyled(sc, *args, **kwargs):  # the same scenario, spelt with a new comment
        return "# written by a newer khorasan\n" + real(sc, *args, **kwargs)

    real = loading.scenario_to_toml
    monkeypatch.setattr(loading, "scenario_to_toml", restyled)
    monkeypatch.setattr(store, "scenario_to_toml", restyled)
    assert scenario_key(scenario) == key
    assert run_is_complete(out / "tiny", scenario)
    other = dataclasses.replace(scenario, steps=scenario.steps - 1)
    assert not run_is_complete(out / "tiny", other)
