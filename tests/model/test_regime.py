"""The regime's deployment rules and thermostat (simulation.model.regime)."""

from __future__ import annotations

import itertools
from typing import Any

from simulation.model import regime
from simulation.model.regime import TalibanRegime


def test_repression_deploys_enforcers_and_lengthens_jail(params: dict[str, Any]) -> None:
    params.update(
        {
            "taliban.enforcer_density": 0.04,
            "repression.enforcement_gain": 1.0,
            "taliban.max_jail_term": 8,
            "repression.jail_gain": 1.0,
        }
    )
    assert regime.enforcer_density(params, 0.0) == 0.04
    assert regime.enforcer_density(params, 1.0) == 0.08
    assert regime.jail_max(params, 0.0) == 8 and regime.jail_max(params, 0.5) == 12
    base = regime.enforcer_density(params, 0.25)
    assert regime.enforcer_target(params, 0.25, 100, base, 10_000) == 100
    assert regime.enforcer_target(params, 1.0, 100, base, 10_000) == 160
    assert regime.enforcer_target(params, 1.0, 0, 0.0, 10_000) == 800
    assert regime.max_enforcers(params, 100, base) == regime.enforcer_target(
        params, 1.0, 100, base, 10_000
    )
    assert regime.max_enforcers(params, 0, base) == 0


def test_thermostat_ratchets_up_and_boosts_hardship(small_model) -> None:
    reg: TalibanRegime = small_model.regime
    p = small_model.params
    p.update(
        {"repression.thermostat": True, "repression.rate_down": 0.0, "repression.edict_size": 0.0}
    )
    start = reg.repression
    reg.update(deaths=200, active_share=0.2, defectors=5, taliban_losses=0)
    raised = reg.repression
    assert raised > start and reg.target_repression >= raised
    path = [raised]
    for _ in range(30):  # the threat fades; repression never falls (the ratchet)
        reg.update(deaths=0, active_share=0.0, defectors=0, taliban_losses=0)
        path.append(reg.repression)
    assert all(b >= a for a, b in itertools.pairwise(path))
    assert reg.hardship_boost == p["repression.hardship_gain"] * reg.repression
