"""khorasan loop: the registry of links, the loop-gain estimator, and the command on small runs.

The runs are the baseline on a 40x40 grid for 52 weeks, 5 paired seeds: small
enough for the test suite, large enough for the directions tested here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.api import load
from simulation.experiments.loop import (
    GAIN_LINK,
    LINK_INDEX,
    LINKS,
    NODES,
    QUANTITIES,
    UNCUT,
    cut_scenario,
    default_pulse,
    loop_arms,
)
from simulation.experiments.loop_results import LOOP_FORMAT, gain_interval
from simulation.scenario import params as ptable
from simulation.scenario.core import Event
from tests.tiny_runs import REPO, invoke, one_error_line

BASELINE = REPO / "scenarios" / "baseline.toml"
SMALL = ("--steps", "52", "--set", "world.width=40", "--set", "world.height=40")


def _loop(out: Path, *args: object, replicates: int = 5) -> object:
    return invoke("loop", BASELINE, "--replicates", replicates, *SMALL, "--out", out,
                  "--workers", "1", "--quiet", *args)  # fmt: skip


# --- the registry ----------------------------------------------------------------


def test_every_cut_is_a_real_parameter_with_a_valid_value() -> None:
    defaults = ptable.defaults()
    for link in LINKS:
        assert link.cut, link.name
        for name, value in link.cut.items():
            param = ptable.get(name)  # raises UnknownParameter for a typo
            assert param.check(value) == value
            assert defaults[name] != value, f"{link.name}: {name} is cut by default"


def test_the_registry_is_consistent() -> None:
    assert len(LINK_INDEX) == len(LINKS)
    for link in LINKS:
        assert link.source in NODES and link.target in NODES, link.name
    for node in NODES.values():
        assert node.quantity in QUANTITIES
    for source, target, _why in UNCUT:
        assert source in NODES and target in NODES
    assert GAIN_LINK in LINK_INDEX


def test_a_cut_also_holds_in_the_scenario_events() -> None:
    sc = load(BASELINE, steps=52)
    sc = sc.__class__(
        **{**vars(sc), "events": (*sc.events, Event(5, "x", {"repression.gain": 2.0}))}
    )
    cut = cut_scenario(sc, LINK_INDEX["threat_repression"])
    assert cut.params["repression.gain"] == 0.0
    assert [ev.set["repression.gain"] for ev in cut.events if "repression.gain" in ev.set] == [0.0]


def test_the_arms_share_the_seeds_and_the_pulse_lies_in_the_run() -> None:
    sc = load(BASELINE, steps=52)
    arms = loop_arms(sc, LINKS, default_pulse(52), LINK_INDEX[GAIN_LINK])
    assert [a.name for a in arms][:2] == ["intact", "cut:fighters_attacks"]
    assert {a.scenario.seed for a in arms} == {sc.seed}
    with pytest.raises(ValueError, match="within the run"):
        loop_arms(sc, LINKS, default_pulse(52, week=52), LINK_INDEX[GAIN_LINK])


# --- the loop-gain estimator on cases whose answer is known -----------------------


def test_gain_of_a_known_loop() -> None:
    """A loop of gain L answers d_open / (1 - L) when closed: the estimator gives L."""
    rng = np.random.default_rng(7)
    for gain in (-0.5, 0.0, 0.3):
        d_open = rng.normal(100, 20, 10)
        g, lo, hi = gain_interval(d_open / (1 - gain), d_open)
        assert g == pytest.approx(gain)
        assert lo == pytest.approx(gain) and hi == pytest.approx(gain)


def test_gain_interval_covers_the_gain_under_noise() -> None:
    rng = np.random.default_rng(11)
    d_open = rng.normal(100, 10, 400)
    d_closed = d_open / (1 - 0.4) + rng.normal(0, 10, 400)
    g, lo, hi = gain_interval(d_closed, d_open)
    assert lo < 0.4 < hi and hi - lo < 0.05
    assert g == pytest.approx(0.4, abs=0.03)


# --- the command -----------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A loop directory of the small baseline, with three links."""
    out = tmp_path_factory.mktemp("loop") / "loop"
    result = _loop(out, "--links", "threat_repression,repression_grievance,grievance_recruits")
    assert result.exit_code == 0, result.output
    return out


