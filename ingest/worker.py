"""The ingest worker: broker → decode → batch → commit → ack, with the alert path ahead of the batch.

One thread runs the loop below; paho's network thread only fills the inbound queue. A message is
acknowledged to the broker only after its row (or its dead letter, or its spool segment) is
durable, so a worker killed at any moment loses nothing: the broker redelivers what was not acked
and the unique index stores it once. Urgent events (SOS, fall, …) are committed on their own at
once and handed to the alert path, never behind a telemetry batch; their devices get an ``ack``
command on their ``cmd`` topic.

Events come on connections of their own. The *events* connection, persistent like the bulk one,
takes every event (nothing is lost while a worker restarts). The *urgent lane*, with a clean
session in a share group of its own, takes a second copy of every event and keeps only the urgent
ones: a worker that dies leaves that group the moment its connection drops, so an SOS pressed
meanwhile goes to a live worker instead of waiting in the dead one's session until it comes back.
The lane has a thread and a database connection of its own, so an SOS never waits for a telemetry
batch being committed either. The copy that arrives second is a duplicate, stored once and acted on
once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from gateway.contract import Channel, Record, command_ack, decode, topic
from gateway.errors import ContractError
from gateway.mqtt import Inbound, MqttConnection
from gateway.priority import Priority
from gateway.registry import Attribution, Device, Registry
from ingest.database import db_mode
from ingest.devices import load_devices
from ingest.errors import DatabaseError, DataRejectedError, SpoolFullError
from ingest.metrics import Metrics
from ingest.rows import Batch, DeadLetter
from ingest.spool import Spool
from ingest.writer import BatchWriter, WriteResult

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How an ingest worker batches and where it keeps its spool."""

    spool_dir: Path
    topic_prefix: str = "ec/v1"
    group: str = "ingest"
    batch_max_rows: int = 5000
    batch_max_ms: int = 200
    spool_max_bytes: int = 512 * 1024 * 1024
    max_future_skew_s: float = 300.0
    registry_refresh_s: float = 30.0
    registry_miss_refresh_s: float = 2.0
    retry_s: float = 1.0

    def subscriptions(
        self, channels: tuple[Channel, ...] = (Channel.TELEMETRY, Channel.EVENT, Channel.STATUS)
    ) -> list[str]:
        """Return the shared subscriptions that spread devices' messages over the workers."""
        return [f"$share/{self.group}/{self.topic_prefix}/+/{c.value}" for c in channels]

    def urgent_subscription(self) -> str:
        """Return the urgent lane's subscription: every event again, in a share group of clean sessions."""
        return f"$share/{self.group}-urgent/{self.topic_prefix}/+/{Channel.EVENT.value}"


@dataclass(frozen=True, slots=True)
class Stored:
    """A record that is durable, attributed to its resident: what the alert path receives."""

    record: Record
    resident_id: str | None
    sensor: Device | None
    received_at: datetime
    spooled: bool = False  # durable on the spool, not yet in the database


Sink = Callable[[Sequence[Stored]], None]


@dataclass(slots=True)
class _Pending:
    """Messages of the batch being built, with what they became."""

    batch: Batch = field(default_factory=Batch)
    inbound: list[Inbound] = field(default_factory=list)
    acks: list[tuple[MqttConnection, int, int]] = field(default_factory=list)  # connection, mid, qos
    stored: list[Stored] = field(default_factory=list)
    sources: list[Inbound] = field(default_factory=list)  # the message each stored record came from
    dead: Counter[str] = field(default_factory=Counter)
    started: float = 0.0

    def __len__(self) -> int:
        return len(self.inbound)


def _age(messages: Sequence[Inbound]) -> float:
    """Return the seconds since the oldest of these messages reached the worker (the lag of their commit)."""
    if not messages:
        return 0.0
    return (datetime.now(UTC) - min(m.received_at for m in messages)).total_seconds()


