"""The broker connections an ingest worker needs, built one way for `anxin run` and `anxin ingest`."""

from __future__ import annotations

from dataclasses import dataclass

from anxin.settings import Settings
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.priority import Priority


@dataclass(frozen=True, slots=True)
class IngestConnections:
    """Telemetry and status (``bulk``), every event (``events``), and urgent events again (``urgent``).

    ``bulk`` and ``events`` keep persistent sessions: what arrives while the worker restarts waits
    for it. ``urgent`` is a clean session, so a dead worker leaves the urgent lane's share group
    the moment its connection drops and an SOS goes to a live worker instead. Each signs in with an
    account of its own (client ids are bound to accounts).
    """

    bulk: MqttConnection
    events: MqttConnection
    urgent: MqttConnection

    def connect(self) -> None:
        """Connect all three."""
        for connection in (self.bulk, self.events, self.urgent):
            connection.connect()

    def close(self) -> None:
        """Disconnect all three (the persistent sessions stay at the broker)."""
        for connection in (self.urgent, self.events, self.bulk):
            connection.close()


def ingest_connections(
    settings: Settings, mqtt_url: str, client_id: str, priority: Priority | None = None
) -> IngestConnections:
    """Make an ingest worker's three connections (not yet connected); with ``priority``, the bulk connection's
    thread steps aside, between messages, while urgent work is in flight."""

    def address(account: str) -> BrokerAddress:
        return BrokerAddress.from_url(mqtt_url, *settings.broker_account(account))

    return IngestConnections(
        bulk=MqttConnection(
            address("ingest"),
            client_id,
            manual_ack=True,
            on_arrival=priority.step_aside if priority else None,
        ),
        events=MqttConnection(address("ingest_events"), f"{client_id}-events", manual_ack=True, receive_maximum=1000),
        urgent=MqttConnection(
            address("ingest_urgent"),
            f"{client_id}-urgent",
            persistent=False,
            manual_ack=True,
            receive_maximum=1000,
        ),
    )
