"""Readiness checks: critical ones decide, advisory ones only mark the answer degraded."""

from __future__ import annotations

from typing import Any

import psycopg

from ingest.database import DbMode
from ingest.health import database_check, policy_check, readiness


def _passes() -> tuple[bool, dict[str, Any]]:
    return True, {}


def _fails() -> tuple[bool, dict[str, Any]]:
    return False, {"behind": 2}


def _raises() -> tuple[bool, dict[str, Any]]:
    raise ConnectionError("no route")


def test_critical_checks_decide_and_advisory_ones_degrade() -> None:
    assert readiness({"a": _passes}, {"b": _passes})() == (
        True,
        {"status": "ready", "checks": {"a": {"ok": True, "critical": True}, "b": {"ok": True, "critical": False}}},
    )
    ok, body = readiness({"a": _passes}, {"b": _fails})()
    assert ok
    assert body["status"] == "degraded"
    assert body["checks"]["b"] == {"ok": False, "critical": False, "behind": 2}
    ok, body = readiness({"a": _raises}, {"b": _passes})()
    assert not ok
    assert body["status"] == "not_ready"
    assert body["checks"]["a"] == {"ok": False, "critical": True, "error": "ConnectionError"}


def test_database_and_policy_checks_against_the_database(db_url: str, db_mode: DbMode) -> None:
    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(db_url)

    assert database_check(connect)() == (True, {})
    ok, details = policy_check(connect)()
    assert details["mode"] == db_mode.value
    if db_mode is DbMode.POSTGRESQL:
        assert ok
    else:
        assert details["failing"] == []  # a new database: nothing has failed yet
