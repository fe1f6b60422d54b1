"""The browser app's page: Mesa's controls and sliders, the scenario card, and the app's views.

Start it with ``khorasan viz [SCENARIO]`` (see :mod:`simulation.viz.server`),
which fetches the page's JavaScript once and runs ``solara run
simulation.viz.page``.

The page has
- in the sidebar: Mesa's controls (Reset, ▶, Step); a scenario card (pick a
  shipped scenario, see what the sliders changed, save the settings as a
  scenario file that ``extends`` it); Mesa's parameter sliders, one per
  parameter flagged ``slider=True`` in :mod:`simulation.scenario.params`, and the seed;
- a headline with the date and the week's numbers;
- a map drawn straight from the model's arrays as SVG (:mod:`~simulation.viz.map`)
  with its legend, and a status card (more numbers, the scenario's events, the
  running model's settings; :mod:`~simulation.viz.cards`);
- live charts against dates (:mod:`~simulation.viz.charts`): the axes are kept
  until a limit changes, the lines drawn again as SVG every week.

Drawing a week costs the server a few milliseconds and the browser little, so
Play runs as fast as the model steps and the page keeps up (see
``benchmarks/viz_play.py``). Settings reach the model through
:class:`~simulation.viz.live.VizModel`. The page's first render starts the
kernel warm-up (:func:`~simulation.viz.live.start_warm_up`); importing this
module starts nothing.

Environment (set by ``khorasan viz``): ``KHORASAN_VIZ_SCENARIO`` (the scenario
shown first), ``KHORASAN_VIZ_SCENARIOS_DIR`` (the folder listed) and
``KHORASAN_VIZ_SAVE_DIR`` (where "Save as scenario" writes).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import solara
from mesa.visualization import Slider
from mesa.visualization.solara_viz import ModelController, ModelCreator
from mesa.visualization.utils import update_counter

from simulation.model import ConflictModel
from simulation.scenario.core import Scenario
from simulation.scenario.errors import ScenarioError, display_path
from simulation.scenario.loader import load_scenario
from simulation.viz.cards import headline_html, scenario_card_html, status_html
from simulation.viz.charts import PLOTS, PlotFigure, PlotSpec
from simulation.viz.live import SCENARIO_FILE, VizModel, frame_of, start_warm_up
from simulation.viz.map import MapFigure
from simulation.viz.saving import save_scenario, scenario_catalogue
from simulation.viz.server import default_save_dir, initial_scenario, scenarios_dir
from simulation.viz.settings import SLIDER_INDEX, SLIDERS, changes, slider_values

TITLE = "khorasan · ISIS-K, the Taliban and Afghan civilians"
#: Play speeds offered: label -> Mesa's pause before each week (ms). "max" leaves the pace to
#: the model and the drawing; the others are upper limits (the week's work comes on top).
PLAY_SPEEDS = {"1": 1000, "4": 250, "10": 100, "max": 1}
PAGE_CSS = files("simulation.viz").joinpath("page.css").read_text(encoding="utf-8")


# --- per-session state (solara.reactive is per browser session) ------------------------------

_FIRST = initial_scenario()
_FIRST_SCENARIO: Scenario = load_scenario(_FIRST)
scenario_choice = solara.reactive(str(_FIRST.resolve()))
slider_state: dict[str, solara.Reactive[Any]] = {
    k: solara.reactive(v) for k, v in slider_values(_FIRST_SCENARIO).items()
}
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
        out[s.kwarg] = Slider(
            s.caption(value), slider_state[s.kwarg], min=lo, max=hi, step=step, dtype=s.kind
        )
    return out


# --- components ------------------------------------------------------------------------


@solara.component
def MapView(model: ConflictModel):
    """The map card: the map, its legend and a toggle between civilians' state and grievance."""
    update_counter.get()
    mode = map_mode.value
    art = solara.use_memo(lambda: MapFigure(model, mode), [model, mode])
    svg = solara.use_memo(lambda: art.svg(model), [art, frame_of(model)])
    legend = solara.use_memo(lambda: art.legend_html(model), [art])
    with solara.Div(classes=["kh-card", "kh-map-card"]):
        row_style = {"align-items": "center", "flex-wrap": "wrap", "background": "transparent"}
        with solara.Row(gap="10px", style=row_style):
            solara.HTML(tag="div", unsafe_innerHTML="Map", classes=["kh-card-title"])
            solara.HTML(
                tag="div", unsafe_innerHTML="Colour civilians by", classes=["kh-toggle-label"]
            )
            solara.ToggleButtonsSingle(value=map_mode, values=["state", "grievance"], dense=True)
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


