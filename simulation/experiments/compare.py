"""Compare saved runs: a table of headline differences with bootstrap CIs, and its files.

Everything here reads saved run directories (:class:`~simulation.experiments.loading.RunData`),
never a live model; ``khorasan compare`` first runs any scenario files it is
given, with the same seeds for every scenario (common random numbers), so
replicate ``i`` of each scenario can be paired by seed.

Outputs of :func:`write_comparison` (the figures are drawn by
:func:`simulation.plots.compare.comparison_figures` and handed in):

- ``comparison.png``: one panel per metric; each scenario one colour, the
  median over replicates as a line and the 10-90% range as a band;
- ``difference.png``: each scenario minus the first, paired by seed, median
  and 10-90% band of the paired differences;
- ``comparison.csv``: per scenario and headline metric (see
  :data:`simulation.experiments.summaries.HEADLINES`) the median and 10-90% range over
  replicates, and the mean difference from the first scenario with a
  bootstrap 90% confidence interval and whether it excludes zero;
- ``comparison.json``: what was compared and the sha256 of each file above,
  so that ``--force`` replaces only comparison files khorasan wrote.

An existing comparison file is replaced only if it is what khorasan would
write anyway, or with ``force`` if it is unchanged since khorasan wrote it
(:func:`check_comparison_out`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.experiments.bootstrap import mean_difference_interval
from simulation.experiments.files import ResultsError, atomic_write_bytes, csv_text
from simulation.experiments.loading import RunData
from simulation.experiments.rundir import FORMAT, SWEEP_FORMAT
from simulation.experiments.summaries import HEADLINES, QUANTILES, headline_table
from simulation.model.record import METRIC_INDEX, METRIC_NAMES
from simulation.scenario.param_type import did_you_mean

__all__ = [
    "BOOTSTRAP_SEED",
    "COMPARISON_FIGURES",
    "COMPARISON_FILES",
    "DEFAULT_METRICS",
    "MetricSpec",
    "bootstrap_difference",
    "check_comparable",
    "check_comparison_out",
    "comparison_table",
    "parse_metrics",
    "write_comparison",
]

#: Panels of comparison.png unless ``--metrics`` says otherwise: violence and repression.
DEFAULT_METRICS: tuple[str, ...] = (
    "attack_deaths",
    "cum_attack_deaths",
    "attacks",
    "repression",
    "arrests",
    "isisk_fighters",
)
#: The bootstrap always uses this seed, so the same runs give the same CSV.
BOOTSTRAP_SEED = 20210815
BOOTSTRAP_RESAMPLES = 10_000
CI_LEVEL = 0.90
CUMULATIVE = "cum_"


@dataclass(frozen=True)
class MetricSpec:
    """A plotted metric: a recorded one, or the running total of a flow (``cum_NAME``)."""

    name: str
    metric: str
    cumulative: bool = False

    @property
    def title(self) -> str:
        """Panel title with the unit, e.g. ``Cumulative attack deaths (deaths)``."""
        m = METRIC_INDEX.get(self.metric)
        label = m.label if m else self.metric
        unit = m.unit if m else ""
        if self.cumulative:
            label = f"Cumulative {label[0].lower()}{label[1:]}"
            unit = unit.removesuffix("/week")
        return f"{label} ({unit})" if unit and unit != "-" else label


def parse_metrics(text: str | None) -> list[MetricSpec]:
    """``m1,m2,...`` (recorded metric names, or ``cum_<flow metric>``); ValueError if unknown."""
    names = [n.strip() for n in (text.split(",") if text else DEFAULT_METRICS) if n.strip()]
    if not names:
        raise ValueError("no metrics given")
    specs = []
    known = [*METRIC_NAMES, *(f"{CUMULATIVE}{m.name}" for m in METRIC_INDEX.values() if m.flow)]
    for name in names:
        if name in METRIC_INDEX:
            specs.append(MetricSpec(name, name))
        elif name.startswith(CUMULATIVE) and name[len(CUMULATIVE) :] in METRIC_INDEX:
            base = name[len(CUMULATIVE) :]
            if not METRIC_INDEX[base].flow:
                raise ValueError(
                    f"{name!r}: {base} is a level, not a weekly flow; "
                    "only flows have running totals"
                )
            specs.append(MetricSpec(name, base, cumulative=True))
        else:
            raise ValueError(
                f"unknown metric {name!r}{did_you_mean(name, known)}; "
                "'khorasan compare --help' lists them"
            )
    return list(dict.fromkeys(specs))


# --- checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class Extent:
    """What must match between compared scenarios: where each came from and its time axis."""

    source: str
    start_date: dt.date
    steps: int


def check_comparable(extents: Sequence[Extent]) -> None:
    """Raise ValueError (one line) unless all share the start date and the number of weeks."""
    first = extents[0]
    for other in extents[1:]:
        if (other.start_date, other.steps) != (first.start_date, first.steps):
            raise ValueError(
                f"cannot compare {first.source} (starts {first.start_date}, {first.steps} "
                f"weeks) with {other.source} (starts {other.start_date}, {other.steps} weeks): "
                "compared scenarios must have the same start date and length"
            )


# --- statistics ------------------------------------------------------------------


def bootstrap_difference(
    base: np.ndarray,
    other: np.ndarray,
    paired: bool,
    level: float = CI_LEVEL,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """Mean of ``other - base`` and its bootstrap ``level`` interval (BCa when paired).

    ``paired`` resamples the pairs together (``base[i]`` and ``other[i]`` share
    a seed); otherwise each group is resampled on its own. The generator is
    seeded, so the same data give the same interval. One replicate gives no
    interval (NaN ends); no spread gives the estimate as both ends
    (:func:`~simulation.experiments.bootstrap.mean_difference_interval`).
    """
    return mean_difference_interval(base, other, paired, level, resamples, seed)


def excludes_zero(low: float, high: float) -> bool:
    """Whether the interval ``[low, high]`` lies wholly above or below zero."""
    return bool(low > 0 or high < 0)


def _pairing(base_seeds: Sequence[int], other_seeds: Sequence[int]) -> bool:
    """Pair by seed when both ran exactly the same seeds."""
    return sorted(base_seeds) == sorted(other_seeds)


def comparison_table(runs: Sequence[RunData], labels: Sequence[str]) -> pd.DataFrame:
    """Per scenario and headline metric: median, 10-90% range, difference from the first.

    Columns: ``scenario, metric, label, unit, replicates, median, q10, q90,
    diff_mean, diff_ci_low, diff_ci_high, ci_excludes_zero, paired``. The
    difference is the mean over replicates of (scenario - first scenario),
    paired by seed when both ran the same seeds, with a bootstrap 90%
    interval; the first scenario's own difference columns are empty.
    """
    tables = [headline_table(run.timeseries).set_index("seed").sort_index() for run in runs]
    base = tables[0]
    rows = []
    for h in HEADLINES:
        for k, (label, table) in enumerate(zip(labels, tables, strict=True)):
            values = table[h.name].to_numpy(dtype=float)
            row = {
                "scenario": label,
                "metric": h.name,
                "label": h.label,
                "unit": h.unit,
                "replicates": len(values),
                "median": float(np.median(values)),
                "q10": float(np.quantile(values, QUANTILES[0])),
                "q90": float(np.quantile(values, QUANTILES[1])),
                "diff_mean": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "ci_excludes_zero": pd.NA,
                "paired": pd.NA,
            }
            if k > 0:
                paired = _pairing(list(base.index), list(table.index))
                a = base[h.name].to_numpy(dtype=float)
                b = table.loc[base.index, h.name].to_numpy(dtype=float) if paired else values
                diff, lo, hi = bootstrap_difference(a, b, paired)
                row.update(
                    diff_mean=diff,
                    diff_ci_low=lo,
                    diff_ci_high=hi,
                    ci_excludes_zero=excludes_zero(lo, hi),
                    paired=paired,
                )
            rows.append(row)
    df = pd.DataFrame(rows)
    return df.astype({"ci_excludes_zero": "boolean", "paired": "boolean"})


# --- output ----------------------------------------------------------------------


def _csv_bytes(df: pd.DataFrame) -> bytes:
    """The comparison table as CSV (six significant digits), by the one CSV writer."""
    return csv_text(df, "%.6g").encode()


#: The files :func:`write_comparison` writes into its folder, its manifest last.
COMPARISON_FILES: tuple[str, ...] = (
    "comparison.png",
    "difference.png",
    "difference_map.png",  # runs on the map only
    "comparison.csv",
    "comparison.json",
)
#: The figures among them, drawn by the plots layer.
COMPARISON_FIGURES: tuple[str, ...] = COMPARISON_FILES[:3]
COMPARISON_FORMAT = "khorasan-comparison"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _recorded_hashes(out: Path) -> dict[str, str] | None:
    """The sha256 of each file that the ``comparison.json`` in ``out`` says khorasan wrote."""
    try:
        manifest = json.loads((out / COMPARISON_FILES[-1]).read_text(encoding="utf-8"))
        files = manifest["files"] if manifest.get("format") == COMPARISON_FORMAT else None
        return {str(n): str(f["sha256"]) for n, f in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_comparison_out(
    out: str | os.PathLike[str],
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    force: bool,
    new: dict[str, bytes] | None = None,
    resume: bool = False,
) -> None:
    """Raise ResultsError (one line) if the comparison may not be written into ``out``.

    ``out`` must not be (or be inside) a compared run directory, nor any run
    or sweep directory khorasan wrote. An existing comparison file is refused
    unless it already holds exactly ``new[name]`` (the file about to be
    written; unknown before the runs, where only ``resume`` defers the
    check) or ``force`` is given and it is unchanged since khorasan wrote it
    (its sha256 is in ``comparison.json``): a user's file is never replaced.
    """
    out = Path(out)
    _check_not_in_a_run(out, run_dirs)
    hashes = _recorded_hashes(out) if force else None
    for name in COMPARISON_FILES:
        path = out / name
        if not path.exists() and not path.is_symlink():
            continue
        if new is None and resume and not force:
            continue  # decided once the new files are known
        if new is not None and name in new and path.is_file() and not path.is_symlink():
            try:
                if path.read_bytes() == new[name]:
                    continue  # nothing would change
            except OSError:
                pass
        _check_replaceable_file(path, name, force, hashes)


def _check_not_in_a_run(out: Path, run_dirs: Sequence[str | os.PathLike[str]]) -> None:
    """``out`` is neither a compared run directory nor inside any run khorasan wrote."""
    where = out.resolve()
    for run_dir in run_dirs:
        if _inside(where, Path(run_dir).resolve()):
            raise ResultsError(
                out,
                f"is {'' if where == Path(run_dir).resolve() else 'inside '}"
                f"the compared run directory {run_dir}; writing the comparison "
                "there would change that run: use --out for another place",
            )
    for folder in (where, *where.parents):
        if _khorasan_format(folder / "manifest.json", FORMAT) or _khorasan_format(
            folder / "sweep.json", SWEEP_FORMAT
        ):
            raise ResultsError(
                out,
                f"is {'' if folder == where else 'inside '}the khorasan "
                f"run directory {folder}; use --out for another place",
            )


def _check_replaceable_file(
    path: Path, name: str, force: bool, hashes: dict[str, str] | None
) -> None:
    """An existing comparison file may be replaced only with ``force``, if khorasan wrote it."""
    if not force:
        raise ResultsError(
            path, "already exists (use --force to replace it, or --out for another place)"
        )
    if path.is_symlink() or not path.is_file():
        raise ResultsError(
            path,
            "is not a file khorasan wrote; --force replaces only "
            "khorasan's own comparison files: move it away first",
        )
    if name == COMPARISON_FILES[-1]:
        ok = hashes is not None
    else:
        try:
            ok = hashes is not None and hashes.get(name) == _sha256(path.read_bytes())
        except OSError:
            ok = False
    if not ok:
        raise ResultsError(
            path,
            "was not written by khorasan, or was changed since (it is "
            "not as comparison.json records); --force replaces only "
            "khorasan's own comparison files: move it away first",
        )


def _khorasan_format(path: Path, kind: str) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == kind
    except (OSError, ValueError, AttributeError):
        return False


def write_comparison(
    runs: Sequence[RunData],
    labels: Sequence[str],
    specs: Sequence[MetricSpec],
    out: str | os.PathLike[str],
    *,
    figures: Mapping[str, bytes] | None = None,
    force: bool = False,
    resume: bool = False,
) -> tuple[pd.DataFrame, list[Path]]:
    """Write the comparison files (figures, comparison.csv, comparison.json) into ``out``.

    ``figures`` maps ``comparison.png``, ``difference.png`` (and, on the map,
    ``difference_map.png``) to their PNG bytes, drawn by the layer above
    (:func:`simulation.plots.compare.comparison_figures`); without them only
    the CSV and the manifest are written. Refuses (ResultsError, before
    writing anything) to replace a file as :func:`check_comparison_out`
    says. Returns the table (as in the CSV) and the paths written.
    """
    out = Path(out)
    table = comparison_table(runs, labels)
    files = {
        name: bytes(data) for name, data in (figures or {}).items() if name in COMPARISON_FIGURES
    }
    files["comparison.csv"] = _csv_bytes(table)
    manifest = {
        "format": COMPARISON_FORMAT,
        "format_version": 1,
        "scenarios": list(labels),
        "runs": [str(r.path) for r in runs],
        "metrics": [spec.name for spec in specs],
        "files": {
            name: {"bytes": len(data), "sha256": _sha256(data)} for name, data in files.items()
        },
    }
    files["comparison.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    check_comparison_out(out, [r.path for r in runs], force=force, new=files, resume=resume)
    paths = [atomic_write_bytes(out / name, data) for name, data in files.items()]
    return table, paths