def load_registry(url: str) -> Registry:
    """Read the device registry from the database."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        return Registry(load_devices(conn))


class IngestWorker:
    """Drain one MQTT connection into the database."""

    def __init__(
        self,
        config: IngestConfig,
        db_url: str,
        mqtt: MqttConnection,
        *,
        events: MqttConnection | None = None,
        urgent: MqttConnection | None = None,
        sink: Sink | None = None,
        urgent_sink: Sink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        worker_name: str = "ingest",
        priority: Priority | None = None,
    ) -> None:
        self.config = config
        self.metrics = Metrics(worker_name)
        self.name = worker_name
        self._db_url = db_url
        self._mqtt = mqtt
        self._events = events
        self._urgent = urgent  # a clean session: it must not also be the persistent events connection
        self._sink = sink
        self._urgent_sink = urgent_sink or sink
        self._clock = clock
        self.priority = priority or Priority()  # an urgent record on the lane is urgent work in flight
        self._writer = BatchWriter(db_url)
        self._lane_writer = BatchWriter(db_url) if urgent is not None else None  # the urgent lane's own
        self._spool = Spool(config.spool_dir, config.spool_max_bytes)
        self._spool_lock = threading.Lock()  # the urgent lane spools too while the database is down
        self._registry = Registry()
        self._registry_loaded = 0.0
        self._registry_miss = 0.0
        self._db_retry_at = 0.0
        self._max_future = timedelta(seconds=config.max_future_skew_s)  # once, not per message
        self._subscribed = False
        self._mode_known = False

    def run(self, stop: threading.Event) -> None:
        """Ingest until ``stop`` is set, then commit what is pending and return."""
        self._refresh_registry(force=True)
        self.metrics.spool_size(self._spool.size)  # a spool left by the last run counts from the start
        if not self._subscribed:
            self.subscribe()
        lane = None
        if self._urgent is not None:
            lane = threading.Thread(target=self._run_lane, args=(stop,), name=f"{self.name}-urgent", daemon=True)
            lane.start()
        pending = _Pending()
        while not stop.is_set():
            self._drain(pending)
            if pending and (
                len(pending) >= self.config.batch_max_rows
                or time.monotonic() - pending.started >= self.config.batch_max_ms / 1000
            ):
                pending = self._commit(pending)
            if self._spool and time.monotonic() >= self._db_retry_at:
                self._replay_one()
            if time.monotonic() - self._registry_loaded > self.config.registry_refresh_s:
                self._refresh_registry()
        while pending and not self._try_commit(pending):
            time.sleep(self.config.retry_s)  # never drop what is pending; the caller may kill us
        if lane is not None:
            lane.join()
        self._writer.close()
        if self._lane_writer is not None:
            self._lane_writer.close()

    def _run_lane(self, stop: threading.Event) -> None:
        """Commit each urgent event of the urgent lane the moment it arrives, on the lane's own connection."""
        assert self._urgent is not None
        while not stop.is_set():
            try:
                msg = self._urgent.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            self._take_urgent(msg)

    def subscribe(self) -> None:
        """Subscribe (events on their own connection when there is one, so they never queue behind telemetry)."""
        self._subscribed = True
        if self._events is None:
            self._mqtt.subscribe(self.config.subscriptions())
            LOG.info("%s subscribed to %s", self.name, ", ".join(self.config.subscriptions()))
            return
        bulk = self.config.subscriptions((Channel.TELEMETRY, Channel.STATUS))
        events = self.config.subscriptions((Channel.EVENT,))
        self._mqtt.subscribe(bulk)
        self._events.subscribe(events)
        LOG.info("%s subscribed to %s, and to %s on its events connection", self.name, ", ".join(bulk), events[0])
        if self._urgent is not None:
            self._urgent.subscribe([self.config.urgent_subscription()])
            LOG.info("%s takes urgent events also from %s", self.name, self.config.urgent_subscription())

    def _drain(self, pending: _Pending) -> None:
        """Take messages until the batch is full or its time is up; events first, and between every few."""
        self._drain_events(pending)
        timeout = (
            0.05 if not pending else max(0.0, pending.started + self.config.batch_max_ms / 1000 - time.monotonic())
        )
        if self._events is not None:
            timeout = min(timeout, 0.005)  # an event arriving meanwhile must not wait for the batch timer
        try:
            msg = self._mqtt.inbox.get(timeout=timeout)
        except queue.Empty:
            return
        taken = 0
        while True:
            self.priority.step_aside()
            self._take(msg, pending, self._mqtt)
            taken += 1
            if len(pending) >= self.config.batch_max_rows:
                return
            if taken % 256 == 0:
                self._drain_events(pending)
            try:
                msg = self._mqtt.inbox.get_nowait()
            except queue.Empty:
                return

    def _drain_events(self, pending: _Pending) -> None:
        """Take every event waiting on the events connection."""
        if self._events is None:
            return
        while True:
            try:
                msg = self._events.inbox.get_nowait()
            except queue.Empty:
                return
            self._take(msg, pending, self._events)

    def _take(self, msg: Inbound, pending: _Pending, source: MqttConnection) -> None:
        """Decode one message into the pending batch; send an urgent one on its own at once."""
        self.metrics.count_received()
        now = self._clock()
        try:
            record = decode(msg.topic, msg.payload, now, self.config.topic_prefix, self._max_future)
            who = self._attribute(record)
        except ContractError as exc:
            if not pending:
                pending.started = time.monotonic()
            pending.batch.dead.append(DeadLetter(msg.received_at, msg.topic, msg.payload, exc.reason, exc.detail))
            pending.inbound.append(msg)
            pending.acks.append((source, msg.mid, msg.qos))
            pending.dead[exc.reason] += 1
            return
        stored = Stored(record, who.resident_id, who.sensor, msg.received_at)
        if record.urgent:
            self._commit_urgent(msg, record, who, stored, source)
            return
        if not pending:
            pending.started = time.monotonic()
        pending.batch.add(record, who, msg.received_at)
        pending.inbound.append(msg)
        pending.acks.append((source, msg.mid, msg.qos))
        pending.stored.append(stored)
        pending.sources.append(msg)

    def _take_urgent(self, msg: Inbound) -> None:
        """Take one message of the urgent lane: commit it if urgent; anything else is the events connection's."""
        assert self._urgent is not None
        try:
            record = decode(msg.topic, msg.payload, self._clock(), self.config.topic_prefix, self._max_future)
        except ContractError:
            record = None  # the events connection dead-letters it
        if record is None or not record.urgent:
            self._urgent.ack(msg.mid, msg.qos)
            return
        try:
            who = self._attribute(record)
        except ContractError:
            self._urgent.ack(msg.mid, msg.qos)
            return
        with self.priority.urgent():  # the bulk threads step aside until it is committed and handed on
            self._commit_urgent(
                msg, record, who, Stored(record, who.resident_id, who.sensor, msg.received_at), self._urgent
            )

    def _commit_urgent(
        self, msg: Inbound, record: Record, who: Attribution, stored: Stored, source: MqttConnection
    ) -> None:
        """Commit one urgent record on its own at once and hand it to the alert path."""
        self.metrics.count_urgent(lane=source is self._urgent)
        alone = _Pending(started=time.monotonic())
        alone.batch.add(record, who, msg.received_at)
        alone.inbound.append(msg)
        alone.acks.append((source, msg.mid, msg.qos))
        alone.stored.append(stored)
        alone.sources.append(msg)
        writer = self._lane_writer if source is self._urgent and self._lane_writer is not None else self._writer
        while not self._try_commit(alone, urgent=True, writer=writer):
            time.sleep(self.config.retry_s)

    def _attribute(self, record: Record) -> Attribution:
        """Attribute a record; on an unknown device, reload the registry (rate-limited) and look again."""
        try:
            return self._registry.attribute(record)
        except ContractError:
            if time.monotonic() - self._registry_miss < self.config.registry_miss_refresh_s:
                raise
            self._registry_miss = time.monotonic()
            self._refresh_registry(force=True)
            return self._registry.attribute(record)

    def _refresh_registry(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._registry_loaded < self.config.registry_refresh_s:
            return
        try:
            self._registry = load_registry(self._db_url)
        except psycopg.Error as exc:
            LOG.warning("cannot reload the device registry (%s); keeping %d devices", exc, len(self._registry))
        self._registry_loaded = time.monotonic()
        if not self._mode_known:
            self._note_db_mode()

    def _note_db_mode(self) -> None:
        """Show the database mode in the metrics, once the database answers."""
        try:
            with psycopg.connect(self._db_url, connect_timeout=5) as conn:
                self.metrics.database_mode(db_mode(conn))
        except (psycopg.Error, DatabaseError) as exc:
            LOG.warning("cannot read the database mode (%s); trying again with the registry", exc)
            return
        self._mode_known = True

    def _commit(self, pending: _Pending) -> _Pending:
        """Commit the pending batch (or spool it); keep it when neither is possible."""
        return _Pending() if self._try_commit(pending) else pending

    def _try_commit(self, pending: _Pending, urgent: bool = False, writer: BatchWriter | None = None) -> bool:
        """Make a batch durable, then ack, confirm and hand it on. Return False when nothing took it."""
        t0 = time.monotonic()
        spooled = bool(self._spool) and not urgent  # while a replay is due, keep arrival order
        if not spooled:
            try:
                result = self._write(pending, writer or self._writer)
                self.metrics.batch(
                    time.monotonic() - t0, result.stored, result.duplicates, dict(pending.dead), _age(pending.inbound)
                )
            except DatabaseError as exc:
                LOG.error("database write failed (%s); spooling %d messages", exc, len(pending))
                self._db_retry_at = time.monotonic() + self.config.retry_s
                spooled = True
        if spooled and not self._to_spool(pending):
            return False
        for connection, mid, qos in pending.acks:
            connection.ack(mid, qos)
        self._confirm(pending.stored)
        self._hand_on(pending.stored, spooled, urgent)
        if urgent:
            self.metrics.urgent_delivered(_age(pending.inbound))
        return True

    def _write(self, pending: _Pending, writer: BatchWriter) -> WriteResult:
        """Commit a batch; when the database refuses a value in it, isolate that message and store the rest.

        Without this, one message the database cannot store would fail its batch again and again, and the
        spool would never drain: bad input must never stop the pipeline.
        """
        try:
            return writer.write(pending.batch)
        except DataRejectedError as exc:
            LOG.warning("the database refused a batch (%s); writing its %d messages one by one", exc, len(pending))
        stored = duplicates = 0
        kept: list[Stored] = []
        for item, msg in zip(pending.stored, pending.sources, strict=True):
            one = Batch()
            one.add(item.record, Attribution(item.resident_id, item.sensor), item.received_at)
            try:
                result = writer.write(one)
            except DataRejectedError as exc:
                pending.batch.dead.append(DeadLetter(msg.received_at, msg.topic, msg.payload, "unstorable", str(exc)))
                pending.dead["unstorable"] += 1
                continue
            stored, duplicates = stored + result.stored, duplicates + result.duplicates
            kept.append(item)
        dead = writer.write(Batch(dead=pending.batch.dead))
        pending.stored[:] = kept
        return WriteResult(stored, duplicates, dead.dead_lettered)

    def _to_spool(self, pending: _Pending) -> bool:
        """Append the batch to the spool; return False when the spool is full."""
        try:
            with self._spool_lock:
                self._spool.append(pending.inbound)
        except SpoolFullError as exc:
            LOG.error("%s: leaving %d messages unacknowledged at the broker", exc, len(pending))
            return False
        self.metrics.count_spooled(len(pending))
        self.metrics.spool_size(self._spool.size)
        return True

    def _replay_one(self) -> None:
        """Replay the oldest spool segment into the database; keep it when the database still fails."""
        with self._spool_lock:
            self._replay_oldest()

    def _replay_oldest(self) -> None:
        oldest = self._spool.oldest()
        if oldest is None:
            return
        segment, messages = oldest
        replay = _Pending(started=time.monotonic())
        for msg in messages:
            self._take_for_replay(msg, replay)
        try:
            result = self._write(replay, self._writer)
        except DatabaseError:
            self._db_retry_at = time.monotonic() + self.config.retry_s
            return
        lag = _age(messages)
        self.metrics.batch(time.monotonic() - replay.started, result.stored, result.duplicates, dict(replay.dead), lag)
        self.metrics.count_replayed(len(messages))
        self._spool.remove(segment)
        self.metrics.spool_size(self._spool.size)
        LOG.info(
            "replayed %d spooled messages (%d stored, %d duplicates)", len(messages), result.stored, result.duplicates
        )
        if self._sink is not None:
            # Urgent ones went on when spooled too; the alert service keeps one open alert per kind.
            self._sink(replay.stored)

    def _take_for_replay(self, msg: Inbound, replay: _Pending) -> None:
        try:
            record = decode(msg.topic, msg.payload, msg.received_at, self.config.topic_prefix, self._max_future)
            who = self._registry.attribute(record)
        except ContractError as exc:
            replay.batch.dead.append(DeadLetter(msg.received_at, msg.topic, msg.payload, exc.reason, exc.detail))
            replay.dead[exc.reason] += 1
            return
        replay.batch.add(record, who, msg.received_at)
        replay.stored.append(Stored(record, who.resident_id, who.sensor, msg.received_at))
        replay.sources.append(msg)

    def _confirm(self, stored: Sequence[Stored]) -> None:
        """Tell devices that their critical events are stored, so they stop resending."""
        now = self._clock()
        for item in stored:
            if item.record.needs_confirmation:
                self._mqtt.publish(
                    topic(item.record.device_id, Channel.CMD, self.config.topic_prefix),
                    command_ack(item.record.body.seq, now),
                    qos=1,
                )

    def _hand_on(self, stored: list[Stored], spooled: bool, urgent: bool) -> None:
        """Pass durable records on; spooled ones go on when replayed, except urgent ones: operators see those now."""
        if spooled and not urgent:
            return
        sink = self._urgent_sink if urgent else self._sink
        if sink is None or not stored:
            return
        if spooled:
            stored = [Stored(s.record, s.resident_id, s.sensor, s.received_at, spooled=True) for s in stored]
        sink(stored)
