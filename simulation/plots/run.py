"""The figures of one saved run: ``plots/violence.png``, ``repression.png`` and ``overview.png``.

Each panel shows the median over replicates as a line and the 10-90% range
as a band, against calendar dates, with dashed grey lines at scenario events
and at the US withdrawal. The figures read the run directory, never a live
model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulation.experiments.loading import RunData, load_run
from simulation.experiments.rundir import PROVINCES_FILE
from simulation.experiments.summaries import QUANTILES
from simulation.plots.common import (
    date_ticks,
    figure_legend,
    panel_axes,
    save_figure,
    thousands_ticks,
    tidy_axes,
)
from simulation.plots.events import Mark, crowded, mark_events, run_event_marks
from simulation.plots.maps import map_figure
from simulation.plots.style import BAND_ALPHA, BAND_RANGE, band_text, metric_colour, metric_label

__all__ = ["FIGURES", "Panel", "Series", "missing_plots", "plot_run", "render_figure"]


@dataclass(frozen=True)
class Series:
    """One line of a panel: a metric, optionally transformed per replicate."""

    metric: str
    label: str | None = None
    transform: str = "none"  # "none" or "cumsum"

    @property
    def text(self) -> str:
        """Legend text."""
        return self.label or metric_label(self.metric)


@dataclass(frozen=True)
class Panel:
    """One axes: a title with units and the series drawn in it."""

    title: str
    series: tuple[Series, ...]
    from_zero: bool = True  # False: the axis fits the data (a level that barely moves)


def _p(title: str, *metrics: str | Series, from_zero: bool = True) -> Panel:
    return Panel(
        title, tuple(m if isinstance(m, Series) else Series(m) for m in metrics), from_zero
    )


def _cumulative(metric: str, label: str | None = None) -> Series:
    return Series(metric, label, "cumsum")


#: File name -> (title, panels) of every figure written by plot_run.
#: The map of a run on the map (:mod:`simulation.plots.maps`): ``plots/map.png``.
MAP_FIGURE = "map"

FIGURES: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "overview": ("Overview", (
        _p("Violence (people per week)", "attack_deaths", "collateral_casualties"),
        _p("Repression (0–1)", "repression", "target_repression"),
        _p("ISIS-K strength (fighters)", "isisk_fighters"),
        _p("Taliban strength (fighters; axis not from 0)", "taliban_fighters",
           from_zero=False),
        _p("Cumulative recruitment to ISIS-K by source (fighters)",
           _cumulative("recruits_defectors"), _cumulative("recruits_civilians"),
           _cumulative("recruits_events")),
        _p("Grievance and legitimacy (0–1)", "mean_grievance", "legitimacy"),
    )),
    "violence": ("Violence", (
        _p("ISIS-K attacks (per week)", "attacks", "attacks_interdicted"),
        _p("Deaths in ISIS-K attacks (deaths per week)",
           "attack_deaths", "civilian_deaths", "taliban_deaths"),
        _p("Cumulative deaths in ISIS-K attacks (deaths)",
           _cumulative("attack_deaths", "Attack deaths, cumulative")),
        _p("Cumulative mass-casualty attacks (attacks)",
           _cumulative("mass_casualty_attacks", "Mass-casualty attacks, cumulative")),
        _p("Collateral casualties of counter-terrorism (people per week)",
           "collateral_casualties"),
        _p("Violence index (0–1)", "violence_index"),
    )),
    "repression": ("Repression", (
        _p("Repression (0–1)", "repression", "target_repression", "repression_index"),
        _p("Arrests (people per week)", "arrests"),
        _p("Civilians in jail and active (people)", "jailed_civilians", "active_civilians"),
        _p("Taliban enforcer units deployed (units)", "enforcers"),
        _p("Legitimacy and surveillance (0–1)", "legitimacy", "effective_surveillance"),
        _p("Regime's perceived threat (index)", "perceived_threat"),
    )),
}  # fmt: skip


def _bands(run: RunData, series: Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and the band's quantiles over replicates per step (after the transform)."""
    wide = run.timeseries.pivot(index="step", columns="replicate", values=series.metric)
    values = wide.sort_index().to_numpy(dtype=float)
    if series.transform == "cumsum":
        values = np.nancumsum(values, axis=0)
    low, high = QUANTILES
    return (
        np.nanmedian(values, axis=1),
        np.nanquantile(values, low, axis=1),
        np.nanquantile(values, high, axis=1),
    )


