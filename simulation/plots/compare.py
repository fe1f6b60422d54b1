"""Figures of several runs in one (``khorasan compare``): a band per scenario or difference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulation.plots import style
from simulation.plots.common import (
    date_ticks,
    figure_legend,
    grid_columns,
    panel_axes,
    thousands_ticks,
    tidy_axes,
)
from simulation.plots.events import Mark, crowded, mark_events

__all__ = ["Band", "render_bands"]


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
