"""What several commands share: reaching the database the platform uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from anxin.services import LocalPostgres
from anxin.settings import Settings
from ingest.database import migrate


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the URL of the configured database, or of the local one under the data folder, migrated."""
    if settings.database_url is not None:
        url = settings.database_url
        with psycopg.connect(url) as conn:
            migrate(conn, settings.retention_days)
        yield url
        return
    with LocalPostgres(Path(settings.data_dir).resolve() / "postgres") as server:
        with psycopg.connect(server.url()) as conn:
            migrate(conn, settings.retention_days)
        yield server.url()
