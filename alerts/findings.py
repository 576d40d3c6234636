"""What detectors take in and give out: observations of a resident, and findings about them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from alerts.kinds import Severity
from gateway.contract import Record


@dataclass(frozen=True, slots=True)
class Observation:
    """One decoded device message, attributed to the resident who owns the device."""

    resident_id: str
    record: Record
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's conclusion about a resident at a moment; the alert service turns it into an alert.

    ``cancels`` marks the end of a condition (the "I'm OK" key, a smoke alarm cleared): the alert
    service records it on the open alert of that kind instead of raising a new one.
    """

    kind: str  # a key of alerts.kinds.ALERT_KINDS
    resident_id: str
    at: datetime
    explanation: str  # one sentence an operator reads at 3 a.m., in English
    explanation_zh: str
    device_id: str | None = None
    severity: Severity | None = None  # overrides the kind's default (a long lie is worse than a fall)
    details: Mapping[str, object] = field(default_factory=dict)
    cancels: bool = False
