"""What the dashboard asks other parts of the platform to do, as interfaces the composition root fills in.

The dashboard reads the database directly, but every change to an alert, a dispatch or a family reply
goes through the package that owns it, so that it is committed, published on the broker and escalated
exactly as if it came from anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from alerts.service import AlertService
from dashboard.roles import RoleName
from dashboard.store.users import User
from dispatch.flow import DispatchFlow, staff_actor
from gateway.contract import DeviceCommand


class ReplyRecorder(Protocol):
    """Record a family member's answer from a signed link (notify's ``record_reply``)."""

    def __call__(self, token: str) -> object:
        """Record the reply the token carries; raise when the token is bad or expired."""


def utc_now() -> datetime:
    """Return the present time."""
    return datetime.now(UTC)


class TaskLinkReader(Protocol):
    """Verify a task link's token (notify's ``read_task_token``); return (assignment id, staff id)."""

    def __call__(self, token: str) -> tuple[int, str]:
        """Return what the token names; raise when it is forged or expired."""


@dataclass(frozen=True, slots=True)
class Actions:
    """The services behind the dashboard's buttons; a missing one answers 503."""

    alerts: AlertService | None = None
    dispatch: DispatchFlow | None = None
    record_reply: ReplyRecorder | None = None
    read_task_link: TaskLinkReader | None = None
    reload_broker: Callable[[], None] | None = None  # the broker re-reads devices' credentials and ACL
    command_device: Callable[[str, DeviceCommand], None] | None = None  # publish on the device's cmd topic
    roster_key: bytes | None = None  # keys the hash ID numbers are stored by (the roster upload)
    clock: Callable[[], datetime] = field(default=utc_now)


_LIFECYCLE_ROLE = {
    RoleName.ADMIN: "supervisor",
    RoleName.SUPERVISOR: "supervisor",
    RoleName.OPERATOR: "operator",
    RoleName.FAMILY: "family",
}


def actor(user: User) -> str:
    """Name the user as the alert lifecycle records actors (``operator:u12``, ``staff:s3``)."""
    if user.role is RoleName.STAFF:
        assert user.staff_id is not None  # a staff account is always linked to its staff member
        return staff_actor(user.staff_id)
    return f"{_LIFECYCLE_ROLE[user.role]}:u{user.id}"
