"""Fast validation checks (the full ones are in simulation/validation/ and docs/validation.md).

1. Agreement with Mesa's Epstein example: the cached Mesa runs
   (docs/data/mesa_epstein_reference.json, from benchmarks/mesa_epstein.py)
   against our first N seeds at the "active_point" (legitimacy 0.7, cops 0.04,
   jail 30); N, the statistic and the bound are ``FAST_TEST`` in
   simulation/validation/agreement.py. The statistic is the mean jailed share over steps
   1..10, the first wave of arrests: of everything measured in
   docs/validation.md it is the most sensitive to the schedule (a synchronous
   update jails about a fifth fewer there, SMD about -1.2), and it costs only
   10 steps a run. The bound: |standardized mean difference| < 0.5 and a
   permutation test on the means with p > 0.01. The default schedule (exact
   random sequential activation, Mesa's ``shuffle_do``) must pass; the
   known-biased synchronous update (``world.activation = "batched"`` with one
   batch) must fail, which shows that the bound has the power to catch that
   kind of bias (``test_synchronous_update_is_rejected``).

   The batched schedule with K = 4 batches passes this first-wave check (SMD
   about 0): its bias, fewer outbursts, actives and jailed than Mesa, builds up
   over hundreds of steps, and the full comparison (part 1 of
   docs/validation.md: 64 seeds, 400 steps, five statistics, KS and
   permutation tests, two points) rejects it. That check takes minutes, so it
   is not repeated here.
2. The historical and Epstein scenario files validate and have their events
   where docs/validation.md says they are; the calibrated values in the
   historical scenario are those of docs/data/calibration_historical.json
   (stage A) and docs/data/calibration_post2021.json (stage B), and the
   hold-out forecast differs from the scenario only in stage B's values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulation.validation import agreement as ag
from simulation.validation import calibration as cal
from simulation.validation import epstein as ep
from simulation.validation import knobs
from simulation.validation import targets as tg
from simulation.validation.mesa_reference import load_reference
from simulation.validation.page.epstein import crises_notes
from simulation.validation.page.epstein_crosscheck import replication_markdown
from simulation.validation.paths import MESA_CACHE
from simulation.validation.stats import holm, permutation_p, smd

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mesa_stat() -> np.ndarray:
    """The fast check's statistic over the cached Mesa runs."""
    if not MESA_CACHE.exists():
        pytest.skip("docs/data/mesa_epstein_reference.json not generated")
    ref = load_reference(MESA_CACHE)
    return ag.fast_stat(ref["points"][ag.FAST_TEST["point"]]["runs"])


def _ours(batches: int) -> np.ndarray:
    """Our runs for the fast check: ``batches`` = 0 is the default sequential schedule,
    K > 0 the batched one with K batches (K = 1: synchronous)."""
    ft = ag.FAST_TEST
    runs = ag.run_epstein_series(ft["point"], batches, range(ft["n_seeds"]), ft["steps"])
    return ag.fast_stat(runs)


def test_fast_check_settings() -> None:
    """The settings that the docstring above describes."""
    ft = ag.FAST_TEST
    assert (ft["point"], ft["stat"], ft["steps"], ft["burn_in"]) == (
        "active_point",
        "mean_frac_jailed",
        10,
        1,
    )
    assert ft["n_seeds"] >= 32 and ft["smd_bound"] <= 0.5 and ft["p_bound"] >= 0.01
    assert ag.AGREEMENT_VARIANTS == {"sequential": 0, "K=4": 4, "K=1": 1}


@pytest.mark.slow
def test_default_schedule_agrees_with_mesa(mesa_stat: np.ndarray) -> None:
    """The default (random sequential) schedule passes the bound."""
    v = ag.fast_verdict(_ours(0), mesa_stat)
    assert v["passes"], f"sequential: SMD {v['smd']:+.2f}, p {v['p']:.3g}"


@pytest.mark.slow
def test_synchronous_update_is_rejected(mesa_stat: np.ndarray) -> None:
    """The bound has power: the known-biased synchronous update (K = 1) fails it."""
    v = ag.fast_verdict(_ours(1), mesa_stat)
    assert not v["passes"], (
        f"K=1 passed the agreement bound (SMD {v['smd']:+.2f}, "
        f"p {v['p']:.3g}): the test has no power"
    )


def test_statistics_helpers() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert smd(a, a) == 0.0
    assert permutation_p(a, a) == 1.0
    assert permutation_p(a, a + 10, n_perm=2000) < 0.05
    assert holm([0.01, 0.04, 0.5]) == pytest.approx([0.03, 0.08, 0.5])
    totals, durations, waits = ep.outbursts(
        np.array([0] * 60 + [60, 70, 40, 0, 0, 55, 49, 0]), burn_in=50
    )
    assert totals == [130, 55] and durations == [2, 1] and waits == [3]


