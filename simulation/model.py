"""The conflict model: ISIS-K, the Taliban and Afghan civilians on a Mesa grid.

One step is one week. Each step (docs/ODD.md, "Process overview"):

1. scheduled events set parameters or add fighters;
2. surveillance is updated and enforcers are deployed to match repression;
3. civilians and enforcers follow Epstein's rules (activation, arrests, moves);
4. ISIS-K cells move and recruit (defectors, civilians); counter-terrorism
   engages the cells it detects; cells plot attacks, some interdicted;
5. attacks and collateral harm shock nearby civilians;
6. the regime updates perceived threat, repression and legitimacy;
7. metrics are recorded in real-world units.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from collections.abc import Callable, Iterable
from typing import Any

import mesa
import numpy as np
import pandas as pd
from mesa.agentset import _HardKeyAgentSet
from mesa.experimental.mesa_signals import ModelSignals

from simulation import params as ptable
from simulation.agents import Civilian, IsisKCell, TalibanRegime, TalibanUnit
from simulation.grid_ops import sparse_window_sum, window_cells
from simulation.insurgency import (
    TARGET_HIGH_PROFILE,
    TARGET_TALIBAN,
    Attack,
    Insurgency,
    InsurgencyStep,
    civilian_recruitment,
    pareto_deaths,
)
from simulation.metrics import METRIC_NAMES
from simulation.population import JAILED, Population
from simulation.scenario import Event, Scenario, make_scenario

_STREAMS = ("init", "schedule", "isisk", "attacks", "ct", "recruit", "events")
#: Recruit-to-cell distances are computed in blocks of about this many pairs, so
#: that many recruits and many cells never need a recruits x cells matrix at once.
_PAIRS_PER_BLOCK = 1 << 20


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

    def __init__(self, scenario: Scenario | None = None, rng: int | None = None,
                 *, make_views: bool = True) -> None:
        super().__init__(rng=rng)
        self.config: Scenario = scenario if scenario is not None else make_scenario()
        self.params: dict[str, Any] = dict(self.config.params)
        seed = rng if isinstance(rng, (int, np.integer)) else int(self.rng.integers(2**31))
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(_STREAMS))
        self.streams = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children,
                                                                           strict=True)}
        p = self.params
        self.width, self.height = p["world.width"], p["world.height"]
        for name, reason in ptable.cross_check(p):
            raise ValueError(f"{name}: {reason}")
        self._grid: Any = None
        self._events: dict[int, list[Event]] = {}
        for ev in self.config.events:
            self._events.setdefault(ev.step, []).append(ev)
        self._ramps: list[tuple[str, float, float, int, int]] = []

        # Regions: id 0 is "elsewhere".
        self.region_names = ["elsewhere", *(r.name for r in self.config.regions)]
        self.region_boxes = [r.cell_bounds(self.width, self.height) for r in self.config.regions]
        self.capital_box = next((b for r, b in zip(self.config.regions, self.region_boxes,
                                                   strict=True) if r.capital), None)

        init = self.streams["init"]
        # Enforcers start at the density that the initial repression deploys.
        self._base_enforcer_density = p["taliban.enforcer_density"] * (
            1 + p["repression.enforcement_gain"] * p["repression.initial"])
        self.population = Population(self.width, self.height, init, p["civilians.density"],
                                     self._base_enforcer_density,
                                     p["civilians.susceptibility_mean"])
        pop = self.population
        for rid, (x0, x1, y0, y1) in enumerate(self.region_boxes, start=1):
            inside = (pop.x >= x0) & (pop.x < x1) & (pop.y >= y0) & (pop.y < y1) & (pop.region == 0)
            pop.region[inside] = rid
        self._region_shift = np.array([0.0, *(r.hardship_shift for r in self.config.regions)])
        self.danger = np.zeros((self.width, self.height))
        self._base_enforcers = pop.n_enforcers

        self.insurgency = Insurgency(self.width, self.height)
        self.regime = TalibanRegime(self)
        self._momentum = 0.0
        self.last_step: InsurgencyStep = InsurgencyStep()
        self.last_attacks: list[Attack] = []

        self.civilians: list[Civilian] = []
        if make_views:
            self.civilians = self._make_views(Civilian, range(pop.n_civilians))
        self._unit_views: dict[int, TalibanUnit] = {}
        self._cell_views: dict[int, IsisKCell] = {}
        self._sync_unit_views(np.flatnonzero(pop.cop_alive), np.zeros(0, np.int64))
        self._seed_isisk(init)

        self._rows: list[dict[str, Any]] = []
        self._apply_events(0)
        self._apply_params()
        self._record(InsurgencyStep(), arrests=0)

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
            from mesa.discrete_space import OrthogonalMooreGrid, OrthogonalVonNeumannGrid

            # Mesa's grids know squares and diamonds; a disc gets the square and a
            # cross the diamond (its own neighbourhood queries are for users; the
            # model uses its arrays).
            cls = (OrthogonalVonNeumannGrid
                   if self.params["world.neighbourhood"] in ("von_neumann", "cross")
                   else OrthogonalMooreGrid)
            self._grid = cls((self.width, self.height), torus=True, random=self.random)
        return self._grid

    @property
    def hardship_boost(self) -> float:
        """Repression's restrictions: H' = H + (1 - H) * boost."""
        return self.params["repression.hardship_gain"] * self.regime.repression

    @property
    def us_surveillance(self) -> float:
        """US surveillance in force this step (after any withdrawal)."""
        p = self.params
        w = p["surveillance.withdrawal_week"]
        if w >= 0 and self.steps >= w:
            return p["surveillance.us_level_after"]
        return p["surveillance.us_level"]

    @property
    def effective_surveillance(self) -> float:
        """Chance a plot is interdicted: 1 - (1 - US)(1 - Taliban intelligence)."""
        return 1.0 - (1.0 - self.us_surveillance) * (1.0 - self.taliban_intel)

    # ---------------------------------------------------------------- set-up
    def _seed_isisk(self, rng: np.random.Generator) -> None:
        p = self.params
        total, size = p["isisk.initial_fighters"], p["isisk.fighters_per_cell"]
        placed = 0
        for region, box in zip(self.config.regions, self.region_boxes, strict=True):
            n = int(round(region.isisk_share * total))
            n = min(n, total - placed)
            if n > 0:
                self._new_cells(self.insurgency.add_fighters(n, size, rng, box))
                placed += n
        self._new_cells(self.insurgency.add_fighters(total - placed, size, rng, None))
        self.taliban_intel = p["surveillance.taliban_intel"]

    def _new_cells(self, slots: np.ndarray) -> None:
        for s in slots:
            old = self._cell_views.pop(int(s), None)
            if old is not None:
                old.remove()
            self._cell_views[int(s)] = IsisKCell(self, int(s))

    def _dead_cells(self, slots: np.ndarray) -> None:
        for s in slots:
            view = self._cell_views.pop(int(s), None)
            if view is not None:
                view.remove()

    def _sync_unit_views(self, added: np.ndarray, removed: np.ndarray) -> None:
        for s in removed:
            view = self._unit_views.pop(int(s), None)
            if view is not None:
                view.remove()
        added = [int(s) for s in added]
        self._unit_views.update(zip(added, self._make_views(TalibanUnit, added), strict=True))

    def _make_views(self, cls: type[Any], indices: Iterable[int]) -> list[Any]:
        """Array views ``cls(self, i)`` for ``indices``, registered with Mesa in bulk.

        ``mesa.Agent.__init__`` registers one agent at a time (about 7 us
        each: 7 s for a million civilians). For many views this sets the same
        attributes (``model``, ``unique_id`` in sequence, ``index``) and adds
        the agents to ``model.agents`` and ``agents_by_type`` in one go; they
        are ordinary ``mesa.Agent`` instances of ``cls``. It falls back to the
        constructor when something observes agent additions or Mesa's
        registration differs from 3.5's.
        """
        indices = list(indices)
        n = len(indices)
        by_type = getattr(self, "_agents_by_type", None)
        all_agents = getattr(self, "_all_agents", None)
        fast = (n >= 64 and not cls._datasets and isinstance(by_type, dict)
                and isinstance(all_agents, _HardKeyAgentSet)
                and isinstance(getattr(self, "agent_id_counter", None), int)
                and not self._has_subscribers("agents", ModelSignals.AGENT_ADDED))
        if not fast:
            return [cls(self, i) for i in indices]
        new = cls.__new__
        first = self.agent_id_counter
        views = []
        append = views.append
        gc_was_on = gc.isenabled()
        gc.disable()  # a million new objects would trigger full collections
        try:
            for uid, i in enumerate(indices, start=first):
                v = new(cls)
                v.index = i
                v.model = self
                v.unique_id = uid
                append(v)
        finally:
            if gc_was_on:
                gc.enable()
        self.agent_id_counter = first + n
        added = dict.fromkeys(views)
        all_agents._agents.update(added)
        if cls in by_type:
            by_type[cls]._agents.update(added)
        else:
            by_type[cls] = _HardKeyAgentSet(views, random=self.random)
        return views

    # ---------------------------------------------------------------- events
    def _apply_events(self, step: int) -> int:
        """Apply events scheduled for ``step`` and advance ramps; return fighters added."""
        added = 0
        still: list[tuple[str, float, float, int, int]] = []
        for name, v0, v1, start, n in self._ramps:
            frac = min(1.0, (step - start + 1) / n)
            self._set_param(name, v0 + (v1 - v0) * frac)
            if frac < 1.0:
                still.append((name, v0, v1, start, n))
        self._ramps = still
        for ev in self._events.get(step, []):
            for name, value in ev.set.items():
                if ev.ramp_steps > 0 and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    self._ramps.append((name, float(self.params[name]), float(value), step,
                                        ev.ramp_steps))
                    self._set_param(name, self.params[name] + (value - self.params[name])
                                    / ev.ramp_steps)
                else:
                    self._set_param(name, value)
            if ev.add_isisk_fighters:
                box = None
                if ev.region is not None and ev.region in self.region_names[1:]:
                    box = self.region_boxes[self.region_names.index(ev.region) - 1]
                self._new_cells(self.insurgency.add_fighters(
                    ev.add_isisk_fighters, self.params["isisk.fighters_per_cell"],
                    self.streams["events"], box))
                added += ev.add_isisk_fighters
        return added

    def _set_param(self, name: str, value: Any) -> None:
        current = self.params[name]
        if isinstance(current, int) and not isinstance(current, bool):
            value = int(round(value))
        self.params[name] = value

    def _apply_params(self) -> None:
        """Refresh state derived from parameters (after events)."""
        pop, p = self.population, self.params
        # Hardship is recomputed only when its shift changes (a pass over all civilians).
        key = (p["civilians.hardship_shift"], id(pop.hardship_raw), id(pop.region))
        if getattr(self, "_hardship_key", None) != key or pop.hardship is not self._hardship:
            shift = p["civilians.hardship_shift"] + self._region_shift[pop.region]
            pop.hardship = np.clip(pop.hardship_raw + shift, 0.0, 1.0)
            self._hardship, self._hardship_key = pop.hardship, key
        self.regime.refresh()

    def _deploy_enforcers(self) -> None:
        """Match the enforcers on the grid to density and repression."""
        p = self.params
        density = p["taliban.enforcer_density"] * (
            1 + p["repression.enforcement_gain"] * self.regime.repression)
        d0 = self._base_enforcer_density
        if d0 > 0:
            target = int(round(self._base_enforcers * density / d0))
        else:
            target = int(round(density * self.width * self.height))
        if target != self.population.n_enforcers:
            added, removed = self.population.set_enforcers(target, self.streams["schedule"])
            self._sync_unit_views(added, removed)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Advance one week."""
        p = self.params
        t = self.steps
        event_recruits = self._apply_events(t)
        self._apply_params()
        ti, cap = self.taliban_intel, p["surveillance.intel_max"]
        if cap > ti:  # logistic growth toward the ceiling
            self.taliban_intel = min(cap, ti + p["surveillance.intel_growth"]
                                     * max(ti, 0.01) * (1 - ti / cap))
        self._deploy_enforcers()

        pop = self.population
        rep = self.regime.repression
        jail_max = int(round(p["taliban.max_jail_term"] * (1 + p["repression.jail_gain"] * rep)))
        civ = pop.step(self.streams["schedule"], legitimacy=self.regime.legitimacy,
                       hardship_boost=self.hardship_boost, threshold=p["civilians.threshold"],
                       k=p["civilians.arrest_constant"], rule=p["civilians.arrest_ratio_rule"],
                       civ_vision=p["civilians.vision"], cop_vision=p["taliban.vision"],
                       shape=p["world.neighbourhood"], batches=p["world.activation_batches"],
                       activation=p["world.activation"],
                       movement=p["civilians.movement"], patrol=p["taliban.patrol"],
                       jail_max=jail_max, jailed_block=p["civilians.jailed_block_cells"],
                       danger=self.danger)

        ins = self._insurgency_step()
        ins.recruits_events = event_recruits
        self.last_step = ins
        self.last_attacks = ins.attacks
        self._shock_civilians(ins)

        deaths = sum(a.deaths for a in ins.attacks)
        tal_deaths = sum(a.deaths for a in ins.attacks if a.target == TARGET_TALIBAN)
        counts = pop.counts()
        self.regime.update(deaths=deaths, active_share=counts[1] / max(1, pop.n_civilians),
                           defectors=ins.recruits_defectors,
                           taliban_losses=tal_deaths + ins.taliban_ct_deaths)
        self._record(ins, arrests=civ.arrests, counts=counts)

    def _insurgency_step(self) -> InsurgencyStep:
        p, ins, out = self.params, self.insurgency, InsurgencyStep()
        size = p["isisk.fighters_per_cell"]
        rng = self.streams["isisk"]
        ins.move(p["isisk.move_radius"], rng)

        # Recruitment: Taliban defectors.
        momentum = self._momentum / (self._momentum + p["isisk.momentum_half"])
        rate = (p["isisk.defector_recruitment"] * self.regime.fighters / 10_000
                * (1 + p["isisk.weakness_response"] * p["taliban.pragmatism"])
                * (1 + p["isisk.momentum_response"] * momentum))
        out.recruits_defectors = int(self.streams["recruit"].poisson(rate))
        self._new_cells(ins.join_existing(out.recruits_defectors, rng, size))

        # Recruitment: civilians near cells.
        pop = self.population
        if p["isisk.civilian_recruitment"] > 0 and ins.n_cells:
            # Civilians (not in jail) within the radius of k >= 1 cells: only
            # the neighbourhoods of the cells are looked at, not the world.
            alive = np.flatnonzero(ins.alive)
            cells, k = sparse_window_sum(self.width, self.height, ins.x[alive], ins.y[alive],
                                         p["isisk.recruit_radius"])
            near, k = pop.at_cells(cells, k)
            g = pop.grievance(self.regime.legitimacy, self.hardship_boost, near)
            idx = civilian_recruitment(near, k, g, pop.susceptibility,
                                       p["isisk.civilian_recruitment"], self.streams["recruit"])
            n_rec = len(idx) * p["isisk.recruits_per_civilian"]
            if n_rec:
                # Each recruit joins the nearest living cell.
                alive = np.flatnonzero(ins.alive)
                cx, cy = ins.x[alive], ins.y[alive]
                nearest = np.empty(len(idx), dtype=np.intp)
                block = max(1, _PAIRS_PER_BLOCK // len(alive))
                for s in range(0, len(idx), block):
                    part = idx[s:s + block]
                    dxs = np.abs(pop.x[part, None] - cx)
                    dys = np.abs(pop.y[part, None] - cy)
                    dist = np.maximum(np.minimum(dxs, self.width - dxs),
                                      np.minimum(dys, self.height - dys))
                    nearest[s:s + block] = np.argmin(dist, axis=1)
                np.add.at(ins.fighters, alive[nearest], p["isisk.recruits_per_civilian"])
            out.recruits_civilians = n_rec

        eff = self.effective_surveillance
        self._counter_terrorism(out, eff)
        self._attacks(out, eff)

        # Attrition, splits and deaths of cells.
        alive = np.flatnonzero(ins.alive)
        if len(alive):
            lost = rng.binomial(ins.fighters[alive], p["isisk.attrition"])
            ins.fighters[alive] -= lost
            out.attrition = int(lost.sum())
        new, dead = ins.split_and_prune(size, rng)
        self._dead_cells(dead)
        self._new_cells(new)
        return out

    def _counter_terrorism(self, out: InsurgencyStep, eff: float) -> None:
        p, ins, rng = self.params, self.insurgency, self.streams["ct"]
        alive = np.flatnonzero(ins.alive)
        if len(alive) == 0:
            return
        # Units within the hunt radius of each cell (the cells' windows only).
        n_units = self.population.cops.reshape(-1)[
            window_cells(self.width, self.height, ins.x[alive], ins.y[alive],
                         p["taliban.hunt_radius"])].sum(axis=1)
        p_detect = 1.0 - np.power(1.0 - p["taliban.ct_detection"] * eff, n_units)
        hit = alive[rng.random(len(alive)) < p_detect]
        if len(hit) == 0:
            return
        removed = rng.binomial(ins.fighters[hit], p["taliban.ct_effectiveness"])
        ins.fighters[hit] -= removed
        out.ct_removals = int(removed.sum())
        out.taliban_ct_deaths = int(rng.poisson(p["taliban.losses_per_engagement"], len(hit)).sum())
        out.engagements = [(int(ins.x[s]), int(ins.y[s])) for s in hit]

    def _attacks(self, out: InsurgencyStep, eff: float) -> None:
        p, ins, rng = self.params, self.insurgency, self.streams["attacks"]
        alive = np.flatnonzero(ins.alive)
        if len(alive) == 0 or p["isisk.attack_rate"] <= 0:
            return
        lam = p["isisk.attack_rate"] * ins.fighters[alive] / 1000.0
        n_plots = rng.poisson(lam)
        cells = np.repeat(alive, n_plots)
        out.plots = len(cells)
        if out.plots == 0:
            return
        u = rng.random((out.plots, 4))
        weights = np.array([p["isisk.target_taliban"], p["isisk.target_civilian"],
                            p["isisk.target_high_profile"] if self.capital_box else 0.0])
        if weights.sum() <= 0:
            weights = np.array([0.0, 1.0, 0.0])
        target = np.searchsorted(np.cumsum(weights / weights.sum()), u[:, 0], side="right")
        target = np.minimum(target, 2)
        success = u[:, 1] >= eff
        out.interdicted = int((~success).sum())
        x_min = np.where(target == TARGET_HIGH_PROFILE,
                         p["isisk.deaths_min"] * p["isisk.high_profile_multiplier"],
                         p["isisk.deaths_min"])
        deaths = pareto_deaths(u[:, 2], x_min, p["isisk.deaths_alpha"], p["isisk.deaths_max"])
        xs, ys = ins.x[cells].copy(), ins.y[cells].copy()
        if self.capital_box is not None:
            x0, x1, y0, y1 = self.capital_box
            hp = target == TARGET_HIGH_PROFILE
            xs[hp] = x0 + (u[hp, 3] * (x1 - x0)).astype(np.int32)
            ys[hp] = y0 + ((u[hp, 3] * 7919 % 1) * (y1 - y0)).astype(np.int32)
        for i in np.flatnonzero(success):
            out.attacks.append(Attack(int(xs[i]), int(ys[i]), int(target[i]), int(deaths[i])))
        n_ok = int(success.sum())
        self._momentum = (p["isisk.momentum_memory"] * self._momentum
                          + (1 - p["isisk.momentum_memory"]) * n_ok)

    def _shock_civilians(self, ins: InsurgencyStep) -> None:
        """Attacks and collateral harm raise grievance and fear near their sites.

        Only the windows around the sites are visited (sparse window sums),
        so the cost does not grow with the world, apart from the weekly decay.
        """
        p, pop = self.params, self.population
        keep = p["civilians.shock_memory"]
        pop.shock *= keep
        pop.fear *= keep
        self.danger *= keep
        self.collateral = 0
        if not ins.attacks and not ins.engagements:
            return
        w, h = self.width, self.height
        if ins.attacks:
            cells, hits = sparse_window_sum(w, h, [a.x for a in ins.attacks],
                                            [a.y for a in ins.attacks],
                                            p["civilians.shock_radius"])
            self.danger.reshape(-1)[cells] += hits
            # Every civilian on a hit cell, in jail or not.
            touched, nt = pop.at_cells(cells, hits, jailed=True)
            if len(touched):
                pop.shock[touched] = 1 - (1 - pop.shock[touched]) * (
                    1 - p["civilians.attack_grievance"]) ** nt
                pop.fear[touched] = 1 - (1 - pop.fear[touched]) * (
                    1 - p["civilians.attack_fear"]) ** nt
        if ins.engagements:
            ex, ey = np.array(ins.engagements).T
            cells, n = sparse_window_sum(w, h, ex, ey, p["taliban.collateral_radius"])
            near, n = pop.at_cells(cells, n)  # not in jail
            if len(near):
                harmed_p = 1 - p["taliban.ct_accuracy"] ** n
                harmed = near[self.streams["ct"].random(len(near)) < harmed_p]
                pop.shock[harmed] = 1 - (1 - pop.shock[harmed]) * (
                    1 - p["civilians.attack_grievance"])
                self.collateral = len(harmed)

    # --------------------------------------------------------------- metrics
    def _record(self, ins: InsurgencyStep, arrests: int,
                counts: tuple[int, int, int] | None = None) -> None:
        p, pop, reg = self.params, self.population, self.regime
        ppl = p["scale.people_per_civilian"]
        quiet, active, jailed = pop.counts() if counts is None else counts
        n = max(1, pop.n_civilians)
        deaths = [a.deaths for a in ins.attacks]
        attack_deaths = int(sum(deaths))
        civ_deaths = int(sum(a.deaths for a in ins.attacks if a.target != TARGET_TALIBAN))
        collateral = getattr(self, "collateral", 0) * ppl
        gain = p["repression.enforcement_gain"]
        max_units = (self._base_enforcers * p["taliban.enforcer_density"] * (1 + gain)
                     / self._base_enforcer_density) if self._base_enforcers else 0
        if jailed == 0:
            mean_g = float(pop.grievance(reg.legitimacy, self.hardship_boost).mean()) \
                if pop.n_civilians else float("nan")
        elif jailed < pop.n_civilians:
            free = np.flatnonzero(pop.state != JAILED)
            mean_g = float(pop.grievance(reg.legitimacy, self.hardship_boost, free).mean())
        else:
            mean_g = float("nan")
        row = {
            "step": self.steps,
            "date": self.date.isoformat(),
            "attacks": len(ins.attacks),
            "attacks_interdicted": ins.interdicted,
            "attack_deaths": attack_deaths,
            "civilian_deaths": civ_deaths,
            "taliban_deaths": attack_deaths - civ_deaths + ins.taliban_ct_deaths,
            "mass_casualty_attacks": sum(d >= p["isisk.mass_casualty_threshold"] for d in deaths),
            "collateral_casualties": collateral,
            "violence_index": 1.0 - math.exp(-(attack_deaths + collateral) / 25.0),
            "isisk_fighters": self.insurgency.total_fighters,
            "isisk_cells": self.insurgency.n_cells,
            "ct_removals": ins.ct_removals,
            "recruits_defectors": ins.recruits_defectors,
            "recruits_civilians": ins.recruits_civilians,
            "recruits_events": ins.recruits_events,
            "taliban_fighters": int(round(reg.fighters)),
            "enforcers": pop.n_enforcers,
            "repression": reg.repression,
            "target_repression": reg.target_repression,
            "arrests": arrests * ppl,
            "legitimacy": reg.legitimacy,
            "perceived_threat": reg.perceived_threat,
            "effective_surveillance": self.effective_surveillance,
            "repression_index": (reg.repression + jailed / n
                                 + (pop.n_enforcers / max_units if max_units else 0.0)) / 3.0,
            "jailed_civilians": jailed * ppl,
            "active_civilians": active * ppl,
            "quiet_civilians": quiet * ppl,
            "mean_grievance": mean_g,
        }
        self._rows.append(row)

    def metric_rows(self, start: int = 0) -> list[dict[str, Any]]:
        """The recorded rows from row ``start`` on (cheap: no DataFrame), for live views."""
        return self._rows[start:]

    def metrics(self) -> pd.DataFrame:
        """One row per step (row 0 is the initial state): ``step``, ``date`` and every metric."""
        return pd.DataFrame(self._rows, columns=["step", "date", *METRIC_NAMES])


def simulate(scenario: Scenario, seed: int, progress: Callable[[int], None] | None = None,
             *, make_views: bool = True) -> pd.DataFrame:
    """Run ``scenario`` for its steps with ``seed``; return the metrics."""
    model = ConflictModel(scenario, rng=seed, make_views=make_views)
    for _ in range(scenario.steps):
        model.step()
        if progress is not None:
            progress(1)
    return model.metrics()
