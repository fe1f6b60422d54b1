"""The weekly record by province, on the map: where the violence is, and who is there.

Each step (and the initial state) gives one row per place, the 34 provinces
and the sanctuary, of :data:`PROVINCE_METRICS`. Civilian counts are people
(weighted civilians times ``scale.people_per_civilian``); fighters and units
are as in the national record (:mod:`simulation.model.record`), of which these
are the breakdown: summed over places they give its values (the mean
grievance excepted, a mean).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.model.civilians import ACTIVE, JAILED
from simulation.model.insurgency import (
    TARGET_CIVILIAN,
    TARGET_FORMER_GOV,
    TARGET_HIGH_PROFILE,
    TARGET_TALIBAN,
    InsurgencyStep,
)

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel

#: The place beyond the border where ISIS-K cells may stand.
SANCTUARY = "Pakistan (sanctuary)"

#: (name, what it counts) of each column, in order.
PROVINCE_METRICS: tuple[tuple[str, str], ...] = (
    ("attacks", "successful ISIS-K attacks that week"),
    ("attack_deaths", "people killed in them"),
    ("deaths_taliban", "of whom in attacks on Taliban targets"),
    ("deaths_civilian", "of whom in attacks on civilian targets"),
    ("deaths_high_profile", "of whom in high-profile attacks"),
    ("deaths_former_gov", "of whom in attacks on former government personnel"),
    ("isisk_fighters", "ISIS-K fighters standing there"),
    ("taliban_units", "Taliban enforcer units standing there"),
    ("arrests", "people arrested that week"),
    ("jailed_civilians", "people in jail"),
    ("active_civilians", "people in open resistance"),
    ("mean_grievance", "mean grievance of the people not in jail (0-1)"),
)
PROVINCE_METRIC_NAMES: tuple[str, ...] = tuple(name for name, _ in PROVINCE_METRICS)
#: The columns that count whole things (written as integers).
_COUNTS = frozenset(PROVINCE_METRIC_NAMES[:8])
_TARGET_COLUMN = {
    TARGET_TALIBAN: 2,
    TARGET_CIVILIAN: 3,
    TARGET_HIGH_PROFILE: 4,
    TARGET_FORMER_GOV: 5,
}
_COLUMN = {name: j for j, name in enumerate(PROVINCE_METRIC_NAMES)}


def places(names: tuple[str, ...]) -> tuple[str, ...]:
    """The provinces, then the sanctuary."""
    return (*names, SANCTUARY)


def record(model: ConflictModel, ins: InsurgencyStep, arrests: float) -> None:
    """On the map, append the week's table to ``model.province_rows``; ``arrests`` in agents."""
    if model.land is not None:
        people = arrests * model.params["scale.people_per_civilian"]
        model.province_rows.append(week_rows(model, ins, people))


def week_rows(model: ConflictModel, ins: InsurgencyStep, arrests: float) -> np.ndarray:
    """The (places x metrics) table of the step just ended; ``arrests`` as recorded (people)."""
    land, pop = model.land, model.population
    assert land is not None and pop.weight is not None
    n = len(land.names) + 1
    sanctuary = n - 1
    out = np.zeros((n, len(PROVINCE_METRICS)))
    ppl = model.params["scale.people_per_civilian"]

    def where(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        p = land.province[x, y].astype(np.int64)
        return np.where(land.sanctuary[x, y], sanctuary, np.maximum(p, 0))

    if ins.attacks:
        xy = np.array([(a.x, a.y) for a in ins.attacks])
        at = where(xy[:, 0], xy[:, 1])
        deaths = np.array([a.deaths for a in ins.attacks], dtype=float)
        out[:, 0] = np.bincount(at, minlength=n)
        out[:, 1] = np.bincount(at, weights=deaths, minlength=n)
        for target, column in _TARGET_COLUMN.items():
            mine = np.array([a.target == target for a in ins.attacks])
            out[:, column] = np.bincount(at[mine], weights=deaths[mine], minlength=n)
    cells = np.flatnonzero(model.insurgency.alive)
    if len(cells):
        at = where(model.insurgency.x[cells], model.insurgency.y[cells])
        out[:, _COLUMN["isisk_fighters"]] = np.bincount(
            at, weights=model.insurgency.fighters[cells], minlength=n
        )
    units = np.flatnonzero(pop.enforcer_alive)
    out[:, _COLUMN["taliban_units"]] = np.bincount(
        where(pop.enforcer_x[units], pop.enforcer_y[units]), minlength=n
    ).astype(float)
    _civilians(out, model, where(pop.x, pop.y), arrests, ppl)
    return out


def _civilians(
    out: np.ndarray, model: ConflictModel, at: np.ndarray, arrests: float, ppl: float
) -> None:
    """The civilian columns: arrests (shared as the newly jailed are), jail, activity, grievance."""
    pop, n = model.population, len(out)
    w = pop.weight
    assert w is not None
    jailed = pop.state == JAILED
    newly = pop.newly_jailed
    if len(newly) and arrests:
        share = np.bincount(at[newly], weights=w[newly], minlength=n)
        out[:, _COLUMN["arrests"]] = arrests * share / share.sum()
    out[:, _COLUMN["jailed_civilians"]] = (
        np.bincount(at[jailed], weights=w[jailed], minlength=n) * ppl
    )
    active = pop.state == ACTIVE
    out[:, _COLUMN["active_civilians"]] = (
        np.bincount(at[active], weights=w[active], minlength=n) * ppl
    )
    free = ~jailed
    g = pop.grievance(model.regime.legitimacy, model.hardship_boost)
    total = np.bincount(at[free], weights=w[free], minlength=n)
    summed = np.bincount(at[free], weights=(w * g)[free], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, _COLUMN["mean_grievance"]] = np.where(total > 0, summed / total, np.nan)


def frame(model: ConflictModel, rows: list[np.ndarray]) -> pd.DataFrame:
    """The tidy table: one row per step and place (``step``, ``date``, ``province``, metrics)."""
    assert model.land is not None
    names = places(model.land.names)
    steps = np.repeat(np.arange(len(rows)), len(names))
    data: dict[str, Any] = {
        "step": steps,
        "date": [model.config.date_of(int(s)).isoformat() for s in steps],
        "province": np.tile(np.array(names, dtype=object), len(rows)),
    }
    values = np.concatenate(rows) if rows else np.zeros((0, len(PROVINCE_METRICS)))
    for j, name in enumerate(PROVINCE_METRIC_NAMES):
        data[name] = values[:, j].astype(np.int64) if name in _COUNTS else values[:, j]
    return pd.DataFrame(data)
