"""The map (``world.map = "afghanistan"``): land, placement by population, the sanctuary.

Each mechanism's direction is checked over several seeds; the abstract grid's
results are guarded by the golden baseline (tests/test_golden.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from simulation.model import ConflictModel
from simulation.model import counter_terrorism as ct
from simulation.model.geography import PROVINCES as MAP_PROVINCES
from simulation.model.insurgency import Insurgency, InsurgencyStep, plot_attacks
from simulation.model.land import make_land
from simulation.model.recruitment import people_rounded, recruit_civilians
from simulation.scenario.core import Event, Scenario
from simulation.scenario.loader import load_scenario
from simulation.scenario.provinces import PROVINCES, border_width

REPO = Path(__file__).resolve().parents[2]
MAP = REPO / "scenarios" / "afghanistan.toml"
SEEDS = range(1, 6)
EAST = ("Nangarhar", "Kunar", "Nuristan")


def scenario(**overrides: object) -> Scenario:
    """The shipped map scenario, with ``overrides`` (dotted names as keywords: a__b)."""
    return load_scenario(MAP, overrides={k.replace("__", "."): v for k, v in overrides.items()})


def run(sc: Scenario, seed: int, steps: int) -> ConflictModel:
    model = ConflictModel(sc, rng=seed, make_views=False)
    for _ in range(steps):
        model.step()
    return model


def fighter_share(model: ConflictModel, names: tuple[str, ...]) -> float:
    """Share of ISIS-K's fighters standing in the provinces ``names``."""
    ins, land = model.insurgency, model.land
    assert land is not None
    alive = np.flatnonzero(ins.alive)
    ids = [land.names.index(n) for n in names]
    inside = np.isin(land.province[ins.x[alive], ins.y[alive]], ids)
    return float(ins.fighters[alive][inside].sum() / max(1, ins.fighters[alive].sum()))


def test_scenario_names_are_the_maps() -> None:
    assert PROVINCES == MAP_PROVINCES


def test_the_map_sits_inside_a_border_wider_than_any_radius() -> None:
    sc = scenario()
    land = make_land(sc)
    assert land is not None
    b = border_width(sc)
    assert b > max(sc.params["civilians.vision"], sc.params["taliban.hunt_radius"])
    reach = land.reachable
    assert not reach[:b].any() and not reach[-b:].any()
    assert not reach[:, :b].any() and not reach[:, -b:].any()


def test_an_event_widening_a_radius_widens_the_border() -> None:
    sc = scenario()
    wide = dataclasses.replace(
        sc, events=(Event(step=3, label="wider", set={"civilians.vision": 12}),)
    )
    assert border_width(wide) == border_width(sc) + 12 - 7


@pytest.mark.parametrize("seed", SEEDS)
def test_no_civilian_or_enforcer_ever_stands_off_the_land(seed: int) -> None:
    model = run(scenario(), seed, 26)
    land, pop = model.land, model.population
    assert land is not None
    assert land.habitable[pop.x, pop.y].all()
    alive = pop.enforcer_alive
    assert land.habitable[pop.enforcer_x[alive], pop.enforcer_y[alive]].all()
    ins = model.insurgency
    cells = np.flatnonzero(ins.alive)
    assert land.reachable[ins.x[cells], ins.y[cells]].all()


