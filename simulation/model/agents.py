"""Mesa agents: civilians, enforcers, ISIS-K cells and the Taliban regime.

Civilians, enforcers (Taliban units on the grid) and ISIS-K cells are thin
:class:`mesa.Agent` views onto the model's numpy arrays (an index and
properties), so a user can inspect ``agent.grievance`` while the model steps
every civilian at once; their rules live with the arrays
(:mod:`~simulation.model.civilians`, :mod:`~simulation.model.insurgency`).
The regime is an ordinary Mesa agent with its rules
(:mod:`~simulation.model.regime`, re-exported here). :class:`ViewRegistry`
keeps the views in step with the arrays, and :func:`make_views` registers
many views with Mesa at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from simulation.model.civilians import ACTIVE, JAILED, QUIET
from simulation.model.kernel import grievance
from simulation.model.regime import TalibanRegime

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel


class CivilianState(IntEnum):
    """A civilian's state, as stored in the state array."""

    QUIET = QUIET
    ACTIVE = ACTIVE
    JAILED = JAILED


class _ArrayView(mesa.Agent):
    """A Mesa agent whose state lives in the model's arrays at ``index``."""

    def __init__(self, model: ConflictModel, index: int) -> None:
        self.index = int(index)
        super().__init__(model)

    @property
    def pos(self) -> tuple[int, int]:  # type: ignore[override]
        """Grid coordinate ``(x, y)``."""
        raise NotImplementedError

    @pos.setter
    def pos(self, value: Any) -> None:  # Mesa's Agent.__init__ sets pos = None
        if value is not None:
            raise AttributeError("positions are set by the model")

    @property
    def cell(self) -> Any:
        """The ``mesa.discrete_space`` cell the agent is on."""
        return self.model.grid[self.pos]


class Civilian(_ArrayView):
    """A household or community: Epstein's citizen, plus susceptibility to recruitment."""

    @property
    def _pop(self) -> Any:
        return self.model.population

    @property
    def pos(self) -> tuple[int, int]:  # type: ignore[override]
        return int(self._pop.x[self.index]), int(self._pop.y[self.index])

    @pos.setter
    def pos(self, value: Any) -> None:
        _ArrayView.pos.fset(self, value)

    @property
    def hardship(self) -> float:
        """Perceived hardship H in [0, 1] (before repression's restrictions)."""
        return float(self._pop.hardship[self.index])

    @property
    def risk_aversion(self) -> float:
        """Risk aversion R in [0, 1]."""
        return float(self._pop.risk_aversion[self.index])

    @property
    def susceptibility(self) -> float:
        """Susceptibility to extremist recruitment in [0, 1]."""
        return float(self._pop.susceptibility[self.index])

    @property
    def grievance(self) -> float:
        """Current grievance G = 1 - (1 - H'(1 - L))(1 - shock)."""
        m = self.model
        return float(
            grievance(
                self.hardship,
                float(self._pop.shock[self.index]),
                m.regime.legitimacy,
                m.hardship_boost,
            )
        )

    @property
    def fear(self) -> float:
        """Fear from nearby attacks; it adds to risk aversion."""
        return float(self._pop.fear[self.index])

    @property
    def state(self) -> CivilianState:
        """Quiet, active or jailed."""
        return CivilianState(int(self._pop.state[self.index]))

    @property
    def jail_sentence(self) -> int:
        """Weeks of jail left."""
        return int(self._pop.jail[self.index])

    @property
    def region(self) -> str:
        """Name of the region the civilian started in."""
        return self.model.region_names[int(self._pop.region[self.index])]


class Enforcer(_ArrayView):
    """A Taliban unit on the grid (Epstein's cop): patrols, arrests actives, hunts ISIS-K cells."""

    @property
    def pos(self) -> tuple[int, int]:  # type: ignore[override]
        p = self.model.population
        return int(p.enforcer_x[self.index]), int(p.enforcer_y[self.index])

    @pos.setter
    def pos(self, value: Any) -> None:
        _ArrayView.pos.fset(self, value)

    @property
    def fighters(self) -> int:
        """Fighters the unit stands for."""
        return int(self.model.params["scale.fighters_per_taliban_unit"])


class IsisKCell(_ArrayView):
    """An ISIS-K cell: recruits, plans attacks and moves."""

    @property
    def pos(self) -> tuple[int, int]:  # type: ignore[override]
        ins = self.model.insurgency
        return int(ins.x[self.index]), int(ins.y[self.index])

    @pos.setter
    def pos(self, value: Any) -> None:
        _ArrayView.pos.fset(self, value)

    @property
    def fighters(self) -> int:
        """Fighters in the cell."""
        return int(self.model.insurgency.fighters[self.index])


__all__ = [
    "Civilian",
    "CivilianState",
    "Enforcer",
    "IsisKCell",
    "TalibanRegime",
    "ViewRegistry",
    "make_views",
]


