"""Loading, validating and writing scenario files (no model runs)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from simulation.scenario import params as ptable
from simulation.scenario.core import Event, Region
from simulation.scenario.errors import ScenarioError
from simulation.scenario.loader import load_scenario, parse_assignment
from simulation.scenario.writer import scenario_to_toml

FULL = """
[scenario]
name = "full"
description = "A scenario with everything"
start_date = 2021-08-15
steps = 52
seed = 7
replicates = 3

[isisk]
initial_fighters = 2500
defector_recruitment = 0.6

[surveillance]
withdrawal_week = 2

[[regions]]
name = "east"
x0 = 0.5
x1 = 1
y0 = 0.0
y1 = 0.5
isisk_share = 0.7

[[regions]]
name = "kabul"
x0 = 0.4
x1 = 0.5
y0 = 0.4
y1 = 0.5
capital = true

[[events]]
date = 2021-09-26
label = "Late event"
set = { "repression.baseline" = 0.4 }
ramp_steps = 4

[[events]]
step = 1
label = "Prison break"
add_isisk_fighters = 1500
region = "east"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides: dict | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


# --- valid files ---------------------------------------------------------------


def test_bare_header_gives_defaults_and_file_name(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, "plain.toml", "[scenario]\n"))
    assert sc.name == "plain"
    assert dict(sc.params) == ptable.defaults()
    assert sc.events == () and sc.regions == ()
    assert sc.overrides == {}
    assert sc.source == tmp_path / "plain.toml"


def test_full_file(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, "full.toml", FULL))
    assert (sc.name, sc.steps, sc.seed, sc.replicates) == ("full", 52, 7, 3)
    assert sc.start_date == dt.date(2021, 8, 15)
    assert sc.params["isisk.initial_fighters"] == 2500
    assert sc.params["isisk.defector_recruitment"] == 0.6
    assert sc.overrides == {
        "isisk.initial_fighters": 2500,
        "isisk.defector_recruitment": 0.6,
        "surveillance.withdrawal_week": 2,
    }
    # events are sorted by step; the date maps to the nearest week
    assert sc.events == (
        Event(step=1, label="Prison break", add_isisk_fighters=1500, region="east"),
        Event(step=6, label="Late event", set={"repression.baseline": 0.4}, ramp_steps=4),
    )
    assert sc.regions[0] == Region("east", 0.5, 1.0, 0.0, 0.5, isisk_share=0.7)
    assert sc.regions[1].capital is True


def test_dates_as_strings_and_dotted_set_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.toml",
        """
[scenario]
start_date = "2021-08-15"
steps = 10
[[events]]
date = "2021-08-29"
label = "x"
set = { surveillance.us_level = 0.05, "isisk.attack_rate" = 4 }
""",
    )
    sc = load_scenario(path)
    assert sc.events[0].step == 2
    assert sc.events[0].set == {"surveillance.us_level": 0.05, "isisk.attack_rate": 4.0}


def test_integer_valued_float_is_accepted_for_int_param(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, "s.toml", "[isisk]\ninitial_fighters = 3000.0\n"))
    assert sc.params["isisk.initial_fighters"] == 3000
    assert isinstance(sc.params["isisk.initial_fighters"], int)


# --- extends -------------------------------------------------------------------


def test_extends_chain_merges_header_params_events_and_regions(tmp_path: Path) -> None:
    write(tmp_path, "full.toml", FULL)
    write(
        tmp_path,
        "mid/child.toml",
        """
[scenario]
extends = "../full.toml"
description = "child"
steps = 30
[isisk]
attack_rate = 4
[[events]]
step = 1
label = "Child event"
""",
    )
    grand = write(
        tmp_path,
        "mid/deeper/grand.toml",
        """
[scenario]
extends = "../child.toml"
seed = 99
[isisk]
defector_recruitment = 1.5
[[regions]]
name = "west"
x0 = 0
x1 = 0.5
y0 = 0
y1 = 1
[[regions]]
name = "east"
x0 = 0.5
x1 = 1
y0 = 0
y1 = 1
""",
    )
    sc = load_scenario(grand)
    assert sc.name == "grand"  # the name defaults to the loaded file's, not the parent's
    assert (sc.description, sc.steps, sc.seed, sc.replicates) == ("child", 30, 99, 3)
    assert sc.params["isisk.initial_fighters"] == 2500  # from full
    assert sc.params["isisk.attack_rate"] == 4.0  # from child
    assert sc.params["isisk.defector_recruitment"] == 1.5  # grand wins
    assert [r.name for r in sc.regions] == ["west", "east"]  # replaced entirely
    assert sc.regions[1].isisk_share == 0.0
    assert [(e.step, e.label) for e in sc.events] == [
        (1, "Prison break"),
        (1, "Child event"),
        (6, "Late event"),
    ]


