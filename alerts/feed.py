"""The detection feed's read side: what was committed in a process's partitions since their checkpoints.

Ingest writes each newly stored record of a resident into ``detection_feed`` in the same transaction
as its row (``ingest/writer.py``). A read takes, in one repeatable-read snapshot, the oldest
transaction still running (``pg_snapshot_xmin``) as its horizon and the rows of the partitions whose
transaction ids lie between their checkpoints and that horizon: every transaction below the horizon
has ended, so nothing can appear there later, and the horizon becomes the new checkpoint once the
rows are acted on. The bodies are decoded with the wire contract's own types.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from pydantic import ValidationError

from alerts.findings import Observation
from gateway.contract import Channel, decode_stored

LOG = logging.getLogger(__name__)
MAX_ROWS: Final = 20_000  # a read's bound: well above one ingest batch (5 000), so a read never splits one

_COLUMNS = "SELECT f.xid::text::bigint, f.resident_id, f.device_id, f.channel, f.received_at, f.body"
_ROWS = (
    f"{_COLUMNS} FROM detection_feed f JOIN unnest(%s::int2[], %s::text[]) AS c (part, since) ON f.part = c.part"
    f" WHERE f.xid >= c.since::xid8 AND f.xid < %s::xid8 ORDER BY f.xid, f.id LIMIT {MAX_ROWS}"
)
_URGENT = (  # committed urgent rows, above the horizon too: an SOS never waits for a telemetry batch to end
    f"{_COLUMNS} FROM detection_feed f JOIN unnest(%s::int2[], %s::text[]) AS c (part, since) ON f.part = c.part"
    " WHERE f.urgent AND f.xid >= c.since::xid8 ORDER BY f.xid, f.id LIMIT 1000"
)
_BEFORE = (
    f"{_COLUMNS} FROM detection_feed f JOIN unnest(%s::int2[], %s::text[]) AS c (part, cp) ON f.part = c.part"
    " WHERE f.xid < c.cp::xid8 AND f.received_at >= %s AND f.xid < %s::xid8 ORDER BY f.xid, f.id"
)


@dataclass(frozen=True, slots=True)
class FeedRead:
    """The observations of one read, and the checkpoint they bring the partitions to."""

    observations: list[Observation]
    horizon: int


class FeedReader:
    """Read the feed through a connection of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, connect_timeout=5)
            self._conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self._conn.read_only = True
        return self._conn

    def before(self, checkpoints: Mapping[int, int], received_since: datetime) -> list[Observation]:
        """Return what was already acted on (below the checkpoints) since a time: a new owner's warm-up."""
        if not checkpoints:
            return []
        parts = sorted(checkpoints)
        rows = self._fetch(_BEFORE, (parts, [str(checkpoints[p]) for p in parts], received_since))[1]
        return [o for o in map(_observation, rows) if o is not None]

    def read(self, since: Mapping[int, int]) -> FeedRead:
        """Return what was committed in these partitions since their checkpoints, up to a safe horizon."""
        if not since:
            return FeedRead([], 0)
        parts = sorted(since)
        horizon, rows = self._fetch(_ROWS, (parts, [str(since[p]) for p in parts]))
        if len(rows) >= MAX_ROWS:  # more to come: stop before the last transaction, which may be cut off
            horizon = int(rows[-1][0])
            rows = [r for r in rows if int(r[0]) < horizon]
        return FeedRead([o for o in map(_observation, rows) if o is not None], horizon)

    def urgent(self, since: Mapping[int, int]) -> list[Observation]:
        """Return the urgent records committed in these partitions since their checkpoints, whatever is running."""
        if not since:
            return []
        parts = sorted(since)
        conn = self._connection()
        try:
            with conn.transaction():
                rows = conn.execute(_URGENT, (parts, [str(since[p]) for p in parts])).fetchall()
        except psycopg.Error:
            self.close()
            raise
        return [o for o in map(_observation, rows) if o is not None]

    def _fetch(self, query: str, args: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """Take the horizon and the rows below it in one snapshot."""
        conn = self._connection()
        try:
            with conn.transaction():
                row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()
                horizon = int(row[0]) if row else 0
                rows = conn.execute(query, (*args, str(horizon))).fetchall()
        except psycopg.Error:
            self.close()
            raise
        return horizon, rows

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _observation(row: tuple[Any, ...]) -> Observation | None:
    """Decode one feed row (a row the contract no longer accepts is logged and skipped, never fatal)."""
    _xid, resident_id, device_id, channel, received_at, body = row
    try:
        record = decode_stored(device_id, Channel(channel), bytes(body))
    except (ValidationError, ValueError) as exc:
        LOG.error("a feed row of %s no longer decodes (%s); skipped", device_id, exc)
        return None
    return Observation(resident_id, record, received_at)
