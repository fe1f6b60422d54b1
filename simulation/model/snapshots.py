"""Snapshots of the grid for ``khorasan animate``: every cell's state every few weeks.

With ``world.snapshot_every = K > 0`` a replicate records at week 0 and
every K weeks a ``(width, height)`` int8 raster of :data:`CELL_STATES`
(a cell shows the most telling agent on it: an ISIS-K cell over an active
civilian over a jailed one over an enforcer over a quiet civilian). The
snapshots never change a result: they only read the model between steps.
They are saved as a compressed ``.npz`` whose bytes depend only on the
arrays (:func:`npz_bytes`), so the same run gives the same file.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from simulation.model.civilians import ACTIVE, JAILED, QUIET

if TYPE_CHECKING:
    from simulation.model.model import ConflictModel
    from simulation.scenario.core import Scenario

__all__ = [
    "CELL_STATES",
    "EVERY",
    "npz_bytes",
    "raster",
    "read_npz",
    "run_with_snapshots",
    "stack",
]

#: The parameter that sets the interval (weeks; 0: no snapshots).
EVERY = "world.snapshot_every"
#: Code -> what a cell holds.
CELL_STATES: tuple[str, ...] = (
    "empty",
    "quiet civilian",
    "active civilian",
    "jailed civilian",
    "Taliban enforcer",
    "ISIS-K cell",
)
EMPTY, QUIET_CODE, ACTIVE_CODE, JAILED_CODE, ENFORCER_CODE, ISISK_CODE = range(6)


def raster(model: ConflictModel) -> np.ndarray:
    """The state of every cell now, as :data:`CELL_STATES` codes (``width x height`` int8)."""
    pop, ins = model.population, model.insurgency
    out = np.zeros((model.width, model.height), dtype=np.int8)
    for state, code in ((QUIET, QUIET_CODE), (JAILED, JAILED_CODE)):
        who = pop.state == state
        out[pop.x[who], pop.y[who]] = code
    alive = pop.enforcer_alive
    out[pop.enforcer_x[alive], pop.enforcer_y[alive]] = ENFORCER_CODE
    who = pop.state == ACTIVE
    out[pop.x[who], pop.y[who]] = ACTIVE_CODE
    out[ins.x[ins.alive], ins.y[ins.alive]] = ISISK_CODE
    return out


def run_with_snapshots(scenario: Scenario, seed: int, every: int) -> tuple[ConflictModel, bytes]:
    """Run ``scenario`` as :func:`~simulation.model.model.run_model` does, with snapshots."""
    from simulation.model.model import ConflictModel

    model = ConflictModel(scenario, rng=seed, make_views=False)
    steps, frames = [0], [raster(model)]
    for t in range(1, scenario.steps + 1):
        model.step()
        if t % every == 0:
            steps.append(t)
            frames.append(raster(model))
    return model, npz_bytes({"steps": np.array(steps, np.int32), "states": np.stack(frames)})


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` of ``arrays`` whose bytes depend only on them (fixed dates)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
            zf.writestr(info, data.getvalue())
    return buf.getvalue()


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of :func:`npz_bytes` (no pickles). Raises ValueError if damaged."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"not a snapshot file: {exc}") from None


def stack(replicates: Sequence[int], seeds: Sequence[int], parts: Sequence[bytes]) -> bytes:
    """One run's snapshots: each replicate's (same steps) stacked into ``states[r, k]``."""
    read = [read_npz(p) for p in parts]
    return npz_bytes(
        {
            "replicates": np.array(replicates, np.int32),
            "seeds": np.array(seeds, np.int64),
            "steps": read[0]["steps"],
            "states": np.stack([r["states"] for r in read]),
        }
    )