def test_civilians_count_each_province_by_its_people() -> None:
    model = ConflictModel(scenario(), rng=1, make_views=False)
    land, pop = model.land, model.population
    assert land is not None and pop.weight is not None
    province = land.province[pop.x, pop.y]
    people = np.bincount(province, weights=pop.weight, minlength=len(land.names))
    share = people / people.sum()
    np.testing.assert_allclose(share, land.population / land.population.sum(), rtol=1e-9)
    # people_per_civilian converts the weighted civilians to the NSIA total
    ppc = model.params["scale.people_per_civilian"]
    assert ppc * pop.total == pytest.approx(land.population.sum(), rel=1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_civilians_keep_epsteins_density_and_weigh_by_people(seed: int) -> None:
    model = ConflictModel(scenario(), rng=seed, make_views=False)
    land, pop = model.land, model.population
    assert land is not None and pop.weight is not None
    province = land.province[pop.x, pop.y]
    cells = land.inner.cell_counts()
    counts = np.bincount(province, minlength=len(land.names))
    big = cells >= 100
    d = model.params["civilians.density"]
    spread = 4 * np.sqrt(d * (1 - d) / cells[big])  # four binomial standard errors
    assert (np.abs(counts[big] / cells[big] - d) < spread).all()
    # a civilian of a crowded province stands for more people: Kabul's the most
    weight = np.bincount(province, weights=pop.weight, minlength=len(land.names)) / counts
    assert weight.argmax() == land.names.index("Kabul")
    per_cell = land.population / cells
    assert np.corrcoef(weight, per_cell)[0, 1] > 0.95


def test_a_home_range_keeps_isisk_in_its_stronghold() -> None:
    ranging = [fighter_share(run(scenario(), s, 104), EAST) for s in SEEDS]
    roaming = [fighter_share(run(scenario(isisk__home_range=0), s, 104), EAST) for s in SEEDS]
    assert min(ranging) > max(roaming)


def test_a_closed_border_lowers_isisk_strength() -> None:
    """With the border open, cells shelter in the sanctuary: fewer are hit, more survive.

    The sanctuary's own effect, with the circle's civilian links off: on the
    shipped map, where cooperation and local support are on, time spent in the
    empty sanctuary also costs recruits and support, and the net effect of the
    border reverses (ODD 7.11).
    """

    def runs(openness: float) -> list[ConflictModel]:
        sc = scenario(
            isisk__border_openness=openness,
            taliban__cooperation_grievance=0.0,
            isisk__support_gain=0.0,
        )
        return [run(sc, s, 260) for s in SEEDS]

    closed, open_ = runs(0.0), runs(1.0)
    fighters = [
        (c.insurgency.total_fighters, o.insurgency.total_fighters)
        for c, o in zip(closed, open_, strict=True)
    ]
    assert sum(c < o for c, o in fighters) >= 4  # paired by seed
    removed = [
        (c.metrics().ct_removals.sum(), o.metrics().ct_removals.sum())
        for c, o in zip(closed, open_, strict=True)
    ]
    assert sum(c > o for c, o in removed) >= 4  # sheltered cells are hit less


def _one_cell_in(where: str) -> tuple[Insurgency, ConflictModel]:
    """A map model whose only ISIS-K cell stands in the sanctuary or on Afghan land."""
    model = ConflictModel(scenario(), rng=1, make_views=False)
    land = model.land
    assert land is not None
    mask = land.sanctuary if where == "sanctuary" else land.habitable
    x, y = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
    ins = Insurgency(model.width, model.height, land.reachable, land.sanctuary)
    ins.add_cells(np.array([x]), np.array([y]), np.array([500]))
    return ins, model


def test_in_the_sanctuary_a_cell_is_out_of_reach_and_plots_nothing() -> None:
    ins, model = _one_cell_in("sanctuary")
    p = dict(model.params, **{"taliban.ct_detection": 1.0, "isisk.attack_rate": 50.0})
    everywhere = np.ones((model.width, model.height), dtype=np.int8)
    out = InsurgencyStep()
    ct.engage(ins, everywhere, p, 1.0, np.random.default_rng(1), out)
    plot_attacks(ins, p, 0.0, None, np.random.default_rng(1), out)
    assert out.ct_removals == 0 and out.plots == 0
    ins, model = _one_cell_in("land")  # the same cell on Afghan land is hit and plots
    out = InsurgencyStep()
    ct.engage(ins, everywhere, p, 1.0, np.random.default_rng(1), out)
    plot_attacks(ins, p, 0.0, None, np.random.default_rng(1), out)
    assert out.ct_removals > 0 and out.plots > 0


def test_high_profile_attacks_strike_in_the_capitals_provinces() -> None:
    sc = scenario(
        isisk__target_high_profile=1.0,
        isisk__target_taliban=0.0,
        isisk__target_civilian=0.0,
        isisk__target_former_gov=0.0,
    )
    model = ConflictModel(sc, rng=3, make_views=False)
    sites = []
    for _ in range(12):  # every attack of 12 weeks
        model.step()
        sites += [(a.x, a.y) for a in model.last_attacks]
    land = model.land
    assert land is not None
    kabul = land.names.index("Kabul")
    assert sites and all(land.province[x, y] == kabul for x, y in sites)


def test_the_abstract_grid_has_no_land() -> None:
    model = ConflictModel(load_scenario(REPO / "scenarios" / "baseline.toml"), rng=1)
    assert model.land is None and model.population.weight is None


def _civilian_deaths_in(model: ConflictModel, names: tuple[str, ...]) -> float:
    """Share of the deaths in attacks on civilians that fell in the provinces ``names``."""
    table = model.province_metrics()
    assert table is not None
    by_place = table.groupby("province")["deaths_civilian"].sum()
    return float(by_place[list(names)].sum() / max(1, by_place.sum()))


def test_sectarian_attacks_strike_shia_communities() -> None:
    from simulation.model.targets import SHIA_PROVINCES

    def shares(share: float) -> list[float]:
        sc = scenario(isisk__sectarian_share=share, **{"scenario.steps": 104})
        return [_civilian_deaths_in(run(sc, s, 104), SHIA_PROVINCES) for s in SEEDS]

    none, all_ = shares(0.0), shares(1.0)
    assert min(all_) > max(none)
    assert min(all_) == pytest.approx(1.0)  # every attack on civilians is in their provinces


def test_former_government_personnel_are_a_target_only_when_weighted() -> None:
    def deaths(weight: float) -> list[int]:
        sc = scenario(isisk__target_former_gov=weight, **{"scenario.steps": 52})
        return [int(run(sc, s, 52).province_metrics()["deaths_former_gov"].sum()) for s in SEEDS]

    assert deaths(0.0) == [0] * len(SEEDS)
    assert min(deaths(0.3)) > 0


def test_units_sent_toward_the_threat_weaken_isisk_where_it_is() -> None:
    """With deploy_focus the Taliban move units to the provinces of recent attacks."""

    def runs(focus: float) -> list[ConflictModel]:
        sc = scenario(taliban__deploy_focus=focus, **{"scenario.steps": 156})
        return [run(sc, s, 156) for s in SEEDS]

    def east(model: ConflictModel, column: str, last: bool) -> float:
        table = model.province_metrics()
        assert table is not None
        if last:
            table = table[table["step"] == table["step"].max()]
        mine = table[table["province"].isin(EAST)][column].sum()
        return float(mine / max(1, table[column].sum())) if last else float(mine)

    uniform, focused = runs(0.0), runs(0.5)
    # more of the Taliban's units stand in the east, paired by seed ...
    pairs = list(zip(uniform, focused, strict=True))
    assert all(
        east(f, "taliban_units", True) > 2 * east(u, "taliban_units", True) for u, f in pairs
    )
    # ... so ISIS-K is weaker and strikes less, and no more in the east
    assert all(f.insurgency.total_fighters < u.insurgency.total_fighters for u, f in pairs)
    attacks = [(u.metrics().attacks.sum(), f.metrics().attacks.sum()) for u, f in pairs]
    assert sum(f < u for u, f in attacks) >= 4
    in_east = [(east(u, "attacks", False), east(f, "attacks", False)) for u, f in pairs]
    assert np.median([f for _, f in in_east]) <= np.median([u for u, _ in in_east])


def test_without_focus_no_unit_is_moved() -> None:
    from simulation.model.deployment import Deployment

    model = run(scenario(), 2, 30)
    assert isinstance(model.deployment, Deployment)
    assert model.deployment.threat.sum() > 0  # the threat is seen ...
    added, removed = model.deployment.rebalance(model.population, 0.0, np.random.default_rng(1))
    assert len(added) == len(removed) == 0  # ... but with focus 0 nothing moves


def test_better_intelligence_in_a_province_stops_more_attacks() -> None:
    """A region's intel_factor multiplies Taliban intelligence for the cells standing in it."""
    base = scenario(**{"scenario.steps": 104})

    def sharper(sc: Scenario, factor: float) -> Scenario:
        regions = tuple(
            dataclasses.replace(r, intel_factor=factor) if r.name == "east" else r
            for r in sc.regions
        )
        return dataclasses.replace(sc, regions=regions)

    plain_, sharp = (
        [run(base, s, 104) for s in SEEDS],
        [run(sharper(base, 4.0), s, 104) for s in SEEDS],
    )
    pairs = list(zip(plain_, sharp, strict=True))
    stopped = [
        (p.metrics().attacks_interdicted.sum(), q.metrics().attacks_interdicted.sum())
        for p, q in pairs
    ]
    assert sum(q > p for p, q in stopped) >= 4  # more plots interdicted, paired by seed
    attacks = [(p.metrics().attacks.sum(), q.metrics().attacks.sum()) for p, q in pairs]
    assert sum(q < p for p, q in attacks) >= 4  # so fewer attacks succeed
    # a factor of 1 everywhere is no factor at all: the same draws as without one
    same = run(sharper(base, 1.0), 1, 20).metrics()
    assert same.equals(run(base, 1, 20).metrics())


def _recruits_near(province: str, seed: int) -> int:
    """Fighters one week's civilian recruitment brings a lone cell in ``province``."""
    model = ConflictModel(scenario(), rng=seed, make_views=False)
    land = model.land
    assert land is not None
    cells = np.argwhere(land.province == land.names.index(province))
    x, y = cells[len(cells) // 2]
    ins = Insurgency(model.width, model.height, land.reachable, land.sanctuary)
    ins.add_cells(np.array([x]), np.array([y]), np.array([50]))
    p = dict(model.params, **{"isisk.civilian_recruitment": 1.0})
    pop = model.population
    return recruit_civilians(
        ins, pop, lambda idx: np.ones(len(idx)), p, np.random.default_rng(seed)
    )


def test_recruitment_scales_with_the_local_population() -> None:
    """Kabul's agents stand for ~60x the people of Nuristan's: a cell there recruits more."""
    kabul = [_recruits_near("Kabul", s) for s in SEEDS]
    nuristan = [_recruits_near("Nuristan", s) for s in SEEDS]
    assert sum(kabul) > 5 * sum(nuristan)
    assert sum(k > n for k, n in zip(kabul, nuristan, strict=True)) >= 4


def test_a_recruited_agent_brings_its_weight_in_fighters() -> None:
    """Weighted recruits bring per * w fighters, rounded at random with that mean."""
    w = np.array([0.25, 3.0, 1.6])
    rounded = np.stack([people_rounded(w, np.random.default_rng(s)) for s in range(4000)])
    assert set(np.unique(rounded[:, 1])) == {3}
    assert set(np.unique(rounded[:, 0])) == {0, 1}
    assert np.allclose(rounded.mean(axis=0), w, atol=0.03)
