"""The map: the model's grid drawn as SVG, straight from its arrays, with its legend.

Civilians (by state or by grievance), Taliban units, ISIS-K cells, this
week's attacks and the scenario's regions. Colours of states and armed groups
come from :mod:`simulation.plots.style`, shared with the plots.
"""

from __future__ import annotations

import base64
import io
import math
from html import escape as esc
from typing import Any

import matplotlib
import numpy as np
import PIL.Image
from matplotlib.colors import to_hex, to_rgba

from simulation.model import ConflictModel, geography
from simulation.model.civilians import ACTIVE, JAILED, QUIET
from simulation.plots.style import STATE_COLOURS, metric_colour

#: Civilians' states on the map: (legend label, colour), by the population's state codes.
STATE_STYLE: dict[int, tuple[str, str]] = {
    QUIET: STATE_COLOURS["quiet"],
    ACTIVE: STATE_COLOURS["active"],
    JAILED: STATE_COLOURS["jailed"],
}
UNIT_COLOUR = metric_colour("taliban_fighters") or "#2c7a3f"  # Taliban units
CELL_COLOUR = metric_colour("isisk_fighters") or "#111111"  # ISIS-K cells
ATTACK_STYLE = {  # map mode: (fill, edge) of the attack stars, to stand out from civilians
    "state": ("#e31a1c", "#ffe033"),
    "grievance": ("#1f6fd1", "#ffffff"),  # red would vanish among high grievance
}
REGION_COLOURS = ("#c994c7", "#fdb863", "#80cdc1", "#fa9fb5", "#bcbddc")
LAND_COLOUR = "#f3efe6"  # Afghan cells on the map, under the civilians
SANCTUARY_COLOUR = "#d9d0f0"  # the sanctuary across the Pakistan border
PROVINCE_EDGE = "#6b6b6b"
GRIEVANCE_CMAP = "YlOrRd"
MAP_BACKGROUND = "#ffffff"
# a five-pointed star of radius 1 (outer) around 0, pointing up (SVG y grows downwards)
_STAR = np.array(
    [
        (math.sin(k * math.pi / 5) * r, -math.cos(k * math.pi / 5) * r)
        for k, r in zip(range(10), (1.0, 0.45) * 5, strict=True)
    ]
)


def _rgba8(colour: Any) -> tuple[int, int, int, int]:
    return tuple(int(round(255 * c)) for c in to_rgba(colour))  # type: ignore[return-value]


def _darker(colour: str, f: float = 0.6) -> str:
    r, g, b, _ = to_rgba(colour)
    return to_hex((r * f, g * f, b * f))


def cell_radius(fighters: np.ndarray) -> np.ndarray:
    """Half-width of an ISIS-K cell's triangle, in cells: grows with the root of its fighters."""
    return np.clip(0.45 + 0.1 * np.sqrt(np.maximum(fighters, 0)), 0.55, 1.8)


def attack_radius(deaths: np.ndarray) -> np.ndarray:
    """Radius of an attack's star, in cells: grows with the root of its deaths."""
    return np.clip(1.3 + 0.22 * np.sqrt(np.maximum(deaths, 0)), 1.3, 3.6)


