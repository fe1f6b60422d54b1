"""Simulation caches in ``docs/data/``, keyed by the code fingerprint and the inputs.

A cache's key is ``<code>-<inputs>``: ``<code>`` is
:func:`simulation.experiments.fingerprint.code_fingerprint` (the modules that decide a
run's results, the one fingerprint that Dask also checks), ``<inputs>`` a
hash of the scenario files and the run settings. A change to the model
re-runs the part; ``--allow-stale`` reuses caches made with other code,
never with other scenarios or settings, and the page lists them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.experiments.fingerprint import code_fingerprint


@dataclass
class Ledger:
    """What the caches of this run reported, for the page.

    ``part`` is the part being run; ``compute_seconds`` adds up, per part,
    how long the simulations behind its caches took when they were made;
    ``stale`` lists caches reused with other code (``--allow-stale``).
    """

    part: str = ""
    workers: int = 2
    stale: list[str] = field(default_factory=list)
    compute_seconds: dict[str, float] = field(default_factory=dict)

    def count(self, data: Mapping[str, Any]) -> None:
        """Add a cache's recorded compute time (``elapsed``) to the current part."""
        if "elapsed" in data:
            self.compute_seconds[self.part] = self.compute_seconds.get(self.part, 0.0) + float(
                data["elapsed"]
            )


#: The ledger of this process (reset by ``python -m simulation.validation``).
LEDGER = Ledger()


def files_hash(files: Iterable[Path]) -> str:
    """Hash of the names and contents of ``files``."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_key(settings: Mapping[str, Any], files: Iterable[Path] = ()) -> str:
    """Key of a cache: ``<code fingerprint>-<scenario files and run settings>``."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    rest = hashlib.sha256(files_hash(sorted(Path(p) for p in files)).encode() + blob)
    return code_fingerprint() + "-" + rest.hexdigest()[:16]


def load_cache(path: Path, key: str, allow_stale: bool = False) -> dict[str, Any] | None:
    """The cached dict at ``path`` if its key matches (or any, with ``allow_stale``)."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    stored = str(data.get("key", ""))
    # --allow-stale forgives other code, never other scenarios or settings.
    same_inputs = stored.split("-", 1)[-1] == key.split("-", 1)[-1]
    if stored == key or (allow_stale and same_inputs):
        if stored != key:
            print(f"  (using stale cache {path.name}: {stored} != {key})", flush=True)
            LEDGER.stale.append(path.name)
        LEDGER.count(data)
        return data
    return None


def save_cache(path: Path, key: str, **arrays: Any) -> None:
    """Write arrays and the key to ``path`` (npz, compressed); count ``elapsed`` if given."""
    LEDGER.count(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, key=np.array(key), **arrays)
    tmp.replace(path)


def cached(
    path: Path, key: str, allow_stale: bool, compute: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The cache at ``path``, or ``compute()`` timed (``elapsed``) and saved there."""
    data = load_cache(path, key, allow_stale)
    if data is None:
        t0 = time.perf_counter()
        data = compute()
        data["elapsed"] = np.array(time.perf_counter() - t0)
        save_cache(path, key, **data)
    return data
