"""The alerts exception tree; database library errors are translated at the store boundary."""

from __future__ import annotations


class AlertsError(Exception):
    """Base of every error raised by the alerts package."""


class UnknownKindError(AlertsError):
    """A finding named an alert kind that is not in ``alerts.kinds.ALERT_KINDS``."""


class AlertNotFoundError(AlertsError):
    """No alert has the given id."""


class IllegalTransitionError(AlertsError):
    """The alert lifecycle refused a state change: not in the table, wrong actor, or a missing field."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason  # a stable code the dashboard maps to a message: not_allowed, actor, outcome, note
        self.detail = detail


class ClaimRefusedError(AlertsError):
    """The desk's claim on an alert refused a claim or a release: another holds it, or the case is closed."""

    def __init__(self, code: str, holder: str | None) -> None:
        super().__init__(f"{code}: held by {holder}" if holder else code)
        self.code = code  # claimed_by_other, take_over_not_allowed, not_claimed, alert_closed
        self.holder = holder  # the actor holding the claim, if anyone does


class AlertStoreError(AlertsError):
    """The database refused an alert statement or is unreachable."""
