"""The simulators' own MQTT link, as a device vendor would write it: paho-mqtt 2, QoS 1.

Two ways to connect, like real fleets: ``per-device`` — each publishing device (bracelet, hub,
directly connected sensor) has its own client id, its retained last will
``Status(state="offline", reason="lwt")`` on its status topic, subscribes to its own ``cmd``
topic and, given its secret in ``credentials``, signs in as itself (username = device id), as a
broker that refuses anonymous clients requires; ``shared`` — one connection publishes for many
devices (load tests, gateways) and subscribes to ``{prefix}/+/cmd``, signing in as the URL says.

Events whose kind needs confirmation (``EVENT_KINDS[k].confirm``) are kept until the platform's
``ack`` command with their ``ack_seq`` arrives on the device's ``cmd`` topic, and sent again —
same bytes, so storage sees a duplicate — every ``resend_after`` seconds (doubling, at most a
minute) until then. Call `MqttTransport.tick()` now and then to let resends happen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from gateway.contract import Channel, Command, Status, encode, topic
from simulators.errors import BrokerUnavailableError
from simulators.messages import Message

QOS: Final = 1
MAX_RESEND_S: Final = 60.0
MAX_BACKLOG: Final = 20_000


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes ready for the wire: who sends them, where, and whether to wait for an ``ack``."""

    device_id: str
    topic: str
    payload: bytes
    retain: bool = False
    ack_seq: int | None = None


def outgoing(message: Message, prefix: str) -> Outgoing:
    """Encode a model message for the wire."""
    ack = message.seq if message.needs_ack else None
    return Outgoing(message.device_id, message.topic(prefix), message.payload(), message.retain, ack)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, from an ``mqtt://[user:password@]host:port`` URL."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse an MQTT URL."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError(f"not an mqtt:// URL: {url!r}")
        return cls(parts.hostname, parts.port or 1883, parts.username, parts.password)


@dataclass(slots=True)
class _Pending:
    out: Outgoing
    due: float
    wait: float


@dataclass(slots=True)
class TransportStats:
    """What the link did: messages handed to paho, acknowledged by the broker, resent, confirmed."""

    published: int = 0
    puback: int = 0
    resent: int = 0
    confirmed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_json(self, pending: int) -> dict[str, int]:
        """Return the counters as a JSON-ready mapping."""
        return {
            "published": self.published,
            "puback": self.puback,
            "resent": self.resent,
            "confirmed": self.confirmed,
            "unconfirmed": pending,
        }


