"""Fixtures for the fault tests: servers of their own that a test may stop, kill and restart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.services import LocalMosquitto, LocalPostgres


@pytest.fixture
def own_broker(service_root: Path) -> Iterator[LocalMosquitto]:
    """A private Mosquitto (persistence in its own folder) this test may stop, kill and restart on its port."""
    broker = LocalMosquitto(service_root / f"mq-{os.urandom(4).hex()}").start()
    yield broker
    broker.stop()


@pytest.fixture
def own_pg(service_root: Path) -> Iterator[LocalPostgres]:
    """A private PostgreSQL this test may stop and start (the platform migrates it)."""
    server = LocalPostgres(service_root / f"pg-{os.urandom(4).hex()}", durable=False).start()
    yield server
    server.stop()
