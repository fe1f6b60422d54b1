"""Experiments: run replicates, save them, and read saved runs back.

- ``ensemble.py``: seeds, replicates on a process pool or Dask, the code fingerprint;
- ``results.py``: run directories, their manifest, atomic writes, resume;
- ``resources.py``: the memory estimate made before a run starts;
- ``compare.py`` and ``sweep.py``: scenarios side by side, and parameter sweeps.

Following EMA Workbench, experiments are run and saved first; plots and
pages read what was saved.
"""
