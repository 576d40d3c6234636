"""Read and write the devices' broker credential hashes (table ``device_credentials``, migration 0004)."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg

from gateway.registry import Device
from ingest.devices import load_devices


def load_credential_hashes(conn: psycopg.Connection) -> dict[str, str]:
    """Return device id → ``$7$`` hash for every device that has broker credentials."""
    rows = conn.execute("SELECT device_id, password_hash FROM device_credentials").fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def store_credential_hashes(conn: psycopg.Connection, hashes: Mapping[str, str]) -> int:
    """Make the table hold exactly ``hashes``: insert new ones, replace rotated ones, drop the rest."""
    current = load_credential_hashes(conn)
    changed = [(d, h) for d, h in hashes.items() if current.get(d) != h]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO device_credentials (device_id, password_hash) VALUES (%s, %s) ON CONFLICT (device_id)"
            " DO UPDATE SET password_hash = EXCLUDED.password_hash, issued_at = now()",
            changed,
        )
        cur.execute("DELETE FROM device_credentials WHERE NOT (device_id = ANY(%s))", (list(hashes),))
    return len(changed)


def load_connecting_devices(conn: psycopg.Connection) -> list[Device]:
    """Return the registered devices that sign in to the broker themselves (not relayed by a hub)."""
    return [d for d in load_devices(conn) if d.parent_id is None]


def store_credential_hash(conn: psycopg.Connection, device_id: str, password_hash: str) -> None:
    """Keep one device's new hash (a registration or a rotation)."""
    conn.execute(
        "INSERT INTO device_credentials (device_id, password_hash) VALUES (%s, %s) ON CONFLICT (device_id)"
        " DO UPDATE SET password_hash = EXCLUDED.password_hash, issued_at = now()",
        (device_id, password_hash),
    )


def revoke_credential(conn: psycopg.Connection, device_id: str) -> None:
    """Drop a device's hash: the broker refuses it from its next reload."""
    conn.execute("DELETE FROM device_credentials WHERE device_id = %s", (device_id,))
