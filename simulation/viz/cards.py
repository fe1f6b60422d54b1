"""The page's text, as HTML: the headline, the status card and the scenario card.

The headline's tiles take the colours of their metrics
(:mod:`simulation.plots.style`), as in the charts and the plots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape as esc
from typing import Any

import numpy as np

from simulation.model import ConflictModel
from simulation.plots.events import event_marks
from simulation.plots.style import metric_colour
from simulation.scenario.core import Scenario
from simulation.viz.live import VizModel, metric_columns
from simulation.viz.settings import SLIDERS, change_text


def _latest(model: ConflictModel) -> tuple[dict[str, np.ndarray], Callable[[str], str]]:
    """The page's metric columns, and a metric's latest value as a count (``1,234``)."""
    columns, _ = metric_columns(model)

    def count(name: str) -> str:
        return f"{int(round(columns[name][-1])):,}"

    return columns, count


def _progress(model: ConflictModel) -> str:
    """``week 3 of 260``, or how far past the scenario's end Play went."""
    steps = model.config.steps
    if model.steps <= steps:
        return f"week {model.steps} of {steps}"
    return f"week {model.steps} ({model.steps - steps} past the scenario's {steps})"


def _tile(metric: str, value: str, label: str, sub: str) -> str:
    """A headline tile, topped with the metric's colour."""
    colour = metric_colour(metric) or "#999999"
    return (
        f'<div class="kh-kpi" style="border-top-color:{colour}">'
        f'<div class="kh-kpi-v">{esc(value)}</div>'
        f'<div class="kh-kpi-l">{esc(label)}</div><div class="kh-kpi-s">{esc(sub)}</div></div>'
    )


def headline_html(model: ConflictModel) -> str:
    """The date and the headline numbers, as tiles."""
    columns, n = _latest(model)
    reg = model.regime
    total_attacks = int(np.nansum(columns["attacks"]))
    total_deaths = int(np.nansum(columns["attack_deaths"]))
    tiles = [
        _tile("attacks", n("attacks"), "attacks this week", f"{total_attacks:,} so far"),
        _tile("attack_deaths", n("attack_deaths"), "killed this week", f"{total_deaths:,} so far"),
        _tile("isisk_fighters", n("isisk_fighters"), "ISIS-K fighters",
              f"in {n('isisk_cells')} cells"),
        _tile("taliban_fighters", n("taliban_fighters"), "Taliban fighters",
              f"{n('enforcers')} units on map"),
        _tile("repression", f"{reg.repression:.2f}", "repression",
              f"target {reg.target_repression:.2f}; {n('arrests')} arrests"),
        _tile("legitimacy", f"{reg.legitimacy:.2f}", "legitimacy",
              f"mean grievance {columns['mean_grievance'][-1]:.2f}"),
    ]  # fmt: skip
    return (
        f'<div class="kh-head"><div class="kh-when">'
        f'<div class="kh-date">{model.date:%d %B %Y}</div>'
        f'<div class="kh-week">{esc(_progress(model))}</div>'
        f'<div class="kh-when-s">scenario <b>{esc(model.config.name)}</b></div></div>'
        f'<div class="kh-kpis">{"".join(tiles)}</div></div>'
    )


def _events_html(model: ConflictModel) -> str:
    """The scenario's events (and the US withdrawal), past and to come, as a list."""
    items = "".join(
        f'<li class="{"kh-past" if when <= model.date else "kh-next"}">'
        f"<span>{when:%d %b %Y}</span> {esc(label)}</li>"
        for when, label in event_marks(model.config)
    )
    if not items:
        return ""
    return (
        '<div class="kh-sub">Events <span class="kh-note">(dashed lines in the plots)'
        f'</span></div><ul class="kh-events">{items}</ul>'
    )


def status_html(model: ConflictModel) -> str:
    """The status card: more numbers, the events, and the settings the model was built with."""
    _, n = _latest(model)
    src = model.source if isinstance(model, VizModel) else model.config.name
    facts = [
        ("Civilians", f"{n('active_civilians')} active, {n('jailed_civilians')} jailed, "
                      f"{n('quiet_civilians')} quiet"),
        ("Attack plots", f"{n('attacks')} carried out, {n('attacks_interdicted')} stopped "
                         f"this week"),
        ("Surveillance", f"{model.effective_surveillance:.2f} chance a plot is stopped"),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    settings = "".join(
        f"<div>{esc(s.name)} = {esc(s.text(s.value_of(model.config)))}</div>" for s in SLIDERS
    )
    return (
        f'<div class="kh-status"><table>{table}</table>'
        + _events_html(model)
        + f'<div class="kh-sub">This run: scenario <b>{esc(model.config.name)}</b> '
        f'<span class="kh-note">({esc(src)})</span> with</div>'
        f'<div class="kh-settings">{settings}</div></div>'
    )


def scenario_card_html(base: Scenario | None, changed: Mapping[str, Any]) -> str:
    """The scenario card's text: the description and what the sliders changed."""
    if base is None:
        return ""
    parts = [f'<p class="kh-desc">{esc(base.description)}</p>'] if base.description else []
    if changed:
        items = "".join(
            f"<li><code>{esc(name)}</code>: {esc(change_text(base, name, value))}</li>"
            for name, value in changed.items()
        )
        parts.append(f"<p><b>Changed from {esc(base.name)}:</b></p><ul>{items}</ul>")
    else:
        parts.append(f"<p>No changes from {esc(base.name)}.</p>")
    return "".join(parts)
