"""Property test (Hypothesis): any scenario file or override is run or refused cleanly.

Generated files mix valid and invalid keys from the parameter table, wrong
types, nested tables, NaN, infinity, huge numbers and odd strings. Each must
either validate and then run 2 steps, or make the CLI exit with status 2 and
one stderr line that starts with the file's path. Never a traceback, never
exit status 1.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.scenario import params as ptable
from simulation.scenario.schema import HEADER_FIELDS
from simulation.scenario.writer import format_toml_value
from tests import tiny_runs

#: Parameters whose valid values could make a 2-step run slow: kept small.
SIZES = {
    "world.width": [4, 9, 20, 21],
    "world.height": [4, 9, 20, 21],
    "isisk.initial_fighters": [0, 1, 500],
    "isisk.fighters_per_cell": [1, 25],
    "civilians.vision": [1, 3, 9, 10],
    "taliban.vision": [1, 3, 9, 10],
}

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**63, 10**20, 10**308, 10**309]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 0.5]),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["", "static", "floor", "x" * 300, "a\nb", "\ufeff"]),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def param_value(p: ptable.Param, wild: bool = True) -> st.SearchStrategy[Any]:
    """A value for ``p``: in range, or (``wild``) sometimes anything at all."""
    if p.name in SIZES:
        good = st.sampled_from(SIZES[p.name])
    elif p.choices:
        good = st.sampled_from(p.choices)
    elif p.kind is bool:
        good = st.booleans()
    elif p.kind is int:
        lo = int(p.min if p.min is not None else -10)
        good = st.integers(lo, min(int(p.max if p.max is not None else lo + 10), lo + 10))
    else:
        good = st.floats(p.min, p.max, allow_nan=False)
    return st.one_of(good, good, good, values) if wild else good


def pick(
    draw: st.DrawFn, wild: bool, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]
) -> Any:
    """``good``, or in a wild example one time in four ``bad``."""
    return draw(bad if wild and draw(st.integers(0, 3)) == 0 else good)


param_names = st.sampled_from([p.name for p in ptable.PARAMS])
misspelt = st.one_of(
    param_names.map(lambda n: n[:-1]),
    param_names.map(lambda n: n + "x"),
    st.text(min_size=1, max_size=10).map(lambda t: f"isisk.{t}"),
)


@st.composite
def params_table(draw: st.DrawFn, wild: bool) -> dict[str, dict[str, Any]]:
    """``{section: {key: value}}`` from valid and invalid parameter names."""
    out: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(0, 4))):
        if not pick(draw, wild, st.just(False), st.just(True)):
            p = ptable.get(draw(param_names))
            name, value = p.name, draw(param_value(p, wild))
        else:
            name, value = draw(misspelt), draw(values)
        section, _, key = name.partition(".")
        out.setdefault(section, {})[key or "x"] = value
    return out


@st.composite
def events(draw: st.DrawFn, wild: bool) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        ev: dict[str, Any] = {"label": pick(draw, wild, st.just("e"), st.sampled_from(["", 3]))}
        when = pick(
            draw, wild, st.sampled_from(["step", "date"]), st.sampled_from(["both", "none"])
        )
        if when in ("step", "both"):
            ev["step"] = pick(
                draw, wild, st.integers(0, 3), st.one_of(st.sampled_from([-1, 10**20]), values)
            )
        if when in ("date", "both"):
            ev["date"] = pick(
                draw,
                wild,
                st.dates(dt.date(2021, 8, 15), dt.date(2021, 9, 5)),
                st.one_of(st.dates(), values),
            )
        if draw(st.booleans()):
            sets = {}
            for _ in range(draw(st.integers(1, 2))):
                p = ptable.get(draw(param_names))
                sets[p.name] = draw(param_value(p, wild))
            ev["set"] = sets
        if draw(st.booleans()):
            ev["add_isisk_fighters"] = pick(
                draw,
                wild,
                st.integers(0, 300),
                st.one_of(st.sampled_from([-1, 10**20, 2**63]), values),
            )
        if draw(st.booleans()):
            ev["region"] = pick(draw, wild, st.just("r"), st.just("nowhere"))
        if draw(st.booleans()):
            ev["ramp_steps"] = pick(draw, wild, st.integers(0, 3), values)
        out.append(ev)
    return out


@st.composite
def regions(draw: st.DrawFn, wild: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 2))):
        frac = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, 0.99, 1.0]))
        r: dict[str, Any] = {"name": pick(draw, wild, st.just("rs"[i]), st.sampled_from(["r", ""]))}
        x0, y0 = draw(frac), draw(frac)
        r |= {"x0": x0, "x1": draw(st.floats(x0, 1)), "y0": y0, "y1": draw(st.floats(y0, 1))}
        for key in ("x0", "x1", "y0", "y1"):
            r[key] = pick(
                draw,
                wild,
                st.just(r[key]),
                st.one_of(st.sampled_from([math.nan, math.inf, 2.0]), values),
            )
        for key, strategy in (
            ("isisk_share", frac),
            ("hardship_shift", st.floats(-1, 1)),
            ("capital", st.booleans()),
        ):
            if draw(st.booleans()):
                r[key] = pick(draw, wild, strategy, values)
        out.append(r)
    return out


@st.composite
def header(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"steps": 3, "replicates": 1}
    good = {
        "steps": st.integers(1, 3),
        "seed": st.integers(0, 2**63 - 1),
        "replicates": st.integers(1, 2),
        "description": st.text(max_size=20),
        "start_date": st.dates(dt.date(2000, 1, 1), dt.date(2030, 1, 1)),
        "name": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=8
        ),
    }
    bad = {
        "start_date": st.dates(dt.date(9999, 12, 1)),
        "name": st.just("n" * 250),
        "extends": st.sampled_from(["missing.toml", "s.toml", "/dev/null"]),
    }
    for _ in range(draw(st.integers(0, 3))):
        key = pick(
            draw,
            wild,
            st.sampled_from(list(good)),
            st.sampled_from([*HEADER_FIELDS, "extends", "stepz"]),
        )
        out[key] = pick(draw, wild, good.get(key, values), st.one_of(bad.get(key, values), values))
    return out


def toml_text(data: dict[str, Any]) -> str:
    """``data`` as TOML: tables as ``[section]``, arrays of tables as ``[[name]]``."""
    lines: list[str] = []
    for name, table in data.items():
        if isinstance(table, list) and table and all(isinstance(t, dict) for t in table):
            for item in table:
                lines.append(f"[[{name}]]")
                lines += [
                    f"{format_toml_value(k)} = {format_toml_value(v)}" for k, v in item.items()
                ]
        elif isinstance(table, dict):
            lines.append(f"[{format_toml_value(name)}]")
            lines += [f"{format_toml_value(k)} = {format_toml_value(v)}" for k, v in table.items()]
        else:
            lines.insert(0, f"{format_toml_value(name)} = {format_toml_value(table)}")
    return "\n".join(lines) + "\n"


@st.composite
def scenario_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A file (on a 20x20 world unless drawn otherwise) and ``--set`` assignments."""
    wild = draw(st.booleans())
    data: dict[str, Any] = {
        "scenario": draw(header(wild)),
        "world": {"width": 20, "height": 20},
        "civilians": {"vision": 3},
        "taliban": {"vision": 3},
    }
    for section, table in draw(params_table(wild)).items():
        if isinstance(data.get(section), dict):
            data[section].update(table)
        else:
            data[section] = table
    if draw(st.booleans()):
        data["regions"] = draw(regions(wild))
    if draw(st.booleans()):
        data["events"] = draw(events(wild))
    if wild and draw(st.integers(0, 9)) == 0:  # a stray top-level value or section
        data[draw(st.sampled_from(["name", "width", "isis", "scenario"]))] = draw(values)
    sets = []
    for _ in range(draw(st.integers(0, 2))):
        p = ptable.get(draw(param_names))
        name = pick(draw, wild, st.just(p.name), st.one_of(misspelt, st.just("scenario.steps")))
        value = draw(param_value(p, wild) if name == p.name else values)
        sets.append(f"{name}={format_toml_value(value)}")
    return toml_text(data), sets


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario_files())
def test_any_file_runs_or_is_refused_in_one_line(case: tuple[str, list[str]]) -> None:
    text, sets = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "s.toml"
        path.write_text(text, encoding="utf-8")
        options = [a for s in sets for a in ("--set", s)]
        result = tiny_runs.invoke("validate", path, *options, catch_exceptions=True)
        assert result.exit_code in (0, 2), (
            text,
            sets,
            result.exit_code,
            result.output,
            repr(result.exception),
        )
        if result.exit_code == 2:
            lines = result.stderr.splitlines()
            assert len(lines) == 1, (text, sets, result.stderr)
            assert lines[0].startswith(f"{path}: "), (text, lines)
            assert "Traceback" not in result.stderr
            return
        assert result.stdout == f"OK {path}\n"
        run = tiny_runs.invoke(
            "run",
            path,
            *options,
            "--steps",
            2,
            "--replicates",
            1,
            "--workers",
            1,
            "--out",
            folder / "out",
            "--no-plots",
            "--quiet",
            catch_exceptions=True,
        )
        assert run.exit_code == 0, (text, sets, run.exit_code, run.stderr, repr(run.exception))
