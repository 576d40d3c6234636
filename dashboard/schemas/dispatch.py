"""Dispatch: ranked candidates, offers, staff tasks and their steps (visits: ``dashboard.schemas.visits``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReasonPublic(BaseModel):
    """Why a candidate ranks where they do: a code (``fastest``, ``as_fast``, ``slower``) with parameters.

    Every number is the one the candidate row shows: ``eta_min`` and ``margin_min`` are the candidate's own.
    """

    code: str
    origin: str  # "last_known" or "station"
    road_km: float  # to one decimal
    eta_min: int
    promise_min: int
    margin_min: int  # negative when late
    behind_min: int  # slower than the fastest by this many minutes
    fastest: str  # the fastest candidate's name


class CandidatePublic(BaseModel):
    """One staff member who could go, with arrival against the promise and why they rank there."""

    staff_id: str
    name: str
    role: str
    station_id: str
    rank: int
    origin: str
    road_km: float
    eta_min: int  # whole minutes, rounded up once by the ranking
    arrives_at: datetime
    in_time: bool
    margin_min: int  # whole minutes to spare at arrival (rounded down); negative when late
    reason: ReasonPublic
    lat: float | None
    lon: float | None


class PassedOverPublic(BaseModel):
    """A staff member left out, and why (``excluded``, ``on_task``, ``off_shift``, ``no_shift``)."""

    staff_id: str
    name: str
    code: str


class SummaryPublic(BaseModel):
    """What the desk should do: the verdict as a code, with the best candidate's numbers."""

    code: str  # in_time, none_in_time, nobody_available
    promise_min: int
    name: str | None
    eta_min: int | None
    margin_min: int | None


class RankingPublic(BaseModel):
    """The ranked candidates for an alert and the verdict."""

    alert_id: int
    promise_min: float
    deadline: datetime
    verdict: str
    summary: SummaryPublic
    candidates: list[CandidatePublic]
    passed_over: list[PassedOverPublic]


class DispatchCreate(BaseModel):
    """Send staff to an alert: the top candidate, or the one named."""

    model_config = ConfigDict(extra="forbid")

    staff_id: str | None = None


class OfferPublic(BaseModel):
    """Who was offered the task, or that nobody can go."""

    dispatch_id: int
    alert_id: str
    assignment_id: int | None
    staff_id: str | None
    must_escalate: bool


class TaskContactPublic(BaseModel):
    """An emergency contact the staff member may call (on their own task only)."""

    name: str
    relation: str
    phone: str


class TaskPublic(BaseModel):
    """A staff member's task: one assignment with its alert and resident."""

    assignment_id: int
    dispatch_id: int
    alert_id: str
    state: str
    staff_id: str
    staff_name: str | None
    assigned_at: datetime
    accepted_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    outcome_at: datetime | None
    outcome: str | None
    eta_min: float
    in_time: bool
    deadline: datetime
    resident_id: str
    resident_name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    key_holder: str | None
    medical_notes: str | None
    alert_kind: str | None
    alert_state: str | None
    resident_phone: str | None = None
    contacts: list[TaskContactPublic] = []  # only on the staff member's own task list


class Decline(BaseModel):
    """Decline a task, with a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=300)


class Finish(BaseModel):
    """How a visit ended."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=500)
