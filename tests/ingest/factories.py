"""Factories of stored rows: residents with devices, and telemetry, event, status and dead-letter rows.

Rows go in through `ingest.writer.BatchWriter`, the same path the worker takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from gateway.contract import Channel
from gateway.registry import Device, DeviceKind
from ingest.devices import upsert_devices, upsert_residents
from ingest.rows import Batch, DeadLetter, Row
from ingest.writer import BatchWriter

# Recent enough for TimescaleDB's refresh windows, old enough that nothing is still arriving, and
# midnight UTC so that buckets of any whole number of hours up to a day start at BASE.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
BASE = NOW.replace(hour=0) - timedelta(days=2)


def register(db_url: str, *resident_ids: str) -> None:
    """Register residents, each with a bracelet, a hub and a kitchen motion sensor."""
    devices = []
    for rid in resident_ids:
        devices += [
            Device(f"{rid}-bracelet", DeviceKind.BRACELET, rid),
            Device(f"{rid}-hub", DeviceKind.HUB, rid),
            Device(f"{rid}-motion-kitchen", DeviceKind.SENSOR, rid, "motion", "kitchen", f"{rid}-hub"),
        ]
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [(rid, f"Resident {rid}") for rid in resident_ids])
        upsert_devices(conn, devices)


def telemetry(
    rid: str,
    ts: datetime,
    seq: int,
    hr: int | None = 70,
    spo2: int | None = 97,
    steps: int | None = 0,
    battery: int = 80,
) -> Row:
    """Return a `telemetry` row of a resident's bracelet."""
    return (ts, f"{rid}-bracelet", seq, rid, ts, hr, spo2, steps, battery, True, 33.0, None, None, None)


def event(
    rid: str, ts: datetime, seq: int, kind: str = "motion", room: str | None = "kitchen", state: str | None = None
) -> Row:
    """Return an `events` row relayed by a resident's hub (from the kitchen motion sensor for motion)."""
    sensor = f"{rid}-motion-kitchen" if kind == "motion" else None
    return (ts, f"{rid}-hub", seq, sensor, rid, ts, kind, state, room, None, None)


def status(
    device_id: str,
    ts: datetime,
    seq: int,
    state: str = "online",
    firmware: str | None = "1.0.0",
    battery: int | None = 90,
) -> Row:
    """Return a `device_status` row."""
    return (ts, device_id, seq, ts, state, firmware, battery, None)


def dead_letter(at: datetime, reason: str, payload: bytes = b"{}") -> DeadLetter:
    """Return a dead letter."""
    return DeadLetter(at, "ec/v1/x/telemetry", payload, reason, f"{reason} detail")


def write(
    db_url: str,
    telemetry: Sequence[Row] = (),
    events: Sequence[Row] = (),
    statuses: Sequence[Row] = (),
    dead: Sequence[DeadLetter] = (),
) -> None:
    """Store rows through the batch writer."""
    batch = Batch()
    batch.rows[Channel.TELEMETRY].extend(telemetry)
    batch.rows[Channel.EVENT].extend(events)
    batch.rows[Channel.STATUS].extend(statuses)
    batch.dead.extend(dead)
    writer = BatchWriter(db_url)
    try:
        writer.write(batch)
    finally:
        writer.close()
