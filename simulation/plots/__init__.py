"""Plots of saved results: they read run directories, never a live model.

- :mod:`~simulation.plots.run`: a run's figures (``plots/violence.png``,
  ``repression.png``, ``overview.png``), written by :func:`plot_run`;
- :mod:`~simulation.plots.compare`: several runs in one figure (``khorasan compare``);
- :mod:`~simulation.plots.sweep`: a parameter sweep's lines or heatmaps (``khorasan sweep``);
- :mod:`~simulation.plots.events`: the event marks, made once for the plots and the app;
- :mod:`~simulation.plots.report` and :mod:`~simulation.plots.animate`: results to share
  (``khorasan report``, ``khorasan animate``), written where :mod:`~.sharing` allows;
- :mod:`~simulation.plots.common`: axes, legend and PNG writing shared by the figures;
- :mod:`~simulation.plots.style`: colours, labels, units and number formats, shared with
  the browser app (:mod:`simulation.viz`).
"""

from simulation.plots.common import figure_png, save_figure
from simulation.plots.compare import Band, comparison_figures, render_bands
from simulation.plots.events import EVENT_LABEL_MAX, event_marks, merged_event_marks
from simulation.plots.run import FIGURES, Panel, Series, missing_plots, plot_run, render_figure
from simulation.plots.style import scenario_colour
from simulation.plots.sweep import render_sweep_heatmaps, render_sweep_lines, sweep_figure

__all__ = [
    "EVENT_LABEL_MAX",
    "FIGURES",
    "Band",
    "Panel",
    "Series",
    "comparison_figures",
    "event_marks",
    "figure_png",
    "merged_event_marks",
    "missing_plots",
    "plot_run",
    "render_bands",
    "render_figure",
    "render_sweep_heatmaps",
    "render_sweep_lines",
    "save_figure",
    "scenario_colour",
    "sweep_figure",
]
