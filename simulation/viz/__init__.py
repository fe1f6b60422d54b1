"""The browser app (``khorasan viz``): the conflict model live, on Mesa's Solara components.

- :mod:`~simulation.viz.page`: the page (Solara components), served by ``solara run
  simulation.viz.page``, and its styles (``page.css``);
- :mod:`~simulation.viz.settings`: sliders generated from the parameter table, and
  the scenario their values make;
- :mod:`~simulation.viz.saving`: the scenario selector's list and "Save as scenario";
- :mod:`~simulation.viz.live`: the live model (:class:`~simulation.viz.live.VizModel`),
  its metrics as arrays, and the kernel warm-up;
- :mod:`~simulation.viz.map`: the map, as SVG;
- :mod:`~simulation.viz.charts`: the live charts, as SVG;
- :mod:`~simulation.viz.cards`: the headline, status and scenario texts.

Colours, labels and event marks are shared with the plots (:mod:`simulation.plots.style`,
:mod:`simulation.plots.events`). Importing this package imports none of its modules.
"""
