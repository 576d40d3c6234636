"""Read what ingest stored: device status, bucketed series, event timelines and dead letters.

The SQL is the same in both database modes. Buckets use ``date_bin`` against a fixed origin, so a
bucket starts at the same instant whether it is computed from raw rows or from an hourly rollup.
Series with a bucket width that is a whole number of hours read the hourly rollups
(``heart_rate_hourly``, ``vitals_hourly``, ``activity_hourly``) — continuous aggregates in TimescaleDB
mode, which add the newest rows themselves, and tables that ``ingest.maintenance`` refreshes every few
minutes in plain mode, where the buckets of the last hour or two are read from the raw rows instead, so
that a chart never shows a quiet hour that was not quiet — and finer ones read the raw tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import psycopg
from psycopg.rows import class_row

from ingest.database import DbMode, db_mode

ORIGIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
ROLLUP_LAG: Final = timedelta(hours=1)  # plain mode: rollups are trusted up to the whole hour before this
HOUR: Final = timedelta(hours=1)
# The home-sensor kinds that count as activity in a room (the filter of activity_hourly).
ACTIVITY_KINDS: Final = ("motion", "door", "bed", "bathroom")


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device with its resident and the latest it told us about itself."""

    device_id: str
    kind: str
    resident_id: str | None
    resident_name: str | None
    room: str | None
    state: str | None  # online/offline from the latest status message; None before the first
    firmware: str | None
    battery: int | None  # the latest of status and telemetry
    last_seen: datetime | None  # the latest status, telemetry or event timestamp


@dataclass(frozen=True, slots=True)
class VitalsBucket:
    """Bracelet readings of one resident in one bucket."""

    bucket: datetime
    hr_min: int | None
    hr_avg: float | None
    hr_max: int | None
    hr_samples: int
    spo2_min: int | None
    spo2_avg: float | None
    steps_max: int | None  # the step counter is cumulative over a day


@dataclass(frozen=True, slots=True)
class ActivityBucket:
    """Home-sensor events in one room of one resident's home in one bucket."""

    bucket: datetime
    room: str
    events: int


Bucket = TypeVar("Bucket", "VitalsBucket", "ActivityBucket")


@dataclass(frozen=True, slots=True)
class ResidentSeries:
    """Bucketed series of one resident over a time range."""

    resident_id: str
    start: datetime
    end: datetime
    width: timedelta
    from_rollups: bool
    vitals: list[VitalsBucket]
    activity: list[ActivityBucket]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One event of a resident's timeline."""

    ts: datetime
    kind: str
    state: str | None
    room: str | None
    sensor_id: str | None
    device_id: str
    value: float | None
    data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """A stored dead letter (the payload is kept, truncated here to ``payload_head``)."""

    id: int
    received_at: datetime
    topic: str
    reason: str
    detail: str
    payload_bytes: int
    payload_head: bytes


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many dead letters one reason produced, and when the latest came."""

    reason: str
    count: int
    latest: datetime


_LATEST_STATUS: Final = """
SELECT d.id AS device_id, d.kind, d.resident_id, r.name AS resident_name, d.room,
       s.state, s.firmware,
       CASE WHEN t.ts IS NOT NULL AND (s.battery IS NULL OR t.ts > s.ts) THEN t.battery ELSE s.battery END
           AS battery,
       nullif(greatest(coalesce(s.ts, '-infinity'), coalesce(t.ts, '-infinity'), coalesce(e.ts, '-infinity')),
              '-infinity') AS last_seen
FROM devices d
LEFT JOIN residents r ON r.id = d.resident_id
LEFT JOIN LATERAL (SELECT ts, state, firmware, battery FROM device_status
                   WHERE device_id = d.id ORDER BY ts DESC, seq DESC LIMIT 1) s ON true
LEFT JOIN LATERAL (SELECT ts, battery FROM telemetry
                   WHERE device_id = d.id ORDER BY ts DESC, seq DESC LIMIT 1) t ON true
LEFT JOIN LATERAL (SELECT ts FROM events
                   WHERE device_id = d.id ORDER BY ts DESC, seq DESC LIMIT 1) e ON true
