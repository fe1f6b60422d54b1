"""Plots of a saved run: they read the run directory, never a live model.

:func:`plot_run` writes ``plots/violence.png``, ``plots/repression.png`` and
``plots/overview.png``. Each panel shows the median over replicates as a
line and the 10-90% range as a band, against calendar dates, with dashed
grey lines at scenario events and at the US withdrawal.

:func:`render_bands` draws several runs in one figure (``khorasan compare``:
one colour per scenario, or differences between scenarios), and
:func:`render_sweep_lines` and :func:`render_sweep_heatmaps` draw sweeps
(``khorasan sweep``).
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from simulation.metrics import METRIC_INDEX
from simulation.results import RunData, atomic_write_bytes, load_run

__all__ = ["FIGURES", "Band", "Panel", "Series", "figure_png", "merged_event_marks",
           "missing_plots", "plot_run", "render_bands", "render_figure",
           "render_sweep_heatmaps", "render_sweep_lines"]

DPI = 130
BAND_ALPHA = 0.2
EVENT_COLOUR = "#888888"

#: One colour per metric, shared by every figure.
COLOURS: dict[str, str] = {
    "attacks": "#d62728",
    "attacks_interdicted": "#7f7f7f",
    "attack_deaths": "#8c1c13",
    "civilian_deaths": "#e377c2",
    "taliban_deaths": "#2ca02c",
    "mass_casualty_attacks": "#9467bd",
    "collateral_casualties": "#ff7f0e",
    "violence_index": "#8c1c13",
    "isisk_fighters": "#111111",
    "taliban_fighters": "#2c7a3f",
    "recruits_defectors": "#1f77b4",
    "recruits_civilians": "#e377c2",
    "recruits_events": "#bcbd22",
    "ct_removals": "#17becf",
    "repression": "#1f3f8c",
    "target_repression": "#6baed6",
    "repression_index": "#9467bd",
    "arrests": "#1f3f8c",
    "jailed_civilians": "#6a3d9a",
    "active_civilians": "#ff7f0e",
    "enforcers": "#2c7a3f",
    "legitimacy": "#2ca02c",
    "mean_grievance": "#d62728",
    "perceived_threat": "#8c564b",
    "effective_surveillance": "#17becf",
}


@dataclass(frozen=True)
class Series:
    """One line of a panel: a metric, optionally transformed per replicate."""

    metric: str
    label: str | None = None
    transform: str = "none"  # "none" or "cumsum"

    @property
    def text(self) -> str:
        """Legend text."""
        if self.label:
            return self.label
        metric = METRIC_INDEX.get(self.metric)
        return metric.label if metric else self.metric


@dataclass(frozen=True)
class Panel:
    """One axes: a title with units and the series drawn in it."""

    title: str
    series: tuple[Series, ...]


def _p(title: str, *metrics: str | Series) -> Panel:
    return Panel(title, tuple(m if isinstance(m, Series) else Series(m) for m in metrics))


#: File name -> (title, panels) of every figure written by plot_run.
FIGURES: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "overview": ("Overview", (
        _p("Violence (people per week)", "attack_deaths", "collateral_casualties"),
        _p("Repression (0–1)", "repression", "target_repression"),
        _p("ISIS-K strength (fighters)", "isisk_fighters"),
        _p("Taliban strength (fighters)", "taliban_fighters"),
        _p("Cumulative recruitment to ISIS-K by source (fighters)",
           Series("recruits_defectors", transform="cumsum"),
           Series("recruits_civilians", transform="cumsum"),
           Series("recruits_events", transform="cumsum")),
        _p("Grievance and legitimacy (0–1)", "mean_grievance", "legitimacy"),
    )),
    "violence": ("Violence", (
        _p("ISIS-K attacks (per week)", "attacks", "attacks_interdicted"),
        _p("Deaths in ISIS-K attacks (deaths per week)",
           "attack_deaths", "civilian_deaths", "taliban_deaths"),
        _p("Cumulative deaths in ISIS-K attacks (deaths)",
           Series("attack_deaths", "Attack deaths, cumulative", "cumsum")),
        _p("Mass-casualty attacks (per week)", "mass_casualty_attacks"),
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
}


def _bands(run: RunData, series: Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, 10% and 90% over replicates per step (after the series' transform)."""
    wide = run.timeseries.pivot(index="step", columns="replicate", values=series.metric)
    values = wide.sort_index().to_numpy(dtype=float)
    if series.transform == "cumsum":
        values = np.nancumsum(values, axis=0)
    return (np.nanmedian(values, axis=1), np.nanquantile(values, 0.1, axis=1),
            np.nanquantile(values, 0.9, axis=1))


