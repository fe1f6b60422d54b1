"""The Taliban regime: perceived threat, thermostatic repression with a ratchet, legitimacy.

ODD 7.2, 7.3 and 7.8 (strength). The regime is an ordinary Mesa agent that updates
once a week; repression in turn sets how many enforcers are deployed, how
long jail terms run and how much hardship its restrictions add.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel


def enforcer_density(params: Mapping[str, Any], repression: float) -> float:
    """Enforcers per grid cell that ``repression`` deploys: ``d * (1 + gain * Rep)``."""
    return params["taliban.enforcer_density"] * (
        1 + params["repression.enforcement_gain"] * repression
    )


def jail_max(params: Mapping[str, Any], repression: float) -> int:
    """The longest jail term under ``repression``: ``J * (1 + gain * Rep)``, rounded."""
    return int(
        round(params["taliban.max_jail_term"] * (1 + params["repression.jail_gain"] * repression))
    )


def enforcer_target(
    params: Mapping[str, Any], repression: float, base_units: int, base_density: float, n_cells: int
) -> int:
    """Enforcer units to deploy under ``repression``.

    In proportion to the ``base_units`` placed at the start (at density
    ``base_density``), or, when there were none, density times the world's grid cells.
    """
    density = enforcer_density(params, repression)
    if base_density > 0:
        return int(round(base_units * density / base_density))
    return int(round(density * n_cells))


def deploy(model: ConflictModel, rng: Any) -> tuple[Any, Any]:
    """Deploy or withdraw enforcer units to match repression; the slots added and removed."""
    target = enforcer_target(
        model.params,
        model.regime.repression,
        model.base_enforcers,
        model.base_enforcer_density,
        model.n_cells,
    )
    pop = model.population
    if target == pop.n_enforcers:
        return (), ()
    return pop.set_enforcers(target, rng)


def max_enforcers(params: Mapping[str, Any], base_units: int, base_density: float) -> float:
    """The most enforcer units that full repression deploys (0 if none were placed)."""
    gain = params["repression.enforcement_gain"]
    return (
        (base_units * params["taliban.enforcer_density"] * (1 + gain) / base_density)
        if base_units
        else 0
    )


class TalibanRegime(mesa.Agent):
    """The regime: legitimacy, perceived threat and thermostatic repression.

    Each week (see docs/ODD.md, 7.2 and 7.3):

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

    def update(
        self, *, deaths: int, active_share: float, defectors: int, taliban_losses: int
    ) -> None:
        """The weekly update of threat, repression, legitimacy and strength."""
        p = self.model.params
        self.perceived_threat = (
            p["repression.threat_memory"] * self.perceived_threat
            + p["repression.threat_per_death"] * deaths
            + p["repression.threat_per_active"] * active_share
            + p["repression.threat_per_defector"] * defectors
        )
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
        self.attack_damage = min(
            1.0,
            self.attack_damage * (1 - p["legitimacy.recovery"])
            + p["legitimacy.attack_damage"] * deaths / 100.0,
        )
        self.legitimacy = self._legitimacy()
        f0 = p["taliban.initial_fighters"]
        self.fighters = max(
            0.0,
            self.fighters
            + p["taliban.replenishment"] * (f0 - self.fighters)
            - defectors
            - taliban_losses,
        )

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

    @property
    def hardship_boost(self) -> float:
        """Repression's restrictions: ``H' = H + (1 - H) * boost``, ``boost = gain * Rep``."""
        return self.model.params["repression.hardship_gain"] * self.repression
