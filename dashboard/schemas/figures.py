"""Supervisor figures."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class KindDay(BaseModel):
    """Alerts of one kind on one local day."""

    day: date
    kind: str
    alerts: int


class Figures(BaseModel):
    """Response times, outcomes and device health over a period."""

    since: datetime
    until: datetime
    alerts: int
    acknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    ack_within_60s: float | None
    arrived: int
    arrive_median_s: float | None
    arrive_p90_s: float | None
    arrive_within_15min: float | None
    arrive_within_30min: float | None
    arrive_within_promise: float | None
    resolved: int
    cancelled: int
    false_alarm_share: float | None
    per_kind_day: list[KindDay]
    devices: int
    devices_offline: int
    devices_low_battery: int
