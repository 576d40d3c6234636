"""The WebSocket: refused without a session or from a foreign Origin; pushes what each user may see."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from starlette.websockets import WebSocketDisconnect

from dashboard.live import LiveMessage
from dashboard.routes.live import _visibility
from dashboard.store import users
from dashboard.store.users import User
from tests.dashboard.world import Platform, RootedBroker

OWN = {"origin": "http://testserver"}


def test_refused_without_a_session(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws", headers=OWN):
        pass
    assert refused.value.code == 1008


def test_refused_with_a_bad_token(client: TestClient) -> None:
    headers = {**OWN, "authorization": "Bearer forged.token"}
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers=headers):
        pass


def test_refused_from_a_foreign_origin(client: TestClient, login) -> None:
    headers = {**login("operator"), "origin": "https://evil.example"}
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers=headers):
        pass


def test_operator_receives_a_new_alert(client: TestClient, login, world: Platform) -> None:
    with client.websocket_connect("/ws", headers={**login("operator"), **OWN}) as ws:
        assert ws.receive_json()["type"] == "hello"
        alert_id = world.raise_alert("r1")
        message = ws.receive_json()
    assert message["type"] == "alert"
    assert message["alert_id"] == str(alert_id)
    assert message["resident_id"] == "r1"
    assert message["data"]["state"] == "raised"


def test_token_in_query_for_clients_without_headers(client: TestClient, login, world: Platform) -> None:
    token = login("operator")["Authorization"].split()[1]
    with client.websocket_connect(f"/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"


def test_family_sees_only_their_relative(client: TestClient, login, world: Platform) -> None:
    with client.websocket_connect("/ws", headers={**login("family2"), **OWN}) as ws:
        ws.receive_json()
        world.raise_alert("r1")
        mine = world.raise_alert("r2")
        message = ws.receive_json()
    assert (message["resident_id"], message["alert_id"]) == ("r2", str(mine))


def test_staff_sees_only_alerts_dispatched_to_them(client: TestClient, login, world: Platform) -> None:
    with client.websocket_connect("/ws", headers={**login("staff2"), **OWN}) as ws:
        ws.receive_json()
        other = world.raise_alert("r2")
        alert_id = world.raise_alert("r1")
        client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=login("operator"))
        client.post(f"/api/alerts/{alert_id}/dispatch", json={"staff_id": "s2"}, headers=login("operator"))
        # Delivery through the broker is asynchronous: once the alert is theirs, staff may also get its
        # earlier "acknowledged" change; never anything of the other alert.
        seen = [ws.receive_json()]
        while seen[-1]["data"]["state"] != "dispatched":
            seen.append(ws.receive_json())
    assert {m["alert_id"] for m in seen} == {str(alert_id)} != {str(other)}


def test_device_status_reaches_those_who_see_the_resident(client: TestClient, login, broker: RootedBroker) -> None:
    with client.websocket_connect("/ws", headers={**login("family1"), **OWN}) as ws:
        ws.receive_json()
        broker.publish(
            "ec/v1/b-r2/status", json.dumps({"seq": 1, "ts": "2025-01-01T00:00:00Z", "state": "offline"}).encode()
        )
        broker.publish(
            "ec/v1/b-r1/status",
            json.dumps({"seq": 1, "ts": "2025-01-01T00:00:00Z", "state": "online", "battery": 15}).encode(),
        )
        message = ws.receive_json()
    assert message["type"] == "device_status"
    assert (message["device_id"], message["resident_id"], message["data"]["battery"]) == ("b-r1", "r1", 15)


def test_a_district_operator_sees_only_their_district(client: TestClient, login, world: Platform) -> None:
    with client.websocket_connect("/ws", headers={**login("operator2"), **OWN}) as ws:
        ws.receive_json()
        world.raise_alert("r1")  # 东湖区's: never shown to 北岗区's desk
        mine = world.raise_alert("r4")
        message = ws.receive_json()
    assert (message["resident_id"], message["alert_id"]) == ("r4", str(mine))


def test_a_status_the_contract_refuses_never_reaches_a_console(client: TestClient, login, broker: RootedBroker) -> None:
    with client.websocket_connect("/ws", headers={**login("family1"), **OWN}) as ws:
        ws.receive_json()
        broker.publish("ec/v1/b-r1/status", b'{"state": "online", "battery": 999}')  # no seq or time, out of range
        claims_another = {"seq": 2, "ts": "2025-01-01T00:00:00Z", "state": "online", "device_id": "b-r2"}
        broker.publish("ec/v1/b-r1/status", json.dumps(claims_another).encode())
        broker.publish("ec/v1/b-r1/status", b"<script>alert(1)</script>")
        valid = {"seq": 3, "ts": "2025-01-01T00:00:00Z", "state": "online", "battery": 15}
        broker.publish("ec/v1/b-r1/status", json.dumps(valid).encode())
        message = ws.receive_json()
    assert (message["type"], message["data"]["seq"], message["data"]["battery"]) == ("device_status", 3, 15)


class _CountingPool:
    """The test pool, counting the connections lent (one per database question)."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self.pool = pool
        self.lent = 0

    def connection(self) -> Any:
        self.lent += 1
        return self.pool.connection()


def _user(pool: ConnectionPool[Any], username: str) -> User:
    with pool.connection() as conn:
        found = users.password_hash_of(conn, username)
        assert found is not None
        user = users.user_by_id(conn, found[0])
    assert user is not None
    return user


def test_a_burst_of_status_costs_a_district_desk_one_question_a_resident_and_staff_none(
    pool: ConnectionPool[Any],
) -> None:
    counted = _CountingPool(pool)
    now = [0.0]
    desk = _visibility(counted, _user(pool, "operator2"), clock=lambda: now[0])  # type: ignore[arg-type]
    staff = _visibility(counted, _user(pool, "staff2"), clock=lambda: now[0])  # type: ignore[arg-type]

    def status(resident: str) -> LiveMessage:
        return LiveMessage("device_status", resident, None, f"b-{resident}", {"seq": 1})

    async def burst() -> tuple[list[bool], list[bool]]:
        seen = [await desk(status(r)) for r in ["r4", "r1"] * 100]
        return seen, [await staff(status(r)) for r in ["r4", "r1"] * 100]

    seen_by_desk, seen_by_staff = asyncio.run(burst())
    assert seen_by_desk == [True, False] * 100  # 北岗区's desk: r4, never 东湖区's r1
    assert seen_by_staff == [False] * 200  # the staff page wants alert and dispatch changes only
    assert counted.lent == 2  # one question a resident, not one a message
    now[0] = 31
    assert asyncio.run(desk(status("r1"))) is False and counted.lent == 3  # asked again once it is old
