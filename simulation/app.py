"""The browser app: the conflict model on Mesa's SolaraViz.

Start it with ``khorasan viz [SCENARIO]`` (see :mod:`simulation.viz_server`),
which fetches the page's JavaScript once and runs ``solara run simulation.app``.

The page has
- a scenario card (sidebar): pick a shipped scenario, see what the sliders
  changed, and save the settings as a scenario file that ``extends`` it;
- Mesa's controls (Reset, ▶, Step) and model parameters: one slider per
  parameter flagged ``slider=True`` in :mod:`simulation.params`, and the seed;
- a map drawn straight from the model's arrays (one matplotlib image:
  civilians by state or grievance, Taliban units, ISIS-K cells, this week's
  attacks, regions), a status card, and live plots against dates.

Settings reach the model through :class:`VizModel`, which takes flat keyword
arguments as SolaraViz passes them (``isisk__defector_recruitment`` for
``isisk.defector_recruitment``) and builds the scenario from the chosen file.

Environment (set by ``khorasan viz``): ``KHORASAN_VIZ_SCENARIO`` (the scenario
shown first), ``KHORASAN_VIZ_SCENARIOS_DIR`` (the folder listed) and
``KHORASAN_VIZ_SAVE_DIR`` (where "Save as scenario" writes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape as esc
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import PIL.Image
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import update_counter

from simulation import params as ptable
from simulation.metrics import METRIC_NAMES
from simulation.model import ConflictModel
from simulation.population import ACTIVE, JAILED, QUIET
from simulation.scenario import Scenario
from simulation.scenario_file import ScenarioError, load_scenario, scenario_to_toml
from simulation.viz_server import default_save_dir, initial_scenario, scenarios_dir

SEED = "seed"
SCENARIO_FILE = "scenario_file"
DPI = 80
RENDER_WAIT_S = 10.0  # longest wait for a redraw before stepping anyway


# --- settings: sliders, names, scenarios --------------------------------------------------

def kwarg_name(dotted: str) -> str:
    """``isisk.defector_recruitment`` -> ``isisk__defector_recruitment`` (a keyword argument)."""
    return dotted.replace(".", "__")


def dotted_name(kwarg: str) -> str:
    """The inverse of :func:`kwarg_name`."""
    return kwarg.replace("__", ".")


def _decimals(x: float) -> int:
    """Decimal places ``x`` needs (at most 6): 0.05 -> 2, 0.8181 -> 4, 100 -> 0."""
    text = f"{abs(float(x)):.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _on_grid(value: float, start: float, step: float) -> bool:
    k = (value - start) / step
    return abs(k - round(k)) < 1e-6


@dataclass(frozen=True)
class SliderSpec:
    """A slider of the app: a parameter flagged ``slider=True`` in the table, or the seed."""

    kwarg: str
    name: str  # dotted parameter name, or "seed"
    label: str
    unit: str
    kind: type
    min: float
    max: float
    step: float

    def clean(self, value: Any) -> Any:
        """``value`` (a slider's number) as the parameter's type, without float noise."""
        if isinstance(value, solara.Reactive):
            value = value.value
        if self.kind is int:
            return int(round(float(value)))
        return round(float(value), 8)

    def fit(self, value: Any) -> tuple[float, float, float]:
        """``(min, max, step)`` of a slider that shows ``value`` exactly.

        The range is widened to include it, and the step made finer (by tens)
        if it is off the grid: the browser's slider snaps to its grid and
        would otherwise change a scenario's value (0.8181 to 0.82) as it
        loads.
        """
        value = self.clean(value)
        lo, hi, step = min(self.min, value), max(self.max, value), self.step
        for _ in range(7):
            if _on_grid(value, lo, step) or (self.kind is int and step <= 1):
                break
            step = max(1, step / 10) if self.kind is int else step / 10
        return lo, hi, step

    def value_of(self, scenario: Scenario) -> Any:
        """This slider's value in ``scenario``."""
        return scenario.seed if self.name == SEED else scenario.params[self.name]

    def text(self, value: Any) -> str:
        """The value as shown in the page, with the step's decimals or more if needed."""
        if self.kind is int:
            return f"{int(value)}"
        return f"{float(value):.{max(_decimals(self.step), _decimals(value))}f}"

    def caption(self, value: Any) -> str:
        """The slider's label with its value: ``Legitimacy: 0.85``."""
        unit = self.unit if self.unit and self.unit.lower() not in self.label.lower() else ""
        return f"{self.label}: {self.text(value)}" + (f" {unit}" if unit else "")


def _slider_spec(p: ptable.Param) -> SliderSpec:
    lo, hi = p.slider_range if p.slider_range is not None else (p.min, p.max)
    if lo is None or hi is None:
        raise ValueError(f"{p.name}: a slider needs min and max (or slider_range)")
    step = p.step if p.step is not None else (1 if p.kind is int else (hi - lo) / 100)
    unit = "" if p.unit in ("", "-", "0-1") else p.unit
    return SliderSpec(kwarg_name(p.name), p.name, p.label or p.name, unit, p.kind, lo, hi, step)


#: Every slider, generated from the parameter table, then the seed.
SLIDERS: tuple[SliderSpec, ...] = (
    *(_slider_spec(p) for p in ptable.SLIDER_PARAMS),
    SliderSpec(SEED, SEED, "Random seed", "", int, 0, 999, 1),
)
SLIDER_INDEX: dict[str, SliderSpec] = {s.kwarg: s for s in SLIDERS}


def slider_values(scenario: Scenario) -> dict[str, Any]:
    """The sliders' values for ``scenario``, by keyword name."""
    return {s.kwarg: s.value_of(scenario) for s in SLIDERS}


def changes(base: Scenario, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings that differ from ``base``: dotted names (``scenario.seed`` for the seed)."""
    out: dict[str, Any] = {}
    for kwarg, value in settings.items():
        spec = SLIDER_INDEX.get(kwarg)
        name = dotted_name(kwarg) if spec is None else spec.name
        value = spec.clean(value) if spec is not None else value
        if name == SEED:
            if value != base.seed:
                out["scenario.seed"] = value
        elif value != base.params[name]:
            out[name] = value
    return out


def build_scenario(path: str | os.PathLike[str], settings: Mapping[str, Any]) -> Scenario:
    """The scenario in ``path`` with ``settings`` (keyword names) applied, validated."""
    base = load_scenario(path)
    return load_scenario(path, changes(base, settings)) if settings else base


def scenario_catalogue(folder: Path, saved: Path | None = None,
                       extra: Path | None = None) -> dict[str, Path]:
    """Scenario files by label: ``folder/*.toml`` (by stem), then saved ones, then ``extra``."""
    out: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = path.resolve()
    if saved is not None and saved.is_dir():
        for path in sorted(saved.glob("*.toml")):
            out.setdefault(f"{saved.name}/{path.stem}", path.resolve())
    if extra is not None and extra.resolve() not in out.values():
        out[str(extra)] = extra.resolve()
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "scenario"


def save_scenario(base_path: str | os.PathLike[str], settings: Mapping[str, Any],
                  folder: str | os.PathLike[str]) -> Path:
    """Write ``settings`` as a scenario file that extends ``base_path``; return its path.

    Only the settings that differ from the base are written. The file is
    named ``<base>_custom<N>.toml`` (the first free N) and its scenario is
    named after the file, so ``khorasan run`` keeps its results apart. It is
    loaded back before returning, and removed if that fails.
    """
    base_path, folder = Path(base_path).resolve(), Path(folder)
    base = load_scenario(base_path)
    only = changes(base, settings)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _slug(base.name)
    n = 1
    while (folder / f"{stem}_custom{n}.toml").exists():
        n += 1
    out = folder / f"{stem}_custom{n}.toml"
    try:
        extends = os.path.relpath(base_path, folder.resolve())
    except ValueError:  # another drive
        extends = str(base_path)
    extends = extends.replace(os.sep, "/")
    what = ", ".join(f"{k} = {v}" for k, v in only.items()) or "no changes"
    child = dataclasses.replace(base, name=out.stem,
                                description=f"{base.name} with {what}")
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    text = (f"# Saved by `khorasan viz` on {stamp}: the scenario {base.name!r} "
            f"({extends}) with the settings below.\n"
            + scenario_to_toml(child, extends=extends, only=only))
    with open(out, "x", encoding="utf-8") as f:  # never overwrite
        f.write(text)
    try:
        load_scenario(out)
    except ScenarioError:
        out.unlink()
        raise
    return out


# --- the model -------------------------------------------------------------------------

class VizModel(ConflictModel):
    """:class:`ConflictModel` built from flat keyword arguments, as SolaraViz passes them.

    Args:
        scenario_file: the scenario file to start from.
        seed: the seed (default: the scenario's).
        **settings: parameter values by keyword name (``isisk__defector_recruitment``).

    Values may be ``solara.Reactive`` (the app binds its sliders to them); their
    current value is used. Mesa's Reset also passes ``scenario`` (its own
    experimental scenario object), which this model does not use.
    """

    def __init__(self, scenario_file: str | os.PathLike[str] | None = None,
                 seed: int | None = None, **settings: Any) -> None:
        settings.pop("scenario", None)  # Mesa's own Scenario object
        if isinstance(scenario_file, solara.Reactive):
            scenario_file = scenario_file.value
        path = Path(scenario_file) if scenario_file is not None else initial_scenario()
        values = {k: (v.value if isinstance(v, solara.Reactive) else v)
                  for k, v in settings.items()}
        if seed is not None:
            values[SEED] = seed.value if isinstance(seed, solara.Reactive) else seed
        for kwarg in values:
            if kwarg not in SLIDER_INDEX and kwarg != SEED:
                ptable.get(dotted_name(kwarg))  # UnknownParameter for a typo
        scenario = build_scenario(path, values)
        self.scenario_path = path.resolve()
        self.render_lock: Any = None  # the page's render lock, set by the page (watch_renders)
        self.frame = 0  # weeks completed; what the figures are keyed on
        super().__init__(scenario, rng=scenario.seed)
        # Mesa wraps ``step`` (it counts the week, then calls ours); wait for a redraw first
        counted = self.step

        def step_when_drawn() -> None:
            self._wait_for_redraw()
            counted()

        self.step = step_when_drawn  # type: ignore[method-assign]

    def settings(self) -> dict[str, Any]:
        """The sliders' values that built this model."""
        return slider_values(self.config)

    def step(self) -> None:
        """Advance one week."""
        super().step()
        self.frame += 1

    def _wait_for_redraw(self) -> None:
        """Wait until the page has finished drawing (bounded by RENDER_WAIT_S).

        Mesa's Play loop steps in its own thread and asks for a redraw after
        every step. A redraw asked for while another thread is drawing is left
        to that thread, which keeps drawing for as long as requests come in;
        if that thread is handling a click (▶ itself), the page gets no update
        and no further click until the loop stops. Waiting for the drawing in
        progress to end lets it stop, so the page stays live and Play shows
        every week.
        """
        lock = self.render_lock
        if lock is not None and lock.acquire(timeout=RENDER_WAIT_S):
            lock.release()


# --- per-session state (solara.reactive is per browser session) ------------------------------

_FIRST = initial_scenario()
_FIRST_SCENARIO = load_scenario(_FIRST)
scenario_choice = solara.reactive(str(_FIRST.resolve()))
slider_state: dict[str, solara.Reactive[Any]] = {
    k: solara.reactive(v) for k, v in slider_values(_FIRST_SCENARIO).items()}
map_mode = solara.reactive("state")
save_message = solara.reactive("")
save_error = solara.reactive("")


def current_settings() -> dict[str, Any]:
    """The sliders' current values, cleaned."""
    return {k: SLIDER_INDEX[k].clean(r.value) for k, r in slider_state.items()}


def load_into_sliders(path: str | os.PathLike[str]) -> None:
    """Set the sliders to the values of the scenario in ``path``."""
    sc = load_scenario(path)
    for kwarg, value in slider_values(sc).items():
        slider_state[kwarg].value = value


def model_params() -> dict[str, Any]:
    """SolaraViz's model_params: the scenario file, then one Mesa Slider per setting.

    The sliders are bound to this session's ``slider_state`` so that choosing a
    scenario moves them (and Mesa's copy of the values follows). Each slider
    is fitted to its current value (:meth:`SliderSpec.fit`), so a scenario
    outside the usual range or grid is shown as it is, not clipped or rounded.
    """
    out: dict[str, Any] = {SCENARIO_FILE: scenario_choice}
    for s in SLIDERS:
        value = s.clean(slider_state[s.kwarg].value)
        lo, hi, step = s.fit(value)
        out[s.kwarg] = Slider(s.caption(value), slider_state[s.kwarg], min=lo, max=hi, step=step,
                              dtype=s.kind)
    return out


# --- drawing -----------------------------------------------------------------------------

EMPTY = (1.0, 1.0, 1.0, 0.0)
STATE_STYLE = {  # state: (label, colour)
    QUIET: ("Quiet civilians", "#a6bddb"),
    ACTIVE: ("Active (open dissent)", "#fd8d3c"),
    JAILED: ("Jailed", "#525252"),
}
UNIT_COLOUR = "#1b7837"
CELL_COLOUR = "#111111"
ATTACK_COLOUR = "#e31a1c"
REGION_COLOURS = ("#c994c7", "#fdd49e", "#99d8c9", "#fa9fb5", "#bcbddc")
GRIEVANCE_CMAP = "YlOrRd"


def _cell_sizes(fighters: np.ndarray) -> np.ndarray:
    return np.clip(8.0 + 1.2 * fighters, 8.0, 120.0)


def _attack_sizes(deaths: np.ndarray) -> np.ndarray:
    return np.clip(70.0 + 10.0 * deaths, 70.0, 500.0)


class Blitter:
    """Renders a figure to PNG, redrawing only the artists that change.

    The figure is drawn in full once (and again whenever ``static_key``
    changes, e.g. an axis limit) without its ``dynamic`` and ``overlay``
    artists; that is kept as the background. The ``overlay`` (static artists
    that must stay on top of the dynamic ones, e.g. labels over the map) is
    drawn once onto a transparent layer. Every frame then restores the
    background, draws the dynamic artists and lays the overlay over them.
    PNGs are lightly compressed (they travel over loopback); with ``colours``
    the frame is first reduced to that many colours (plots need few).
    """

    def __init__(self, fig: Figure, dynamic: list[Any], overlay: list[Any] = (),
                 colours: int | None = None) -> None:
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.dynamic = list(dynamic)
        self.overlay = list(overlay)
        self.colours = colours
        for artist in self.dynamic + self.overlay:
            artist.set_animated(True)  # left out of full draws
        self.background: Any = None
        self.static_key: Any = None
        self.layer: tuple[tuple[slice, slice], np.ndarray, np.ndarray] | None = None

    def _draw_background(self) -> None:
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.layer = None
        if self.overlay:
            renderer = self.canvas.get_renderer()
            renderer.clear()  # transparent
            for artist in self.overlay:
                self.fig.draw_artist(artist)
            rgba = np.asarray(self.canvas.buffer_rgba())
            rows, cols = np.nonzero(rgba[..., 3])
            if len(rows):
                box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
                alpha = rgba[box][..., 3:4].astype(np.float32) / 255.0
                self.layer = (box, rgba[box][..., :3].astype(np.float32) * alpha, 1.0 - alpha)
            self.canvas.restore_region(self.background)

    def png(self, static_key: Any = None) -> bytes:
        """The current frame as PNG bytes."""
        if self.background is None or static_key != self.static_key:
            self._draw_background()
            self.static_key = static_key
        else:
            self.canvas.restore_region(self.background)
        for artist in self.dynamic:
            self.fig.draw_artist(artist)
        frame = np.array(self.canvas.buffer_rgba())[..., :3]  # a copy
        if self.layer is not None:
            box, premultiplied, keep = self.layer
            frame[box] = (premultiplied + frame[box] * keep + 0.5).astype(np.uint8)
        img = PIL.Image.fromarray(frame, "RGB")
        if self.colours:
            img = img.quantize(self.colours, method=PIL.Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        img.save(out, format="png", compress_level=1)
        return out.getvalue()


class MapFigure:
    """The map of one model: one matplotlib figure drawn from the model's arrays.

    Civilians are one image (a pixel per cell, coloured by state or
    grievance); Taliban units, ISIS-K cells and this week's attacks are
    scatter layers. The figure is built once per model and display mode and
    only its changing layers are redrawn each step (:class:`Blitter`).
    """

    def __init__(self, model: ConflictModel, mode: str) -> None:
        self.mode = mode
        w, h = model.width, model.height
        fig = self.fig = Figure(figsize=(6.4, 4.2), dpi=DPI)
        fig.patch.set_facecolor("white")
        side = 4.2 * 0.96 / 6.4  # a square map: axes width as a share of the figure width
        ax = self.ax = fig.add_axes((0.01, 0.02, side, 0.96))
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(-0.5, h - 0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("#fbfbfb")
        overlay: list[Any] = []
        region_handles = []
        for i, ((x0, x1, y0, y1), name) in enumerate(
                zip(model.region_boxes, model.region_names[1:], strict=True)):
            colour = REGION_COLOURS[i % len(REGION_COLOURS)]
            capital = model.capital_box == (x0, x1, y0, y1)
            box = (x0 - 0.5, y0 - 0.5)
            ax.add_patch(Rectangle(box, x1 - x0, y1 - y0, facecolor=colour, alpha=0.5,
                                   edgecolor="none", zorder=0))
            overlay.append(ax.add_patch(Rectangle(box, x1 - x0, y1 - y0, fill=False,
                                                  edgecolor=_darker(colour), lw=1.8, ls="--",
                                                  zorder=4)))
            label = f"{name} (capital)" if capital else name
            overlay.append(ax.text(x0, y1 - 1.0, label, fontsize=9, fontweight="bold",
                                   va="top", ha="left", color="#222222", zorder=6,
                                   bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                         "ec": "none", "alpha": 0.8}))
            region_handles.append(Patch(facecolor=colour, alpha=0.7, edgecolor=_darker(colour),
                                        ls="--", label=f"Region: {label}"))
        self.canvas = np.zeros((h, w, 4), dtype=np.float32)
        self.image = ax.imshow(self.canvas, origin="lower", interpolation="nearest",
                               extent=(-0.5, w - 0.5, -0.5, h - 0.5), zorder=1)
        self.units = ax.scatter([], [], s=9, marker="s", c=UNIT_COLOUR, linewidths=0, zorder=2)
        self.cells = ax.scatter([], [], marker="^", c=CELL_COLOUR, edgecolors="white",
                                linewidths=0.6, zorder=3)
        self.attacks = ax.scatter([], [], marker="*", c=ATTACK_COLOUR, edgecolors="#ffff33",
                                  linewidths=1.0, zorder=5)
        self.cmap: Any = None
        self.palette: np.ndarray | None = None
        if mode == "grievance":
            self.cmap = matplotlib.colormaps[GRIEVANCE_CMAP]
            cax = fig.add_axes((side + 0.035, 0.62, 0.025, 0.33))
            bar = fig.colorbar(ScalarMappable(Normalize(0, 1), self.cmap), cax=cax)
            bar.set_label("Grievance G (0–1)", fontsize=9)
            bar.ax.tick_params(labelsize=8)
            civ_handles = [Patch(facecolor=STATE_STYLE[JAILED][1], label="Jailed")]
        else:
            self.palette = np.array([to_rgba(STATE_STYLE[s][1]) for s in (QUIET, ACTIVE, JAILED)],
                                    dtype=np.float32)
            civ_handles = [Patch(facecolor=STATE_STYLE[s][1], label=STATE_STYLE[s][0])
                           for s in (QUIET, ACTIVE, JAILED)]
        marker_handles = [
            Line2D([], [], ls="none", marker="s", ms=5, color=UNIT_COLOUR, label="Taliban units"),
            Line2D([], [], ls="none", marker="^", ms=8, color=CELL_COLOUR, mec="white",
                   label="ISIS-K cells"),
            Line2D([], [], ls="none", marker="*", ms=13, color=ATTACK_COLOUR, mec="#cccc00",
                   label="Attacks this week"),
        ]
        top = 0.55 if mode == "grievance" else 0.95
        self.legend = fig.legend(handles=civ_handles + marker_handles + region_handles,
                                 loc="upper left", bbox_to_anchor=(side + 0.025, top),
                                 frameon=False, fontsize=9.5, handlelength=1.3,
                                 borderaxespad=0, labelspacing=0.55)
        fig.text(side + 0.03, 0.03, f"{w}×{h} cells\n▲ size ∝ fighters\n★ size ∝ deaths",
                 fontsize=7.5, color="#666666", va="bottom", ha="left", linespacing=1.4)
        self.blitter = Blitter(fig, [self.image, self.units, self.cells, self.attacks],
                               overlay=overlay)

    def update(self, model: ConflictModel) -> None:
        """Set every layer from the model's arrays (no per-agent Python)."""
        pop, ins = model.population, model.insurgency
        canvas = self.canvas
        canvas[:] = EMPTY
        state = pop.state
        jailed = state == JAILED
        free = ~jailed
        # jailed first: where they do not block cells, a free agent may share the cell
        canvas[pop.y[jailed], pop.x[jailed]] = to_rgba(STATE_STYLE[JAILED][1])
        if self.palette is not None:
            canvas[pop.y[free], pop.x[free]] = self.palette[state[free]]
        else:
            g = pop.grievance(model.regime.legitimacy, model.hardship_boost)
            canvas[pop.y[free], pop.x[free]] = self.cmap(g[free])
        self.image.set_data(canvas)
        alive = pop.cop_alive
        self.units.set_offsets(np.column_stack([pop.cop_x[alive], pop.cop_y[alive]]))
        live = ins.alive
        self.cells.set_offsets(np.column_stack([ins.x[live], ins.y[live]]))
        self.cells.set_sizes(_cell_sizes(ins.fighters[live]))
        attacks = model.last_attacks
        if attacks:
            self.attacks.set_offsets(np.array([(a.x, a.y) for a in attacks], dtype=float))
            self.attacks.set_sizes(_attack_sizes(np.array([a.deaths for a in attacks])))
        else:
            self.attacks.set_offsets(np.empty((0, 2)))

    def png(self, model: ConflictModel) -> bytes:
        """The map of ``model`` now, as PNG bytes."""
        self.update(model)
        return self.blitter.png()


def _darker(colour: str, f: float = 0.7) -> tuple[float, float, float, float]:
    r, g, b, a = to_rgba(colour)
    return (r * f, g * f, b * f, a)


@dataclass(frozen=True)
class PlotSpec:
    """A live plot: metrics on a left axis and optionally a right axis, against dates."""

    key: str
    title: str
    left: tuple[tuple[str, str, str], ...]  # (metric, legend label, colour)
    left_label: str
    right: tuple[tuple[str, str, str], ...] = ()
    right_label: str = ""
    ylim: tuple[float, float] | None = None


PLOTS: tuple[PlotSpec, ...] = (
    PlotSpec("violence", "Violence: ISIS-K attacks and deaths",
             (("attacks", "Attacks", "#d62728"),), "attacks / week",
             (("attack_deaths", "Deaths in attacks", "#7f7f7f"),), "deaths / week"),
    PlotSpec("repression", "Repression: the Taliban's thermostat",
             (("repression", "Repression level", "#1f3f8c"),
              ("target_repression", "Target (thermostat)", "#6baed6")),
             "repression level (0–1)",
             (("arrests", "Arrests", "#e6550d"),), "arrests / week", ylim=(0, 1)),
    PlotSpec("strength", "Strength: ISIS-K and Taliban fighters",
             (("isisk_fighters", "ISIS-K fighters", "#111111"),), "ISIS-K fighters",
             (("taliban_fighters", "Taliban fighters", "#2c7a3f"),), "Taliban fighters"),
    PlotSpec("legitimacy", "Legitimacy and grievance",
             (("legitimacy", "Regime legitimacy", "#2ca02c"),
              ("mean_grievance", "Mean civilian grievance", "#d62728")),
             "level (0–1)", ylim=(0, 1)),
)


class PlotFigure:
    """A live plot of one model: its lines are updated in place and blitted every step.

    The time axis spans whole years from the start, a year more whenever the
    lines get within a quarter of its end; the value axes step up to round limits; the figure
    is drawn in full only when an axis changes.
    """

    def __init__(self, model: ConflictModel, spec: PlotSpec) -> None:
        self.spec = spec
        fig = self.fig = Figure(figsize=(6.2, 4.0), dpi=DPI)
        fig.patch.set_facecolor("white")
        ax = self.ax = fig.add_axes((0.11, 0.11, 0.76 if spec.right else 0.85, 0.71))
        fig.text(0.11, 0.92, spec.title, ha="left", va="bottom", fontsize=11.5,
                 fontweight="bold")
        self.start = mdates.date2num(model.config.start_date)
        ax.set_xlim(self.start, self.start + 7.0 * _horizon(model.steps))
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
        ax.set_ylabel(spec.left_label, fontsize=9)
        self.lines: list[tuple[str, Line2D]] = []
        handles = []
        for i, (metric, label, colour) in enumerate(spec.left):
            (line,) = ax.plot([], [], ls=("-", "--", ":")[i % 3], lw=1.8, color=colour,
                              label=label, zorder=3)
            self.lines.append((metric, line))
            handles.append(line)
        self.ax2: Any = None
        if spec.right:
            ax2 = self.ax2 = ax.twinx()
            ax2.set_ylabel(spec.right_label, fontsize=9, color=spec.right[0][2])
            ax2.tick_params(axis="y", colors=spec.right[0][2])
            for metric, label, colour in spec.right:
                (line,) = ax2.plot([], [], lw=1.0, alpha=0.8, color=colour, label=label,
                                   zorder=2)
                self.lines.append((metric, line))
                handles.append(line)
            ax2.set_ylim(0, 1)
        ax.set_ylim(*(spec.ylim or (0, 1)))
        for a in (ax, self.ax2):
            if a is not None:
                a.tick_params(labelsize=8.5)
                a.yaxis.set_major_formatter(_compact)
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.1, 0.845),
                   ncol=len(handles), fontsize=8.5, frameon=False, handlelength=2.0,
                   columnspacing=1.2, borderaxespad=0)
        self.blitter = Blitter(fig, [line for _, line in self.lines], colours=64)

    def png(self, model: ConflictModel) -> bytes:
        """The plot of ``model`` now, as PNG bytes."""
        columns, x = metric_columns(model)
        for metric, line in self.lines:
            line.set_data(x, columns[metric])
        self.ax.set_xlim(self.start, self.start + 7.0 * _horizon(model.steps))
        for ax, specs, fixed in ((self.ax, self.spec.left, self.spec.ylim),
                                 (self.ax2, self.spec.right, None)):
            if ax is None or fixed:
                continue
            top = max((float(np.nanmax(columns[m])) for m, _, _ in specs), default=0.0)
            ax.set_ylim(0, _nice_top(top))
        key = (self.ax.get_xlim(), self.ax.get_ylim(),
               None if self.ax2 is None else self.ax2.get_ylim())
        return self.blitter.png(key)


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


def _compact_value(v: float, _pos: Any = None) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


_compact = FuncFormatter(_compact_value)


def metric_columns(model: ConflictModel) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The metrics the plots need as arrays, and their dates as matplotlib numbers.

    Read from ``model.metrics()`` once per week (every plot and the status ask).
    """
    cached = getattr(model, "_viz_columns", None)
    if cached is not None and cached[0] == (model.steps, frame_of(model)):
        return cached[1], cached[2]
    df = model.metrics()
    columns = {name: df[name].to_numpy(dtype=float) for name in METRIC_NAMES}
    x = mdates.date2num(pd.to_datetime(df["date"]).to_numpy())
    model._viz_columns = ((model.steps, frame_of(model)), columns, x)
    return columns, x


# --- components ------------------------------------------------------------------------

@solara.component
def MapView(model: ConflictModel):
    """The map, with a toggle between civilians' state and grievance."""
    update_counter.get()
    mode = map_mode.value
    art = solara.use_memo(lambda: MapFigure(model, mode), [model, mode])
    png = solara.use_memo(lambda: art.png(model), [art, frame_of(model)])
    with solara.Column(gap="2px", style={"width": "100%", "padding": "0 4px"}):
        with solara.Row(gap="8px", style={"align-items": "center"}):
            solara.Text(f"{model.date:%d %b %Y} · week {model.steps}",
                        style={"font-size": "15px", "font-weight": "600", "min-width": "170px"})
            solara.Text("Colour civilians by", style={"font-size": "13px"})
            solara.ToggleButtonsSingle(value=map_mode, values=["state", "grievance"],
                                       dense=True)
        solara.Image(png, format="png", width="100%")


def _make_plot(spec: PlotSpec):
    @solara.component
    def PlotView(model: ConflictModel):
        update_counter.get()
        art = solara.use_memo(lambda: PlotFigure(model, spec), [model])
        png = solara.use_memo(lambda: art.png(model), [art, frame_of(model)])
        solara.Image(png, format="png", width="100%")

    PlotView.__name__ = f"Plot_{spec.key}"
    return PlotView


PLOT_COMPONENTS = tuple(_make_plot(spec) for spec in PLOTS)


def status_html(model: ConflictModel) -> str:
    """The status card: date, headline numbers and the settings the model was built with."""
    columns, _ = metric_columns(model)
    now = {name: col[-1] for name, col in columns.items()}

    def n(name: str) -> str:  # a count, this week
        return f"{int(round(now[name])):,}"

    deaths = int(columns["attack_deaths"].sum())
    attacks = int(columns["attacks"].sum())
    reg = model.regime
    src = _display(model.scenario_path) if isinstance(model, VizModel) else model.config.name
    facts = [
        ("ISIS-K fighters", f"{n('isisk_fighters')} in {n('isisk_cells')} cells"),
        ("Taliban fighters", f"{n('taliban_fighters')} ({n('enforcers')} units on the map)"),
        ("Attacks", f"{attacks:,} so far, {n('attacks')} this week "
                    f"({n('attacks_interdicted')} stopped)"),
        ("Attack deaths", f"{deaths:,} so far, {n('attack_deaths')} this week"),
        ("Repression", f"{reg.repression:.2f} (target {reg.target_repression:.2f}), "
                       f"{n('arrests')} arrests this week"),
        ("Legitimacy", f"{reg.legitimacy:.2f}; mean grievance {now['mean_grievance']:.2f}"),
        ("Civilians", f"{n('active_civilians')} active, {n('jailed_civilians')} jailed, "
                      f"{n('quiet_civilians')} quiet"),
        ("Surveillance", f"{model.effective_surveillance:.2f} chance a plot is stopped"),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    settings = "".join(
        f"<div>{esc(s.name)} = {esc(s.text(s.value_of(model.config)))}</div>" for s in SLIDERS)
    return (
        f'<div class="kh-status"><h3>{model.date:%d %B %Y} · week {model.steps}</h3>'
        f"<table>{table}</table>"
        f"<p>This run: scenario <b>{esc(model.config.name)}</b> ({esc(src)}) with</p>"
        f'<div class="kh-settings">{settings}</div></div>')


PAGE_CSS = """
.kh-status { font-size: 13px; line-height: 1.35; padding: 2px 10px; color: #222; }
.kh-status h3 { font-size: 17px; font-weight: 600; margin: 4px 0 8px; }
.kh-status table { border-collapse: collapse; margin-bottom: 8px; }
.kh-status th { text-align: left; font-weight: 600; padding: 2px 12px 2px 0;
                white-space: nowrap; vertical-align: top; }
.kh-status td { padding: 2px 0; }
.kh-status p { margin: 4px 0; }
.kh-settings { columns: 2; column-gap: 16px; font-family: monospace; font-size: 11.5px;
               color: #333; background: #f5f5f5; border-radius: 4px; padding: 6px 8px; }
.kh-settings div { break-inside: avoid; white-space: nowrap; }
.kh-card { font-size: 13px; line-height: 1.45; color: #222; }
.kh-card p { margin: 0 0 6px; }
.kh-card .kh-desc { color: #555; }
.kh-card ul { margin: 0 0 4px; padding-left: 18px; }
.v-alert__content { overflow-wrap: anywhere; }
.kh-card code { font-size: 12px; background: #f3f3f3; padding: 0 3px; border-radius: 3px;
                color: #222; }
/* slider labels on their own line, so long names leave the track its full width */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; max-width: 100%; height: auto;
    white-space: normal; font-size: 13.5px; margin: 0 0 -4px 0 !important; }
"""


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def frame_of(model: ConflictModel) -> int:
    """Weeks the model has completed (a week in progress does not count)."""
    return model.frame if isinstance(model, VizModel) else model.steps


def watch_renders(model: ConflictModel) -> None:
    """Give the model this page's render lock (see :meth:`VizModel.step`)."""
    if isinstance(model, VizModel) and model.render_lock is None:
        import reacton.core

        model.render_lock = getattr(reacton.core.get_render_context(), "thread_lock", None)


@solara.component
def Status(model: ConflictModel):
    """Date, headline numbers and the running model's settings."""
    update_counter.get()
    watch_renders(model)
    with solara.Column(style={"height": "100%", "overflow-y": "auto"}):
        solara.HTML(tag="div", unsafe_innerHTML=status_html(model))


@solara.component
def ScenarioCard(model: solara.Reactive[ConflictModel]):
    """Pick a scenario (loads its values into the sliders); save the settings as a scenario."""
    catalogue = scenario_catalogue(scenarios_dir(), default_save_dir(), initial_scenario())
    labels = {str(p): label for label, p in catalogue.items()}
    chosen = Path(scenario_choice.value)
    current_label = labels.get(str(chosen), str(chosen))

    def choose(label: str) -> None:
        path = catalogue.get(label)
        if path is None:
            return
        save_message.set("")
        save_error.set("")
        scenario_choice.set(str(path))
        load_into_sliders(path)

    problem = ""
    try:
        base: Scenario | None = load_scenario(chosen)
    except ScenarioError as exc:
        base, problem = None, str(exc)
    settings = current_settings()
    changed = changes(base, settings) if base is not None else {}
    running = model.value
    pending = (not isinstance(running, VizModel) or running.scenario_path != chosen.resolve()
               or running.settings() != settings)

    def save() -> None:
        try:
            out = save_scenario(chosen, current_settings(), default_save_dir())
        except (ScenarioError, OSError) as exc:
            save_message.set("")
            save_error.set(f"Could not save: {exc}")
            return
        save_error.set("")
        save_message.set(f"Saved {_display(out)}")

    with solara.Card("Scenario", style={"margin-bottom": "12px"}), solara.Column(gap="10px"):
        solara.Select(label="Scenario", value=current_label, values=list(catalogue),
                      on_value=choose)
        solara.HTML(tag="div", unsafe_innerHTML=scenario_card_html(base, changed),
                    classes=["kh-card"])
        if problem:
            solara.Error(problem, dense=True)
        if pending:
            solara.Info("Press Reset to run with these settings.", dense=True)
        solara.Button("Save as scenario", on_click=save, color="primary", outlined=True,
                      icon_name="mdi-content-save", disabled=base is None)
        if save_message.value:
            solara.Success(save_message.value, dense=True)
        if save_error.value:
            solara.Error(save_error.value, dense=True)


def scenario_card_html(base: Scenario | None, changed: Mapping[str, Any]) -> str:
    """The scenario card's text: the description and what the sliders changed."""
    if base is None:
        return ""
    parts = [f'<p class="kh-desc">{esc(base.description)}</p>'] if base.description else []
    if changed:
        items = "".join(f"<li><code>{esc(name)}</code>: {esc(_change_text(base, name, value))}"
                        f"</li>" for name, value in changed.items())
        parts.append(f"<p><b>Changed from {esc(base.name)}:</b></p><ul>{items}</ul>")
    else:
        parts.append(f"<p>No changes from {esc(base.name)}.</p>")
    return "".join(parts)


def _change_text(base: Scenario, name: str, value: Any) -> str:
    spec = SLIDER_INDEX[SEED] if name == "scenario.seed" else SLIDER_INDEX[kwarg_name(name)]
    old = base.seed if name == "scenario.seed" else base.params[name]
    return f"{spec.text(old)} → {spec.text(value)}"


@solara.component
def Page():
    """The whole page: the scenario card, then Mesa's SolaraViz."""
    first = solara.use_memo(lambda: VizModel(scenario_choice.value, **current_settings()), [])
    model = solara.use_reactive(first)
    solara.Style(PAGE_CSS)
    with solara.Sidebar():
        ScenarioCard(model)
    SolaraViz(
        model,
        components=[MapView, Status, *PLOT_COMPONENTS],
        model_params=model_params(),
        name="khorasan · ISIS-K, the Taliban and Afghan civilians",
        play_interval=1,
    )