def _event_marks(run: RunData) -> list[tuple[pd.Timestamp, str]]:
    """(date, label) of every event line, with labels at the same date merged."""
    by_step: dict[int, list[str]] = {}
    withdrawal = int(run.params.get("surveillance.withdrawal_week", -1))
    steps = int(run.timeseries["step"].max())
    if 0 <= withdrawal <= steps:
        by_step.setdefault(withdrawal, []).append("US withdrawal")
    for ev in run.events:
        if 0 <= ev.step <= steps and ev.label not in by_step.get(ev.step, []):
            by_step.setdefault(ev.step, []).append(ev.label)
    return [(pd.Timestamp(run.date_of(s)), "; ".join(labels))
            for s, labels in sorted(by_step.items())]


def _thousands(x: float, _pos: int) -> str:
    return f"{x:,.0f}"


def _draw_panel(ax: Axes, run: RunData, panel: Panel, dates: pd.DatetimeIndex,
                marks: Sequence[tuple[pd.Timestamp, str]], label_events: bool,
                numbered: bool) -> None:
    for s in panel.series:
        if s.metric not in run.timeseries.columns:
            continue
        med, lo, hi = _bands(run, s)
        (line,) = ax.plot(dates, med, color=COLOURS.get(s.metric), lw=1.8, label=s.text)
        ax.fill_between(dates, lo, hi, color=line.get_color(), alpha=BAND_ALPHA, lw=0)
    ax.set_title(panel.title, fontsize=10.5, loc="left")
    ax.set_ylim(bottom=0)
    if ax.get_ylim()[1] >= 1000:
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlim(dates[0], dates[-1])
    _mark_events(ax, dates, marks, label_events, numbered)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(True, color="#e6e6e6", lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _fraction(when: pd.Timestamp, dates: pd.DatetimeIndex) -> float:
    """Position of ``when`` as a fraction of the date axis."""
    span = (dates[-1] - dates[0]).total_seconds() or 1.0
    return (when - dates[0]).total_seconds() / span


def _dodge(xs: Sequence[float], gap: float = 0.045) -> list[float]:
    """Spread sorted badge positions at least ``gap`` apart, staying inside [0, 1]."""
    out: list[float] = []
    for x in xs:
        out.append(max(x, out[-1] + gap) if out else max(x, gap / 2))
    shift = max(0.0, out[-1] - (1 - gap / 2)) if out else 0.0
    out = [x - shift for x in out]
    for i in range(len(out) - 2, -1, -1):  # keep the gap after shifting left
        out[i] = min(out[i], out[i + 1] - gap)
    return out


def _crowded(marks: Sequence[tuple[pd.Timestamp, str]], dates: pd.DatetimeIndex,
             min_gap: float = 0.04) -> bool:
    """True if event labels would overlap (gaps under ``min_gap`` of the axis width)."""
    if len(marks) < 2:
        return False
    where = sorted(_fraction(m[0], dates) for m in marks)
    return min(b - a for a, b in itertools.pairwise(where)) < min_gap


def render_figure(run: RunData, title: str, panels: Sequence[Panel], ncols: int = 3) -> Figure:
    """A figure of ``panels`` for a saved run (no pyplot; safe headless)."""
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.2 * ncols, 3.6 * nrows + 1.0), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    steps = np.sort(run.timeseries["step"].unique())
    dates = pd.DatetimeIndex([pd.Timestamp(run.date_of(int(s))) for s in steps])
    marks = _event_marks(run)
    numbered = _crowded(marks, dates)
    for i, (ax, panel) in enumerate(zip(axes, panels, strict=False)):
        _draw_panel(ax, run, panel, dates, marks, label_events=i < ncols, numbered=numbered)
    for ax in axes[len(panels):]:
        ax.set_visible(False)

    handles: dict[str, Artist] = {}
    for ax, panel in zip(axes, panels, strict=False):
        if len(panel.series) > 1:  # a single series is named by its panel title
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
    _figure_legend(fig, handles, "10–90% of replicates", marks, numbered)
    n = run.replicates
    fig.suptitle(f"{run.name}: {title.lower()} — median and 10–90% range of {n:,} "
                 f"replicate{'s' if n != 1 else ''}", fontsize=13, fontweight="bold")
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Atomically write ``fig`` as PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return atomic_write_bytes(path, buf.getvalue())


