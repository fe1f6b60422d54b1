"""Event marks: the dated, labelled lines at the US withdrawal and at every scenario event.

:func:`event_marks` builds them once, for the plots of a saved run and for
the browser app's charts and status card alike; the rest of this module draws
them on matplotlib axes (dashed lines, with labels or numbered badges).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import pandas as pd
from matplotlib.axes import Axes

from simulation.experiments.loading import RunData
from simulation.plots.style import EVENT_COLOUR
from simulation.scenario.core import Event

__all__ = [
    "EVENT_LABEL_MAX",
    "badge_text",
    "clusters",
    "crowded",
    "event_marks",
    "legend_label",
    "mark_events",
    "merged_event_marks",
    "run_event_marks",
]

WITHDRAWAL = "US withdrawal"
#: Longest event label in a figure legend (longer ones end in an ellipsis).
EVENT_LABEL_MAX = 64

Mark = tuple[pd.Timestamp, str]


class HasEvents(Protocol):
    """What event marks are made from: a :class:`~simulation.scenario.Scenario` or a run."""

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def events(self) -> Sequence[Event]: ...

    def date_of(self, step: int) -> dt.date: ...


def event_marks(source: HasEvents, last_step: int | None = None) -> list[tuple[dt.date, str]]:
    """``(date, label)`` of the US withdrawal and every event, by date; one per week.

    Labels of events in the same week are joined with "; ". Events before
    step 0, or after ``last_step`` if given, are left out.
    """
    by_step: dict[int, list[str]] = {}

    def shown(step: int) -> bool:
        return step >= 0 and (last_step is None or step <= last_step)

    withdrawal = int(source.params.get("surveillance.withdrawal_week", -1))
    if shown(withdrawal):
        by_step.setdefault(withdrawal, []).append(WITHDRAWAL)
    for ev in source.events:
        if shown(ev.step) and ev.label not in by_step.get(ev.step, []):
            by_step.setdefault(ev.step, []).append(ev.label)
    return [(source.date_of(s), "; ".join(labels)) for s, labels in sorted(by_step.items())]


def run_event_marks(run: RunData) -> list[Mark]:
    """The event marks of a saved run, within its recorded steps, as timestamps."""
    last = int(run.timeseries["step"].max())
    return [(pd.Timestamp(when), text) for when, text in event_marks(run, last)]


def merged_event_marks(runs: Sequence[RunData]) -> list[Mark]:
    """The event lines of several runs: one per date, labels of that date merged."""
    by_date: dict[pd.Timestamp, list[str]] = {}
    for run in runs:
        for when, text in run_event_marks(run):
            labels = by_date.setdefault(when, [])
            for part in text.split("; "):
                if part not in labels:
                    labels.append(part)
    return [(when, "; ".join(labels)) for when, labels in sorted(by_date.items())]


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


def crowded(marks: Sequence[Mark], dates: pd.DatetimeIndex, min_gap: float = 0.04) -> bool:
    """True if event labels would overlap (gaps under ``min_gap`` of the axis width)."""
    if len(marks) < 2:
        return False
    where = sorted(_fraction(m[0], dates) for m in marks)
    return min(b - a for a, b in itertools.pairwise(where)) < min_gap


def legend_label(i: int, when: pd.Timestamp, text: str) -> str:
    """A numbered event's legend entry, ``(1) 15 Aug 2021: text``, shortened if too long."""
    label = f"({i}) {when:%d %b %Y}: {text}"
    if len(label) > EVENT_LABEL_MAX:
        label = label[: EVENT_LABEL_MAX - 1].rstrip() + "…"
    return label


def clusters(xs: Sequence[float], gap: float = 0.045) -> list[list[int]]:
    """Indices of sorted positions ``xs`` grouped where neighbours are under ``gap`` apart."""
    groups: list[list[int]] = []
    for i, x in enumerate(xs):
        if groups and x - xs[groups[-1][-1]] < gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def badge_text(numbers: Sequence[int]) -> str:
    """``3``, or ``1–3`` for a run of events close in time that share one badge."""
    return str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"


def mark_events(
    ax: Axes, dates: pd.DatetimeIndex, marks: Sequence[Mark], label_events: bool, numbered: bool
) -> None:
    """Dashed event lines; labels (or numbered badges) on the top row only.

    Numbered events closer in time than a badge is wide share one badge
    (``1–3``) at their first line, so they never pile up at the axis's edge.
    """
    for when, _ in marks:
        ax.axvline(when, color=EVENT_COLOUR, ls="--", lw=1.0, zorder=1)
    if not label_events:
        return
    if numbered:
        groups = clusters([_fraction(when, dates) for when, _ in marks])
        firsts = [marks[g[0]][0] for g in groups]
        # a wide badge (1–3) keeps its box inside the axes at the left edge
        lefts = [0.04 if len(g) > 1 else 0.0 for g in groups]
        spots = _dodge([max(_fraction(w, dates), m) for w, m in zip(firsts, lefts, strict=True)])
        for group, when, x in zip(groups, firsts, spots, strict=True):
            _badge(ax, badge_text([i + 1 for i in group]), when, x)
        return
    for when, text in marks:
        ax.annotate(
            text,
            xy=(when, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -4),
            textcoords="offset points",
            rotation=90,
            va="top",
            ha="left",
            fontsize=7.5,
            color="#444444",
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        )


def _badge(ax: Axes, text: str, when: pd.Timestamp, x: float) -> None:
    """A numbered badge at ``x`` (axes fraction) with a thin line down to its event."""
    box = "circle,pad=0.25" if len(text) == 1 else "round,pad=0.3"
    ax.annotate(
        text,
        xy=(when, 0.9),
        xycoords=("data", "axes fraction"),
        xytext=(x, 0.95),
        textcoords="axes fraction",
        ha="center",
        va="center",
        fontsize=7,
        color="#333333",
        bbox={"boxstyle": box, "fc": "white", "ec": EVENT_COLOUR, "lw": 0.8},
        arrowprops={
            "arrowstyle": "-",
            "color": EVENT_COLOUR,
            "lw": 0.6,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )
