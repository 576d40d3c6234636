"""Alerts, their timeline and the actions taken on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AlertPublic(BaseModel):
    """An alert as the queue and the case view show it."""

    id: int
    incident_id: int
    resident_id: str
    resident_name: str | None
    kind: str
    title_en: str
    title_zh: str
    severity: int
    state: str
    outcome: str | None
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    closed_at: datetime | None
    explanation: str
    explanation_zh: str
    device_id: str | None
    promise_minutes: int
    promise_deadline: datetime
    promise_breached_at: datetime | None
    lat: float | None
    lon: float | None
    address: str | None
    moves: list[str] = []


class TimelineEntry(BaseModel):
    """One thing that happened to an alert."""

    source: str
    at: datetime
    what: str
    actor: str | None
    note: str | None
    detail: dict[str, Any] | None


class AlertDetail(BaseModel):
    """An alert with its timeline."""

    alert: AlertPublic
    timeline: list[TimelineEntry]


class Acknowledge(BaseModel):
    """Acknowledge an alert."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500)


class Cancel(BaseModel):
    """Cancel an alert, with the reason."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500)


class Resolve(BaseModel):
    """Resolve an alert with its outcome."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["false_alarm", "no_injury", "minor_injury", "hospital", "other"]
    note: str | None = Field(default=None, max_length=500)
