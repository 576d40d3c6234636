"""Two operator consoles in headless Chromium follow one case live: re-alarm, claim, dispatch, map, provisional.

The platform is wired here as ``test_e2e``'s "local" wiring does (alert service and dispatch flow on the
real database and broker, an SOS bridge standing in for detection), with the wired services at hand so
the test can drive the escalation clock, a staff member's decline, a staff position and a provisional
alert. The browser script (``e2e/console_live.mjs``) asks for each of these with a line ``do <action>``
and waits for ``done``; its last line is a JSON result. Screenshots go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from alerts.messages import ProvisionalAlert, alert_topic
from dashboard.app import create_app
from dashboard.roles import RoleName
from dashboard.store.users import create_user
from dispatch.messages import StaffPosition, position_topic
from gateway.contract import Channel, encode, topic
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, SHOTS, WEB, _sos_bridge, pytestmark
from tests.dashboard.world import PASSWORD, PASSWORD_HASH, Platform, platform, seed, serve, settings

__all__ = ["pytestmark"]  # the same skip as test_e2e: no Chromium, node or playwright-core, no test
MOVED_TO = (31.2352, 121.4745)  # where staff member s1 reports being (WGS-84)
RESIDENT_PHONE = "13700000001"


@dataclass
class Desk:
    """The running dashboard, its broker connection, the wired services and the topic root."""

    base: str
    bus: MqttConnection
    world: Platform
    root: str
    topic_prefix: str
    commands: list[tuple[str, dict[str, Any]]]  # what reached the bracelets' cmd topics on the broker, but acks


@pytest.fixture
def desk(db_url: str, mqtt_broker: Any, topic_prefix: str) -> Iterator[Desk]:
    """Seed two operators and a resident's phone, wire the platform here and serve the dashboard."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        # a second desk user of its own, bound to no district (the seed's operator2 may be another district's)
        create_user(conn, "desk2", "Operator Two", PASSWORD_HASH, RoleName.OPERATOR)
        conn.execute("UPDATE residents SET phone = %s WHERE id = 'r1'", (RESIDENT_PHONE,))
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    bus = MqttConnection(BrokerAddress.from_url(mqtt_broker.url), f"live-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        _sos_bridge(bus, topic_prefix, world)
        dash = settings(alerts_topic=f"{root}/alerts", device_topic_prefix=topic_prefix, tile_url=NO_TILES)
        commands: list[tuple[str, dict[str, Any]]] = []
        bus.route(f"{topic_prefix}/+/cmd", lambda t, p: _command(commands, t, p))
        actions = replace(
            world.actions(),
            command_device=lambda device, command: bus.publish(
                topic(device, Channel.CMD, topic_prefix), encode(command), qos=1
            ),
        )
        app = create_app(dash, pool, subscriber=Subscriber(bus), actions=actions)
        try:
            with serve(app) as base:
                yield Desk(base, bus, world, root, topic_prefix, commands)
        finally:
            bus.close()


def drive(script: str, env: dict[str, str], act: Callable[[str], None]) -> dict[str, Any]:
    """Run a browser script from ``e2e/``: do each ``do <action>`` line it prints, answer ``done``; return its JSON."""
    path = Path(__file__).parent / "e2e" / script
    with subprocess.Popen(
        ["node", str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith("do "):
                break
            act(line.split()[1])
            proc.stdin.write("done\n")
            proc.stdin.flush()
        result: dict[str, Any] = json.loads(line)
        proc.wait(60)
    return result


def _command(into: list[tuple[str, dict[str, Any]]], name: str, payload: bytes) -> None:
    """Keep a command a bracelet received (not the platform's acks)."""
    command = json.loads(payload)
    if command.get("kind") != "ack":
        into.append((name.split("/")[-2], command))


def _as_staff(base: str, username: str) -> httpx.Client:
    """Sign a staff member in over HTTP, as their phone would."""
    client = httpx.Client(base_url=base, timeout=10)
    token = client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _actions(desk: Desk) -> dict[str, Callable[[], None]]:
    """What the browser script may ask the platform to do, by name."""

    def sos() -> None:
        event = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "kind": "sos"}
        desk.bus.publish(f"{desk.topic_prefix}/b-r1/event", json.dumps(event).encode())

    def escalate() -> None:
        assert desk.world.alerts.run_due(datetime.now(UTC) + timedelta(seconds=90)), "an unacknowledged rung fires"

    def decline() -> None:
        staff = _as_staff(desk.base, "staff1")
        try:
            listed = staff.get("/api/tasks")
            assert listed.status_code == 200, listed.text
            (task,) = [t for t in listed.json() if t["state"] == "offered"]
            answer = staff.post(f"/api/tasks/{task['assignment_id']}/decline", json={"reason": "在另一位老人家"})
            assert answer.status_code == 200, answer.text
        finally:
            staff.close()

    def position() -> None:
        moved = StaffPosition(staff_id="s1", lat=MOVED_TO[0], lon=MOVED_TO[1], at=datetime.now(UTC))
        desk.bus.publish(position_topic("s1", desk.root), moved.model_dump_json().encode(), qos=1)

    def provisional() -> None:
        found = ProvisionalAlert(
            resident_id="r2",
            kind="sos",
            severity="critical",
            at=datetime.now(UTC),
            explanation="SOS key pressed",
            explanation_zh="按下了紧急呼叫键",
            device_id="b-r2",
        )
        desk.bus.publish(alert_topic("r2", desk.root), found.model_dump_json().encode(), qos=1)

    def store() -> None:
        stored = Finding(
            kind="sos",
            resident_id="r2",
            at=datetime.now(UTC),
            explanation="SOS key pressed",
            explanation_zh="按下了紧急呼叫键",
            device_id="b-r2",
        )
        desk.world.alerts.handle([stored])

    return {f.__name__: f for f in (sos, escalate, decline, position, provisional, store)}


def test_two_consoles_follow_one_case_live(desk: Desk) -> None:
    shots = SHOTS / "live"
    shots.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BASE_URL": desk.base,
        "SHOTS": str(shots),
        "PASSWORD": PASSWORD,
        "ANXIN_WEB": str(WEB),
        "CHROMIUM": CHROMIUM,
        "MOVED_TO": json.dumps(MOVED_TO),
    }
    actions = _actions(desk)
    result = drive("console_live.mjs", env, lambda action: actions[action]())
    assert result["ok"], result.get("error")
    assert result["realarm"] == {"one": True, "two": True}, "the re-alarm shows on every console"
    assert result["ringing"] == {"one": True, "two": True}, "and its tone repeats"
    assert result["realarmText"] and "{" not in result["realarmText"]
    assert result["quietAfterAck"] == {"one": False, "two": False}, "acknowledging stops it everywhere"
    assert "Operator" in result["claimSeenByTwo"]
    assert result["refusal"] and "{" not in result["refusal"], "the refusal is a sentence, not JSON"
    assert result["residentCall"] == f"tel:{RESIDENT_PHONE}"
    assert "在另一位老人家" in result["declineOnTwo"]
    assert result["queueLineOnTwo"]
    assert result["markerMoved"], result.get("marker")
    assert result["provisionalTag"] == "未入库 · 临时"
    assert result["provisionalButtons"] == 0
    assert result["mergedItems"] == {"r2": 1, "provisional": 0}
    assert result["noteOnTwo"] == "女儿在路上，约十分钟到"
    assert result["handoverRows"] >= 2
    assert result["shortcutsShown"] and result["typingIgnored"]
    assert result["englishBanner"] and "{" not in result["englishBanner"]
    for name in result["shots"]:
        assert (shots / f"{name}.png").stat().st_size > 5000, name
