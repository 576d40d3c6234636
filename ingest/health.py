"""Readiness checks of the database a process depends on, combined into one answer for ``/readyz``.

A check returns ``(ok, details)``. Critical checks decide readiness (a load balancer stops sending
traffic); advisory ones are reported, and only mark the answer ``degraded``: a TimescaleDB policy
that is behind does not stop operators from working.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest.errors import DatabaseError
from ingest.maintenance import policy_health

LOG = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, dict[str, Any]]]
Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


def standard_readiness(connect: Connect) -> Check:
    """Make every process's readiness: the database answers (critical), TimescaleDB's policies run (advisory)."""
    return readiness({"database": database_check(connect)}, {"timescaledb_policies": policy_check(connect)})


def readiness(critical: Mapping[str, Check], advisory: Mapping[str, Check] | None = None) -> Check:
    """Combine checks: ready when every critical one passes; the body names each check and its details."""

    def check() -> tuple[bool, dict[str, Any]]:
        results = {name: _run(name, c) for name, c in critical.items()}
        hints = {name: _run(name, c) for name, c in (advisory or {}).items()}
        ready = all(ok for ok, _ in results.values())
        degraded = not all(ok for ok, _ in hints.values())
        status = "ready" if ready and not degraded else "degraded" if ready else "not_ready"
        checks = {name: {"ok": ok, "critical": True, **details} for name, (ok, details) in results.items()}
        checks |= {name: {"ok": ok, "critical": False, **details} for name, (ok, details) in hints.items()}
        return ready, {"status": status, "checks": checks}

    return check


def _run(name: str, check: Check) -> tuple[bool, dict[str, Any]]:
    """Run one check; one that raises has failed, and says with what."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a readiness probe answers, whatever the check hit
        LOG.warning("readiness check %s failed: %s", name, exc)
        return False, {"error": type(exc).__name__}


def database_check(connect: Connect) -> Check:
    """Make a check that the database answers a query."""

    def check() -> tuple[bool, dict[str, Any]]:
        with connect() as conn:
            conn.execute("SELECT 1")
        return True, {}

    return check


def policy_check(connect: Connect, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Check:
    """Make a check that TimescaleDB's policies complete (by the scheduler or the upkeep); plain mode passes."""

    def check() -> tuple[bool, dict[str, Any]]:
        try:
            with connect() as conn:
                return policy_health(conn, clock())
        except DatabaseError as exc:
            return False, {"error": str(exc)}

    return check