WHERE (%(resident_id)s::text IS NULL OR d.resident_id = %(resident_id)s)
ORDER BY d.resident_id NULLS LAST, d.id
"""


def latest_status(conn: psycopg.Connection, resident_id: str | None = None) -> list[DeviceStatus]:
    """Return every device (or one resident's) with its latest state, firmware, battery and last contact."""
    with conn.cursor(row_factory=class_row(DeviceStatus)) as cur:
        return cur.execute(_LATEST_STATUS, {"resident_id": resident_id}).fetchall()


_VITALS_RAW: Final = """
SELECT date_bin(%(width)s, ts, %(origin)s) AS bucket,
       min(heart_rate) AS hr_min, avg(heart_rate)::float8 AS hr_avg, max(heart_rate) AS hr_max,
       count(heart_rate) AS hr_samples, min(spo2) AS spo2_min, avg(spo2)::float8 AS spo2_avg, max(steps) AS steps_max
FROM telemetry
WHERE resident_id = %(resident_id)s AND ts >= %(start)s AND ts < %(end)s AND worn IS NOT FALSE
GROUP BY 1 ORDER BY 1
"""

# The hourly buckets are re-binned; averages are weighted by the samples behind them.
_VITALS_ROLLUP: Final = """
WITH hr AS (
    SELECT date_bin(%(width)s, bucket, %(origin)s) AS b, min(hr_min) AS hr_min,
           (sum(hr_avg * samples) / nullif(sum(samples), 0))::float8 AS hr_avg, max(hr_max) AS hr_max,
           sum(samples)::bigint AS hr_samples
    FROM heart_rate_hourly
    WHERE resident_id = %(resident_id)s AND bucket >= %(start)s AND bucket < %(end)s
    GROUP BY 1
), v AS (
    SELECT date_bin(%(width)s, bucket, %(origin)s) AS b, min(spo2_min) AS spo2_min,
           (sum(spo2_avg * spo2_samples) / nullif(sum(spo2_samples), 0))::float8 AS spo2_avg,
           max(steps_max) AS steps_max
    FROM vitals_hourly
    WHERE resident_id = %(resident_id)s AND bucket >= %(start)s AND bucket < %(end)s
    GROUP BY 1
)
SELECT coalesce(hr.b, v.b) AS bucket, hr.hr_min, hr.hr_avg, hr.hr_max, coalesce(hr.hr_samples, 0) AS hr_samples,
       v.spo2_min, v.spo2_avg, v.steps_max
FROM hr FULL JOIN v ON v.b = hr.b
ORDER BY 1
"""

_ACTIVITY_RAW: Final = """
SELECT date_bin(%(width)s, ts, %(origin)s) AS bucket, coalesce(room, kind) AS room, count(*) AS events
FROM events
WHERE resident_id = %(resident_id)s AND ts >= %(start)s AND ts < %(end)s AND kind = ANY(%(kinds)s)
GROUP BY 1, 2 ORDER BY 1, 2
"""

_ACTIVITY_ROLLUP: Final = """
SELECT date_bin(%(width)s, bucket, %(origin)s) AS bucket, room, sum(events)::bigint AS events
FROM activity_hourly
WHERE resident_id = %(resident_id)s AND bucket >= %(start)s AND bucket < %(end)s
GROUP BY 1, 2 ORDER BY 1, 2
"""


def uses_rollups(width: timedelta) -> bool:
    """Tell whether buckets of ``width`` are served from the hourly rollups."""
    return width >= HOUR and width % HOUR == timedelta(0)


def resident_series(
    conn: psycopg.Connection, resident_id: str, start: datetime, end: datetime, width: timedelta
) -> ResidentSeries:
    """Return heart rate, SpO2, steps and activity per room of a resident in buckets of ``width``.

    Buckets are aligned to ``width`` from midnight UTC, 2000-01-01; with the rollups, ``start`` and
    ``end`` are widened to whole hours.
    """
    if width <= timedelta(0):
        raise ValueError("the bucket width must be positive")
    rollups = uses_rollups(width)
    begin, finish = (_floor(start, HOUR), _ceil(end, HOUR)) if rollups else (start, end)
    # Buckets before ``cut`` come from the rollups, the rest from the raw rows (plain mode's last hours).
    cut = begin
    if rollups:
        plain = db_mode(conn) is DbMode.POSTGRESQL
        cut = max(begin, min(finish, _floor(datetime.now(UTC) - ROLLUP_LAG, width))) if plain else finish
    vitals = _read(conn, VitalsBucket, _VITALS_ROLLUP, resident_id, width, begin, cut)
    vitals += _read(conn, VitalsBucket, _VITALS_RAW, resident_id, width, cut, finish)
    activity = _read(conn, ActivityBucket, _ACTIVITY_ROLLUP, resident_id, width, begin, cut)
    activity += _read(conn, ActivityBucket, _ACTIVITY_RAW, resident_id, width, cut, finish)
    return ResidentSeries(resident_id, start, end, width, rollups, vitals, activity)


def _read(
    conn: psycopg.Connection,
    row: type[Bucket],
    query: str,
    resident_id: str,
    width: timedelta,
    start: datetime,
    end: datetime,
) -> list[Bucket]:
    """Read buckets of [start, end) with one of the series queries (nothing for an empty range)."""
    if start >= end:
        return []
    params = {"resident_id": resident_id, "width": width, "origin": ORIGIN, "kinds": list(ACTIVITY_KINDS)}
    with conn.cursor(row_factory=class_row(row)) as cur:
        return cur.execute(query, params | {"start": start, "end": end}).fetchall()


def _floor(at: datetime, width: timedelta) -> datetime:
    """Round ``at`` down to a bucket boundary of ``width``."""
    return at - (at - ORIGIN) % width


def _ceil(at: datetime, width: timedelta) -> datetime:
    """Round ``at`` up to a bucket boundary of ``width``."""
    floor = _floor(at, width)
    return floor if floor == at else floor + width


_TIMELINE: Final = """
SELECT ts, kind, state, room, sensor_id, device_id, value, data
FROM events
WHERE resident_id = %(resident_id)s
  AND (%(start)s::timestamptz IS NULL OR ts >= %(start)s) AND (%(end)s::timestamptz IS NULL OR ts < %(end)s)
  AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s))
ORDER BY ts DESC, device_id, seq DESC
LIMIT %(limit)s
"""


def timeline(
    conn: psycopg.Connection,
    resident_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    kinds: tuple[str, ...] | None = None,
    limit: int = 100,
) -> list[TimelineEvent]:
    """Return a resident's latest events in ``[start, end)``, newest first, at most ``limit``.

    To page back, call again with ``end`` set to the oldest ``ts`` returned.
    """
    params = {
        "resident_id": resident_id,
        "start": start,
        "end": end,
        "kinds": list(kinds) if kinds is not None else None,
        "limit": limit,
    }
    with conn.cursor(row_factory=class_row(TimelineEvent)) as cur:
        return cur.execute(_TIMELINE, params).fetchall()


_DEAD_LETTERS: Final = """
SELECT id, received_at, topic, reason, detail, octet_length(payload) AS payload_bytes,
       substring(payload FROM 1 FOR %(head)s) AS payload_head
FROM dead_letters
WHERE (%(reason)s::text IS NULL OR reason = %(reason)s) AND (%(since)s::timestamptz IS NULL OR received_at >= %(since)s)
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s
"""


def recent_dead_letters(
    conn: psycopg.Connection,
    *,
    reason: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    head: int = 512,
) -> list[DeadLetterRow]:
    """Return the latest dead letters, newest first, optionally of one reason only."""
    params = {"reason": reason, "since": since, "limit": limit, "head": head}
    with conn.cursor(row_factory=class_row(DeadLetterRow)) as cur:
        return cur.execute(_DEAD_LETTERS, params).fetchall()


_DEAD_LETTER_COUNTS: Final = """
SELECT reason, count(*) AS count, max(received_at) AS latest
FROM dead_letters
WHERE %(since)s::timestamptz IS NULL OR received_at >= %(since)s
GROUP BY reason
ORDER BY count DESC, reason
"""


def dead_letter_counts(conn: psycopg.Connection, since: datetime | None = None) -> list[ReasonCount]:
    """Count dead letters by reason (since ``since``, or ever), most frequent first."""
    with conn.cursor(row_factory=class_row(ReasonCount)) as cur:
        return cur.execute(_DEAD_LETTER_COUNTS, {"since": since}).fetchall()


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """A device whose timestamps disagree with the time its messages arrived."""

    device_id: str
    resident_id: str | None
    messages: int  # telemetry and events received in the window
    skewed: int  # of them, how many were off by more than the threshold
    median_skew_s: float  # received_at - ts: positive when the device is behind (or its messages were held)
    max_abs_skew_s: float
    latest: datetime  # the latest arrival


_CLOCK_SKEW: Final = """
WITH m AS (
    SELECT device_id, resident_id, received_at, extract(epoch FROM received_at - ts)::float8 AS skew
    FROM telemetry WHERE received_at >= %(since)s
    UNION ALL
    SELECT device_id, resident_id, received_at, extract(epoch FROM received_at - ts)::float8
    FROM events WHERE received_at >= %(since)s
)
SELECT device_id, max(resident_id) AS resident_id, count(*) AS messages,
       count(*) FILTER (WHERE abs(skew) > %(threshold)s) AS skewed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY skew) AS median_skew_s,
       max(abs(skew)) AS max_abs_skew_s, max(received_at) AS latest
FROM m
GROUP BY device_id
HAVING count(*) FILTER (WHERE abs(skew) > %(threshold)s) > 0
ORDER BY count(*) FILTER (WHERE abs(skew) > %(threshold)s) DESC, device_id
"""


def clock_skew(
    conn: psycopg.Connection, since: datetime, threshold: timedelta = timedelta(minutes=2)
) -> list[ClockSkew]:
    """Flag devices with messages received since ``since`` whose device time was off by more than ``threshold``.

    Ingest rejects timestamps too far in the future (``max_future_skew_s``) and keeps the rest with both
    times, so a wrong clock shows here: a device whose median skew is large has a clock to set; scattered
    skewed messages are more likely held back on the way (a device offline, a broker backlog).
    """
    params = {"since": since, "threshold": threshold.total_seconds()}
    with conn.cursor(row_factory=class_row(ClockSkew)) as cur:
        return cur.execute(_CLOCK_SKEW, params).fetchall()