def _regions_svg(model: ConflictModel, mode: str, unit: float) -> tuple[str, str, str]:
    """The regions as SVG: shading under the civilians, outlines over them, and labels."""
    h = model.height
    under, borders, labels = [], [], []
    font = 2.7 * unit
    tint = 0.22 if mode == "state" else 0  # a tint would shift the grievance colours
    # on the map regions are provinces, not boxes: none are drawn yet
    names = model.region_names[1:] if model.region_boxes else []
    boxes = zip(model.region_boxes, names, strict=True)
    for i, ((x0, x1, y0, y1), name) in enumerate(boxes):
        colour = REGION_COLOURS[i % len(REGION_COLOURS)]
        top, bw, bh = h - y1, x1 - x0, y1 - y0
        rect = f'<rect x="{x0}" y="{top}" width="{bw}" height="{bh}" fill="{colour}" '
        under.append(rect + 'fill-opacity="0.45"/>')
        borders.append(
            rect + f'fill-opacity="{tint}" stroke="{_darker(colour)}" '
            f'stroke-width="{0.45 * unit:.2f}" '
            f'stroke-dasharray="{1.6 * unit:.2f} {0.9 * unit:.2f}"/>'
        )
        capital = model.capital_box == (x0, x1, y0, y1)
        label = f"{name} (capital)" if capital else name
        inside = top < font * 1.3  # no room above the box: write inside it
        y_text = top + font * 1.05 if inside else top - 0.45 * unit
        labels.append(
            f'<text x="{x0 + 0.4 * unit:.2f}" y="{y_text:.2f}" font-size="{font:.2f}" '
            f'class="kh-map-label" stroke-width="{0.55 * unit:.2f}">{esc(label)}</text>'
        )
    return "".join(under), "".join(borders), "".join(labels)


def _land_svg(model: ConflictModel, unit: float) -> tuple[str, str, str]:
    """On the map: the land and sanctuary under the civilians, province outlines over them,
    and the capital's label (all drawn once per model)."""
    land = model.land
    assert land is not None
    h = model.height
    rgba = np.zeros((model.height, model.width, 4), dtype=np.uint8)
    rgba[land.habitable.T] = _rgba8(LAND_COLOUR)
    rgba[land.sanctuary.T] = _rgba8(SANCTUARY_COLOUR)
    out = io.BytesIO()
    PIL.Image.fromarray(np.ascontiguousarray(rgba[::-1]), "RGBA").save(out, format="png")
    png = base64.b64encode(out.getvalue()).decode("ascii")
    under = (
        f'<image href="data:image/png;base64,{png}" x="0" y="0" width="{model.width}" '
        f'height="{h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>'
    )
    pm, b = land.inner, land.border
    paths = []
    for province in geography.load_provinces()["provinces"]:
        for ring in province["rings"]:
            xy = np.asarray(ring)
            gx = b + (xy[:, 0] - pm.west) / pm.lon_step
            gy = h - (b + (xy[:, 1] - pm.south) / pm.lat_step)
            paths.append(_star_path(np.column_stack([gx, gy])))
    borders = (
        f'<path d="{"".join(paths)}" fill="none" stroke="{PROVINCE_EDGE}" '
        f'stroke-width="{0.22 * unit:.2f}" stroke-linejoin="round"/>'
    )
    font = 2.7 * unit
    labels = []
    for name, place in zip(model.region_names[1:], model.regions.places, strict=True):
        if model.capital_box is place and len(place):
            x, y = place.mean() // h, h - 1 - (place % h).max()
            labels.append(
                f'<text x="{x:.2f}" y="{y - 0.4 * unit:.2f}" font-size="{font:.2f}" '
                f'class="kh-map-label" stroke-width="{0.55 * unit:.2f}">'
                f"{esc(name)} (capital)</text>"
            )
    return under, borders, "".join(labels)


def _swatch(colour: str, border: str = "none") -> str:
    """A legend's colour square (HTML)."""
    return f'<span class="kh-sw" style="background:{colour};border:{border}"></span>'


def _symbol(body: str) -> str:
    """A legend's marker: a small SVG around ``body``, drawn in a 10x10 box around 0."""
    return f'<svg class="kh-sym" viewBox="-5 -5 10 10" aria-hidden="true">{body}</svg>'


def _star_path(pts: np.ndarray) -> str:
    """SVG path data of a closed polygon through ``pts``."""
    return "M" + "L".join(f"{x:.2f} {y:.2f}" for x, y in pts) + "z"


