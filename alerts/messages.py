"""What the alert service tells the world after each commit: the change and escalation messages, and their topics.

Every dashboard process subscribes to ``{root}/alerts/+`` (QoS 1) and receives each committed change of
every alert as one `AlertChange` JSON message; ``{root}/escalations`` carries each escalation fired.
The models are the contract: the dashboard parses them with ``AlertChange.model_validate_json``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict

from alerts.escalation import EscalationKind
from alerts.lifecycle import AlertState, Outcome

TOPIC_ROOT: Final = "anxin/v1"


class ChangeAction(StrEnum):
    """Why an alert change was published."""

    RAISED = "raised"  # a new alert
    UPDATED = "updated"  # another finding of the same kind joined the open alert
    SEVERITY_RAISED = "severity_raised"  # a finding made it more urgent (a fall became a long lie)
    TRANSITION = "transition"  # its state changed (see from_state, state, actor)
    NOTED = "noted"  # a finding was recorded that changes nothing by itself (a late "I'm OK", smoke cleared)
    ESCALATED = "escalated"  # escalation actions fired (see escalations)
    PROVISIONAL = "provisional"  # a critical finding the database could not store yet (see ProvisionalAlert)
    CLAIMED = "claimed"  # an operator took the case (actor); a supervisor may take it over
    RELEASED = "released"  # the claimant (actor) gave the case back to the desk
    NOTE_ADDED = "note_added"  # a case note was written (actor, note)


class AlertChange(BaseModel):
    """One committed change of one alert, as published to ``{root}/alerts/{resident_id}``."""

    model_config = ConfigDict(frozen=True)

    alert_id: int
    incident_id: int
    resident_id: str
    kind: str
    severity: str  # critical, high, medium, low
    state: AlertState
    outcome: Outcome | None = None
    at: datetime
    action: ChangeAction
    explanation: str
    explanation_zh: str
    from_state: AlertState | None = None
    actor: str | None = None
    note: str | None = None
    finding_count: int
    next_deadline: datetime | None = None
    escalations: tuple[EscalationKind, ...] = ()


class ProvisionalAlert(BaseModel):
    """A critical finding not stored yet (the database is down), published on the same topic as `AlertChange`.

    Operators see the emergency at once; the alert itself, with its id, follows as an ordinary ``raised``
    change when the database takes it. The message has no alert id: nothing is stored to act on yet.
    """

    model_config = ConfigDict(frozen=True)

    resident_id: str
    kind: str
    severity: str
    at: datetime  # when the detector found it
    action: ChangeAction = ChangeAction.PROVISIONAL
    explanation: str
    explanation_zh: str
    device_id: str | None = None


class EscalationMessage(BaseModel):
    """One escalation action fired, as published to ``{root}/escalations``."""

    model_config = ConfigDict(frozen=True)

    alert_id: int
    resident_id: str
    kind: str
    severity: str
    action: EscalationKind
    key: str
    due_at: datetime
    fired_at: datetime


def alert_topic(resident_id: str, root: str = TOPIC_ROOT) -> str:
    """Return the topic a resident's alert changes are published on."""
    return f"{root}/alerts/{resident_id}"


def escalation_topic(root: str = TOPIC_ROOT) -> str:
    """Return the topic escalation actions are published on."""
    return f"{root}/escalations"
