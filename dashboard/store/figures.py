"""Response-time and workload figures for supervisors, computed in SQL over a period."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.store.devices import list_devices

_RESPONSE = (
    "SELECT count(*) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - raised_at)) AS ack_median_s,"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM acknowledged_at - raised_at)) AS ack_p90_s,"
    " avg((acknowledged_at - raised_at <= interval '60 seconds')::int)"
    "   FILTER (WHERE acknowledged_at IS NOT NULL) AS ack_within_60s,"
    " count(*) FILTER (WHERE on_site_at IS NOT NULL) AS arrived,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM on_site_at - raised_at)) AS arrive_median_s,"
    " percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM on_site_at - raised_at)) AS arrive_p90_s,"
    " avg((on_site_at - raised_at <= interval '15 minutes')::int) FILTER (WHERE on_site_at IS NOT NULL)"
    "   AS arrive_within_15min,"
    " avg((on_site_at - raised_at <= interval '30 minutes')::int) FILTER (WHERE on_site_at IS NOT NULL)"
    "   AS arrive_within_30min,"
    " avg((on_site_at - raised_at <= make_interval(mins => promise_minutes))::int)"
    "   FILTER (WHERE on_site_at IS NOT NULL) AS arrive_within_promise,"
    " count(*) AS alerts, count(*) FILTER (WHERE state = 'resolved') AS resolved,"
    " count(*) FILTER (WHERE state = 'cancelled') AS cancelled,"
    " avg((outcome = 'false_alarm')::int) FILTER (WHERE state = 'resolved') AS false_alarm_share"
    " FROM alerts WHERE raised_at >= %(since)s AND raised_at < %(until)s"
)

_PER_DAY = (
    "SELECT (raised_at AT TIME ZONE %(zone)s)::date AS day, kind, count(*) AS alerts FROM alerts"
    " WHERE raised_at >= %(since)s AND raised_at < %(until)s GROUP BY 1, 2 ORDER BY 1, 2"
)


def response_figures(conn: psycopg.Connection[Any], since: datetime, until: datetime) -> dict[str, Any]:
    """Compute time to acknowledge, time to arrive and outcome shares over a period."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_RESPONSE, {"since": since, "until": until}).fetchone()
    assert row is not None
    return {k: float(v) if v is not None and not isinstance(v, int) else v for k, v in row.items()}


def alerts_per_day(conn: psycopg.Connection[Any], since: datetime, until: datetime, zone: str) -> list[dict[str, Any]]:
    """Count alerts per kind per local day."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_PER_DAY, {"since": since, "until": until, "zone": zone}).fetchall()


def device_health(conn: psycopg.Connection[Any], offline_after: timedelta, low_pct: int) -> dict[str, int]:
    """Count devices, offline devices and devices with a low battery."""
    devices = list_devices(conn, None, offline_after, low_pct, limit=1_000_000)
    return {
        "devices": len(devices),
        "offline": sum(1 for d in devices if d["offline"]),
        "low_battery": sum(1 for d in devices if d["low_battery"]),
    }
