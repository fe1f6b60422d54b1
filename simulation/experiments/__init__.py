"""Experiments: run replicates, save them, and read saved runs back.

Running replicates:

- ``jobs.py``: a replicate as a :class:`Job`, its seed, :func:`run_job`, failures;
- ``pool.py``: serial and process-pool executors (workers die with the parent);
- ``cluster.py``: the Dask path (scheduler addresses, workers running our code);
- ``execution.py``: :func:`execute` a batch, :func:`run_saved` saving as they finish;
- ``planning.py``: runs into run directories, as the command line does them;
- ``fingerprint.py``: the code fingerprint of the modules that decide results.

Saved results:

- ``files.py``: atomic writes, the one CSV writer, :class:`ResultsError`;
- ``rundir.py``: run directory layout, what ``--force`` may replace, publishing;
- ``summaries.py``: the time series' order, summaries (quantiles), headlines;
- ``manifest.py``: the manifest (versions, hashes) and :func:`write_run`;
- ``manifest_checks.py`` and ``loading.py``: reading runs back, damaged runs refused;
- ``store.py`` and ``workspace.py``: replicates saved as they finish, and resume.

Also ``resources.py`` (the memory estimate made before a run starts) and
``compare.py`` and ``sweep.py`` (scenarios side by side, parameter sweeps).

Following EMA Workbench, experiments are run and saved first; plots and
pages read what was saved.
"""
