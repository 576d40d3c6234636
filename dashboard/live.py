"""Live push: broker messages about alerts and devices, fanned out to connected users who may see them.

The dashboard never talks MQTT itself. The composition root hands `create_app` a `BrokerSubscriber`
(the paho-based one lives in `gateway/`); its callbacks arrive on the broker client's thread and cross
into asyncio through `loop.call_soon_threadsafe`. Each connected client has a bounded queue; a client
too slow to keep up is disconnected rather than allowed to hold memory or delay the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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


@dataclass(eq=False)
class LiveClient:
    """One connected user's queue and the test of what they may see."""

    visible: Visible
    queue: asyncio.Queue[LiveMessage] = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    overflowed: bool = False


class LiveHub:
    """Fan broker messages out to connected clients."""

    def __init__(self, resolve_device: Callable[[str], Awaitable[str | None]]) -> None:
        """Keep clients; ``resolve_device`` names the resident a device belongs to."""
        self._clients: set[LiveClient] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resolve_device = resolve_device

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver into this event loop from now on."""
        self._loop = loop

    def handler(self, parse: Callable[[str, bytes], LiveMessage | None]) -> MessageHandler:
        """Make a broker callback that parses with ``parse`` and publishes from any thread."""

        def on_message(topic: str, payload: bytes) -> None:
            message = parse(topic, payload)
            if message is not None and self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._spawn, message)

        return on_message

    def _spawn(self, message: LiveMessage) -> None:
        """Resolve and publish one message on the loop."""
        task = asyncio.get_running_loop().create_task(self.publish(message))
        task.add_done_callback(_log_failure)

    async def publish(self, message: LiveMessage) -> None:
        """Queue a message for every client (its own test decides later whether it is sent)."""
        if message.resident_id is None and message.device_id is not None:
            resident_id = await self._resolve_device(message.device_id)
            message = LiveMessage(message.type, resident_id, None, message.device_id, message.data)
        for client in list(self._clients):
            try:
                client.queue.put_nowait(message)
            except asyncio.QueueFull:
                client.overflowed = True

    def connect(self, visible: Visible) -> LiveClient:
        """Register a client."""
        client = LiveClient(visible)
        self._clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        """Forget a client."""
        self._clients.discard(client)

    @property
    def client_count(self) -> int:
        """Return how many clients are connected."""
        return len(self._clients)


def _log_failure(task: asyncio.Task[None]) -> None:
    """Log a publish that failed."""
    if not task.cancelled() and task.exception() is not None:
        LOG.error("live publish failed", exc_info=task.exception())
