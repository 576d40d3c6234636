"""Write batches into the database: binary COPY into a staging table, then one de-duplicating insert.

``INSERT … SELECT … ON CONFLICT DO NOTHING`` over the unique (device, time, sequence) index stores a
resent or redelivered message once, also when both copies are in the same batch. The difference
between staged and inserted rows is the duplicate count. The rows that were new go on, in the same
transaction and in arrival order, into the detection feed (``ingest/feed.py``): a redelivered message
reaches detection once, and a committed one always does.
"""

from __future__ import annotations

import functools
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
        self._one: psycopg.Connection | None = None  # autocommit, for single records (`_write_one`)

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
        one = _single(batch)
        if one is not None:
            return self._write_one(*one)
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

    def _write_one(self, table: Table, row: Row, feed: Row | None) -> WriteResult:
        """Commit one record (an urgent event, as a rule) in one statement: its row, its feed row if it is new,
        and the feed's notice. The batch path's staging costs several round trips and truncations, each a
        wait for a busy process's turn at the interpreter: an SOS is written this way, in one."""
        try:
            conn = self._autocommit()
            found = conn.execute(_one_statement(table, feed is not None), (*row, *(_feed_values(feed) if feed else ())))
            stored = found.fetchone()
        except (psycopg.DataError, psycopg.IntegrityError, ValueError, OverflowError) as exc:
            raise DataRejectedError(_first_line(exc)) from exc
        except psycopg.Error as exc:
            self.close()
            raise DatabaseError(_first_line(exc)) from exc
        inserted = int(stored[0]) if stored else 0
        return WriteResult(inserted, 1 - inserted, 0)

    def _autocommit(self) -> psycopg.Connection:
        if self._one is None or self._one.closed or self._one.broken:
            self._one = psycopg.connect(self._url, connect_timeout=5, autocommit=True)
            self._one.execute("SET synchronous_commit = on")
        return self._one

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
            # Delivered at commit: the alert processes read at once (an urgent row on their urgent thread).
            urgent = any(row[-1] for row in rows)
            cur.execute("NOTIFY detection_feed, 'urgent'" if urgent else "NOTIFY detection_feed")

    @staticmethod
    def _dead_letters(conn: psycopg.Connection, batch: Batch) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) VALUES (%s, %s, %s, %s, %s)",
                [(d.received_at, _storable(d.topic), d.payload, d.reason, _storable(d.detail)) for d in batch.dead],
            )

    def close(self) -> None:
        """Close the connections (new ones are opened on the next write)."""
        for conn in (self._conn, self._one):
            if conn is not None:
                conn.close()
        self._conn = self._one = None


def _copy_rows(
    cur: psycopg.Cursor[Any], stage: sql.Identifier, columns: sql.Composable, types: Sequence[str], rows: list[Row]
) -> None:
    """Copy rows into a staging table in the binary format."""
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _single(batch: Batch) -> tuple[Table, Row, Row | None] | None:
    """Return the table, row and feed row of a batch of exactly one record and nothing else; else None."""
    if batch.dead or len(batch.feed) > 1:
        return None
    filled = [(channel, rows) for channel, rows in batch.rows.items() if rows]
    if len(filled) != 1 or len(filled[0][1]) != 1:
        return None
    channel, rows = filled[0]
    return TABLES[channel], rows[0], batch.feed[0] if batch.feed else None


_FEED_INSERTED: Final = ("part", "resident_id", "device_id", "channel", "received_at", "body", "urgent")


_FEED_PICK: Final = tuple(FEED_COLUMNS.index(c) for c in _FEED_INSERTED)


def _feed_values(feed: Row) -> tuple[object, ...]:
    """Return a staged feed row's values in the order `_one_statement` inserts them."""
    return tuple(feed[i] for i in _FEED_PICK)


@functools.cache
def _one_statement(table: Table, feed: bool) -> sql.Composed:
    """Return (made once) the statement that stores one record of ``table``, and its feed row when new.

    It returns 1 when the row was new (0 for a duplicate). A new feed row sends the feed's notice as
    the batch path does (``'urgent'`` for an urgent record), delivered when the statement commits.
    """
    values = sql.SQL(", ").join(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(t)) for t in table.types)
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING RETURNING 1").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns)), values
    )
    if not feed:
        statement = sql.SQL("WITH new AS ({}) SELECT count(*) FROM new").format(insert)
    else:
        types = dict(zip(FEED_COLUMNS, FEED_TYPES, strict=True))
        feed_values = sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(types[c])) for c in _FEED_INSERTED
        )
        statement = sql.SQL(
            "WITH new AS ({}), fed AS (INSERT INTO detection_feed ({}) SELECT {} FROM new RETURNING urgent)"
            " SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM"
            " (SELECT pg_notify('detection_feed', CASE WHEN urgent THEN 'urgent' ELSE '' END) FROM fed) n)"
        ).format(insert, sql.SQL(", ").join(map(sql.Identifier, _FEED_INSERTED)), feed_values)
    return statement


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)


def _storable(text: str) -> str:
    """Make a dead letter's text storable as PostgreSQL text: a NUL, or half of a surrogate pair, that a bad
    message put in its topic or in the error that quotes it, is written out as an escape. Otherwise the
    dead letter itself would be refused, and with it the batch, again and again."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
