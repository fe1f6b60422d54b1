"""Ensembles of seeded replicates: a facade over the modules that now hold them.

Kept so that code importing ``simulation.experiments.ensemble`` keeps working;
new code imports from the home modules:

- :mod:`~simulation.experiments.jobs`: :class:`Job`, seeds, :func:`run_job`, failures;
- :mod:`~simulation.experiments.fingerprint`: the code fingerprint;
- :mod:`~simulation.experiments.pool`: serial and process-pool executors;
- :mod:`~simulation.experiments.cluster`: the Dask path;
- :mod:`~simulation.experiments.execution`: :func:`execute`, :func:`run_saved`;
- :mod:`~simulation.experiments.planning`: runs into run directories;
- :mod:`~simulation.experiments.workspace`: :func:`resume_settings`.
"""

from __future__ import annotations

from simulation.experiments.cluster import (
    LOCAL_DASK,
    SCHEDULER_ENV,
    DaskUnavailable,
    check_scheduler,
    local_workers,
)
from simulation.experiments.execution import (
    EXECUTORS,
    execute,
    load_saved,
    run_ensemble,
    run_saved,
)
from simulation.experiments.fingerprint import (
    FINGERPRINT_MODULES,
    PACKAGE,
    code_fingerprint,
    fingerprint_files,
)
from simulation.experiments.jobs import (
    FAIL_SEED_ENV,
    Failure,
    Guarded,
    Job,
    concat_results,
    make_jobs,
    run_job,
)
from simulation.experiments.planning import RunPlan, finish_run, plan_runs
from simulation.experiments.pool import PARENT_CHECK_SECONDS, default_workers
from simulation.experiments.workspace import resume_settings

__all__ = [
    "EXECUTORS",
    "FAIL_SEED_ENV",
    "FINGERPRINT_MODULES",
    "LOCAL_DASK",
    "PACKAGE",
    "PARENT_CHECK_SECONDS",
    "SCHEDULER_ENV",
    "DaskUnavailable",
    "Failure",
    "Guarded",
    "Job",
    "RunPlan",
    "check_scheduler",
    "code_fingerprint",
    "concat_results",
    "default_workers",
    "execute",
    "fingerprint_files",
    "finish_run",
    "load_saved",
    "local_workers",
    "make_jobs",
    "plan_runs",
    "resume_settings",
    "run_ensemble",
    "run_job",
    "run_saved",
]
