"""Results to share: a one-page HTML report and an animation of the map."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["animate", "report"]


def report(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    progress: bool = False,
) -> Path:
    """Write the self-contained HTML report of a run or comparison directory; its path.

    ``out`` defaults to ``path/report.html``; an existing file that khorasan
    did not write is refused. Raises ResultsError (one line ``path: reason``).
    """
    from simulation.plots.report import write_report

    return write_report(path, out, progress=progress)


def animate(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    replicate: int = 0,
    format: str = "gif",
    weeks: int | None = None,
    fps: float = 6.0,
    progress: bool = False,
) -> Path:
    """Write an animation of a run's map over time (GIF, or MP4 with ffmpeg); its path.

    On the map: a province choropleth of each week's attack deaths and of
    ISIS-K's fighters; on the grid: the civilians' state, from the
    snapshots the run saved (``world.snapshot_every``). ``weeks`` keeps the
    first weeks only. Raises ResultsError, or InputError (no ffmpeg for MP4,
    a bad replicate or format).
    """
    from simulation.api.errors import InputError
    from simulation.plots.animate import AnimationError, write_animation

    try:
        return write_animation(
            run_dir, out, replicate=replicate, fmt=format, weeks=weeks, fps=fps, progress=progress
        )
    except AnimationError as exc:
        raise InputError(str(exc)) from None
