"""The page's live charts: metrics against dates, drawn as SVG every week.

Each chart (:class:`PlotSpec`, listed in :data:`PLOTS`) has metrics on a left
axis and optionally a right axis. Their colours and legend labels come from
:mod:`simulation.plots.style` and the metrics table, and the dashed event
lines from :func:`simulation.plots.events.event_marks`, as in the plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape as esc
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.ticker import MaxNLocator

from simulation.model import ConflictModel
from simulation.plots.events import event_marks
from simulation.plots.style import (
    EVENT_COLOUR,
    GRID_COLOUR,
    format_tick,
    metric_colour,
    metric_label,
)
from simulation.scenario.core import DAYS_PER_STEP
from simulation.viz.live import metric_columns


@dataclass(frozen=True)
class PlotSpec:
    """A live chart: metrics on a left axis and optionally a right axis, against dates."""

    key: str
    title: str
    left: tuple[str, ...]
    left_label: str
    right: tuple[str, ...] = ()
    right_label: str = ""
    ylim: tuple[float, float] | None = None


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("violence", "Violence: ISIS-K attacks and the people they kill",
             ("attacks",), "attacks per week", ("attack_deaths",), "deaths per week"),
    PlotSpec("repression", "Repression: the Taliban's thermostat",
             ("repression", "target_repression"), "level (0–1)",
             ("arrests",), "arrests per week", ylim=(0, 1)),
    PlotSpec("strength", "Strength: ISIS-K and Taliban fighters",
             ("isisk_fighters",), "ISIS-K fighters", ("taliban_fighters",), "Taliban fighters"),
    PlotSpec("legitimacy", "Legitimacy of the regime and civilians' grievance",
             ("legitimacy", "mean_grievance"), "level (0–1)", ylim=(0, 1)),
)  # fmt: skip

PLOT_W, PLOT_H = 500.0, 236.0  # the SVG's size in its own units (CSS pixels at that width)
MARGIN = {"left": 54.0, "right": 14.0, "right_twin": 58.0, "top": 10.0, "bottom": 26.0}
AXIS_COLOUR = "#666666"
_Y_LOCATOR = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
_DASHES = ("", "6 3", "2 3")  # the left axis's lines, in turn


@dataclass(frozen=True)
class _Line:
    metric: str
    label: str
    colour: str
    width: float
    dash: str  # SVG stroke-dasharray ("" for solid)
    right: bool


def _line(metric: str, i: int, right: bool) -> _Line:
    """The ``i``-th line of an axis: thick and dashed in turn on the left, thin on the right."""
    colour = metric_colour(metric) or AXIS_COLOUR
    if right:
        return _Line(metric, metric_label(metric), colour, 1.3, "", True)
    return _Line(metric, metric_label(metric), colour, 2.0, _DASHES[i % 3], False)


def _legend_html(lines: list[_Line]) -> str:
    """The chart's legend: a key and a label per line."""
    return "".join(
        f'<span><svg class="kh-key" viewBox="0 0 26 10" aria-hidden="true"><line x1="1" '
        f'y1="5" x2="25" y2="5" stroke="{ln.colour}" stroke-width="{ln.width}"'
        + (f' stroke-dasharray="{ln.dash}"' if ln.dash else "")
        + f"/></svg>{esc(ln.label)}"
        + (" <i>(right axis)</i>" if ln.right else "")
        + "</span>"
        for ln in lines
    )


