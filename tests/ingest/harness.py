"""Test helpers: a running ingest worker, a device-side publisher, and database polling."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from gateway.contract import Channel, Telemetry, encode, topic
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.registry import Device, DeviceKind
from ingest.devices import upsert_devices, upsert_residents
from ingest.worker import IngestConfig, IngestWorker, Stored

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def register_fleet(db_url: str, n_residents: int = 3) -> list[str]:
    """Register residents with a bracelet and a hub with a motion sensor each; return bracelet ids."""
    devices = []
    for i in range(n_residents):
        rid = f"r{i}"
        devices += [
            Device(f"{rid}-bracelet", DeviceKind.BRACELET, rid),
            Device(f"{rid}-hub", DeviceKind.HUB, rid),
            Device(f"{rid}-motion-kitchen", DeviceKind.SENSOR, rid, "motion", "kitchen", f"{rid}-hub"),
        ]
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [(f"r{i}", f"Resident {i}") for i in range(n_residents)])
        upsert_devices(conn, devices)
    return [f"r{i}-bracelet" for i in range(n_residents)]


def telemetry(seq: int, at: datetime | None = None, hr: int = 70) -> bytes:
    """Return a valid telemetry payload."""
    return encode(Telemetry(seq=seq, ts=at or T0 + timedelta(seconds=seq), heart_rate=hr, battery=80, worn=True))


@dataclass
class RunningWorker:
    """A worker thread and what it handed on."""

    worker: IngestWorker
    connection: MqttConnection
    stop: threading.Event
    thread: threading.Thread
    handed: list[Stored] = field(default_factory=list)


@contextmanager
def running_worker(
    db_url: str,
    broker_port: int,
    prefix: str,
    spool: Path,
    client_id: str | None = None,
    group: str = "ingest",
    **config: object,
) -> Iterator[RunningWorker]:
    """Run an ingest worker on a thread for the duration of the block."""
    conf = IngestConfig(spool_dir=spool, topic_prefix=prefix, group=group, **config)  # type: ignore[arg-type]
    conn = MqttConnection(
        BrokerAddress("127.0.0.1", broker_port), client_id or f"ingest-{uuid.uuid4().hex[:8]}", manual_ack=True
    )
    handed: list[Stored] = []
    worker = IngestWorker(conf, db_url, conn, sink=handed.extend)
    conn.connect()
    worker.subscribe()  # before anything is published: the test's messages are not lost
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    running = RunningWorker(worker, conn, stop, thread, handed)
    try:
        yield running
    finally:
        stop.set()
        thread.join(30)
        conn.close()


class Device_:  # noqa: N801 - a device stand-in, not the registry's Device
    """A device-side MQTT client publishing with QoS 1."""

    def __init__(self, broker_port: int, prefix: str, client_id: str | None = None) -> None:
        self.prefix = prefix
        self.cmds: list[bytes] = []
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or uuid.uuid4().hex, protocol=paho.MQTTv311
        )
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = lambda _c, _u, m: self.cmds.append(m.payload)
        self.client.connect("127.0.0.1", broker_port)
        self.client.loop_start()

    def listen_cmd(self, device_id: str) -> None:
        """Subscribe to a device's command topic."""
        self.client.subscribe(topic(device_id, Channel.CMD, self.prefix), qos=1)

    def send(self, device_id: str, channel: Channel | str, payload: bytes) -> None:
        """Publish one message and wait until the broker has it."""
        name = topic(device_id, channel, self.prefix) if isinstance(channel, Channel) else f"{self.prefix}/{channel}"
        self.client.publish(name, payload, qos=1).wait_for_publish(10)

    def send_many(self, items: Sequence[tuple[str, Channel, bytes]]) -> None:
        """Publish many messages and wait for all of them."""
        infos = [self.client.publish(topic(d, c, self.prefix), p, qos=1) for d, c, p in items]
        for info in infos:
            info.wait_for_publish(30)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def count(db_url: str, query: str, *params: object) -> int:
    """Return the single integer a query yields."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll until the predicate holds, or fail."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
