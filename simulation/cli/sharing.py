"""``khorasan report`` and ``animate``: results to share with people who do not run Python."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulation.cli.app import QuietOption, app, examples
from simulation.cli.signals import one_line_errors

__all__ = ["animate", "report"]


@app.command(
    epilog=examples(
        ("khorasan report results/baseline", "writes results/baseline/report.html"),
        ("khorasan report runs/comparison --out cmp.html", "a comparison"),
        note="One HTML file with its images and styles inside: it needs no network and "
        "opens from a USB stick. An existing --out that khorasan did not write is refused.",
    )
)
def report(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR|COMPARE_DIR",
            help="A run directory ([cyan]khorasan run[/cyan]) or a comparison directory "
            "([cyan]khorasan compare[/cyan]'s --out).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The HTML file (default: DIR/report.html).", show_default=False
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Write a self-contained HTML report of a run or a comparison."""
    from simulation.api.sharing import report as write

    with one_line_errors():
        typer.echo(f"wrote {write(path, out, progress=not quiet)}")


@app.command(
    epilog=examples(
        ("khorasan animate results/afghanistan", "the provinces, week by week"),
        ("khorasan animate results/baseline --weeks 104", "the first two years"),
        ("khorasan animate results/baseline --format mp4 --replicate 3", ""),
        note="On the map it draws the saved record by province; on the grid the civilians' "
        "state, which the run saves every world.snapshot_every weeks (run with e.g. "
        "[cyan]--set world.snapshot_every=1[/cyan]). MP4 needs ffmpeg (on PATH, or "
        "pip install 'khorasan\\[mp4]').",
    )
)
def animate(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="A run directory written by khorasan run.", show_default=False
        ),
    ],
    replicate: Annotated[int, typer.Option("--replicate", "-r", min=0, help="Replicate.")] = 0,
    format_: Annotated[
        str, typer.Option("--format", "-f", help="gif, or mp4 (needs ffmpeg).")
    ] = "gif",
    weeks: Annotated[
        int | None,
        typer.Option(min=1, help="Only the first weeks (default: all).", show_default=False),
    ] = None,
    fps: Annotated[float, typer.Option(min=0.5, max=60, help="Frames per second.")] = 6.0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The file (default: RUN_DIR/animation.FORMAT).", show_default=False
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Animate a run's map over time, with the date and headline counters."""
    from simulation.api.sharing import animate as write

    with one_line_errors():
        path = write(
            run_dir,
            out,
            replicate=replicate,
            format=format_,
            weeks=weeks,
            fps=fps,
            progress=not quiet,
        )
        typer.echo(f"wrote {path}")
