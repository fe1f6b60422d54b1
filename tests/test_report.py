"""``khorasan report``: one self-contained HTML file of a run or a comparison; bad input."""

from __future__ import annotations

import base64
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from simulation.experiments.files import ResultsError
from simulation.experiments.rundir import check_replaceable
from simulation.plots.report import build_report
from simulation.plots.sharing import MARKER
from tests import tiny_runs
from tests.tiny_runs import one_error_line

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_self_contained(html: str, n_images: int) -> None:
    """Every image is an embedded PNG, and nothing on the page refers to another file."""
    tags = _tags(html)
    images = [attrs["src"] or "" for tag, attrs in tags if tag == "img"]
    assert len(images) == n_images
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    # no script, stylesheet, frame or link to fetch: only inline styles
    assert not [t for t, _ in tags if t in ("script", "link", "iframe", "object", "embed")]
    for _, attrs in tags:
        for name in ("src", "href", "srcset", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("data:"), (name, value)
    assert not re.search(r"url\(", html)  # no CSS that loads anything
    assert not re.search(r"(?:https?:)?//[\w.-]+\.\w", html.replace("data:image", ""))


@pytest.fixture(scope="module")
def run_with_plots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny saved run with its plots and an event (copied: the test writes into it)."""
    base = tmp_path_factory.mktemp("report")
    extra = '[[events]]\ndate = 2021-08-29\nlabel = "Prison releases"\nadd_isisk_fighters = 50\n'
    path = tiny_runs.write(base, "tiny.toml", tiny_runs.tiny_scenario(steps=6, extra=extra))
    result = tiny_runs.invoke("run", path, "--out", base / "out", "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    return base / "out" / "tiny"


def test_run_report_is_one_self_contained_file(run_with_plots: Path, tmp_path: Path) -> None:
    run = shutil.copytree(run_with_plots, tmp_path / "tiny")
    result = tiny_runs.invoke("report", run, "--quiet")
    assert result.exit_code == 0, result.output
    html = (run / "report.html").read_text(encoding="utf-8")
    assert_self_contained(html, n_images=3)  # overview, violence, repression
    assert MARKER.decode() in html
    for text in ("tiny", "Prison releases", "seeds 3, 4", "Cumulative attack deaths", "10–90%"):
        assert text in html, text
    assert "khorasan run" in html and "scenario.toml" in html  # how to reproduce it
    assert "world.width" in html  # its changes from the defaults (the file extends nothing)
    check_replaceable(run)  # the report is khorasan's: --force may still replace the run


def test_report_draws_missing_plots_in_memory(tiny_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(tiny_run, tmp_path / "tiny")
    html = build_report(run)
    assert_self_contained(html, n_images=3)
    assert not (run / "plots").exists()  # the run directory is left as it was


def test_comparison_report_shows_differences_with_cis(tmp_path: Path) -> None:
    a = tiny_runs.write(tmp_path, "a.toml", tiny_runs.tiny_scenario("a", steps=4))
    more = "[isisk]\nattack_rate = 4\n"
    b = tiny_runs.write(tmp_path, "b.toml", tiny_runs.tiny_scenario("b", steps=4, extra=more))
    out = tmp_path / "cmp"
    result = tiny_runs.invoke("compare", a, b, "--out", out, "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    report = tmp_path / "shared" / "cmp.html"
    report.parent.mkdir()
    result = tiny_runs.invoke("report", out, "--out", report, "-q")
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert_self_contained(html, n_images=2)  # comparison.png, difference.png
    assert "Δ vs a" in html and "90% CI" in html and "by seed" in html
    assert "isisk.attack_rate" in html  # b's change
    # written again over its own earlier report: allowed
    assert tiny_runs.invoke("report", out, "--out", report, "-q").exit_code == 0


def test_a_changed_comparison_file_is_refused(tmp_path: Path) -> None:
    a = tiny_runs.write(tmp_path, "a.toml", tiny_runs.tiny_scenario("a", steps=3))
    b = tiny_runs.write(tmp_path, "b.toml", tiny_runs.tiny_scenario("b", steps=3))
    out = tmp_path / "cmp"
    result = tiny_runs.invoke("compare", a, b, "--out", out, "--workers", "1", "-q")
    assert result.exit_code == 0, result.output
    assert build_report(out).count("<img ") == 2
    (out / "comparison.csv").write_text("scenario\nforged\n")
    with pytest.raises(ResultsError, match="sha256"):
        build_report(out)


@pytest.mark.parametrize("case", ["empty", "missing", "file", "csv-only"])
def test_not_a_run_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    target = tmp_path / "thing"
    if case == "empty":
        target.mkdir()
    elif case == "file":
        target.write_text("x")
    elif case == "csv-only":
        target.mkdir()
        (target / "timeseries.csv").write_text("step\n0\n")
        (target / "manifest.json").write_text('{"format": "something-else"}')
    line = one_error_line(tiny_runs.invoke("report", target, catch_exceptions=True))
    assert line.startswith(f"{target}: ")
    assert ("no such directory" if case == "missing" else "not a") in line


def test_out_never_replaces_a_users_file(run_with_plots: Path, tmp_path: Path) -> None:
    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>")
    line = one_error_line(
        tiny_runs.invoke("report", run_with_plots, "--out", mine, catch_exceptions=True)
    )
    assert line.startswith(f"{mine}: ") and "not written by khorasan" in line
    assert mine.read_text() == "<p>my notes</p>"
    # nor adds a file of another name to a run directory
    run = shutil.copytree(run_with_plots, tmp_path / "run")
    inside = run / "extra.html"
    line = one_error_line(tiny_runs.invoke("report", run, "--out", inside, catch_exceptions=True))
    assert "inside the run directory" in line and not inside.exists()
    # nor writes into a folder that is not there
    line = one_error_line(
        tiny_runs.invoke("report", run, "--out", tmp_path / "no" / "r.html", catch_exceptions=True)
    )
    assert "no such directory" in line


def test_a_child_scenario_shows_only_its_changes_from_its_parent(tmp_path: Path) -> None:
    tiny_runs.write(tmp_path, "tiny.toml", tiny_runs.tiny_scenario(steps=3))
    child = tiny_runs.write(
        tmp_path,
        "child.toml",
        '[scenario]\nextends = "tiny.toml"\nname = "child"\n\n[isisk]\nattack_rate = 4.5\n',
    )
    result = tiny_runs.invoke("run", child, "--out", tmp_path / "out", "-j", "1", "-q")
    assert result.exit_code == 0, result.output
    html = build_report(tmp_path / "out" / "child")
    assert "Changes from its parent tiny.toml" in html
    rows = re.findall(r"<tr><td><code>([\w.]+)</code></td>", html)
    assert rows == ["isisk.attack_rate"]  # world.width etc. come from the parent: not listed
