"""The monthly report for the civil-affairs bureau: one month, the whole platform or one district.

Response figures come from `dashboard.store.figures` (every alert judged, failures kept in the
denominator); this module adds what the bureau counts besides: alerts by kind and outcome, welfare visits
due and done, device outages, and the residents served by category and risk class — per station and per
district. Numbers only; the workbook (`dashboard.reports`) and the printable page put the words on them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from dashboard.store.figures import response_figures

# A resident's station and district: the view ``resident_districts`` (migration 0045) holds the one definition.
_RESIDENT_STATION = """
WITH scoped AS (
    SELECT r.*, home.station_name, home.district
    FROM residents r JOIN resident_districts home ON home.resident_id = r.id
    WHERE (%(district)s::text IS NULL OR home.district = %(district)s::text)
      AND r.id NOT LIKE 'drill-%%'  -- drills (anxin drill) are rehearsals, not the service the bureau counts
)
"""

_KINDS = (
    _RESIDENT_STATION
    + """
SELECT a.kind, coalesce(a.outcome, a.state) AS outcome, s.district, s.station_name AS station, count(*) AS alerts
FROM alerts a JOIN scoped s ON s.id = a.resident_id
WHERE a.raised_at >= %(since)s AND a.raised_at < %(until)s
GROUP BY 1, 2, 3, 4 ORDER BY 3, 4, 1, 2
"""
)

_VISITS = (
    _RESIDENT_STATION
    + """
SELECT s.district, s.station_name AS station,
    count(*) AS due,
    count(*) FILTER (WHERE v.status = 'done') AS done,
    count(*) FILTER (WHERE v.status = 'planned' AND v.due_at < %(until)s) AS overdue,
    count(*) FILTER (WHERE v.reason = 'trend') AS trend
FROM visits v JOIN scoped s ON s.id = v.resident_id
WHERE v.due_at >= %(since)s AND v.due_at < %(until)s
GROUP BY 1, 2 ORDER BY 1, 2
"""
)

_OUTAGES = (
    _RESIDENT_STATION
    + """
SELECT s.district, s.station_name AS station, count(*) AS outages,
    count(DISTINCT a.device_id) AS devices,
    coalesce(sum(extract(epoch FROM coalesce(a.closed_at, %(until)s) - a.raised_at)) / 3600, 0)::float8 AS hours
FROM alerts a JOIN scoped s ON s.id = a.resident_id
WHERE a.kind = 'device_offline' AND a.raised_at >= %(since)s AND a.raised_at < %(until)s
GROUP BY 1, 2 ORDER BY 1, 2
"""
)

_RESIDENTS = (
    _RESIDENT_STATION
    + """
SELECT s.district, s.station_name AS station, s.risk_class, c.code AS category, count(DISTINCT s.id) AS residents
FROM scoped s LEFT JOIN resident_categories c ON c.resident_id = s.id
GROUP BY GROUPING SETS ((1, 2, 3), (1, 2, 4)) ORDER BY 1, 2, 3, 4
"""
)


def month_bounds(month: date, zone: str) -> tuple[datetime, datetime]:
    """Return the start and end (UTC) of a local calendar month."""
    tz = ZoneInfo(zone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    following = (start + timedelta(days=32)).replace(day=1)
    return start.astimezone(UTC), following.astimezone(UTC)


def monthly_report(
    conn: psycopg.Connection[Any], month: date, zone: str, district: str | None = None
) -> dict[str, Any]:
    """Count everything the bureau's monthly report shows, for one month (and one district, if named)."""
    since, until = month_bounds(month, zone)
    params = {"since": since, "until": until, "district": district}
    with conn.cursor(row_factory=dict_row) as cur:
        kinds = cur.execute(_KINDS, params).fetchall()
        visits = cur.execute(_VISITS, params).fetchall()
        outages = cur.execute(_OUTAGES, params).fetchall()
        residents = cur.execute(_RESIDENTS, params).fetchall()
    figures = response_figures(conn, since, until, zone, district)
    return {
        "month": f"{month:%Y-%m}",
        "district": district,
        "since": since,
        "until": until,
        "response": {k: figures[k] for k in ("overall", "per_severity", "per_station", "per_district", "per_area")},
        "alerts_by_kind": kinds,
        "visits": visits,
        "device_outages": outages,
        "residents_by_risk": [r for r in residents if r["category"] is None and r["risk_class"] is not None],
        "residents_by_category": [r for r in residents if r["category"] is not None],
    }