class PlotFigure:
    """A live plot of one model, drawn as SVG (title and legend in HTML above it).

    The time axis spans whole years from the start, a year more whenever the
    lines get within a quarter of its end; the value axes step up to round
    limits, so the axes (drawn with matplotlib's tick locators and date
    formatter) change rarely and are kept between weeks. Every week only the
    lines are drawn again: a millisecond or two.
    """

    def __init__(self, model: ConflictModel, spec: PlotSpec) -> None:
        self.spec = spec
        self.start = float(mdates.date2num(model.config.start_date))
        self.events = [float(mdates.date2num(when)) for when, _ in event_marks(model.config)]
        self.lines = [_line(m, i, False) for i, m in enumerate(spec.left)]
        self.lines += [_line(m, i, True) for i, m in enumerate(spec.right)]
        self.right_colour = self.lines[len(spec.left)].colour if spec.right else AXIS_COLOUR
        self.x0 = MARGIN["left"]
        self.x1 = PLOT_W - (MARGIN["right_twin"] if spec.right else MARGIN["right"])
        self.y0, self.y1 = PLOT_H - MARGIN["bottom"], MARGIN["top"]  # SVG y of 0 and of the top
        self.limits: Any = None
        self.axes = ""
        self.head = (
            f'<div class="kh-plot-title">{esc(spec.title)}</div>'
            f'<div class="kh-plot-legend">{_legend_html(self.lines)}</div>'
        )

    def _limits(self, columns: Mapping[str, np.ndarray], steps: int) -> tuple[float, ...]:
        def top(metrics: tuple[str, ...]) -> float:
            highest = (float(np.nanmax(columns[m], initial=0.0)) for m in metrics)
            return _nice_top(max(highest, default=0.0))

        left = self.spec.ylim[1] if self.spec.ylim else top(self.spec.left)
        right = top(self.spec.right) if self.spec.right else 1.0
        return (self.start, self.start + DAYS_PER_STEP * _horizon(steps), left, right)

    def _sx(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.limits[0], self.limits[1]
        return self.x0 + (x - lo) * (self.x1 - self.x0) / (hi - lo)

    def _sy(self, y: np.ndarray, top: float) -> np.ndarray:
        return self.y0 - y * (self.y0 - self.y1) / top

    def _time_axis(self) -> list[str]:
        """Date ticks, their labels and vertical grid lines."""
        lo, hi = self.limits[0], self.limits[1]
        y0, y1 = self.y0, self.y1
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ticks = np.array(locator.tick_values(mdates.num2date(lo), mdates.num2date(hi)))
        ticks = ticks[(ticks >= lo) & (ticks <= hi)]
        labels = mdates.ConciseDateFormatter(locator).format_ticks(ticks)
        return [
            f'<line x1="{t:.1f}" y1="{y1}" x2="{t:.1f}" y2="{y0}" stroke="{GRID_COLOUR}"/>'
            f'<line x1="{t:.1f}" y1="{y0}" x2="{t:.1f}" y2="{y0 + 4}" stroke="{AXIS_COLOUR}"/>'
            f'<text x="{t:.1f}" y="{y0 + 18}" text-anchor="middle">{esc(label)}</text>'
            for t, label in zip(self._sx(ticks).tolist(), labels, strict=True)
        ]

    def _value_axis(self, top: float, right: bool) -> list[str]:
        """Ticks and labels of the left axis (with horizontal grid lines) or the right one."""
        x = self.x1 if right else self.x0
        anchor, dx = ("start", 7) if right else ("end", -7)
        colour = self.right_colour if right else "#333333"
        out: list[str] = []
        values = [v for v in _Y_LOCATOR.tick_values(0, top) if -1e-9 <= v <= top * 1.000001]
        for v, y in zip(values, self._sy(np.array(values), top).tolist(), strict=True):
            if not right and v > 0:
                out.append(
                    f'<line x1="{self.x0}" y1="{y:.1f}" x2="{self.x1}" y2="{y:.1f}" '
                    f'stroke="{GRID_COLOUR}"/>'
                )
            out.append(
                f'<line x1="{x}" y1="{y:.1f}" x2="{x + (4 if right else -4)}" '
                f'y2="{y:.1f}" stroke="{colour}"/>'
                f'<text x="{x + dx}" y="{y + 4:.1f}" text-anchor="{anchor}" '
                f'fill="{colour}">{format_tick(v)}</text>'
            )
        return out

    def _frame(self) -> list[str]:
        """Event lines, the axes' lines and the axis labels."""
        x0, x1, y0, y1 = self.x0, self.x1, self.y0, self.y1
        out = [
            f'<line x1="{e:.1f}" y1="{y1}" x2="{e:.1f}" y2="{y0}" '
            f'stroke="{EVENT_COLOUR}" stroke-dasharray="4 3"/>'
            for e in self._sx(np.array(self.events)).tolist()
            if x0 <= e <= x1
        ]
        out.append(
            f'<path d="M{x0} {y1}V{y0}H{x1}'
            + (f"V{y1}" if self.spec.right else "")
            + f'" fill="none" stroke="{AXIS_COLOUR}"/>'
        )
        mid = (y0 + y1) / 2
        out.append(
            f'<text transform="translate(13 {mid:.1f}) rotate(-90)" text-anchor="middle" '
            f'class="kh-axis-label">{esc(self.spec.left_label)}</text>'
        )
        if self.spec.right:
            out.append(
                f'<text transform="translate({PLOT_W - 8} {mid:.1f}) rotate(90)" '
                f'text-anchor="middle" class="kh-axis-label" style="fill:{self.right_colour}">'
                f"{esc(self.spec.right_label)}</text>"
            )
        return out

    def _draw_axes(self) -> str:
        """Grid, axes, ticks, labels and event lines for the current limits."""
        _, _, left_top, right_top = self.limits
        out = self._time_axis() + self._value_axis(left_top, right=False)
        if self.spec.right:
            out += self._value_axis(right_top, right=True)
        return "".join(out + self._frame())

    def render(self, model: ConflictModel) -> str:
        """The plot of ``model`` now: title, legend and SVG, as HTML."""
        columns, x = metric_columns(model)
        limits = self._limits(columns, model.steps)
        if limits != self.limits:
            self.limits = limits
            self.axes = self._draw_axes()
        clip = f"kh-clip-{self.spec.key}"
        parts = [
            self.head,
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PLOT_W:g} {PLOT_H:g}" '
            f'class="kh-plot-svg" role="img" aria-label="{esc(self.spec.title)}">'
            f'<defs><clipPath id="{clip}"><rect x="{self.x0}" y="{self.y1 - 4}" '
            f'width="{self.x1 - self.x0 + 4}" height="{self.y0 - self.y1 + 8}"/></clipPath>'
            f"</defs>{self.axes}"
            f'<g clip-path="url(#{clip})" fill="none" stroke-linejoin="round">',
        ]
        sx = self._sx(x)
        dots = []
        for ln in sorted(self.lines, key=lambda ln: not ln.right):  # right axis underneath
            top = self.limits[3] if ln.right else self.limits[2]
            d, last = _svg_path(sx, self._sy(columns[ln.metric], top))
            if not d:
                continue
            dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
            parts.append(f'<path d="{d}" stroke="{ln.colour}" stroke-width="{ln.width}"{dash}/>')
            dots.append(
                f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="{ln.width + 1.2:.1f}" '
                f'fill="{ln.colour}"/>'
            )
        parts += ["</g>", *dots, "</svg>"]
        return "".join(parts)


def _svg_path(px: np.ndarray, py: np.ndarray) -> tuple[str, tuple[float, float]]:
    """SVG path data through the finite points (gaps at NaN), and the last point."""
    ok = np.isfinite(px) & np.isfinite(py)
    if not ok.any():
        return "", (0.0, 0.0)
    starts = ok & ~np.concatenate([[False], ok[:-1]])
    out = [
        ("M" if s else "L") + f"{a:.1f} {b:.1f}"
        for a, b, s in zip(px[ok].tolist(), py[ok].tolist(), starts[ok].tolist(), strict=True)
    ]
    i = np.flatnonzero(ok)[-1]
    return "".join(out), (float(px[i]), float(py[i]))


def _horizon(steps: int) -> int:
    """Weeks shown on the time axis: whole years, at least a quarter ahead of ``steps``."""
    return 52 * max(1, math.ceil((steps + 13) / 52))


def _nice_top(top: float) -> float:
    """A round upper limit above ``top`` so the axis does not jitter every step."""
    if not math.isfinite(top) or top <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 5, 10):
        if top * 1.05 <= m * mag:
            return m * mag
    return 10 * mag
