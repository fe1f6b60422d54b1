"""The browser app: the conflict model on Mesa's visualisation components.

Start it with ``khorasan viz [SCENARIO]`` (see :mod:`simulation.viz_server`),
which fetches the page's JavaScript once and runs ``solara run simulation.app``.

The page has
- in the sidebar: Mesa's controls (Reset, ▶, Step); a scenario card (pick a
  shipped scenario, see what the sliders changed, save the settings as a
  scenario file that ``extends`` it); Mesa's parameter sliders, one per
  parameter flagged ``slider=True`` in :mod:`simulation.params`, and the seed;
- a headline with the date and the week's numbers;
- a map drawn straight from the model's arrays as SVG (civilians by state or
  grievance, Taliban units, ISIS-K cells, this week's attacks, regions) with
  its legend, and a status card (more numbers, the scenario's events, the
  running model's settings);
- live plots against dates: a matplotlib background drawn when an axis
  changes, with the lines drawn over it as SVG every week.

Drawing a week costs the server a few milliseconds and the browser little, so
Play runs as fast as the model steps and the page keeps up (see
``benchmarks/viz_play.py``).

Settings reach the model through :class:`VizModel`, which takes flat keyword
arguments as Mesa's controls pass them (``isisk__defector_recruitment`` for
``isisk.defector_recruitment``) and builds the scenario from the chosen file.

Environment (set by ``khorasan viz``): ``KHORASAN_VIZ_SCENARIO`` (the scenario
shown first), ``KHORASAN_VIZ_SCENARIOS_DIR`` (the folder listed) and
``KHORASAN_VIZ_SAVE_DIR`` (where "Save as scenario" writes).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import io
import math
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape as esc
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import PIL.Image
import solara
from matplotlib.colors import to_hex, to_rgba
from matplotlib.ticker import MaxNLocator
from mesa.visualization import Slider
from mesa.visualization.solara_viz import ModelController, ModelCreator
from mesa.visualization.utils import update_counter

from simulation import params as ptable
from simulation.model import ConflictModel
from simulation.model.civilians import ACTIVE, JAILED, QUIET
from simulation.scenario import DAYS_PER_STEP, Scenario
from simulation.scenario_file import (
    ScenarioError,
    display_path,
    load_scenario,
    scenario_to_toml,
)
from simulation.viz_server import default_save_dir, initial_scenario, scenarios_dir

SEED = "seed"
SCENARIO_FILE = "scenario_file"
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
        self.source = display_path(self.scenario_path)  # the file as the page shows it
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
        """Advance one week; at the scenario's last week, stop (Play and Step wait for Reset)."""
        super().step()
        self.frame += 1
        if self.steps >= self.config.steps:
            self.running = False

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


def warm_up_kernel() -> None:
    """Compile (or load from Numba's cache) the civilian kernel: one step of the first scenario.

    Run in a background thread when the app is imported, so that the first
    Step a user presses does not wait for the compiler. A failure here is
    left for the real model to report.
    """
    with contextlib.suppress(Exception):  # the page's own model shows any error
        ConflictModel(_FIRST_SCENARIO, rng=0, make_views=False).step()


# --- per-session state (solara.reactive is per browser session) ------------------------------

_FIRST = initial_scenario()
_FIRST_SCENARIO = load_scenario(_FIRST)
threading.Thread(target=warm_up_kernel, name="khorasan-warm-up", daemon=True).start()
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


# --- the metrics, as arrays ----------------------------------------------------------------

#: Metrics the page shows (plots, headline, status).
SHOWN_METRICS = (
    "attacks", "attacks_interdicted", "attack_deaths", "repression", "target_repression",
    "arrests", "isisk_fighters", "isisk_cells", "taliban_fighters", "enforcers", "legitimacy",
    "mean_grievance", "active_civilians", "jailed_civilians", "quiet_civilians",
)


