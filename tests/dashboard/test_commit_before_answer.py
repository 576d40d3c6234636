"""A write is committed before its answer leaves: whatever the browser does next sees it.

FastAPI runs the exit code of a dependency with ``yield`` after the response has been sent unless the
dependency is scoped to the function. The request's connection commits in that exit code, so without the
scope a page could act on an answer (a session opened, a resident saved) before it was committed, and its
next request would not find it: a sign-in that lands on "signed out", a saved row missing from the list
reloaded after it. Here the moment the answer starts is watched from another connection.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.app import create_app
from tests.dashboard.world import PASSWORD, settings


class SeenAtAnswer:
    """Wrap the app; when an answer starts, count the sessions another connection can see."""

    def __init__(self, app: ASGIApp, db_url: str) -> None:
        self.app = app
        self.db_url = db_url
        self.sessions_seen: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/api/auth/login":
                with psycopg.connect(self.db_url, autocommit=True) as other:
                    row = other.execute("SELECT count(*) FROM sessions WHERE revoked_at IS NULL").fetchone()
                    assert row is not None
                    self.sessions_seen.append(int(row[0]))
            await send(message)

        await self.app(scope, receive, watched)


def test_a_session_is_committed_before_the_sign_in_is_answered(pool: ConnectionPool[Any], db_url: str) -> None:
    watched = SeenAtAnswer(create_app(settings(), pool), db_url)
    with TestClient(watched) as client:
        for _ in range(3):
            response = client.post("/api/auth/login", json={"username": "staff1", "password": PASSWORD})
            assert response.status_code == 200
    assert watched.sessions_seen == [1, 2, 3]
