"""The gateway's exception tree: every rejected message carries a stable reason code."""

from __future__ import annotations


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
