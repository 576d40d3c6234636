"""End to end in headless Chromium: MQTT SOS → alert service → broker → dashboard → browser, and back.

The platform here is wired in the test as the composition root wires it (ingest and detection stand-in:
an SOS event on the device topic becomes a finding); the browser is Debian's Chromium driven by
playwright-core from ``dashboard/web`` (``npm ci`` there). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from dashboard.app import create_app
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.world import PASSWORD, platform, seed, settings

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "dashboard" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "dashboard"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and (WEB / "node_modules" / "playwright-core").is_dir() and shutil.which("node")),
    reason="needs Debian's chromium, node, and `npm ci` in dashboard/web",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sos_bridge(bus: MqttConnection, topic_prefix: str, world: Any) -> None:
    """Stand in for ingest + detection: an SOS event on a device topic becomes a finding at once."""

    def on_event(topic: str, payload: bytes) -> None:
        body = json.loads(payload)
        if body.get("kind") == "sos":
            device_id = topic.split("/")[-2]
            resident = device_id.removeprefix("b-")
            world.alerts.handle([Finding(kind="sos", resident_id=resident, at=datetime.now(UTC),
                                         explanation="SOS key pressed", explanation_zh="按下了紧急呼叫键",
                                         device_id=device_id)])

    bus.route(f"{topic_prefix}/+/event", on_event)


@pytest.fixture
def served(db_url: str, mqtt_broker: Any, topic_prefix: str) -> Iterator[tuple[str, MqttConnection]]:
    """Run the wired platform and the dashboard on a free port; yield its URL and a broker connection."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    address = BrokerAddress.from_url(mqtt_broker.url)
    bus = MqttConnection(address, f"e2e-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        _sos_bridge(bus, topic_prefix, world)
        app = create_app(settings(alerts_topic=f"{root}/alerts", device_topic_prefix=topic_prefix), pool,
                         subscriber=Subscriber(bus), actions=world.actions())
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", bus
        finally:
            server.should_exit = True
            thread.join(10)
            bus.close()


def test_sos_to_resolution_in_the_browser(served: tuple[str, MqttConnection], topic_prefix: str) -> None:
    base, bus = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB),
           "CHROMIUM": CHROMIUM, "STAFF_USER": "staff1"}
    script = Path(__file__).parent / "e2e" / "console_flow.mjs"
    with subprocess.Popen(["node", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          env=env) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        sos = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "kind": "sos"}
        bus.publish(f"{topic_prefix}/b-r1/event", json.dumps(sos).encode())
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.read().strip().splitlines()[-1])
        proc.wait(60)
    assert result["ok"], result.get("error")
    assert result["appearedMs"] < 2000
    assert result["suggestedStaff"] == "s1"
    assert result["familySees"] is True
    assert result["otherFamilySees"] is False
    assert result["otherFamilyResidents"] == ["r2"]
    for name in ("console-new-alert", "console-dispatch", "console-resolved", "staff-task", "family", "figures"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000