def test_parent_event_with_region_needs_the_region_in_the_child(tmp_path: Path) -> None:
    write(tmp_path, "full.toml", FULL)
    child = write(
        tmp_path,
        "child.toml",
        """
[scenario]
extends = "full.toml"
[[regions]]
name = "west"
x0 = 0
x1 = 0.5
y0 = 0
y1 = 1
""",
    )
    err = error_of(child)
    assert err.file == str(tmp_path / "full.toml") or err.file.endswith("full.toml")
    assert err.key == "events[1].region"
    assert "unknown region 'east'" in err.reason and "west" in err.reason


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path, "a.toml", '[scenario]\nextends = "b.toml"\n')
    write(tmp_path, "b.toml", '[scenario]\nextends = "a.toml"\n')
    err = error_of(a)
    assert err.key == "extends"
    assert err.reason.startswith("cycle: ")
    assert "a.toml" in err.reason and "b.toml" in err.reason


def test_extends_itself_is_a_cycle(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "a.toml", '[scenario]\nextends = "a.toml"\n'))
    assert err.key == "extends" and "cycle" in err.reason


def test_extends_missing_target(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", '[scenario]\nextends = "nope.toml"\n')
    err = error_of(path)
    assert (err.file, err.key) == (str(path), "extends")
    assert "'nope.toml'" in err.reason and "does not exist" in err.reason


def test_error_in_parent_names_the_parent(tmp_path: Path) -> None:
    write(tmp_path, "parent.toml", "[isisk]\nattack_rat = 1\n")
    err = error_of(write(tmp_path, "child.toml", '[scenario]\nextends = "parent.toml"\n'))
    assert err.file.endswith("parent.toml")
    assert err.key == "isisk.attack_rat"


# --- errors --------------------------------------------------------------------

ERRORS = [
    # (file text, key, text in reason)
    (
        "[isisk]\ndefector_recrutment = 1\n",
        "isisk.defector_recrutment",
        "did you mean 'isisk.defector_recruitment'",
    ),
    ("[isis]\ninitial_fighters = 1\n", "isis", "did you mean 'isisk'"),
    ("[scenario]\nstep = 10\n", "scenario.step", "did you mean 'steps'"),
    ("[[events]]\nstep = 1\nlabell = 'x'\n", "events[0].labell", "did you mean 'label'"),
    (
        "[[regions]]\nname = 'a'\nx0 = 0\nx1 = 1\ny0 = 0\ny1 = 1\ncapitol = true\n",
        "regions[0].capitol",
        "did you mean 'capital'",
    ),
    ("initial_fighters = 3\n", "initial_fighters", "[taliban]"),
    ("[isisk]\ninitial_fighters = 'many'\n", "isisk.initial_fighters", "expected an integer"),
    ("[isisk]\ninitial_fighters = 1.5\n", "isisk.initial_fighters", "expected an integer"),
    ("[taliban]\npatrol = 1\n", "taliban.patrol", "expected true or false"),
    ("[civilians]\nmovement = 'flght'\n", "civilians.movement", "did you mean 'flight'"),
    ("[scenario]\nsteps = '10'\n", "scenario.steps", "expected an integer, got '10'"),
    ("[scenario]\nname = 5\n", "scenario.name", "expected a string"),
    ("world = 3\n", "world", "expected a table"),
    (
        "[isisk]\ndefector_recruitment = 500\n",
        "isisk.defector_recruitment",
        "above the maximum 100",
    ),
    ("[legitimacy]\ninitial = -0.1\n", "legitimacy.initial", "below the minimum 0"),
    ("[scenario]\nsteps = 0\n", "scenario.steps", "must be at least 1"),
    ("[scenario]\nreplicates = 0\n", "scenario.replicates", "must be at least 1"),
    ("[scenario]\nseed = -1\n", "scenario.seed", "must be at least 0"),
    ("[scenario]\nstart_date = '2021-13-01'\n", "scenario.start_date", "expected a date"),
    ("[scenario]\nstart_date = 2021-08-15T10:00:00\n", "scenario.start_date", "date-time"),
    (
        "[scenario]\nsteps = 10\n[[events]]\ndate = 2022-08-31\nlabel = 'x'\n",
        "events[0].date",
        "after the end of the run",
    ),
    (
        "[scenario]\nsteps = 10\n[[events]]\nstep = 11\nlabel = 'x'\n",
        "events[0].step",
        "after the end of the run (step 10",
    ),
    (
        "[scenario]\nstart_date = 2021-08-15\n[[events]]\ndate = 2021-01-01\nlabel = 'x'\n",
        "events[0].date",
        "before the start date",
    ),
    ("[[events]]\nstep = -1\nlabel = 'x'\n", "events[0].step", "must be at least 0"),
    (
        "[[events]]\nstep = 1\nlabel = 'x'\nset = { 'isisk.atack_rate' = 1 }\n",
        "events[0].set.isisk.atack_rate",
        "did you mean 'isisk.attack_rate'",
    ),
    (
        "[[events]]\nstep = 1\nlabel = 'x'\nset = { 'isisk.attack_rate' = -1 }\n",
        "events[0].set.isisk.attack_rate",
        "below the minimum",
    ),
    (
        "[[events]]\nstep = 1\ndate = 2021-09-01\nlabel = 'x'\n",
        "events[0]",
        "exactly one of date or step",
    ),
    ("[[events]]\nlabel = 'x'\n", "events[0]", "exactly one of date or step"),
    ("[[events]]\nstep = 1\n", "events[0].label", "required"),
    (
        "[[events]]\nstep = 1\nlabel = 'x'\nadd_isisk_fighters = -5\n",
        "events[0].add_isisk_fighters",
        "at least 0",
    ),
    (
        "[[events]]\nstep = 1\nlabel = 'x'\nregion = 'east'\n",
        "events[0].region",
        "unknown region 'east'",
    ),
    ("[events]\nstep = 1\n", "events", "[[events]]"),
    (
        "[[regions]]\nname = 'a'\nx0 = 0.5\nx1 = 0.2\ny0 = 0\ny1 = 1\n",
        "regions[0]",
        "x0 must be less than x1",
    ),
    ("[[regions]]\nname = 'a'\nx0 = 0\nx1 = 1.5\ny0 = 0\ny1 = 1\n", "regions[0].x1", "at most 1"),
    (
        "[[regions]]\nname = 'a'\nx0 = 0\nx1 = 1\ny0 = 0\ny1 = 1\n"
        "[[regions]]\nname = 'a'\nx0 = 0\nx1 = 1\ny0 = 0\ny1 = 1\n",
        "regions[1].name",
        "duplicate region",
    ),
    ("[isisk]\ninitial_fighters = \n", "toml", "(at line 2, column"),
    ("[scenario\n", "toml", "at line 1"),
]


@pytest.mark.parametrize(("text", "key", "reason"), ERRORS)
def test_errors_are_one_line_with_file_key_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, "bad.toml", text)
    err = error_of(path)
    assert err.file == str(path)
    assert err.key == key
    assert reason in err.reason
    assert str(err) == f"{path}: {key}: {err.reason}"
    assert "\n" not in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.toml")
    assert (err.key, err.reason) == ("file", "no such file")


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    assert error_of(tmp_path).key == "file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[scenario]\nname = "caf\xe9"\n'.encode("latin-1"))
    err = error_of(path)
    assert err.key == "toml" and "UTF-8" in err.reason


