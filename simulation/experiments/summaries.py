"""What a run's numbers come to: the saved time-series order, summaries, headlines.

:func:`summarize` gives per step and metric the median, the
:data:`QUANTILES` and the mean over replicates (``summary.csv``);
:func:`headline_table` one number per replicate for each :data:`HEADLINES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.record import METRIC_NAMES

__all__ = [
    "HEADLINES",
    "HEADLINE_INDEX",
    "ID_COLUMNS",
    "QUANTILES",
    "Headline",
    "headline_table",
    "metric_columns",
    "summarize",
    "tidy_timeseries",
]


ID_COLUMNS: tuple[str, ...] = ("replicate", "seed", "step", "date")
QUANTILES: tuple[float, float] = (0.1, 0.9)


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns of a time-series frame: known metrics first, then extras."""
    known = [m for m in METRIC_NAMES if m in df.columns]
    extra = [c for c in df.columns if c not in ID_COLUMNS and c not in METRIC_NAMES]
    return known + extra


def tidy_timeseries(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in the saved order, rows by replicate then step."""
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"time series lacks columns {missing}")
    out = df[[*ID_COLUMNS, *metric_columns(df)]]
    out = out.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)
    return out.astype({"replicate": "int64", "seed": "int64", "step": "int64", "date": "string"})


def summarize(timeseries: pd.DataFrame, quantiles: tuple[float, float] = QUANTILES) -> pd.DataFrame:
    """Per step and metric: median, low and high quantiles and mean over replicates."""
    lo, hi = quantiles
    dates = timeseries.groupby("step", sort=True)["date"].first()
    steps = dates.index.to_numpy()
    parts = []
    for metric in metric_columns(timeseries):
        wide = timeseries.pivot(index="step", columns="replicate", values=metric)
        values = wide.reindex(steps).to_numpy(dtype=float)
        parts.append(
            pd.DataFrame(
                {
                    "step": steps,
                    "date": dates.to_numpy(),
                    "metric": metric,
                    "median": np.nanmedian(values, axis=1),
                    f"q{round(lo * 100)}": np.nanquantile(values, lo, axis=1),
                    f"q{round(hi * 100)}": np.nanquantile(values, hi, axis=1),
                    "mean": np.nanmean(values, axis=1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Headline:
    """A number summarising one replicate's whole run, e.g. cumulative attack deaths."""

    name: str
    label: str
    unit: str
    metric: str
    how: str  # "sum", "max", "last" or "mean" over the steps of the replicate

    def of(self, values: pd.Series) -> float:
        """The headline of one replicate's series (rows in step order, step 0 first)."""
        if self.how == "sum":
            return float(values.sum())
        if self.how == "max":
            return float(values.max())
        if self.how == "last":
            return float(values.iloc[-1])
        return float(values.iloc[1:].mean() if len(values) > 1 else values.mean())


#: The per-replicate numbers that ``compare`` and ``sweep`` report. Sums run
#: over every step (flows are zero at step 0); the mean is over weeks 1..N.
HEADLINES: tuple[Headline, ...] = (
    Headline("cum_attack_deaths", "Cumulative attack deaths", "deaths", "attack_deaths", "sum"),
    Headline("peak_isisk_fighters", "Peak ISIS-K fighters", "fighters", "isisk_fighters", "max"),
    Headline("final_isisk_fighters", "Final ISIS-K fighters", "fighters", "isisk_fighters", "last"),
    Headline("mean_repression", "Mean repression", "0-1", "repression", "mean"),
    Headline("total_arrests", "Total arrests", "people", "arrests", "sum"),
)
HEADLINE_INDEX: dict[str, Headline] = {h.name: h for h in HEADLINES}


def headline_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """One row per replicate: ``replicate``, ``seed`` and every headline metric."""
    rows = []
    ordered = timeseries.sort_values(["replicate", "step"], kind="stable")
    for (rep, seed), g in ordered.groupby(["replicate", "seed"], sort=True):
        row: dict[str, Any] = {"replicate": int(rep), "seed": int(seed)}
        for h in HEADLINES:
            row[h.name] = h.of(g[h.metric]) if h.metric in g.columns else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["replicate", "seed", *HEADLINE_INDEX])
