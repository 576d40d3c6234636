"""Factories for the alert tests: findings, a hand-moved clock, a publisher that remembers, a service."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from alerts.escalation import EscalationAction
from alerts.findings import Finding
from alerts.kinds import Severity
from alerts.messages import AlertChange, EscalationMessage
from alerts.service import AlertService
from anxin.services import LocalPostgres
from ingest.database import DbMode

T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)


def make_finding(
    kind: str = "sos",
    resident_id: str = "r1",
    *,
    at: datetime = T0,
    cancels: bool = False,
    severity: Severity | None = None,
    **details: Any,
) -> Finding:
    """Build a finding as a detector would."""
    return Finding(
        kind=kind,
        resident_id=resident_id,
        at=at,
        explanation=f"{kind} for {resident_id}",
        explanation_zh=f"{resident_id}的{kind}",
        device_id=f"b-{resident_id}",
        severity=severity,
        details=details,
        cancels=cancels,
    )


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> datetime:
        self.now += timedelta(**span)
        return self.now


@dataclass
class Broker:
    """Remember what was published; optionally look at the database first, as a remote subscriber would."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)
    check: Callable[[str, bytes], None] | None = None

    def publish(self, topic: str, payload: bytes) -> None:
        if self.check is not None:
            self.check(topic, payload)
        self.sent.append((topic, payload))

    def changes(self) -> list[AlertChange]:
        return [AlertChange.model_validate_json(p) for t, p in self.sent if "/alerts/" in t]

    def escalations(self) -> list[EscalationMessage]:
        return [EscalationMessage.model_validate_json(p) for t, p in self.sent if t.endswith("/escalations")]


@pytest.fixture(scope="module")
def alerts_module_db(pg_server: LocalPostgres, db_template: tuple[str, DbMode]) -> Iterator[str]:
    """Clone one migrated database per test module; cloning per test would cost most of the run."""
    name = f"a_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {db_template[0]}")
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def alerts_db_url(alerts_module_db: str) -> str:
    """Give each alert test empty alert tables in its module's database."""
    with psycopg.connect(alerts_module_db, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE escalations, alert_findings, alert_transitions, alerts, incidents, residents"
            " RESTART IDENTITY CASCADE"
        )
    return alerts_module_db


@pytest.fixture
def finding() -> Callable[..., Finding]:
    """Give the finding factory to tests (conftest modules are not imported by name)."""
    return make_finding


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def notified() -> list[EscalationAction]:
    return []


@pytest.fixture
def make_service(
    alerts_db_url: str, clock: Clock, broker: Broker, notified: list[EscalationAction]
) -> Callable[..., AlertService]:
    """Build services over the test's database, as separate processes would (each call is a new one)."""

    def build(**kwargs: Any) -> AlertService:
        kwargs.setdefault("notify", notified.append)
        return AlertService(lambda: psycopg.connect(alerts_db_url), broker.publish, clock, **kwargs)

    return build


@pytest.fixture
def service(make_service: Callable[..., AlertService]) -> AlertService:
    return make_service()


@pytest.fixture
def query(alerts_db_url: str) -> Callable[..., list[tuple[Any, ...]]]:
    """Run a query on a connection of its own and return the rows."""

    def run(text: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(alerts_db_url, autocommit=True) as conn:
            return conn.execute(text, params).fetchall()  # type: ignore[arg-type]

    return run
