"""Devices with their latest status and battery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

_DEVICES = (
    "SELECT d.id, d.resident_id, d.kind, d.sensor_kind, d.room, s.state AS status, s.ts AS status_at,"
    " coalesce(t.battery, s.battery) AS battery, t.worn, t.ts AS telemetry_at,"
    " greatest(s.ts, t.ts) AS last_seen_at,"
    " (coalesce(s.state, 'offline') = 'offline' OR greatest(s.ts, t.ts) < now() - %(offline)s) AS offline,"
    " coalesce(coalesce(t.battery, s.battery) < %(low)s, false) AS low_battery"
    " FROM devices d"
    " LEFT JOIN LATERAL (SELECT state, ts, battery FROM device_status WHERE device_id = d.id"
    "   ORDER BY ts DESC, seq DESC LIMIT 1) s ON true"
    " LEFT JOIN LATERAL (SELECT battery, worn, ts FROM telemetry WHERE device_id = d.id"
    "   ORDER BY ts DESC, seq DESC LIMIT 1) t ON true"
)


def list_devices(
    conn: psycopg.Connection[Any],
    resident_ids: frozenset[str] | None,
    offline_after: timedelta,
    low_pct: int,
    *,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """List devices (all, or of the given residents) with latest status and battery."""
    where = "" if resident_ids is None else " WHERE d.resident_id = ANY(%(only)s)"
    params = {
        "offline": offline_after,
        "low": low_pct,
        "only": list(resident_ids or ()),
        "limit": limit,
        "offset": offset,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_DEVICES + where + " ORDER BY d.id LIMIT %(limit)s OFFSET %(offset)s", params).fetchall()


def device(
    conn: psycopg.Connection[Any], device_id: str, offline_after: timedelta, low_pct: int
) -> dict[str, Any] | None:
    """Return one device with latest status and battery."""
    params = {"offline": offline_after, "low": low_pct, "id": device_id}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_DEVICES + " WHERE d.id = %(id)s", params).fetchone()
