"""A console's two lanes: a burst of device status never closes it nor holds up an alert; alerts are never dropped."""

from __future__ import annotations

import asyncio
import json
import threading

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

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


async def _nobody(_device_id: str) -> str | None:
    return None


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
