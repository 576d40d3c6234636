"""Turn attributed records into table rows (pure): one tuple per row, in the tables' column order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from psycopg.types.json import Jsonb

from gateway.contract import Channel, Record, Status, Telemetry
from gateway.registry import Attribution
from ingest.feed import feed_row

Row = tuple[Any, ...]

TELEMETRY_COLUMNS: Final = (
    "ts",
    "device_id",
    "seq",
    "resident_id",
    "received_at",
    "heart_rate",
    "spo2",
    "steps",
    "battery",
    "worn",
    "skin_temp_c",
    "lat",
    "lon",
    "accuracy_m",
)
TELEMETRY_TYPES: Final = (
    "timestamptz",
    "text",
    "int8",
    "text",
    "timestamptz",
    "int2",
    "int2",
    "int4",
    "int2",
    "bool",
    "float4",
    "float8",
    "float8",
    "float4",
)
EVENT_COLUMNS: Final = (
    "ts",
    "device_id",
    "seq",
    "sensor_id",
    "resident_id",
    "received_at",
    "kind",
    "state",
    "room",
    "value",
    "data",
)
EVENT_TYPES: Final = (
    "timestamptz",
    "text",
    "int8",
    "text",
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "float8",
    "jsonb",
)
STATUS_COLUMNS: Final = ("ts", "device_id", "seq", "received_at", "state", "firmware", "battery", "reason")
STATUS_TYPES: Final = ("timestamptz", "text", "int8", "timestamptz", "text", "text", "int2", "text")


@dataclass(frozen=True, slots=True)
class Table:
    """A time-series table: its columns and their PostgreSQL types, for binary COPY."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    channel: Channel


TABLES: Final[dict[Channel, Table]] = {
    c: Table(name, columns, types, c)
    for c, name, columns, types in (
        (Channel.TELEMETRY, "telemetry", TELEMETRY_COLUMNS, TELEMETRY_TYPES),
        (Channel.EVENT, "events", EVENT_COLUMNS, EVENT_TYPES),
        (Channel.STATUS, "device_status", STATUS_COLUMNS, STATUS_TYPES),
    )
}


def telemetry_row(record: Record, who: Attribution, received_at: datetime) -> Row:
    """Return the `telemetry` row of a bracelet reading."""
    t = record.body
    assert isinstance(t, Telemetry)
    loc = t.location
    return (
        t.ts,
        record.device_id,
        t.seq,
        who.resident_id,
        received_at,
        t.heart_rate,
        t.spo2,
        t.steps,
        t.battery,
        t.worn,
        t.skin_temp_c,
        loc.lat if loc else None,
        loc.lon if loc else None,
        loc.accuracy_m if loc else None,
    )


# What goes into the `value` and `data` columns, per event kind (the rest is in kind/state/room).
_EVENT_VALUE: Final[dict[str, Callable[[Any], float | None]]] = {
    "fall": lambda e: e.confidence,
    "power_use": lambda e: e.watts,
    "water_use": lambda e: e.litres,
}
_EVENT_DATA: Final[dict[str, Callable[[Any], dict[str, Any]]]] = {
    "impact": lambda e: {"rate_hz": e.rate_hz, "samples": e.samples},
    "door": lambda e: {"door": e.door},
}


def event_row(record: Record, who: Attribution, received_at: datetime) -> Row:
    """Return the `events` row of an event; the room comes from the payload or the sensor's registration."""
    e: Any = record.body
    room = getattr(e, "room", None) or (who.sensor.room if who.sensor else None)
    value = _EVENT_VALUE.get(e.kind, lambda _e: None)(e)
    data = _EVENT_DATA.get(e.kind)
    return (
        e.ts,
        record.device_id,
        e.seq,
        e.sensor_id,
        who.resident_id,
        received_at,
        e.kind,
        getattr(e, "state", None),
        room,
        value,
        Jsonb(data(e)) if data else None,
    )


def status_row(record: Record, _who: Attribution, received_at: datetime) -> Row:
    """Return the `device_status` row of a status message."""
    s = record.body
    assert isinstance(s, Status)
    return (s.ts, record.device_id, s.seq, received_at, s.state, s.firmware, s.battery, s.reason)


ROW_BUILDERS: Final[dict[Channel, Callable[[Record, Attribution, datetime], Row]]] = {
    Channel.TELEMETRY: telemetry_row,
    Channel.EVENT: event_row,
    Channel.STATUS: status_row,
}


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message we could not take, and why."""

    received_at: datetime
    topic: str
    payload: bytes
    reason: str
    detail: str


@dataclass(slots=True)
class Batch:
    """Rows waiting for one commit, grouped by table, and the dead letters of the same messages."""

    rows: dict[Channel, list[Row]] = field(default_factory=lambda: {c: [] for c in TABLES})
    dead: list[DeadLetter] = field(default_factory=list)
    feed: list[Row] = field(default_factory=list)  # the detection feed's rows of residents' records

    def __len__(self) -> int:
        return sum(len(r) for r in self.rows.values()) + len(self.dead)

    def add(self, record: Record, who: Attribution, received_at: datetime) -> None:
        """Add the row of one record (and its feed row, when it is a resident's)."""
        self.rows[record.channel].append(ROW_BUILDERS[record.channel](record, who, received_at))
        if who.resident_id is not None:
            self.feed.append(feed_row(len(self.feed), record, who.resident_id, received_at))
