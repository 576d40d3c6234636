"""The one module that talks to paho-mqtt.

Paho's callbacks run on its network thread; they turn each message into an `Inbound` value at
once and hand it over through a bounded queue, so a slow consumer pushes back on the broker
instead of growing memory. Acknowledgements are manual (paho-mqtt 2 ``manual_ack``): the consumer
calls `ack()` only after the message is safely stored, which gives at-least-once end to end.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.errors import BrokerError

LOG = logging.getLogger(__name__)
SESSION_EXPIRY_S = 7 * 24 * 3600  # a stopped worker's queue is kept a week


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is and how to sign in."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, username: str | None = None, password: str | None = None) -> BrokerAddress:
        """Parse ``mqtt://user:pass@host:port`` or ``mqtts://…`` (TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise BrokerError(f"unsupported MQTT URL scheme {parts.scheme!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else username,
            password=unquote(parts.password) if parts.password else password,
        )


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as delivered by the broker, not yet decoded."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_at: datetime


class MqttConnection:
    """An MQTT 5 connection with a persistent session, manual acks and a bounded inbound queue."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        persistent: bool = True,
        manual_ack: bool = False,
        receive_maximum: int = 65535,
        queue_size: int = 100_000,
        will: tuple[str, bytes] | None = None,
        on_connect: Callable[[], None] | None = None,
        on_arrival: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self._on_arrival = on_arrival  # called on the network thread as each message arrives, before the inbox
        self.inbox: queue.Queue[Inbound] = queue.Queue(maxsize=queue_size)
        self._subscriptions: dict[str, int] = {}
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._persistent = persistent
        self._receive_maximum = receive_maximum
        self._on_connect_hook = on_connect
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=manual_ack
        )
        self._client._on_message_filtered = TopicMatcher()  # paho's own leaves a reference cycle per message
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            context = ssl.create_default_context(cafile=address.ca_file)
            self._client.tls_set_context(context)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.reconnect_delay_set(1, 5)

    def connect(self, timeout: float = 10.0) -> None:
        """Connect and start the network thread; wait until the broker accepts us."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S if self._persistent else 0
        props.ReceiveMaximum = self._receive_maximum
        try:
            self._client.connect(
                self.address.host, self.address.port, keepalive=30, clean_start=not self._persistent, properties=props
            )
        except OSError as exc:
            raise BrokerError(f"cannot reach the broker at {self.address.host}:{self.address.port}: {exc}") from exc
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise BrokerError(f"the broker at {self.address.host}:{self.address.port} did not accept us")

    def subscribe(self, topics: Sequence[str], qos: int = 1, timeout: float = 10.0) -> None:
        """Subscribe now (waiting for the broker's SUBACK) and again after every reconnect."""
        self._subscriptions.update(dict.fromkeys(topics, qos))
        if not self._connected.is_set():
            return
        self._subscribed.clear()
        self._client.subscribe([(t, qos) for t in topics])
        if not self._subscribed.wait(timeout):
            raise BrokerError(f"no SUBACK for {topics} within {timeout} s")

    def route(self, topic_filter: str, handler: Callable[[str, bytes], None], qos: int = 1) -> None:
        """Send messages matching ``topic_filter`` to ``handler`` (on paho's thread) instead of the inbox."""
        self._client.message_callback_add(topic_filter, lambda _c, _u, m: handler(m.topic, bytes(m.payload)))
        self.subscribe([topic_filter], qos)

    def unroute(self, topic_filter: str) -> None:
        """Stop following ``topic_filter``."""
        self._subscriptions.pop(topic_filter, None)
        self._client.unsubscribe(topic_filter)
        self._client.message_callback_remove(topic_filter)

    def ack(self, mid: int, qos: int = 1) -> None:
        """Acknowledge a message once it is stored (manual-ack connections only)."""
        if qos > 0:
            self._client.ack(mid, qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a message for the broker (paho resends QoS 1 until the broker confirms)."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise BrokerError(f"publish to {topic} failed: {paho.error_string(info.rc)}")

    def close(self) -> None:
        """Disconnect cleanly (the session stays at the broker when persistent)."""
        self._client.disconnect()
        self._client.loop_stop()

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT, as a crash would (the broker sends the will)."""
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    @property
    def connected(self) -> bool:
        """Tell whether the broker connection is up."""
        return self._connected.is_set()

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            LOG.error("broker refused the connection: %s", reason)
            return
        self._connected.set()
        if self._subscriptions:
            client.subscribe(list(self._subscriptions.items()))
        if self._on_connect_hook is not None:
            self._on_connect_hook()

    def _on_subscribe(self, _c: paho.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            LOG.error("broker refused subscriptions: %s", refused)
        self._subscribed.set()

    def _on_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if reason.is_failure:
            LOG.warning("lost the broker connection (%s); reconnecting", reason)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if self._on_arrival is not None:
            self._on_arrival()
        # Blocks when the consumer is behind: TCP back-pressure instead of unbounded memory.
        self.inbox.put(Inbound(msg.topic, bytes(msg.payload), msg.mid, msg.qos, bool(msg.retain), datetime.now(UTC)))


class TopicMatcher(MQTTMatcher):
    """Paho's topic-filter matcher, without its garbage.

    Paho looks every incoming message up in this matcher (to find the callbacks `route` added), and its
    own lookup builds a recursive closure each time: a reference cycle that only the cycle collector
    frees. At thousands of messages a second those cycles kept the collector running, and each of its
    passes stops every thread of the process — an SOS too (measured: an ingest process made about
    8,000 such cycles a second under `make bench-latency`'s 50 % load). This lookup makes none, and a
    connection with no routes (ingest's) skips it.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def iter_match(self, topic: str) -> Iterator[Any]:
        """Iterate over the values of the filters that match ``topic``."""
        if not self._root._children:
            return iter(())
        return _matches(self._root, topic.split("/"), not topic.startswith("$"), 0)


def _matches(node: Any, parts: list[str], normal: bool, i: int) -> Iterator[Any]:
    """Yield what the filters below ``node`` that match ``parts[i:]`` hold (``normal``: not a ``$`` topic,
    which the wildcards do not match at its first level)."""
    children = node._children
    if i == len(parts):
        if node._content is not None:
            yield node._content
    else:
        if (child := children.get(parts[i])) is not None:
            yield from _matches(child, parts, normal, i + 1)
        if (plus := children.get("+")) is not None and (normal or i > 0):
            yield from _matches(plus, parts, normal, i + 1)
    if (rest := children.get("#")) is not None and (normal or i > 0) and rest._content is not None:
        yield rest._content


class Subscriber:
    """Follow topic filters with callbacks over one connection (what the dashboard needs from the broker)."""

    def __init__(self, connection: MqttConnection) -> None:
        self._connection = connection

    def subscribe(self, topic_filter: str, on_message: Callable[[str, bytes], None]) -> None:
        """Call ``on_message(topic, payload)`` for every message matching ``topic_filter``."""
        self._connection.route(topic_filter, on_message)

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop following ``topic_filter``."""
        self._connection.unroute(topic_filter)