def test_the_loop_directory_is_written(measured: Path) -> None:
    manifest = json.loads((measured / "loop.json").read_text())
    assert manifest["format"] == LOOP_FORMAT
    assert set(manifest["files"]) >= {"links.csv", "gain.csv", "values.csv", "loop.png"}
    assert (measured / "loop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    links = pd.read_csv(measured / "links.csv")
    assert set(links["link"]) == {"threat_repression", "repression_grievance", "grievance_recruits"}
    assert {"effect", "ci_low", "ci_high", "effect_pct", "passes_rule"} <= set(links.columns)
    values = pd.read_csv(measured / "values.csv")
    seeds = values.groupby("arm")["seed"].apply(lambda s: tuple(sorted(s)))
    assert seeds.nunique() == 1 and len(seeds.iloc[0]) == 5  # every arm on the same seeds


def test_cutting_the_thermostat_lowers_repression(measured: Path) -> None:
    links = pd.read_csv(measured / "links.csv").set_index(["link", "quantity"])
    row = links.loc[("threat_repression", "mean_repression")]
    assert row["ci_high"] < 0 and row["passes_rule"]
    row = links.loc[("repression_grievance", "mean_grievance")]
    assert row["ci_high"] < 0


def test_resume_finds_it_complete_and_force_replaces_it(measured: Path) -> None:
    args = ("--links", "threat_repression,repression_grievance,grievance_recruits")
    again = _loop(measured, *args, "--resume")
    assert again.exit_code == 0 and "already complete" in again.output
    assert one_error_line(_loop(measured, *args)).startswith(f"{measured}: already exists")


def test_gain_is_zero_when_the_opened_link_is_already_open(tmp_path: Path) -> None:
    """With the thermostat off, opening it changes nothing: G = 0 exactly, on the model."""
    out = tmp_path / "fixed"
    result = _loop(out, "--links", "threat_repression", "--set", "repression.thermostat=false",
                   replicates=4)  # fmt: skip
    assert result.exit_code == 0, result.output
    gain = json.loads((out / "loop.json").read_text())["gain"]
    assert gain["gain_defined"]
    assert (gain["gain"], gain["ci_low"], gain["ci_high"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--links", "nonsense"), "--links: unknown link 'nonsense'"),
        (("--open-at", "nonsense"), "--open-at: unknown link 'nonsense'"),
        (("--pulse-week", "60"), "--pulse-week: the pulse's week 60 must lie within"),
    ],
)
def test_bad_options_give_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    line = one_error_line(_loop(tmp_path / "out", *args))
    assert line.startswith(f"{BASELINE}: ") and expected in line
    assert not (tmp_path / "out").exists()


def test_unknown_scenario_and_foreign_directory_give_one_line(
    tmp_path: Path, khorasan: Callable[..., object]
) -> None:
    missing = tmp_path / "nope.toml"
    line = one_error_line(invoke("loop", missing, "--out", tmp_path / "o"))
    assert str(missing) in line
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    line = one_error_line(_loop(foreign, "--force", "--links", "threat_repression"))
    assert "not a directory khorasan wrote" in line
    assert (foreign / "notes.txt").read_text() == "mine"
    child = khorasan("loop", BASELINE, "--replicates", "0")  # a click usage error
    assert child.returncode == 2 and len(child.stderr.strip().splitlines()) == 1


def test_the_scenario_contrast_pairs_the_intact_arms_by_seed() -> None:
    import pandas as pd

    from simulation.experiments.loop import QUANTITIES
    from simulation.validation.loop import contrast

    def table(shift: float) -> pd.DataFrame:
        rows = []
        for seed in range(1, 9):
            values = {q: 10.0 * seed + shift for q in QUANTITIES}
            rows.append({"arm": "intact", "replicate": seed - 1, "seed": seed, **values})
            rows.append({"arm": "cut:x", "replicate": seed - 1, "seed": seed, **values})
        return pd.DataFrame(rows)

    rows = contrast(table(0.0), table(-5.0).iloc[::-1])  # the order of rows must not matter
    assert len(rows) == len(QUANTITIES)
    for r in rows:  # every seed differs by exactly -5: the paired CI is the point
        assert r["effect"] == -5.0 and r["ci_low"] == r["ci_high"] == -5.0
        assert r["intact_mean"] == 45.0 and r["passes_rule"]
