"""The scenario selector's list, and "Save as scenario".

:func:`scenario_catalogue` lists the shipped scenarios and those saved from
the app; :func:`save_scenario` writes the current settings as a scenario file
that ``extends`` the chosen one, with only what differs from it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulation.experiments.rundir import slug
from simulation.scenario.errors import ScenarioError
from simulation.scenario.loader import load_scenario
from simulation.scenario.writer import scenario_to_toml
from simulation.viz.settings import changes


def scenario_catalogue(
    folder: Path, saved: Path | None = None, extra: Path | None = None
) -> dict[str, Path]:
    """Scenario files by label: ``folder/*.toml`` (by stem), then saved ones, then ``extra``."""
    out: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        out[path.stem] = path.resolve()
    if saved is not None and saved.is_dir():
        for path in sorted(saved.glob("*.toml")):
            out.setdefault(f"{saved.name}/{path.stem}", path.resolve())
    if extra is not None and extra.resolve() not in out.values():
        out[str(extra)] = extra.resolve()
    return out


def _free_path(folder: Path, stem: str) -> Path:
    """``folder/<stem>_custom<N>.toml`` for the first N not taken."""
    n = 1
    while (folder / f"{stem}_custom{n}.toml").exists():
        n += 1
    return folder / f"{stem}_custom{n}.toml"


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` with forward slashes (absolute on another drive)."""
    try:
        text = os.path.relpath(path, folder.resolve())
    except ValueError:  # another drive
        text = str(path)
    return text.replace(os.sep, "/")


def save_scenario(
    base_path: str | os.PathLike[str],
    settings: Mapping[str, Any],
    folder: str | os.PathLike[str],
) -> Path:
    """Write ``settings`` as a scenario file that extends ``base_path``; return its path.

    Only the settings that differ from the base are written. The file is
    named ``<base>_custom<N>.toml`` (the first free N, the base's name made
    safe by :func:`simulation.experiments.rundir.slug`) and its scenario is named after
    the file, so ``khorasan run`` keeps its results apart. It is loaded back
    before returning, and removed if that fails.
    """
    base_path, folder = Path(base_path).resolve(), Path(folder)
    base = load_scenario(base_path)
    only = changes(base, settings)
    folder.mkdir(parents=True, exist_ok=True)
    out = _free_path(folder, slug(base.name))
    extends = _relative(base_path, folder)
    what = ", ".join(f"{k} = {v}" for k, v in only.items()) or "no changes"
    child = dataclasses.replace(base, name=out.stem, description=f"{base.name} with {what}")
    stamp = dt.datetime.now().isoformat(timespec="seconds")
    text = (
        f"# Saved by `khorasan viz` on {stamp}: the scenario {base.name!r} "
        f"({extends}) with the settings below.\n"
        + scenario_to_toml(child, extends=extends, only=only)
    )
    with open(out, "x", encoding="utf-8") as f:  # never overwrite
        f.write(text)
    try:
        load_scenario(out)
    except ScenarioError:
        out.unlink()
        raise
    return out