def _draw_panel(
    ax: Axes,
    run: RunData,
    panel: Panel,
    dates: pd.DatetimeIndex,
    marks: Sequence[Mark],
    label_events: bool,
    numbered: bool,
) -> None:
    for s in panel.series:
        if s.metric not in run.timeseries.columns:
            continue
        med, lo, hi = _bands(run, s)
        (line,) = ax.plot(dates, med, color=metric_colour(s.metric), lw=1.8, label=s.text)
        ax.fill_between(dates, lo, hi, color=line.get_color(), alpha=BAND_ALPHA, lw=0)
    ax.set_title(panel.title, fontsize=10.5, loc="left")
    if panel.from_zero:
        ax.set_ylim(bottom=0)
    else:  # a level that barely moves: room above and below, so its changes read
        low, high = ax.get_ylim()
        pad = max(0.5 * (high - low), 0.002 * abs(high), 1.0)
        ax.set_ylim(low - pad, high + pad)
    thousands_ticks(ax)
    ax.set_xlim(dates[0], dates[-1])
    mark_events(ax, dates, marks, label_events, numbered)
    date_ticks(ax)
    tidy_axes(ax)


def render_figure(run: RunData, title: str, panels: Sequence[Panel], ncols: int = 3) -> Figure:
    """A figure of ``panels`` for a saved run (no pyplot; safe headless)."""
    fig, axes = panel_axes(len(panels), ncols, (5.2, 3.6), 1.0)
    steps = np.sort(run.timeseries["step"].unique())
    dates = pd.DatetimeIndex([pd.Timestamp(run.date_of(int(s))) for s in steps])
    marks = run_event_marks(run)
    numbered = crowded(marks, dates)
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        _draw_panel(ax, run, panel, dates, marks, label_events=i < ncols, numbered=numbered)

    handles: dict[str, Artist] = {}
    for ax, panel in zip(axes, panels, strict=True):
        if len(panel.series) > 1:  # a single series is named by its panel title
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
    figure_legend(fig, handles, band_text(), marks, numbered)
    n = run.replicates
    fig.suptitle(
        f"{run.name}: {title.lower()} — median and {BAND_RANGE} range of {n:,} "
        f"replicate{'s' if n != 1 else ''}",
        fontsize=13,
        fontweight="bold",
    )
    return fig


def _figures_of(run_dir: str | os.PathLike[str]) -> list[str]:
    """The figures a run gets: :data:`FIGURES`, and ``map`` for a run on the map."""
    on_map = (Path(run_dir) / PROVINCES_FILE).is_file()
    return [*FIGURES, *([MAP_FIGURE] if on_map else [])]


def missing_plots(run_dir: str | os.PathLike[str]) -> list[str]:
    """The figures of :func:`plot_run` not (yet) in ``<run_dir>/plots/``."""
    return [
        name
        for name in _figures_of(run_dir)
        if not (Path(run_dir) / "plots" / f"{name}.png").is_file()
    ]


def plot_run(
    run_dir: str | os.PathLike[str] | RunData,
    figures: Sequence[str] | None = None,
    on_figure: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the PNGs of a saved run into ``<run_dir>/plots/`` and return their paths."""
    run = run_dir if isinstance(run_dir, RunData) else load_run(run_dir)
    out = []
    for name in figures or _figures_of(run.path):
        if name == MAP_FIGURE:
            fig = map_figure(run)
        else:
            title, panels = FIGURES[name]
            fig = render_figure(run, title, panels)
        path = save_figure(fig, run.path / "plots" / f"{name}.png")
        out.append(path)
        if on_figure:
            on_figure(path)
    return out
