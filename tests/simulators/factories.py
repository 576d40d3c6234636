"""Factories for simulator tests: small worlds, and their messages decoded by the contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.contract import TOPIC_PREFIX, Record, decode
from simulators.messages import Message, Truth
from simulators.model import Simulation, World
from simulators.schedule import DAY, IncidentSpec

# Local midnight in Chengdu (UTC+8) on a Monday.
MIDNIGHT = datetime(2025, 3, 2, 16, tzinfo=UTC).timestamp()


def world(residents: int = 3, days: float = 1.0, incidents: str = "", seed: int = 7, start: float = MIDNIGHT) -> World:
    """Build a small world starting at local midnight."""
    spec = IncidentSpec.parse(incidents) if incidents else IncidentSpec()
    return World(residents, seed, start, start + days * DAY, spec)


@dataclass(frozen=True)
class Run:
    """Everything one simulation produced, messages decoded the way the platform decodes them."""

    sim: Simulation
    messages: list[Message]
    records: list[Record]
    truths: list[Truth]
    by_resident: dict[str, list[Record]]


def run(w: World) -> Run:
    """Simulate ``w`` and decode every message (each against its own timestamp)."""
    sim = Simulation(w)
    messages: list[Message] = []
    truths: list[Truth] = []
    for item in sim.stream():
        (truths if isinstance(item, Truth) else messages).append(item)  # type: ignore[arg-type]
    records = [decode(m.topic(TOPIC_PREFIX), m.payload(), now=m.body.ts) for m in messages]  # type: ignore[attr-defined]
    by_resident: dict[str, list[Record]] = {}
    for rec in records:
        sensor = getattr(rec.body, "sensor_id", None) or rec.device_id
        by_resident.setdefault(sensor.split("-")[0], []).append(rec)
    return Run(sim, messages, records, truths, by_resident)
