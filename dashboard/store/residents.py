"""Residents: list, profile with categories and contacts, vitals and activity over the last day."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.store.districts import residents_of

_PROFILE = (
    "SELECT r.id, r.name, r.address, r.lat, r.lon, r.area_type, r.assessment_level, r.risk_class,"
    " r.medical_notes, r.key_holder, r.timezone,"
    " coalesce(array_agg(c.code ORDER BY c.code) FILTER (WHERE c.code IS NOT NULL), '{}') AS categories"
    " FROM residents r LEFT JOIN resident_categories c ON c.resident_id = r.id"
)


def list_residents(
    conn: psycopg.Connection[Any], only: frozenset[str] | None, limit: int, offset: int, district_id: int | None = None
) -> list[dict[str, Any]]:
    """List residents (all, or only the given ids; of one district, if given) with their profile."""
    chosen = [
        (text, value)
        for test, text, value in (
            (only is not None, "r.id = ANY(%s)", list(only or ())),
            (district_id is not None, f"r.id IN {residents_of('%s')}", district_id),
        )
        if test
    ]
    where = (" WHERE " + " AND ".join(text for text, _ in chosen)) if chosen else ""
    params = [value for _, value in chosen]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _PROFILE + where + " GROUP BY r.id ORDER BY r.id LIMIT %s OFFSET %s", [*params, limit, offset]
        ).fetchall()


def resident(conn: psycopg.Connection[Any], resident_id: str) -> dict[str, Any] | None:
    """Return one resident's profile."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_PROFILE + " WHERE r.id = %s GROUP BY r.id", (resident_id,)).fetchone()


def contacts(conn: psycopg.Connection[Any], resident_id: str) -> list[dict[str, Any]]:
    """List a resident's emergency contacts in calling order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, position, relation, name, phone, language FROM emergency_contacts"
            " WHERE resident_id = %s ORDER BY position",
            (resident_id,),
        ).fetchall()


def today(conn: psycopg.Connection[Any], resident_id: str, zone: str) -> dict[str, Any]:
    """Summarise the resident's day so far: steps, heart rate, last activity, open alerts and today's alerts.

    ``seen_today``: a home sensor saw the resident move since local midnight, or the bracelet counted steps;
    a day with no alert is "all is well" only then (a platform just started has seen nothing yet).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "WITH day AS (SELECT date_trunc('day', now() AT TIME ZONE %(z)s) AT TIME ZONE %(z)s AS start)"
            " SELECT (SELECT max(steps) FROM telemetry, day WHERE resident_id = %(r)s AND ts >= day.start) AS steps,"
            " (SELECT avg(heart_rate)::real FROM telemetry, day WHERE resident_id = %(r)s AND ts >= day.start"
            "   AND worn) AS heart_rate_avg,"
            " (SELECT max(ts) FROM events WHERE resident_id = %(r)s"
            "   AND kind IN ('motion', 'door', 'bed', 'bathroom')) AS last_activity_at,"
            " EXISTS (SELECT 1 FROM events, day WHERE resident_id = %(r)s AND ts >= day.start"
            "   AND kind IN ('motion', 'door', 'bed', 'bathroom')) AS moved_today,"
            " (SELECT count(*) FROM alerts WHERE resident_id = %(r)s"
            "   AND state NOT IN ('resolved', 'cancelled')) AS open_alerts,"
            " (SELECT count(*) FROM alerts, day WHERE resident_id = %(r)s AND raised_at >= day.start) AS alerts_today",
            {"z": zone, "r": resident_id},
        ).fetchone()
    assert row is not None
    moved = bool(row.pop("moved_today"))
    return row | {"seen_today": moved or bool(row["steps"])}
