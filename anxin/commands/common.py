"""What several commands share: reaching the database the platform uses, running parts of the platform."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from anxin.services import LocalPostgres
from anxin.settings import Settings, load_settings
from ingest.database import migrate

if TYPE_CHECKING:
    from anxin.platform import Role

LOG = logging.getLogger("anxin")


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


def serve_roles(roles: frozenset[Role], what: str) -> int:
    """Run the platform's parts named by ``roles`` against DATABASE_URL and MQTT_URL until SIGINT or SIGTERM."""
    from anxin.platform import start_platform  # noqa: PLC0415 - the other commands need none of the platform

    settings = load_settings()
    if not settings.database_url or not settings.mqtt_url:
        LOG.error("anxin %s needs DATABASE_URL and MQTT_URL (`anxin run` starts everything on local services)", what)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with start_platform(settings, roles=roles) as platform:
        LOG.info("anxin %s running%s", what, f": {platform.dashboard_url}" if platform.dashboard_url else "")
        stop.wait()
        LOG.info("stopping…")
    return 0