def make_views[V: mesa.Agent](model: mesa.Model, cls: type[V], indices: Iterable[int]) -> list[V]:
    """Array views ``cls(model, i)`` for ``indices``, registered with Mesa in bulk.

    ``mesa.Agent.__init__`` registers one agent at a time (about 7 us each:
    7 s for a million civilians). For many views this sets the same
    attributes (``model``, ``unique_id`` in sequence, ``index``) and adds the
    agents to ``model.agents`` and ``agents_by_type`` in one go; they are
    ordinary ``mesa.Agent`` instances of ``cls``. This is the one place that
    uses Mesa's private registration state (``_agents_by_type``,
    ``_all_agents``, ``_HardKeyAgentSet``, ``agent_id_counter``), as Mesa
    3.5 lays it out; it falls back to the constructor when there are few
    views, when something observes agent additions, or when that layout
    differs (another Mesa version).
    """
    indices = list(indices)
    registry = _bulk_registry(model, cls, len(indices))
    if registry is None:
        return [cls(model, i) for i in indices]
    by_type, all_agents, agent_set = registry
    new = cls.__new__
    first = model.agent_id_counter
    views = []
    append = views.append
    gc_was_on = gc.isenabled()
    gc.disable()  # a million new objects would trigger full collections
    try:
        for uid, i in enumerate(indices, start=first):
            v = new(cls)
            v.index = i
            v.model = model
            v.unique_id = uid
            append(v)
    finally:
        if gc_was_on:
            gc.enable()
    model.agent_id_counter = first + len(views)
    added = dict.fromkeys(views)
    all_agents._agents.update(added)
    if cls in by_type:
        by_type[cls]._agents.update(added)
    else:
        by_type[cls] = agent_set(views, random=model.random)
    return views


def _bulk_registry(model: mesa.Model, cls: type, n: int) -> tuple[Any, Any, type] | None:
    """Mesa 3.5's registration state, if bulk registration is safe here (else None)."""
    try:
        from mesa.agentset import _HardKeyAgentSet
        from mesa.experimental.mesa_signals import ModelSignals
    except ImportError:  # another Mesa: the constructor it is
        return None
    by_type = getattr(model, "_agents_by_type", None)
    all_agents = getattr(model, "_all_agents", None)
    fast = (
        n >= 64
        and not cls._datasets
        and isinstance(by_type, dict)
        and isinstance(all_agents, _HardKeyAgentSet)
        and isinstance(getattr(model, "agent_id_counter", None), int)
        and not model._has_subscribers("agents", ModelSignals.AGENT_ADDED)
    )
    return (by_type, all_agents, _HardKeyAgentSet) if fast else None


class ViewRegistry:
    """The Mesa agents standing for enforcer slots and ISIS-K cell slots.

    The arrays reuse dead slots, so a slot's view is replaced when the slot
    is reused and removed from Mesa when it dies.
    """

    def __init__(self, model: mesa.Model) -> None:
        self.model = model
        self.enforcers: dict[int, Enforcer] = {}
        self.isisk_cells: dict[int, IsisKCell] = {}

    def isisk_cells_added(self, slots: np.ndarray) -> None:
        """New ISIS-K cells in ``slots`` (a reused slot's old view is removed)."""
        for s in slots:
            old = self.isisk_cells.pop(int(s), None)
            if old is not None:
                old.remove()
            self.isisk_cells[int(s)] = IsisKCell(self.model, int(s))

    def isisk_cells_removed(self, slots: np.ndarray) -> None:
        """ISIS-K cells in ``slots`` died."""
        for s in slots:
            view = self.isisk_cells.pop(int(s), None)
            if view is not None:
                view.remove()

    def enforcers_changed(self, added: np.ndarray, removed: np.ndarray) -> None:
        """Enforcer slots ``removed`` withdrawn, then ``added`` deployed."""
        for s in removed:
            view = self.enforcers.pop(int(s), None)
            if view is not None:
                view.remove()
        new = [int(s) for s in added]
        self.enforcers.update(zip(new, make_views(self.model, Enforcer, new), strict=True))


def mesa_grid(width: int, height: int, neighbourhood: str, random: Any) -> Any:
    """A ``mesa.discrete_space`` torus of the world, for users (agents' ``cell``).

    Mesa's grids know squares and diamonds; a disc gets the square and a
    cross the diamond (its own neighbourhood queries are for users; the
    model uses its arrays).
    """
    from mesa.discrete_space import OrthogonalMooreGrid, OrthogonalVonNeumannGrid

    diamond = neighbourhood in ("von_neumann", "cross")
    cls = OrthogonalVonNeumannGrid if diamond else OrthogonalMooreGrid
    return cls((width, height), torus=True, random=random)
