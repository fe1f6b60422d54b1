"""Part 4: space. The map scenario over fresh seeds, against the spatial record.

``scenarios/afghanistan.toml`` (the baseline on the map, ODD 7.11) is run over
seeds and its record by province is kept: ISIS-K's fighters in each place every
week, and its attacks and attack deaths in each place. What set parameters and
what is held out was decided before any run (geography.md §4):

- **set** (used to place the start, so not a test): about 2,100 of 2,500
  fighters in Kunar in January 2020 (UN Monitoring Team) → 80% of the initial
  fighters in Nangarhar, Kunar and Nuristan;
- **held out**: where the attacks fall from August 2021 to August 2024 (32 of
  62 deadly attacks in Kabul, 7 in Herat; Afghanistan Security Watch), the
  2023 claims (6 of 18 in Kabul, 5 in Kunar; Afghan Witness), and where the
  fighters are after 2021 ("the bulk" in rural Kunar, Nangarhar and possibly
  Nuristan in 2022; EUAA 2023).

``scenarios/historical_afghanistan.toml`` (the historical run on the map, with
the northern pocket of 2017-18) is run the same way: where its fighters are
each January, its strength against the UN's checkpoints (the grid's
calibration, not re-fitted on the map), and where its attacks fall after 2021.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation import load_scenario
from simulation.experiments.execution import execute
from simulation.experiments.jobs import PROVINCES, Job, run_job
from simulation.experiments.store import read_replicate_csv
from simulation.experiments.summaries import QUANTILES
from simulation.model.by_province import SANCTUARY, places
from simulation.scenario.provinces import PROVINCES as NAMES
from simulation.validation.cache import cache_key, cached
from simulation.validation.historical import checkpoint_table
from simulation.validation.paths import DATA, SCEN
from simulation.validation.runs import jobs_for
from simulation.validation.targets import CALIBRATION, HOLDOUT

LOW, HIGH = QUANTILES
PLACES = places(NAMES)
EAST = ("Nangarhar", "Kunar", "Nuristan")
#: Held-out record: attacks by place, Aug 2021 - Aug 2024 (weeks 1-156 of the scenario).
RECORD_2021_2024 = {"Kabul": (32, 62), "Herat": (7, 62)}
#: Held-out record: claimed attacks Jan-Oct 2023 (Afghan Witness, 10 Nov 2023).
RECORD_2023 = {"Kabul": (6, 18), "Kunar": (5, 18)}
WINDOW_WEEKS = (1, 156)
#: The historical map scenario, and the province of its northern pocket.
HISTORICAL = "historical_afghanistan.toml"
NORTH = ("Jowzjan",)


@dataclass(frozen=True)
class ByPlace:
    """A picklable runner: one replicate's fighters, attacks and deaths by place and week."""

    def __call__(self, job: Job) -> dict[str, np.ndarray]:
        df = run_job(job)
        table = read_replicate_csv(io.BytesIO(df.attrs[PROVINCES]))
        out = {}
        for column in ("isisk_fighters", "attacks", "attack_deaths"):
            wide = table.pivot(index="step", columns="province", values=column)
            out[column] = wide[list(PLACES)].to_numpy().T  # places x steps
        return out


def space_runs(
    seeds: Sequence[int],
    workers: int,
    allow_stale: bool,
    file: str = "afghanistan.toml",
    parents: Sequence[str] = ("baseline.toml",),
) -> dict[str, Any]:
    """The cached records by place of a map scenario's replicates."""
    path = SCEN / file
    key = cache_key({"seeds": list(seeds)}, [path, *(SCEN / p for p in parents)])
    stem = path.stem

    def compute() -> dict[str, Any]:
        jobs = jobs_for(load_scenario(path), seeds)
        res = execute(jobs, workers, progress=True, fn=ByPlace(), desc=f"space ({stem})")
        return {c: np.stack([r[c] for r in res]) for c in res[0]}

    return cached(DATA / f"runs_space_{stem}_{len(seeds)}.npz", key, allow_stale, compute)


def _band(x: np.ndarray) -> tuple[float, float, float]:
    return float(np.median(x)), float(np.quantile(x, LOW)), float(np.quantile(x, HIGH))