class MetricSeries:
    """A model's recorded metrics as growing arrays, read row by row.

    ``model.metrics()`` builds a DataFrame of every row; the page needs a few
    columns after every week, so the rows added since the last call are
    appended to arrays instead (the model's rows only grow).
    """

    def __init__(self, model: ConflictModel) -> None:
        self.model = model
        self.n = 0
        self.cap = 64
        self.data = {name: np.full(self.cap, np.nan) for name in SHOWN_METRICS}
        self.step = np.zeros(self.cap)
        self.x0 = float(mdates.date2num(model.config.start_date))

    def update(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The columns so far and their dates (matplotlib date numbers)."""
        new = self.model.metric_rows(self.n)
        if new:
            need = self.n + len(new)
            if need > self.cap:
                self.cap = max(2 * self.cap, need)
                for name, arr in self.data.items():
                    self.data[name] = np.concatenate([arr, np.full(self.cap - len(arr), np.nan)])
                self.step = np.concatenate([self.step, np.zeros(self.cap - len(self.step))])
            for name, arr in self.data.items():
                arr[self.n:need] = [row[name] for row in new]
            self.step[self.n:need] = [row["step"] for row in new]
            self.n = need
        x = self.x0 + DAYS_PER_STEP * self.step[:self.n]
        return {name: arr[:self.n] for name, arr in self.data.items()}, x


def metric_columns(model: ConflictModel) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The metrics the page shows as arrays, and their dates as matplotlib numbers."""
    series = model.__dict__.get("_viz_series")
    if series is None:
        series = model._viz_series = MetricSeries(model)
    return series.update()


# --- the map -------------------------------------------------------------------------------

STATE_STYLE = {  # state: (legend label, colour)
    QUIET: ("Quiet", "#b9cde3"),
    ACTIVE: ("Active: open dissent", "#f16913"),
    JAILED: ("Jailed", "#4d4d4d"),
}
UNIT_COLOUR = "#1a7a34"
CELL_COLOUR = "#111111"
ATTACK_STYLE = {  # map mode: (fill, edge) of the attack stars, to stand out from civilians
    "state": ("#e31a1c", "#ffe033"),
    "grievance": ("#1f6fd1", "#ffffff"),  # red would vanish among high grievance
}
REGION_COLOURS = ("#c994c7", "#fdb863", "#80cdc1", "#fa9fb5", "#bcbddc")
GRIEVANCE_CMAP = "YlOrRd"
MAP_BACKGROUND = "#ffffff"
# a five-pointed star of radius 1 (outer) around 0, pointing up (SVG y grows downwards)
_STAR = np.array([(math.sin(k * math.pi / 5) * r, -math.cos(k * math.pi / 5) * r)
                  for k, r in zip(range(10), (1.0, 0.45) * 5, strict=True)])


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
        unit = max(w, h) / 80  # markers and text scale with the world (1 at 80x80)
        self.unit = unit
        under = [f'<rect width="{w}" height="{h}" fill="{MAP_BACKGROUND}"/>']
        borders, labels = [], []
        font = 2.7 * unit
        tint = 0.22 if mode == "state" else 0  # a tint would shift the grievance colours
        for i, ((x0, x1, y0, y1), name) in enumerate(
                zip(model.region_boxes, model.region_names[1:], strict=True)):
            colour = REGION_COLOURS[i % len(REGION_COLOURS)]
            top, bw, bh = h - y1, x1 - x0, y1 - y0
            under.append(f'<rect x="{x0}" y="{top}" width="{bw}" height="{bh}" '
                         f'fill="{colour}" fill-opacity="0.45"/>')
            borders.append(f'<rect x="{x0}" y="{top}" width="{bw}" height="{bh}" '
                           f'fill="{colour}" fill-opacity="{tint}" '
                           f'stroke="{_darker(colour)}" stroke-width="{0.45 * unit:.2f}" '
                           f'stroke-dasharray="{1.6 * unit:.2f} {0.9 * unit:.2f}"/>')
            capital = model.capital_box == (x0, x1, y0, y1)
            label = f"{name} (capital)" if capital else name
            inside = top < font * 1.3  # no room above the box: write inside it
            y_text = top + font * 1.05 if inside else top - 0.45 * unit
            labels.append(f'<text x="{x0 + 0.4 * unit:.2f}" y="{y_text:.2f}" '
                          f'font-size="{font:.2f}" class="kh-map-label" '
                          f'stroke-width="{0.55 * unit:.2f}">{esc(label)}</text>')
        self.under, self.borders, self.labels = "".join(under), "".join(borders), "".join(labels)
        self.rgba = np.zeros((h, w, 4), dtype=np.uint8)
        self.jailed = np.array(_rgba8(STATE_STYLE[JAILED][1]), dtype=np.uint8)
        self.palette = np.zeros((max(STATE_STYLE) + 1, 4), dtype=np.uint8)
        for s, (_, colour) in STATE_STYLE.items():
            self.palette[s] = _rgba8(colour)
        self.lut = (matplotlib.colormaps[GRIEVANCE_CMAP](np.linspace(0, 1, 256)) * 255
                    + 0.5).astype(np.uint8)
        self.head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
                     f'class="kh-map-svg" role="img" aria-label="Map of the {w}×{h} grid">')

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
            out, format="png", compress_level=1)
        return out.getvalue()

    def svg(self, model: ConflictModel) -> str:
        """The map of ``model`` now, as an SVG element."""
        pop, ins, h = model.population, model.insurgency, self.h
        png = base64.b64encode(self.civilians_png(model)).decode("ascii")
        u = self.unit
        # Taliban units: small squares
        alive = pop.cop_alive
        side = 0.7 * u
        off = (1 - side) / 2
        units = "".join(
            f"M{x + off:.2f} {y + off:.2f}h{side:.2f}v{side:.2f}h-{side:.2f}z"
            for x, y in zip(pop.cop_x[alive].tolist(), (h - 1 - pop.cop_y[alive]).tolist(),
                            strict=True))
        # ISIS-K cells: triangles, larger with more fighters
        live = ins.alive
        r = cell_radius(ins.fighters[live]) * u
        cx = ins.x[live] + 0.5
        cy = h - 0.5 - ins.y[live]
        cells = "".join(
            f"M{x:.2f} {y - q:.2f}l{q:.2f} {1.7 * q:.2f}h{-2 * q:.2f}z"
            for x, y, q in zip(cx.tolist(), (cy + 0.25 * r).tolist(), r.tolist(), strict=True))
        # this week's attacks: stars, larger with more deaths
        fill, edge = ATTACK_STYLE[self.mode]
        stars = []
        for a in model.last_attacks:
            pts = _STAR * float(attack_radius(np.array(a.deaths)) * u) + (a.x + 0.5, h - 0.5 - a.y)
            stars.append("M" + "L".join(f"{px:.2f} {py:.2f}" for px, py in pts) + "z")
        return "".join((
            self.head, self.under,
            f'<image href="data:image/png;base64,{png}" x="0" y="0" width="{self.w}" '
            f'height="{h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>',
            self.borders,
            f'<path d="{units}" fill="{UNIT_COLOUR}"/>',
            f'<path d="{cells}" fill="{CELL_COLOUR}" stroke="white" '
            f'stroke-width="{0.22 * u:.2f}" stroke-linejoin="round"/>',
            f'<path d="{"".join(stars)}" fill="{fill}" stroke="{edge}" '
            f'stroke-width="{0.3 * u:.2f}" stroke-linejoin="round"/>',
            self.labels, "</svg>"))

    def legend_html(self, model: ConflictModel) -> str:
        """The map's legend (HTML): what each colour and marker means."""
        def swatch(colour: str, border: str = "none") -> str:
            return f'<span class="kh-sw" style="background:{colour};border:{border}"></span>'

        def symbol(body: str) -> str:
            return (f'<svg class="kh-sym" viewBox="-5 -5 10 10" aria-hidden="true">{body}'
                    f"</svg>")

        rows = ['<div class="kh-lg-title">Civilians</div>']
        if self.mode == "grievance":
            stops = ", ".join(to_hex(c) for c in
                              matplotlib.colormaps[GRIEVANCE_CMAP](np.linspace(0, 1, 9)))
            rows.append(f'<div class="kh-lg-bar" style="background:linear-gradient(to right, '
                        f'{stops})"></div><div class="kh-lg-ticks"><span>0</span>'
                        f'<span>grievance</span><span>1</span></div>')
            rows.append(f"<div>{swatch(STATE_STYLE[JAILED][1])}Jailed</div>")
        else:
            rows += [f"<div>{swatch(c)}{esc(label)}</div>" for label, c in STATE_STYLE.values()]
        star = "M" + "L".join(f"{x:.2f} {y:.2f}" for x, y in _STAR * 4.4) + "z"
        fill, edge = ATTACK_STYLE[self.mode]
        rows += [
            '<div class="kh-lg-title">Armed groups</div>',
            "<div>" + symbol(f'<rect x="-2.4" y="-2.4" width="4.8" height="4.8" '
                             f'fill="{UNIT_COLOUR}"/>') + "Taliban unit</div>",
            "<div>" + symbol(f'<path d="M0 -4.2L4.4 3.4H-4.4Z" fill="{CELL_COLOUR}"/>')
            + "ISIS-K cell</div>",
            "<div>" + symbol(f'<path d="{star}" fill="{fill}" stroke="{edge}" '
                             f'stroke-width="0.7"/>')
            + "Attack this week</div>",
        ]
        if model.region_boxes:
            rows.append('<div class="kh-lg-title">Regions</div>')
            for i, name in enumerate(model.region_names[1:]):
                colour = REGION_COLOURS[i % len(REGION_COLOURS)]
                rows.append(f"<div>{swatch(colour, f'1.5px dashed {_darker(colour)}')}"
                            f"{esc(name)}</div>")
        rows.append(f'<div class="kh-lg-note kh-lg-grid">Larger ▲: more fighters in the '
                    f"cell; larger ★: more deaths in the attack.<br>{self.w}×{self.h} cells; "
                    f"north is up.</div>")
        return f'<div class="kh-legend">{"".join(rows)}</div>'


