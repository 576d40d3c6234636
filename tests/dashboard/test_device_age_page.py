"""In Chromium: a late alert shows its age on the console; a home's sensors behind a live hub show as online.

Both viewports (1366x768, 390x844) and both languages; no emoji glyph on the page. Screenshots go to
``test-artifacts/dashboard/device-age-*.png``.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from dashboard.app import create_app
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, SHOTS, WEB, pytestmark
from tests.dashboard.world import PASSWORD, platform, seed, serve, settings

__all__ = ["pytestmark"]
SCRIPT = Path(__file__).parent / "e2e" / "device_age.mjs"
SENSORS = (
    ("r1-motion-kitchen", "motion", "kitchen", 1),
    ("r1-door-front", "door", "front", 20),
    ("r1-smoke", "smoke", "kitchen", None),
)


def _home(conn: psycopg.Connection[Any]) -> None:
    """Give r1 a hub (heartbeat a minute ago) with three sensors in their rhythm, and a bracelet on the wrist."""
    now = datetime.now(UTC)
    conn.execute("INSERT INTO devices (id, resident_id, kind) VALUES ('r1-hub', 'r1', 'hub')")
    conn.execute(
        "INSERT INTO device_status (ts, device_id, seq, received_at, state) VALUES (%s, 'r1-hub', 1, now(), 'online')",
        (now - timedelta(minutes=1),),
    )
    conn.execute(
        "INSERT INTO telemetry (ts, device_id, seq, resident_id, received_at, battery, worn)"
        " VALUES (%s, 'b-r1', 1, 'r1', now(), 64, true)",
        (now - timedelta(seconds=30),),
    )
    for seq, (sensor, kind, room, hours_ago) in enumerate(SENSORS, start=2):
        conn.execute(
            "INSERT INTO devices (id, resident_id, kind, sensor_kind, room, parent_id)"
            " VALUES (%s, 'r1', 'sensor', %s, %s, 'r1-hub')",
            (sensor, kind, room),
        )
        if hours_ago is not None:
            conn.execute(
                "INSERT INTO events (ts, device_id, seq, sensor_id, resident_id, received_at, kind)"
                " VALUES (%s, 'r1-hub', %s, %s, 'r1', now(), %s)",
                (now - timedelta(hours=hours_ago), seq, sensor, kind),
            )


@pytest.fixture
def base(db_url: str, mqtt_broker: Any, topic_prefix: str) -> Iterator[str]:
    """Serve the dashboard with a 16-hour-old SOS raised now and r1's home in order."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        _home(conn)
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    bus = MqttConnection(BrokerAddress.from_url(mqtt_broker.url), f"age-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        pressed = datetime.now(UTC) - timedelta(hours=16)
        world.alerts.handle(
            [
                Finding(
                    kind="sos",
                    resident_id="r1",
                    at=pressed,
                    explanation="SOS",
                    explanation_zh="紧急呼叫",
                    device_id="b-r1",
                )
            ]
        )
        dash = settings(alerts_topic=f"{root}/alerts", device_topic_prefix=topic_prefix, tile_url=NO_TILES)
        app = create_app(dash, pool, subscriber=Subscriber(bus), actions=world.actions())
        try:
            with serve(app) as base:
                yield base
        finally:
            bus.close()


def test_late_alert_age_and_true_device_states_in_both_languages_and_sizes(base: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env["CHROMIUM"] = CHROMIUM
    done = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240, check=False)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("ok"), (result, done.stderr[-2000:])
    for name, look in result["looks"].items():
        zh = name.startswith("zh")
        assert ("按下于 16 小时前，延迟送达" if zh else "pressed 16 h ago, delivered late") in look["queueAge"], name
        assert ("服务承诺从平台收到时" if zh else "promise clock runs from when the platform received it") in look[
            "caseAge"
        ]
        states = {b["text"].split(" ")[0]: b["state"] for b in look["badges"]}
        assert states == {
            "b-r1": "online",
            "r1-door-front": "online",
            "r1-hub": "online",
            "r1-motion-kitchen": "online",
            "r1-smoke": "online",
        }, (name, look["badges"])
        assert all(b["icons"] >= 1 for b in look["badges"]), "every state has its icon"
        assert not look["offlineWord"], (name, "no offline word for a home whose hub is online")
        assert look["emoji"] == [], (name, look["emoji"])
        assert look["errors"] == [], (name, look["errors"])
