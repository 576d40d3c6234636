"""The running platform's console: device status over a connection of its own, alerts over the bus; a taken port said.

`anxin.web` follows device status and staff positions on a second broker connection, so that a burst of
them is decoded on that connection's thread and never ahead of an alert change. This shows both still
reach an operator's open console, through the real broker and the real WebSocket. And a platform whose
console port is taken says so and stops, rather than hand out the address of a server that is not its own.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from websockets.sync.client import connect as ws_connect

from anxin.platform import start_platform
from anxin.services import LocalMosquitto, ServiceError, free_port
from gateway.contract import Channel, SosEvent, Status, encode, topic
from tests.dashboard.world import PASSWORD, seed
from tests.reliability.helpers import platform_settings


def test_an_operator_console_sees_device_status_and_the_sos_beside_it(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn)
    settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path, http_port=free_port())
    with start_platform(settings) as platform:
        assert platform.dashboard_url is not None
        base = platform.dashboard_url.rstrip("/")
        login = httpx.post(f"{base}/api/auth/login", json={"username": "operator", "password": PASSWORD}, timeout=15)
        headers = {"Authorization": f"Bearer {login.json()['token']}", "Origin": base}
        with ws_connect(f"ws://{base.removeprefix('http://')}/ws", additional_headers=headers) as console:
            assert json.loads(console.recv(10))["type"] == "hello"
            device = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
            device.connect("127.0.0.1", mqtt_broker.port)
            device.loop_start()
            now = datetime.now(UTC)
            status = Status(seq=1, ts=now, state="online", battery=64)
            device.publish(topic("b-r1", Channel.STATUS, topic_prefix), encode(status), qos=1).wait_for_publish(5)
            sos = SosEvent(kind="sos", seq=2, ts=now)
            device.publish(topic("b-r1", Channel.EVENT, topic_prefix), encode(sos), qos=1).wait_for_publish(5)
            seen: list[dict[str, object]] = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (_status_of(seen, "b-r1") and _sos_of(seen, "r1")):
                seen.append(json.loads(console.recv(deadline - time.monotonic())))
            device.loop_stop()
            device.disconnect()
    status_seen = _status_of(seen, "b-r1")
    assert status_seen is not None and status_seen["resident_id"] == "r1" and status_seen["data"]["battery"] == 64
    assert _sos_of(seen, "r1") is not None


def _status_of(seen: list[dict[str, object]], device_id: str) -> dict[str, object] | None:
    return next((m for m in seen if m["type"] == "device_status" and m["device_id"] == device_id), None)


def _sos_of(seen: list[dict[str, object]], resident_id: str) -> dict[str, object] | None:
    return next(
        (m for m in seen if m["type"] == "alert" and m["resident_id"] == resident_id and m["data"]["kind"] == "sos"),  # type: ignore[index]
        None,
    )


def test_a_platform_whose_console_port_is_taken_says_so_and_stops(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path, http_port=port)
        before = {t.name for t in threading.enumerate()}
        with pytest.raises(ServiceError, match=f"did not start on 127.0.0.1:{port}"), start_platform(settings):
            pass  # never reached: a console URL that is not ours is never handed out
    left = [t for t in threading.enumerate() if t.name not in before and t.is_alive()]
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:  # the platform's threads are told to stop
        time.sleep(0.1)
        left = [t for t in left if t.is_alive()]
    assert not [t.name for t in left if t.name in ("ingest", "detection", "care", "dashboard", "dashboard-stop")]
