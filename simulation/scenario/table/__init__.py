"""The rows of the one parameter table, a module per part of the model.

``world`` (grid, scheduling, scale), ``civilians`` (Epstein's rules and
legitimacy), ``taliban`` (repression, enforcers, counter-terrorism) and
``isisk`` (cells and surveillance). :mod:`simulation.scenario.params` joins
them into ``PARAMS``, the one table.
"""