def fighter_shares(fighters: np.ndarray) -> list[dict[str, Any]]:
    """Share of ISIS-K's fighters in the east, and in the east plus the sanctuary, by year."""
    east = [PLACES.index(n) for n in EAST]
    sanctuary = PLACES.index(SANCTUARY)
    rows = []
    total = np.maximum(fighters.sum(axis=1), 1)
    for year in range(fighters.shape[2] // 52 + 1):
        step = min(52 * year, fighters.shape[2] - 1)
        e = fighters[:, east, step].sum(axis=1) / total[:, step]
        s = fighters[:, sanctuary, step] / total[:, step]
        rows.append({"week": step, "east": _band(e), "east_sanctuary": _band(e + s)})
    return rows


def january_shares(fighters: np.ndarray, dates: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """ISIS-K's share in the east (also with the sanctuary) and in the north, each January."""
    east = [PLACES.index(n) for n in EAST]
    north = [PLACES.index(n) for n in NORTH]
    sanctuary = PLACES.index(SANCTUARY)
    total = np.maximum(fighters.sum(axis=1), 1)
    rows = []
    for year in sorted(set(dates.year)):
        step = int(np.flatnonzero(dates.year == year)[0])
        e = fighters[:, east, step].sum(axis=1) / total[:, step]
        s = fighters[:, sanctuary, step] / total[:, step]
        n = fighters[:, north, step].sum(axis=1) / total[:, step]
        rows.append(
            {
                "date": dates[step].date().isoformat(),
                "east": _band(e),
                "east_sanctuary": _band(e + s),
                "north": _band(n),
                "fighters": _band(total[:, step]),
            }
        )
    return rows


def strength_checkpoints(runs: Mapping[str, np.ndarray], dates: pd.DatetimeIndex) -> Any:
    """The UN's checkpoints (targets.py) against the map run's total strength and attacks."""
    frames = [
        pd.DataFrame({"date": dates, "isisk_fighters": f.sum(axis=0), "attacks": a.sum(axis=0)})
        for f, a in zip(runs["isisk_fighters"], runs["attacks"], strict=True)
    ]
    return {
        "calibration": checkpoint_table(CALIBRATION, frames),
        "holdout": checkpoint_table(HOLDOUT, frames),
    }


def historical_space(seeds: Sequence[int], workers: int, allow_stale: bool) -> dict[str, Any]:
    """The historical map run: where its fighters are, its strength, where it strikes."""
    runs = space_runs(
        seeds, workers, allow_stale, HISTORICAL, ("historical_2015.toml", "afghanistan.toml")
    )
    sc = load_scenario(SCEN / HISTORICAL)
    dates = pd.DatetimeIndex([sc.date_of(t) for t in range(runs["attacks"].shape[2])])
    takeover = int(np.argmin(np.abs(dates - pd.Timestamp("2021-08-15"))))
    window = (takeover + WINDOW_WEEKS[0], takeover + WINDOW_WEEKS[1])
    return {
        "seeds": list(seeds),
        "january": january_shares(runs["isisk_fighters"], dates),
        "checkpoints": strength_checkpoints(runs, dates),
        "attacks_2021_2024": attack_shares(runs["attacks"], window),
        "deaths_2021_2024": attack_shares(runs["attack_deaths"], window),
    }


def attack_shares(attacks: np.ndarray, weeks: tuple[int, int]) -> dict[str, tuple[float, ...]]:
    """Each place's share of the attacks in ``weeks`` (inclusive): median and band."""
    window = attacks[:, :, weeks[0] : weeks[1] + 1].sum(axis=2)
    share = window / np.maximum(window.sum(axis=1, keepdims=True), 1)
    return {p: _band(share[:, k]) for k, p in enumerate(PLACES)}


def space_part(quick: bool, workers: int, allow_stale: bool) -> dict[str, Any]:
    """Part 4's numbers: fighters' shares by year and attacks' shares against the record."""
    seeds = list(range(1001, 1005 if quick else 1021))
    runs = space_runs(seeds, workers, allow_stale)
    weeks_2023 = (72, 114)  # 1 Jan - 22 Oct 2023, in weeks from 15 Aug 2021
    attacks = runs["attacks"]
    per_year = attacks[:, :, 1:157].sum(axis=(1, 2)) / 3
    return {
        "seeds": seeds,
        "fighters": fighter_shares(runs["isisk_fighters"]),
        "attacks_2021_2024": attack_shares(attacks, WINDOW_WEEKS),
        "attacks_2023": attack_shares(attacks, weeks_2023),
        "deaths_2021_2024": attack_shares(runs["attack_deaths"], WINDOW_WEEKS),
        "attacks_per_year": _band(per_year),
        "historical": historical_space(seeds, workers, allow_stale),
    }