def _crisis(peaks_77_97: list[int], share: float) -> dict[str, Any]:
    """A crisis run's summary as part 2 keeps it (peaks over the run = in 77-97)."""
    return {
        "peak": np.array(peaks_77_97),
        "peak_same_loss": np.array(peaks_77_97),
        "first_outburst": np.where(np.array(peaks_77_97) > 50, 90, -1),
        "outburst_share": share,
    }


def test_crises_verdicts_follow_the_numbers() -> None:
    cops = _crisis([80] * 80 + [10] * 20, 0.8)
    # 20 of 100 sudden runs explode against none gradual: a tendency, not equality.
    text = " ".join(
        crises_notes(_crisis([0] * 100, 0.05), _crisis([90] * 20 + [5] * 80, 0.2), cops, 0.05)
    )
    assert "only as a tendency" in text
    assert "avoids revolt" not in text  # the gradual run never bursts: no bullet about it
    # The same share on both sides: not reproduced.
    text = " ".join(
        crises_notes(
            _crisis([90] * 20 + [5] * 80, 0.6), _crisis([90] * 20 + [5] * 80, 0.2), cops, 0.05
        )
    )
    assert "is **not** reproduced" in text and "does not avoid revolt" in text
    # Most sudden runs explode, the gradual ones do not: reproduced.
    text = " ".join(
        crises_notes(
            _crisis([90] * 5 + [5] * 95, 0.1), _crisis([90] * 70 + [5] * 30, 0.7), cops, 0.05
        )
    )
    assert "the contrast is reproduced" in text and "mostly avoids revolt" in text


def _pair_runs(peaks: list[int], jailed: list[int]) -> dict[str, np.ndarray]:
    """Runs of 100 cycles whose actives peak at ``peaks`` after cycle 77."""
    active = np.zeros((len(peaks), 101), int)
    active[:, 90] = peaks
    active[:, 10] = 500  # before the change: not counted
    return {
        "active_civilians": active,
        "jailed_civilians": np.repeat(np.array(jailed)[:, None], 101, axis=1),
    }


def test_replication_counts_and_verdict() -> None:
    gradual = _pair_runs([10, 60, 5, 5], [300, 300, 300, 300])
    sudden = _pair_runs([60, 20, 80, 4], [400, 100, 100, 100])
    m = ep.replication_stats(gradual, sudden)
    assert m == {
        "n": 4,
        "sudden_explodes": 2,
        "gradual_explodes": 1,
        "sudden_higher": 2,
        "sudden_jail_larger": 1,
        "explodes_and_jail_larger": 1,
    }
    # Counts like the replication's: no significant difference, a minority explodes.
    ref = ep.REPLICATION_RUNS34
    text = " ".join(
        replication_markdown(
            {
                "n": 100,
                "sudden_explodes": 27,
                "gradual_explodes": 17,
                "sudden_higher": 86,
                "sudden_jail_larger": 15,
                "explodes_and_jail_larger": 15,
            }
        )
    )
    assert "of the 73 that do not, none." in text
    assert "agree" in text and "minority outcome" in text and "implementations differ" not in text
    # Every sudden run explodes and ends with more jailed: the implementations differ.
    text = " ".join(
        replication_markdown(
            {
                "n": 100,
                "sudden_explodes": 100,
                "gradual_explodes": ref["gradual_explodes"] * 5,
                "sudden_higher": 100,
                "sudden_jail_larger": 100,
                "explodes_and_jail_larger": 100,
            }
        )
    )
    assert "**The two implementations differ**" in text and "minority outcome" not in text


def test_historical_scenario_validates() -> None:
    from simulation import load_scenario

    sc = load_scenario(REPO / "scenarios" / "historical_2015.toml")
    assert sc.start_date.year == 2015 and sc.date_of(sc.steps).year == 2025
    assert sc.steps >= 520
    labels = {ev.label.split(":")[0].split(" (")[0]: sc.date_of(ev.step) for ev in sc.events}
    takeover = next(d for label, d in labels.items() if label.startswith("Taliban take Kabul"))
    assert (takeover.year, takeover.month) == (2021, 8)
    founding = next(d for label, d in labels.items() if label.startswith("ISIS-K founded"))
    assert (founding.year, founding.month) == (2015, 1)
    # Before the takeover the Taliban are an insurgency: no thermostat.
    assert sc.params["repression.thermostat"] is False
    assert sc.params["repression.baseline_drift"] == 0.0
    on = [ev for ev in sc.events if ev.set.get("repression.thermostat") is True]
    assert len(on) == 1 and sc.date_of(on[0].step) == takeover
    # The repression baseline only ever rises (the edicts).
    baselines = [
        ev.set["repression.baseline"]
        for ev in sorted(sc.events, key=lambda e: e.step)
        if "repression.baseline" in ev.set
    ]
    assert baselines == sorted(baselines)


