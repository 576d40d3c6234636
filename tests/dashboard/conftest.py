"""Fixtures for the dashboard tests: a seeded database, a wired platform, the app and signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from anxin.services import LocalMosquitto
from dashboard.app import create_app
from tests.dashboard.world import PASSWORD, Platform, RootedBroker, platform, seed, settings


@pytest.fixture
def pool(db_url: str) -> Iterator[ConnectionPool[Any]]:
    """Seed the test database and open a pool on it."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
    with ConnectionPool(db_url, min_size=1, max_size=6, open=True) as opened:
        yield opened


@pytest.fixture
def broker(mqtt_broker: LocalMosquitto, topic_prefix: str) -> Iterator[RootedBroker]:
    """The session's real Mosquitto, under a topic root of this test's own."""
    with RootedBroker.connect(mqtt_broker.port, topic_prefix.split("/", 1)[0]) as rooted:
        yield rooted


@pytest.fixture
def world(pool: ConnectionPool[Any], broker: RootedBroker) -> Platform:
    return platform(pool, broker.publish)


@pytest.fixture
def client(pool: ConnectionPool[Any], world: Platform, broker: RootedBroker) -> Iterator[TestClient]:
    """Run the app (with its lifespan) against the test database."""
    app = create_app(settings(), pool, subscriber=broker, actions=world.actions())
    with TestClient(app) as running:
        yield running


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    """Sign a user in; return the Authorization header of their session (tokens cached per test)."""
    tokens: dict[str, str] = {}

    def sign_in(username: str) -> dict[str, str]:
        if username not in tokens:
            response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[username] = response.json()["token"]
            client.cookies.clear()  # each request below carries only the header it is given
        return {"Authorization": f"Bearer {tokens[username]}"}

    return sign_in
