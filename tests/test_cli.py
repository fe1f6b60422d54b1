"""The khorasan command line: output, one-line errors with exit status 2, and runs."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from simulation.cli import app, main
from simulation.cli.docs import param_reference_markdown
from simulation.scenario import params as ptable
from simulation.scenario.loader import load_scenario
from tests import tiny_runs
from tests.tiny_runs import one_error_line, tiny_scenario, write

BASE = tiny_scenario(
    description="A tiny test scenario",
    extra="""
[surveillance]
withdrawal_week = 2

[[regions]]
name = "east"
x0 = 0.5
x1 = 1
y0 = 0
y1 = 1
isisk_share = 0.5

[[events]]
date = 2021-08-29
label = "Prison releases"
add_isisk_fighters = 200
region = "east"
""",
)

TINY = ["--set", "world.width=20", "--set", "world.height=20", "--steps", "10", "--replicates", "2"]


def invoke(*args: str | Path):
    return tiny_runs.invoke(*args, catch_exceptions=True)


# --- help ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["validate"], ["show"], ["params"], ["list"], ["plot"], ["report"], ["animate"]],
)
def test_help_has_examples(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Examples" in result.stdout
    assert "khorasan" in result.stdout


# --- validate --------------------------------------------------------------------


def test_validate_ok(tmp_path: Path) -> None:
    path = write(tmp_path, "base.toml", BASE)
    result = invoke("validate", path)
    assert result.exit_code == 0
    assert result.stdout == f"OK {path}\n"


def test_validate_reports_each_bad_file_on_one_line(tmp_path: Path) -> None:
    good = write(tmp_path, "good.toml", BASE)
    bad1 = write(tmp_path, "bad1.toml", "[isisk]\ndefector_recrutment = 1\n")
    bad2 = write(tmp_path, "bad2.toml", "[isisk]\ninitial_fighters = \n")
    result = invoke("validate", good, bad1, bad2)
    assert result.exit_code == 2
    assert result.stdout == f"OK {good}\n"
    assert result.stderr.splitlines() == [
        f"{bad1}: isisk.defector_recrutment: unknown parameter "
        "(did you mean 'isisk.defector_recruitment'?)",
        f"{bad2}: toml: invalid TOML: Invalid value (at line 2, column 20)",
    ]


CLI_ERRORS = [
    # (file text, key, text in reason): one of each kind of validation error
    ("[isisk]\ndefector_recrutment = 1\n", "isisk.defector_recrutment", "did you mean"),
    ("[isis]\nattack_rate = 1\n", "isis", "did you mean 'isisk'"),
    ("[isisk]\ninitial_fighters = 'many'\n", "isisk.initial_fighters", "expected an integer"),
    ("[isisk]\ndefector_recruitment = 500\n", "isisk.defector_recruitment", "above the maximum"),
    ("[scenario]\nsteps = 0\n", "scenario.steps", "at least 1"),
    ('[scenario]\nextends = "missing.toml"\n', "extends", "does not exist"),
    ('[scenario]\nextends = "bad.toml"\n', "extends", "cycle"),
    (
        "[scenario]\nsteps = 4\n[[events]]\ndate = 2021-12-01\nlabel = 'x'\n",
        "events[0].date",
        "after the end of the run",
    ),
    (
        "[[events]]\nstep = 1\nlabel = 'x'\nset = { 'isisk.atack_rate' = 1 }\n",
        "events[0].set.isisk.atack_rate",
        "did you mean 'isisk.attack_rate'",
    ),
    ("[world\n", "toml", "(at line 1, column"),
]


@pytest.mark.parametrize(("text", "key", "reason"), CLI_ERRORS)
def test_validation_errors_via_cli(tmp_path: Path, text: str, key: str, reason: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    for command in (["validate", path], ["show", path], ["run", path, "--out", tmp_path]):
        line = one_error_line(invoke(*command))
        assert line.startswith(f"{path}: {key}: "), line
        assert reason in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # run wrote nothing


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    for command in ("validate", "show", "run"):
        assert one_error_line(invoke(command, missing)) == f"{missing}: file: no such file"


@pytest.mark.parametrize(
    ("assignment", "key", "reason"),
    [
        ("isisk.initial_fighter=3", "isisk.initial_fighter", "did you mean"),
        ("isisk.initial_fighters=lots", "isisk.initial_fighters", "expected an integer"),
        ("isisk.initial_fighters=-5", "isisk.initial_fighters", "below the minimum"),
        ("civilians.movement=teleport", "civilians.movement", "must be one of"),
        ("isisk.initial_fighters", "--set", "expected NAME=VALUE"),
        ("scenario.stepz=3", "scenario.stepz", "did you mean 'steps'"),
    ],
)
def test_bad_set(tmp_path: Path, assignment: str, key: str, reason: str) -> None:
    path = write(tmp_path, "base.toml", BASE)
    for command in ("validate", "show", "run"):
        line = one_error_line(
            invoke(command, path, "--set", assignment, "--out", tmp_path)
            if command == "run"
            else invoke(command, path, "--set", assignment)
        )
        assert line.startswith(f"{path}: {key}: ") and reason in line, line


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["run", "x.toml", "--workers", "many"],
        ["run", "x.toml", "--frobnicate"],
        ["run"],
        ["frobnicate"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("khorasan"), err


# --- show ------------------------------------------------------------------------


def test_show_prints_loadable_resolved_toml(tmp_path: Path) -> None:
    write(tmp_path, "base.toml", BASE)
    child = write(
        tmp_path, "child.toml", '[scenario]\nextends = "base.toml"\n[isisk]\nattack_rate = 4\n'
    )
    result = invoke("show", child, "--set", "civilians.movement=static")
    assert result.exit_code == 0
    data = tomllib.loads(result.stdout)
    assert "extends" not in data["scenario"]
    assert data["isisk"]["attack_rate"] == 4.0
    assert data["civilians"]["movement"] == "static"
    assert set(data) >= {"scenario", *ptable.SECTIONS, "regions", "events"}
    again = load_scenario(write(tmp_path, "shown.toml", result.stdout))
    expected = load_scenario(child, {"civilians.movement": "static"})
    assert dataclasses.replace(again, source=None, name="child") == dataclasses.replace(
        expected, source=None
    )


def test_show_changed_lists_only_non_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "base.toml", BASE)
    data = tomllib.loads(invoke("show", path, "--changed").stdout)
    params = {
        f"{s}.{k}": v for s, table in data.items() if s in ptable.SECTIONS for k, v in table.items()
    }
    assert params == dict(load_scenario(path).overrides)


# --- params and list -------------------------------------------------------------


def test_params_table(cli_runner) -> None:
    result = cli_runner.invoke(app, ["params"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for p in ptable.PARAMS:
        assert p.name in result.stdout


def test_params_section() -> None:
    result = invoke("params", "--section", "isisk")
    assert result.exit_code == 0
    assert "isisk.initial_fighters" in result.stdout
    assert "world.width" not in result.stdout


def test_params_bad_section() -> None:
    line = one_error_line(invoke("params", "--section", "isis"))
    assert "did you mean 'isisk'" in line


def test_params_markdown() -> None:
    result = invoke("params", "--markdown")
    assert result.exit_code == 0
    assert result.stdout == param_reference_markdown()


def test_list(tmp_path: Path, cli_runner) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder, "a.toml", BASE)
    write(folder, "b.toml", "[isisk]\nattack_rat = 1\n")
    result = cli_runner.invoke(app, ["list", "--dir", str(folder)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "a.toml" in result.stdout and "A tiny test scenario" in result.stdout
    assert "b.toml" in result.stdout and "invalid" in result.stdout


def test_list_uses_scenarios_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_runner
) -> None:
    (tmp_path / "scenarios").mkdir()
    write(tmp_path / "scenarios", "here.toml", BASE)
    monkeypatch.chdir(tmp_path)
    result = cli_runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "scenarios/here.toml" in result.stdout


def test_shipped_scenarios_validate(repo_root: Path) -> None:
    files = sorted((repo_root / "scenarios").glob("*.toml"))
    assert files, "no shipped scenarios"
    result = invoke("validate", *files)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("OK ") == len(files)


# --- run (real model, tiny world) ------------------------------------------------


def test_run_writes_results_and_plots_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = write(tmp_path, "base.toml", BASE)
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out, "--workers", "1", "--quiet", *TINY)
    assert result.exit_code == 0, result.output
    run_dir = out / "tiny"
    assert f"wrote {run_dir}" in result.stdout
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"timeseries.csv", "summary.csv", "manifest.json", "scenario.toml", "plots"}
    assert {p.name for p in (run_dir / "plots").iterdir()} == {
        "overview.png",
        "violence.png",
        "repression.png",
    }
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}

    line = one_error_line(invoke("run", path, "--out", out, "--quiet", *TINY))
    assert line.startswith(f"{run_dir}: run directory already exists")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before

    result = invoke(
        "run", path, "--out", out, "--quiet", "--force", "--no-plots", "--seed", "100", *TINY
    )
    assert result.exit_code == 0, result.output
    assert not (run_dir / "plots").exists()
    assert (run_dir / "timeseries.csv").read_bytes() != before[run_dir / "timeseries.csv"]

    # the saved scenario.toml repeats the run
    again = load_scenario(run_dir / "scenario.toml")
    assert again.seed == 100 and again.steps == 10 and again.params["world.width"] == 20


def test_run_checks_every_run_dir_before_running(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", BASE)
    b = write(tmp_path, "b.toml", BASE)  # same name "tiny"
    line = one_error_line(invoke("run", a, b, "--out", tmp_path / "out", "--quiet", *TINY))
    assert "tiny" in line and "also the name of" in line
    assert not (tmp_path / "out").exists()


def test_timeseries_identical_across_workers(tmp_path: Path) -> None:
    path = write(tmp_path, "base.toml", BASE)
    for workers in ("1", "2"):
        result = invoke(
            "run",
            path,
            "--out",
            tmp_path / f"w{workers}",
            "--workers",
            workers,
            "--quiet",
            "--no-plots",
            *TINY,
        )
        assert result.exit_code == 0, result.output
    one = (tmp_path / "w1" / "tiny" / "timeseries.csv").read_bytes()
    two = (tmp_path / "w2" / "tiny" / "timeseries.csv").read_bytes()
    assert one == two
    assert one.startswith(b"replicate,seed,step,date,")


def test_python_m_simulation_works(khorasan, repo_root: Path) -> None:
    proc = khorasan("params", "--section", "scale", cwd=repo_root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "scale.people_per_civilian" in proc.stdout
    proc = khorasan("validate", "nope.toml", cwd=repo_root, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "nope.toml: file: no such file\n"
