"""The look shared by the plots and the browser app: colours, labels, units and numbers.

The matplotlib figures (:mod:`simulation.plots`) and the browser app's charts,
headline and map (:mod:`simulation.viz`) read their colours and texts here, so
a metric looks the same everywhere. Labels and units come from the metrics
table (:data:`simulation.model.record.METRICS`); this module adds only the colours,
the band's text and the number formats. It draws nothing and imports no
plotting library.
"""

from __future__ import annotations

from simulation.experiments.summaries import QUANTILES
from simulation.model.record import METRIC_INDEX

__all__ = [
    "BAND_ALPHA",
    "BAND_RANGE",
    "EVENT_COLOUR",
    "GRID_COLOUR",
    "METRIC_COLOURS",
    "SCENARIO_COLOURS",
    "STATE_COLOURS",
    "band_text",
    "format_number",
    "format_tick",
    "metric_colour",
    "metric_label",
    "metric_unit",
    "scenario_colour",
]

#: One colour per metric. Metrics drawn together (in a panel of the plots or a
#: chart of the app) have different colours.
METRIC_COLOURS: dict[str, str] = {
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
    "arrests": "#e6550d",  # drawn with repression in the app's chart
    "jailed_civilians": "#6a3d9a",
    "active_civilians": "#ff7f0e",
    "enforcers": "#2c7a3f",
    "legitimacy": "#2ca02c",
    "mean_grievance": "#d62728",
    "perceived_threat": "#8c564b",
    "effective_surveillance": "#17becf",
}

#: Civilians on the app's map, by state: (legend label, colour).
STATE_COLOURS: dict[str, tuple[str, str]] = {
    "quiet": ("Quiet", "#b9cde3"),
    "active": ("Active: open dissent", "#f16913"),
    "jailed": ("Jailed", "#4d4d4d"),
}

#: One colour per compared scenario, in order (the first is the reference).
SCENARIO_COLOURS: tuple[str, ...] = (
    "#1f4e79",
    "#c0392b",
    "#2e8b57",
    "#e67e22",
    "#7b3fa0",
    "#8c6d1f",
    "#17a2b8",
    "#555555",
)

EVENT_COLOUR = "#888888"  # the dashed lines at scenario events
GRID_COLOUR = "#e6e6e6"
BAND_ALPHA = 0.2  # opacity of a 10-90% band

#: The band's quantiles as text: "10–90%".
BAND_RANGE = f"{QUANTILES[0] * 100:g}–{QUANTILES[1] * 100:g}%"


def band_text(of: str = "replicates") -> str:
    """The band's legend text: ``10–90% of replicates``."""
    return f"{BAND_RANGE} of {of}"


def metric_colour(name: str) -> str | None:
    """The colour of metric ``name`` (None if it has none: the plot picks one)."""
    return METRIC_COLOURS.get(name)


def metric_label(name: str) -> str:
    """The metric's label from the metrics table (its name if it is not there)."""
    metric = METRIC_INDEX.get(name)
    return metric.label if metric else name


def metric_unit(name: str) -> str:
    """The metric's unit from the metrics table (empty if it is not there)."""
    metric = METRIC_INDEX.get(name)
    return metric.unit if metric else ""


def scenario_colour(k: int) -> str:
    """The colour of the ``k``-th compared scenario."""
    return SCENARIO_COLOURS[k % len(SCENARIO_COLOURS)]


def format_number(x: float) -> str:
    """A number in a table or on a figure: ``12,345``, ``123``, ``12.3``, ``0.123``."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.1f}"
    return f"{x:.3f}"


def format_tick(v: float) -> str:
    """A compact axis tick: ``5000``, ``50k``, ``1.5M``."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"
