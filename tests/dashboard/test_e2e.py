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
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from dashboard.app import create_app
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.world import PASSWORD, SECRET, platform, seed, serve, settings

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "dashboard" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "dashboard"
NO_TILES = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"  # nothing listens: the map must show markers anyway

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
            world.alerts.handle(
                [
                    Finding(
                        kind="sos",
                        resident_id=resident,
                        at=datetime.now(UTC),
                        explanation="SOS key pressed",
                        explanation_zh="按下了紧急呼叫键",
                        device_id=device_id,
                    )
                ]
            )

    bus.route(f"{topic_prefix}/+/event", on_event)


@pytest.fixture(params=["local", "platform"])
def served(
    request: pytest.FixtureRequest, db_url: str, mqtt_broker: Any, topic_prefix: str, service_root: Path
) -> Iterator[tuple[str, MqttConnection]]:
    """Run the platform with the dashboard on a free port; yield its URL and a broker connection."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
    if request.param == "platform":
        yield from _whole_platform(db_url, mqtt_broker.url, topic_prefix, service_root)
        return
    yield from _wired_here(db_url, mqtt_broker.url, topic_prefix)


def _whole_platform(db_url: str, mqtt_url: str, topic_prefix: str, service_root: Path) -> Iterator[tuple[str, Any]]:
    """Start the composition root's platform: ingest → detection → alert service → dashboard."""
    platform_module = pytest.importorskip("anxin.platform")
    from anxin.settings import Settings  # noqa: PLC0415 - only when the composition root is there

    name = uuid.uuid4().hex[:8]
    secrets = {
        field: f"{SECRET}-{field}"
        for field, info in Settings.model_fields.items()
        if "secret" in field and field != "secret_key" and "SecretStr" in str(info.annotation)
    }
    config = Settings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        topic_prefix=topic_prefix,
        http_port=_free_port(),
        secret_key=SECRET,
        data_dir=service_root / f"e2e-{name}",
        ingest_client_id=f"ingest-{name}",
        ingest_group=f"g{name}",
        **secrets,
    )
    try:
        started = platform_module.start_platform(config)
        running = started.__enter__()
    except SystemExit as exc:  # the root refuses a setting it needs; say which instead of ending pytest
        pytest.fail(f"start_platform refused to start: {exc}")
    try:
        yield running.dashboard_url.rstrip("/"), running.bus
    finally:
        started.__exit__(None, None, None)


def _wired_here(db_url: str, mqtt_url: str, topic_prefix: str) -> Iterator[tuple[str, MqttConnection]]:
    """Wire alert service, dispatch and dashboard in the test, with an SOS bridge standing in for detection."""
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    address = BrokerAddress.from_url(mqtt_url)
    bus = MqttConnection(address, f"e2e-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        _sos_bridge(bus, topic_prefix, world)
        dash = settings(alerts_topic=f"{root}/alerts", device_topic_prefix=topic_prefix, tile_url=NO_TILES)
        app = create_app(dash, pool, subscriber=Subscriber(bus), actions=world.actions())
        try:
            with serve(app) as base:
                yield base, bus
        finally:
            bus.close()


def test_sos_to_resolution_in_the_browser(
    served: tuple[str, MqttConnection], topic_prefix: str, request: pytest.FixtureRequest
) -> None:
    base, bus = served
    shots = SHOTS / request.node.callspec.params["served"]
    shots.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BASE_URL": base,
        "SHOTS": str(shots),
        "PASSWORD": PASSWORD,
        "ANXIN_WEB": str(WEB),
        "CHROMIUM": CHROMIUM,
        "STAFF_USER": "staff1",
    }
    script = Path(__file__).parent / "e2e" / "console_flow.mjs"
    with subprocess.Popen(
        ["node", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        sos = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "kind": "sos"}
        bus.publish(f"{topic_prefix}/b-r1/event", json.dumps(sos).encode())
        proc.stdin.write("go\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.read().strip().splitlines()[-1])
        proc.wait(60)
    assert result.get("appearedMs") is not None, result.get("error")
    assert result["appearedMs"] < 2000
    assert result["flashed"], "a new critical alert is flagged on screen"
    assert result["countdown"].strip(), "the promise countdown is shown"
    assert result["mapMarkers"] >= 3, "markers show even without map tiles"
    assert result["ok"], result.get("error")
    assert result["suggestedStaff"] == "s1"
    assert result["familySees"] is True
    assert result["otherFamilySees"] is False
    assert result["otherFamilyResidents"] == ["r2"]
    assert result["englishTitle"] == "My relative"
    for name in ("console-new-alert", "console-dispatch", "console-resolved", "staff-task", "family", "figures"):
        assert (shots / f"{name}.png").stat().st_size > 5000
