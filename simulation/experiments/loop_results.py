"""The loop diagnostic's numbers and its directory: link effects, the loop gain, the files.

:func:`link_effects` and :func:`loop_gain` read the tidy table of
:func:`values_table` (one row per arm and seed, one column per quantity of
:mod:`simulation.experiments.loop`). :func:`loop_files` makes the loop
directory's files; :func:`publish_loop` writes them (through
:func:`~simulation.experiments.rundir.publish_dir`), replacing an existing
directory only with ``force`` and only if it is a loop directory khorasan
wrote, holding nothing else.

**The loop gain.** A small exogenous pulse (fighters added at one week, a
scenario event) is given with the loop closed and with the loop opened at one
link (by default the thermostat, threat -> repression), each on the same
seeds as a run without the pulse. With ``d_closed`` and ``d_open`` the
responses of the measure (mean ISIS-K fighters from the pulse week on) to the
pulse, ``G = 1 - mean(d_open) / mean(d_closed)``. For a single loop of gain
``L`` a closed loop answers ``d_open / (1 - L)``, so ``G = L``: positive, the
circle feeds the pulse back (self-reinforcing); negative, it damps it; 0, the
opened link carries nothing back. The measure must stand between the pulse and
the opened link (here at the pulse itself), or the open response is zero by
construction. Its 90% interval is the paired BCa bootstrap over seeds
(:func:`~simulation.experiments.bootstrap.paired_statistic_interval`); when the
closed response's own interval includes zero the ratio is undefined and
``gain_defined`` is false.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiments.bootstrap import paired_statistic_interval
from simulation.experiments.compare import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CI_LEVEL,
    bootstrap_difference,
    excludes_zero,
)
from simulation.experiments.files import ResultsError, RunExistsError, csv_text, listing
from simulation.experiments.loop import (
    HEADLINE_QUANTITIES,
    INTACT,
    NODES,
    PULSE,
    PULSE_OPEN,
    QUANTITIES,
    Arm,
    Link,
    Pulse,
)
from simulation.experiments.manifest import git_info, package_versions
from simulation.experiments.rundir import publish_dir
from simulation.scenario.core import Scenario
from simulation.scenario.identity import identity
from simulation.scenario.writer import scenario_to_toml

__all__ = [
    "LOOP_FILES",
    "LOOP_FORMAT",
    "RULE_SHARE",
    "gain_statistic",
    "link_effects",
    "loop_files",
    "loop_gain",
    "loop_is_complete",
    "publish_loop",
    "values_table",
]

LOOP_FORMAT = "khorasan-loop"
LOOP_FORMAT_VERSION = 1
#: The loop directory's files, its manifest first.
LOOP_FILES: tuple[str, ...] = (
    "loop.json",
    "links.csv",
    "gain.csv",
    "values.csv",
    "loop.png",
    "scenario.toml",
)
#: The issue's rule: an effect counts when |effect| >= this share of the intact value
#: and its 90% interval excludes zero.
RULE_SHARE = 0.05


def values_table(
    arms: Sequence[Arm], values: Sequence[Sequence[Mapping[str, Any]]]
) -> pd.DataFrame:
    """One row per arm and replicate: ``arm``, ``replicate``, ``seed`` and every quantity.

    ``values[k]`` are arm ``k``'s replicates, each a mapping with ``replicate``,
    ``seed`` and the quantities (:func:`~simulation.experiments.loop.replicate_values`).
    """
    rows = [{"arm": arm.name, **dict(v)} for arm, vs in zip(arms, values, strict=True) for v in vs]
    df = pd.DataFrame(rows)
    return df.sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)


def paired_column(values: pd.DataFrame, arm: str, column: str, seeds: Sequence[int]) -> np.ndarray:
    """``column`` of ``arm`` in the order of ``seeds`` (every arm ran the same seeds)."""
    table = values[values["arm"] == arm].set_index("seed")
    missing = sorted(set(seeds) - set(table.index))
    if missing:
        raise ValueError(f"arm {arm} lacks seeds {missing}: arms must be paired by seed")
    return table.loc[list(seeds), column].to_numpy(dtype=float)


def _seeds(values: pd.DataFrame) -> list[int]:
    return sorted(int(s) for s in values.loc[values["arm"] == INTACT, "seed"])


def effect_row(base: np.ndarray, cut: np.ndarray) -> dict[str, Any]:
    """Paired effect of a cut (cut - intact), its CI, as % of intact, and the 5% rule."""
    effect, lo, hi = bootstrap_difference(base, cut, paired=True)
    intact = float(np.mean(base))
    pct = (lambda x: 100 * x / intact) if intact != 0 else (lambda x: np.nan)
    significant = excludes_zero(lo, hi)
    return {
        "intact_mean": intact,
        "cut_mean": float(np.mean(cut)),
        "effect": effect,
        "ci_low": lo,
        "ci_high": hi,
        "effect_pct": pct(effect),
        "ci_low_pct": pct(lo),
        "ci_high_pct": pct(hi),
        "ci_excludes_zero": significant,
        "passes_rule": bool(significant and abs(effect) >= RULE_SHARE * abs(intact)),
    }


def link_effects(values: pd.DataFrame, links: Sequence[Link]) -> pd.DataFrame:
    """Per link: the cut's paired effect on its *to* quantity, then on every headline.

    Columns: ``link, from, to, cut, quantity, label, role`` (``to`` or
    ``headline``), ``replicates``, the intact and cut means, ``effect`` (mean
    of cut - intact over seeds) with its bootstrap 90% ``ci_low``/``ci_high``,
    the same as % of the intact mean, ``ci_excludes_zero`` and ``passes_rule``
    (|effect| >= 5% of the intact mean and the CI excludes zero).
    """
    seeds = _seeds(values)
    rows = []
    for link in links:
        to = NODES[link.target].quantity
        for name in dict.fromkeys((to, *HEADLINE_QUANTITIES)):
            base = paired_column(values, INTACT, name, seeds)
            cut = paired_column(values, f"cut:{link.name}", name, seeds)
            rows.append(
                {
                    "link": link.name,
                    "from": link.source,
                    "to": link.target,
                    "cut": link.cut_text,
                    "quantity": name,
                    "label": QUANTITIES[name].label,
                    "role": "to" if name == to else "headline",
                    "replicates": len(seeds),
                    **effect_row(base, cut),
                }
            )
    return pd.DataFrame(rows)


def gain_statistic(d_open: np.ndarray, d_closed: np.ndarray, axis: int = -1) -> np.ndarray:
    """``1 - mean(d_open) / mean(d_closed)`` along ``axis`` (vectorized, for the bootstrap)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - np.mean(d_open, axis=axis) / np.mean(d_closed, axis=axis)