# --- the plots -----------------------------------------------------------------------------

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
    PlotSpec("violence", "Violence: ISIS-K attacks and the people they kill",
             (("attacks", "Attacks", "#d62728"),), "attacks per week",
             (("attack_deaths", "Deaths in attacks", "#6b6b6b"),), "deaths per week"),
    PlotSpec("repression", "Repression: the Taliban's thermostat",
             (("repression", "Repression level", "#1f3f8c"),
              ("target_repression", "Target level", "#6baed6")),
             "level (0–1)",
             (("arrests", "Arrests", "#e6550d"),), "arrests per week", ylim=(0, 1)),
    PlotSpec("strength", "Strength: ISIS-K and Taliban fighters",
             (("isisk_fighters", "ISIS-K fighters", "#111111"),), "ISIS-K fighters",
             (("taliban_fighters", "Taliban fighters", "#1a7a34"),), "Taliban fighters"),
    PlotSpec("legitimacy", "Legitimacy of the regime and civilians' grievance",
             (("legitimacy", "Legitimacy", "#2ca02c"),
              ("mean_grievance", "Mean grievance", "#d62728")),
             "level (0–1)", ylim=(0, 1)),
)

PLOT_W, PLOT_H = 500.0, 236.0  # the SVG's size in its own units (CSS pixels at that width)
MARGIN = {"left": 54.0, "right": 14.0, "right_twin": 58.0, "top": 10.0, "bottom": 26.0}
EVENT_COLOUR = "#a0a0a0"
AXIS_COLOUR = "#666666"
GRID_COLOUR = "#e6e6e6"
_Y_LOCATOR = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])