class MapFigure:
    """The map of one model as an SVG drawing, made straight from the model's arrays.

    Civilians are one small PNG (a pixel per cell, coloured by state or
    grievance) that the browser scales up without smoothing; Taliban units,
    ISIS-K cells and this week's attacks are one SVG path each; regions are
    shaded (under the civilians, and lightly over them when coloured by
    state), outlined and labelled. The regions are drawn once per model; a
    week costs a few milliseconds. Markers and labels keep their size on the
    page whatever the size of the world.

    The SVG's y axis points down: the model's row ``y`` is drawn at
    ``height - 1 - y``, so north (high y) is at the top.
    """

    def __init__(self, model: ConflictModel, mode: str) -> None:
        self.mode = mode
        w, h = self.w, self.h = model.width, model.height
        self.unit = max(w, h) / 80  # markers and text scale with the world (1 at 80x80)
        if model.land is None:
            under, self.borders, self.labels = _regions_svg(model, mode, self.unit)
        else:
            under, self.borders, self.labels = _land_svg(model, self.unit)
        self.under = f'<rect width="{w}" height="{h}" fill="{MAP_BACKGROUND}"/>' + under
        self.rgba = np.zeros((h, w, 4), dtype=np.uint8)
        self.jailed = np.array(_rgba8(STATE_STYLE[JAILED][1]), dtype=np.uint8)
        self.palette = np.zeros((max(STATE_STYLE) + 1, 4), dtype=np.uint8)
        for s, (_, colour) in STATE_STYLE.items():
            self.palette[s] = _rgba8(colour)
        colours = matplotlib.colormaps[GRIEVANCE_CMAP](np.linspace(0, 1, 256))
        self.lut = (colours * 255 + 0.5).astype(np.uint8)
        self.head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
            f'class="kh-map-svg" role="img" aria-label="'
            + (
                "Map of Afghanistan's provinces"
                if model.land is not None
                else f"Map of the {w}×{h} grid"
            )
            + '">'
        )

    def civilians_png(self, model: ConflictModel) -> bytes:
        """The civilians as a PNG with a pixel per cell (empty cells transparent), north up."""
        pop = model.population
        rgba = self.rgba
        rgba[:] = 0
        state = pop.state
        jailed = state == JAILED
        free = ~jailed
        # jailed first: where they do not block cells, a free agent may share the cell
        rgba[pop.y[jailed], pop.x[jailed]] = self.jailed
        if self.mode == "grievance":
            g = pop.grievance(model.regime.legitimacy, model.hardship_boost)[free]
            idx = np.clip(np.nan_to_num(g) * 255 + 0.5, 0, 255).astype(np.intp)
            rgba[pop.y[free], pop.x[free]] = self.lut[idx]
        else:
            rgba[pop.y[free], pop.x[free]] = self.palette[state[free]]
        out = io.BytesIO()
        PIL.Image.fromarray(np.ascontiguousarray(rgba[::-1]), "RGBA").save(
            out, format="png", compress_level=1
        )
        return out.getvalue()

    def _units_path(self, model: ConflictModel) -> str:
        """Taliban units: small squares."""
        pop, u = model.population, self.unit
        alive = pop.enforcer_alive
        side = 0.7 * u
        off = (1 - side) / 2
        xs, ys = pop.enforcer_x[alive].tolist(), (self.h - 1 - pop.enforcer_y[alive]).tolist()
        return "".join(
            f"M{x + off:.2f} {y + off:.2f}h{side:.2f}v{side:.2f}h-{side:.2f}z"
            for x, y in zip(xs, ys, strict=True)
        )

    def _cells_path(self, model: ConflictModel) -> str:
        """ISIS-K cells: triangles, larger with more fighters."""
        ins = model.insurgency
        live = ins.alive
        r = cell_radius(ins.fighters[live]) * self.unit
        cx = ins.x[live] + 0.5
        cy = self.h - 0.5 - ins.y[live]
        return "".join(
            f"M{x:.2f} {y - q:.2f}l{q:.2f} {1.7 * q:.2f}h{-2 * q:.2f}z"
            for x, y, q in zip(cx.tolist(), (cy + 0.25 * r).tolist(), r.tolist(), strict=True)
        )

    def _attacks_path(self, model: ConflictModel) -> str:
        """This week's attacks: stars, larger with more deaths."""
        h, u = self.h, self.unit
        return "".join(
            _star_path(
                _STAR * float(attack_radius(np.array(a.deaths)) * u) + (a.x + 0.5, h - 0.5 - a.y)
            )
            for a in model.last_attacks
        )

    def svg(self, model: ConflictModel) -> str:
        """The map of ``model`` now, as an SVG element."""
        png = base64.b64encode(self.civilians_png(model)).decode("ascii")
        u = self.unit
        fill, edge = ATTACK_STYLE[self.mode]
        return "".join((
            self.head,
            self.under,
            f'<image href="data:image/png;base64,{png}" x="0" y="0" width="{self.w}" '
            f'height="{self.h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>',
            self.borders,
            f'<path d="{self._units_path(model)}" fill="{UNIT_COLOUR}"/>',
            f'<path d="{self._cells_path(model)}" fill="{CELL_COLOUR}" stroke="white" '
            f'stroke-width="{0.22 * u:.2f}" stroke-linejoin="round"/>',
            f'<path d="{self._attacks_path(model)}" fill="{fill}" stroke="{edge}" '
            f'stroke-width="{0.3 * u:.2f}" stroke-linejoin="round"/>',
            self.labels,
            "</svg>",
        ))  # fmt: skip

    def _civilians_legend(self) -> list[str]:
        """The legend's civilians: the states, or the grievance scale and the jailed."""
        rows = ['<div class="kh-lg-title">Civilians</div>']
        if self.mode == "grievance":
            colours = matplotlib.colormaps[GRIEVANCE_CMAP](np.linspace(0, 1, 9))
            stops = ", ".join(to_hex(c) for c in colours)
            rows.append(
                f'<div class="kh-lg-bar" style="background:linear-gradient(to right, '
                f'{stops})"></div><div class="kh-lg-ticks"><span>0</span>'
                f"<span>grievance</span><span>1</span></div>"
            )
            rows.append(f"<div>{_swatch(STATE_STYLE[JAILED][1])}Jailed</div>")
        else:
            rows += [f"<div>{_swatch(c)}{esc(label)}</div>" for label, c in STATE_STYLE.values()]
        return rows

    def legend_html(self, model: ConflictModel) -> str:
        """The map's legend (HTML): what each colour and marker means."""
        rows = self._civilians_legend()
        fill, edge = ATTACK_STYLE[self.mode]
        square = f'<rect x="-2.4" y="-2.4" width="4.8" height="4.8" fill="{UNIT_COLOUR}"/>'
        triangle = f'<path d="M0 -4.2L4.4 3.4H-4.4Z" fill="{CELL_COLOUR}"/>'
        star = f'<path d="{_star_path(_STAR * 4.4)}" fill="{fill}" stroke="{edge}" ' \
            'stroke-width="0.7"/>'  # fmt: skip
        rows += [
            '<div class="kh-lg-title">Armed groups</div>',
            f"<div>{_symbol(square)}Taliban unit</div>",
            f"<div>{_symbol(triangle)}ISIS-K cell</div>",
            f"<div>{_symbol(star)}Attack this week</div>",
        ]
        if model.land is not None:
            rows += [
                '<div class="kh-lg-title">Map</div>',
                f"<div>{_swatch(LAND_COLOUR, f'1px solid {PROVINCE_EDGE}')}Afghanistan "
                "(its 34 provinces)</div>",
                f"<div>{_swatch(SANCTUARY_COLOUR)}Sanctuary (Pakistan)</div>",
            ]
        if model.region_boxes:
            rows.append('<div class="kh-lg-title">Regions</div>')
            for i, name in enumerate(model.region_names[1:]):
                colour = REGION_COLOURS[i % len(REGION_COLOURS)]
                border = f"1.5px dashed {_darker(colour)}"
                rows.append(f"<div>{_swatch(colour, border)}{esc(name)}</div>")
        rows.append(
            f'<div class="kh-lg-note kh-lg-grid">Larger ▲: more fighters in the '
            f"cell; larger ★: more deaths in the attack.<br>{self.w}×{self.h} cells; "
            f"north is up.</div>"
        )
        return f'<div class="kh-legend">{"".join(rows)}</div>'
