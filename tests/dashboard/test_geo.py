"""The map's WGS-84 → GCJ-02 conversion (dashboard/static/geo.js) against reference points, and the tile presets.

The JavaScript is tested with ``node --test`` (tests/dashboard/geo.test.mjs); the expected values are
the published eviltransform test vectors and Beijing's Tiananmen, each checked here first against a
second implementation of the formula written independently in Python, so a wrong constant on either side
shows up as a disagreement.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from anxin.settings import Settings
from dashboard.app import _tile_origin
from dashboard.settings import TILE_SOURCES

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5  # degrees: about a metre

# (name, WGS-84, GCJ-02 as published): eviltransform's test vectors, and Tiananmen from the brief.
REFERENCES = (
    ("shanghai", (31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ("shenzhen", (22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ("beijing", (39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ("tiananmen", (39.90872, 116.39748), (39.91012, 116.40372)),  # rounded to 5 places
    ("london", (51.5007, -0.1246), (51.5007, -0.1246)),  # outside China: no offset
    ("tokyo", (35.6586, 139.7454), (35.6586, 139.7454)),
)


def gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Convert WGS-84 to GCJ-02: the Krasovsky ellipsoid's radii of curvature and the two offset series."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lat, lon
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0

    def waves(u: float) -> float:
        return sum(c * math.sin(f * u * math.pi) for c, f in ((20.0, 6.0), (20.0, 2.0))) * 2 / 3

    d_lat = -100 + 2 * x + 3 * y + 0.2 * y**2 + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + waves(x)
    d_lat += (20 * math.sin(y * math.pi) + 40 * math.sin(y * math.pi / 3)) * 2 / 3
    d_lat += (160 * math.sin(y * math.pi / 12) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    d_lon = 300 + x + 2 * y + 0.1 * x**2 + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + waves(x)
    d_lon += (20 * math.sin(x * math.pi) + 40 * math.sin(x * math.pi / 3)) * 2 / 3
    d_lon += (150 * math.sin(x * math.pi / 12) + 300 * math.sin(x * math.pi / 30)) * 2 / 3
    phi = math.radians(lat)
    w = math.sqrt(1 - ee * math.sin(phi) ** 2)
    meridian = a * (1 - ee) / w**3  # radius of curvature along the meridian
    normal = a / w  # along the prime vertical
    return lat + math.degrees(d_lat / meridian), lon + math.degrees(d_lon / (normal * math.cos(phi)))


@pytest.mark.parametrize(("name", "wgs", "gcj"), REFERENCES, ids=[r[0] for r in REFERENCES])
def test_python_formula_meets_the_references(name: str, wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    """The independent Python formula agrees with each published point."""
    assert gcj02(*wgs) == pytest.approx(gcj, abs=TOLERANCE), name


def test_the_offset_is_hundreds_of_metres_in_china() -> None:
    """The reason for all this: uncorrected markers would sit about 550 m off in Beijing."""
    lat, lon = gcj02(39.90872, 116.39748)
    metres = math.hypot((lat - 39.90872) * 111_320, (lon - 116.39748) * 111_320 * math.cos(math.radians(lat)))
    assert 400 < metres < 700


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_geo_js_meets_the_references() -> None:
    """geo.js agrees with the references and with the Python formula on a grid over China."""
    cases = [{"name": n, "wgs": w, "gcj": gcj, "tolerance": TOLERANCE} for n, w, gcj in REFERENCES]
    cases += [
        {"name": f"python {lat},{lon}", "wgs": (lat, lon), "gcj": gcj02(lat, lon), "tolerance": 1e-9}
        for lat in range(18, 54, 5)
        for lon in range(74, 136, 7)
    ]
    env = {**os.environ, "ANXIN_GEO_CASES": json.dumps(cases)}
    done = subprocess.run(
        ["node", "--test", "tests/dashboard/geo.test.mjs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 3" in done.stdout, done.stdout


def test_presets_name_their_datum_and_the_csp_allows_their_host() -> None:
    """AutoNavi is drawn in GCJ-02, OpenStreetMap in WGS-84; the CSP names each tile host."""
    assert TILE_SOURCES["autonavi"].crs == "gcj02"
    assert TILE_SOURCES["osm"].crs == "wgs84"
    assert _tile_origin(TILE_SOURCES["autonavi"].url) == "https://*.is.autonavi.com"
    assert _tile_origin(TILE_SOURCES["osm"].url) == "https://tile.openstreetmap.org"


def test_settings_choose_a_preset_and_override_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """ANXIN_MAP_TILES picks the preset; a URL or CRS of one's own replaces the preset's."""
    monkeypatch.setenv("ANXIN_MAP_TILES", "osm")
    monkeypatch.setenv("ANXIN_MAP_CENTER", "[39.90872, 116.39748]")
    settings = Settings()
    assert settings.map_center == (39.90872, 116.39748)
    tiles = TILE_SOURCES[settings.map_tiles].overridden(settings.tile_url, settings.tile_subdomains, settings.tile_crs)
    assert tiles == TILE_SOURCES["osm"]
    own = tiles.overridden("https://tiles.example.cn/{z}/{x}/{y}.png", crs="gcj02")
    assert (own.url, own.subdomains, own.crs) == ("https://tiles.example.cn/{z}/{x}/{y}.png", "", "gcj02")