@dataclass(frozen=True)
class _Line:
    metric: str
    label: str
    colour: str
    width: float
    dash: str  # SVG stroke-dasharray ("" for solid)
    right: bool


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
        self.events = [float(mdates.date2num(when)) for when, _ in event_list(model)]
        self.lines = [_Line(m, label, c, 2.0, ("", "6 3", "2 3")[i % 3], False)
                      for i, (m, label, c) in enumerate(spec.left)]
        self.lines += [_Line(m, label, c, 1.3, "", True) for m, label, c in spec.right]
        self.x0 = MARGIN["left"]
        self.x1 = PLOT_W - (MARGIN["right_twin"] if spec.right else MARGIN["right"])
        self.y0, self.y1 = PLOT_H - MARGIN["bottom"], MARGIN["top"]  # SVG y of 0 and of the top
        self.limits: Any = None
        self.axes = ""
        legend = "".join(
            f'<span><svg class="kh-key" viewBox="0 0 26 10" aria-hidden="true"><line x1="1" '
            f'y1="5" x2="25" y2="5" stroke="{ln.colour}" stroke-width="{ln.width}"'
            + (f' stroke-dasharray="{ln.dash}"' if ln.dash else "") + f'/></svg>{esc(ln.label)}'
            + (' <i>(right axis)</i>' if ln.right else "") + "</span>" for ln in self.lines)
        self.head = (f'<div class="kh-plot-title">{esc(spec.title)}</div>'
                     f'<div class="kh-plot-legend">{legend}</div>')

    def _limits(self, columns: Mapping[str, np.ndarray], steps: int) -> tuple[float, ...]:
        def top(specs: tuple[tuple[str, str, str], ...]) -> float:
            return _nice_top(max((float(np.nanmax(columns[m], initial=0.0)) for m, _, _ in specs),
                                 default=0.0))

        left = self.spec.ylim[1] if self.spec.ylim else top(self.spec.left)
        right = top(self.spec.right) if self.spec.right else 1.0
        return (self.start, self.start + DAYS_PER_STEP * _horizon(steps), left, right)

    def _sx(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.limits[0], self.limits[1]
        return self.x0 + (x - lo) * (self.x1 - self.x0) / (hi - lo)

    def _sy(self, y: np.ndarray, top: float) -> np.ndarray:
        return self.y0 - y * (self.y0 - self.y1) / top

    def _draw_axes(self) -> str:
        """Grid, axes, ticks, labels and event lines for the current limits."""
        lo, hi, left_top, right_top = self.limits
        x0, x1, y0, y1 = self.x0, self.x1, self.y0, self.y1
        out: list[str] = []
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ticks = np.array(locator.tick_values(mdates.num2date(lo), mdates.num2date(hi)))
        ticks = ticks[(ticks >= lo) & (ticks <= hi)]
        labels = mdates.ConciseDateFormatter(locator).format_ticks(ticks)
        for t, label in zip(self._sx(ticks).tolist(), labels, strict=True):
            out.append(f'<line x1="{t:.1f}" y1="{y1}" x2="{t:.1f}" y2="{y0}" '
                       f'stroke="{GRID_COLOUR}"/>'
                       f'<line x1="{t:.1f}" y1="{y0}" x2="{t:.1f}" y2="{y0 + 4}" '
                       f'stroke="{AXIS_COLOUR}"/>'
                       f'<text x="{t:.1f}" y="{y0 + 18}" text-anchor="middle">{esc(label)}</text>')
        right_colour = self.spec.right[0][2] if self.spec.right else AXIS_COLOUR
        for top, x, anchor, dx, colour, grid in (
                (left_top, x0, "end", -7, "#333333", True),
                (right_top, x1, "start", 7, right_colour, False)):
            if not grid and not self.spec.right:
                continue
            values = [v for v in _Y_LOCATOR.tick_values(0, top) if -1e-9 <= v <= top * 1.000001]
            for v, y in zip(values, self._sy(np.array(values), top).tolist(), strict=True):
                if grid and v > 0:
                    out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" '
                               f'stroke="{GRID_COLOUR}"/>')
                out.append(f'<line x1="{x}" y1="{y:.1f}" x2="{x + (-4 if grid else 4)}" '
                           f'y2="{y:.1f}" stroke="{colour}"/>'
                           f'<text x="{x + dx}" y="{y + 4:.1f}" text-anchor="{anchor}" '
                           f'fill="{colour}">{_compact_value(v)}</text>')
        for e in self._sx(np.array(self.events)).tolist():
            if x0 <= e <= x1:
                out.append(f'<line x1="{e:.1f}" y1="{y1}" x2="{e:.1f}" y2="{y0}" '
                           f'stroke="{EVENT_COLOUR}" stroke-dasharray="4 3"/>')
        out.append(f'<path d="M{x0} {y1}V{y0}H{x1}' + (f'V{y1}' if self.spec.right else "")
                   + f'" fill="none" stroke="{AXIS_COLOUR}"/>')
        mid = (y0 + y1) / 2
        out.append(f'<text transform="translate(13 {mid:.1f}) rotate(-90)" text-anchor="middle" '
                   f'class="kh-axis-label">{esc(self.spec.left_label)}</text>')
        if self.spec.right:
            out.append(f'<text transform="translate({PLOT_W - 8} {mid:.1f}) rotate(90)" '
                       f'text-anchor="middle" class="kh-axis-label" style="fill:{right_colour}">'
                       f"{esc(self.spec.right_label)}</text>")
        return "".join(out)

    def render(self, model: ConflictModel) -> str:
        """The plot of ``model`` now: title, legend and SVG, as HTML."""
        columns, x = metric_columns(model)
        limits = self._limits(columns, model.steps)
        if limits != self.limits:
            self.limits = limits
            self.axes = self._draw_axes()
        clip = f"kh-clip-{self.spec.key}"
        parts = [self.head,
                 f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PLOT_W:g} {PLOT_H:g}" '
                 f'class="kh-plot-svg" role="img" aria-label="{esc(self.spec.title)}">'
                 f'<defs><clipPath id="{clip}"><rect x="{self.x0}" y="{self.y1 - 4}" '
                 f'width="{self.x1 - self.x0 + 4}" height="{self.y0 - self.y1 + 8}"/></clipPath>'
                 f"</defs>{self.axes}"
                 f'<g clip-path="url(#{clip})" fill="none" stroke-linejoin="round">']
        sx = self._sx(x)
        dots = []
        for ln in sorted(self.lines, key=lambda ln: not ln.right):  # right axis underneath
            top = self.limits[3] if ln.right else self.limits[2]
            d, last = _svg_path(sx, self._sy(columns[ln.metric], top))
            if not d:
                continue
            dash = f' stroke-dasharray="{ln.dash}"' if ln.dash else ""
            parts.append(f'<path d="{d}" stroke="{ln.colour}" stroke-width="{ln.width}"{dash}/>')
            dots.append(f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="{ln.width + 1.2:.1f}" '
                        f'fill="{ln.colour}"/>')
        parts += ["</g>", *dots, "</svg>"]
        return "".join(parts)


