"""The Typer app of ``khorasan``, its help epilogs and the options its commands share."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # some replicates raised; the others are saved
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143  # SIGTERM


def examples(*lines: tuple[str, str], note: str = "") -> str:
    """A help epilog: example commands (with comments) and a note."""
    width = max((len(cmd) for cmd, _ in lines if len(cmd) < 60), default=0) + 2
    body = "\n".join(
        f"  [cyan]{escape(cmd)}[/cyan]"
        + (f"{' ' * max(2, width - len(cmd))}{what}" if what else "")
        for cmd, what in lines
    )
    return f"[bold]Examples[/bold]\n{body}" + (f"\n\n{note}" if note else "")


app = typer.Typer(
    name="khorasan",
    help="Agent-based simulation of ISIS-K, the Taliban and Afghan civilians: "
    "violence and thermostatic repression.",
    epilog=examples(
        ("khorasan list", "the shipped scenarios"),
        ("khorasan validate scenarios/*.toml", "check scenario files"),
        ("khorasan run scenarios/baseline.toml", "run, save results and plots"),
        ("khorasan compare a.toml b.toml", "compare scenarios"),
        ("khorasan sweep a.toml -p world.width=40:80:3", "sweep a parameter"),
        ("khorasan run a.toml --replicates 4 --steps 52 --set isisk.initial_fighters=3000", ""),
        ("khorasan show scenarios/baseline.toml --changed", "the resolved scenario"),
        ("khorasan params --section isisk", "the parameter table"),
        note="Every command has --help with examples. The scenario format and the "
        "parameter reference are in docs/scenarios.md.",
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="NAME=VALUE",
        help="Override a parameter (dotted name; value read as TOML), e.g. "
        "[cyan]--set isisk.initial_fighters=3000[/cyan] or "
        "[cyan]--set civilians.movement=static[/cyan]. Header fields too: "
        "[cyan]--set scenario.start_date=2021-09-01[/cyan]. Repeatable.",
    ),
]

ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Finish an interrupted run: keep the replicates it saved (in the hidden "
        "OUT/.NAME.partial/) and run only the missing or failed ones; the "
        "results are identical to an uninterrupted run. Refused if the saved "
        "replicates were made with other settings or by other khorasan code "
        "(the message says what differs; --force discards them). Complete "
        "outputs of the same settings are kept as they are (missing plots "
        "are drawn).",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        envvar="KHORASAN_SCHEDULER",
        help="Run the replicates on a Dask cluster: [cyan]tcp://HOST:8786[/cyan] "
        "(a running dask-scheduler), or [cyan]local-dask[/cyan] for a "
        "LocalCluster on this machine (2 workers unless --workers). Same results "
        "as local runs. Needs khorasan\\[distributed]; see docs/distributed.md.",
        show_default=False,
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option("--workers", "-j", min=0, help="Worker processes; 0 = one per CPU."),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