# --- overrides -----------------------------------------------------------------


def test_overrides_are_applied_last_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "full.toml", FULL)
    sc = load_scenario(
        path, {"isisk.initial_fighters": 3000, "civilians.movement": "static", "scenario.seed": 11}
    )
    assert sc.params["isisk.initial_fighters"] == 3000
    assert sc.params["civilians.movement"] == "static"
    assert sc.seed == 11

    err = error_of(path, {"isisk.initial_fighter": 1})
    assert (err.file, err.key) == (str(path), "isisk.initial_fighter")
    assert "did you mean 'isisk.initial_fighters'" in err.reason
    err = error_of(path, {"isisk.initial_fighters": -1})
    assert (err.file, err.key) == (str(path), "isisk.initial_fighters")
    err = error_of(path, {"scenario.steps": 0})
    assert err.key == "scenario.steps"
    err = error_of(path, {"scenario.extends": "x.toml"})
    assert err.key == "scenario.extends"


def test_shortening_the_run_by_override_drops_later_events(tmp_path: Path) -> None:
    path = write(tmp_path, "full.toml", FULL)
    sc = load_scenario(path, {"scenario.steps": 3})
    assert sc.steps == 3
    assert [e.label for e in sc.events] == ["Prison break"]


def test_start_date_override_moves_dated_events(tmp_path: Path) -> None:
    path = write(tmp_path, "full.toml", FULL)
    sc = load_scenario(path, {"scenario.start_date": dt.date(2021, 8, 29)})
    assert {e.label: e.step for e in sc.events} == {"Prison break": 1, "Late event": 4}


