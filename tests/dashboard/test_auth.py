"""Sign-in: sessions, cookies, rate limits, and the secret the app will not start without."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dashboard.settings import DashboardSettings
from tests.dashboard.world import PASSWORD


def test_a_secret_key_is_required() -> None:
    with pytest.raises(ValidationError):
        DashboardSettings()  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        DashboardSettings(secret_key="short")  # type: ignore[arg-type]


def test_login_sets_a_strict_http_only_cookie(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"username": "operator", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    me = client.get("/api/auth/me")  # the client keeps the cookie
    assert me.json()["role"] == "operator"
    assert me.json()["home"] == "/console"


def test_wrong_password_and_unknown_user_are_refused_alike(client: TestClient) -> None:
    wrong = client.post("/api/auth/login", json={"username": "operator", "password": "nope"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_repeated_failures_make_the_name_wait_and_the_wait_is_said_in_a_code(client: TestClient) -> None:
    for _ in range(3):  # the free failures
        refused = client.post("/api/auth/login", json={"username": "family1", "password": "x"})
        assert refused.status_code == 401
    assert refused.json() == {"detail": {"code": "login_failed", "retry_after_s": 1}}
    held = client.post("/api/auth/login", json={"username": "family1", "password": PASSWORD})
    assert held.status_code == 429
    assert held.json() == {"detail": {"code": "login_wait", "retry_after_s": 1}}
    assert held.headers["retry-after"] == "1"
    assert client.post("/api/auth/login", json={"username": "family2", "password": PASSWORD}).status_code == 200


def test_forged_expired_and_revoked_tokens_are_refused(client: TestClient, login) -> None:
    headers = login("operator")
    token = headers["Authorization"].split()[1]
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/api/auth/me").status_code == 401
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_actions_and_health_reads_are_audited(client: TestClient, login, pool) -> None:
    client.get("/api/residents/r1", headers=login("operator"))
    client.get("/api/residents/r1/vitals", headers=login("operator"))
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT username, action, object_type, object_id, ip FROM audit_log WHERE object_id = 'r1' ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("operator", "read", "resident"), ("operator", "read", "vitals")]
    assert all(r[4] for r in rows)
