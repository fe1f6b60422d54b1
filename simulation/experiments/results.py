"""Saved results of an ensemble: a facade over the modules that now hold them.

Kept so that code importing ``simulation.experiments.results`` keeps working;
new code imports from the home modules:

- :mod:`~simulation.experiments.files`: atomic writes, the CSV writer, ResultsError;
- :mod:`~simulation.experiments.rundir`: run directories, ``--force``, publishing;
- :mod:`~simulation.experiments.summaries`: time-series order, summaries, headlines;
- :mod:`~simulation.experiments.manifest`: the manifest and :func:`write_run`;
- :mod:`~simulation.experiments.manifest_checks`: a saved manifest checked;
- :mod:`~simulation.experiments.loading`: :func:`load_run` and damaged runs;
- :mod:`~simulation.experiments.store`: replicates saved as they finish;
- :mod:`~simulation.experiments.workspace`: resume.
"""

from __future__ import annotations

from simulation.experiments.files import (
    ResultsError,
    RunExistsError,
    atomic_write_bytes,
    atomic_write_text,
    name_path,
)
from simulation.experiments.loading import (
    SUMMARY_COLUMNS,
    RunData,
    load_run,
    run_damage,
    run_is_complete,
)
from simulation.experiments.manifest import (
    build_manifest,
    event_record,
    git_info,
    package_versions,
    write_run,
)
from simulation.experiments.manifest_checks import MAX_MANIFEST_BYTES
from simulation.experiments.rundir import (
    FORMAT,
    FORMAT_VERSION,
    HASHED_RUN_FILES,
    RUN_FILES,
    SWEEP_FILES,
    SWEEP_FORMAT,
    check_replaceable,
    check_run_dir,
    prepare_target,
    publish_dir,
    run_dir_for,
    set_aside,
    slug,
)
from simulation.experiments.store import ReplicateStore, read_replicate_csv, scenario_key
from simulation.experiments.summaries import (
    HEADLINE_INDEX,
    HEADLINES,
    ID_COLUMNS,
    QUANTILES,
    Headline,
    headline_table,
    metric_columns,
    summarize,
    tidy_timeseries,
)
from simulation.experiments.workspace import SETTINGS_FILE, Workspace, partial_dir_for

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "HASHED_RUN_FILES",
    "HEADLINES",
    "HEADLINE_INDEX",
    "ID_COLUMNS",
    "MAX_MANIFEST_BYTES",
    "QUANTILES",
    "RUN_FILES",
    "SETTINGS_FILE",
    "SUMMARY_COLUMNS",
    "SWEEP_FILES",
    "SWEEP_FORMAT",
    "Headline",
    "ReplicateStore",
    "ResultsError",
    "RunData",
    "RunExistsError",
    "Workspace",
    "atomic_write_bytes",
    "atomic_write_text",
    "build_manifest",
    "check_replaceable",
    "check_run_dir",
    "event_record",
    "git_info",
    "headline_table",
    "load_run",
    "metric_columns",
    "name_path",
    "package_versions",
    "partial_dir_for",
    "prepare_target",
    "publish_dir",
    "read_replicate_csv",
    "run_damage",
    "run_dir_for",
    "run_is_complete",
    "scenario_key",
    "set_aside",
    "slug",
    "summarize",
    "tidy_timeseries",
    "write_run",
]
