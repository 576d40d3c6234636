"""Response figures for supervisors, computed in SQL so that an alert nobody answered is never dropped.

Every alert raised in the period is judged twice, once for the desk's answer and once for the arrival of
staff, and each judgement is one of a few codes. The figures are then counted per group from those codes:
overall, per severity, per station, per area (city / countryside: their promise differs) and per local day
(the trend). A failure stays in the denominator; it is never filtered out. Drills (residents ``drill-…``,
`anxin drill`) are rehearsals and are left out.

Answer (did the desk acknowledge within 60 s?):

* ``in_time`` / ``late``: acknowledged within 60 s of the raise, or later.
* ``never``: not acknowledged, and closed after 60 s or still open past 60 s. A failure.
* not judged (NULL): cancelled (by the resident's "I'm OK", the system, or the desk) within 60 s without an
  acknowledgement: the alert ended before anyone had to answer it.
* ``pending``: open, unacknowledged and raised less than 60 s before the end of the period: not decided yet.

Arrival (was someone on site within the resident's promise, 15 min city / 30 min countryside?):

* ``in_time`` / ``late``: on site within ``promise_minutes`` of the raise, or later.
* ``never_arrived``: staff were dispatched and nobody reached the door, however the alert ended (a recall,
  a desk cancel, a resolution before arrival). Once someone is sent, only arrival counts.
* ``never_dispatched``: of severity high or critical, never dispatched, and not ended as nothing to go to
  (cancelled, or resolved as a false alarm): it should have had someone at the door.
* not judged (NULL): never dispatched and of a lower severity, or cancelled / a false alarm before dispatch.
* ``pending``: open and its promise not yet past: not decided yet.

Times to answer and to arrive are percentiles over every judged alert, where a failure counts as +infinity
(``percentile_disc``, so the figure is a real alert's time); a percentile that falls on a failure is
reported as None, which the page shows as "not reached" when its denominator is not zero.

The district of an alert is its resident's (the view ``resident_districts``, migration 0045: their
station's, else the nearest station's); a district named narrows the figures to it. The station of an
alert is that of the staff member dispatched (the one who reached the door, else the latest assigned),
else the resident's own station (the roster's, else the nearest to their home by great-circle distance);
an alert of an unknown resident has none.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from alerts.kinds import Severity
from dashboard.store.devices import list_devices
from dashboard.store.districts import residents

ANSWER_WITHIN: Final = timedelta(seconds=60)
MUST_ARRIVE_FROM: Final = Severity.HIGH  # from this severity up, an alert should have had someone on site

_JUDGED = """
WITH scope AS (
    SELECT a.*, r.area_type,
           (a.raised_at AT TIME ZONE %(zone)s)::date AS day,
           a.state NOT IN ('resolved', 'cancelled') AS open,
           make_interval(mins => a.promise_minutes) AS promise
    FROM alerts a LEFT JOIN residents r ON r.id = a.resident_id
    WHERE a.raised_at >= %(since)s AND a.raised_at < %(until)s
      AND a.resident_id NOT LIKE 'drill-%%'  -- a drill (anxin drill) rehearses the desk; it is not the service
), placed AS (
    SELECT s.*, coalesce(sent.station_id, home.station_id) AS station_id, home.district
    FROM scope s
    LEFT JOIN LATERAL (
        SELECT st.station_id FROM dispatches d
        JOIN dispatch_assignments da ON da.dispatch_id = d.id
        JOIN staff st ON st.id = da.staff_id
        WHERE d.alert_id = s.id::text
        ORDER BY da.on_site_at IS NULL, da.assigned_at DESC LIMIT 1
    ) sent ON true
    LEFT JOIN resident_districts home ON home.resident_id = s.resident_id
), districted AS (
    SELECT p.* FROM placed p WHERE %(district)s::text IS NULL OR p.district = %(district)s::text
), judged AS (
    SELECT p.*,
        CASE
            WHEN acknowledged_at IS NOT NULL THEN
                CASE WHEN acknowledged_at - raised_at <= %(answer_within)s THEN 'in_time' ELSE 'late' END
            WHEN state = 'cancelled' AND closed_at - raised_at <= %(answer_within)s THEN NULL
            WHEN open AND %(until)s - raised_at <= %(answer_within)s THEN 'pending'
            ELSE 'never'
        END AS answer,
        CASE
            WHEN on_site_at IS NOT NULL THEN
                CASE WHEN on_site_at - raised_at <= promise THEN 'in_time' ELSE 'late' END
            WHEN dispatched_at IS NULL
                 AND (severity < %(must_arrive)s OR state = 'cancelled' OR outcome = 'false_alarm') THEN NULL
            WHEN open AND %(until)s < raised_at + promise THEN 'pending'
            WHEN dispatched_at IS NOT NULL THEN 'never_arrived'
            ELSE 'never_dispatched'
        END AS arrival
    FROM districted p
), timed AS (
    SELECT j.*,
        CASE WHEN answer IN ('in_time', 'late') THEN extract(epoch FROM acknowledged_at - raised_at)::float8
             WHEN answer = 'never' THEN 'Infinity'::float8 END AS answer_s,
        CASE WHEN arrival IN ('in_time', 'late') THEN extract(epoch FROM on_site_at - raised_at)::float8
             WHEN arrival IN ('never_arrived', 'never_dispatched') THEN 'Infinity'::float8 END AS arrival_s
    FROM judged j
)
"""

# The groupings, as rows of (grouping, key): one alert counts once in each.
_GROUPED = (
    _JUDGED
    + """