def _svg_path(px: np.ndarray, py: np.ndarray) -> tuple[str, tuple[float, float]]:
    """SVG path data through the finite points (gaps at NaN), and the last point."""
    ok = np.isfinite(px) & np.isfinite(py)
    if not ok.any():
        return "", (0.0, 0.0)
    starts = ok & ~np.concatenate([[False], ok[:-1]])
    out = [("M" if s else "L") + f"{a:.1f} {b:.1f}"
           for a, b, s in zip(px[ok].tolist(), py[ok].tolist(), starts[ok].tolist(), strict=True)]
    i = np.flatnonzero(ok)[-1]
    return "".join(out), (float(px[i]), float(py[i]))


def event_list(model: ConflictModel) -> list[tuple[dt.date, str]]:
    """``(date, label)`` of the US withdrawal and of every scenario event, by date."""
    by_step: dict[int, list[str]] = {}
    withdrawal = int(model.config.params.get("surveillance.withdrawal_week", -1))
    if withdrawal >= 0:
        by_step.setdefault(withdrawal, []).append("US withdrawal")
    for ev in model.config.events:
        if ev.step >= 0 and ev.label not in by_step.get(ev.step, []):
            by_step.setdefault(ev.step, []).append(ev.label)
    return [(model.config.date_of(s), "; ".join(labels)) for s, labels in sorted(by_step.items())]


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


