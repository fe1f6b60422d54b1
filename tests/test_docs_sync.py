"""docs/scenarios.md must carry the current generated parameter and metric references."""

from __future__ import annotations

from pathlib import Path

from simulation.cli.docs import DOC_PATH, main, param_reference_markdown, render
from simulation.scenario import params as ptable


def test_docs_scenarios_md_is_in_sync_with_the_tables() -> None:
    text = DOC_PATH.read_text(encoding="utf-8")
    assert render(text) == text, (
        "docs/scenarios.md is out of date: run `python -m simulation.cli.docs`"
    )


def test_reference_lists_every_parameter() -> None:
    text = param_reference_markdown()
    for p in ptable.PARAMS:
        assert f"| `{p.name}` |" in text
    for section in ptable.SECTIONS:
        assert f"### `[{section}]`" in text


def test_docs_gen_check_and_update(tmp_path: Path, capsys) -> None:
    stale = tmp_path / "doc.md"
    stale.write_text(
        "intro\n<!-- params:start -->\nold\n<!-- params:end -->\n"
        "<!-- metrics:start -->\n<!-- metrics:end -->\n",
        encoding="utf-8",
    )
    assert main([str(stale), "--check"]) == 1
    assert "old" in stale.read_text()
    assert main([str(stale)]) == 0
    assert main([str(stale), "--check"]) == 0
    assert "`isisk.initial_fighters`" in stale.read_text()
    assert stale.read_text().startswith("intro\n")
    missing = tmp_path / "none.md"
    missing.write_text("no markers\n")
    assert main([str(missing)]) == 2
    capsys.readouterr()
