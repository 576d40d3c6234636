"""Live push: broker messages about alerts and devices, fanned out to connected users who may see them.

The dashboard never talks MQTT itself. The composition root hands `create_app` a `BrokerSubscriber`
(the paho-based one lives in `gateway/`); its callbacks arrive on the broker client's thread and cross
into asyncio through `loop.call_soon_threadsafe`. Each connected client has two bounded lanes
(`LiveClient`): alert and dispatch changes, every one delivered or the client disconnected (it reconnects
and reloads); and device status and staff positions, of which the oldest are dropped under a burst.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import ValidationError

from alerts.messages import AlertChange, ChangeAction, ProvisionalAlert
from dispatch.messages import DispatchChange, StaffPosition
from gateway.contract import decode
from gateway.errors import ContractError

LOG = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]


class BrokerSubscriber(Protocol):
    """Deliver broker messages matching a topic filter to a callback (from any thread)."""

    def subscribe(self, topic_filter: str, on_message: MessageHandler) -> None:
        """Start calling ``on_message(topic, payload)`` for messages matching ``topic_filter``."""

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop delivering messages for ``topic_filter``."""


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """One change to push: an alert change or a device status, with the resident it concerns."""

    type: str
    resident_id: str | None
    alert_id: str | None
    device_id: str | None
    data: dict[str, Any]

    def to_json(self) -> str:
        """Encode the message for a WebSocket client."""
        return json.dumps(
            {
                "type": self.type,
                "resident_id": self.resident_id,
                "alert_id": self.alert_id,
                "device_id": self.device_id,
                "data": self.data,
            },
            ensure_ascii=False,
            default=str,
        )


def parse_alert(topic: str, payload: bytes) -> LiveMessage | None:
    """Read an alert change on ``.../alerts/{resident_id}`` (alerts.messages: AlertChange or ProvisionalAlert)."""
    try:
        change = AlertChange.model_validate_json(payload)
    except ValidationError:
        return _provisional(topic, payload)
    return LiveMessage("alert", change.resident_id, str(change.alert_id), None, change.model_dump(mode="json"))


def _provisional(topic: str, payload: bytes) -> LiveMessage | None:
    """Read a critical finding not stored yet: no alert id; consoles show it until its ``raised`` change comes."""
    try:
        provisional = ProvisionalAlert.model_validate_json(payload)
    except ValidationError:
        LOG.warning("a message on %s is neither an alert change nor a provisional alert", topic)
        return None
    if provisional.action is not ChangeAction.PROVISIONAL:
        return None
    body = provisional.model_dump(mode="json")
    return LiveMessage("alert", provisional.resident_id, None, provisional.device_id, body)


def parse_dispatch(topic: str, payload: bytes) -> LiveMessage | None:
    """Read a dispatch change published on ``.../dispatch/{resident_id}`` (dispatch.messages.DispatchChange)."""
    try:
        change = DispatchChange.model_validate_json(payload)
    except ValidationError:
        LOG.warning("a dispatch change on %s does not match the contract", topic)
        return None
    return LiveMessage("dispatch", change.resident_id, change.alert_id, None, change.model_dump(mode="json"))


def parse_position(topic: str, payload: bytes) -> LiveMessage | None:
    """Read a staff position published on ``.../staff/{staff_id}/position`` (dispatch.messages.StaffPosition)."""
    try:
        position = StaffPosition.model_validate_json(payload)
    except ValidationError:
        LOG.warning("a staff position on %s does not match the contract", topic)
        return None
    return LiveMessage("staff_position", None, None, None, position.model_dump(mode="json"))


def status_parser(prefix: str) -> Callable[[str, bytes], LiveMessage | None]:
    """Make the reader of device status on ``{prefix}/{device_id}/status``, decoded by the wire contract.

    A device writes its own status topic, so what arrives there is device input: only a message the
    contract accepts (the same `decode` ingest uses, the identity rule included) reaches a console.
    """

    def parse_status(topic: str, payload: bytes) -> LiveMessage | None:
        try:
            record = decode(topic, payload, datetime.now(UTC), prefix)
        except ContractError as exc:
            LOG.debug("a device status on %s is refused by the contract (%s)", topic, exc.reason)
            return None
        return LiveMessage("device_status", None, None, record.device_id, record.body.model_dump(mode="json"))

    return parse_status


Visible = Callable[[LiveMessage], Awaitable[bool]]


# Updates a newer one makes stale, which a console can read again from the API: under a burst they are
# dropped (the oldest first), never alerts or dispatch changes.
UPDATES: Final = frozenset({"device_status", "staff_position"})


def _push_dropping_oldest(lane: deque[LiveMessage], message: LiveMessage) -> int:
    """Append to a bounded lane; return 1 when that dropped its oldest message (0 otherwise)."""
    full = len(lane) == lane.maxlen
    lane.append(message)
    return int(full)