def test_parse_assignment() -> None:
    assert parse_assignment("isisk.initial_fighters=3000") == ("isisk.initial_fighters", 3000)
    assert parse_assignment("civilians.movement=static") == ("civilians.movement", "static")
    assert parse_assignment("a.b = 0.5") == ("a.b", 0.5)
    assert parse_assignment("a.b=true") == ("a.b", True)
    assert parse_assignment('a.b="x y"') == ("a.b", "x y")
    assert parse_assignment("scenario.start_date=2021-09-01") == (
        "scenario.start_date",
        dt.date(2021, 9, 1),
    )
    for bad in ("isisk.initial_fighters", "=3"):
        with pytest.raises(ValueError, match="NAME=VALUE"):
            parse_assignment(bad)


# --- writing -------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    text = FULL.replace(
        '"A scenario with everything"', '"Quotes \\" and \\\\ backslash, ünïcode, tab\\t"'
    )
    original = load_scenario(
        write(tmp_path, "full.toml", text),
        {"civilians.movement": "flight", "legitimacy.initial": 0.1 + 0.2},
    )
    written = scenario_to_toml(original)
    tomllib.loads(written)  # valid TOML
    again = load_scenario(write(tmp_path, "again.toml", written))
    assert dataclasses.replace(again, source=None) == dataclasses.replace(original, source=None)


def test_round_trip_of_defaults(tmp_path: Path) -> None:
    original = load_scenario(write(tmp_path, "d.toml", "[scenario]\n"))
    again = load_scenario(write(tmp_path, "d2.toml", scenario_to_toml(original)))
    assert dataclasses.replace(again, source=None, name="d") == dataclasses.replace(
        original, source=None
    )


def test_child_file_sets_only_the_given_params(tmp_path: Path) -> None:
    base = write(tmp_path, "full.toml", FULL)
    sc = load_scenario(base)
    text = scenario_to_toml(
        dataclasses.replace(sc, name="saved", description="mine"),
        extends="full.toml",
        only={"isisk.attack_rate": 4, "scenario.replicates": 2},
    )
    data = tomllib.loads(text)
    assert data["scenario"] == {
        "name": "saved",
        "description": "mine",
        "extends": "full.toml",
        "replicates": 2,
    }
    assert data["isisk"] == {"attack_rate": 4.0}
    assert "events" not in data and "regions" not in data
    child = load_scenario(write(tmp_path, "saved.toml", text))
    expected = load_scenario(base, {"isisk.attack_rate": 4, "scenario.replicates": 2})
    assert dataclasses.replace(child, source=None) == dataclasses.replace(
        expected, name="saved", description="mine", source=None
    )


def test_writing_refuses_unknown_params() -> None:
    from simulation.scenario.core import make_scenario

    with pytest.raises(ScenarioError, match="did you mean"):
        scenario_to_toml(make_scenario(), extends="x.toml", only={"isisk.atack_rate": 1})
