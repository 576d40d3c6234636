"""What the dispatch flow tells the world after each commit: offer events and staff positions, and their topics.

Every dashboard process subscribes to ``{root}/dispatch/+`` and ``{root}/staff/+/position`` (QoS 1), so
each open console sees an offer, a decline, a timeout or a staff member moving as it happens. The models
are the contract: the dashboard parses them with ``model_validate_json``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

TOPIC_ROOT: Final = "anxin/v1"


class DispatchEvent(StrEnum):
    """What happened to one assignment (or to the dispatch, when nobody is left)."""

    OFFERED = "offered"  # the task was offered to a staff member and sent on their channel
    UNREACHABLE = "unreachable"  # their channel failed: the next candidate is tried
    DECLINED = "declined"  # they said no (with a reason)
    TIMED_OUT = "timed_out"  # no answer within the offer window: the next candidate is tried
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    DONE = "done"  # the outcome was reported
    WITHDRAWN = "withdrawn"  # the alert was closed elsewhere (the desk, "I'm OK"): the staff member is freed
    NOBODY_LEFT = "nobody_left"  # every candidate was tried: the desk must act


class DispatchChange(BaseModel):
    """One committed change of a dispatch, as published to ``{root}/dispatch/{resident_id}``."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    resident_id: str
    dispatch_id: int
    event: DispatchEvent
    at: datetime
    assignment_id: int | None = None
    staff_id: str | None = None
    staff_name: str | None = None
    eta_min: float | None = None
    reason: str | None = None  # a decline's reason, or why an offer ended


class StaffPosition(BaseModel):
    """A staff member's reported position, as published to ``{root}/staff/{staff_id}/position``."""

    model_config = ConfigDict(frozen=True)

    staff_id: str
    lat: float
    lon: float
    at: datetime


def dispatch_topic(resident_id: str, root: str = TOPIC_ROOT) -> str:
    """Return the topic a resident's dispatch changes are published on."""
    return f"{root}/dispatch/{resident_id}"


def position_topic(staff_id: str, root: str = TOPIC_ROOT) -> str:
    """Return the topic a staff member's positions are published on."""
    return f"{root}/staff/{staff_id}/position"
