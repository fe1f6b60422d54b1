"""The model layer: ``ConflictModel`` wires the mechanisms; each lives in its own module.

``from simulation.model import ConflictModel, simulate``. The names are
imported lazily, so that ``simulation.model.record`` (the metrics table) can
be read without importing Mesa and Numba.

Modules, in the order of a step (docs/ODD.md, "Process overview"):

- :mod:`~simulation.model.model`: ``ConflictModel``, its random streams and the step order;
- :mod:`~simulation.model.events` and :mod:`~simulation.model.regions`: scheduled events
  and ramps; the regions of the grid;
- :mod:`~simulation.model.surveillance`: US surveillance and Taliban intelligence;
- :mod:`~simulation.model.civilians`: civilians and enforcers as arrays (Epstein's rules),
  with :mod:`~simulation.model.kernel` (the compiled random sequential step) and
  :mod:`~simulation.model.batched` (the batched ablation);
- :mod:`~simulation.model.insurgency`: ISIS-K cells: movement, recruitment, attacks;
- :mod:`~simulation.model.counter_terrorism`: Taliban counter-terrorism against ISIS-K cells;
- :mod:`~simulation.model.harm`: attacks and collateral harm shock nearby civilians;
- :mod:`~simulation.model.regime`: the Taliban regime (threat, thermostat, legitimacy);
- :mod:`~simulation.model.record`: the metrics table and the weekly record;
- :mod:`~simulation.model.agents`: the Mesa agents (array views) and their bookkeeping;
- :mod:`~simulation.model.space` and :mod:`~simulation.model.moves`: neighbourhoods on the
  torus and the choice of free grid cells.

Words: a *cell* of the grid is Mesa's ``discrete_space`` cell (a flat id
``x * height + y`` in the arrays); an ISIS-K cell is always called an
*ISIS-K cell* (``isisk_cell``, or a *slot* of :class:`~simulation.model.insurgency.Insurgency`).
An *enforcer* is a Taliban unit on the grid (Epstein's cop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ConflictModel", "run_model", "simulate", "source_modules"]

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel, run_model, simulate


def source_modules() -> tuple[str, ...]:
    """The model's modules as names under ``simulation`` (``"model.kernel"``, ...), sorted.

    Everything in this package decides results, so code fingerprints hash
    all of it; a new module is included without being listed anywhere.
    """
    import pkgutil

    return tuple(sorted(f"model.{m.name}" for m in pkgutil.iter_modules(__path__)))


def __getattr__(name: str) -> Any:
    if name in ("ConflictModel", "run_model", "simulate"):
        import importlib

        return getattr(importlib.import_module("simulation.model.model"), name)
    raise AttributeError(f"module 'simulation.model' has no attribute {name!r}")
