"""The Zigbee2MQTT bridge through the real Mosquitto: a door opens and a motion sensor fires, the routine sees them.

A Zigbee2MQTT-style publisher publishes what Zigbee2MQTT would for an Aqara door contact and motion
sensor; the bridge, signed in as the home's hub, maps them; a real ingest worker stores them; the
detection feed the alert processes read gives them back, and the resident's `Whereabouts` (what the
inactivity detector follows) has the front door and the movement after it. Availability makes the
sensor's status offline; a malformed payload is a dead letter and the bridge goes on.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.detectors.routine import Whereabouts
from alerts.feed import FeedReader
from anxin.commands.common import dead_letter_writer
from anxin.services import LocalMosquitto
from gateway.contract import DoorEvent, MotionEvent
from gateway.mqtt import BrokerAddress
from gateway.registry import Device, DeviceKind
from gateway.zigbee import parse_config
from gateway.zigbee_bridge import BridgeTiming, ZigbeeBridge
from ingest.devices import upsert_devices, upsert_residents
from ingest.feed import PARTITIONS
from ingest.queries import latest_status
from tests.ingest.harness import count, running_worker, wait_for

RID = "r41"
HUB = f"{RID}-hub"
DOOR = f"{RID}-door-front"
MOTION = f"{RID}-motion-hall"
SMOKE = f"{RID}-smoke"


@pytest.fixture
def base_topic() -> str:
    """Give each test a Zigbee2MQTT base topic of its own on the shared broker."""
    return f"z{uuid.uuid4().hex[:10]}/zigbee2mqtt"


@pytest.fixture
def home(db_url: str) -> None:
    """Register a resident with a hub, a front-door contact and a hall motion sensor behind it."""
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [(RID, "王秀英")])
        upsert_devices(
            conn,
            [
                Device(HUB, DeviceKind.HUB, RID),
                Device(DOOR, DeviceKind.SENSOR, RID, "door", "front", HUB),
                Device(MOTION, DeviceKind.SENSOR, RID, "motion", "hall", HUB),
                Device(SMOKE, DeviceKind.SENSOR, RID, "smoke", "kitchen", HUB),
            ],
        )


@pytest.fixture
def zigbee2mqtt(mqtt_broker: LocalMosquitto, base_topic: str) -> Iterator[paho.Client]:
    """Stand in for Zigbee2MQTT: a client publishing on the base topic."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"z2m-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", mqtt_broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def ingest(mqtt_broker: LocalMosquitto, db_url: str, topic_prefix: str, tmp_path: Path) -> Iterator[None]:
    """Run a real ingest worker on the platform's side, subscribed before the bridge says anything."""
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool"):
        yield


@pytest.fixture
def bridge(
    mqtt_broker: LocalMosquitto, db_url: str, topic_prefix: str, base_topic: str, home: None, ingest: None
) -> Iterator[ZigbeeBridge]:
    """Run the bridge of the home on a thread (the platform's and Zigbee2MQTT's broker are one here)."""
    config = parse_config(
        f'hub = "{HUB}"\nresident = "{RID}"\nbase_topic = "{base_topic}"\n[sensors]\n'
        f'"front door" = {{ device = "{DOOR}", kind = "door", room = "front" }}\n'
        f'"hall/motion" = {{ device = "{MOTION}", kind = "motion", room = "hall" }}\n'
        f'"kitchen smoke" = {{ device = "{SMOKE}", kind = "smoke", room = "kitchen" }}\n'
    )
    broker = BrokerAddress("127.0.0.1", mqtt_broker.port)
    running = ZigbeeBridge(
        config,
        broker,
        broker,
        prefix=topic_prefix,
        dead_letter=dead_letter_writer(db_url),
        timing=BridgeTiming(poll=0.05),
    )
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    assert running.ready.wait(10)
    yield running
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def _publish(client: paho.Client, name: str, payload: bytes | dict[str, object]) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    client.publish(name, data, qos=1).wait_for_publish(10)


