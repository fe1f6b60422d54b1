"""``khorasan plot``, ``validate``, ``show``, ``params``, ``list`` and ``viz``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from simulation.api.loading import overrides, scenarios_dir
from simulation.cli.app import EXIT_BAD_INPUT, SetOption, app, examples
from simulation.cli.signals import CliError, one_line_errors
from simulation.scenario import params as ptable
from simulation.scenario.core import Scenario
from simulation.scenario.errors import ScenarioError, display_path
from simulation.scenario.loader import load_scenario
from simulation.scenario.param_type import did_you_mean
from simulation.scenario.writer import scenario_to_toml

__all__ = ["list_", "params", "plot", "show", "validate", "viz"]


def _load(path: Path, assignments: Sequence[str] | None) -> Scenario:
    """The scenario file ``path`` with ``--set`` overrides."""
    return load_scenario(path, overrides(path, assignments or []))


# --- plot ----------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan plot results/baseline", ""),
        note="Reads only the saved files of the run directory and rewrites its plots/*.png.",
    )
)
def plot(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN_DIR",
            help="Run directories written by [cyan]khorasan run[/cyan].",
            show_default=False,
        ),
    ],
) -> None:
    """Redraw the plots of saved runs."""
    from simulation.api import plot as plot_run

    with one_line_errors():
        for run_dir in run_dirs:
            for png in plot_run(run_dir):
                typer.echo(f"plot {png}")


# --- validate ------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan validate scenarios/*.toml", ""),
        ("khorasan validate my.toml --set isisk.attack_rate=5", "with an override"),
        note="Prints 'OK path' for each valid file and one 'file: key: reason' line on stderr "
        "for each invalid one; exits with status 2 if any is invalid.",
    )
)
def validate(
    scenarios: Annotated[
        list[Path],
        typer.Argument(metavar="SCENARIO", help="Scenario TOML files.", show_default=False),
    ],
    set_: SetOption = None,
) -> None:
    """Check scenario files (and overrides) without running them."""
    bad = 0
    for path in scenarios:
        try:
            _load(path, set_)
        except ScenarioError as exc:
            typer.echo(str(exc), err=True)
            bad += 1
        else:
            typer.echo(f"OK {path}")
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


# --- show ----------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan show scenarios/baseline.toml", "every parameter"),
        ("khorasan show scenarios/baseline.toml --changed", "only non-default parameters"),
        ("khorasan show child.toml --set surveillance.us_level=0.3 > resolved.toml", ""),
        note="The output is itself a valid scenario file, with extends resolved.",
    )
)
def show(
    scenario: Annotated[Path, typer.Argument(help="A scenario TOML file.", show_default=False)],
    set_: SetOption = None,
    changed: Annotated[
        bool, typer.Option("--changed", help="Only parameters that differ from their defaults.")
    ] = False,
) -> None:
    """Print the fully resolved scenario as TOML."""
    with one_line_errors():
        sc = _load(scenario, set_)
    only = None
    if changed:
        only = {n: sc.params[n] for n in ptable.PARAM_INDEX if n in sc.overrides}
    typer.echo(scenario_to_toml(sc, only=only), nl=False)


# --- params --------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan params", "every section"),
        ("khorasan params --section isisk", "one section"),
        ("khorasan params --markdown > reference.md", "the reference in docs/scenarios.md"),
        note="Sections: " + ", ".join(ptable.SECTIONS) + ".",
    )
)
def params(
    section: Annotated[
        str | None, typer.Option("--section", help="Only this section.", show_default=False)
    ] = None,
    markdown: Annotated[
        bool,
        typer.Option("--markdown", help="Print the Markdown reference used in docs/scenarios.md."),
    ] = False,
) -> None:
    """Print the parameter table: name, default, unit, range and description."""
    from simulation.cli.docs import param_reference_markdown
    from simulation.cli.output import print_params

    if section is not None and section not in ptable.SECTIONS:
        hint = did_you_mean(section, ptable.SECTIONS)
        typer.echo(
            f"--section: unknown section {section!r}{hint}; sections are "
            + ", ".join(ptable.SECTIONS),
            err=True,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    if markdown:
        typer.echo(param_reference_markdown(section), nl=False)
        return
    print_params(section)


# --- list ----------------------------------------------------------------------


@app.command(
    "list",
    epilog=examples(
        ("khorasan list", ""),
        ("khorasan list --dir my-scenarios", "another folder"),
        note="Looks in ./scenarios, or else in the scenarios folder next to the package.",
    ),
)
def list_(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder to list instead of scenarios/.", show_default=False),
    ] = None,
) -> None:
    """List the shipped scenarios with their descriptions."""
    from simulation.cli.output import print_scenarios

    folder = directory or scenarios_dir()
    if not folder.is_dir():
        typer.echo(f"{folder}: no such folder", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    files = sorted(folder.glob("*.toml"))
    if not files:
        typer.echo(f"no scenarios in {display_path(folder)}")
        return
    print_scenarios(folder, files)


# --- viz -----------------------------------------------------------------------


@app.command(
    epilog=examples(
        ("khorasan viz", "baseline, on port 8521"),
        ("khorasan viz scenarios/defector_surge.toml", "another scenario"),
        ("khorasan viz --port 8600 --save-dir my-scenarios", ""),
        note="Needs the \\[viz] extra. The first start fetches the page's JavaScript with npm "
        "into ~/.cache/khorasan/solara-cdn ($KHORASAN_ASSETS_DIR); after that it runs "
        "offline. 'Save as scenario' writes to scenarios/user/ (--save-dir).",
    )
)
def viz(
    scenario: Annotated[
        Path | None,
        typer.Argument(
            metavar="[SCENARIO]",
            help="Scenario shown first (default: scenarios/baseline.toml).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8521,
    save_dir: Annotated[
        Path | None,
        typer.Option(
            "--save-dir",
            help="Folder for 'Save as scenario' (default: scenarios/user).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Explore the model in the browser: map, live plots, sliders (Mesa's controls, on Solara)."""
    from simulation.viz.server import VizError, run_viz

    with one_line_errors():
        try:
            rc = run_viz(scenario, host=host, port=port, save_dir=save_dir, echo=typer.echo)
        except VizError as exc:
            raise CliError(f"khorasan viz: {exc}") from None
    raise typer.Exit(rc)
