"""The MQTT link against a real Mosquitto: delivery, last will, resend until ``ack``, load rate."""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.contract import Channel, Status, command_ack, decode, encode, topic
from simulators.fleet import build_fleet
from simulators.load import LoadPlan, run_load
from simulators.run import run_scenario
from simulators.scenario import Scenario
from simulators.schedule import IncidentSpec
from simulators.transport import MqttTransport, Outgoing

from .factories import MIDNIGHT


class Listener:
    """A plain subscriber that collects (topic, payload, retain) from the broker."""

    def __init__(self, broker: Any, pattern: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{time.monotonic_ns()}")
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe(pattern, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload, bool(m.retain)))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def drain(self, wait: float = 0.5) -> list[tuple[str, bytes, bool]]:
        out, deadline = [], time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                out.append(self.messages.get(timeout=0.05))
            except queue.Empty:
                continue
        return out

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listener(mqtt_broker: Any, topic_prefix: str) -> Any:
    lst = Listener(mqtt_broker, f"{topic_prefix}/#")
    yield lst
    lst.close()


def test_scenario_reaches_the_broker_and_validates(mqtt_broker: Any, topic_prefix: str, listener: Listener) -> None:
    scenario = Scenario(
        residents=2,
        days=0.1,
        speed=0,
        prefix=topic_prefix,
        connections="per-device",
        incidents=IncidentSpec.parse("sos:1"),
        start=datetime.fromtimestamp(MIDNIGHT + 7 * 3600, UTC),
    )
    summary = run_scenario(scenario, mqtt_broker.url, client_prefix=topic_prefix.split("/", maxsplit=1)[0] + "-")
    got = listener.drain(2.0)
    assert summary.messages > 100
    assert summary.transport["puback"] >= summary.messages
    received = [m for m in got if not m[0].endswith("/cmd")]
    assert len(received) >= summary.messages
    for name, payload, _ in received:
        rec = decode(name, payload, now=datetime.now(UTC), prefix=topic_prefix)
        assert rec.device_id.startswith("r000")
    late = Listener(mqtt_broker, f"{topic_prefix}/+/status")  # retained: what a new subscriber sees
    retained = late.drain(1.0)
    late.close()
    devices = {d.device_id for r in build_fleet(2, scenario.seed) for d in r.publishers}
    assert {n.split("/")[-2] for n, _, _ in retained} == devices
    for _name, payload, flag in retained:
        body = Status.model_validate_json(payload)
        assert flag and (body.state, body.reason) == ("offline", "shutdown")


def test_last_will_is_published_when_a_device_vanishes(mqtt_broker: Any, topic_prefix: str, listener: Listener) -> None:
    transport = MqttTransport(
        mqtt_broker.url,
        ["r0042-bracelet"],
        prefix=topic_prefix,
        mode="per-device",
        client_prefix=topic_prefix.split("/", maxsplit=1)[0] + "-",
    )
    transport.connect()
    client = next(iter(transport._clients.values()))  # cut the socket, as a power loss would
    client.socket().close()
    got = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not got:
        got = [m for m in listener.drain(0.3) if m[0] == topic("r0042-bracelet", Channel.STATUS, topic_prefix)]
    client.loop_stop()
    assert got, "no last will"
    _name, payload, _ = got[0]
    body = Status.model_validate_json(payload)
    assert (body.state, body.reason) == ("offline", "lwt")


@pytest.mark.parametrize("mode", ["per-device", "shared"])
def test_confirmable_events_are_resent_until_acked(
    mqtt_broker: Any, topic_prefix: str, listener: Listener, mode: str
) -> None:
    device = "r0043-bracelet"
    transport = MqttTransport(
        mqtt_broker.url,
        [device],
        prefix=topic_prefix,
        mode=mode,
        resend_after=0.2,
        client_prefix=f"{topic_prefix.split('/', maxsplit=1)[0]}-{mode}-",
    )
    transport.connect()
    sos = encode(Status(device_id=device, seq=5, ts=datetime.now(UTC), state="online"))  # any bytes will do
    transport.publish(Outgoing(device, topic(device, Channel.EVENT, topic_prefix), sos, ack_seq=5))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and transport.stats.resent < 2:
        transport.tick()
        time.sleep(0.05)
    assert transport.stats.resent >= 2 and transport.unconfirmed == 1
    listener.client.publish(topic(device, Channel.CMD, topic_prefix), command_ack(5, datetime.now(UTC)), qos=1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and transport.unconfirmed:
        time.sleep(0.05)
    assert transport.unconfirmed == 0 and transport.stats.confirmed == 1
    resent = transport.stats.resent
    time.sleep(0.5)
    transport.tick()
    assert transport.stats.resent == resent
    transport.close()
    copies = [m for m in listener.drain(0.5) if m[0].endswith("/event")]
    assert len(copies) >= 3 and len({p for _, p, _ in copies}) == 1  # the same bytes every time


@pytest.mark.parametrize("connections", ["shared", "per-device"])
def test_load_mode_reaches_a_modest_rate(mqtt_broker: Any, topic_prefix: str, connections: str) -> None:
    plan = LoadPlan(
        url=mqtt_broker.url,
        devices=40,
        rate=500,
        duration=3,
        connections=connections,
        processes=2,
        prefix=topic_prefix,
        device_prefix=f"l{abs(hash(connections)) % 1000}x",
    )
    summary = run_load(plan)
    assert summary["errors"] == []
    assert summary["puback"] == summary["published"] == 1500
    assert summary["within_10pct"], summary
