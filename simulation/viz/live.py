"""The live model behind the page: :class:`VizModel`, its metrics as arrays, the kernel warm-up.

:class:`VizModel` is a :class:`~simulation.model.ConflictModel` built from the
flat keyword arguments Mesa's controls pass, that stops at the scenario's
last week and, before each week, waits for the page to finish drawing the
last one. :func:`metric_columns` gives the page the metrics it shows as
growing arrays. :func:`start_warm_up` compiles the civilian kernel in a
background thread; the page starts it (nothing starts on import).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import matplotlib.dates as mdates
import numpy as np
import solara

from simulation.model import ConflictModel
from simulation.scenario import params as ptable
from simulation.scenario.core import DAYS_PER_STEP, Scenario
from simulation.scenario.errors import display_path
from simulation.viz.server import initial_scenario
from simulation.viz.settings import SEED, SLIDER_INDEX, build_scenario, dotted_name, slider_values

SCENARIO_FILE = "scenario_file"  # the keyword argument naming the scenario file
RENDER_WAIT_S = 10.0  # longest wait for a redraw before stepping anyway


def _plain(value: Any) -> Any:
    """The current value of a ``solara.Reactive``; anything else as it is."""
    return value.value if isinstance(value, solara.Reactive) else value


def _setting_values(seed: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Plain values by keyword name, the seed included; KeyError for an unknown parameter."""
    settings.pop("scenario", None)  # Mesa's own Scenario object
    values = {k: _plain(v) for k, v in settings.items()}
    if seed is not None:
        values[SEED] = _plain(seed)
    for kwarg in values:
        if kwarg not in SLIDER_INDEX and kwarg != SEED:
            ptable.get(dotted_name(kwarg))  # UnknownParameter for a typo
    return values


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

    def __init__(
        self,
        scenario_file: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        **settings: Any,
    ) -> None:
        scenario_file = _plain(scenario_file)
        path = Path(scenario_file) if scenario_file is not None else initial_scenario()
        scenario = build_scenario(path, _setting_values(seed, settings))
        self.scenario_path = path.resolve()
        self.source = display_path(self.scenario_path)  # the file as the page shows it
        self.render_lock: Any = None  # the page's render lock, set by the page (watch_renders)
        self.frame = 0  # weeks completed; what the figures are keyed on
        super().__init__(scenario, rng=scenario.seed)
        self.series = MetricSeries(self)

    def settings(self) -> dict[str, Any]:
        """The sliders' values that built this model."""
        return slider_values(self.config)

    def step(self) -> None:
        """Advance one week; at the scenario's last week, stop (Play and Step wait for Reset)."""
        super().step()
        self.frame += 1
        if self.steps >= self.config.steps:
            self.running = False

    def _wrapped_step(self) -> None:
        """Mesa's step (it counts the week, then calls :meth:`step`), once the page has drawn.

        Mesa's ``Model.__init__`` binds ``self.step`` to this method, so the
        wait comes before Mesa counts the week.
        """
        self._wait_for_redraw()
        super()._wrapped_step()

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


def frame_of(model: ConflictModel) -> int:
    """Weeks the model has completed (a week in progress does not count)."""
    return model.frame if isinstance(model, VizModel) else model.steps


# --- the metrics, as arrays ----------------------------------------------------------------

#: Metrics the page shows (plots, headline, status).
SHOWN_METRICS = (
    "attacks", "attacks_interdicted", "attack_deaths", "repression", "target_repression",
    "arrests", "isisk_fighters", "isisk_cells", "taliban_fighters", "enforcers", "legitimacy",
    "mean_grievance", "active_civilians", "jailed_civilians", "quiet_civilians",
)  # fmt: skip


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

    def _grow(self, need: int) -> None:
        """Make room for ``need`` rows (at least doubling)."""
        self.cap = max(2 * self.cap, need)
        for name, arr in self.data.items():
            self.data[name] = np.concatenate([arr, np.full(self.cap - len(arr), np.nan)])
        self.step = np.concatenate([self.step, np.zeros(self.cap - len(self.step))])

    def update(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The columns so far and their dates (matplotlib date numbers)."""
        new = self.model.metric_rows(self.n)
        if new:
            need = self.n + len(new)
            if need > self.cap:
                self._grow(need)
            for name, arr in self.data.items():
                arr[self.n : need] = [row[name] for row in new]
            self.step[self.n : need] = [row["step"] for row in new]
            self.n = need
        x = self.x0 + DAYS_PER_STEP * self.step[: self.n]
        return {name: arr[: self.n] for name, arr in self.data.items()}, x


_OTHER_SERIES: WeakKeyDictionary[ConflictModel, MetricSeries] = WeakKeyDictionary()


def metric_columns(model: ConflictModel) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The metrics the page shows as arrays, and their dates as matplotlib numbers."""
    if isinstance(model, VizModel):
        return model.series.update()
    series = _OTHER_SERIES.get(model)
    if series is None:
        series = _OTHER_SERIES[model] = MetricSeries(model)
    return series.update()


# --- the kernel warm-up --------------------------------------------------------------------

_warm_up_lock = threading.Lock()
_warm_up: list[threading.Thread] = []  # the thread, once started


def warm_up_kernel(scenario: Scenario) -> None:
    """Compile (or load from Numba's cache) the civilian kernel: one step of ``scenario``.

    A failure here is left for the page's own model to report.
    """
    with contextlib.suppress(Exception):
        ConflictModel(scenario, rng=0, make_views=False).step()


def start_warm_up(scenario: Scenario) -> threading.Thread:
    """Run :func:`warm_up_kernel` in a background thread, once per process; return the thread.

    The page calls this when it first renders, so that the first Step a user
    presses does not wait for the compiler.
    """
    with _warm_up_lock:
        if not _warm_up:
            thread = threading.Thread(
                target=warm_up_kernel, args=(scenario,), name="khorasan-warm-up", daemon=True
            )
            thread.start()
            _warm_up.append(thread)
        return _warm_up[0]
