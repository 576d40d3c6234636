"""The database: which mode it runs in, and the numbered migrations that build its schema.

Migrations are ``ingest/migrations/NNNN_name.sql``; a file named ``NNNN_name.timescaledb.sql`` or
``NNNN_name.postgresql.sql`` applies only in that mode. Every package's tables are created here
(``ingest/`` owns the database); number ranges: 0001–0009 ingest, 0010–0019 alerts,
0020–0029 dispatch and notifications, 0030–0039 dashboard. They run at start, under an advisory
lock so that several workers may start at once, and each file is applied once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Final

import psycopg
from psycopg import sql

from ingest.errors import DatabaseError

LOG = logging.getLogger(__name__)
_LOCK_ID: Final = 0x616E78696E  # "anxin"
_NAME: Final = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|postgresql))?\.sql$")


class DbMode(StrEnum):
    """Which engine stores the time series."""

    TIMESCALEDB = "timescaledb"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    mode: DbMode | None
    sql: str


def migrations(mode: DbMode) -> list[Migration]:
    """List the migrations that apply in ``mode``, in order."""
    found = []
    for entry in resources.files("ingest.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        file_mode = DbMode(match[3]) if match[3] else None
        if file_mode in (None, mode):
            found.append(Migration(int(match[1]), match[2], file_mode, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise DatabaseError(f"two migrations share a number: {versions}")
    return found


def _detect_mode(conn: psycopg.Connection) -> DbMode:
    """Use TimescaleDB when it is installed and preloaded and ``CREATE EXTENSION timescaledb`` succeeds."""
    preloaded = conn.execute(
        "SELECT current_setting('shared_preload_libraries') LIKE '%%timescaledb%%'"
        " AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
    ).fetchone()
    if not (preloaded and preloaded[0]):
        # Without the preload, CREATE EXTENSION would end the session with a FATAL error.
        LOG.info("TimescaleDB is not installed and preloaded on this server; using plain PostgreSQL")
        return DbMode.POSTGRESQL
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        LOG.info("TimescaleDB not available (%s); using plain PostgreSQL", str(exc).splitlines()[0])
        return DbMode.POSTGRESQL
    return DbMode.TIMESCALEDB


def migrate(conn: psycopg.Connection, retention_days: int = 180) -> DbMode:
    """Bring the schema up to date and return the mode the database runs in."""
    conn.autocommit = True
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " mode text, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS anxin_meta (key text PRIMARY KEY, value text NOT NULL)")
        row = conn.execute("SELECT value FROM anxin_meta WHERE key = 'db_mode'").fetchone()
        mode = DbMode(row[0]) if row else _detect_mode(conn)
        if row is None:
            conn.execute("INSERT INTO anxin_meta VALUES ('db_mode', %s)", (mode.value,))
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for migration in migrations(mode):
            if migration.version not in done:
                _apply(conn, migration, retention_days)
        return mode
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


def _apply(conn: psycopg.Connection, migration: Migration, retention_days: int) -> None:
    """Apply one migration in its own transaction."""
    LOG.info("applying migration %04d_%s", migration.version, migration.name)
    text = migration.sql.replace("{retention_days}", str(int(retention_days)))
    try:
        # Continuous aggregates cannot be created inside a transaction block.
        if migration.mode is DbMode.TIMESCALEDB:
            for statement in _statements(text):
                conn.execute(sql.SQL(statement))
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, %s)", (migration.version, migration.name, migration.mode)
            )
            return
        with conn.transaction():
            conn.execute(sql.SQL(text))
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, %s)", (migration.version, migration.name, migration.mode)
            )
    except psycopg.Error as exc:
        raise DatabaseError(f"migration {migration.version:04d}_{migration.name} failed: {exc}") from exc


def _statements(text: str) -> list[str]:
    """Split a migration into statements (no semicolons inside literals in our files)."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def db_mode(conn: psycopg.Connection) -> DbMode:
    """Return the mode recorded by `migrate`."""
    row = conn.execute("SELECT value FROM anxin_meta WHERE key = 'db_mode'").fetchone()
    if row is None:
        raise DatabaseError("the database has not been migrated")
    return DbMode(row[0])
