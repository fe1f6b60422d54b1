"""The conflict model: ISIS-K, the Taliban and Afghan civilians on a Mesa grid.

``ConflictModel`` wires the mechanisms and states the order of a step; the
rules live in their modules. One step is one week (docs/ODD.md, "Process
overview"):

1. scheduled events set parameters or add fighters (:mod:`.events`);
2. surveillance is updated (:mod:`.surveillance`) and enforcers are deployed
   to match repression (:mod:`.regime`);
3. civilians and enforcers follow Epstein's rules (:mod:`.civilians`);
4. ISIS-K cells move and recruit (:mod:`.insurgency`); counter-terrorism
   engages the ISIS-K cells it detects (:mod:`.counter_terrorism`); ISIS-K
   cells plot attacks, some interdicted, and lose fighters;
5. attacks and collateral harm shock nearby civilians (:mod:`.harm`);
6. the regime updates perceived threat, repression and legitimacy (:mod:`.regime`);
7. metrics are recorded in real-world units (:mod:`.record`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
import pandas as pd

from simulation.model import (
    agents,
    by_province,
    counter_terrorism,
    harm,
    insurgency,
    record,
    recruitment,
    regime,
    support,
    surveillance,
)
from simulation.model.agents import Civilian, TalibanRegime, ViewRegistry
from simulation.model.civilians import Population
from simulation.model.deployment import make_deployment
from simulation.model.events import Schedule
from simulation.model.insurgency import TARGET_TALIBAN, Attack, Insurgency, InsurgencyStep
from simulation.model.land import Land, make_land
from simulation.model.regions import Regions
from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario, make_scenario

#: The independent random streams, spawned from the seed in this order.
STREAMS = ("init", "schedule", "isisk", "attacks", "ct", "recruit", "events")


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """The model's :data:`STREAMS`, independent generators spawned from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)}