def choose_scenario(path: Path | None) -> None:
    """Pick the scenario in ``path`` (None: not listed any more); load it into the sliders."""
    if path is None:
        return
    save_message.set("")
    save_error.set("")
    scenario_choice.set(str(path))
    load_into_sliders(path)


def save_settings(chosen: Path) -> None:
    """Save the current settings as a scenario extending ``chosen``; say how it went."""
    try:
        out = save_scenario(chosen, current_settings(), default_save_dir())
    except (ScenarioError, OSError) as exc:
        save_message.set("")
        save_error.set(f"Could not save: {exc}")
        return
    save_error.set("")
    save_message.set(f"Saved {display_path(out)}")


def _is_pending(running: ConflictModel, chosen: Path, settings: dict[str, Any]) -> bool:
    """True if the running model is not the chosen scenario with these settings."""
    return (
        not isinstance(running, VizModel)
        or running.scenario_path != chosen.resolve()
        or running.settings() != settings
    )


@solara.component
def ScenarioCard(model: solara.Reactive[ConflictModel]):
    """Pick a scenario (loads its values into the sliders); save the settings as a scenario."""
    catalogue = scenario_catalogue(scenarios_dir(), default_save_dir(), initial_scenario())
    labels = {str(p): label for label, p in catalogue.items()}
    chosen = Path(scenario_choice.value)
    problem = ""
    try:
        base: Scenario | None = load_scenario(chosen)
    except ScenarioError as exc:
        base, problem = None, str(exc)
    settings = current_settings()
    changed = changes(base, settings) if base is not None else {}
    with solara.Card("Scenario"), solara.Column(gap="10px"):
        solara.Select(
            label="Scenario",
            value=labels.get(str(chosen), str(chosen)),
            values=list(catalogue),
            on_value=lambda label: choose_scenario(catalogue.get(label)),
        )
        solara.HTML(
            tag="div", unsafe_innerHTML=scenario_card_html(base, changed), classes=["kh-scenario"]
        )
        if problem:
            solara.Error(problem, dense=True)
        if _is_pending(model.value, chosen, settings):
            solara.Info("Press Reset to run with these settings.", dense=True)
        solara.Button(
            "Save as scenario",
            on_click=lambda: save_settings(chosen),
            color="primary",
            outlined=True,
            icon_name="mdi-content-save",
            disabled=base is None,
        )
        if save_message.value:
            solara.Success(save_message.value, dense=True)
        if save_error.value:
            solara.Error(save_error.value, dense=True)


def _warm_up() -> None:
    """Start compiling the civilian kernel (once per process), while the page loads."""
    start_warm_up(_FIRST_SCENARIO)


RUN_HINT = (
    "<b>Step</b> runs one week, <b>▶</b> runs week after week until paused, "
    "<b>Reset</b> starts again with the settings below."
)


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
    solara.use_effect(_warm_up, [])
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
            ModelController(
                model,
                model_parameters=settings,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
            solara.HTML(
                tag="div",
                unsafe_innerHTML="Play speed, weeks per second",
                classes=["kh-hint", "kh-speed"],
            )
            solara.ToggleButtonsSingle(
                value=speed.value, values=list(PLAY_SPEEDS), on_value=set_speed, dense=True
            )
            solara.HTML(tag="div", classes=["kh-hint"], unsafe_innerHTML=RUN_HINT)
        ScenarioCard(model)
        with solara.Card("Settings"):
            ModelCreator(model, model_params(), model_parameters=settings)
    Dashboard(model.value)
