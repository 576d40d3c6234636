"""The escalation clock as pure rules: given an alert, its escalation step and ``now``, say what is due.

Two clocks run on an open alert:

* **Not acknowledged.** While nobody has acknowledged it, the alert climbs a ladder of rungs, each due
  at ``raised_at + after × ack timeout`` of its severity: tell the operators again, then the supervisor,
  then the family list. ``step`` counts the rungs already passed, so a stored step is where the clock
  carries on after a restart. A rung above the alert's severity (the family is not woken for a low
  battery) is passed silently; rungs missed while no process ran all fire at once, each exactly once.
* **The promise.** Once someone has been dispatched, staff must be on site within the resident's promise
  (15 minutes in a city, 30 in the countryside) counted from ``raised_at``; otherwise the breach fires once.

The service stores ``step``, ``promise_breached`` and ``next_deadline`` with the alert and calls
`escalate` when the deadline has passed. Hyperparameters live in a frozen `EscalationPolicy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from alerts.kinds import Severity
from alerts.lifecycle import OPEN_STATES, AlertState


class EscalationKind(StrEnum):
    """What an escalation asks the notification engine to do."""

    NOTIFY_OPERATORS = "notify_operators"
    NOTIFY_SUPERVISOR = "notify_supervisor"
    NOTIFY_FAMILY = "notify_family"
    PROMISE_BREACHED = "promise_breached"  # tell the supervisor nobody is on site in time


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of the not-acknowledged ladder: whom to tell, after how many ack timeouts."""

    action: EscalationKind
    after: float  # multiples of the severity's ack timeout, counted from raised_at
    min_severity: Severity = Severity.LOW


DEFAULT_ACK_TIMEOUTS: Final[Mapping[Severity, timedelta]] = MappingProxyType(
    {
        Severity.CRITICAL: timedelta(seconds=60),
        Severity.HIGH: timedelta(seconds=120),
        Severity.MEDIUM: timedelta(minutes=10),
        Severity.LOW: timedelta(hours=1),
    }
)
DEFAULT_LADDER: Final = (
    Rung(EscalationKind.NOTIFY_OPERATORS, 1),
    Rung(EscalationKind.NOTIFY_SUPERVISOR, 2),
    Rung(EscalationKind.NOTIFY_FAMILY, 3, min_severity=Severity.HIGH),
)
DEFAULT_PROMISE_MINUTES: Final[Mapping[str, int]] = MappingProxyType({"city": 15, "countryside": 30})
PROMISE_KEY: Final = "promise"
# Staff past these states have arrived or the alert is over; before dispatch the promise has no clock.
_AWAITING_ARRIVAL: Final = frozenset({AlertState.ACKNOWLEDGED, AlertState.DISPATCHED, AlertState.EN_ROUTE})


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """The escalation hyperparameters: ack timeouts per severity, the ladder, the promise per area."""

    ack_timeouts: Mapping[Severity, timedelta] = field(default_factory=lambda: DEFAULT_ACK_TIMEOUTS)
    ladder: tuple[Rung, ...] = DEFAULT_LADDER
    promise_minutes: Mapping[str, int] = field(default_factory=lambda: DEFAULT_PROMISE_MINUTES)
    default_area: str = "city"

    def __post_init__(self) -> None:
        """Refuse a ladder out of order or a severity without a timeout."""
        if [r.after for r in self.ladder] != sorted(r.after for r in self.ladder):
            raise ValueError("ladder rungs must be in order of their delay")
        if set(self.ack_timeouts) != set(Severity):
            raise ValueError("ack_timeouts needs one timeout per severity")
        if self.default_area not in self.promise_minutes:
            raise ValueError(f"no promise for the default area {self.default_area!r}")

    def promise_for(self, area: str | None) -> int:
        """Return the promised minutes to the door for an area type (city, countryside)."""
        return self.promise_minutes.get(area or self.default_area, self.promise_minutes[self.default_area])


@dataclass(frozen=True, slots=True)
class AlertClock:
    """What the escalation rules need to know about one alert."""

    alert_id: int
    resident_id: str
    kind: str
    severity: Severity
    state: AlertState
    raised_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    promise_minutes: int
    step: int = 0  # ladder rungs already passed
    promise_breached: bool = False


@dataclass(frozen=True, slots=True)
class EscalationAction:
    """One escalation that is due: what to do about which alert, and when it fell due."""

    alert_id: int
    resident_id: str
    kind: str
    severity: Severity
    action: EscalationKind
    key: str  # unique per alert ("ack.0", "ack.1", "promise"), so a step is stored once
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Escalation:
    """The actions due now, and the clock state to store after firing them."""

    actions: tuple[EscalationAction, ...]
    step: int
    promise_breached: bool
    next_deadline: datetime | None


def escalate(alert: AlertClock, now: datetime, policy: EscalationPolicy) -> Escalation:
    """Return the actions due at ``now`` and the step, breach flag and next deadline after them."""
    fired: list[EscalationAction] = []
    step = alert.step
    if _unacknowledged(alert):
        for index in range(alert.step, len(policy.ladder)):
            due = _rung_due(alert, policy, index)
            if due > now:
                break
            step = index + 1
            if _applies(alert, policy.ladder[index]):
                fired.append(_action(alert, policy.ladder[index].action, f"ack.{index}", due))
    breached = alert.promise_breached
    promise = _promise_due(alert)
    if promise is not None and promise <= now:
        fired.append(_action(alert, EscalationKind.PROMISE_BREACHED, PROMISE_KEY, promise))
        breached = True
    after = replace(alert, step=step, promise_breached=breached)
    return Escalation(tuple(fired), step, breached, next_deadline(after, policy))


def next_deadline(alert: AlertClock, policy: EscalationPolicy) -> datetime | None:
    """Return when the next escalation of ``alert`` falls due, or None when nothing is pending."""
    pending = [d for d in (_next_rung_due(alert, policy), _promise_due(alert)) if d is not None]
    return min(pending, default=None)


def _unacknowledged(alert: AlertClock) -> bool:
    return alert.acknowledged_at is None and alert.state in OPEN_STATES


def _applies(alert: AlertClock, rung: Rung) -> bool:
    return alert.severity >= rung.min_severity


def _rung_due(alert: AlertClock, policy: EscalationPolicy, index: int) -> datetime:
    return alert.raised_at + policy.ladder[index].after * policy.ack_timeouts[alert.severity]


def _next_rung_due(alert: AlertClock, policy: EscalationPolicy) -> datetime | None:
    if not _unacknowledged(alert):
        return None
    for index in range(alert.step, len(policy.ladder)):
        if _applies(alert, policy.ladder[index]):
            return _rung_due(alert, policy, index)
    return None


def _promise_due(alert: AlertClock) -> datetime | None:
    if alert.promise_breached or alert.dispatched_at is None or alert.state not in _AWAITING_ARRIVAL:
        return None
    return alert.raised_at + timedelta(minutes=alert.promise_minutes)


def _action(alert: AlertClock, kind: EscalationKind, key: str, due: datetime) -> EscalationAction:
    return EscalationAction(alert.alert_id, alert.resident_id, alert.kind, alert.severity, kind, key, due)
