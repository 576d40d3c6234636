"""What several commands share: reaching the database the platform uses."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from anxin.services import LocalPostgres
from anxin.settings import Settings
from gateway.errors import Rejected
from ingest.database import migrate
from ingest.errors import DatabaseError
from ingest.rows import Batch, DeadLetter
from ingest.writer import BatchWriter


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


def dead_letter_writer(db_url: str) -> Callable[[Rejected], None]:
    """Return what stores an adapter's rejected input as a dead-letter row (from any thread, one at a time).

    When the database refuses, the row is logged as lost: an adapter never stops for its dead letters.
    """
    writer, lock = BatchWriter(db_url), threading.Lock()

    def store(rejected: Rejected) -> None:
        letter = DeadLetter(rejected.received_at, rejected.topic, rejected.payload, rejected.reason, rejected.detail)
        try:
            with lock:
                writer.write(Batch(dead=[letter]))
        except DatabaseError as exc:
            logging.getLogger("anxin.dead_letters").error(
                "the dead letter of %s is lost: %s", rejected.topic[:200], exc
            )

    return store
