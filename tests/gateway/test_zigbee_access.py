"""The bridge under the broker's real access rules: it signs in as the home's hub and writes what a hub may.

A Mosquitto with the password and ACL files `gateway.provisioning.plan` makes from a registry of one
hub and its door sensor; Zigbee2MQTT publishes on the shared test broker. An ingest account watches
what the platform's broker delivers. Mosquitto drops a forbidden publish silently, and delivers one
connection's messages in order: the bridge publishes a sensor's first status just before its first
event, so when the event is there and the status is not, the broker refused the status.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.services import LocalMosquitto
from gateway.contract import Channel, topic
from gateway.mqtt import BrokerAddress
from gateway.provisioning import broker_config, plan
from gateway.registry import Device, DeviceKind
from gateway.zigbee import parse_config
from gateway.zigbee_bridge import BridgeTiming, ZigbeeBridge
from tests.ingest.harness import wait_for

PREFIX = "ec/v1"
HUB, DOOR = "r42-hub", "r42-door-front"


@pytest.fixture(scope="module")
def platform_broker(service_root: Path) -> Iterator[tuple[LocalMosquitto, dict[str, str]]]:
    """Start a Mosquitto that checks the provisioned accounts and ACL of one hub with a door sensor."""
    root = service_root / f"zigbee-acl-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    devices = [Device(HUB, DeviceKind.HUB, "r42"), Device(DOOR, DeviceKind.SENSOR, "r42", "door", "front", HUB)]
    result = plan(devices, {}, {"ingest": 1}, {}, PREFIX)
    (root / "passwd").write_text(result.password_file)
    (root / "acl").write_text(result.acl_file)
    broker = LocalMosquitto(root, extra_config=broker_config(root / "passwd", root / "acl")).start()
    try:
        yield broker, {a.username: a.password for a in (*result.issued, *result.services)}
    finally:
        broker.stop()


@pytest.fixture
def delivered(platform_broker: tuple[LocalMosquitto, dict[str, str]]) -> Iterator[list[tuple[str, dict[str, object]]]]:
    """Collect what the platform's broker delivers to an ingest account on the devices' topics."""
    broker, secrets = platform_broker
    seen: list[tuple[str, dict[str, object]]] = []
    subscribed = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="ingest.1", protocol=paho.MQTTv5)
    client.username_pw_set("ingest.1", secrets["ingest.1"])
    client.on_message = lambda _c, _u, m: seen.append((m.topic, json.loads(m.payload)))
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.subscribe([(f"{PREFIX}/+/event", 1), (f"{PREFIX}/+/status", 1)])
    assert subscribed.wait(5)
    yield seen
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def bridge(
    platform_broker: tuple[LocalMosquitto, dict[str, str]], mqtt_broker: LocalMosquitto, delivered: object
) -> Iterator[tuple[ZigbeeBridge, str]]:
    """Run the bridge signed in as the hub, reading Zigbee2MQTT on the shared test broker."""
    broker, secrets = platform_broker
    base = f"z{uuid.uuid4().hex[:10]}/zigbee2mqtt"
    config = parse_config(
        f'hub = "{HUB}"\nbase_topic = "{base}"\n[sensors]\n'
        f'"front door" = {{ device = "{DOOR}", kind = "door", room = "front" }}\n'
    )
    target = BrokerAddress("127.0.0.1", broker.port, username=HUB, password=secrets[HUB])
    running = ZigbeeBridge(config, BrokerAddress("127.0.0.1", mqtt_broker.port), target, timing=BridgeTiming(poll=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    assert running.ready.wait(10)
    yield running, base
    stop.set()
    thread.join(10)


def _door_opens(mqtt_broker: LocalMosquitto, base: str, delivered: list[tuple[str, dict[str, object]]]) -> None:
    z2m = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"z2m-{uuid.uuid4().hex[:8]}")
    z2m.connect("127.0.0.1", mqtt_broker.port)
    z2m.loop_start()
    z2m.publish(f"{base}/front door", json.dumps({"contact": False, "battery": 90}), qos=1).wait_for_publish(5)
    z2m.disconnect()
    z2m.loop_stop()
    wait_for(lambda: any(t == topic(HUB, Channel.EVENT) for t, _ in delivered), 10, "the door event")


def test_the_hub_account_relays_its_sensor_s_events_and_its_own_status(
    bridge: tuple[ZigbeeBridge, str], mqtt_broker: LocalMosquitto, delivered: list[tuple[str, dict[str, object]]]
) -> None:
    _door_opens(mqtt_broker, bridge[1], delivered)
    events = [p for t, p in delivered if t == topic(HUB, Channel.EVENT)]
    assert [(e["kind"], e["state"], e["sensor_id"]) for e in events] == [("door", "open", DOOR)]
    assert any(t == topic(HUB, Channel.STATUS) and p["state"] == "online" for t, p in delivered)


def test_the_hub_account_may_publish_its_sensors_status(
    bridge: tuple[ZigbeeBridge, str], mqtt_broker: LocalMosquitto, delivered: list[tuple[str, dict[str, object]]]
) -> None:
    _door_opens(mqtt_broker, bridge[1], delivered)
    assert any(t == topic(DOOR, Channel.STATUS) for t, _ in delivered)  # its own sensor's status: allowed
