"""What every matplotlib figure shares: axes, the figure legend, and writing PNGs.

No pyplot: figures are built as :class:`~matplotlib.figure.Figure` objects,
which is safe headless and in threads.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.dates as mdates
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from simulation.experiments.files import atomic_write_bytes
from simulation.plots.events import Mark, legend_label
from simulation.plots.style import BAND_ALPHA, EVENT_COLOUR, GRID_COLOUR

__all__ = [
    "DPI",
    "date_ticks",
    "figure_legend",
    "figure_png",
    "grid_columns",
    "panel_axes",
    "save_figure",
    "thousands_formatter",
    "thousands_ticks",
    "tidy_axes",
]

DPI = 130


def _thousands(x: float, _pos: int) -> str:
    return f"{x:,.0f}"


def thousands_formatter() -> FuncFormatter:
    """Tick labels with thousands separators: ``1,000``."""
    return FuncFormatter(_thousands)


def thousands_ticks(ax: Axes, *, signed: bool = False) -> None:
    """Ticks with thousands separators once the y axis reaches 1,000 (or -1,000 if signed)."""
    lo, hi = ax.get_ylim()
    top = max(abs(lo), abs(hi)) if signed else hi
    if top >= 1000:
        ax.yaxis.set_major_formatter(thousands_formatter())


def date_ticks(ax: Axes) -> None:
    """Four to eight concise date ticks on the x axis."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def tidy_axes(ax: Axes) -> None:
    """A light grid under the data; no top or right spine."""
    ax.grid(True, color=GRID_COLOUR, lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def grid_columns(n: int) -> int:
    """Columns for ``n`` panels."""
    return 1 if n == 1 else 2 if n in (2, 4) else 3


def panel_axes(
    n: int, ncols: int, panel_size: tuple[float, float], extra_height: float
) -> tuple[Figure, list[Axes]]:
    """A figure with a grid of ``n`` panels (``ncols`` wide); unused cells are hidden."""
    nrows = -(-n // ncols)
    width, height = panel_size
    fig = Figure(
        figsize=(width * ncols, height * nrows + extra_height), dpi=DPI, layout="constrained"
    )
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def figure_legend(
    fig: Figure,
    handles: dict[str, Artist],
    band_text: str,
    marks: Sequence[Mark],
    numbered: bool,
) -> None:
    """The figure's legend below the panels: series, the band, and the events' dashed lines."""
    handles[band_text] = Patch(color="#555555", alpha=BAND_ALPHA)
    event_line = Line2D([], [], color=EVENT_COLOUR, ls="--", lw=1.0)
    if numbered:
        for i, (when, text) in enumerate(marks, start=1):
            handles[legend_label(i, when, text)] = event_line
    elif marks:
        handles["Event"] = event_line
    # As many columns as the longest entry lets fit across the figure (about
    # 0.55 em a character at 9 pt, plus the handle), so no entry is cut off.
    width_chars = fig.get_figwidth() * 72 / (9 * 0.55)
    longest = max(len(k) for k in handles) + 8
    ncols = max(1, min(len(handles), 4, int(width_chars // longest)))
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=ncols,
        frameon=False,
        fontsize=9,
    )


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Atomically write ``fig`` as PNG."""
    return atomic_write_bytes(path, figure_png(fig))
