"""The validation of the model: the evidence behind docs/validation.md.

``python -m simulation.validation`` runs the three parts, caches their
simulations in ``docs/data/`` and writes the page and its figures.

- :mod:`.stats`: effect size, permutation / KS / Fisher tests, Holm, bootstrap CIs.
- :mod:`.cache`: the caches, keyed by the code fingerprint and the inputs.
- :mod:`.runs`: simulations on the project's executor (``ensemble.execute``).
- :mod:`.mesa_reference`: Mesa's Epstein example as reference (its cached runs).
- :mod:`.agreement`: part 1, khorasan against Mesa's example.
- :mod:`.epstein`: part 2, Epstein (2002): Run 2, the crises, the vision shapes.
- :mod:`.targets`: the dated record of ISIS-K, 2015-2025, and the calibration loss.
- :mod:`.calibration`: the two-stage calibration of the historical scenario
  (``python -m simulation.validation.calibration``).
- :mod:`.historical`: part 3, the historical scenario against the record.
- :mod:`.page`: the page's text and figures.

Nothing in the model, scenarios or results imports this package.
"""
