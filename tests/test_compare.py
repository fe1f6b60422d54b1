"""khorasan compare: the statistics on synthetic data, and the command on tiny runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.compare import (
    MetricSpec,
    bootstrap_difference,
    comparison_table,
    excludes_zero,
    parse_metrics,
)
from simulation.experiments.loading import load_run
from simulation.experiments.manifest import write_run
from simulation.experiments.summaries import HEADLINES
from simulation.model.record import METRIC_NAMES
from simulation.scenario.core import make_scenario
from tests.tiny_runs import invoke, tiny_scenario

EXTRA = """
[surveillance]
withdrawal_week = 2
us_level_after = {us}

[[events]]
step = 1
label = "Prison releases"
add_isisk_fighters = 200
"""

COLUMNS = [
    "scenario",
    "metric",
    "label",
    "unit",
    "replicates",
    "median",
    "q10",
    "q90",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "ci_excludes_zero",
    "paired",
]


def scenario_file(
    folder: Path, name: str, start: str = "2021-08-15", steps: int = 12, us: float = 0.05
) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        tiny_scenario(name, start=start, steps=steps, replicates=3, extra=EXTRA.format(us=us))
    )
    return path


# --- statistics on synthetic data ------------------------------------------------


def test_ci_excludes_zero_for_a_clear_shift_and_not_for_noise() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(100, 10, 20)
    shifted = a + rng.normal(30, 5, 20)
    diff, lo, hi = bootstrap_difference(a, shifted, paired=True)
    assert lo < diff < hi and diff == pytest.approx((shifted - a).mean())
    assert lo > 0 and excludes_zero(lo, hi)

    same = rng.permutation(a)  # the same values: no difference at all
    diff, lo, hi = bootstrap_difference(a, same, paired=False)
    assert lo < 0 < hi and not excludes_zero(lo, hi)
    assert excludes_zero(-3.0, -0.1) and not excludes_zero(-3.0, 0.0)


def test_bootstrap_is_deterministic_and_pairing_narrows_the_interval() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(1000, 300, 15)  # large spread between seeds ...
    b = a + 40 + rng.normal(0, 10, 15)  # ... but a small, consistent paired effect
    assert bootstrap_difference(a, b, True) == bootstrap_difference(a, b, True)
    _, plo, phi = bootstrap_difference(a, b, paired=True)
    _, ulo, uhi = bootstrap_difference(a, b, paired=False)
    assert phi - plo < (uhi - ulo) / 5
    assert excludes_zero(plo, phi) and not excludes_zero(ulo, uhi)


def _synthetic_run(tmp_path: Path, name: str, offset: float, seeds: list[int]):
    sc = make_scenario(
        {"surveillance.withdrawal_week": 1},
        name=name,
        steps=5,
        replicates=len(seeds),
        seed=seeds[0],
    )
    frames = []
    for rep, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        df = pd.DataFrame({"step": range(6), "date": [sc.date_of(s).isoformat() for s in range(6)]})
        for metric in METRIC_NAMES:
            df[metric] = rng.random(6)
        df["attack_deaths"] = np.arange(6) * (10 + seed % 3) + offset * (np.arange(6) > 0)
        df.insert(0, "seed", seed)
        df.insert(0, "replicate", rep)
        frames.append(df)
    return load_run(write_run(tmp_path, sc, pd.concat(frames, ignore_index=True)))


def test_comparison_table_on_synthetic_runs(tmp_path: Path) -> None:
    base = _synthetic_run(tmp_path, "base", 0.0, [1, 2, 3, 4])
    more = _synthetic_run(tmp_path, "more", 2.0, [1, 2, 3, 4])
    other_seeds = _synthetic_run(tmp_path, "other", 2.0, [11, 12, 13, 14])
    table = comparison_table([base, more, other_seeds], ["base", "more", "other"])
    assert list(table.columns) == COLUMNS
    assert list(table["metric"].unique()) == [h.name for h in HEADLINES]
    deaths = table[table["metric"] == "cum_attack_deaths"].set_index("scenario")
    assert deaths.loc["more", "diff_mean"] == pytest.approx(10.0)  # 5 weeks x 2 deaths
    # same seeds, constant paired difference: a zero-width interval that excludes zero
    assert deaths.loc["more", "diff_ci_low"] == pytest.approx(10.0)
    assert bool(deaths.loc["more", "ci_excludes_zero"]) and bool(deaths.loc["more", "paired"])
    assert not bool(deaths.loc["other", "paired"])
    assert pd.isna(deaths.loc["base", "diff_mean"]) and pd.isna(deaths.loc["base", "paired"])


def test_parse_metrics() -> None:
    assert parse_metrics("attacks, cum_arrests") == [
        MetricSpec("attacks", "attacks"),
        MetricSpec("cum_arrests", "arrests", True),
    ]
    assert parse_metrics("cum_attack_deaths")[0].title == "Cumulative attack deaths (deaths)"
    assert len(parse_metrics(None)) == 6
    with pytest.raises(ValueError, match="did you mean 'attacks'"):
        parse_metrics("atacks")
    with pytest.raises(ValueError, match="level"):
        parse_metrics("cum_repression")


# --- the command -------------------------------------------------------------------


def test_compare_scenario_files_then_run_dirs(tmp_path: Path) -> None:
    a = scenario_file(tmp_path, "base")
    b = scenario_file(tmp_path, "kept", us=0.55)
    out = tmp_path / "cmp"
    result = invoke("compare", a, b, "--out", out, "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "base",
        "kept",
        "comparison.png",
        "difference.png",
        "comparison.csv",
        "comparison.json",
    }
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == COLUMNS
    assert len(table) == 2 * len(HEADLINES)
    assert table["paired"].dropna().all()  # common random numbers: the same seeds
    assert "Cumulative attack deaths" in result.stdout and "kept" in result.stdout
    for png in ("comparison.png", "difference.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_run(out / "kept").manifest["seeds"] == [3, 4, 5]

    # the saved run directories give the same table
    again = tmp_path / "again"
    result = invoke(
        "compare",
        out / "base",
        out / "kept",
        "--out",
        again,
        "--metrics",
        "cum_attack_deaths,repression",
    )
    assert result.exit_code == 0, result.output
    assert (again / "comparison.csv").read_bytes() == (out / "comparison.csv").read_bytes()

    # --resume reuses the finished runs
    result = invoke("compare", a, b, "--out", out, "--quiet", "--resume")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("already complete") == 2


@pytest.mark.parametrize(
    ("other", "why"),
    [
        ({"start": "2021-09-01"}, "starts 2021-09-01"),
        ({"steps": 10}, "10 weeks"),
    ],
)
def test_compare_refuses_mismatched_scenarios(tmp_path: Path, other: dict, why: str) -> None:
    a = scenario_file(tmp_path, "base")
    b = scenario_file(tmp_path, "other", **other)
    result = invoke("compare", a, b, "--out", tmp_path / "cmp")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot compare" in lines[0] and why in lines[0]
    assert "same start date and length" in lines[0]
    assert not (tmp_path / "cmp").exists()


def test_compare_bad_input_is_one_line(tmp_path: Path) -> None:
    a = scenario_file(tmp_path, "base")
    for args, text in [
        ([a], "at least two"),
        ([a, a, "--metrics", "nope"], "--metrics: unknown metric"),
        ([a, tmp_path / "missing.toml"], "missing.toml"),
        ([a, a], "also the name of"),
    ]:
        result = invoke("compare", *args, "--out", tmp_path / "cmp")
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1 and text in result.stderr


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_help_has_examples(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout and f"khorasan {command}" in result.stdout
