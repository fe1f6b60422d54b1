"""What the rows of the parameter table share."""

from __future__ import annotations

#: The range of a probability, as keywords of :class:`~simulation.scenario.param_type.Param`.
PROB = {"min": 0.0, "max": 1.0}
