"""Runs on the map: the record by province, its map, compare's difference map, bad input.

A small map scenario (60 x 50 cells, radii 3, so the border is 5 cells) keeps
these fast; the mechanisms' directions are in tests/model/test_land.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.experiments.loading import load_run
from simulation.experiments.rundir import PROVINCES_FILE
from simulation.model.by_province import PROVINCE_METRIC_NAMES, SANCTUARY
from simulation.scenario.provinces import PROVINCES
from tests import tiny_runs
from tests.tiny_runs import one_error_line, write

MAP = """[scenario]
name = "{name}"
start_date = 2021-08-15
steps = 12
seed = 5
replicates = 2

[world]
map = "afghanistan"
width = 60
height = 50

[civilians]
vision = 3
shock_radius = 2

[taliban]
vision = 3
hunt_radius = 3
collateral_radius = 1

[isisk]
initial_fighters = 3000
attack_rate = 20.0
home_range = 4
{extra}
[[regions]]
name = "east"
provinces = ["Nangarhar", "Kunar"]
isisk_share = 0.8

[[regions]]
name = "kabul"
provinces = ["Kabul"]
isisk_share = 0.1
capital = true
"""


def map_scenario(folder: Path, name: str = "tinymap", extra: str = "") -> Path:
    return write(folder, f"{name}.toml", MAP.format(name=name, extra=extra))


def invoke(*args: object):
    return tiny_runs.invoke(*args, catch_exceptions=True)


@pytest.fixture(scope="module")
def map_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("map")
    result = invoke("run", map_scenario(folder), "--out", folder / "out", "--quiet", "-j", "1")
    assert result.exit_code == 0, result.output
    return folder / "out" / "tinymap"


def test_a_run_on_the_map_saves_its_record_by_province_and_its_map(map_run: Path) -> None:
    assert (map_run / PROVINCES_FILE).is_file()
    assert (map_run / "plots" / "map.png").stat().st_size > 10_000
    run = load_run(map_run)
    table = run.provinces
    assert table is not None
    assert list(table.columns) == [
        *("replicate", "seed", "step", "date", "province"),
        *PROVINCE_METRIC_NAMES,
    ]
    assert sorted(table["province"].unique()) == sorted([*PROVINCES, SANCTUARY])
    assert len(table) == 2 * 13 * 35  # replicates x (steps + 1) x places


def test_the_record_by_province_adds_up_to_the_national_record(map_run: Path) -> None:
    run = load_run(map_run)
    assert run.provinces is not None
    summed = run.provinces.groupby(["replicate", "step"])[
        ["attacks", "attack_deaths", "isisk_fighters", "taliban_units", "arrests"]
    ].sum()
    national = run.timeseries.set_index(["replicate", "step"])
    assert (summed["attacks"] == national["attacks"]).all()
    assert (summed["attack_deaths"] == national["attack_deaths"]).all()
    assert (summed["isisk_fighters"] == national["isisk_fighters"]).all()
    assert (summed["taliban_units"] == national["enforcers"]).all()
    np.testing.assert_allclose(summed["arrests"], national["arrests"], rtol=1e-9, atol=1e-6)
    active = run.provinces.groupby(["replicate", "step"])["active_civilians"].sum()
    np.testing.assert_allclose(active, national["active_civilians"], rtol=1e-9, atol=1e-6)
    assert summed["attacks"].sum() > 0  # the test has something to add up


def test_a_damaged_record_by_province_is_refused(map_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(map_run, copy)
    path = copy / PROVINCES_FILE
    path.write_bytes(path.read_bytes().replace(b",0,", b",1,", 1))
    result = invoke("plot", copy)
    line = one_error_line(result)
    assert PROVINCES_FILE in line and "sha256" in line


def test_resume_redraws_a_missing_map(map_run: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "again"
    shutil.copytree(map_run.parent.parent, folder)
    (folder / "out" / "tinymap" / "plots" / "map.png").unlink()
    scenario = folder / "tinymap.toml"
    result = invoke("run", scenario, "--out", folder / "out", "--quiet", "-j", "1", "--resume")
    assert result.exit_code == 0, result.output
    assert (folder / "out" / "tinymap" / "plots" / "map.png").is_file()


def test_compare_on_the_map_draws_a_difference_map(tmp_path: Path) -> None:
    a = map_scenario(tmp_path, "open")
    b = map_scenario(tmp_path, "closed", extra="border_openness = 0.0\n")
    out = tmp_path / "cmp"
    result = invoke("compare", a, b, "--out", out, "--quiet", "-j", "1")
    assert result.exit_code == 0, result.output
    assert (out / "difference_map.png").stat().st_size > 10_000
    comparison = pd.read_json(out / "comparison.json", typ="series")
    assert "difference_map.png" in comparison["files"]


def test_compare_on_the_grid_draws_no_difference_map(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", tiny_run, tiny_run, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "difference.png").is_file() and not (out / "difference_map.png").exists()


# --- bad input: one line, file: key: reason, exit 2 ------------------------------------


def test_a_misspelt_province_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", MAP.format(name="bad", extra="").replace("Kunar", "Kunarr"))
    line = one_error_line(invoke("validate", path))
    assert line.startswith(f"{path}: regions[0].provinces: ")
    assert "Kunarr" in line and "did you mean 'Kunar'" in line


def test_a_box_region_on_the_map_is_refused(tmp_path: Path) -> None:
    text = MAP.format(name="bad", extra="") + (
        '\n[[regions]]\nname = "box"\nx0 = 0.1\nx1 = 0.2\ny0 = 0.1\ny1 = 0.2\n'
    )
    line = one_error_line(invoke("validate", write(tmp_path, "bad.toml", text)))
    assert "regions[2]" in line and "provinces" in line


def test_provinces_on_the_abstract_grid_are_refused(tmp_path: Path) -> None:
    text = MAP.format(name="bad", extra="").replace('map = "afghanistan"\n', "")
    line = one_error_line(invoke("validate", write(tmp_path, "bad.toml", text)))
    assert "regions[0].provinces" in line and "world.map" in line


def test_a_grid_too_small_for_the_map_is_refused(tmp_path: Path) -> None:
    path = map_scenario(tmp_path)
    line = one_error_line(invoke("validate", path, "--set", "world.width=15"))
    assert "world.width" in line and "border" in line
