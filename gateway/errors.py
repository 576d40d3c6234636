"""The gateway's exception tree: every rejected message carries a stable reason code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class GatewayError(Exception):
    """Base of every error raised by the device edge."""


class ContractError(GatewayError):
    """A message broke the wire contract; ``reason`` is the dead-letter reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class BrokerError(GatewayError):
    """The MQTT broker refused us or went away."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """What an adapter at the edge (the watch gateway, the Zigbee2MQTT bridge) could not take: a dead letter."""

    received_at: datetime
    topic: str
    payload: bytes
    reason: str
    detail: str
