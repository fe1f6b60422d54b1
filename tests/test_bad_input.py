"""Bad input refused cleanly (issue #14, items 10, 11, 13, 15, 16 and 17).

Every case must end with one stderr line, ``file: key: reason``, and exit
status 2: no traceback, no hang, no silent acceptance, and one bad file does
not stop ``validate`` or ``list`` from checking the others.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import numpy as np
import pytest

from simulation.model import ConflictModel
from simulation.scenario import params as ptable
from simulation.scenario.core import make_scenario
from simulation.scenario.errors import ScenarioError
from simulation.scenario.loader import load_scenario
from simulation.scenario.reading import MAX_FILE_BYTES
from simulation.scenario.schema import NAME_MAX
from tests import tiny_runs
from tests.tiny_runs import one_error_line, tiny_scenario, write

FLOATS = [p for p in ptable.PARAMS if p.kind is float]
NON_FINITE = ["nan", "inf", "-inf"]
BIG = "1" + "0" * 308  # a 309-digit integer


def invoke(*args: object):
    return tiny_runs.invoke(*args, catch_exceptions=True)


def refused(path: Path, overrides=None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


# --- 10. NaN and infinity ------------------------------------------------------------


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("p", FLOATS, ids=lambda p: p.name)
def test_non_finite_float_in_a_file_is_refused(tmp_path: Path, p: ptable.Param, value: str) -> None:
    path = write(tmp_path, "bad.toml", f"[{p.section}]\n{p.key} = {value}\n")
    err = refused(path)
    assert (err.file, err.key) == (str(path), p.name)
    assert err.reason == f"expected a finite number, got {value}"


@pytest.mark.parametrize("value", NON_FINITE)
@pytest.mark.parametrize("p", [p for p in FLOATS if not p.start_only], ids=lambda p: p.name)
def test_non_finite_float_in_an_event_is_refused(
    tmp_path: Path, p: ptable.Param, value: str
) -> None:
    # start-only parameters are refused in events whatever the value (tested below)
    path = write(
        tmp_path,
        "bad.toml",
        f"[[events]]\nstep = 1\nlabel = 'x'\nset = {{ '{p.name}' = {value} }}\n",
    )
    err = refused(path)
    assert err.key == f"events[0].set.{p.name}"


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")]
)
@pytest.mark.parametrize(
    "name", ["civilians.density", "legitimacy.initial", "isisk.attack_rate", "repression.gain"]
)
def test_non_finite_python_override_is_refused(tmp_path: Path, name: str, value) -> None:
    path = write(tmp_path, "t.toml", tiny_scenario())
    err = refused(path, {name: value})
    assert err.key == name and err.reason.startswith("expected a finite number, got ")
    with pytest.raises(ValueError):
        make_scenario({name: value})
    with pytest.raises(ValueError):
        make_scenario().with_overrides({name: value})


@pytest.mark.parametrize("field", ["x0", "x1", "y0", "y1", "isisk_share", "hardship_shift"])
@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_region_value_is_refused(tmp_path: Path, field: str, value: str) -> None:
    region = {
        "x0": "0",
        "x1": "0.5",
        "y0": "0",
        "y1": "0.5",
        "isisk_share": "0.5",
        "hardship_shift": "0",
    }
    region[field] = value
    body = "".join(f"{k} = {v}\n" for k, v in region.items())
    path = write(tmp_path, "bad.toml", tiny_scenario(extra=f"[[regions]]\nname = 'r'\n{body}"))
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: regions[0].{field}: "), line


@pytest.mark.parametrize(
    "assignment",
    [
        "civilians.density=nan",
        "isisk.attack_rate=inf",
        "civilians.threshold=-inf",
        f"isisk.attack_rate={BIG}0",
    ],
)
def test_non_finite_set_is_refused(tmp_path: Path, assignment: str) -> None:
    path = write(tmp_path, "t.toml", tiny_scenario())
    for command in (["validate", path], ["run", path, "--out", tmp_path / "out"]):
        line = one_error_line(invoke(*command, "--set", assignment))
        assert line.startswith(f"{path}: {assignment.split('=')[0]}: "), line
    assert not (tmp_path / "out").exists()


# --- 11. Files that validate but would fail in every replicate ------------------


@pytest.mark.parametrize(
    ("start", "steps"), [("9999-12-01", 10), ("9999-01-01", 100), ("9000-01-01", 100_000)]
)
def test_run_past_the_calendar_is_refused(tmp_path: Path, start: str, steps: int) -> None:
    path = write(tmp_path, "late.toml", tiny_scenario(start=start, steps=steps))
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: scenario.steps: ") and "9999-12-31" in line, line
    # an override that brings the end past the calendar is refused too
    ok = write(tmp_path, "ok.toml", tiny_scenario(start=start, steps=1))
    line = one_error_line(invoke("validate", ok, "--set", f"scenario.steps={steps}"))
    assert line.startswith(f"{ok}: scenario.steps: "), line


def test_run_that_ends_on_the_last_calendar_day_runs(tmp_path: Path) -> None:
    start = dt.date.max - dt.timedelta(days=14)
    path = write(
        tmp_path, "last.toml", tiny_scenario(start=start.isoformat(), steps=2, replicates=1)
    )
    result = invoke("run", path, "--out", tmp_path / "out", "--workers", 1, "--quiet", "--no-plots")
    assert result.exit_code == 0, result.stderr
    csv = (tmp_path / "out" / "tiny" / "timeseries.csv").read_text()
    assert "9999-12-31" in csv


EDGE_REGION = "[[regions]]\nname = 'edge'\nx0 = 0.99\nx1 = 1.0\ny0 = 0\ny1 = 1\n"


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (EDGE_REGION + "isisk_share = 0.5\n", "regions[0].isisk_share"),
        (EDGE_REGION + "capital = true\n", "regions[0].capital"),
        (
            EDGE_REGION.replace("x0 = 0.99\nx1 = 1.0", "x0 = 0\nx1 = 1").replace(
                "y0 = 0\ny1 = 1", "y0 = 0.98\ny1 = 0.99"
            )
            + "isisk_share = 0.1\n",
            "regions[0].isisk_share",
        ),
        (
            EDGE_REGION + "[[events]]\nstep = 1\nlabel = 'x'\nadd_isisk_fighters = 50\n"
            "region = 'edge'\n",
            "events[0].region",
        ),
    ],
)
def test_region_without_cells_given_fighters_is_refused(
    tmp_path: Path, extra: str, key: str
) -> None:
    path = write(tmp_path, "edge.toml", tiny_scenario(extra=extra))
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: {key}: ") and "holds no cell of the 20x20 world" in line


def test_region_without_cells_is_fine_when_nothing_is_put_there(tmp_path: Path) -> None:
    path = write(tmp_path, "edge.toml", tiny_scenario(extra=EDGE_REGION + "hardship_shift = 0.2\n"))
    assert load_scenario(path).regions[0].name == "edge"
    # the same region holds cells on a wider world, so it may have fighters there
    wide = write(
        tmp_path,
        "wide.toml",
        tiny_scenario(extra=EDGE_REGION + "isisk_share = 0.5\n").replace(
            "width = 20", "width = 200"
        ),
    )
    assert load_scenario(wide).regions[0].isisk_share == 0.5


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (
            "[[events]]\nstep = 1\nlabel = 'x'\nadd_isisk_fighters = 100000000000000000000\n",
            "events[0].add_isisk_fighters",
        ),
        (
            "[[events]]\nstep = 1\nlabel = 'x'\nadd_isisk_fighters = 9223372036854775807\n",
            "events[0].add_isisk_fighters",
        ),
        (
            "[[events]]\nstep = 1\nlabel = 'x'\nramp_steps = 9223372036854775807\n"
            "set = { 'isisk.attack_rate' = 3 }\n",
            "events[0].ramp_steps",
        ),
        (
            "[[regions]]\nname = 'r'\nx0 = 0\nx1 = 1\ny0 = 0\ny1 = 1\nisisk_share = 1e300\n",
            "regions[0].isisk_share",
        ),
        ("[isisk]\ninitial_fighters = 1e20\n", "isisk.initial_fighters"),
        ("[isisk]\ninitial_fighters = inf\n", "isisk.initial_fighters"),
        (f"[isisk]\nattack_rate = {BIG}0\n", "isisk.attack_rate"),
    ],
)
def test_astronomical_counts_are_refused(tmp_path: Path, extra: str, key: str) -> None:
    path = write(tmp_path, "big.toml", tiny_scenario(extra=extra))
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: {key}: "), line


# --- 13. Odd files: one bad file does not stop the others ----------------------


def _odd_files(folder: Path) -> dict[str, Path]:
    """Bad files of every kind, by name (all but ``good`` must be refused)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    files["good"] = write(folder, "good.toml", tiny_scenario("good", steps=3))
    files["self_loop"] = folder / "self_loop.toml"
    os.symlink("self_loop.toml", files["self_loop"])
    files["extends_loop"] = write(
        folder, "extends_loop.toml", '[scenario]\nextends = "self_loop.toml"\n'
    )
    # chain0.toml extends chain/chain1.toml, which extends chain2.toml, ... chain999.toml
    files["chain"] = write(folder, "chain0.toml", '[scenario]\nextends = "chain/chain1.toml"\n')
    for i in range(1, 1000):
        body = f'[scenario]\nextends = "chain{i + 1}.toml"\n' if i < 999 else "[scenario]\n"
        write(folder / "chain", f"chain{i}.toml", body)
    files["deep_array"] = write(
        folder, "deep_array.toml", "[isisk]\nx = " + "[" * 5000 + "]" * 5000 + "\n"
    )
    files["deep_table"] = write(
        folder,
        "deep_table.toml",
        "[[events]]\nstep = 1\nlabel = 'x'\nset = " + "{ a = " * 900 + "1" + " }" * 900 + "\n",
    )
    files["fifo"] = folder / "fifo.toml"
    os.mkfifo(files["fifo"])
    files["huge"] = write(folder, "huge.toml", "#" * (MAX_FILE_BYTES + 1) + "\n")
    files["empty"] = write(folder, "empty.toml", "")
    files["comments"] = write(folder, "comments.toml", "# only a comment\n\n")
    files["long_name"] = write(folder, "long_name.toml", f'[scenario]\nname = "{"n" * 250}"\n')
    files["big_number"] = write(folder, "big_number.toml", f"[scenario]\nsteps = {BIG}\n")
    return files


