"""Write batches into the database: binary COPY into a staging table, then one de-duplicating insert.

``INSERT … SELECT … ON CONFLICT DO NOTHING`` over the unique (device, time, sequence) index stores a
resent or redelivered message once, also when both copies are in the same batch. The difference
between staged and inserted rows is the duplicate count. The rows that were new go on, in the same
transaction and in arrival order, into the detection feed (``ingest/feed.py``): a redelivered message
reaches detection once, and a committed one always does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
from psycopg import sql

from ingest.errors import DatabaseError, DataRejectedError
from ingest.feed import FEED_COLUMNS, FEED_TYPES
from ingest.rows import TABLES, Batch, Row, Table

STAGE_FEED: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_feed (ord int4, channel text, device_id text, ts timestamptz,"
    " seq int8, part int2, resident_id text, received_at timestamptz, body bytea, urgent bool)"
    " ON COMMIT DELETE ROWS"
)
STAGE_NEW: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_new (channel text, device_id text, ts timestamptz, seq int8)"
    " ON COMMIT DELETE ROWS"
)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one commit stored."""

    stored: int
    duplicates: int
    dead_lettered: int


class BatchWriter:
    """Own one database connection and commit batches through it."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._url, connect_timeout=5)
            self._conn.execute("SET synchronous_commit = on")
            for table in TABLES.values():
                self._conn.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
                    ).format(sql.Identifier(f"stage_{table.name}"), sql.Identifier(table.name))
                )
            self._conn.execute(STAGE_FEED)
            self._conn.execute(STAGE_NEW)
            self._conn.commit()
        return self._conn

    def write(self, batch: Batch) -> WriteResult:
        """Commit a batch; raise `DatabaseError` (nothing committed) when the database fails."""
        try:
            conn = self._connection()
            stored = staged = 0
            with conn.transaction():
                for channel, rows in batch.rows.items():
                    if rows:
                        staged += len(rows)
                        stored += self._copy(conn, TABLES[channel], rows, feed=bool(batch.feed))
                if batch.feed:
                    self._feed(conn, batch.feed)
                if batch.dead:
                    self._dead_letters(conn, batch)
        except (psycopg.DataError, psycopg.IntegrityError, ValueError, OverflowError) as exc:
            # The database is fine; one value in the batch is not. The caller isolates it.
            self.close()
            raise DataRejectedError(_first_line(exc)) from exc
        except psycopg.Error as exc:
            self.close()
            raise DatabaseError(_first_line(exc)) from exc
        return WriteResult(stored, staged - stored, len(batch.dead))

    @staticmethod
    def _copy(conn: psycopg.Connection, table: Table, rows: list[tuple[object, ...]], *, feed: bool) -> int:
        stage = sql.Identifier(f"stage_{table.name}")
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
        insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            sql.Identifier(table.name), columns, columns, stage
        )
        if feed:  # remember which rows were new: only those go on to detection
            insert = sql.SQL(
                "WITH new AS ({} RETURNING device_id, ts, seq)"
                " INSERT INTO stage_new SELECT {}, device_id, ts, seq FROM new"
            ).format(insert, sql.Literal(table.channel.value))
        with conn.cursor() as cur:
            _copy_rows(cur, stage, columns, table.types, rows)
            cur.execute(insert)
            inserted = cur.rowcount
            cur.execute(sql.SQL("TRUNCATE {}").format(stage))
        return inserted

    @staticmethod
    def _feed(conn: psycopg.Connection, rows: list[tuple[object, ...]]) -> None:
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in FEED_COLUMNS)
        with conn.cursor() as cur:
            _copy_rows(cur, sql.Identifier("stage_feed"), columns, FEED_TYPES, rows)
            cur.execute(
                # Two copies of one message in a batch are one new row: the first copy goes on.
                "INSERT INTO detection_feed (part, resident_id, device_id, channel, received_at, body, urgent)"
                " SELECT part, resident_id, device_id, channel, received_at, body, urgent FROM ("
                " SELECT DISTINCT ON (f.channel, f.device_id, f.ts, f.seq) f.*"
                " FROM stage_feed f JOIN stage_new n USING (channel, device_id, ts, seq)"
                " ORDER BY f.channel, f.device_id, f.ts, f.seq, f.ord) first ORDER BY ord"
            )
            cur.execute("TRUNCATE stage_feed, stage_new")
            cur.execute("NOTIFY detection_feed")  # delivered at commit: the alert processes read at once

    @staticmethod
    def _dead_letters(conn: psycopg.Connection, batch: Batch) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) VALUES (%s, %s, %s, %s, %s)",
                [(d.received_at, d.topic, d.payload, d.reason, d.detail) for d in batch.dead],
            )

    def close(self) -> None:
        """Close the connection (a new one is opened on the next write)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def _copy_rows(
    cur: psycopg.Cursor[Any], stage: sql.Identifier, columns: sql.Composable, types: Sequence[str], rows: list[Row]
) -> None:
    """Copy rows into a staging table in the binary format."""
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)