SELECT g.grouping, g.key, count(*) AS alerts,
    array_agg(DISTINCT promise_minutes ORDER BY promise_minutes) AS promise_minutes,
    count(*) FILTER (WHERE answer IN ('in_time', 'late', 'never')) AS answer_needed,
    count(*) FILTER (WHERE answer = 'in_time') AS answered_in_time,
    count(*) FILTER (WHERE answer = 'late') AS answered_late,
    count(*) FILTER (WHERE answer = 'never') AS never_answered,
    count(*) FILTER (WHERE answer = 'pending') AS answer_pending,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY answer_s) AS answer_median_s,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY answer_s) AS answer_p90_s,
    count(*) FILTER (WHERE arrival IN ('in_time', 'late', 'never_arrived', 'never_dispatched')) AS arrival_needed,
    count(*) FILTER (WHERE arrival = 'in_time') AS arrived_in_time,
    count(*) FILTER (WHERE arrival = 'late') AS arrived_late,
    count(*) FILTER (WHERE arrival = 'never_arrived') AS never_arrived,
    count(*) FILTER (WHERE arrival = 'never_dispatched') AS never_dispatched,
    count(*) FILTER (WHERE arrival = 'pending') AS arrival_pending,
    percentile_disc(0.5) WITHIN GROUP (ORDER BY arrival_s) AS arrival_median_s,
    percentile_disc(0.9) WITHIN GROUP (ORDER BY arrival_s) AS arrival_p90_s,
    count(*) FILTER (WHERE state = 'resolved') AS resolved,
    count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE outcome = 'false_alarm') AS false_alarms,
    min(st.name) AS name, min(st.area_type) AS station_area_type
