"""What the admin pages read: every field of residents, devices, stations, staff and accounts (the inactive
ones too), the choices their forms offer, the audit log with its filters; and the account changes that
belong to the dashboard itself (users, their links, their sessions). Every other change is made by the
package that owns the data (dispatch, notify, ingest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.roles import RoleName

Conn = psycopg.Connection[Any]


def _rows(conn: Conn, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


_RESIDENT_SQL = """
SELECT r.id, r.name, r.active, r.gender, r.phone, r.address, r.street, r.community, r.lat, r.lon, r.area_type,
       r.station_id, st.name AS station_name, d.name AS district, r.assessment_level, r.risk_class,
       r.medical_notes, r.key_holder, r.heart_rate_low, r.heart_rate_high, r.spo2_low, r.id_masked, r.learning_consent,
       coalesce((SELECT array_agg(c.code ORDER BY c.code) FROM resident_categories c WHERE c.resident_id = r.id),
                ARRAY[]::text[]) AS categories
FROM residents r LEFT JOIN stations st ON st.id = r.station_id LEFT JOIN districts d ON d.id = st.district_id
WHERE {where} ORDER BY r.active DESC, r.name, r.id
"""


def set_learning_consent(conn: Conn, resident_id: str, consent: bool) -> None:
    """Store whether the resident consents to their fall alerts' outcomes being kept (0047)."""
    conn.execute("UPDATE residents SET learning_consent = %s WHERE id = %s", (consent, resident_id))


def resident_rows(conn: Conn) -> list[dict[str, Any]]:
    """List every resident, the active first."""
    return _rows(conn, _RESIDENT_SQL.format(where="true"))


def resident(conn: Conn, resident_id: str) -> dict[str, Any] | None:
    """Return one resident with every field, contacts (all, in order), devices and linked family accounts."""
    found = _rows(conn, _RESIDENT_SQL.format(where="r.id = %s"), (resident_id,))
    if not found:
        return None
    row = found[0]
    row["contacts"] = _rows(
        conn,
        "SELECT id, position, name, relation, phone, language, quiet_start, quiet_end, min_severity, wants_updates,"
        " active, coalesce((SELECT json_agg(json_build_object('kind', ch.kind, 'target', ch.target)"
        " ORDER BY ch.position) FROM contact_channels ch WHERE ch.contact_id = c.id), '[]') AS channels"
        " FROM emergency_contacts c WHERE resident_id = %s ORDER BY active DESC, position",
        (resident_id,),
    )
    row["devices"] = [
        r[0] for r in conn.execute("SELECT id FROM devices WHERE resident_id = %s ORDER BY id", (resident_id,))
    ]
    row["family"] = _rows(
        conn,
        "SELECT u.id AS user_id, u.username, u.display_name, l.contact_id FROM user_residents l"
        " JOIN users u ON u.id = l.user_id WHERE l.resident_id = %s AND u.active ORDER BY u.id",
        (resident_id,),
    )
    return row


def unknown_categories(conn: Conn, codes: list[str]) -> list[str]:
    """Return the codes that are not in the categories table."""
    known = {r[0] for r in conn.execute("SELECT code FROM resident_category_codes")}
    return [c for c in codes if c not in known]


def station_exists(conn: Conn, station_id: str, *, active_only: bool = True) -> bool:
    """Tell whether a station exists (and is active)."""
    sql = "SELECT 1 FROM stations WHERE id = %s" + (" AND active" if active_only else "")
    return conn.execute(sql, (station_id,)).fetchone() is not None


def district_exists(conn: Conn, district_id: int) -> bool:
    """Tell whether a district exists."""
    return conn.execute("SELECT 1 FROM districts WHERE id = %s", (district_id,)).fetchone() is not None


def exists(conn: Conn, table: str, object_id: object) -> bool:
    """Tell whether a row of residents, devices, staff, stations or users has this id."""
    assert table in {"residents", "devices", "staff", "stations", "users", "emergency_contacts"}
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = %s", (object_id,)).fetchone() is not None


_DEVICE_SQL = """
SELECT d.id, d.kind, d.resident_id, r.name AS resident_name, d.sensor_kind, d.room, d.parent_id, d.model, d.active,
       dc.device_id IS NOT NULL AS has_credentials, dc.issued_at
FROM devices d LEFT JOIN residents r ON r.id = d.resident_id LEFT JOIN device_credentials dc ON dc.device_id = d.id
WHERE {where} ORDER BY d.active DESC, d.id
"""


def device_rows(conn: Conn) -> list[dict[str, Any]]:
    """List every device."""
    return _rows(conn, _DEVICE_SQL.format(where="true"))


def device(conn: Conn, device_id: str) -> dict[str, Any] | None:
    """Return one device."""
    found = _rows(conn, _DEVICE_SQL.format(where="d.id = %s"), (device_id,))
    return found[0] if found else None


_STATION_SQL = """
SELECT s.id, s.name, s.address, s.lat, s.lon, s.area_type, s.district_id, d.name AS district, s.active,
       (SELECT count(*) FROM staff f WHERE f.station_id = s.id AND f.active) AS staff
FROM stations s LEFT JOIN districts d ON d.id = s.district_id WHERE {where} ORDER BY s.active DESC, s.name
"""


def station_rows(conn: Conn) -> list[dict[str, Any]]:
    """List every station."""
    return _rows(conn, _STATION_SQL.format(where="true"))


def station(conn: Conn, station_id: str) -> dict[str, Any] | None:
    """Return one station."""
    found = _rows(conn, _STATION_SQL.format(where="s.id = %s"), (station_id,))
    return found[0] if found else None


