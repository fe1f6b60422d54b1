"""``khorasan animate``: a run's map over time, with the date and headline counters.

On the map (``world.map = "afghanistan"``) each frame is a week: the
provinces coloured by the attack deaths of the past four weeks and by
ISIS-K's fighters, from the saved record by province (``provinces.csv``),
drawn by :func:`simulation.plots.maps.draw_provinces`. On the grid each
frame is a snapshot of the civilians' state, which the run saves every
``world.snapshot_every`` weeks (``snapshots.npz``,
:mod:`simulation.model.snapshots`). Frames go through matplotlib's
animation writers: Pillow for GIF, ffmpeg for MP4.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import animation
from matplotlib.colors import ListedColormap, PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from tqdm import tqdm

from simulation.experiments.files import ResultsError, atomic_write_bytes
from simulation.experiments.loading import RunData, load_run
from simulation.experiments.rundir import SNAPSHOTS_FILE
from simulation.model.snapshots import CELL_STATES, EVERY, read_npz
from simulation.plots.maps import draw_provinces
from simulation.plots.report import report_kind
from simulation.plots.sharing import MARKER, check_output

__all__ = ["FORMATS", "AnimationError", "ffmpeg_path", "write_animation"]

FORMATS = ("gif", "mp4")
#: Colours of :data:`~simulation.model.snapshots.CELL_STATES`, in order.
CELL_COLOURS = ("#f4f1ea", "#9ecae1", "#e6550d", "#54278f", "#238b45", "#111111")
#: The map's violence: attack deaths summed over this many weeks up to the frame's.
VIOLENCE_WEEKS = 4
DPI = 80

#: A drawn frame: (figure, function that draws frame ``k``, number of frames).
Frames = tuple[Figure, Callable[[int], None], int]


class AnimationError(ValueError):
    """A bad option (format, replicate) or no ffmpeg for MP4: one line."""


def ffmpeg_path() -> str | None:
    """ffmpeg on PATH, or imageio-ffmpeg's (the ``mp4`` extra), or None."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (RuntimeError, OSError):
        return None


class _MarkedPillowWriter(animation.PillowWriter):
    """Pillow's GIF writer, with khorasan's marker as the GIF's comment."""

    def finish(self) -> None:
        self._frames[0].save(
            self.outfile,
            save_all=True,
            append_images=self._frames[1:],
            duration=int(1000 / self.fps),
            loop=0,
            comment=MARKER,
        )


def _counters(run: RunData, replicate: int) -> pd.DataFrame:
    """Per step of one replicate: the numbers shown under each frame."""
    ts = run.timeseries[run.timeseries["replicate"] == replicate].set_index("step").sort_index()
    out = pd.DataFrame(index=ts.index)
    out["attacks"] = ts["attacks"]
    out["deaths"] = ts["attack_deaths"].cumsum()
    out["isisk"] = ts["isisk_fighters"]
    out["active"] = ts["active_civilians"]
    out["jailed"] = ts["jailed_civilians"]
    out["repression"] = ts["repression"]
    return out


def _count(x: float) -> str:
    return f"{round(float(x)):,}"


def _caption(run: RunData, counters: pd.DataFrame, step: int) -> str:
    c = counters.loc[step]
    return (
        f"{run.date_of(step):%d %b %Y}  (week {step})\n"
        f"attacks this week {_count(c.attacks)} · attack deaths so far {_count(c.deaths)} · "
        f"ISIS-K fighters {_count(c.isisk)}\n"
        f"active civilians {_count(c.active)} · jailed {_count(c.jailed)} · "
        f"repression {c.repression:.2f}"
    )


