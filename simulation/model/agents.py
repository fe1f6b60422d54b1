"""Mesa agents: civilians, Taliban units, ISIS-K cells and the Taliban regime.

Civilians, Taliban units and ISIS-K cells are thin :class:`mesa.Agent` views
onto the model's numpy arrays (an index and properties), so a user can
inspect ``agent.grievance`` while the model steps every civilian at once.
The regime is an ordinary Mesa agent that owns legitimacy, perceived threat
and the repression level, and updates them once a week.
"""

from __future__ import annotations

import math
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import mesa

from simulation.model.civilians import ACTIVE, JAILED, QUIET

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
        h = self.hardship + (1 - self.hardship) * m.hardship_boost
        return 1 - (1 - h * (1 - m.regime.legitimacy)) * (1 - float(self._pop.shock[self.index]))

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


class TalibanUnit(_ArrayView):
    """A Taliban enforcer unit: patrols, arrests active civilians, hunts ISIS-K cells."""

    @property
    def pos(self) -> tuple[int, int]:  # type: ignore[override]
        p = self.model.population
        return int(p.cop_x[self.index]), int(p.cop_y[self.index])

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


class TalibanRegime(mesa.Agent):
    """The regime: legitimacy, perceived threat and thermostatic repression.

    Each week (see docs/ODD.md, Submodels 2 and 3):

    - threat: ``T <- delta*T + w_d*deaths + w_a*active_share + w_f*defectors``;
    - target: ``Rep* = min(1, rho0(t) + b * T^c)``, ``rho0(t)`` drifting up;
    - thermostat with ratchet: ``X += up*max(0, Rep*-X) - down*max(0, X-Rep*)``, and
      repression ``Rep`` follows the continuous pressure ``X`` in whole edicts;
    - legitimacy: ``L = L0 - lambda*Rep - D``, with attack damage ``D`` healing slowly.
    """

    def __init__(self, model: ConflictModel) -> None:
        super().__init__(model)
        p = model.params
        self.repression: float = p["repression.initial"]
        self.pressure: float = self.repression  # the thermostat's continuous level
        self.target_repression: float = self.repression
        self.perceived_threat: float = 0.0
        self.attack_damage: float = 0.0
        self.weeks_in_power: int = 0  # weeks with the thermostat on (the baseline's drift)
        self.fighters: float = float(p["taliban.initial_fighters"])
        self.legitimacy: float = self._legitimacy()

    def _legitimacy(self) -> float:
        p = self.model.params
        base = p["legitimacy.initial"]
        if not p["legitimacy.dynamic"]:
            return base
        erosion = p["legitimacy.repression_erosion"] * self.repression
        return min(1.0, max(0.0, base - erosion - self.attack_damage))

    def baseline(self, weeks: int) -> float:
        """The ideological baseline rho0 after ``weeks`` in power, drifting up to its ceiling."""
        p = self.model.params
        base = p["repression.baseline"]
        ceiling = max(base, p["repression.baseline_max"])
        return min(ceiling, base + p["repression.baseline_drift"] * weeks)

    def update(self, *, deaths: int, active_share: float, defectors: int,
               taliban_losses: int) -> None:
        """The weekly update of threat, repression, legitimacy and strength."""
        p = self.model.params
        self.perceived_threat = (p["repression.threat_memory"] * self.perceived_threat
                                 + p["repression.threat_per_death"] * deaths
                                 + p["repression.threat_per_active"] * active_share
                                 + p["repression.threat_per_defector"] * defectors)
        response = p["repression.gain"] * math.pow(self.perceived_threat, p["repression.exponent"])
        if p["repression.thermostat"]:
            self.weeks_in_power += 1
        self.target_repression = min(1.0, self.baseline(self.weeks_in_power) + response)
        if p["repression.thermostat"]:
            gap = self.target_repression - self.pressure
            rate = p["repression.rate_up"] if gap > 0 else p["repression.rate_down"]
            self.pressure = min(1.0, max(0.0, self.pressure + rate * gap))
            self.repression = self._as_edicts(self.pressure)
        else:
            self.pressure = self.repression = p["repression.initial"]
        self.attack_damage = min(1.0, self.attack_damage * (1 - p["legitimacy.recovery"])
                                 + p["legitimacy.attack_damage"] * deaths / 100.0)
        self.legitimacy = self._legitimacy()
        f0 = p["taliban.initial_fighters"]
        self.fighters = max(0.0, self.fighters + p["taliban.replenishment"] * (f0 - self.fighters)
                            - defectors - taliban_losses)

    def _as_edicts(self, pressure: float) -> float:
        """Repression moves in whole edicts of ``repression.edict_size`` (0: continuously).

        Levels are counted from the initial level, so a regime at rest keeps it.
        """
        size = self.model.params["repression.edict_size"]
        if size <= 0:
            return pressure
        start = self.model.params["repression.initial"]
        return min(1.0, max(0.0, start + size * math.floor((pressure - start) / size + 1e-9)))

    def refresh(self) -> None:
        """Recompute legitimacy after a parameter change (events)."""
        if not self.model.params["repression.thermostat"]:
            self.pressure = self.repression = self.model.params["repression.initial"]
        self.legitimacy = self._legitimacy()