def _compact_value(v: float) -> str:
    """A tick label: 5000, 50k, 1.5M."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


# --- text: headline and status ---------------------------------------------------------------

def frame_of(model: ConflictModel) -> int:
    """Weeks the model has completed (a week in progress does not count)."""
    return model.frame if isinstance(model, VizModel) else model.steps


def headline_html(model: ConflictModel) -> str:
    """The date and the headline numbers, as tiles."""
    columns, _ = metric_columns(model)
    now = {name: col[-1] for name, col in columns.items()}

    def n(name: str) -> str:
        return f"{int(round(now[name])):,}"

    reg = model.regime
    total_attacks = int(np.nansum(columns["attacks"]))
    total_deaths = int(np.nansum(columns["attack_deaths"]))
    steps = model.config.steps
    progress = f"week {model.steps} of {steps}" if model.steps <= steps else \
        f"week {model.steps} ({model.steps - steps} past the scenario's {steps})"
    tiles = [
        ("#d62728", n("attacks"), "attacks this week", f"{total_attacks:,} so far"),
        ("#6b6b6b", n("attack_deaths"), "killed this week", f"{total_deaths:,} so far"),
        ("#111111", n("isisk_fighters"), "ISIS-K fighters", f"in {n('isisk_cells')} cells"),
        ("#1a7a34", n("taliban_fighters"), "Taliban fighters", f"{n('enforcers')} units on map"),
        ("#1f3f8c", f"{reg.repression:.2f}", "repression",
         f"target {reg.target_repression:.2f}; {n('arrests')} arrests"),
        ("#2ca02c", f"{reg.legitimacy:.2f}", "legitimacy",
         f"mean grievance {now['mean_grievance']:.2f}"),
    ]
    cards = "".join(
        f'<div class="kh-kpi" style="border-top-color:{c}"><div class="kh-kpi-v">{esc(v)}</div>'
        f'<div class="kh-kpi-l">{esc(label)}</div><div class="kh-kpi-s">{esc(sub)}</div></div>'
        for c, v, label, sub in tiles)
    return (f'<div class="kh-head"><div class="kh-when">'
            f'<div class="kh-date">{model.date:%d %B %Y}</div>'
            f'<div class="kh-week">{esc(progress)}</div>'
            f'<div class="kh-when-s">scenario <b>{esc(model.config.name)}</b></div></div>'
            f'<div class="kh-kpis">{cards}</div></div>')


def status_html(model: ConflictModel) -> str:
    """The status card: more numbers, the events, and the settings the model was built with."""
    columns, _ = metric_columns(model)
    now = {name: col[-1] for name, col in columns.items()}

    def n(name: str) -> str:
        return f"{int(round(now[name])):,}"

    src = model.source if isinstance(model, VizModel) else model.config.name
    facts = [
        ("Civilians", f"{n('active_civilians')} active, {n('jailed_civilians')} jailed, "
                      f"{n('quiet_civilians')} quiet"),
        ("Attack plots", f"{n('attacks')} carried out, {n('attacks_interdicted')} stopped "
                         f"this week"),
        ("Surveillance", f"{model.effective_surveillance:.2f} chance a plot is stopped"),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    events = "".join(
        f'<li class="{"kh-past" if when <= model.date else "kh-next"}">'
        f"<span>{when:%d %b %Y}</span> {esc(label)}</li>" for when, label in event_list(model))
    settings = "".join(
        f"<div>{esc(s.name)} = {esc(s.text(s.value_of(model.config)))}</div>" for s in SLIDERS)
    return (
        f'<div class="kh-status"><table>{table}</table>'
        + (f'<div class="kh-sub">Events <span class="kh-note">(dashed lines in the plots)'
           f"</span></div><ul class=\"kh-events\">{events}</ul>" if events else "")
        + f'<div class="kh-sub">This run: scenario <b>{esc(model.config.name)}</b> '
        f'<span class="kh-note">({esc(src)})</span> with</div>'
        f'<div class="kh-settings">{settings}</div></div>')


# --- components ------------------------------------------------------------------------

TITLE = "khorasan · ISIS-K, the Taliban and Afghan civilians"
#: Play speeds offered: label -> Mesa's pause before each week (ms). "max" leaves the pace to
#: the model and the drawing; the others are upper limits (the week's work comes on top).
PLAY_SPEEDS = {"1": 1000, "4": 250, "10": 100, "max": 1}


@solara.component
def MapView(model: ConflictModel):
    """The map card: the map, its legend and a toggle between civilians' state and grievance."""
    update_counter.get()
    mode = map_mode.value
    art = solara.use_memo(lambda: MapFigure(model, mode), [model, mode])
    svg = solara.use_memo(lambda: art.svg(model), [art, frame_of(model)])
    legend = solara.use_memo(lambda: art.legend_html(model), [art])
    with solara.Div(classes=["kh-card", "kh-map-card"]):
        with solara.Row(gap="10px", style={"align-items": "center", "flex-wrap": "wrap",
                                          "background": "transparent"}):
            solara.HTML(tag="div", unsafe_innerHTML="Map", classes=["kh-card-title"])
            solara.HTML(tag="div", unsafe_innerHTML="Colour civilians by",
                        classes=["kh-toggle-label"])
            solara.ToggleButtonsSingle(value=map_mode, values=["state", "grievance"],
                                       dense=True)
        with solara.Div(classes=["kh-map-body"]):
            solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["kh-map", "kh-fig"])
            solara.HTML(tag="div", unsafe_innerHTML=legend, classes=["kh-legend-box"])


def _make_plot(spec: PlotSpec):
    @solara.component
    def PlotView(model: ConflictModel):
        update_counter.get()
        art = solara.use_memo(lambda: PlotFigure(model, spec), [model])
        html = solara.use_memo(lambda: art.render(model), [art, frame_of(model)])
        solara.HTML(tag="div", unsafe_innerHTML=html, classes=["kh-card", "kh-plot", "kh-fig"])

    PlotView.__name__ = f"Plot_{spec.key}"
    return PlotView


PLOT_COMPONENTS = tuple(_make_plot(spec) for spec in PLOTS)