def test_historical_calibration_values_match_scenario() -> None:
    """The calibrated values written in the scenario are those the calibration chose."""
    import json

    from simulation import load_scenario

    current = knobs.scenario_values(load_scenario(knobs.SCENARIO))
    for stage, path in cal.OUTPUTS.items():
        if not path.exists():
            pytest.skip(
                f"python -m simulation.validation.calibration --stage {stage} has not been run"
            )
        result = json.loads(path.read_text())
        assert result.get("stage", "window") == stage
        names = {k.name for k in knobs.STAGES[stage][0]}
        assert set(result["best"]["candidate"]) == names
        for name, value in result["best"]["candidate"].items():
            assert current[name] == pytest.approx(value, rel=0.02), name


def test_hold_out_forecast_keeps_post_2021_values_a_priori() -> None:
    """The forecast variant differs from the shipped scenario only in stage B's values."""
    from simulation import load_scenario
    from simulation.scenario.params import defaults

    sc = load_scenario(knobs.SCENARIO)
    shipped, fc = knobs.scenario_values(sc), knobs.scenario_values(knobs.forecast_scenario(sc))
    assert fc["intel_growth"] == defaults()["surveillance.intel_growth"]
    assert fc["intel_max"] == defaults()["surveillance.intel_max"]
    assert fc["recruit_2022"] == shipped["defect_2020"]
    stage_b = {k.name for k in knobs.POST_KNOBS}
    assert {k for k in shipped if shipped[k] != fc[k]} <= stage_b
    assert fc == {**shipped, **knobs.a_priori_post(sc)}
    # Every stage-B knob is written somewhere in the scenario, after August 2021.
    touched = [
        ev for ev in sc.events if any(ev.label.startswith(p) for p in knobs.POST_EVENT_KNOBS)
    ]
    assert len(touched) == len(knobs.POST_EVENT_KNOBS)
    assert all(sc.date_of(ev.step) >= dt.date(2021, 9, 1) for ev in touched)


def test_calibration_loss_aims_inside_the_ranges() -> None:
    t = tg.Target("x", "x", "at", 1000.0, 2000.0)

    def loss_at(x: float) -> float:
        return tg.loss({"x": np.array([x, x, x])}, [t])

    assert loss_at(1500.0) == 0.0
    assert 0.0 < loss_at(1020.0) < loss_at(900.0)  # inside, but within 5% of the end
    assert 0.0 < loss_at(1980.0) < loss_at(2500.0)
    assert loss_at(1980.0) == pytest.approx(np.log(1980.0 / 1900.0) ** 2)
    assert tg.loss({"x": np.array([1980.0])}, [t], margin=0.0) == 0.0


def test_calibration_knobs_map_back_and_forth() -> None:
    for knob in knobs.KNOBS + knobs.POST_KNOBS:
        for u in (0.0, 0.3, 1.0):
            x = knob.draw(u)
            assert knob.lo <= x <= knob.hi
            if not knob.integer:
                assert knob.unit(x) == pytest.approx(u)


@pytest.mark.parametrize(
    "name", ["epstein_legitimacy_gradual", "epstein_legitimacy_sudden", "epstein_cop_reduction"]
)
def test_epstein_crisis_scenarios_validate(name: str) -> None:
    from simulation import load_scenario

    sc = load_scenario(REPO / "scenarios" / f"{name}.toml")
    assert len(sc.events) == 1
    assert sc.params["isisk.initial_fighters"] == 0
    assert sc.params["repression.thermostat"] is False


@pytest.mark.slow
def test_calibration_search_runs_on_a_tiny_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library code that wrote docs/data/calibration_*.json runs end to end.

    Stage A on 2 candidates (and the scenario's values) x 2 seeds, 1 more seed
    for the best, and a Nelder-Mead polish of one evaluation on the 3 seeds,
    each run cut at June 2015 (26 weeks) so that it takes seconds.
    """
    import json

    monkeypatch.setattr(knobs, "CALIBRATION_END", dt.date(2015, 6, 30))
    out = tmp_path / "calibration.json"
    assert (
        cal.main(
            [
                "--candidates",
                "2",
                "--reps",
                "2",
                "--top",
                "1",
                "--reps2",
                "1",
                "--polish",
                "1",
                "--workers",
                "1",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["stage"] == "window"
    assert len(result["stage1"]) == 3  # the two candidates and the scenario's own values
    assert result["seeds_stage1"] == [1, 2] and result["seeds_stage2"] == [3]
    assert set(result["best"]["candidate"]) == {k.name for k in knobs.KNOBS}
    assert result["polish"]["evaluations"] == 1
    assert result["best"]["loss"] <= result["stage2"][0]["loss"]
    assert result["model_hash"] == result["model_hash_end"]
    partial = json.loads(out.with_suffix(".stage1.json").read_text())
    assert len(partial) == 3 and set(partial[0]["values"]) == {t.key for t in tg.CALIBRATION}
