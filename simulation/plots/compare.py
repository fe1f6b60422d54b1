"""Figures of several runs in one (``khorasan compare``): a band per scenario or difference.

:func:`comparison_figures` draws ``comparison.png`` and ``difference.png``
from saved runs; :func:`simulation.experiments.compare.write_comparison`
writes them with the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulation.experiments.compare import MetricSpec
from simulation.experiments.loading import RunData
from simulation.experiments.summaries import QUANTILES
from simulation.model.record import METRIC_INDEX
from simulation.plots import style
from simulation.plots.common import (
    date_ticks,
    figure_legend,
    figure_png,
    grid_columns,
    panel_axes,
    thousands_ticks,
    tidy_axes,
)
from simulation.plots.events import Mark, crowded, mark_events, merged_event_marks
from simulation.plots.maps import difference_map_figure

__all__ = ["Band", "comparison_figures", "paired_difference", "render_bands"]


@dataclass(frozen=True)
class Band:
    """A median line with a low-high band, ready to draw."""

    label: str
    colour: str
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _draw_bands(
    ax: Axes, dates: pd.DatetimeIndex, bands: Sequence[Band], handles: dict[str, Artist]
) -> None:
    for band in bands:
        (line,) = ax.plot(dates, band.median, color=band.colour, lw=1.8, label=band.label)
        ax.fill_between(dates, band.low, band.high, color=band.colour, alpha=style.BAND_ALPHA, lw=0)
        handles.setdefault(band.label, line)


def render_bands(
    title: str,
    panels: Sequence[tuple[str, Sequence[Band]]],
    dates: pd.DatetimeIndex,
    marks: Sequence[Mark] = (),
    *,
    zero_line: bool = False,
    band_text: str = style.band_text(),
) -> Figure:
    """One panel per ``(title, bands)`` against dates; one legend for the whole figure.

    Used by ``khorasan compare``: each band is a scenario (or a difference
    between two), with its median line and 10-90% band. ``zero_line`` draws
    y = 0 and lets the axis go negative (differences); otherwise y starts at 0.
    """
    ncols = grid_columns(len(panels))
    fig, axes = panel_axes(len(panels), ncols, (5.2, 3.5), 1.2)
    numbered = crowded(marks, dates)
    handles: dict[str, Artist] = {}
    for i, (ax, (panel_title, bands)) in enumerate(zip(axes, panels, strict=True)):
        _draw_bands(ax, dates, bands, handles)
        if zero_line:
            ax.axhline(0, color="#333333", lw=0.9, zorder=1.5)
        else:
            ax.set_ylim(bottom=0)
        thousands_ticks(ax, signed=True)
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        ax.set_xlim(dates[0], dates[-1])
        mark_events(ax, dates, marks, label_events=i < ncols, numbered=numbered)
        date_ticks(ax)
        tidy_axes(ax)

    figure_legend(fig, handles, band_text, marks, numbered)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig


#: Weekly flows of runs longer than this many weeks are drawn as SMOOTH-week means.
SMOOTH_AFTER = 104
SMOOTH = 4


def _smooth(spec: MetricSpec, steps: int) -> int:
    """Weeks to average a panel over: weekly flows of long runs are too jagged to read."""
    m = METRIC_INDEX.get(spec.metric)
    return (
        SMOOTH if (m is not None and m.flow and not spec.cumulative and steps > SMOOTH_AFTER) else 1
    )


def _smoothed_title(title: str, smooth: int) -> str:
    if smooth == 1:
        return title
    note = f"{smooth}-week mean"
    return f"{title[:-1]}, {note})" if title.endswith(")") else f"{title} ({note})"


def _wide(run: RunData, spec: MetricSpec, smooth: int = 1) -> pd.DataFrame:
    """Steps x seeds values of one metric (running totals if cumulative).

    ``smooth > 1`` replaces each replicate's value by its trailing mean over
    that many weeks (before any median or difference is taken).
    """
    wide = run.timeseries.pivot(index="step", columns="seed", values=spec.metric).sort_index()
    wide = wide.astype(float)
    if spec.cumulative:
        return wide.cumsum()
    return wide.rolling(smooth, min_periods=1).mean() if smooth > 1 else wide


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.nanmedian(values, axis=1),
        np.nanquantile(values, QUANTILES[0], axis=1),
        np.nanquantile(values, QUANTILES[1], axis=1),
    )


def paired_difference(
    base: RunData, other: RunData, spec: MetricSpec, smooth: int = 1
) -> tuple[np.ndarray, bool]:
    """Steps x pairs of ``other - base``; True if paired by seed.

    Pairs share a seed when the runs have seeds in common; otherwise (runs
    saved with other seeds) replicates are paired in order, which is the
    same as pairing at random.
    """
    a, b = _wide(base, spec, smooth), _wide(other, spec, smooth)
    common = [s for s in a.columns if s in set(b.columns)]
    if common:
        return (b[common] - a[common]).to_numpy(), True
    n = min(a.shape[1], b.shape[1])
    return b.iloc[:, :n].to_numpy() - a.iloc[:, :n].to_numpy(), False


def comparison_figures(
    runs: Sequence[RunData], labels: Sequence[str], specs: Sequence[MetricSpec]
) -> dict[str, bytes]:
    """``comparison.png`` and ``difference.png`` of saved runs, as PNG bytes by file name.

    One panel per metric: each scenario's median and 10-90% band, then each
    scenario minus the first (paired by seed where the seeds match).
    """
    steps = np.sort(runs[0].timeseries["step"].unique())
    dates = pd.DatetimeIndex([pd.Timestamp(runs[0].date_of(int(s))) for s in steps])
    marks = merged_event_marks(runs)
    counts = sorted({r.timeseries["seed"].nunique() for r in runs})
    n_text = " or ".join(f"{n:,}" for n in counts)

    smooth = {spec: _smooth(spec, int(steps[-1])) for spec in specs}
    titles = {spec: _smoothed_title(spec.title, smooth[spec]) for spec in specs}
    panels = []
    for spec in specs:
        bands = [
            Band(label, style.scenario_colour(k), *_band(_wide(run, spec, smooth[spec]).to_numpy()))
            for k, (label, run) in enumerate(zip(labels, runs, strict=True))
        ]
        panels.append((titles[spec], bands))
    comparison = render_bands(
        f"{' vs '.join(labels)}: median and {style.BAND_RANGE} range of {n_text} replicates",
        panels,
        dates,
        marks,
    )

    panels = []
    all_paired = True
    for spec in specs:
        bands = []
        for k in range(1, len(runs)):
            diff, paired = paired_difference(runs[0], runs[k], spec, smooth[spec])
            all_paired &= paired
            bands.append(Band(f"{labels[k]} − {labels[0]}", style.scenario_colour(k), *_band(diff)))
        panels.append((titles[spec], bands))
    how = "paired by seed" if all_paired else "paired by replicate order (seeds differ)"
    difference = render_bands(
        f"Difference from {labels[0]} (scenario − {labels[0]}, {how}): "
        f"median and {style.BAND_RANGE} range",
        panels,
        dates,
        marks,
        zero_line=True,
        band_text=f"{style.BAND_RANGE} of paired differences",
    )
    figures = {"comparison.png": figure_png(comparison), "difference.png": figure_png(difference)}
    by_province = difference_map_figure(list(runs), list(labels))
    if by_province is not None:  # every run is on the map
        figures["difference_map.png"] = figure_png(by_province)
    return figures
