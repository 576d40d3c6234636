"""The Zigbee2MQTT bridge of one home: Zigbee2MQTT's broker in, the platform's broker out, as the home's hub.

The bridge signs in to the platform's broker with the home hub's own account, so the broker's access
rules stay those of a hub: it publishes its sensors' events on the hub's event topic (``sensor_id`` set,
as the contract's *Hubs* section says), the hub's retained status with its last will, and the sensors'
retained statuses; it reads the hub's ``cmd`` topic, where the platform confirms stored alarms. Smoke,
gas and water-leak events are resent (same ``seq`` and ``ts``) until that confirmation arrives, as every
device does.

One thread runs `ZigbeeBridge.run`: it takes Zigbee2MQTT's messages from the source connection's
bounded inbox one at a time, maps them with `gateway.zigbee.HomeMapper`, publishes what they became,
and keeps the clocks (the hub's heartbeat, the sensors' hourly one, resends). A malformed payload is
handed to the ``dead_letter`` callable the caller gives (the composition root writes it into the
platform's dead letters) and counted; a friendly name missing from the configuration is logged once
and counted; neither stops the bridge.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from gateway.contract import TOPIC_PREFIX, Channel, Command, encode, topic
from gateway.errors import ContractError, GatewayError, Rejected
from gateway.mqtt import BrokerAddress, Inbound, MqttConnection
from gateway.zigbee import HomeConfig, HomeMapper, Outgoing

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BridgeTiming:
    """The bridge's clocks."""

    hub_heartbeat: timedelta = timedelta(minutes=5)  # the hub's retained online status, as a hub sends it
    sensor_heartbeat: timedelta = timedelta(hours=1)  # each live sensor's status with its battery
    resend: timedelta = timedelta(seconds=5)  # an unconfirmed alarm goes again after this long
    poll: float = 0.2  # seconds the loop waits for a message before it looks at its clocks


@dataclass(slots=True)
class BridgeCounters:
    """What the bridge did since it started."""

    received: int = 0
    published: int = 0
    ignored: int = 0
    unknown: Counter[str] = field(default_factory=Counter)  # by friendly name
    rejected: Counter[str] = field(default_factory=Counter)  # by dead-letter reason
    resent: int = 0


