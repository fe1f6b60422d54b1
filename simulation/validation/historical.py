"""Part 3: the historical scenario, 2015-2025, over fresh seeds, against the dated record.

Two variants on the same seeds: the scenario as shipped (both calibration
stages) and the hold-out forecast (stage A only: the post-2021 knobs at their
a priori values, :func:`simulation.validation.knobs.forecast_scenario`).
Checkpoint tables for the calibration window (2015-2021), the hold-out
(2022-2025) and the whole record, attacks and flows per year, and the
repression after the takeover.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulation import load_scenario
from simulation.experiments.summaries import QUANTILES
from simulation.validation import knobs
from simulation.validation.cache import cache_key, cached
from simulation.validation.paths import DATA, SCEN
from simulation.validation.runs import run_columns
from simulation.validation.targets import CALIBRATION, HOLDOUT, Target

LOW, HIGH = QUANTILES  # the band over replicates, as in every plot

HIST_COLUMNS = (
    "isisk_fighters",
    "attacks",
    "attack_deaths",
    "repression",
    "legitimacy",
    "effective_surveillance",
    "recruits_defectors",
    "recruits_civilians",
    "recruits_events",
    "ct_removals",
    "active_civilians",
    "jailed_civilians",
)
#: The calendar years of the tables (2025: to March only).
YEARS = list(range(2015, 2026))


def variant_scenario(variant: str) -> Any:
    """``"scenario"``: historical_2015.toml as shipped; ``"forecast"``: the hold-out forecast."""
    sc = load_scenario(SCEN / "historical_2015.toml")
    return knobs.forecast_scenario(sc) if variant == "forecast" else sc


def historical_runs(
    variant: str, seeds: Sequence[int], workers: int, allow_stale: bool
) -> dict[str, Any]:
    """The cached replicates of one variant of the historical scenario."""
    key = cache_key(
        {"seeds": list(seeds), "variant": variant}, [SCEN / "historical_2015.toml", knobs.__file__]
    )
    tag = "" if variant == "scenario" else f"_{variant}"
    path = DATA / f"runs_historical_2015{tag}_{len(seeds)}.npz"

    def compute() -> dict[str, Any]:
        res = run_columns(
            variant_scenario(variant),
            seeds,
            HIST_COLUMNS,
            workers,
            f"historical ({variant})",
            dates=True,
        )
        data = {c: np.stack([r[c] for r in res]) for c in HIST_COLUMNS}
        data["date"] = res[0]["date"]
        return data

    return cached(path, key, allow_stale, compute)


def checkpoint_table(
    targets: Sequence[Target], runs: Sequence[pd.DataFrame]
) -> list[dict[str, Any]]:
    """Each target over the replicates: median, 10-90%, and whether it is in range."""
    rows = []
    for t in targets:
        v = np.array([t.value(df) for df in runs])
        med = float(np.median(v))
        rows.append(
            {
                "key": t.key,
                "label": t.label,
                "lo": t.lo,
                "hi": t.hi,
                "source": t.source,
                "median": med,
                "p10": float(np.quantile(v, LOW)),
                "p90": float(np.quantile(v, HIGH)),
                "inside": t.lo <= med <= t.hi,
                "share_inside": float(np.mean((v >= t.lo) & (v <= t.hi))),
            }
        )
    return rows


def per_year(runs: Sequence[pd.DataFrame], col: str) -> np.ndarray:
    """The sum of ``col`` per calendar year (YEARS), one row per replicate."""
    return np.array([[df.loc[df.date.dt.year == y, col].sum() for y in YEARS] for df in runs])


def _repression(sc: Any, data: Mapping[str, Any], dates: pd.DatetimeIndex) -> dict[str, Any]:
    """Repression after the takeover: its largest fall, its level after each edict."""
    takeover = int(np.searchsorted(dates.values, np.datetime64("2021-08-15")))
    drops = np.diff(data["repression"][:, takeover:], axis=1).min(axis=1)
    edicts = [
        (ev.label, sc.date_of(ev.step)) for ev in sc.events if "repression.baseline" in ev.set
    ]
    med_rep = np.median(data["repression"], axis=0)
    rep_at = [
        (
            label,
            float(
                med_rep[
                    min(len(med_rep) - 1, int(np.searchsorted(dates.values, np.datetime64(d))) + 8)
                ]
            ),
        )
        for label, d in edicts
    ]
    return {
        "repression_max_drop": float(drops.min()),
        "repression_at_edicts": rep_at,
        "repression_final": float(med_rep[-1]),
        "edict_dates": edicts,
        "edict_baselines": [
            float(ev.set["repression.baseline"])
            for ev in sc.events
            if "repression.baseline" in ev.set
        ],
    }


def _attack_peaks(attacks: np.ndarray) -> dict[str, Any]:
    """When the attacks peak (median path and replicates) and how far they fall by 2023."""
    peak_year = [YEARS[int(np.argmax(row[:-1]))] for row in attacks]
    med_att = np.median(attacks, axis=0)
    return {
        "attack_peak_year_median_path": YEARS[int(np.argmax(med_att[:-1]))],
        "attack_peak_year_share_2021_22": float(np.mean([y in (2021, 2022) for y in peak_year])),
        "fall_2023_vs_peak": float(med_att[YEARS.index(2023)] / max(med_att[:-1].max(), 1)),
    }


def _read(name: str) -> Any:
    """A JSON file of docs/data, or None if it is not there."""
    path = DATA / name
    return json.loads(path.read_text()) if path.exists() else None


def historical_part(quick: bool, workers: int, allow_stale: bool) -> dict[str, Any]:
    """Part 3: the historical scenario over fresh seeds; checkpoint tables."""
    n = 6 if quick else 20
    seeds = list(range(1001, 1001 + n))  # not the seeds the calibration used
    data = historical_runs("scenario", seeds, workers, allow_stale)
    fdata = historical_runs("forecast", seeds, workers, allow_stale)
    dates = pd.to_datetime(np.asarray(data["date"]).astype("datetime64[D]"))

    def frames_of(d: Mapping[str, Any]) -> list[pd.DataFrame]:
        return [
            pd.DataFrame({"date": dates, **{c: d[c][i] for c in HIST_COLUMNS}}) for i in range(n)
        ]

    frames, fframes = frames_of(data), frames_of(fdata)
    attacks = per_year(frames, "attacks")
    sc = load_scenario(SCEN / "historical_2015.toml")
    return {
        "seeds": seeds,
        "dates": dates,
        "data": data,
        "forecast_data": fdata,
        "calibration": checkpoint_table(CALIBRATION, fframes),
        "holdout": checkpoint_table(HOLDOUT, fframes),
        "fit": checkpoint_table(CALIBRATION + HOLDOUT, frames),
        "years": YEARS,
        "attacks": attacks,
        "forecast_attacks": per_year(fframes, "attacks"),
        "recruits": per_year(frames, "recruits_defectors") + per_year(frames, "recruits_civilians"),
        "removals": per_year(frames, "ct_removals"),
        **_attack_peaks(attacks),
        **_repression(sc, data, dates),
        "scenario_values": knobs.scenario_values(sc),
        "a_priori": knobs.a_priori_post(sc),
        "calibration_file": _read("calibration_historical.json"),
        "post_file": _read("calibration_post2021.json"),
    }
