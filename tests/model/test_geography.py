"""The shipped map of Afghanistan (simulation/model/data/afghanistan.json) and its raster."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy.stats import spearmanr

from simulation.model import geography
from simulation.model.geography import PROVINCES, aspect_height, rasterize

REPO = Path(__file__).resolve().parents[2]

#: The province names of the package as listed in the research notes (geography.md,
#: section 1), with "Urōzgān" normalised to "Uruzgan".
EXPECTED = (
    "Badakhshan", "Badghis", "Baghlan", "Balkh", "Bamyan", "Daykundi", "Farah", "Faryab",
    "Ghazni", "Ghor", "Helmand", "Herat", "Jowzjan", "Kabul", "Kandahar", "Kapisa", "Khost",
    "Kunar", "Kunduz", "Laghman", "Logar", "Nangarhar", "Nimruz", "Nuristan", "Paktia",
    "Paktika", "Panjshir", "Parwan", "Samangan", "Sar-e Pol", "Takhar", "Uruzgan", "Wardak",
    "Zabul",
)  # fmt: skip

#: (lon, lat) of cities and the province they are in (None: outside Afghanistan).
CITIES = {
    "Kabul": ((69.17, 34.53), "Kabul"),
    "Herat": ((62.20, 34.35), "Herat"),
    "Jalalabad": ((70.45, 34.43), "Nangarhar"),
    "Asadabad": ((71.15, 34.87), "Kunar"),
    "Kandahar": ((65.71, 31.61), "Kandahar"),
    "Mazar-e-Sharif": ((67.11, 36.71), "Balkh"),
    "Kunduz": ((68.86, 36.73), "Kunduz"),
    "Peshawar": ((71.58, 34.01), None),
    "Quetta": ((66.99, 30.18), None),
    "Dushanbe": ((68.78, 38.56), None),
}


def _map(width: int) -> geography.ProvinceMap:
    return rasterize(width, aspect_height(width))


def _tool() -> ModuleType:
    path = REPO / "tools" / "make_provinces.py"
    spec = importlib.util.spec_from_file_location("make_provinces", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the data file ---------------------------------------------------------------------


def test_the_34_provinces_are_the_packages() -> None:
    assert PROVINCES == EXPECTED
    records = geography.load_provinces()["provinces"]
    assert [r["name"] for r in records] == list(EXPECTED)
    uruzgan = next(r for r in records if r["name"] == "Uruzgan")
    assert uruzgan["source_name"] == "Urōzgān"


def test_iso_codes_are_unique_and_well_formed() -> None:
    codes = [r["iso"] for r in geography.load_provinces()["provinces"]]
    assert len(set(codes)) == 34
    assert all(re.fullmatch(r"AF-[A-Z]{3}", c) for c in codes), codes
    by_name = {r["name"]: r["iso"] for r in geography.load_provinces()["provinces"]}
    assert by_name["Badakhshan"] == "AF-BDS" and by_name["Zabul"] == "AF-ZAB"


def test_population_total_is_nsias() -> None:
    records = geography.load_provinces()["provinces"]
    assert 32e6 < sum(r["population"] for r in records) < 35e6
    flagged = {r["name"] for r in records if "assumption" in r.get("population_note", "")}
    assert flagged == {"Baghlan", "Kapisa"}
    assert np.array_equal(_map(80).population, [r["population"] for r in records])


def test_rings_are_closed_and_big_enough() -> None:
    for record in geography.load_provinces()["provinces"]:
        for ring in record["rings"]:
            assert len(ring) >= 4 and ring[0] == ring[-1], record["name"]
            assert geography.ring_area(np.array(ring)) > 0.01, record["name"]


def test_the_data_file_is_small_and_its_hash_is_in_the_note() -> None:
    path = REPO / "simulation" / "model" / "data" / "afghanistan.json"
    assert path.stat().st_size < 150_000
    source = json.loads(path.read_text(encoding="utf-8"))["source"]
    note = (REPO / "docs" / "data" / "provinces.md").read_text(encoding="utf-8")
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    assert source["sha256"] in note
    assert f"{source['vertices_before']:,}" in note and f"{source['vertices_after']:,}" in note


# -- the raster ------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 160])
def test_every_province_has_a_cell(width: int) -> None:
    m = _map(width)
    assert m.province.shape == (width, aspect_height(width)) and m.province.dtype == np.int16
    assert m.cell_counts().min() >= 1
    assert m.assigned_by_centroid == ()


def test_a_coarse_grid_gives_tiny_provinces_their_nearest_cell() -> None:
    m = _map(20)
    assert m.assigned_by_centroid  # some province held no cell centre at this size
    assert m.cell_counts().min() >= 1


@pytest.mark.parametrize("city", sorted(CITIES))
def test_cities_are_in_their_province(city: str) -> None:
    (lon, lat), province = CITIES[city]
    assert geography.province_of_lonlat(lon, lat) == province
    m = _map(160)
    x, y = m.cell_of_lonlat(lon, lat)
    assert m.province_at(x, y) == province
    assert (m.province[x, y] == -1) == (province is None)


def test_the_grid_runs_east_and_north() -> None:
    m = _map(80)
    kabul, herat = m.cell_of_lonlat(69.17, 34.53), m.cell_of_lonlat(62.20, 34.35)
    mazar, kandahar = m.cell_of_lonlat(67.11, 36.71), m.cell_of_lonlat(65.71, 31.61)
    assert kabul[0] > herat[0] and mazar[1] > kandahar[1]
    badakhshan = m.cells_of("Badakhshan")
    assert badakhshan[:, 0].max() == np.nonzero(m.province >= 0)[0].max()  # the Wakhan, east
    with pytest.raises(ValueError, match="off the map"):
        m.cell_of_lonlat(80.0, 34.0)


def test_cells_are_about_square_on_the_ground() -> None:
    m = _map(120)
    ratio = m.lon_step * geography.LON_SCALE / m.lat_step
    assert 0.97 < ratio < 1.03


@pytest.mark.parametrize("width", [80, 160])
def test_cell_counts_track_areas(width: int) -> None:
    m = _map(width)
    counts = m.cell_counts()
    areas = [sum(geography.ring_area(np.array(r)) for r in p["rings"])
             for p in geography.load_provinces()["provinces"]]  # fmt: skip
    assert spearmanr(counts, areas).statistic > 0.95
    order = [m.names[i] for i in np.argsort(counts)]
    assert {"Helmand", "Herat"} <= set(order[-5:])
    assert {"Kapisa", "Panjshir", "Logar"} <= set(order[:8])


def test_cells_of_and_province_at_agree() -> None:
    m = _map(80)
    cells = m.cells_of("Kunar")
    assert len(cells) == m.cell_counts()[m.index("Kunar")]
    assert all(m.province_at(int(x), int(y)) == "Kunar" for x, y in cells)


def test_an_unknown_province_suggests_the_closest() -> None:
    with pytest.raises(KeyError, match="Nangarhar"):
        _map(80).index("Nangahar")


def test_rasterize_is_cached_deterministic_and_read_only() -> None:
    m = _map(80)
    assert _map(80) is m
    fresh = rasterize.__wrapped__(80, aspect_height(80))
    assert fresh is not m
    for field in ("province", "lon", "lat", "population", "sanctuary"):
        assert np.array_equal(getattr(fresh, field), getattr(m, field)), field
    with pytest.raises(ValueError, match="read-only"):
        m.province[0, 0] = 3


# -- the sanctuary ---------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 160])
def test_the_sanctuary_lies_beyond_the_eastern_border(width: int) -> None:
    m = _map(width)
    xs, ys = np.nonzero(m.sanctuary)
    assert len(xs) > 0
    assert not (m.sanctuary & (m.province >= 0)).any()
    # the Durand line runs at 69.24-69.28 E beside South Waziristan (32.0-32.5 N)
    assert m.lon[xs].min() > 69.2
    assert m.lat[ys].min() >= 32.0 and m.lat[ys].max() <= 35.2
    assert m.lon[xs].max() < 72.8  # within reach of Kunar (71.66 E)
    assert m.sanctuary[m.cell_of_lonlat(71.1, 34.1)]  # Khyber, by Landi Kotal
    assert m.sanctuary[m.cell_of_lonlat(70.10, 33.90)]  # Kurram's Parachinar, in the beak
    assert m.sanctuary[m.cell_of_lonlat(69.57, 32.30)]  # Wana, South Waziristan
    assert not m.sanctuary[m.cell_of_lonlat(66.99, 30.18)]  # Quetta


# -- the tool that makes the data file -------------------------------------------------


def test_the_decoder_reads_echarts_encoding() -> None:
    tool = _tool()
    # "@" is 64: delta 0. "B" 66 -> 2 -> +1; "A" 65 -> 1 -> -1; "F" 70 -> 6 -> +3;
    # "C" 67 -> 3 -> -2; "Ĕ" (U+0114 = 276) -> 212 -> +106; "E" 69 -> 5 -> -3.
    assert tool.decode_ring("@@BAFCĔ@EB", (1024, 2048)) == [
        (1024, 2048), (1025, 2047), (1028, 2045), (1134, 2045), (1131, 2046),
    ]  # fmt: skip
    collection = {
        "type": "FeatureCollection", "UTF8Encoding": True,
        "features": [{"properties": {"name": "X"}, "geometry": {
            "type": "Polygon", "coordinates": ["@@BA"], "encodeOffsets": [[10, 20]]}}],
    }  # fmt: skip
    assert tool.decode(collection) == ({"X": [[(10, 20), (11, 19)]]}, 1024)


def test_simplify_keeps_shared_borders_identical() -> None:
    tool = _tool()
    # two squares of 1024 units (1 degree) sharing a wiggly border x = 1024
    border = [(1024, 0), (1025, 256), (1023, 512), (1030, 700), (1024, 1024)]
    left = [(0, 0), *border, (0, 1024), (0, 0)]
    right = [(2048, 1024), *border[::-1], (2048, 0), (2048, 1024)]
    out = tool.simplify({"L": [left], "R": [right]}, 0.005)
    kept_left = [p for p in out["L"][0] if p in border]
    kept_right = [p for p in out["R"][0] if p in border]
    assert sorted(kept_left) == sorted(kept_right)
    assert (1025, 256) not in kept_left  # 1/1024 degree off the chord: dropped
    assert (1030, 700) in kept_left  # 6/1024 degree off: kept
    tool.check(out)
