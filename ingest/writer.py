"""Write batches into the database: binary COPY into a staging table, then one de-duplicating insert.

``INSERT … SELECT … ON CONFLICT DO NOTHING`` over the unique (device, time, sequence) index stores a
resent or redelivered message once, also when both copies are in the same batch. The difference
between staged and inserted rows is the duplicate count.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from ingest.errors import DatabaseError, DataRejectedError
from ingest.rows import TABLES, Batch, Table


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
                        stored += self._copy(conn, TABLES[channel], rows)
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
    def _copy(conn: psycopg.Connection, table: Table, rows: list[tuple[object, ...]]) -> int:
        stage = sql.Identifier(f"stage_{table.name}")
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
        with conn.cursor() as cur:
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)
            with cur.copy(copy_sql) as copy:
                copy.set_types(list(table.types))
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                    sql.Identifier(table.name), columns, columns, stage
                )
            )
            inserted = cur.rowcount
            cur.execute(sql.SQL("TRUNCATE {}").format(stage))
        return inserted

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)
