"""Alerts, their timeline and the actions taken on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NotePublic(BaseModel):
    """A case note as the handover view lists it."""

    at: datetime
    actor: str
    name: str | None  # the writer's display name
    text: str


class AlertPublic(BaseModel):
    """An alert as the queue and the case view show it."""

    id: int
    incident_id: int
    resident_id: str
    resident_name: str | None
    resident_phone: str | None = None
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
    escalation_step: int = 0  # rungs of the not-acknowledged ladder passed: above 0, the console re-alarms
    promise_breached_at: datetime | None
    claimed_by: str | None = None  # the actor who holds the case (operator:u12)
    claimed_at: datetime | None = None
    claimed_by_name: str | None = None
    latest_notes: list[NotePublic] = []
    lat: float | None
    lon: float | None
    address: str | None
    event_at: datetime | None = None  # when the raising event happened, by the device (or detector) clock
    received_late_s: float | None = None  # how long after that the platform raised it; the promise runs from then
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
    # for a fall alert: the desk confirms the resident really fell (a false alarm says the opposite by its outcome)
    real_fall: bool = False


class Claim(BaseModel):
    """Take a case; a supervisor may take over one another person holds."""

    model_config = ConfigDict(extra="forbid")

    take_over: bool = False


class BraceletAsk(BaseModel):
    """Ask the resident's bracelet for its position now, or to call a number (the desk talks through it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: Literal["locate", "call_back"]
    number: str | None = Field(default=None, pattern=r"^\+?[0-9]{3,20}$")


class NoteCreate(BaseModel):
    """Write a case note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2000)
