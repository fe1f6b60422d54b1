"""Figures of a parameter sweep (``khorasan sweep``): lines for one parameter, heatmaps for two.

:func:`sweep_figure` draws ``sweep.png`` from the sweep's tidy table
(:func:`simulation.experiments.sweep.sweep_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulation.experiments.summaries import HEADLINES, QUANTILES
from simulation.experiments.sweep import SweepAxis
from simulation.plots.common import (
    figure_png,
    grid_columns,
    panel_axes,
    thousands_formatter,
    thousands_ticks,
    tidy_axes,
)
from simulation.plots.style import (
    BAND_ALPHA,
    BAND_RANGE,
    SCENARIO_COLOURS,
    band_text,
    format_number,
)
from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario

__all__ = ["render_sweep_heatmaps", "render_sweep_lines", "sweep_figure"]


def render_sweep_lines(
    title: str,
    xlabel: str,
    x: Sequence[float],
    panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    *,
    integer_x: bool = False,
    categorical: bool = False,
) -> Figure:
    """A sweep of one parameter: per panel the median (line, dots) and 10-90% band over x.

    With ``categorical`` (text or true/false values) the values are evenly
    spaced ticks in the order given.
    """
    fig, axes = panel_axes(len(panels), grid_columns(len(panels)), (4.8, 3.4), 1.0)
    colour = SCENARIO_COLOURS[0]
    xs = np.arange(len(x), dtype=float) if categorical else np.asarray(x, dtype=float)
    for ax, (panel_title, med, lo, hi) in zip(axes, panels, strict=True):
        ax.plot(xs, med, color=colour, lw=1.8, marker="o", ms=4)
        ax.fill_between(xs, lo, hi, color=colour, alpha=BAND_ALPHA, lw=0)
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylim(bottom=0)
        thousands_ticks(ax)
        if categorical:
            ax.set_xticks(xs, [_tick(v) for v in x])
        elif integer_x:
            ax.xaxis.get_major_locator().set_params(integer=True)
        tidy_axes(ax)
    fig.legend(
        [
            Line2D([], [], color=colour, lw=1.8, marker="o", ms=4),
            Patch(color=colour, alpha=BAND_ALPHA),
        ],
        ["Median over replicates", band_text()],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig


def _tick(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, int | float | np.number) else str(v)


def _annotate(ax: Axes, values: np.ndarray) -> None:
    """Each cell's value, white on the dark half of the colour scale."""
    mid = np.nanmean([np.nanmin(values), np.nanmax(values)])
    for (r, c), v in np.ndenumerate(values):
        ax.text(c, r, format_number(v), ha="center", va="center", fontsize=7.5,
                color="white" if v < mid else "black")  # fmt: skip


def render_sweep_heatmaps(
    title: str,
    xlabel: str,
    ylabel: str,
    x: Sequence[float],
    y: Sequence[float],
    panels: Sequence[tuple[str, np.ndarray]],
) -> Figure:
    """A sweep of two parameters: per panel a heatmap of the median (rows y, columns x)."""
    fig, axes = panel_axes(len(panels), grid_columns(len(panels)), (5.0, 4.0), 0.6)
    annotate = len(x) * len(y) <= 64
    for ax, (panel_title, values) in zip(axes, panels, strict=True):
        image = ax.imshow(
            values, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest"
        )
        ax.set_xticks(range(len(x)), [_tick(v) for v in x], fontsize=8)
        ax.set_yticks(range(len(y)), [_tick(v) for v in y], fontsize=8)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.ax.tick_params(labelsize=8)
        if np.nanmax(np.abs(values)) >= 1000:
            bar.ax.yaxis.set_major_formatter(thousands_formatter())
        if annotate:
            _annotate(ax, values)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig


def _label(name: str) -> str:
    """An axis label: the parameter's label and unit, then its dotted name."""
    p = ptable.get(name)
    unit = f" ({p.unit})" if p.unit not in ("", "-") else ""
    return f"{p.label}{unit}\n{name}" if p.label else f"{name}{unit}"


def sweep_figure(scenario: Scenario, axes: Sequence[SweepAxis], table: pd.DataFrame) -> bytes:
    """``sweep.png``: lines with bands (one parameter) or median heatmaps (two)."""
    n = int(table.groupby("point").size().min())
    reps = f"{n:,} replicate{'s' if n != 1 else ''} per point"
    titles = {h.name: f"{h.label} ({h.unit})" for h in HEADLINES}
    if len(axes) == 1:
        a = axes[0]
        panels = []
        for h in HEADLINES:
            g = table.groupby(a.name, sort=False)[h.name]
            panels.append(
                (
                    titles[h.name],
                    g.median().to_numpy(),
                    g.quantile(QUANTILES[0]).to_numpy(),
                    g.quantile(QUANTILES[1]).to_numpy(),
                )
            )
        x = list(table.drop_duplicates(a.name)[a.name])
        fig = render_sweep_lines(
            f"{scenario.name}: sweep of {a.name} — median and {BAND_RANGE} range, {reps}",
            _label(a.name),
            x,
            panels,
            integer_x=a.kind is int,
            categorical=a.kind in (str, bool),
        )
    else:
        ya, xa = axes  # first parameter on rows
        panels = []
        for h in HEADLINES:
            med = table.groupby([ya.name, xa.name], sort=False)[h.name].median()
            grid = np.array(
                [[med.get((yv, xv), np.nan) for xv in xa.values] for yv in ya.values], dtype=float
            )
            panels.append((f"{titles[h.name]}, median", grid))
        fig = render_sweep_heatmaps(
            f"{scenario.name}: sweep of {ya.name} and {xa.name} — {reps}",
            _label(xa.name),
            _label(ya.name),
            list(xa.values),
            list(ya.values),
            panels,
        )
    return figure_png(fig)
