"""The figure of the vicious circle (``loop.png``): its quantities on a circle, links as arrows.

:func:`loop_figure` draws it from the link effects and the loop gain of
:mod:`simulation.experiments.loop_results`. Each arrow is labelled with the
change of its target quantity when the link is cut (% of the intact value,
90% CI); an arrow that passes the 5% rule is bold, red if the link raises its
target and blue if it lowers it; the others are thin and grey. Dashed arrows
are the accounting links no parameter cuts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from simulation.experiments.loop import NODES, UNCUT, Link
from simulation.plots.common import DPI, figure_png

__all__ = ["loop_figure", "render_loop"]

RAISES, LOWERS, WEAK = "#c0392b", "#1f4e79", "#a8a8a8"
RADIUS = 1.0
RAD = 0.18  # curvature of the arrows


def _positions(names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """The nodes on a circle, clockwise from the top."""
    n = len(names)
    return {
        name: (RADIUS * math.cos(math.pi / 2 - 2 * math.pi * k / n),
               RADIUS * math.sin(math.pi / 2 - 2 * math.pi * k / n))
        for k, name in enumerate(names)
    }  # fmt: skip


def _signed(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:+.0f}" if abs(x) >= 9.5 else f"{x:+.1f}"


def _arrow(
    ax: Any, a: tuple[float, float], b: tuple[float, float], rad: float = RAD, **style: Any
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            a, b, connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>", mutation_scale=16,
            shrinkA=34, shrinkB=34, zorder=2, **style,
        )
    )  # fmt: skip


def _midpoint(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The middle of matplotlib's ``arc3`` curve from ``a`` to ``b``."""
    (x1, y1), (x2, y2) = a, b
    return (x1 + x2) / 2 + RAD * (y2 - y1) / 2, (y1 + y2) / 2 - RAD * (x2 - x1) / 2


def _draw_link(ax: Any, link: Link, row: Mapping[str, Any], pos: Mapping[str, Any]) -> None:
    """One measured link: the arrow, and its label (the cut's effect, % of intact, and CI)."""
    strong = bool(row["passes_rule"])
    colour = (RAISES if row["effect"] < 0 else LOWERS) if strong else WEAK
    a, b = pos[link.source], pos[link.target]
    _arrow(ax, a, b, color=colour, lw=2.8 if strong else 1.1)
    x, y = _midpoint(a, b)
    text = (
        f"{_signed(row['effect_pct'])}%\n"
        f"({_signed(row['ci_low_pct'])}, {_signed(row['ci_high_pct'])})"
    )
    ax.text(
        x, y, text, ha="center", va="center", fontsize=8, zorder=4,
        fontweight="bold" if strong else "normal", color="#222222" if strong else "#666666",
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colour, "lw": 0.8},
    )  # fmt: skip


def render_loop(
    title: str,
    subtitle: str,
    links: Sequence[Link],
    effects: pd.DataFrame,
) -> Figure:
    """The circle: nodes, measured links (from ``effects``' *to* rows) and the uncut ones."""
    fig = Figure(figsize=(9.0, 9.6), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    pos = _positions(list(NODES))
    to_rows = effects[effects["role"] == "to"].set_index("link")
    for source, target, _why in UNCUT:
        _arrow(ax, pos[source], pos[target], -RAD, color=WEAK, lw=1.1, ls=(0, (4, 3)))
    for link in links:
        if link.name in to_rows.index:
            _draw_link(ax, link, to_rows.loc[link.name], pos)
    for name, node in NODES.items():
        x, y = pos[name]
        ax.text(
            x, y, node.label, ha="center", va="center", fontsize=10.5, fontweight="bold",
            zorder=5, bbox={"boxstyle": "round,pad=0.45", "fc": "#f4f1ea", "ec": "#444444"},
        )  # fmt: skip
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{title}\n", fontsize=13, fontweight="bold", loc="center")
    fig.text(0.5, 0.935, subtitle, ha="center", va="top", fontsize=9, color="#444444")
    handles = {
        "link raises its target (passes the 5% rule)": Line2D([], [], color=RAISES, lw=2.8),
        "link lowers its target (passes the 5% rule)": Line2D([], [], color=LOWERS, lw=2.8),
        "fails the 5% rule": Line2D([], [], color=WEAK, lw=1.1),
        "not cut by any parameter": Line2D([], [], color=WEAK, lw=1.1, ls=(0, (4, 3))),
    }
    fig.legend(
        list(handles.values()), list(handles), loc="outside lower center", ncols=2,
        frameon=False, fontsize=9,
    )  # fmt: skip
    return fig


def _gain_text(gain: Mapping[str, Any]) -> str:
    g, lo, hi = gain["gain"], gain["ci_low"], gain["ci_high"]
    where = gain["opened_label"]
    if not gain["gain_defined"]:
        return f"Loop gain (opened at {where}): undefined, the pulse's response is not significant"
    return f"Loop gain (opened at {where}): G = {g:+.2f} (90% CI {lo:+.2f} to {hi:+.2f})"


def loop_figure(
    scenario_name: str,
    links: Sequence[Link],
    effects: pd.DataFrame,
    gain: Mapping[str, Any],
    steps: int,
) -> bytes:
    """``loop.png`` as PNG bytes."""
    title = f"The vicious circle in {scenario_name}\n{_gain_text(gain)}"
    subtitle = (
        "Arrow label: change of the target quantity when the link is cut, % of its intact "
        f"value (90% CI);\n{gain['replicates']} paired seeds, {steps} weeks. "
        f"G > 0: the circle reinforces a pulse of {gain['pulse_fighters']:,} fighters "
        f"(week {gain['pulse_week']}); G < 0: it damps it."
    )
    return figure_png(render_loop(title, subtitle, links, effects))
