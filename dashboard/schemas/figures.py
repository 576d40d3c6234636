"""Supervisor figures: how alerts were answered and reached, per group and per day, with every failure counted.

The judgement rules (what counts as needing an answer or an arrival) are in `dashboard.store.figures`.
A share is None when its denominator is zero; a percentile is None when there is nothing to measure or
when it falls on a failure (an alert never answered or never reached), which the page tells apart by the
denominator.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class KindDay(BaseModel):
    """Alerts of one kind on one local day."""

    day: date
    kind: str
    alerts: int


class ResponseGroup(BaseModel):
    """How the alerts of one group were answered and reached; failures stay in the denominators."""

    key: str | None  # the severity (1–4), the station id, the area type or the local day; None: unknown
    name: str | None = None  # the station's name
    station_area_type: str | None = None  # the station's area type (its promise)
    alerts: int
    promise_minutes: list[int]  # the promises of the group's alerts (15 city, 30 countryside)
    answer_needed: int
    answered_in_time: int
    answered_late: int
    never_answered: int
    answer_pending: int
    answer_share: float | None
    answer_median_s: float | None
    answer_p90_s: float | None
    arrival_needed: int
    arrived_in_time: int
    arrived_late: int
    never_arrived: int
    never_dispatched: int
    arrival_pending: int
    arrival_share: float | None
    arrival_median_s: float | None
    arrival_p90_s: float | None
    resolved: int
    cancelled: int
    false_alarms: int


class Figures(BaseModel):
    """Response figures overall, per severity, per station, per area and per day, and device health."""

    since: datetime
    until: datetime
    district: str | None = None  # the district the figures are narrowed to; None: the whole city
    answer_within_s: int
    overall: ResponseGroup
    per_severity: list[ResponseGroup]
    per_station: list[ResponseGroup]
    per_district: list[ResponseGroup] = []
    per_area: list[ResponseGroup]
    trend: list[ResponseGroup]  # one per local day of the period, keyed by the ISO date
    per_kind_day: list[KindDay]
    devices: int
    devices_offline: int
    devices_low_battery: int