class MqttTransport:
    """Publish device messages over MQTT and resend confirmable events until acknowledged."""

    def __init__(
        self,
        url: str,
        devices: Iterable[str],
        *,
        prefix: str = "ec/v1",
        mode: str = "shared",
        client_prefix: str = "",
        resend_after: float = 5.0,
        max_inflight: int = 1000,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.address, self.prefix, self.mode = BrokerAddress.parse(url), prefix, mode
        self._credentials = dict(credentials or {})  # device id → its secret (per-device mode)
        self._client_prefix, self._resend_after, self._inflight = client_prefix, resend_after, max_inflight
        self._clients: dict[str, mqtt.Client] = {}
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._lock = threading.Lock()
        self._connected: set[str] = set()
        self._ready = threading.Condition()
        self.stats = TransportStats()
        names = sorted(set(devices)) if mode == "per-device" else [f"shared-{int(time.time() * 1000)}"]
        for name in names:
            self._clients[name] = self._client(name, will=mode == "per-device")

    def connect(self, timeout: float = 30.0) -> None:
        """Connect every client and wait until the broker has accepted them all."""
        for client in self._clients.values():
            try:
                client.connect_async(self.address.host, self.address.port, keepalive=60)
            except OSError as exc:
                raise BrokerUnavailableError(f"cannot reach {self.address.host}:{self.address.port}: {exc}") from exc
            client.loop_start()
        deadline = time.monotonic() + timeout
        with self._ready:
            while len(self._connected) < len(self._clients):
                left = deadline - time.monotonic()
                if left <= 0 or not self._ready.wait(left):
                    raise BrokerUnavailableError(f"{len(self._connected)}/{len(self._clients)} clients connected")

    def publish(self, out: Outgoing) -> None:
        """Send one message with QoS 1; keep it for resending if it awaits an ``ack``."""
        if out.ack_seq is not None:
            with self._lock:
                self._pending[(out.device_id, out.ack_seq)] = _Pending(
                    out, time.monotonic() + self._resend_after, self._resend_after
                )
        self._send(out)

    def tick(self) -> None:
        """Resend every confirmable event whose ``ack`` is overdue."""
        now = time.monotonic()
        with self._lock:
            due = [p for p in self._pending.values() if p.due <= now]
            for p in due:
                p.wait = min(MAX_RESEND_S, p.wait * 2)
                p.due = now + p.wait
        for p in due:
            self._send(p.out)
            self.stats.resent += 1

    @property
    def unconfirmed(self) -> int:
        """Return how many events still wait for their ``ack``."""
        with self._lock:
            return len(self._pending)

    def close(self, goodbye: bool = True) -> None:
        """Say offline (retained, reason ``shutdown``) for each connected device, then disconnect."""
        if goodbye and self.mode == "per-device":
            infos = [
                c.publish(*_status_args(name, self.prefix, "shutdown"), qos=QOS, retain=True)
                for name, c in self._clients.items()
            ]
            for info in infos:
                info.wait_for_publish(timeout=5)
        for client in self._clients.values():
            client.disconnect()
            client.loop_stop()

    @property
    def backlog(self) -> int:
        """Return how many published messages the broker has not acknowledged yet."""
        return self.stats.published - self.stats.puback

    def wait_for_backlog(self, limit: int, timeout: float) -> bool:
        """Wait until at most ``limit`` messages await the broker's PUBACK; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.backlog > limit:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def _send(self, out: Outgoing) -> None:
        if self.backlog > MAX_BACKLOG:
            self.wait_for_backlog(MAX_BACKLOG // 2, timeout=30.0)  # as fast as possible, but no faster
        client = self._clients.get(out.device_id) or next(iter(self._clients.values()))
        client.publish(out.topic, out.payload, qos=QOS, retain=out.retain)
        with self.stats.lock:
            self.stats.published += 1

    def _client(self, name: str, *, will: bool) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self._client_prefix + name, clean_session=True)
        client.max_inflight_messages_set(self._inflight)
        client.max_queued_messages_set(0)
        if will and name in self._credentials:
            client.username_pw_set(name, self._credentials[name])
        elif self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if will:
            client.will_set(*_status_args(name, self.prefix, "lwt"), qos=QOS, retain=True)
        sub = topic(name, Channel.CMD, self.prefix) if will else f"{self.prefix}/+/{Channel.CMD.value}"
        client.on_connect = lambda c, _u, _f, rc, _p: self._on_connect(c, name, sub, rc)
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client: mqtt.Client, name: str, sub: str, rc: Any) -> None:
        if rc.is_failure:
            return
        client.subscribe(sub, qos=QOS)
        with self._ready:
            self._connected.add(name)
            self._ready.notify_all()

    def _on_publish(self, *_args: Any) -> None:
        with self.stats.lock:
            self.stats.puback += 1

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        device_id = msg.topic.split("/")[-2]
        try:
            cmd = Command.model_validate_json(msg.payload)
        except ValidationError:
            return  # a command we cannot read is one we cannot act on; devices ignore it
        with self._lock:
            found = self._pending.pop((device_id, cmd.ack_seq), None)
        if found is not None:
            with self.stats.lock:
                self.stats.confirmed += 1


def _status_args(device_id: str, prefix: str, reason: str) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    body = Status(device_id=device_id, seq=int(now.timestamp() * 1000), ts=now, state="offline", reason=reason)
    return topic(device_id, Channel.STATUS, prefix), encode(body)
