"""Migrations build the schema once, in the mode the server supports."""

from __future__ import annotations

import psycopg

from ingest.database import DbMode, migrate, migrations


def test_migrations_are_numbered_uniquely() -> None:
    for mode in DbMode:
        versions = [m.version for m in migrations(mode)]
        assert versions == sorted(set(versions))


def test_migrate_is_idempotent(db_url: str, db_mode: DbMode) -> None:
    with psycopg.connect(db_url) as conn:
        assert migrate(conn) == db_mode
        assert migrate(conn) == db_mode
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert count is not None
        assert count[0] == len(migrations(db_mode))
        for table in ("telemetry", "events", "device_status", "dead_letters", "activity_hourly"):
            assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,)