def _events(db_url: str) -> list[tuple[str, str | None, str | None, str, str, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT kind, state, room, sensor_id, device_id, resident_id FROM events ORDER BY ts, seq"
        ).fetchall()


def test_a_door_opens_and_motion_fires_and_the_routine_sees_them(
    bridge: ZigbeeBridge, zigbee2mqtt: paho.Client, base_topic: str, db_url: str
) -> None:
    _publish(zigbee2mqtt, f"{base_topic}/front door", {"battery": 91, "contact": False, "linkquality": 60})
    wait_for(lambda: len(_events(db_url)) == 1, what="the door event")
    moving = {"battery": 100, "occupancy": True, "illuminance": 12, "voltage": 3045, "linkquality": 87}
    _publish(zigbee2mqtt, f"{base_topic}/hall/motion", moving)
    wait_for(lambda: len(_events(db_url)) == 2, what="the motion event")
    assert _events(db_url) == [
        ("door", "open", "front", DOOR, HUB, RID),
        ("motion", None, "hall", MOTION, HUB, RID),
    ]
    read = FeedReader(db_url).read(dict.fromkeys(range(PARTITIONS), 0))
    seen = sorted((o for o in read.observations if o.resident_id == RID), key=lambda o: o.record.body.ts)
    where = Whereabouts()
    for obs in seen:
        where.update(obs.record.body, obs.record.body.ts)
    door, motion = (o.record.body for o in seen if isinstance(o.record.body, DoorEvent | MotionEvent))
    assert where.front_door_at == door.ts  # the front door went through
    assert where.last_activity == motion.ts  # then movement in the hall: someone is at home
    assert not where.away


def test_availability_offline_shows_the_sensor_offline(
    bridge: ZigbeeBridge, zigbee2mqtt: paho.Client, base_topic: str, db_url: str
) -> None:
    _publish(zigbee2mqtt, f"{base_topic}/front door/availability", b"offline")  # the legacy payload
    _publish(zigbee2mqtt, f"{base_topic}/hall/motion/availability", {"state": "offline"})
    wait_for(lambda: _states(db_url).get(DOOR) == "offline" and _states(db_url).get(MOTION) == "offline")
    _publish(zigbee2mqtt, f"{base_topic}/front door/availability", {"state": "online"})
    wait_for(lambda: _states(db_url).get(DOOR) == "online", what="the door back online")
    assert _states(db_url)[HUB] == "online"  # the bridge announced the hub when it signed in


def _states(db_url: str) -> dict[str, str | None]:
    with psycopg.connect(db_url) as conn:
        return {s.device_id: s.state for s in latest_status(conn, RID)}


def test_a_malformed_payload_is_a_dead_letter_and_the_bridge_goes_on(
    bridge: ZigbeeBridge, zigbee2mqtt: paho.Client, base_topic: str, db_url: str
) -> None:
    _publish(zigbee2mqtt, f"{base_topic}/front door", b"{contact: false")
    _publish(zigbee2mqtt, f"{base_topic}/front door", {"contact": "open"})
    _publish(zigbee2mqtt, f"{base_topic}/0x00158d0001a2b3c4", {"occupancy": True})  # not in the config
    _publish(zigbee2mqtt, f"{base_topic}/front door", {"contact": False})
    wait_for(lambda: len(_events(db_url)) == 1, what="the good message after the bad ones")
    with psycopg.connect(db_url) as conn:
        dead = conn.execute("SELECT topic, reason FROM dead_letters ORDER BY id").fetchall()
    assert dead == [(f"{base_topic}/front door", "bad_json"), (f"{base_topic}/front door", "invalid")]
    assert bridge.counters.unknown == {"0x00158d0001a2b3c4": 1}
    assert count(db_url, "SELECT count(*) FROM devices") == 4  # nothing invented


def test_a_smoke_alarm_is_resent_until_the_platform_confirms_it(
    bridge: ZigbeeBridge, zigbee2mqtt: paho.Client, base_topic: str, db_url: str
) -> None:
    smoke = {"smoke": True, "battery_low": False, "battery": 100, "smoke_density": 8, "linkquality": 90}
    _publish(zigbee2mqtt, f"{base_topic}/kitchen smoke", smoke)
    wait_for(lambda: _events(db_url) == [("smoke", "alarm", "kitchen", SMOKE, HUB, RID)], what="the alarm stored")
    wait_for(lambda: bridge.unconfirmed == 0, what="the platform's ack on the hub's cmd topic")