_STAFF_SQL = """
SELECT f.id, f.name, f.role, f.station_id, s.name AS station_name, f.phone, f.notify_url, f.status, f.active,
       f.active AND EXISTS (SELECT 1 FROM shifts h WHERE h.staff_id = f.id AND h.starts_at <= now()
                            AND h.ends_at > now()) AS on_shift,
       coalesce((SELECT json_agg(json_build_object('weekday', p.weekday, 'starts', p.starts, 'ends', p.ends)
                 ORDER BY p.weekday, p.starts) FROM staff_shift_patterns p WHERE p.staff_id = f.id), '[]') AS week
FROM staff f JOIN stations s ON s.id = f.station_id WHERE {where} ORDER BY f.active DESC, f.name
"""


def staff_rows(conn: Conn) -> list[dict[str, Any]]:
    """List every staff member with their week."""
    return _rows(conn, _STAFF_SQL.format(where="true"))


def staff(conn: Conn, staff_id: str) -> dict[str, Any] | None:
    """Return one staff member with their week."""
    found = _rows(conn, _STAFF_SQL.format(where="f.id = %s"), (staff_id,))
    return found[0] if found else None


_ACCOUNT_SQL = """
SELECT u.id, u.username, u.display_name, u.role, u.staff_id, u.district_id, u.locale, u.active, u.created_at,
       coalesce((SELECT json_agg(json_build_object('resident_id', l.resident_id, 'contact_id', l.contact_id)
                 ORDER BY l.resident_id) FROM user_residents l WHERE l.user_id = u.id), '[]') AS links
FROM users u WHERE {where} ORDER BY u.active DESC, u.username
"""


def account_rows(conn: Conn) -> list[dict[str, Any]]:
    """List every account."""
    return _rows(conn, _ACCOUNT_SQL.format(where="true"))


def account(conn: Conn, user_id: int) -> dict[str, Any] | None:
    """Return one account."""
    found = _rows(conn, _ACCOUNT_SQL.format(where="u.id = %s"), (user_id,))
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class AccountChange:
    """What an admin changes on an account."""

    display_name: str
    role: RoleName
    staff_id: str | None
    district_id: int | None
    locale: str
    links: tuple[tuple[str, int | None], ...]  # (resident id, contact id)
    password_hash: str | None = None  # a reset


def update_account(conn: Conn, user_id: int, change: AccountChange) -> None:
    """Change an account and its resident links; a password reset ends its sessions."""
    c = change
    conn.execute(
        "UPDATE users SET display_name = %s, role = %s, staff_id = %s, district_id = %s, locale = %s,"
        " password_hash = coalesce(%s, password_hash) WHERE id = %s",
        (c.display_name, c.role.value, c.staff_id, c.district_id, c.locale, c.password_hash, user_id),
    )
    set_links(conn, user_id, c.links)
    if c.password_hash is not None:
        end_sessions(conn, user_id)


def set_links(conn: Conn, user_id: int, links: tuple[tuple[str, int | None], ...]) -> None:
    """Replace an account's links to residents."""
    conn.execute("DELETE FROM user_residents WHERE user_id = %s", (user_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO user_residents (user_id, resident_id, contact_id) VALUES (%s, %s, %s)",
            [(user_id, rid, cid) for rid, cid in links],
        )


def set_district(conn: Conn, user_id: int, district_id: int | None) -> None:
    """Bind a desk account to a district (None: the whole city)."""
    conn.execute("UPDATE users SET district_id = %s WHERE id = %s", (district_id, user_id))


def set_account_active(conn: Conn, user_id: int, active: bool) -> None:
    """Deactivate an account (its sessions end) or bring it back."""
    conn.execute("UPDATE users SET active = %s WHERE id = %s", (active, user_id))
    if not active:
        end_sessions(conn, user_id)


def end_sessions(conn: Conn, user_id: int) -> None:
    """Revoke every live session of an account."""
    conn.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,))


def contact_of(conn: Conn, contact_id: int) -> tuple[str, bool] | None:
    """Return the resident a contact belongs to and whether the contact is active."""
    row = conn.execute("SELECT resident_id, active FROM emergency_contacts WHERE id = %s", (contact_id,)).fetchone()
    return (str(row[0]), bool(row[1])) if row else None


def categories(conn: Conn) -> list[dict[str, str]]:
    """Return the categories table."""
    return _rows(conn, "SELECT code, name_zh, name_en FROM resident_category_codes ORDER BY code")


def districts(conn: Conn) -> list[dict[str, Any]]:
    """Return every district."""
    return _rows(conn, "SELECT id, name FROM districts ORDER BY name")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit rows to show: who, what, when, which resident."""

    username: str | None = None
    action: str | None = None
    object_type: str | None = None
    resident_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


def audit_rows(conn: Conn, f: AuditFilter) -> list[dict[str, Any]]:
    """Return the audit rows that pass the filter, newest first."""
    return _rows(
        conn,
        "SELECT id, at, username, role, action, object_type, object_id, ip, detail,"
        " CASE WHEN object_type = 'resident' THEN object_id ELSE detail->>'resident_id' END AS resident_id"
        " FROM audit_log WHERE (%(u)s::text IS NULL OR username = %(u)s)"
        " AND (%(a)s::text IS NULL OR action = %(a)s) AND (%(o)s::text IS NULL OR object_type = %(o)s)"
        " AND (%(r)s::text IS NULL OR (object_type = 'resident' AND object_id = %(r)s)"
        " OR detail->>'resident_id' = %(r)s) AND (%(s)s::timestamptz IS NULL OR at >= %(s)s)"
        " AND (%(e)s::timestamptz IS NULL OR at < %(e)s) ORDER BY at DESC, id DESC LIMIT %(n)s",
        {
            "u": f.username,
            "a": f.action,
            "o": f.object_type,
            "r": f.resident_id,
            "s": f.since,
            "e": f.until,
            "n": f.limit,
        },
    )