class ConflictModel(mesa.Model):
    """ISIS-K, Taliban and civilians; see docs/ODD.md for every rule and source.

    Args:
        scenario: a validated :class:`~simulation.scenario.Scenario`
            (default: every parameter at its default).
        rng: the seed, as in Mesa's ``batch_run``; the same scenario and seed
            give identical metrics.
        make_views: create a Mesa agent per civilian (set False only for
            benchmarks that never inspect agents).
    """

    def __init__(
        self, scenario: Scenario | None = None, rng: int | None = None, *, make_views: bool = True
    ) -> None:
        if isinstance(rng, np.integer):  # np.int64(3): Mesa takes only Python ints
            rng = int(rng)
        super().__init__(rng=rng)
        self.config: Scenario = scenario if scenario is not None else make_scenario()
        self.params: dict[str, Any] = dict(self.config.params)
        p = self.params
        for name, reason in ptable.cross_check(p):
            raise ValueError(f"{name}: {reason}")
        seed = rng if isinstance(rng, (int, np.integer)) else int(self.rng.integers(2**31))
        self.seed = int(seed)
        self.streams = spawn_streams(self.seed)
        self.width, self.height = p["world.width"], p["world.height"]
        self._grid: Any = None
        self.schedule = Schedule(self.config.events)
        self.land: Land | None = make_land(self.config)  # None on the abstract grid
        self.regions = Regions(self.config.regions, self.width, self.height, self.land)
        r = self.regions
        self.region_names, self.capital_box = r.names, r.capital_box
        self.region_boxes = r.boxes if self.land is None else []  # the map has provinces

        # Civilians and enforcers; enforcers start at the density the initial repression deploys.
        self.base_enforcer_density = regime.enforcer_density(p, p["repression.initial"])
        self.population = Population(
            self.width,
            self.height,
            self.streams["init"],
            p["civilians.density"],
            self.base_enforcer_density,
            p["civilians.susceptibility_mean"],
            placement=None
            if self.land is None
            else self.land.placement(
                self.streams["init"], p["civilians.density"], self.base_enforcer_density
            ),
        )
        self.regions.assign(self.population.x, self.population.y, self.population.region)
        self.base_enforcers = self.population.n_enforcers
        self.danger = np.zeros((self.width, self.height))  # what fleeing civilians avoid
        self.collateral = 0  # civilians harmed by counter-terrorism this week

        masks = () if self.land is None else (self.land.reachable, self.land.sanctuary)
        self.insurgency = Insurgency(self.width, self.height, *masks)  # on the map: where to be
        if self.land is not None:  # where sectarian attacks strike (:mod:`.targets`)
            self.insurgency.community_sites = self.land.community_sites()
        self.deployment = make_deployment(self.land, p)  # toward the threat, on the map
        self.regime = TalibanRegime(self)
        self.taliban_intel: float = p["surveillance.taliban_intel"]
        self.last_step = InsurgencyStep()
        self.last_attacks: list[Attack] = []

        self._add_agents(make_views)
        self._rows: list[dict[str, Any]] = []
        self.schedule.apply(self, 0)
        self._apply_params()
        self._rows.append(record.week_row(self, InsurgencyStep(), arrests=0))
        self.province_rows: list[np.ndarray] = []  # on the map (:mod:`.by_province`)
        by_province.record(self, InsurgencyStep(), 0)

    @property
    def n_cells(self) -> int:
        """Cells where agents may stand: the whole grid, or Afghanistan's cells on the map."""
        return self.width * self.height if self.land is None else self.land.n_habitable

    def _add_agents(self, make_views: bool) -> None:
        """The Mesa agents, views onto the arrays; then the first ISIS-K cells are placed."""
        self.civilians: list[Civilian] = []
        if make_views:
            self.civilians = agents.make_views(self, Civilian, range(self.population.n_civilians))
        self.views = ViewRegistry(self)
        self.views.enforcers_changed(
            np.flatnonzero(self.population.enforcer_alive), np.zeros(0, np.int64)
        )
        shares = self.regions.isisk_shares
        self.views.isisk_cells_added(
            insurgency.seed_isisk_cells(self.insurgency, self.params, shares, self.streams["init"])
        )

    # ------------------------------------------------------------ properties
    @property
    def date(self) -> dt.date:
        """Calendar date of the current step."""
        return self.config.date_of(self.steps)

    @property
    def grid(self) -> Any:
        """A ``mesa.discrete_space`` grid of the world, built on first use.

        Positions live in numpy arrays; agents' ``cell`` looks them up here.
        It is built lazily because a million-cell Mesa grid takes ~40 s.
        """
        if self._grid is None:
            self._grid = agents.mesa_grid(
                self.width, self.height, self.params["world.neighbourhood"], self.random
            )
        return self._grid

    @property
    def hardship_boost(self) -> float:
        """Repression's restrictions: H' = H + (1 - H) * boost."""
        return self.regime.hardship_boost

    @property
    def us_surveillance(self) -> float:
        """US surveillance in force this step (after any withdrawal)."""
        return surveillance.us_level(self.params, self.steps)

    @property
    def effective_surveillance(self) -> float:
        """Chance a plot is interdicted: 1 - (1 - US)(1 - Taliban intelligence)."""
        return surveillance.effective(self.us_surveillance, self.taliban_intel)

    def region_box(self, name: str | None) -> tuple[int, int, int, int] | None:
        """The grid box of region ``name`` (None: no such region, or anywhere)."""
        return self.regions.box(name)

    def max_enforcers(self) -> float:
        """The most enforcer units that full repression deploys."""
        return regime.max_enforcers(self.params, self.base_enforcers, self.base_enforcer_density)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Advance one week."""
        p, pop, t = self.params, self.population, self.steps
        event_recruits = self.schedule.apply(self, t)
        self._apply_params()
        self.taliban_intel = surveillance.grow_intel(self.taliban_intel, p)
        self._deploy_enforcers()
        pop.track_newly_jailed = p["civilians.arrest_grievance"] > 0
        civ = pop.week(
            self.streams["schedule"],
            p,
            legitimacy=self.regime.legitimacy,
            hardship_boost=self.hardship_boost,
            jail_max=regime.jail_max(p, self.regime.repression),
            danger=self.danger,
        )
        ins = self._insurgency_step()
        ins.recruits_events = event_recruits
        if self.deployment is not None:
            self.deployment.observe(ins, p["repression.threat_memory"])
        self.last_step, self.last_attacks = ins, ins.attacks
        harm.decay(pop, self.danger, p)
        harm.attack_shocks(pop, self.danger, ins.attacks, p)
        harm.arrest_shocks(pop, p)
        self.collateral = harm.collateral_harm(pop, ins.engagements, p, self.streams["ct"])
        deaths = sum(a.deaths for a in ins.attacks)
        tal_deaths = sum(a.deaths for a in ins.attacks if a.target == TARGET_TALIBAN)
        counts = pop.counts()
        self.regime.update(
            deaths=deaths,
            active_share=counts[1] / max(1, pop.total),
            defectors=ins.recruits_defectors,
            taliban_losses=tal_deaths + ins.taliban_ct_deaths,
        )
        self._rows.append(record.week_row(self, ins, arrests=civ.arrests, counts=counts))
        by_province.record(self, ins, civ.arrests)

    def _insurgency_step(self) -> InsurgencyStep:
        """ISIS-K's week: move, recruit, counter-terrorism, attacks, attrition and splits."""
        p, ins, out = self.params, self.insurgency, InsurgencyStep()
        rng = self.streams["isisk"]
        ins.move(p["isisk.move_radius"], rng, p["isisk.border_openness"], p["isisk.home_range"])
        rate = recruitment.defector_rate(
            p, self.regime.fighters, ins.momentum, self.regime.repression
        )
        out.recruits_defectors = int(self.streams["recruit"].poisson(rate))
        self.views.isisk_cells_added(
            ins.join_existing(out.recruits_defectors, rng, p["isisk.fighters_per_cell"])
        )
        out.recruits_civilians = recruitment.recruit_civilians(
            ins, self.population, self._grievance_of, p, self.streams["recruit"]
        )
        eff: Any = self.effective_surveillance
        if self.regions.intel_grid is not None:  # intelligence differs by region: per cell
            intel = np.minimum(1.0, self.taliban_intel * self.regions.intel_grid[ins.x, ins.y])
            eff = surveillance.effective(self.us_surveillance, intel)
        coop = plots = None
        if support.needed(p):  # the civilians around each cell (ODD 7.7)
            g = support.local_grievance(
                ins, self.population, self._grievance_of, p["taliban.hunt_radius"]
            )
            coop, plots = support.cooperation(p, g), support.capacity(p, g)
        pop = self.population
        counter_terrorism.engage(ins, pop.enforcers, p, eff, self.streams["ct"], out, coop)
        insurgency.plot_attacks(ins, p, eff, self.capital_box, self.streams["attacks"], out, plots)
        new, dead = insurgency.attrition(ins, p, rng, out)
        self.views.isisk_cells_removed(dead)
        self.views.isisk_cells_added(new)
        return out

    def _grievance_of(self, idx: np.ndarray) -> np.ndarray:
        """Current grievance of civilians ``idx``."""
        return self.population.grievance(self.regime.legitimacy, self.hardship_boost, idx)

    def _apply_params(self) -> None:
        """Refresh state derived from parameters (after events)."""
        self.population.shift_hardship(
            self.params["civilians.hardship_shift"], self.regions.hardship_shift
        )
        self.regime.refresh()

    def _deploy_enforcers(self) -> None:
        """Match the enforcers on the grid to density and repression (:mod:`.regime`)."""
        added, removed = regime.deploy(self, self.streams["schedule"])
        self.views.enforcers_changed(added, removed)
        if self.deployment is not None:  # on the map: toward the threat (:mod:`.deployment`)
            focus = self.params["taliban.deploy_focus"]
            added, removed = self.deployment.rebalance(
                self.population, focus, self.streams["schedule"]
            )
            self.views.enforcers_changed(added, removed)

    # --------------------------------------------------------------- metrics
    def metric_rows(self, start: int = 0) -> list[dict[str, Any]]:
        """The recorded rows from row ``start`` on (cheap: no DataFrame), for live views."""
        return self._rows[start:]

    def metrics(self) -> pd.DataFrame:
        """One row per step (row 0 is the initial state): ``step``, ``date`` and every metric."""
        return pd.DataFrame(self._rows, columns=["step", "date", *record.METRIC_NAMES])

    def province_metrics(self) -> pd.DataFrame | None:
        """On the map, one row per step and place (:mod:`.by_province`); None on the grid."""
        return None if self.land is None else by_province.frame(self, self.province_rows)


def simulate(
    scenario: Scenario,
    seed: int,
    progress: Callable[[int], None] | None = None,
    *,
    make_views: bool = True,
) -> pd.DataFrame:
    """Run ``scenario`` for its steps with ``seed``; return the metrics."""
    return run_model(scenario, seed, progress, make_views=make_views).metrics()


def run_model(
    scenario: Scenario,
    seed: int,
    progress: Callable[[int], None] | None = None,
    *,
    make_views: bool = True,
) -> ConflictModel:
    """Run ``scenario`` for its steps with ``seed``; return the model (its records)."""
    model = ConflictModel(scenario, rng=seed, make_views=make_views)
    for _ in range(scenario.steps):
        model.step()
        if progress is not None:
            progress(1)
    return model
