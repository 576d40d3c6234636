"""Device states are true: a sensor behind a live hub is online within its rhythm; not worn is its own state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from dashboard.store import devices, figures
from dashboard.store.devices import RHYTHMS, DeviceState, connected_state, relayed_state

OFFLINE_AFTER = timedelta(minutes=15)
NOW = datetime.now(UTC)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A database with one home: a bracelet, a hub and the sensors behind it, registered two days ago."""
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("INSERT INTO residents (id, name) VALUES ('r1', '陈奶奶')")
        rows = [
            ("r1-bracelet", "bracelet", None, None, None),
            ("r1-hub", "hub", None, None, None),
            ("r1-motion-kitchen", "sensor", "motion", "kitchen", "r1-hub"),
            ("r1-door-front", "sensor", "door", "front", "r1-hub"),
            ("r1-smoke", "sensor", "smoke", "kitchen", "r1-hub"),
            ("r1-bed", "sensor", "bed", "bedroom", "r1-hub"),
        ]
        for device_id, kind, sensor_kind, room, hub in rows:
            c.execute(
                "INSERT INTO devices (id, resident_id, kind, sensor_kind, room, parent_id, created_at)"
                " VALUES (%s, 'r1', %s, %s, %s, %s, %s)",
                (device_id, kind, sensor_kind, room, hub, NOW - timedelta(days=2)),
            )
        yield c


_SEQ = iter(range(1, 10**6))


def status(c: psycopg.Connection[Any], device_id: str, ago: timedelta, state: str = "online", **extra: Any) -> None:
    c.execute(
        "INSERT INTO device_status (ts, device_id, seq, received_at, state, battery)"
        " VALUES (%s, %s, %s, now(), %s, %s)",
        (NOW - ago, device_id, next(_SEQ), state, extra.get("battery")),
    )


def event(c: psycopg.Connection[Any], hub: str, sensor: str, kind: str, ago: timedelta) -> None:
    c.execute(
        "INSERT INTO events (ts, device_id, seq, sensor_id, resident_id, received_at, kind)"
        " VALUES (%s, %s, %s, %s, 'r1', now(), %s)",
        (NOW - ago, hub, next(_SEQ), sensor, kind),
    )


def telemetry(c: psycopg.Connection[Any], ago: timedelta, *, worn: bool, battery: int = 80) -> None:
    c.execute(
        "INSERT INTO telemetry (ts, device_id, seq, resident_id, received_at, battery, worn)"
        " VALUES (%s, 'r1-bracelet', %s, 'r1', now(), %s, %s)",
        (NOW - ago, next(_SEQ), battery, worn),
    )


def states(c: psycopg.Connection[Any]) -> dict[str, str]:
    rows = devices.list_devices(c, frozenset({"r1"}), OFFLINE_AFTER, 20)
    return {r["id"]: r["state"] for r in rows}


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_sensors_behind_a_live_hub_are_online_within_their_rhythm(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(3))
    event(conn, "r1-hub", "r1-motion-kitchen", "motion", timedelta(hours=5))
    event(conn, "r1-hub", "r1-door-front", "door", timedelta(hours=30))  # a day indoors: a door may be silent
    event(conn, "r1-hub", "r1-bed", "bed", timedelta(hours=10))
    got = states(conn)
    assert got["r1-hub"] == "online"
    assert got["r1-motion-kitchen"] == got["r1-door-front"] == got["r1-bed"] == "online"
    assert got["r1-smoke"] == "online"  # never sounded: a smoke detector speaks only in an alarm


def test_a_sensor_silent_beyond_its_rhythm_is_offline_though_its_hub_is_online(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(3))
    event(conn, "r1-hub", "r1-motion-kitchen", "motion", timedelta(hours=30))  # nobody in the kitchen for 30 h?
    got = states(conn)
    assert got["r1-motion-kitchen"] == "offline"
    assert got["r1-bed"] == "offline"  # registered two days ago, never heard: beyond its 36 h
    assert got["r1-door-front"] == "unknown"  # two days unheard is within a door's rhythm: not judged yet


def test_every_sensor_behind_an_offline_hub_is_hub_offline(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(2), state="offline")
    event(conn, "r1-hub", "r1-motion-kitchen", "motion", minutes(10))
    got = states(conn)
    assert got["r1-hub"] == "offline"
    assert {got[d] for d in ("r1-motion-kitchen", "r1-door-front", "r1-smoke", "r1-bed")} == {"hub_offline"}


def test_a_silent_hub_is_offline_after_the_offline_delay(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(40))
    got = states(conn)
    assert got["r1-hub"] == "offline" and got["r1-smoke"] == "hub_offline"


def test_a_hub_that_came_back_after_saying_offline_is_online(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(20), state="offline")
    status(conn, "r1-hub", minutes(1))
    assert states(conn)["r1-hub"] == "online"


def test_a_bracelet_off_the_wrist_is_not_worn_with_its_battery(conn: psycopg.Connection[Any]) -> None:
    telemetry(conn, minutes(1), worn=False, battery=12)
    row = next(d for d in devices.list_devices(conn, None, OFFLINE_AFTER, 20) if d["id"] == "r1-bracelet")
    assert row["state"] == "not_worn" and row["battery"] == 12 and row["low_battery"] and not row["offline"]
    telemetry(conn, timedelta(seconds=5), worn=True)
    assert states(conn)["r1-bracelet"] == "online"


def test_a_device_never_heard_from_is_unknown(conn: psycopg.Connection[Any]) -> None:
    got = states(conn)
    assert got["r1-bracelet"] == got["r1-hub"] == "unknown"
    assert got["r1-smoke"] == "unknown"  # nothing can be said of a sensor whose hub never spoke


def test_one_device_is_judged_with_its_hub(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(1))
    event(conn, "r1-hub", "r1-motion-kitchen", "motion", minutes(1))
    row = devices.device(conn, "r1-motion-kitchen", OFFLINE_AFTER, 20)
    assert row is not None and row["state"] == "online" and row["hub_id"] == "r1-hub"
    assert row["last_seen_at"] == NOW - minutes(1)
    assert devices.device(conn, "nope", OFFLINE_AFTER, 20) is None


def test_the_figures_count_the_offline_hub_not_the_sensors_behind_it(conn: psycopg.Connection[Any]) -> None:
    status(conn, "r1-hub", minutes(2), state="offline")
    telemetry(conn, minutes(1), worn=True)
    health = figures.device_health(conn, OFFLINE_AFTER, 20)
    assert health == {"devices": 6, "offline": 1, "low_battery": 0}


def test_a_directly_connected_sensor_with_an_hourly_heartbeat_is_online_between_beats() -> None:
    facts = {
        "kind": "sensor",
        "sensor_kind": "motion",
        "status": "online",
        "status_at": NOW - minutes(50),
        "telemetry_at": None,
        "sent_at": None,
        "worn": None,
        "checked_at": NOW,
    }
    assert connected_state(facts, OFFLINE_AFTER) is DeviceState.ONLINE
    assert connected_state({**facts, "status_at": NOW - timedelta(hours=3)}, OFFLINE_AFTER) is DeviceState.OFFLINE


def test_every_rhythm_allows_a_day_for_what_a_lived_in_home_may_not_touch() -> None:
    assert all(r.reports_within is None or r.reports_within >= timedelta(hours=2) for r in RHYTHMS.values())
    facts = {"kind": "sensor", "sensor_kind": "door", "reported_at": None, "created_at": NOW, "checked_at": NOW}
    assert relayed_state(facts, DeviceState.ONLINE) is DeviceState.UNKNOWN
