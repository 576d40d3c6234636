"""Service stations and their staff."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.store.districts import stations_of


def stations(conn: psycopg.Connection[Any], district_id: int | None = None) -> list[dict[str, Any]]:
    """List stations (of one district, if given) with how many staff are available."""
    where = "" if district_id is None else " WHERE s.district_id = %(district)s"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT s.id, s.name, s.address, s.lat, s.lon, s.area_type,"
            " count(f.id) AS staff_total, count(f.id) FILTER (WHERE f.status = 'available') AS staff_available"
            f" FROM stations s LEFT JOIN staff f ON f.station_id = s.id{where} GROUP BY s.id ORDER BY s.id",
            {"district": district_id},
        ).fetchall()


def station(conn: psycopg.Connection[Any], station_id: str) -> dict[str, Any] | None:
    """Return one station."""
    return next((s for s in stations(conn) if s["id"] == station_id), None)


_STAFF = (
    "SELECT f.id, f.name, f.role, f.station_id, f.status, f.phone, f.last_lat, f.last_lon, f.last_seen_at,"
    " EXISTS (SELECT 1 FROM shifts h WHERE h.staff_id = f.id AND now() >= h.starts_at AND now() < h.ends_at)"
    "   AS on_shift FROM staff f"
)


def staff(
    conn: psycopg.Connection[Any], only: str | None = None, district_id: int | None = None
) -> list[dict[str, Any]]:
    """List staff (or one member; of one district, if given) with whether they are on shift now."""
    clauses = [
        text
        for test, text in (
            (only is not None, "f.id = %(only)s"),
            (district_id is not None, f"f.station_id IN {stations_of('%(district)s')}"),
        )
        if test
    ]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _STAFF + where + " ORDER BY f.station_id, f.id", {"only": only, "district": district_id}
        ).fetchall()