def watch_renders(model: ConflictModel) -> None:
    """Give the model this page's render lock (see :meth:`VizModel._wait_for_redraw`)."""
    if isinstance(model, VizModel) and model.render_lock is None:
        import reacton.core

        model.render_lock = getattr(reacton.core.get_render_context(), "thread_lock", None)


@solara.component
def Headline(model: ConflictModel):
    """The date and the headline numbers."""
    update_counter.get()
    watch_renders(model)
    html = solara.use_memo(lambda: headline_html(model), [model, frame_of(model)])
    solara.HTML(tag="div", unsafe_innerHTML=html)


@solara.component
def Status(model: ConflictModel):
    """More numbers, the scenario's events and the running model's settings."""
    update_counter.get()
    html = solara.use_memo(lambda: status_html(model), [model, frame_of(model)])
    with solara.Div(classes=["kh-card", "kh-status-card"]):
        solara.HTML(tag="div", unsafe_innerHTML="Status", classes=["kh-card-title"])
        solara.HTML(tag="div", unsafe_innerHTML=html)


@solara.component
def Dashboard(model: ConflictModel):
    """The main area: headline, map, status and plots."""
    with solara.Div(classes=["kh-main"]):
        Headline(model)
        with solara.Div(classes=["kh-top"]):
            MapView(model)
            Status(model)
        with solara.Div(classes=["kh-plots"]):
            for plot in PLOT_COMPONENTS:
                plot(model)


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
        save_message.set(f"Saved {display_path(out)}")

    with solara.Card("Scenario"), solara.Column(gap="10px"):
        solara.Select(label="Scenario", value=current_label, values=list(catalogue),
                      on_value=choose)
        solara.HTML(tag="div", unsafe_innerHTML=scenario_card_html(base, changed),
                    classes=["kh-scenario"])
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
    """The whole page, made of Mesa's controls and parameter sliders and the app's own views.

    Mesa's ``SolaraViz`` would add a tab per page of components ("Page 0"), a
    draggable grid, a "Time" card and sliders for the play interval, render
    interval and threads. The page is composed from the parts ``SolaraViz``
    itself uses instead: :func:`~mesa.visualization.solara_viz.ModelController`
    (Reset, ▶, Step) and :func:`~mesa.visualization.solara_viz.ModelCreator`
    (the sliders), sharing one reactive dict of settings as in ``SolaraViz``,
    with a choice of play speeds (the play interval) instead of the sliders.
    """
    first = solara.use_memo(lambda: VizModel(scenario_choice.value, **current_settings()), [])
    model = solara.use_reactive(first)
    settings = solara.use_reactive({})  # Mesa's copy of the settings, for Reset
    speed = solara.use_reactive("max")
    play_interval = solara.use_reactive(PLAY_SPEEDS["max"])

    def set_speed(label: str) -> None:
        speed.set(label)
        play_interval.set(PLAY_SPEEDS[label])

    render_interval = solara.use_reactive(1)  # draw every week
    use_threads = solara.use_reactive(False)
    solara.Title(TITLE)
    solara.Style(PAGE_CSS)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar(), solara.Column(gap="12px"):
        with solara.Card("Run"):
            ModelController(model, model_parameters=settings, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
            solara.HTML(tag="div", unsafe_innerHTML="Play speed, weeks per second",
                        classes=["kh-hint", "kh-speed"])
            solara.ToggleButtonsSingle(value=speed.value, values=list(PLAY_SPEEDS),
                                       on_value=set_speed, dense=True)
            solara.HTML(tag="div", classes=["kh-hint"], unsafe_innerHTML=(
                "<b>Step</b> runs one week, <b>▶</b> runs week after week until paused, "
                "<b>Reset</b> starts again with the settings below."))
        ScenarioCard(model)
        with solara.Card("Settings"):
            ModelCreator(model, model_params(), model_parameters=settings)
    Dashboard(model.value)


PAGE_CSS = """
.kh-main { padding: 0 4px 12px; color: #222; max-width: 1240px; }
.kh-card { background: #fff; border-radius: 6px; padding: 10px 12px;
           box-shadow: 0 1px 3px rgba(0,0,0,.14), 0 1px 2px rgba(0,0,0,.08); min-width: 0; }
.kh-card-title { font-size: 16px; font-weight: 600; color: #222; }
.kh-toggle-label { font-size: 13px; color: #555; margin-left: auto; }
/* headline: the date and numbers */
.kh-head { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 12px; }
.kh-kpis { flex: 999 1 560px; display: grid; gap: 10px;
           grid-template-columns: repeat(6, minmax(0, 1fr)); }
@container (max-width: 1000px) { .kh-kpis { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
.kh-when { flex: 1 0 auto; display: flex; flex-direction: column; justify-content: center;
           padding-right: 6px; }
.kh-date { font-size: 25px; font-weight: 600; line-height: 1.2; white-space: nowrap; }
.kh-week { font-size: 15px; font-weight: 500; color: #333; white-space: nowrap; }
.kh-when-s { font-size: 13px; color: #555; }
.kh-kpi { background: #fff; border-radius: 6px; border-top: 4px solid #999;
          padding: 6px 10px 7px; box-shadow: 0 1px 3px rgba(0,0,0,.14); min-width: 0; }
.kh-kpi-v { font-size: 23px; font-weight: 600; line-height: 1.15;
            font-variant-numeric: tabular-nums; }
.kh-kpi-l { font-size: 13px; color: #333; }
.kh-kpi-s { font-size: 12px; color: #666; line-height: 1.3; }
/* map and status */
.kh-main { container-type: inline-size; }
.kh-top { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; align-items: start; }
.kh-map-card { flex: 1.6 1 620px; }
.kh-status-card { flex: 1 1 300px; }
.kh-map-body { display: flex; gap: 14px; align-items: flex-start; margin-top: 6px; }
.kh-map { flex: 1 1 auto; min-width: 0; max-width: 600px; }
.kh-map-svg { width: 100%; height: auto; display: block; border: 1px solid #bbb; }
/* redrawn every week: keep the browser's layout and hit testing of them cheap */
.kh-fig { contain: layout paint; }
.kh-fig svg { pointer-events: none; }
.kh-map-label { font-family: Roboto, Arial, sans-serif; font-weight: 700; fill: #1d1d1d;
                stroke: #fff; paint-order: stroke; stroke-linejoin: round; }
.kh-legend-box { flex: 0 0 185px; }
.kh-legend { font-size: 13px; line-height: 1.25; }
.kh-legend > div { display: flex; align-items: center; gap: 7px; margin: 3px 0; }
.kh-legend .kh-lg-title { font-weight: 600; margin: 10px 0 2px; display: block; }
.kh-legend .kh-lg-title:first-child { margin-top: 0; }
.kh-lg-note { color: #666; font-size: 11.5px; }
.kh-legend .kh-lg-grid { display: block; margin-top: 10px; }
.kh-sw { display: inline-block; width: 14px; height: 14px; border-radius: 2px; flex: none;
         box-sizing: border-box; }
.kh-sym { width: 15px; height: 15px; flex: none; }
.kh-legend .kh-lg-bar { display: block; height: 12px; border-radius: 2px; margin: 4px 0 0; }
.kh-legend .kh-lg-ticks { justify-content: space-between; font-size: 11.5px; color: #555;
                          margin-top: 1px; }
.kh-status { font-size: 13.5px; line-height: 1.4; }
.kh-status table { border-collapse: collapse; margin: 6px 0 4px; }
.kh-status th { text-align: left; font-weight: 600; padding: 2px 12px 2px 0;
                white-space: nowrap; vertical-align: top; }
.kh-status td { padding: 2px 0; }
.kh-sub { font-weight: 600; margin: 10px 0 3px; }
.kh-note { color: #666; font-weight: 400; font-size: 12.5px; }
.kh-status ul.kh-events { list-style: none; padding: 0; margin: 0; }
.kh-events li { padding: 1px 0; }
.kh-events span { display: inline-block; min-width: 92px; color: #555;
                  font-variant-numeric: tabular-nums; }
.kh-events .kh-next { color: #888; }
.kh-settings { font-family: "Roboto Mono", monospace;
               font-size: 11.5px; color: #333; background: #f5f5f5; border-radius: 4px;
               padding: 6px 8px; }
.kh-settings div { break-inside: avoid; overflow-wrap: anywhere; }
/* plots */
.kh-plots { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
@container (max-width: 800px) { .kh-plots { grid-template-columns: minmax(0, 1fr); } }
.kh-plot-title { font-size: 14.5px; font-weight: 600; }
.kh-plot-legend { display: flex; flex-wrap: wrap; gap: 2px 16px; font-size: 12.5px;
                  color: #333; margin: 2px 0 0; }
.kh-plot-legend span { display: inline-flex; align-items: center; gap: 5px; }
.kh-plot-legend i { color: #777; font-style: normal; }
.kh-key { width: 26px; height: 10px; }
.kh-plot-svg { width: 100%; height: auto; display: block; font-size: 12.5px; fill: #444;
               font-variant-numeric: tabular-nums; }
.kh-plot-svg .kh-axis-label { font-size: 13px; fill: #333; }
/* sidebar */
.kh-hint { font-size: 12.5px; color: #555; margin-top: 8px; line-height: 1.35; }
.kh-hint.kh-speed { margin: 12px 0 3px; }
.kh-scenario { font-size: 13px; line-height: 1.45; color: #222; }
.kh-scenario p { margin: 0 0 6px; }
.kh-scenario .kh-desc { color: #555; }
.kh-scenario ul { margin: 0 0 4px; padding-left: 18px; }
.kh-scenario code { font-size: 12px; background: #f3f3f3; padding: 0 3px; border-radius: 3px;
                    color: #222; }
.v-alert__content { overflow-wrap: anywhere; }
/* slider labels on their own line, so long names leave the track its full width */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 1 0 100%; max-width: 100%; height: auto;
    white-space: normal; font-size: 13.5px; margin: 0 0 -4px 0 !important; }
"""
