"""Helpers for the fault tests: platform settings, devices that resend until confirmed, a listener on alert changes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from anxin.settings import Settings
from gateway.contract import Channel, FallEvent, SosEvent, Telemetry, encode, topic
from simulators.transport import MqttTransport, Outgoing

ALERTS_FILTER = "anxin/v1/alerts/#"


def platform_settings(db_url: str, mqtt_url: str, prefix: str, data_dir: Path, **extra: Any) -> Settings:
    """Build settings for a platform on the given servers (own client id, group and data folder).

    The map's tiles point at a loopback port nobody listens on: a page under test never waits on the internet
    (where DNS may hang rather than fail), and the map must work without its tiles anyway.
    """
    extra.setdefault("tile_url", "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png")
    return Settings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        topic_prefix=prefix,
        data_dir=data_dir,
        ingest_client_id=f"ingest-{uuid.uuid4().hex[:8]}",
        ingest_group=f"g{uuid.uuid4().hex[:6]}",
        webhook_secret="w" * 40,
        reply_secret="r" * 40,
        secret_key="s" * 40,  # type: ignore[arg-type]
        **extra,
    )


def scalar(db_url: str, query: str, *params: object) -> int:
    """Return the single integer a query yields (0 when the database cannot be reached)."""
    try:
        with psycopg.connect(db_url, connect_timeout=2) as conn:
            row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    except psycopg.OperationalError:
        return 0
    return int(row[0]) if row is not None and row[0] is not None else 0


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> float:
    """Poll until the predicate holds; return the seconds it took, or fail at the deadline."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - start


@dataclass
class Fleet:
    """Bracelets on one shared link: telemetry, and SOS/fall events resent every second until the ``ack`` arrives."""

    transport: MqttTransport
    prefix: str
    seq: dict[str, int] = field(default_factory=dict)
    sent_telemetry: int = 0
    sent_critical: list[tuple[str, str, int]] = field(default_factory=list)  # (device, kind, seq)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self, device_id: str) -> int:
        with self._lock:
            self.seq[device_id] = self.seq.get(device_id, 0) + 1
            return self.seq[device_id]

    def telemetry(self, device_id: str, at: datetime | None = None) -> None:
        """Send one telemetry reading stamped with the device's clock (now unless given)."""
        body = Telemetry(seq=self._next(device_id), ts=at or datetime.now(UTC), heart_rate=72, battery=80, worn=True)
        self.transport.publish(Outgoing(device_id, topic(device_id, Channel.TELEMETRY, self.prefix), encode(body)))
        with self._lock:
            self.sent_telemetry += 1

    def critical(self, device_id: str, kind: str) -> float:
        """Send an SOS or a fall, kept for resending until confirmed; return when it was sent (monotonic)."""
        seq = 1_000_000 + self._next(device_id)
        now = datetime.now(UTC)
        body = SosEvent(kind="sos", seq=seq, ts=now) if kind == "sos" else FallEvent(kind="fall", seq=seq, ts=now)
        sent = time.monotonic()
        self.transport.publish(
            Outgoing(device_id, topic(device_id, Channel.EVENT, self.prefix), encode(body), ack_seq=seq)
        )
        with self._lock:
            self.sent_critical.append((device_id, kind, seq))
        return sent


@contextmanager
def fleet(mqtt_url: str, prefix: str, devices: list[str]) -> Iterator[Fleet]:
    """Connect a fleet and let it resend unconfirmed events (a thread ticks the transport) until the block ends."""
    transport = MqttTransport(
        mqtt_url, devices, prefix=prefix, mode="shared", resend_after=1.0, client_prefix=f"dev-{uuid.uuid4().hex[:6]}-"
    )
    for client in transport._clients.values():  # a device retries its broker within seconds
        client.reconnect_delay_set(1, 2)
    transport.connect()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.1):
            transport.tick()

    ticker = threading.Thread(target=tick, name="fleet-resend", daemon=True)
    ticker.start()
    try:
        yield Fleet(transport, prefix)
    finally:
        stop.set()
        ticker.join(5)
        transport.close(goodbye=False)


@dataclass
class Load:
    """Telemetry at a steady rate from a thread, round-robin over devices, until stopped."""

    fleet: Fleet
    devices: list[str]
    rate: float
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> Load:
        """Start sending."""
        self.thread = threading.Thread(target=self._run, name="telemetry-load", daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        start, n = time.monotonic(), 0
        while not self.stop.is_set():
            due = start + n / self.rate
            if (wait := due - time.monotonic()) > 0 and self.stop.wait(wait):
                return
            self.fleet.telemetry(self.devices[n % len(self.devices)])
            n += 1

    def finish(self) -> None:
        """Stop sending."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)


@dataclass
class AlertListener:
    """An operator's view of the broker: every alert change (and provisional alert) with when it arrived."""

    port: int
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    _client: paho.Client | None = None

    def start(self) -> AlertListener:
        """Connect, subscribe (again after any reconnect) and wait for the SUBACK."""
        subscribed = threading.Event()
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"listener-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv311
        )
        client.reconnect_delay_set(1, 2)
        client.on_connect = lambda c, *_: c.subscribe(ALERTS_FILTER, qos=1)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = lambda _c, _u, m: self.seen.append((time.monotonic(), json.loads(m.payload)))
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        assert subscribed.wait(10), "no SUBACK for the alert topics"
        self._client = client
        return self

    def changes(self, action: str | None = None, kind: str | None = None) -> list[tuple[float, dict[str, Any]]]:
        """Return the messages seen so far, of one action and kind when given."""
        return [
            (t, m)
            for t, m in list(self.seen)
            if (action is None or m.get("action") == action) and (kind is None or m.get("kind") == kind)
        ]

    def first(self, resident_id: str, kind: str, action: str) -> float | None:
        """Return when the first message of this resident, kind and action arrived."""
        return next(
            (
                t
                for t, m in list(self.seen)
                if m.get("resident_id") == resident_id and m.get("kind") == kind and m.get("action") == action
            ),
            None,
        )

    def close(self) -> None:
        """Disconnect."""
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
