"""Maps of a run on Afghanistan's provinces (``plots/map.png``), and of two runs' difference.

Drawn from the saved record by province (``provinces.csv``) and the shipped
outlines (:mod:`simulation.model.geography`): the median over replicates of
each province's cumulative attack deaths, of ISIS-K's fighters at the end,
and of the change in those fighters over the run. The sanctuary (Pakistan's
former tribal districts, approximate) is drawn as the cells the model uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import Colormap, Normalize, PowerNorm, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.text import Text

from simulation.experiments.loading import RunData
from simulation.model import geography
from simulation.model.by_province import SANCTUARY
from simulation.plots.style import format_number

__all__ = [
    "MAP_PANELS",
    "ProvinceArtists",
    "difference_map_figure",
    "draw_provinces",
    "map_figure",
    "province_summary",
]

#: (column of :func:`province_summary`, panel title, colour map) of the run map.
MAP_PANELS: tuple[tuple[str, str, str], ...] = (
    ("cum_attack_deaths", "Attack deaths, cumulative", "Reds"),
    ("isisk_fighters_end", "ISIS-K fighters at the end", "Purples"),
    ("isisk_fighters_change", "Change in ISIS-K fighters", "RdBu_r"),
)
_BORDER = "#555555"


def province_summary(provinces: pd.DataFrame) -> pd.DataFrame:
    """Per replicate and place: cumulative attack deaths, fighters at the end and their change."""
    last, first = provinces["step"].max(), provinces["step"].min()
    keys = ["replicate", "province"]
    cum = provinces.groupby(keys, sort=False)["attack_deaths"].sum()
    end = provinces[provinces["step"] == last].set_index(keys)["isisk_fighters"]
    start = provinces[provinces["step"] == first].set_index(keys)["isisk_fighters"]
    return pd.DataFrame(
        {
            "cum_attack_deaths": cum,
            "cum_attacks": provinces.groupby(keys, sort=False)["attacks"].sum(),
            "isisk_fighters_end": end,
            "isisk_fighters_change": end - start,
        }
    ).reset_index()


def _medians(summary: pd.DataFrame, column: str) -> dict[str, float]:
    return summary.groupby("province")[column].median().to_dict()


def _sanctuary_mesh() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell edges (lon, lat) and mask of the sanctuary, at a display resolution."""
    pm = geography.rasterize(160, geography.aspect_height(160))
    lon_edges = pm.west + pm.lon_step * np.arange(pm.width + 1)
    lat_edges = pm.south + pm.lat_step * np.arange(pm.height + 1)
    return lon_edges, lat_edges, pm.sanctuary


@dataclass
class ProvinceArtists:
    """What :func:`draw_provinces` drew, to recolour for another week (``khorasan animate``)."""

    polys: PolyCollection
    names: list[str]  # the province of each polygon
    sanctuary: QuadMesh
    label: Text
    cmap: Colormap
    norm: Normalize

    def recolour(self, values: Mapping[str, float]) -> None:
        """Colour the provinces, the sanctuary and the list of the largest by ``values``."""
        self.polys.set_facecolors([self.cmap(self.norm(values.get(n, 0.0))) for n in self.names])
        shade = self.sanctuary.get_array()  # masked outside the sanctuary
        self.sanctuary.set_array(
            np.ma.masked_where(
                np.ma.getmaskarray(shade), np.full(shade.shape, values.get(SANCTUARY, 0.0))
            )
        )
        self.label.set_text(_top_text(values))
        self.label.set_visible(bool(self.label.get_text()))


