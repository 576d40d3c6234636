"""Write the device registry: residents and the devices that belong to them."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from gateway.registry import Device, DeviceKind


def upsert_residents(conn: psycopg.Connection, residents: Iterable[tuple[str, str]]) -> None:
    """Create or rename residents given as (id, name)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO residents (id, name) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
            list(residents),
        )


def upsert_devices(conn: psycopg.Connection, devices: Iterable[Device]) -> None:
    """Create or update devices; hubs are written before the sensors that report through them.

    A device given without a model keeps the model recorded for it (binding a bracelet to another
    resident does not forget what it is).
    """
    ordered = sorted(devices, key=lambda d: d.parent_id is not None)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO devices (id, kind, resident_id, sensor_kind, room, parent_id, model)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, resident_id = EXCLUDED.resident_id,"
            " sensor_kind = EXCLUDED.sensor_kind, room = EXCLUDED.room, parent_id = EXCLUDED.parent_id,"
            " model = COALESCE(EXCLUDED.model, devices.model)",
            [(d.id, d.kind.value, d.resident_id, d.sensor_kind, d.room, d.parent_id, d.model) for d in ordered],
        )


def load_devices(conn: psycopg.Connection) -> list[Device]:
    """Read every registered device."""
    rows = conn.execute("SELECT id, kind, resident_id, sensor_kind, room, parent_id, model FROM devices").fetchall()
    return [Device(r[0], DeviceKind(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]


def set_device_active(conn: psycopg.Connection, device_id: str, active: bool) -> bool:
    """Deactivate a device (its readings stay) or bring it back; tell whether it exists."""
    return conn.execute("UPDATE devices SET active = %s WHERE id = %s", (active, device_id)).rowcount > 0