def test_validate_checks_every_file_despite_odd_ones(tmp_path: Path, khorasan) -> None:
    files = _odd_files(tmp_path / "s")
    order = [files["good"], *(p for n, p in files.items() if n != "good"), files["good"]]
    result = khorasan("validate", *order, timeout=120, memory=4 << 30)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.stdout.splitlines() == [f"OK {files['good']}"] * 2
    lines = result.stderr.splitlines()
    assert len(lines) == len(files) - 1, result.stderr
    for (name, path), line in zip(
        ((n, p) for n, p in files.items() if n != "good"), lines, strict=True
    ):
        assert line.startswith(f"{path}: "), (name, line)


def test_dev_zero_is_refused_without_reading_it(khorasan) -> None:
    # with at most 2 GiB of address space, reading /dev/zero to the end would fail
    result = khorasan("validate", "/dev/zero", timeout=60, memory=2 << 30)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "/dev/zero: file: not a regular file (a device, FIFO or socket)\n"


def test_list_lists_the_rest_despite_odd_files(tmp_path: Path, khorasan) -> None:
    folder = tmp_path / "s"
    files = _odd_files(folder)
    result = khorasan("list", "--dir", folder, timeout=120, cwd=tmp_path, memory=4 << 30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    table = result.stdout
    for name in ("good", "self_loop", "extends_loop", "fifo", "huge", "empty", "long_name"):
        assert files[name].name in table, name
    assert table.count("invalid:") == len(list(folder.glob("*.toml"))) - 1


@pytest.mark.parametrize(
    ("name", "key", "reason"),
    [
        ("self_loop", "file", "Too many levels of symbolic links"),
        ("extends_loop", "extends", "cannot be resolved"),
        ("chain", "extends", "longer than"),
        ("deep_array", "toml", "nested too deeply"),
        ("deep_table", "toml", "nested too deeply"),
        ("huge", "file", "too large"),
        ("empty", "file", "empty file"),
        ("comments", "file", "empty file"),
        ("long_name", "scenario.name", f"at most {NAME_MAX}"),
        ("big_number", "scenario.steps", "(309 digits)"),
    ],
)
def test_odd_file_reasons(tmp_path: Path, name: str, key: str, reason: str) -> None:
    path = _odd_files(tmp_path / "s")[name]
    err = refused(path)
    assert (err.file, err.key) == (str(path), key)
    assert reason in err.reason
    assert len(str(err)) < len(str(path)) + 200  # no 309-digit echo


def test_fifo_does_not_hang(tmp_path: Path, khorasan) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    result = khorasan("validate", fifo, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"{fifo}: file: not a regular file (a device, FIFO or socket)\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.toml", tiny_scenario())
    path.chmod(0)
    good = write(tmp_path, "good.toml", tiny_scenario())
    result = invoke("validate", path, good)
    assert one_error_line(result) == f"{path}: file: Permission denied"
    assert result.stdout == f"OK {good}\n"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_text(tiny_scenario("bom"), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    sc = load_scenario(path)
    assert sc.name == "bom" and sc.params["world.width"] == 20


def test_long_names_are_refused_before_they_become_directories(tmp_path: Path) -> None:
    path = write(tmp_path, "t.toml", tiny_scenario())
    line = one_error_line(
        invoke("run", path, "--out", tmp_path / "out", "--set", f'scenario.name="{"x" * 250}"')
    )
    assert line.startswith(f"{path}: scenario.name: too long: 250 characters"), line
    assert not (tmp_path / "out").exists()
    ok = write(tmp_path, "ok.toml", tiny_scenario("y" * NAME_MAX))
    assert load_scenario(ok).name == "y" * NAME_MAX


@pytest.mark.parametrize(
    "text",
    [
        f"[scenario]\nsteps = {BIG}\n",
        f"[scenario]\nseed = -{BIG}\n",
        f"[isisk]\ninitial_fighters = {BIG}\n",
        f"[[events]]\nstep = {BIG}\nlabel = 'x'\n",
        f"[scenario]\nname = '{'z' * 5000}'\nsteps = 'x'\n",
        f"[civilians]\nmovement = '{'m' * 5000}'\n",
        f"[isisk]\n{'k' * 5000} = 1\n",
    ],
)
def test_echoed_values_are_cut(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: ")
    assert len(line) < len(str(path)) + 300, line


# --- 15. Empty files; --steps agrees with validate ------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "\ufeff"])
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "empty.toml", text)
    for command in (["validate", path], ["run", path, "--out", tmp_path / "out"]):
        line = one_error_line(invoke(*command))
        assert line.startswith(f"{path}: file: empty file"), line


LATE = tiny_scenario(
    steps=10, extra="[[events]]\nstep = 12\nlabel = 'late'\nset = { 'isisk.attack_rate' = 3 }\n"
)


@pytest.mark.parametrize("steps", [5, 10, 12, 30])
def test_run_with_steps_refuses_what_validate_refuses(tmp_path: Path, steps: int) -> None:
    path = write(tmp_path, "late.toml", LATE)
    expected = one_error_line(invoke("validate", path))
    assert expected.startswith(f"{path}: events[0].step: step 12 is after the end of the run")
    result = invoke(
        "run",
        path,
        "--steps",
        steps,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--workers",
        1,
        "--no-plots",
    )
    assert one_error_line(result) == expected
    assert one_error_line(invoke("validate", path, "--set", f"scenario.steps={steps}")) == expected
    assert not (tmp_path / "out").exists()


def test_shortened_run_still_drops_events_within_the_files_steps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ok.toml",
        tiny_scenario(
            steps=10,
            extra="[[events]]\nstep = 8\nlabel = 'later'\nset = { 'isisk.attack_rate' = 3 }\n",
        ),
    )
    assert [e.label for e in load_scenario(path).events] == ["later"]
    assert load_scenario(path, {"scenario.steps": 4}).events == ()


# --- 16. Events on start-only parameters ----------------------------------------

START_ONLY = ["world.width", "world.height", "civilians.density", "isisk.initial_fighters"]


def test_start_only_flag_is_in_the_parameter_table() -> None:
    flagged = {p.name for p in ptable.PARAMS if p.start_only}
    assert set(START_ONLY) <= flagged
    assert {"civilians.susceptibility_mean", "surveillance.taliban_intel"} <= flagged
    # parameters events do change are not flagged
    assert not flagged & {
        "taliban.enforcer_density",
        "legitimacy.initial",
        "isisk.attack_rate",
        "civilians.vision",
        "repression.initial",
    }


@pytest.mark.parametrize(
    "name", sorted(set(START_ONLY) | {p.name for p in ptable.PARAMS if p.start_only})
)
def test_event_setting_a_start_only_parameter_is_refused(tmp_path: Path, name: str) -> None:
    p = ptable.get(name)
    path = write(
        tmp_path,
        "ev.toml",
        tiny_scenario(
            extra=f"[[events]]\nstep = 2\nlabel = 'x'\nset = {{ '{name}' = {p.default!r} }}\n"
        ),
    )
    line = one_error_line(invoke("validate", path))
    assert line == (
        f"{path}: events[0].set.{name}: cannot be changed by an event: it is read "
        "only when the run starts"
    )
    # as a nested table too
    nested = write(
        tmp_path,
        "nested.toml",
        tiny_scenario(
            extra=f"[[events]]\nstep = 2\nlabel = 'x'\n[events.set.{p.section}]\n"
            f"{p.key} = {p.default!r}\n"
        ),
    )
    assert refused(nested).key == f"events[0].set.{name}"


@pytest.mark.parametrize(("name", "value"), [("civilians.vision", 15), ("taliban.vision", 10)])
def test_event_vision_gets_the_world_size_check(tmp_path: Path, name: str, value: int) -> None:
    path = write(
        tmp_path,
        "ev.toml",
        tiny_scenario(extra=f"[[events]]\nstep = 2\nlabel = 'x'\nset = {{ '{name}' = {value} }}\n"),
    )
    line = one_error_line(invoke("validate", path))
    assert line.startswith(
        f"{path}: events[0].set.{name}: vision {value} needs a world of at "
        f"least {2 * value + 1} cells a side (smallest side is 20)"
    ), line
    fits = write(
        tmp_path,
        "fits.toml",
        tiny_scenario(extra=f"[[events]]\nstep = 2\nlabel = 'x'\nset = {{ '{name}' = 9 }}\n"),
    )
    assert load_scenario(fits).events[0].set == {name: 9}


# --- 17. The Python API ----------------------------------------------------------


def test_numpy_seed_works_like_an_int() -> None:
    sc = make_scenario(
        {"world.width": 20, "world.height": 20, "civilians.vision": 3, "taliban.vision": 3}
    )
    a, b = ConflictModel(sc, rng=np.int64(3)), ConflictModel(sc, rng=3)
    a.step()
    b.step()
    assert a.seed == 3 and type(a.seed) is int
    assert a.metrics().equals(b.metrics())


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("world.width", np.int64(40), int),
        ("world.width", np.int32(40), int),
        ("isisk.initial_fighters", np.uint16(40), int),
        ("world.height", np.float64(40.0), int),
        ("civilians.density", np.float32(0.5), float),
        ("legitimacy.initial", np.float64(0.5), float),
        ("legitimacy.dynamic", np.bool_(False), bool),
        ("repression.gain", np.int64(1), float),
    ],
)
def test_numpy_values_are_plain_python(tmp_path: Path, name: str, value, kind: type) -> None:
    path = write(tmp_path, "t.toml", "[scenario]\nsteps = 3\n")
    for values in (
        load_scenario(path, {name: value}).params,
        make_scenario({name: value}).params,
        make_scenario().with_overrides({name: value}).params,
    ):
        assert type(values[name]) is kind
        assert values[name] == value.item()
    seeded = load_scenario(path, {"scenario.seed": np.int64(9), "scenario.steps": np.int32(2)})
    assert (seeded.seed, seeded.steps) == (9, 2) and type(seeded.seed) is int


@pytest.mark.parametrize("overrides", [{1: 2}, {None: 1}, {("a", "b"): 1}, {2.5: "x"}])
def test_non_text_override_names_give_a_scenario_error(tmp_path: Path, overrides) -> None:
    path = write(tmp_path, "t.toml", "[scenario]\nsteps = 3\n")
    err = refused(path, overrides)
    assert err.file == str(path) and "parameter names are text" in err.reason
    with pytest.raises(ptable.UnknownParameter, match="parameter names are text"):
        make_scenario(overrides)


@pytest.mark.parametrize(
    "name",
    [
        "scenario.name",
        "scenario.seed",
        "scenario.steps",
        "scenario.start_date",
        "scenario.description",
        "civilians.density",
        "civilians.movement",
    ],
)
def test_none_override_is_refused(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "t.toml", "[scenario]\nsteps = 3\n")
    err = refused(path, {name: None})
    assert (err.file, err.key) == (str(path), name)
    assert "None" in err.reason