@dataclass(slots=True)
class _Pending:
    name: str
    payload: bytes
    due: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ZigbeeBridge:
    """Follow one home's Zigbee2MQTT and publish its sensors on the platform's broker as the home's hub."""

    def __init__(
        self,
        config: HomeConfig,
        source: BrokerAddress,
        target: BrokerAddress,
        *,
        prefix: str = TOPIC_PREFIX,
        dead_letter: Callable[[Rejected], None] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        timing: BridgeTiming = BridgeTiming(),
    ) -> None:
        self.config = config
        self.mapper = HomeMapper(config)
        self.counters = BridgeCounters()
        self.ready = threading.Event()  # set once both connections are up and subscribed
        self._source_address, self._target_address = source, target
        self._prefix = prefix
        self._dead_letter = dead_letter
        self._clock = clock
        self._timing = timing
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._reconnected = threading.Event()  # set by every connect to the platform's broker
        self._booted = False
        self._pending: dict[int, _Pending] = {}  # unconfirmed alarms by seq
        self._unknown_logged: set[str] = set()

    @property
    def unconfirmed(self) -> int:
        """Return how many alarms wait for the platform's confirmation (resent until it comes)."""
        return len(self._pending)

    def run(self, stop: threading.Event) -> None:
        """Bridge until ``stop`` is set; the hub's last will tells the platform if the process dies instead."""
        source, target = self._connect()
        try:
            self._loop(source, target, stop)
        finally:
            self._publish(target, self.mapper.hub_will(self._clock(), "shutdown"))
            source.close()
            target.close()
            LOG.info("zigbee bridge of %s stopped: %s", self.config.hub_id, self.counters)

    def _connect(self) -> tuple[MqttConnection, MqttConnection]:
        now = self._clock()
        hub = self.config.hub_id
        will = self.mapper.hub_will(now)
        target = MqttConnection(
            self._target_address,
            hub,
            will=(topic(hub, Channel.STATUS, self._prefix), encode(will.body)),
            on_connect=self._reconnected.set,
        )
        target.connect()
        target.route(topic(hub, Channel.CMD, self._prefix), self._on_command)
        source = MqttConnection(self._source_address, f"anxin-zigbee-{hub}", persistent=False)
        try:
            source.connect()
            source.subscribe([f"{self.config.base_topic}/#"])
        except GatewayError:
            target.close()
            raise
        LOG.info(
            "zigbee bridge of %s: %d sensors on %s/# → %s/%s/…",
            hub,
            len(self.config.sensors),
            self.config.base_topic,
            self._prefix,
            hub,
        )
        self.ready.set()
        return source, target

    def _loop(self, source: MqttConnection, target: MqttConnection, stop: threading.Event) -> None:
        now = self._clock()
        next_hub, next_sensors = now + self._timing.hub_heartbeat, now + self._timing.sensor_heartbeat
        while not stop.is_set():
            now = self._clock()
            if self._reconnected.is_set():  # first of all: the hub's last will may have said offline meanwhile
                self._reconnected.clear()
                self._publish(target, self.mapper.hub_status(now, "reconnect" if self._booted else "boot"))
                self._booted = True
            if now >= next_hub:
                next_hub = now + self._timing.hub_heartbeat
                self._publish(target, self.mapper.hub_status(now, "heartbeat"))
            if now >= next_sensors:
                next_sensors = now + self._timing.sensor_heartbeat
                for record in self.mapper.heartbeats(now):
                    self._publish(target, record)
                self._log_health()
            self._confirm_and_resend(target, now)
            try:
                msg = source.inbox.get(timeout=self._timing.poll)
            except queue.Empty:
                continue
            self._take(target, msg, self._clock())

    def _take(self, target: MqttConnection, msg: Inbound, now: datetime) -> None:
        """Map one Zigbee2MQTT message and publish what it became; a bad one becomes a dead letter."""
        self.counters.received += 1
        try:
            outcome = self.mapper.handle(msg.topic, msg.payload, now, msg.retain)
        except ContractError as exc:
            self._reject(msg, exc.reason, exc.detail)
            return
        if outcome.ignored:
            self.counters.ignored += 1
        if outcome.unknown is not None:
            self._unknown(outcome.unknown)
        for record in outcome.records:
            self._publish(target, record)

    def _reject(self, msg: Inbound, reason: str, detail: str) -> None:
        self.counters.rejected[reason] += 1
        LOG.warning("zigbee bridge: %s on %s (%s); dead-lettered", reason, msg.topic[:200], detail[:200])
        if self._dead_letter is None:
            return
        try:
            self._dead_letter(Rejected(msg.received_at, msg.topic, msg.payload, reason, detail))
        except Exception:
            LOG.exception("zigbee bridge: could not store the dead letter of %s", msg.topic[:200])

    def _unknown(self, name: str) -> None:
        self.counters.unknown[name] += 1
        if name not in self._unknown_logged:  # once a name: an unpaired sensor reports every hour
            self._unknown_logged.add(name)
            LOG.warning("zigbee bridge: %r is not in the home's configuration; its messages are ignored", name[:200])

    def _publish(self, target: MqttConnection, record: Outgoing) -> None:
        name = topic(record.device_id, record.channel, self._prefix)
        payload = encode(record.body)
        target.publish(name, payload, qos=1, retain=record.retain)
        self.counters.published += 1
        if record.record.needs_confirmation:
            self._pending[record.body.seq] = _Pending(name, payload, self._clock() + self._timing.resend)

    def _on_command(self, _topic: str, payload: bytes) -> None:
        """Take the platform's confirmation of a stored alarm (on paho's thread: only queue it)."""
        try:
            command = Command.model_validate_json(payload)
        except ValidationError:
            LOG.warning("zigbee bridge: an unreadable command on the hub's cmd topic was ignored")
            return
        self._acks.put(command.ack_seq)

    def _confirm_and_resend(self, target: MqttConnection, now: datetime) -> None:
        while True:
            try:
                self._pending.pop(self._acks.get_nowait(), None)
            except queue.Empty:
                break
        for pending in self._pending.values():
            if now >= pending.due:
                target.publish(pending.name, pending.payload, qos=1)
                pending.due = now + self._timing.resend
                self.counters.resent += 1

    def _log_health(self) -> None:
        weak = sorted(d for d, h in self.mapper.sensors.items() if h.weak_link)
        low = sorted(d for d, h in self.mapper.sensors.items() if h.battery_low)
        LOG.info(
            "zigbee bridge of %s: %s; weak links %s; low batteries %s",
            self.config.hub_id,
            self.counters,
            weak or "none",
            low or "none",
        )
