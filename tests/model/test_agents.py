"""The Mesa agents and their bookkeeping (simulation.model.agents)."""

from __future__ import annotations

import numpy as np

from simulation.model import agents, kernel
from simulation.model.agents import Civilian, Enforcer, IsisKCell


def test_bulk_and_one_by_one_registration_give_the_same_agents(small_model) -> None:
    n = small_model.population.n_civilians
    ids = [c.unique_id for c in small_model.civilians]
    assert ids == list(range(ids[0], ids[0] + n))  # in sequence, as Mesa numbers them
    assert set(small_model.agents_by_type[Civilian]) == set(small_model.civilians)
    few = agents.make_views(small_model, Civilian, range(5))  # few: Mesa's constructor
    many = agents.make_views(small_model, Civilian, range(100))  # many: in bulk
    assert [v.index for v in few] == list(range(5)) and [v.index for v in many] == list(range(100))
    assert many[0].unique_id == few[-1].unique_id + 1
    assert all(v in small_model.agents for v in few + many)


def test_without_mesas_internals_views_are_made_one_by_one(small_model, monkeypatch) -> None:
    monkeypatch.setattr(agents, "_bulk_registry", lambda *a: None)
    before = len(small_model.agents)
    views = agents.make_views(small_model, Civilian, range(200))
    assert len(small_model.agents) == before + 200
    assert [v.index for v in views] == list(range(200)) and all(
        v in small_model.agents for v in views
    )


def test_views_follow_the_arrays(small_model) -> None:
    views = small_model.views
    pop, ins = small_model.population, small_model.insurgency
    assert sorted(views.enforcers) == np.flatnonzero(pop.enforcer_alive).tolist()
    assert sorted(views.isisk_cells) == np.flatnonzero(ins.alive).tolist()
    for _ in range(5):
        small_model.step()
    assert sorted(views.enforcers) == np.flatnonzero(pop.enforcer_alive).tolist()
    assert sorted(views.isisk_cells) == np.flatnonzero(ins.alive).tolist()
    assert len(small_model.agents_by_type[IsisKCell]) == ins.n_cells
    assert len(small_model.agents_by_type[Enforcer]) == pop.n_enforcers


def test_one_grievance_formula_everywhere(small_model) -> None:
    m = small_model
    pop = m.population
    pop.shock[:] = np.linspace(0, 0.5, pop.n_civilians)
    arrays = pop.grievance(m.regime.legitimacy, m.hardship_boost)
    h = pop.hardship + (1.0 - pop.hardship) * m.hardship_boost
    numpy_formula = 1.0 - (1.0 - h * (1.0 - m.regime.legitimacy)) * (1.0 - pop.shock)
    assert (arrays == numpy_formula).all()  # bit for bit
    for c in m.civilians[:20]:
        assert c.grievance == arrays[c.index]
        assert c.grievance == kernel.grievance(
            c.hardship, pop.shock[c.index], m.regime.legitimacy, m.hardship_boost
        )
