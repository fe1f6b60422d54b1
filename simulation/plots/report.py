"""``khorasan report``: one self-contained HTML page of a run or a comparison.

The page is rendered from the Jinja2 template ``templates/report.html.j2``;
its images are embedded as ``data:`` URIs and its styles are inline, so it
fetches nothing and opens from a USB stick. It shows what was run (scenario,
changes from its parent, seeds, versions, commit), the headline numbers with
their 10-90% bands (and, for a comparison, the paired differences with their
confidence intervals, as ``comparison.csv`` holds them), the plots, the
province map, the events, and the commands that reproduce it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from simulation.experiments.compare import COMPARISON_FIGURES, COMPARISON_FORMAT, comparison_table
from simulation.experiments.files import ResultsError, atomic_write_text
from simulation.experiments.loading import RunData, load_run
from simulation.experiments.rundir import FORMAT
from simulation.experiments.summaries import QUANTILES
from simulation.plots.common import figure_png
from simulation.plots.sharing import MARKER, check_output, khorasan_dir
from simulation.plots.style import BAND_RANGE, format_number

__all__ = ["REPORT_FILE", "build_report", "report_kind", "write_report"]

REPORT_FILE = "report.html"
_FIGURE_TITLES = {
    "overview": "Overview",
    "violence": "Violence",
    "repression": "Repression",
    "map": "The provinces",
    "comparison.png": "The scenarios side by side",
    "difference.png": "Paired differences from the first scenario",
    "difference_map.png": "Paired differences by province",
}


def report_kind(path: str | os.PathLike[str]) -> str:
    """``"run"`` or ``"comparison"``; ResultsError (one line) if ``path`` is neither."""
    path = Path(path)
    if not path.is_dir():
        raise ResultsError(path, "no such directory" if not path.exists() else "not a directory")
    if khorasan_dir(path, "manifest.json", FORMAT):
        return "run"
    if khorasan_dir(path, "comparison.json", COMPARISON_FORMAT):
        return "comparison"
    raise ResultsError(
        path,
        "not a run directory (no khorasan manifest.json) nor a comparison "
        "directory (no khorasan comparison.json)",
    )


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _seeds_text(seeds: Sequence[int]) -> str:
    """``1–20`` for consecutive seeds, else the list."""
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def _value(v: Any) -> str:
    return format_number(v) if isinstance(v, float) else json.dumps(v) if v is not None else "—"


def _parent_path(source: Path) -> Path | None:
    """The file that the scenario file ``source`` extends, if any (and it still exists)."""
    import tomllib

    header = tomllib.loads(source.read_text(encoding="utf-8")).get("scenario", {})
    target = header.get("extends") if isinstance(header, dict) else None
    return (source.parent / target) if isinstance(target, str) else None


def _parent_changes(run: RunData) -> tuple[str, list[dict[str, str]]]:
    """What the run changes from its parent scenario (or, without one, from the defaults)."""
    from simulation.scenario import params as ptable
    from simulation.scenario.errors import ScenarioError
    from simulation.scenario.loader import load_scenario

    params, source = run.params, run.manifest["scenario"].get("source")
    base, what = {n: p.default for n, p in ptable.PARAM_INDEX.items()}, "the defaults"
    try:
        parent = _parent_path(Path(source)) if source else None
        if parent is not None:
            base, what = dict(load_scenario(parent).params), f"its parent {parent.name}"
    except (OSError, ScenarioError, ValueError):  # the file moved or changed: the defaults
        pass
    rows = [
        {"name": n, "was": _value(base.get(n)), "now": _value(v)}
        for n, v in params.items()
        if base.get(n) != v
    ]
    return what, rows


def _run_figures(run: RunData) -> list[tuple[str, Callable[[], bytes]]]:
    """The run's figures: the saved PNG if there is one, else drawn in memory."""
    from simulation.plots.maps import map_figure
    from simulation.plots.run import FIGURES, MAP_FIGURE, render_figure

    names = [*FIGURES, *([MAP_FIGURE] if run.provinces is not None else [])]

    def draw(name: str) -> Callable[[], bytes]:
        def png() -> bytes:
            saved = run.path / "plots" / f"{name}.png"
            if saved.is_file():
                return saved.read_bytes()
            if name == MAP_FIGURE:
                return figure_png(map_figure(run))
            title, panels = FIGURES[name]
            return figure_png(render_figure(run, title, panels))

        return png

    return [(name, draw(name)) for name in names]


def _embed(figures: Iterable[tuple[str, Callable[[], bytes]]], progress: bool) -> list[dict]:
    """Each figure drawn (or read) and embedded, with a progress bar."""
    items = list(figures)
    bar = tqdm(items, desc="report", unit="figure", file=sys.stderr, disable=not progress)
    return [{"title": _FIGURE_TITLES.get(name, name), "src": data_uri(png())} for name, png in bar]