def missing_plots(run_dir: str | os.PathLike[str]) -> list[str]:
    """The figures of :func:`plot_run` not (yet) in ``<run_dir>/plots/``."""
    return [name for name in FIGURES if not (Path(run_dir) / "plots" / f"{name}.png").is_file()]


def plot_run(run_dir: str | os.PathLike[str] | RunData,
             figures: Sequence[str] | None = None,
             on_figure: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the PNGs of a saved run into ``<run_dir>/plots/`` and return their paths."""
    run = run_dir if isinstance(run_dir, RunData) else load_run(run_dir)
    out = []
    for name in figures or FIGURES:
        title, panels = FIGURES[name]
        path = save_figure(render_figure(run, title, panels), run.path / "plots" / f"{name}.png")
        out.append(path)
        if on_figure:
            on_figure(path)
    return out


# --- comparisons and sweeps (several runs in one figure) ----------------------------

#: One colour per compared scenario, in order (the first is the reference).
SCENARIO_COLOURS: tuple[str, ...] = (
    "#1f4e79", "#c0392b", "#2e8b57", "#e67e22", "#7b3fa0", "#8c6d1f", "#17a2b8", "#555555",
)


def scenario_colour(k: int) -> str:
    """The colour of the ``k``-th compared scenario."""
    return SCENARIO_COLOURS[k % len(SCENARIO_COLOURS)]


@dataclass(frozen=True)
class Band:
    """A median line with a low-high band, ready to draw."""

    label: str
    colour: str
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray


def merged_event_marks(runs: Sequence[RunData]) -> list[tuple[pd.Timestamp, str]]:
    """The event lines of several runs: one per date, labels of that date merged."""
    by_date: dict[pd.Timestamp, list[str]] = {}
    for run in runs:
        for when, text in _event_marks(run):
            labels = by_date.setdefault(when, [])
            for part in text.split("; "):
                if part not in labels:
                    labels.append(part)
    return [(when, "; ".join(labels)) for when, labels in sorted(by_date.items())]


def _grid(n: int) -> int:
    """Columns for ``n`` panels."""
    return 1 if n == 1 else 2 if n in (2, 4) else 3


#: Longest event label in a figure legend (longer ones end in an ellipsis).
EVENT_LABEL_MAX = 64


def _figure_legend(fig: Figure, handles: dict[str, Artist], band_text: str,
                   marks: Sequence[tuple[pd.Timestamp, str]], numbered: bool) -> None:
    """The figure's legend below the panels: series, the band, and the events' dashed lines."""
    handles[band_text] = Patch(color="#555555", alpha=BAND_ALPHA)
    event_line = Line2D([], [], color=EVENT_COLOUR, ls="--", lw=1.0)
    if numbered:
        for i, (when, text) in enumerate(marks, start=1):
            label = f"({i}) {when:%d %b %Y}: {text}"
            if len(label) > EVENT_LABEL_MAX:
                label = label[:EVENT_LABEL_MAX - 1].rstrip() + "…"
            handles[label] = event_line
    elif marks:
        handles["Event"] = event_line
    # As many columns as the longest entry lets fit across the figure (about
    # 0.55 em a character at 9 pt, plus the handle), so no entry is cut off.
    width_chars = fig.get_figwidth() * 72 / (9 * 0.55)
    longest = max(len(k) for k in handles) + 8
    ncols = max(1, min(len(handles), 4, int(width_chars // longest)))
    fig.legend(list(handles.values()), list(handles), loc="outside lower center",
               ncols=ncols, frameon=False, fontsize=9)


def _mark_events(ax: Axes, dates: pd.DatetimeIndex, marks: Sequence[tuple[pd.Timestamp, str]],
                 label_events: bool, numbered: bool) -> None:
    """Dashed event lines; labels (or numbered badges) on the top row only."""
    badges = _dodge([_fraction(when, dates) for when, _ in marks]) if numbered else []
    for i, (when, text) in enumerate(marks, start=1):
        ax.axvline(when, color=EVENT_COLOUR, ls="--", lw=1.0, zorder=1)
        if not label_events:
            continue
        if numbered:
            ax.annotate(str(i), xy=(when, 0.9), xycoords=("data", "axes fraction"),
                        xytext=(badges[i - 1], 0.95), textcoords="axes fraction",
                        ha="center", va="center", fontsize=7, color="#333333",
                        bbox={"boxstyle": "circle,pad=0.25", "fc": "white",
                              "ec": EVENT_COLOUR, "lw": 0.8},
                        arrowprops={"arrowstyle": "-", "color": EVENT_COLOUR, "lw": 0.6,
                                    "shrinkA": 0, "shrinkB": 0})
        else:
            ax.annotate(text, xy=(when, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -4), textcoords="offset points", rotation=90,
                        va="top", ha="left", fontsize=7.5, color="#444444",
                        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.75})


def _tidy_axes(ax: Axes) -> None:
    ax.grid(True, color="#e6e6e6", lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def render_bands(title: str, panels: Sequence[tuple[str, Sequence[Band]]],
                 dates: pd.DatetimeIndex, marks: Sequence[tuple[pd.Timestamp, str]] = (), *,
                 zero_line: bool = False, band_text: str = "10–90% of replicates") -> Figure:
    """One panel per ``(title, bands)`` against dates; one legend for the whole figure.

    Used by ``khorasan compare``: each band is a scenario (or a difference
    between two), with its median line and 10-90% band. ``zero_line`` draws
    y = 0 and lets the axis go negative (differences); otherwise y starts at 0.
    """
    ncols = _grid(len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.2 * ncols, 3.5 * nrows + 1.2), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    numbered = _crowded(marks, dates)
    handles: dict[str, Artist] = {}
    for i, (ax, (panel_title, bands)) in enumerate(zip(axes, panels, strict=False)):
        for band in bands:
            (line,) = ax.plot(dates, band.median, color=band.colour, lw=1.8, label=band.label)
            ax.fill_between(dates, band.low, band.high, color=band.colour, alpha=BAND_ALPHA,
                            lw=0)
            handles.setdefault(band.label, line)
        if zero_line:
            ax.axhline(0, color="#333333", lw=0.9, zorder=1.5)
        else:
            ax.set_ylim(bottom=0)
        lo, hi = ax.get_ylim()
        if max(abs(lo), abs(hi)) >= 1000:
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        ax.set_xlim(dates[0], dates[-1])
        _mark_events(ax, dates, marks, label_events=i < ncols, numbered=numbered)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        _tidy_axes(ax)
    for ax in axes[len(panels):]:
        ax.set_visible(False)

    _figure_legend(fig, handles, band_text, marks, numbered)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def render_sweep_lines(title: str, xlabel: str, x: Sequence[float],
                       panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
                       *, integer_x: bool = False) -> Figure:
    """A sweep of one parameter: per panel the median (line, dots) and 10-90% band over x."""
    ncols = _grid(len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(4.8 * ncols, 3.4 * nrows + 1.0), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    colour = SCENARIO_COLOURS[0]
    xs = np.asarray(x, dtype=float)
    for ax, (panel_title, med, lo, hi) in zip(axes, panels, strict=False):
        ax.plot(xs, med, color=colour, lw=1.8, marker="o", ms=4)
        ax.fill_between(xs, lo, hi, color=colour, alpha=BAND_ALPHA, lw=0)
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylim(bottom=0)
        if ax.get_ylim()[1] >= 1000:
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        if integer_x:
            ax.xaxis.get_major_locator().set_params(integer=True)
        _tidy_axes(ax)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.legend([Line2D([], [], color=colour, lw=1.8, marker="o", ms=4),
                Patch(color=colour, alpha=BAND_ALPHA)],
               ["Median over replicates", "10–90% of replicates"],
               loc="outside lower center", ncols=2, frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig


def _tick(v: float) -> str:
    return f"{v:g}"


def render_sweep_heatmaps(title: str, xlabel: str, ylabel: str, x: Sequence[float],
                          y: Sequence[float], panels: Sequence[tuple[str, np.ndarray]]
                          ) -> Figure:
    """A sweep of two parameters: per panel a heatmap of the median (rows y, columns x)."""
    ncols = _grid(len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 4.0 * nrows + 0.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    annotate = len(x) * len(y) <= 64
    for ax, (panel_title, values) in zip(axes, panels, strict=False):
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis",
                          interpolation="nearest")
        ax.set_xticks(range(len(x)), [_tick(v) for v in x], fontsize=8)
        ax.set_yticks(range(len(y)), [_tick(v) for v in y], fontsize=8)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_title(panel_title, fontsize=10.5, loc="left")
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.ax.tick_params(labelsize=8)
        if np.nanmax(np.abs(values)) >= 1000:
            bar.ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        if annotate:
            mid = np.nanmean([np.nanmin(values), np.nanmax(values)])
            for (r, c), v in np.ndenumerate(values):
                text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
                ax.text(c, r, text, ha="center", va="center", fontsize=7.5,
                        color="white" if v < mid else "black")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig
