"""A bracelet that speaks the watch protocol presses SOS over TCP: the alarm reaches an operator's console
through the whole platform (gateway → broker → ingest → alerts → dashboard WebSocket), and the bracelet
gets its ``AL`` reply once the platform has stored the alarm. The operator then asks the bracelet to call
the desk back and to report its position: both reach the bracelet on its own TCP connection as ``CALL``
and ``CR`` frames, and the case timeline says so."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from anxin.commands.common import dead_letter_writer
from anxin.platform import Platform, start_platform
from anxin.services import LocalMosquitto
from bench.console import Console
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from gateway.mqtt import BrokerAddress
from gateway.registry import Device, DeviceKind
from gateway.watch import encode_frame
from gateway.watch_server import WatchGateway, mqtt_links, serving
from ingest.devices import upsert_devices, upsert_residents
from tests.gateway.test_watch_server import read_until
from tests.reliability.helpers import platform_settings

OPERATOR = ("watch-operator", "watch-operator-password")


@pytest.fixture
def running(db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, service_root: Path) -> Iterator[Platform]:
    """Run the whole platform with its console on a free port."""
    data = service_root / f"watch-{topic_prefix.replace('/', '-')}"
    with start_platform(platform_settings(db_url, mqtt_broker.url, topic_prefix, data, http_port=0)) as platform:
        yield platform


def test_a_watch_protocol_sos_reaches_the_console_and_the_bracelet_gets_al(
    running: Platform, db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    bracelet, resident = f"{random.randrange(10**9, 10**10)}", f"rw{random.randrange(10**6)}"
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [(resident, "王秀英")])
        upsert_devices(conn, [Device(bracelet, DeviceKind.BRACELET, resident)])
        create_user(conn, OPERATOR[0], "Watch operator", hash_password(OPERATOR[1]), RoleName.OPERATOR)
    secrets = {bracelet: "its-own-secret"}
    gateway = WatchGateway(
        mqtt_links(BrokerAddress.from_url(mqtt_broker.url), secrets, topic_prefix),
        secrets,
        dead_letter_writer(db_url),
        prefix=topic_prefix,
    )
    assert running.dashboard_url is not None
    console = Console(running.dashboard_url.rstrip("/"), *OPERATOR)
    try:
        with serving(gateway) as port, socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            sock.sendall(encode_frame("3G", bracelet, "LK,0,0,88"))
            got = read_until(sock, b"*LK]", timeout=15)
            # the bracelet's clock is Beijing time, as the gateway expects by default
            when = time.strftime("%d%m%y,%H%M%S", time.gmtime(time.time() + 8 * 3600))
            alarm = f"AL,{when},V,0.0,N,0.0,E,0.00,0.0,0.0,0,80,88,0,0,00010000,1,1,460,0,9360,4082,131"
            pressed = time.time()
            sock.sendall(encode_frame("3G", bracelet, alarm))
            got = read_until(sock, b"*AL]", timeout=15)
            replied = time.time()
            deadline = time.monotonic() + 15
            while console.arrived(resident) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            asked = _ask_bracelet(running.dashboard_url.rstrip("/"), resident)
            commanded = read_until(sock, b"*CR]", timeout=15)
    finally:
        console.close()
    assert encode_frame("3G", bracelet, "AL") in got
    arrived = console.arrived(resident)
    assert arrived is not None, "the SOS reached the operator's console"
    assert arrived - pressed < 5 and replied - pressed < 5
    with psycopg.connect(db_url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM events WHERE device_id = %s AND kind = 'sos'", (bracelet,)
        ).fetchone()
    assert stored == (1,)
    assert encode_frame("3G", bracelet, "CALL,057188886666") in commanded
    assert encode_frame("3G", bracelet, "CR") in commanded
    asks = [(e["what"], e["note"]) for e in asked["timeline"] if e["source"] == "command"]  # type: ignore[attr-defined]
    assert asks == [("call_back", "057188886666"), ("locate", None)], asks


def _ask_bracelet(base: str, resident: str) -> dict[str, object]:
    """Sign in as the operator, ask the resident's bracelet to call the desk and to locate; return the case."""
    with httpx.Client(base_url=base, timeout=15) as http:
        token = http.post("/api/auth/login", json={"username": OPERATOR[0], "password": OPERATOR[1]}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        listed = http.get("/api/alerts", params={"resident_id": resident})
        assert listed.status_code == 200, listed.text
        alert = listed.json()[0]
        path = f"/api/alerts/{alert['id']}/bracelet"
        refused = http.post(path, json={"action": "call_back"})
        assert refused.status_code == 422, refused.text  # a call back needs the number to call
        assert http.post(path, json={"action": "call_back", "number": "057188886666"}).status_code == 200
        assert http.post(path, json={"action": "locate"}).status_code == 200
        case: dict[str, object] = http.get(f"/api/alerts/{alert['id']}").json()
        return case