FROM timed
CROSS JOIN LATERAL (VALUES
    ('overall', NULL),
    ('severity', severity::text),
    ('station', station_id),
    ('district', district),
    ('area', area_type),
    ('day', day::text)
) AS g (grouping, key)
LEFT JOIN stations st ON g.grouping = 'station' AND st.id = g.key
GROUP BY g.grouping, g.key
ORDER BY g.grouping, g.key
"""
)

_PER_DAY = (
    "SELECT (raised_at AT TIME ZONE %(zone)s)::date AS day, kind, count(*) AS alerts FROM alerts"
    " WHERE raised_at >= %(since)s AND raised_at < %(until)s AND (%(district)s::text IS NULL OR resident_id IN"
    " (SELECT resident_id FROM resident_districts WHERE district = %(district)s::text)) GROUP BY 1, 2 ORDER BY 1, 2"
)

_EMPTY: Final[dict[str, Any]] = {
    "alerts": 0,
    "promise_minutes": [],
    **dict.fromkeys(("answer_needed", "answered_in_time", "answered_late", "never_answered", "answer_pending"), 0),
    **dict.fromkeys(("arrival_needed", "arrived_in_time", "arrived_late", "never_arrived", "never_dispatched"), 0),
    "arrival_pending": 0,
    **dict.fromkeys(("answer_median_s", "answer_p90_s", "arrival_median_s", "arrival_p90_s"), None),
    **dict.fromkeys(("resolved", "cancelled", "false_alarms"), 0),
    "name": None,
    "station_area_type": None,
}


def _finite(value: float | None) -> float | None:
    """Return a percentile, or None where it fell on a failure (+infinity)."""
    return None if value is None or math.isinf(value) else float(value)


def _shares(row: dict[str, Any]) -> dict[str, Any]:
    """Add the shares (None over an empty denominator) and drop the infinities of one group's row."""
    out = {**row}
    for key in ("answer_median_s", "answer_p90_s", "arrival_median_s", "arrival_p90_s"):
        out[key] = _finite(row[key])
    out["answer_share"] = row["answered_in_time"] / row["answer_needed"] if row["answer_needed"] else None
    out["arrival_share"] = row["arrived_in_time"] / row["arrival_needed"] if row["arrival_needed"] else None
    return out


def _days(since: datetime, until: datetime, zone: str) -> list[date]:
    """Return every local day the period touches."""
    first, last = since.astimezone(ZoneInfo(zone)).date(), until.astimezone(ZoneInfo(zone)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def response_figures(
    conn: psycopg.Connection[Any], since: datetime, until: datetime, zone: str, district: str | None = None
) -> dict[str, Any]:
    """Judge every alert of the period (of one district, if named) and count the figures per grouping."""
    params = {
        "since": since,
        "until": until,
        "zone": zone,
        "district": district,
        "answer_within": ANSWER_WITHIN,
        "must_arrive": int(MUST_ARRIVE_FROM),
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_GROUPED, params).fetchall()
    groups: dict[str, list[dict[str, Any]]] = {
        "overall": [],
        "severity": [],
        "station": [],
        "district": [],
        "area": [],
        "day": [],
    }
    for row in rows:
        groups[row.pop("grouping")].append(_shares(row))
    overall = groups["overall"][0] if groups["overall"] else _shares({"key": None, **_EMPTY})
    by_day = {row["key"]: row for row in groups["day"]}
    trend = [
        _shares({"key": d.isoformat(), **_EMPTY}) | by_day.get(d.isoformat(), {}) for d in _days(since, until, zone)
    ]
    return {
        "overall": overall,
        "per_severity": sorted(groups["severity"], key=lambda r: -int(r["key"])),
        "per_station": groups["station"],
        "per_district": groups["district"],
        "per_area": groups["area"],
        "trend": trend,
    }


def alerts_per_day(
    conn: psycopg.Connection[Any], since: datetime, until: datetime, zone: str, district: str | None = None
) -> list[dict[str, Any]]:
    """Count alerts per kind per local day (of one district's residents, if named)."""
    with conn.cursor(row_factory=dict_row) as cur:
        params = {"since": since, "until": until, "zone": zone, "district": district}
        return cur.execute(_PER_DAY, params).fetchall()


def device_health(
    conn: psycopg.Connection[Any], offline_after: timedelta, low_pct: int, district: str | None = None
) -> dict[str, int]:
    """Count devices, offline devices and devices with a low battery (of one district's residents, if named)."""
    only = None if district is None else residents(conn, district)
    devices = list_devices(conn, only, offline_after, low_pct, limit=1_000_000)
    return {
        "devices": len(devices),
        "offline": sum(1 for d in devices if d["state"] == "offline"),  # behind an offline hub: the hub counts
        "low_battery": sum(1 for d in devices if d["low_battery"]),
    }
