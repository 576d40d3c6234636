"""Shared fixtures: a private PostgreSQL and Mosquitto per test session, a fresh database per test.

Each pytest-xdist worker is its own session, so workers never share servers. Tests isolate
themselves further with their own database (cloned from a migrated template) and their own
topic prefix, so they can run in parallel.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from anxin.services import LocalMosquitto, LocalPostgres
from ingest.database import DbMode, migrate
from tests.receivers import http_receiver, smtp_sink  # noqa: F401 - fixtures for every test package

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def service_root() -> Iterator[Path]:
    """Give a folder the unprivileged service account can enter (pytest's tmp is root-only)."""
    root = Path(tempfile.mkdtemp(prefix="anxin-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _timescaledb_choice() -> bool | None:
    """Read ANXIN_TEST_TIMESCALEDB: unset uses TimescaleDB where installed, 0 turns it off, 1 insists on it."""
    value = os.environ.get("ANXIN_TEST_TIMESCALEDB", "").strip().lower()
    return None if not value else value not in ("0", "false", "no", "off")


@pytest.fixture(scope="session")
def pg_server(service_root: Path) -> Iterator[LocalPostgres]:
    """Start a private PostgreSQL (TimescaleDB preloaded where installed; ANXIN_TEST_TIMESCALEDB=0 turns it off)."""
    # TimescaleDB's background workers would hold connections to the template database and make
    # `CREATE DATABASE … TEMPLATE` fail; tests refresh continuous aggregates themselves.
    with LocalPostgres(
        service_root / "postgres",
        durable=False,
        timescaledb=_timescaledb_choice(),
        options=("timescaledb.max_background_workers=0",),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def mqtt_broker(service_root: Path) -> Iterator[LocalMosquitto]:
    """Start a private Mosquitto with the project's config for this session."""
    with LocalMosquitto(service_root / "mosquitto") as broker:
        yield broker


@pytest.fixture(scope="session")
def db_template(pg_server: LocalPostgres) -> tuple[str, DbMode]:
    """Create a migrated template database once; return its name and mode."""
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS anxin_template")
        conn.execute("CREATE DATABASE anxin_template")
    with psycopg.connect(pg_server.url("anxin_template")) as conn:
        mode = migrate(conn)
    return "anxin_template", mode


@pytest.fixture
def db_url(pg_server: LocalPostgres, db_template: tuple[str, DbMode]) -> Iterator[str]:
    """Give each test its own migrated database; return its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {db_template[0]}")
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_mode(db_template: tuple[str, DbMode]) -> DbMode:
    """Return the database mode this session runs in."""
    return db_template[1]


@pytest.fixture(autouse=True)
def _needs_timescaledb(request: pytest.FixtureRequest) -> None:
    """Skip tests marked `timescaledb` where the session runs plain PostgreSQL."""
    if request.node.get_closest_marker("timescaledb") is None:
        return
    if request.getfixturevalue("db_mode") is not DbMode.TIMESCALEDB:
        pytest.skip("needs TimescaleDB: not installed for this PostgreSQL, or ANXIN_TEST_TIMESCALEDB=0")


@pytest.fixture
def topic_prefix() -> str:
    """Give each test its own topic tree on the shared broker."""
    return f"t{uuid.uuid4().hex[:10]}/ec/v1"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Return the reference data folder (DATA_DIR), or skip where it is absent."""
    path = Path(os.environ.get("DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set DATA_DIR)")
    return path