def _map_frames(run: RunData, replicate: int, last: int) -> Frames:
    """The provinces week by week: recent attack deaths and ISIS-K's fighters."""
    assert run.provinces is not None
    prov = run.provinces[run.provinces["replicate"] == replicate]
    deaths = prov.pivot(index="step", columns="province", values="attack_deaths").sort_index()
    recent = deaths.rolling(VIOLENCE_WEEKS, min_periods=1).sum()
    fighters = prov.pivot(index="step", columns="province", values="isisk_fighters").sort_index()
    steps = [s for s in deaths.index if s <= last]
    counters = _counters(run, replicate)
    fig = Figure(figsize=(11, 4.9), dpi=DPI, layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    d_norm = PowerNorm(0.5, vmin=0, vmax=max(1.0, float(recent.loc[steps].to_numpy().max())))
    f_norm = PowerNorm(0.5, vmin=0, vmax=max(1.0, float(fighters.loc[steps].to_numpy().max())))
    a = draw_provinces(left, {}, "Reds", d_norm, f"Attack deaths, past {VIOLENCE_WEEKS} weeks")
    b = draw_provinces(right, {}, "Purples", f_norm, "ISIS-K fighters")
    title = fig.suptitle("", fontsize=11, fontweight="bold")
    caption = fig.supxlabel("", fontsize=9.5)

    def draw(k: int) -> None:
        step = steps[k]
        a.recolour(recent.loc[step].to_dict())
        b.recolour(fighters.loc[step].to_dict())
        title.set_text(f"{run.name}, replicate {replicate} (seed {_seed(run, replicate)})")
        caption.set_text(_caption(run, counters, step))

    return fig, draw, len(steps)


def _snapshots(run: RunData) -> dict[str, np.ndarray]:
    """The run's snapshots, checked against the manifest (ResultsError if it has none)."""
    entry = run.manifest["files"].get(SNAPSHOTS_FILE)
    if entry is None:
        raise ResultsError(
            run.path,
            f"holds no snapshots of the grid (the run had {EVERY} = 0); run it again "
            f"with --set {EVERY}=1 (or more weeks) to animate it",
        )
    path = run.path / SNAPSHOTS_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ResultsError(path, exc.strerror or "cannot be read") from None
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise ResultsError(path, "does not match manifest.json (sha256); the file is damaged")
    try:
        return read_npz(data)
    except ValueError as exc:
        raise ResultsError(path, str(exc)) from None


def _grid_frames(run: RunData, replicate: int, last: int) -> Frames:
    """The grid snapshot by snapshot: every cell's state."""
    shots = _snapshots(run)
    k_rep = int(np.flatnonzero(shots["replicates"] == replicate)[0])
    keep = np.flatnonzero(shots["steps"] <= last)
    steps, states = shots["steps"][keep], shots["states"][k_rep][keep]
    counters = _counters(run, replicate)
    width, height = states.shape[1:]
    fig = Figure(figsize=(7.8, 5.6 * height / width + 1.0), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    cmap = ListedColormap(CELL_COLOURS)
    image = ax.imshow(
        states[0].T, cmap=cmap, vmin=-0.5, vmax=len(CELL_COLOURS) - 0.5, origin="lower"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    handles = [
        Patch(facecolor=c, edgecolor="#999999", lw=0.5, label=s)
        for c, s in zip(CELL_COLOURS, CELL_STATES, strict=True)
    ]
    ax.legend(
        handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=9, frameon=False
    )
    title = fig.suptitle("", fontsize=11, fontweight="bold")
    caption = fig.supxlabel("", fontsize=8.5)

    def draw(k: int) -> None:
        image.set_data(states[k].T)
        title.set_text(f"{run.name}, replicate {replicate} (seed {_seed(run, replicate)})")
        caption.set_text(_caption(run, counters, int(steps[k])))

    return fig, draw, len(steps)


def _seed(run: RunData, replicate: int) -> int:
    return int(run.manifest["seeds"][replicate])


def _writer(fmt: str, fps: float) -> animation.AbstractMovieWriter:
    if fmt == "gif":
        return _MarkedPillowWriter(fps=fps)
    path = ffmpeg_path()
    if path is None:
        raise AnimationError(
            "--format mp4: needs ffmpeg, which was not found (install it, or pip install "
            "'khorasan[mp4]'); --format gif needs nothing more"
        )
    import matplotlib as mpl

    mpl.rcParams["animation.ffmpeg_path"] = path
    return animation.FFMpegWriter(
        fps=fps, codec="libx264", metadata={"comment": MARKER.decode()},
        extra_args=["-pix_fmt", "yuv420p"],
    )  # fmt: skip


def _check_options(run: RunData, replicate: int, fmt: str) -> None:
    if fmt not in FORMATS:
        raise AnimationError(f"--format: expected gif or mp4, got {fmt!r}")
    if not 0 <= replicate < run.replicates:
        raise AnimationError(
            f"--replicate: {run.path} has replicates 0 to {run.replicates - 1}, not {replicate}"
        )


def write_animation(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    replicate: int = 0,
    fmt: str = "gif",
    weeks: int | None = None,
    fps: float = 6.0,
    progress: bool = False,
) -> Path:
    """Write the animation of ``run_dir`` (default ``RUN_DIR/animation.FMT``); its path.

    Raises ResultsError (not a run, no snapshots, a user's file at ``out``)
    or AnimationError (a bad option, no ffmpeg for MP4).
    """
    if report_kind(run_dir) != "run":
        raise ResultsError(run_dir, "a comparison directory; animate one of its runs")
    run = load_run(run_dir)
    _check_options(run, replicate, fmt)
    target = check_output(Path(out) if out is not None else Path(run_dir) / f"animation.{fmt}")
    writer = _writer(fmt, fps)
    last = int(run.timeseries["step"].max()) if weeks is None else weeks
    make = _map_frames if run.provinces is not None else _grid_frames
    fig, draw, n = make(run, replicate, last)
    draw(0)
    fig.draw_without_rendering()  # lay out once: every frame has the same layout, fast
    fig.set_layout_engine("none")
    with tempfile.TemporaryDirectory(prefix="khorasan-animate-") as tmp:
        movie = Path(tmp) / f"animation.{fmt}"
        with writer.saving(fig, str(movie), DPI):
            for k in tqdm(
                range(n), desc="animate", unit="frame", file=sys.stderr, disable=not progress
            ):
                draw(k)
                writer.grab_frame()
        atomic_write_bytes(target, movie.read_bytes())  # the run directory sees it whole
    return target
