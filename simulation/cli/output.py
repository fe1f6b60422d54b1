"""What the command line prints: tables of comparisons, sweeps, parameters and scenarios."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulation.scenario import params as ptable
from simulation.scenario.errors import ScenarioError, display_path
from simulation.scenario.loader import load_scenario
from simulation.scenario.shipped import shipped_dir

if TYPE_CHECKING:
    import pandas as pd


def console(width: int = 140) -> Console:
    """A console ``width`` wide unless stdout is a terminal (then the terminal's width)."""
    return Console(width=None if sys.stdout.isatty() else width, highlight=False)


def print_comparison(
    table: pd.DataFrame, labels: Sequence[str], con: Console | None = None
) -> None:
    """Print the comparison as a rich table: one row per headline metric and scenario."""
    import pandas as pd

    from simulation.plots.style import format_number as _num

    con = con if con is not None else Console(highlight=False)
    t = Table(
        title=f"Headline metrics: median [10–90%] and mean difference from {labels[0]} "
        "[bootstrap 90% CI]",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("metric", style="cyan", no_wrap=True)
    t.add_column("scenario", no_wrap=True)
    t.add_column("median", justify="right")
    t.add_column("10–90%", justify="right", no_wrap=True)
    t.add_column(f"Δ vs {labels[0]}", justify="right")
    t.add_column("90% CI", justify="right", no_wrap=True)
    t.add_column("CI excludes 0", justify="center")
    previous = None
    for row in table.itertuples(index=False):
        first = row.scenario == labels[0] and pd.isna(row.diff_mean)
        t.add_row(
            f"{row.label} ({row.unit})" if row.metric != previous else "",
            str(row.scenario),
            _num(row.median),
            f"{_num(row.q10)} – {_num(row.q90)}",
            "" if first else ("+" if row.diff_mean >= 0 else "-") + _num(abs(row.diff_mean)),
            "" if first else f"{_num(row.diff_ci_low)} – {_num(row.diff_ci_high)}",
            "" if first else ("[bold]yes[/bold]" if row.ci_excludes_zero else "no"),
            end_section=False,
        )
        previous = row.metric
    con.print(t)


def print_sweep(summary_csv: Path, names: Sequence[str]) -> None:
    """The median of each headline metric per grid point, as a table."""
    import pandas as pd

    from simulation.experiments.summaries import HEADLINES
    from simulation.plots.style import format_number

    df = pd.read_csv(summary_csv)
    wide = df.pivot(index="point", columns="metric", values="median")
    params_at = df.drop_duplicates("point").set_index("point")[list(names)]
    table = Table(
        title="Median over replicates per grid point", title_justify="left", header_style="bold"
    )
    for name in names:
        table.add_column(name, style="cyan", justify="right", overflow="fold")
    for h in HEADLINES:
        table.add_column(h.label, justify="right")
    for point in wide.index:
        table.add_row(
            *(
                f"{params_at.loc[point, n]:g}"
                if isinstance(params_at.loc[point, n], float)
                else str(params_at.loc[point, n])
                for n in names
            ),
            *(format_number(wide.loc[point, h.name]) for h in HEADLINES),
        )
    console(160).print(table)


def _default_text(p: ptable.Param) -> str:
    from simulation.scenario.writer import format_toml_value

    return format_toml_value(p.default, p.kind)


def print_params(section: str | None = None) -> None:
    """The parameter table of each section (or only ``section``)."""
    con = console()
    for name, title in ptable.SECTIONS.items():
        if section is not None and name != section:
            continue
        table = Table(
            title=f"[{name}] {title}",
            title_justify="left",
            show_lines=False,
            header_style="bold",
            expand=False,
        )
        table.add_column("name", style="cyan", no_wrap=True)
        table.add_column("default", justify="right")
        table.add_column("unit")
        table.add_column("range")
        table.add_column("description", ratio=1)
        for p in ptable.PARAMS:
            if p.section == name:
                table.add_row(p.name, _default_text(p), p.unit, p.range_text, p.description)
        con.print(table)
        con.print()


def print_scenarios(folder: Path, files: Sequence[Path]) -> None:
    """The scenario files of ``folder``: name, weeks and description (or why invalid)."""
    shipped = folder.resolve() == shipped_dir().resolve()
    title = "Shipped scenarios" if shipped else f"Scenarios in {display_path(folder)}"
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("file", style="cyan", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("weeks", justify="right")
    table.add_column("description", ratio=1)
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as exc:
            table.add_row(
                escape(path.stem if shipped else display_path(path)),
                "",
                "",
                f"[red]invalid: {escape(f'{exc.key}: {exc.reason}')}[/red]",
            )
            continue
        label = path.stem if shipped else display_path(path)
        table.add_row(escape(label), escape(sc.name), str(sc.steps), escape(sc.description))
    console().print(table)


def print_loop(folder: Path) -> None:
    """The loop directory's link effects on their targets, and its loop gain."""
    import json

    import pandas as pd

    from simulation.plots.style import format_number

    df = pd.read_csv(folder / "links.csv")
    gain = json.loads((folder / "loop.json").read_text(encoding="utf-8"))["gain"]
    table = Table(
        title="Each link cut: paired effect on its target \\[bootstrap 90% CI], % of intact",
        title_justify="left",
        header_style="bold",
    )
    for name in ("link", "cut", "target", "intact", "effect", "90% CI", "%", "5% rule"):
        table.add_column(name, justify="left" if name in ("link", "cut", "target") else "right")
    for row in df[df["role"] == "to"].itertuples(index=False):
        table.add_row(
            escape(str(row.link)),
            escape(str(row.cut)),
            escape(str(row.label)),
            format_number(row.intact_mean),
            format_number(row.effect),
            f"{format_number(row.ci_low)} – {format_number(row.ci_high)}",
            f"{row.effect_pct:+.1f}%" if pd.notna(row.effect_pct) else "",
            "[bold]passes[/bold]" if row.passes_rule else "no",
        )
    con = console(160)
    con.print(table)

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.3f}"

    defined = "" if gain["gain_defined"] else " (undefined: the closed response is not significant)"
    con.print(
        f"Loop gain, opened at {gain['opened_label']}: G = {num(gain['gain'])} "
        f"[90% CI {num(gain['ci_low'])} – {num(gain['ci_high'])}]{defined}"
    )
