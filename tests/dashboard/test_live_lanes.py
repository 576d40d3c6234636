"""A console's two lanes: a burst of device status never closes it nor holds up an alert; alerts are never dropped."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from psycopg_pool import ConnectionPool

from dashboard.app import DeviceOwners
from dashboard.live import LiveClient, LiveCollector, LiveHub, LiveMessage
from tests.dashboard.world import Platform, RootedBroker

OWN = {"origin": "http://testserver"}


def _status(n: int) -> LiveMessage:
    return LiveMessage("device_status", f"r{n}", None, f"b-{n}", {"seq": n})


def _alert(n: int) -> LiveMessage:
    return LiveMessage("alert", "r1", str(n), None, {"action": "raised"})


async def _always(_message: LiveMessage) -> bool:
    return True


def test_alerts_go_first_and_a_burst_of_status_drops_the_oldest() -> None:
    async def scenario() -> tuple[list[str], int, bool]:
        client = LiveClient(_always)
        for n in range(1000):
            client.offer(_status(n))
        client.offer(_alert(1))
        sent = [(await client.next()).type for _ in range(201)]
        return sent, client.dropped, client.overflowed

    sent, dropped, overflowed = asyncio.run(scenario())
    assert sent[0] == "alert" and sent[1:] == ["device_status"] * 200
    assert (dropped, overflowed) == (800, False)


def test_a_burst_crosses_into_the_event_loop_bounded_in_order_and_beside_the_alert() -> None:
    hub = LiveHub(_nobody, backlog=2000)

    async def scenario() -> tuple[list[LiveMessage], int, int]:
        hub.bind(asyncio.get_running_loop())
        client = hub.connect(_always)
        on_status = hub.handler(lambda _topic, payload: _status(int(payload)))
        on_alert = hub.handler(lambda _topic, payload: _alert(int(payload)))

        def burst() -> None:  # the broker's thread, while the loop is busy elsewhere
            for n in range(5000):
                on_status("status", str(n).encode())
            on_alert("alerts", b"7")

        thread = threading.Thread(target=burst)
        thread.start()
        thread.join()  # the loop is held meanwhile: nothing crosses until it is free
        for _ in range(5):
            await asyncio.sleep(0)
        return [await client.next() for _ in range(201)], hub.dropped, client.dropped

    sent, hub_dropped, client_dropped = asyncio.run(scenario())
    assert sent[0].type == "alert" and sent[0].alert_id == "7"
    assert [m.data["seq"] for m in sent[1:]] == list(range(4800, 5000))  # the newest, in order
    assert (hub_dropped, client_dropped) == (3000, 1800)  # a stalled loop holds 2,000 of them, not 5,000
    registry = CollectorRegistry()
    registry.register(LiveCollector(hub))
    scraped = generate_latest(registry).decode()  # what an operator's monitoring sees of it
    assert 'anxin_live_updates_dropped_total{where="process"} 3000.0' in scraped
    assert 'anxin_live_updates_dropped_total{where="consoles"} 1800.0' in scraped
    assert "anxin_live_connections 1.0" in scraped


async def _nobody(device_ids: set[str]) -> dict[str, str | None]:
    return dict.fromkeys(device_ids)


def test_a_burst_from_devices_not_yet_known_finds_their_residents_in_one_lookup() -> None:
    asked: list[set[str]] = []

    async def owners(device_ids: set[str]) -> dict[str, str | None]:
        asked.append(set(device_ids))
        return {d: "r" + d.removeprefix("b-") for d in device_ids}

    hub = LiveHub(owners)

    async def scenario() -> list[LiveMessage]:
        hub.bind(asyncio.get_running_loop())
        client = hub.connect(_always)
        unowned = LiveMessage("device_status", None, None, "", {})
        on_status = hub.handler(lambda _topic, payload: replace(unowned, device_id=f"b-{int(payload)}"))
        thread = threading.Thread(target=lambda: [on_status("status", str(n).encode()) for n in range(150)])
        thread.start()
        thread.join()  # all 150 wait for the loop together
        for _ in range(5):
            await asyncio.sleep(0)
        return [await client.next() for _ in range(150)]

    sent = asyncio.run(scenario())
    assert asked == [{f"b-{n}" for n in range(150)}]  # one lookup for the batch, not 150
    assert [m.resident_id for m in sent] == [f"r{n}" for n in range(150)]


def test_device_owners_are_read_once_and_followed_when_a_device_changes_hands(pool: ConnectionPool[Any]) -> None:
    now = [0.0]
    owners = DeviceOwners(pool, ttl_s=30, clock=lambda: now[0])

    def ask(*device_ids: str) -> dict[str, str | None]:
        return asyncio.run(owners(set(device_ids)))

    assert ask("b-r1", "b-r2", "nobody-knows") == {"b-r1": "r1", "b-r2": "r2", "nobody-knows": None}
    with pool.connection() as conn:
        conn.execute("UPDATE devices SET resident_id = 'r2' WHERE id = 'b-r1'")  # the bracelet is passed on
    now[0] = 20
    assert (ask("b-r1", "b-r2"), owners.reads) == ({"b-r1": "r1", "b-r2": "r2"}, 1)  # trusted a while
    now[0] = 31
    assert (ask("b-r1"), owners.reads) == ({"b-r1": "r2"}, 2)  # then read again: its new wearer's


def test_a_console_too_far_behind_on_alerts_is_closed_not_fed_a_partial_queue() -> None:
    client = LiveClient(_always)
    for n in range(501):
        client.offer(_alert(n))
    assert client.overflowed  # the page reconnects and reads the queue again


def test_a_burst_of_device_status_leaves_the_console_open_for_the_next_alert(
    client: TestClient, login, broker: RootedBroker, world: Platform
) -> None:
    with client.websocket_connect("/ws", headers={**login("operator"), **OWN}) as ws:
        ws.receive_json()
        for n in range(1500):  # a city's heartbeats arriving at once, more than a lane holds
            payload = {"seq": n + 1, "ts": "2025-01-01T00:00:00Z", "state": "online"}
            broker.publish("ec/v1/b-r1/status", json.dumps(payload).encode())
        mine = world.raise_alert("r1")
        seen = []
        while not any(m["type"] == "alert" for m in seen):
            seen.append(ws.receive_json())
    alert = next(m for m in seen if m["type"] == "alert")
    assert alert["alert_id"] == str(mine)
