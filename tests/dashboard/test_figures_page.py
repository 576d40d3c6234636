"""The figures page and the console map in headless Chromium, over the hand-computed alerts of test_figures.

Screenshots go to ``test-artifacts/dashboard/figures``: figures-zh.png, figures-en.png (1366x768),
figures-phone-zh.png, figures-phone-en.png (390x844), console-map.png, and figures-empty.png of a world
without alerts. Each look checks one unit per quantity (seconds to acknowledge, minutes to arrive, no
clock-like "01:14"), chart headings clear of their plots, nothing wider than the screen, and one language.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from dashboard.app import create_app
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, SHOTS, WEB, _free_port, pytestmark  # noqa: F401
from tests.dashboard.test_figures import build
from tests.dashboard.world import PASSWORD, seed, serve, settings

SHOTS_HERE = SHOTS / "figures"


@contextmanager
def _serve(db_url: str, *, alerts: bool) -> Iterator[str]:
    """Serve the dashboard over the seeded world (and the table's alerts), with GCJ-02 tiles; yield its URL."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        if alerts:
            build(conn, until=datetime.now(UTC))
    with ConnectionPool(db_url, min_size=1, max_size=4, open=True) as pool:
        dash = settings(tile_url=NO_TILES, tile_crs="gcj02", tile_attribution="© test tiles")
        with serve(create_app(dash, pool)) as base:
            yield base


def _browse(base: str, **extra: str) -> dict[str, Any]:
    """Run the browser script against ``base``; return its result."""
    SHOTS_HERE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS_HERE), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env |= {"CHROMIUM": CHROMIUM, **extra}
    script = os.path.join(os.path.dirname(__file__), "e2e", "figures_map.mjs")
    done = subprocess.run(["node", script], env=env, capture_output=True, text=True, timeout=120, check=False)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"], result.get("error")
    return result


def test_figures_page_and_map(db_url: str) -> None:
    """The tables list each group with its failures; the trend is drawn; the map has its markers and credit."""
    with _serve(db_url, alerts=True) as base:
        result = _browse(base)
    assert result["errors"] == []
    assert len(result["severity"]) == 2 and result["severity"][0].startswith("紧急")
    assert [row.split("\t")[0] for row in result["station"]] == ["东湖服务站 · 城市", "西山服务站 · 农村"]
    assert [row.split("\t")[0] for row in result["area"]] == ["城市15分钟", "农村30分钟"]
    assert [row.split("\t")[0] for row in result["areaEn"]] == ["city 15 min", "countryside 30 min"]
    assert any("62.5% (5/8)" in n for n in result["numbers"]), result["numbers"]
    assert result["trendCanvas"] >= 1
    assert result["mapMarkers"] >= 3
    assert "© test tiles" in result["attribution"]
    for name in ("figures-zh", "figures-en", "figures-phone-zh", "figures-phone-en", "console-map"):
        assert (SHOTS_HERE / f"{name}.png").stat().st_size > 5000
    looks = result["looks"]
    for name, unit_s, unit_min in (
        ("figures-zh", "秒", "分钟"),
        ("figures-phone-zh", "秒", "分钟"),
        ("figures-en", " s", " min"),
        ("figures-phone-en", " s", " min"),
    ):
        found = looks[name]
        assert found["clockTimes"] == [], (name, found["clockTimes"])  # never "01:14" for a duration
        assert found["ackMedian"].endswith(unit_s) and found["arriveMedian"].endswith(unit_min), (name, found)
        said = [*found["tableAck"], *found["tableArrive"]]
        assert all(re.fullmatch(r"[\d.]+ ?(秒|分钟|s|min)|—|未达到|not reached", cell) for cell in said), (name, said)
        assert found["overlaps"] == [], (name, found["overlaps"])
        assert found["overflow"] <= 1, (name, found["overflow"])
        assert found["chartEmpty"] == [], (name, found["chartEmpty"])
        if name.endswith("zh"):
            assert found["latin"] == [], (name, found["latin"])
        else:
            assert found["cjk"] == [], (name, found["cjk"])
    # the trend's tooltip says a share as the cards do: percent with one decimal and its denominator
    for tip in (result["tooltipZh"], result["tooltipEn"]):
        assert re.search(r"\d+(\.\d)?% \(\d+/\d+\)", tip), tip


def test_figures_page_without_alerts(db_url: str) -> None:
    """With nothing to judge every table says there is no data, and nothing is made up."""
    with _serve(db_url, alerts=False) as base:
        result = _browse(base, EMPTY="1")
    assert result["errors"] == []
    assert result["empty"] == ["暂无数据"] * 3
    assert result["severity"] == result["station"] == result["area"] == []
    assert any("暂无数据" in n for n in result["numbers"]), result["numbers"]
    assert sorted(result["looks"]["figures-empty"]["chartEmpty"]) == ["kinds", "trend"], "each empty chart says so"
    assert (SHOTS_HERE / "figures-empty.png").stat().st_size > 5000