def draw_provinces(
    ax: Axes,
    values: Mapping[str, float],
    cmap: Colormap | str,
    norm: Normalize,
    title: str,
) -> ProvinceArtists:
    """The 34 provinces coloured by ``values`` (and the sanctuary by its own), on ``ax``."""
    import matplotlib as mpl

    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    polys, names = [], []
    for province in geography.load_provinces()["provinces"]:
        for ring in province["rings"]:
            polys.append(np.asarray(ring))
            names.append(province["name"])
    lon, lat, mask = _sanctuary_mesh()
    shade = np.ma.masked_where(~mask.T, np.zeros(mask.T.shape))
    mesh = ax.pcolormesh(lon, lat, shade, cmap=cmap, norm=norm, shading="flat", alpha=0.85)
    collection = PolyCollection(polys, edgecolors=_BORDER, lw=0.4)
    ax.add_collection(collection)
    west, south, east, north = geography.bounding_box()
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1 / geography.LON_SCALE)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    for side in ax.spines.values():
        side.set_visible(False)
    label = ax.text(
        0.01,
        0.99,
        "",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=7.5,
        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#cccccc", "alpha": 0.9},
    )
    ax.figure.colorbar(
        mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7, pad=0.01
    ).ax.tick_params(labelsize=7)
    artists = ProvinceArtists(collection, names, mesh, label, cmap, norm)
    artists.recolour(values)
    return artists


def _top_text(values: Mapping[str, float], n: int = 5) -> str:
    """The ``n`` places of largest absolute value, for the map's empty north-west."""
    top = [k for k in sorted(values, key=lambda k: -abs(values[k]))[:n] if values[k] != 0]
    return "\n".join(
        f"{'sanctuary' if k == SANCTUARY else k}: {format_number(values[k])}" for k in top
    )


def _norm(column: str, values: Mapping[str, float]) -> Normalize:
    v = np.array(list(values.values()) or [0.0])
    if column.endswith("_change"):
        reach = max(1.0, float(np.abs(v).max()))
        return TwoSlopeNorm(vcenter=0.0, vmin=-reach, vmax=reach)
    # a square-root scale: Kabul's deaths would otherwise wash out every other province
    return PowerNorm(0.5, vmin=0.0, vmax=max(1.0, float(v.max())))


def map_figure(run: RunData) -> Figure:
    """The run's map: cumulative deaths, ISIS-K at the end, and its change, by province."""
    assert run.provinces is not None, "a run on the map has provinces.csv"
    summary = province_summary(run.provinces)
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    for k, (column, title, cmap) in enumerate(MAP_PANELS):
        values = _medians(summary, column)
        draw_provinces(fig.add_subplot(1, 3, k + 1), values, cmap, _norm(column, values), title)
    start, end = run.date_of(0), run.date_of(int(run.provinces["step"].max()))
    fig.suptitle(
        f"{run.name}: by province, {start:%b %Y} – {end:%b %Y} "
        f"(median of {run.replicates} replicates)",
        fontsize=12,
        fontweight="bold",
    )
    return fig


def difference_map_figure(runs: list[RunData], labels: list[str]) -> Figure | None:
    """Each scenario's cumulative attack deaths by province minus the first's (paired medians).

    None unless at least two runs are on the map.
    """
    if len(runs) < 2 or any(r.provinces is None for r in runs):
        return None
    base = province_summary(runs[0].provinces).set_index(["replicate", "province"])
    fig = Figure(figsize=(max(8.0, 5.2 * (len(runs) - 1)), 5.0), layout="constrained")
    for k, (run, label) in enumerate(zip(runs[1:], labels[1:], strict=True)):
        other = province_summary(run.provinces).set_index(["replicate", "province"])
        paired = (other["cum_attack_deaths"] - base["cum_attack_deaths"]).dropna()
        values = paired.groupby(level="province").median().to_dict()
        ax = fig.add_subplot(1, len(runs) - 1, k + 1)
        norm = _norm("difference_change", values)
        draw_provinces(ax, values, "RdBu_r", norm, f"{label} minus {labels[0]}")
    fig.suptitle(
        f"Cumulative attack deaths by province, minus {labels[0]}'s\n"
        "(median over replicates paired by seed)",
        fontsize=11,
        fontweight="bold",
    )
    return fig