def _headlines(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the headline table (as ``comparison.csv`` holds them), as text."""
    rows = []
    for r in table.itertuples(index=False):
        first = pd.isna(r.diff_mean)
        rows.append(
            {
                "metric": f"{r.label} ({r.unit})",
                "scenario": r.scenario,
                "median": format_number(r.median),
                "band": f"{format_number(r.q10)} – {format_number(r.q90)}",
                "diff": ""
                if first
                else ("+" if r.diff_mean >= 0 else "−") + format_number(abs(r.diff_mean)),
                "ci": ""
                if first
                else f"{format_number(r.diff_ci_low)} – {format_number(r.diff_ci_high)}",
                "excludes": "" if first else ("yes" if bool(r.ci_excludes_zero) else "no"),
                "paired": "" if first else ("by seed" if bool(r.paired) else "unpaired"),
            }
        )
    return rows


def _about(run: RunData) -> dict[str, Any]:
    """What was run: the scenario, seeds, versions, commit, command and events."""
    m = run.manifest
    what, changes = _parent_changes(run)
    git = m.get("git") or {}
    commit = git.get("commit") or "unknown (not run from a git work tree)"
    return {
        "name": run.name,
        "path": str(run.path),
        "description": m["scenario"].get("description", ""),
        "start": m["scenario"]["start_date"],
        "end": run.date_of(int(m["scenario"]["steps"])).isoformat(),
        "steps": m["scenario"]["steps"],
        "replicates": run.replicates,
        "seeds": _seeds_text(m["seeds"]),
        "source": m["scenario"].get("source") or "—",
        "identity": str(m.get("identity", ""))[:12],
        "versions": m.get("versions", {}),
        "commit": commit + (" (with uncommitted changes)" if git.get("dirty") else ""),
        "created": m.get("created", ""),
        "command": " ".join(m.get("command", [])),
        "parent": what,
        "changes": changes,
        "events": [
            {"date": e["date"], "label": e["label"], "set": ", ".join(
                [f"{k} = {_value(v)}" for k, v in e["set"].items()]
                + ([f"+{e['add_isisk_fighters']} ISIS-K fighters"]
                   if e.get("add_isisk_fighters") else [])
            )}
            for e in m.get("events", [])
        ],
        "rerun": f"khorasan run {run.path / 'scenario.toml'} --out OUT",
        "missing": False,
    }  # fmt: skip


def _comparison_files(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """comparison.json and the files it lists, each checked against its sha256."""
    manifest = json.loads((path / "comparison.json").read_text(encoding="utf-8"))
    files: dict[str, bytes] = {}
    for name, entry in manifest.get("files", {}).items():
        try:
            data = (path / name).read_bytes()
        except OSError as exc:
            raise ResultsError(path / name, exc.strerror or "cannot be read") from None
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise ResultsError(path / name, "changed since khorasan wrote it (sha256 differs)")
        files[name] = data
    return manifest, files


def _comparison_context(path: Path, progress: bool) -> dict[str, Any]:
    import io

    manifest, files = _comparison_files(path)
    if "comparison.csv" not in files:
        raise ResultsError(path / "comparison.json", "files: lists no comparison.csv")
    table = pd.read_csv(io.BytesIO(files["comparison.csv"]))
    runs = []
    for run_path in manifest.get("runs", []):
        try:
            runs.append(_about(load_run(run_path)))
        except ResultsError:
            runs.append({"name": Path(run_path).name, "path": run_path, "missing": True})
    figures = [(n, (lambda d=files[n]: d)) for n in COMPARISON_FIGURES if n in files]
    labels = manifest.get("scenarios", [])
    return {
        "title": "Comparison: " + " vs ".join(labels),
        "kind": "comparison",
        "headlines": _headlines(table),
        "reference": labels[0] if labels else "",
        "runs": runs,
        "figures": _embed(figures, progress),
        "rerun": "khorasan compare " + " ".join(r["path"] for r in runs) + f" --out {path}",
    }


def build_report(path: str | os.PathLike[str], progress: bool = False) -> str:
    """The HTML text of the report of a run or comparison directory (ResultsError if neither)."""
    import jinja2

    path = Path(path)
    if report_kind(path) == "run":
        run = load_run(path)
        about = _about(run)
        context = {
            "title": f"Run: {run.name}",
            "kind": "run",
            "headlines": _headlines(comparison_table([run], [run.name])),
            "runs": [about],
            "figures": _embed(_run_figures(run), progress),
            "rerun": about["rerun"],
        }
    else:
        context = _comparison_context(path, progress)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("simulation.plots", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2").render(
        **context,
        band=BAND_RANGE,
        quantiles=QUANTILES,
        marker=MARKER.decode(),
        made=dt.datetime.now(dt.UTC).strftime("%d %b %Y %H:%M UTC"),
    )


def write_report(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Path:
    """Write the report of ``path`` to ``out`` (default ``path/report.html``); its path.

    An existing ``out`` that khorasan did not write is refused (ResultsError).
    """
    report_kind(path)
    target = check_output(Path(out) if out is not None else Path(path) / REPORT_FILE)
    return atomic_write_text(target, build_report(path, progress))
