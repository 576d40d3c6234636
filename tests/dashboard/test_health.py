"""The dashboard's probes: /healthz and /readyz without sign-in, /metrics for loopback or the admin role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter
from psycopg_pool import ConnectionPool

from dashboard.app import create_app
from tests.dashboard.world import settings


def test_healthz_and_readyz_answer_without_sign_in(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True, "critical": True}
    policies = body["checks"]["timescaledb_policies"]
    assert policies["ok"] and not policies["critical"]
    assert policies["mode"] in ("postgresql", "timescaledb")


def test_readyz_is_503_with_the_failing_check_named(pool: ConnectionPool[Any]) -> None:
    def database_down() -> tuple[bool, dict[str, Any]]:
        return False, {"status": "not_ready", "checks": {"database": {"ok": False, "critical": True}}}

    app = create_app(settings(), pool, ready=database_down)
    with TestClient(app) as running:
        answer = running.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"]["ok"] is False


def test_metrics_need_the_admin_role_off_loopback(client: TestClient, login: Callable[[str], dict[str, str]]) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=login("operator")).status_code == 403
    answer = client.get("/metrics", headers=login("admin"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


def test_metrics_are_open_to_loopback_but_not_through_a_proxy(pool: ConnectionPool[Any]) -> None:
    registry = CollectorRegistry()
    Counter("anxin_test_probes", "A counter of this test", registry=registry).inc(2)
    app = create_app(settings(), pool, metrics_registry=registry)
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        answer = local.get("/metrics")
        assert answer.status_code == 200
        assert "anxin_test_probes_total 2.0" in answer.text
        assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