def gain_interval(d_closed: np.ndarray, d_open: np.ndarray) -> tuple[float, float, float]:
    """The loop gain and its paired bootstrap 90% interval from per-seed pulse responses."""
    return paired_statistic_interval(
        (np.asarray(d_open, float), np.asarray(d_closed, float)),
        gain_statistic,
        CI_LEVEL,
        BOOTSTRAP_RESAMPLES,
        BOOTSTRAP_SEED,
    )


def loop_gain(
    values: pd.DataFrame, open_at: Link, pulse: Pulse
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The loop gain (a dict), and the pulse's closed and open responses on every quantity.

    The responses table has one row per quantity (the gain's measure first):
    ``closed``/``open`` (mean paired response to the pulse) with their 90% CIs.
    """
    seeds = _seeds(values)
    rows = []
    responses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in ("gain_measure", *HEADLINE_QUANTITIES):
        d_closed = paired_column(values, PULSE, name, seeds) - paired_column(
            values, INTACT, name, seeds
        )
        d_open = paired_column(values, PULSE_OPEN, name, seeds) - paired_column(
            values, f"cut:{open_at.name}", name, seeds
        )
        responses[name] = (d_closed, d_open)
        c, c_lo, c_hi = bootstrap_difference(np.zeros_like(d_closed), d_closed, paired=True)
        o, o_lo, o_hi = bootstrap_difference(np.zeros_like(d_open), d_open, paired=True)
        label = "Mean ISIS-K fighters from the pulse on" if name == "gain_measure" else None
        rows.append(
            {
                "quantity": name,
                "label": label or QUANTITIES[name].label,
                "closed": c,
                "closed_ci_low": c_lo,
                "closed_ci_high": c_hi,
                "open": o,
                "open_ci_low": o_lo,
                "open_ci_high": o_hi,
            }
        )
    d_closed, d_open = responses["gain_measure"]
    g, lo, hi = gain_interval(d_closed, d_open)
    defined = excludes_zero(rows[0]["closed_ci_low"], rows[0]["closed_ci_high"])
    gain = {
        "gain": g,
        "ci_low": lo,
        "ci_high": hi,
        "gain_defined": defined,
        "ci_excludes_zero": bool(defined and excludes_zero(lo, hi)),
        "opened_at": open_at.name,
        "opened_label": open_at.label,
        "pulse_fighters": pulse.fighters,
        "pulse_week": pulse.week,
        "replicates": len(seeds),
    }
    return gain, pd.DataFrame(rows)


def _csv(df: pd.DataFrame) -> bytes:
    return csv_text(df, "%.10g").encode()


def loop_files(
    scenario: Scenario,
    settings: Mapping[str, Any],
    values: pd.DataFrame,
    effects: pd.DataFrame,
    gain: Mapping[str, Any],
    responses: pd.DataFrame,
    *,
    figure: bytes | None = None,
    timings: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> dict[str, bytes]:
    """The loop directory's files (see :data:`LOOP_FILES`), for :func:`publish_loop`."""
    gain_table = pd.concat([pd.DataFrame([dict(gain)]), responses], ignore_index=True)
    files = {"links.csv": _csv(effects), "gain.csv": _csv(gain_table), "values.csv": _csv(values)}
    if figure is not None:
        files["loop.png"] = bytes(figure)
    files["scenario.toml"] = scenario_to_toml(scenario).encode()
    manifest = {
        "format": LOOP_FORMAT,
        "format_version": LOOP_FORMAT_VERSION,
        "scenario": {
            "name": scenario.name,
            "start_date": scenario.start_date.isoformat(),
            "steps": scenario.steps,
            "seed": scenario.seed,
            "source": str(scenario.source) if scenario.source else None,
        },
        "identity": identity(scenario),
        "settings": dict(settings),
        "gain": {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in gain.items()},
        "files": {n: {"bytes": len(d)} for n, d in files.items()},
        "versions": package_versions(),
        "git": git_info(),
        "timings": dict(timings or {}),
        "command": list(command if command is not None else sys.argv),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    files = {"loop.json": (json.dumps(manifest, indent=2, default=str) + "\n").encode(), **files}
    return files


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / LOOP_FILES[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == LOOP_FORMAT else None


def loop_is_complete(target: Path, scenario: Scenario, settings: Mapping[str, Any]) -> bool:
    """Whether ``target`` is a finished loop directory of this scenario and these settings."""
    manifest = _manifest(target)
    return (
        manifest is not None
        and manifest.get("identity") == identity(scenario)
        and manifest.get("settings") == json.loads(json.dumps(dict(settings), default=str))
        and (target / "links.csv").is_file()
    )


def check_loop_target(target: Path, *, force: bool) -> None:
    """Raise unless ``target`` may be written: absent, or (``force``) a loop dir khorasan wrote."""
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        raise RunExistsError(
            target, "already exists (use --force to replace it, or --out for another place)"
        )
    if target.is_symlink() or not target.is_dir():
        raise ResultsError(target, "is not a directory khorasan wrote; move it away first")
    manifest = _manifest(target)
    if manifest is None:
        raise ResultsError(
            target,
            "not a directory khorasan wrote (it holds no khorasan loop.json); --force "
            "replaces only those: move it away or use --out for another place",
        )
    listed = manifest.get("files")
    allowed = {*LOOP_FILES, *(listed if isinstance(listed, dict) else ())}
    foreign = [
        p.name + ("/" if p.is_dir() else "")
        for p in sorted(target.iterdir())
        if p.name not in allowed or p.is_symlink() or not p.is_file()
    ]
    if foreign:
        raise ResultsError(
            target,
            f"holds files khorasan did not write ({listing(foreign)}); "
            "--force replaces only what khorasan wrote: move them away first",
        )


def publish_loop(target: str | os.PathLike[str], files: Mapping[str, bytes], force: bool) -> Path:
    """Write the loop directory, all or nothing; an old one (``force``) goes only once it is."""
    target = Path(target)
    check_loop_target(target, force=force)
    if not target.exists():
        return publish_dir(target, files)
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(target, old)
    try:
        publish_dir(target, files)
    except BaseException:
        if not target.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target