@dataclass(eq=False)
class LiveClient:
    """One connected user's messages in two lanes, and the test of what they may see.

    Alert and dispatch changes are each delivered, in order, ahead of updates; a client more than
    ``queue``'s size behind on them is closed (the page reconnects and reads the queue again).
    Device status and staff positions — at a city's scale, a hundred a second — wait in a bounded lane
    of their own and the oldest are dropped when it is full (counted in ``dropped``), so a burst of them
    never closes an operator's console, nor holds up an alert.
    """

    visible: Visible
    queue: asyncio.Queue[LiveMessage] = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    updates: deque[LiveMessage] = field(default_factory=lambda: deque(maxlen=200))
    overflowed: bool = False
    dropped: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, message: LiveMessage) -> None:
        """Take a message for this client (on the event loop)."""
        if message.type in UPDATES:
            self.dropped += _push_dropping_oldest(self.updates, message)
        else:
            try:
                self.queue.put_nowait(message)
            except asyncio.QueueFull:
                self.overflowed = True
        self._ready.set()

    async def next(self) -> LiveMessage:
        """Return the next message to send: alert and dispatch changes first."""
        while True:
            if not self.queue.empty():
                return self.queue.get_nowait()
            if self.updates:
                return self.updates.popleft()
            self._ready.clear()
            await self._ready.wait()


Owners = Callable[[set[str]], Awaitable[Mapping[str, str | None]]]


class LiveHub:
    """Fan broker messages out to connected clients.

    An alert or dispatch change crosses into the event loop on its own, at once. Device status and staff
    positions cross in batches: they wait in one bounded buffer (the oldest dropped, counted in
    ``dropped``) and a single callback at a time drains it. A city's devices report in bursts (thousands
    of statuses within a second when their timers line up); one callback and one task each would queue
    an SOS behind all of them in the loop (measured at 60,000 resident-equivalents: 1.3–2.6 s).
    """

    def __init__(self, owners: Owners, backlog: int = 2000) -> None:
        """Keep clients; ``owners`` names the resident each of a batch of devices belongs to."""
        self._clients: set[LiveClient] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owners = owners
        self._updates: deque[LiveMessage] = deque(maxlen=backlog)  # appended on the broker's thread
        self._drain_due = False  # a drain is scheduled: set by the broker's thread, cleared by the drain
        self.dropped = 0
        self._gone_dropped = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver into this event loop from now on."""
        self._loop = loop

    def handler(self, parse: Callable[[str, bytes], LiveMessage | None]) -> MessageHandler:
        """Make a broker callback that parses with ``parse`` and publishes from any thread."""

        def on_message(topic: str, payload: bytes) -> None:
            message = parse(topic, payload)
            loop = self._loop
            if message is None or loop is None or loop.is_closed():
                return
            if message.type not in UPDATES:
                loop.call_soon_threadsafe(self._spawn, message)
                return
            self.dropped += _push_dropping_oldest(self._updates, message)
            if not self._drain_due:
                self._drain_due = True
                loop.call_soon_threadsafe(self._drain_updates)

        return on_message

    def _spawn(self, message: LiveMessage) -> None:
        """Resolve and publish one message on the loop."""
        task = asyncio.get_running_loop().create_task(self.publish(message))
        task.add_done_callback(_log_failure)

    def _drain_updates(self) -> None:
        """Take every buffered update and publish them in one task (on the loop)."""
        self._drain_due = False  # before taking them: what arrives from now on schedules the next drain
        batch = []
        while self._updates:
            batch.append(self._updates.popleft())
        if batch:
            task = asyncio.get_running_loop().create_task(self._publish_all(batch))
            task.add_done_callback(_log_failure)

    async def _publish_all(self, batch: list[LiveMessage]) -> None:
        """Queue a batch for every client, its devices' residents found together (one lookup, not one each)."""
        wanted = {m.device_id for m in batch if m.resident_id is None and m.device_id}
        owners = await self._owners(wanted) if wanted else {}
        clients = list(self._clients)
        for each in batch:
            resolved = each
            if each.resident_id is None and each.device_id is not None:
                resolved = replace(each, resident_id=owners.get(each.device_id))
            for client in clients:
                client.offer(resolved)

    async def publish(self, message: LiveMessage) -> None:
        """Queue a message for every client (its own test decides later whether it is sent)."""
        await self._publish_all([message])

    def connect(self, visible: Visible) -> LiveClient:
        """Register a client."""
        client = LiveClient(visible)
        self._clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        """Forget a client (its dropped updates still count)."""
        if client in self._clients:
            self._clients.discard(client)
            self._gone_dropped += client.dropped

    @property
    def consoles_dropped(self) -> int:
        """Return the updates dropped from consoles' lanes since the start (of consoles gone too)."""
        return self._gone_dropped + sum(c.dropped for c in list(self._clients))

    @property
    def client_count(self) -> int:
        """Return how many clients are connected."""
        return len(self._clients)


def _log_failure(task: asyncio.Task[None]) -> None:
    """Log a publish that failed."""
    if not task.cancelled() and task.exception() is not None:
        LOG.error("live publish failed", exc_info=task.exception())


class LiveCollector(Collector):
    """Report the live push for Prometheus: consoles connected, and updates dropped under bursts."""

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Describe nothing up front (a registry may serve the hubs of several apps in tests)."""
        return ()

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        """Read the counts (no I/O)."""
        consoles = GaugeMetricFamily("anxin_live_connections", "WebSocket consoles connected to this process")
        consoles.add_metric([], self._hub.client_count)
        dropped = CounterMetricFamily(
            "anxin_live_updates_dropped",
            "Device status and staff positions dropped under a burst: in the process's buffer, or a console's lane",
            labels=["where"],
        )
        dropped.add_metric(["process"], self._hub.dropped)
        dropped.add_metric(["consoles"], self._hub.consoles_dropped)
        return [consoles, dropped]
