"""Users, their links to residents, sessions and login attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from dashboard.roles import RoleName
from dashboard.throttle import Failures


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person and what they are linked to."""

    id: int
    username: str
    display_name: str
    role: RoleName
    staff_id: str | None
    locale: str
    resident_ids: frozenset[str]
    district_id: int | None = None  # the district a desk user belongs to (dashboard.access.district_of)
    district: str | None = None  # its name


def create_user(
    conn: psycopg.Connection[Any],
    username: str,
    display_name: str,
    password_hash: str,
    role: RoleName,
    *,
    staff_id: str | None = None,
    resident_ids: tuple[str, ...] = (),
    contact_id: int | None = None,
    locale: str = "zh-CN",
    district_id: int | None = None,
) -> int:
    """Insert a user with its resident links (and its district); return its id."""
    row = conn.execute(
        "INSERT INTO users (username, display_name, password_hash, role, staff_id, locale, district_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (username, display_name, password_hash, role.value, staff_id, locale, district_id),
    ).fetchone()
    assert row is not None
    for resident_id in resident_ids:
        conn.execute(
            "INSERT INTO user_residents (user_id, resident_id, contact_id) VALUES (%s, %s, %s)",
            (row[0], resident_id, contact_id),
        )
    return int(row[0])


def _user(conn: psycopg.Connection[Any], row: dict[str, Any]) -> User:
    """Build a `User` from its row and its links."""
    links = conn.execute("SELECT resident_id FROM user_residents WHERE user_id = %s", (row["id"],)).fetchall()
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=RoleName(row["role"]),
        staff_id=row["staff_id"],
        locale=row["locale"],
        resident_ids=frozenset(r[0] for r in links),
        district_id=row["district_id"],
        district=row["district"],
    )


def password_hash_of(conn: psycopg.Connection[Any], username: str) -> tuple[int, str] | None:
    """Return the id and password hash of an active user."""
    row = conn.execute("SELECT id, password_hash FROM users WHERE username = %s AND active", (username,)).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def user_by_id(conn: psycopg.Connection[Any], user_id: int) -> User | None:
    """Load an active user."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT u.*, d.name AS district FROM users u LEFT JOIN districts d ON d.id = u.district_id"
            " WHERE u.id = %s AND u.active",
            (user_id,),
        ).fetchone()
    return _user(conn, row) if row else None


def open_session(
    conn: psycopg.Connection[Any],
    token_hash: bytes,
    user_id: int,
    ttl: timedelta,
    *,
    ip: str | None,
    agent: str | None,
) -> datetime:
    """Store a new session; return when it expires."""
    row = conn.execute(
        "INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent)"
        " VALUES (%s, %s, now() + %s, %s, %s) RETURNING expires_at",
        (token_hash, user_id, ttl, ip, (agent or "")[:300]),
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def set_locale(conn: psycopg.Connection[Any], user_id: int, locale: str) -> None:
    """Remember the language a user chose."""
    conn.execute("UPDATE users SET locale = %s WHERE id = %s", (locale, user_id))


def session_user(conn: psycopg.Connection[Any], token_hash: bytes) -> User | None:
    """Return the user of a live session."""
    row = conn.execute(
        "SELECT user_id FROM sessions WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > now()",
        (token_hash,),
    ).fetchone()
    return user_by_id(conn, int(row[0])) if row else None


def close_session(conn: psycopg.Connection[Any], token_hash: bytes) -> None:
    """Revoke a session."""
    conn.execute("UPDATE sessions SET revoked_at = now() WHERE token_hash = %s", (token_hash,))


def record_attempt(conn: psycopg.Connection[Any], username: str, ip: str | None, success: bool) -> None:
    """Remember one sign-in attempt, at the moment it was decided (not when its transaction began)."""
    conn.execute(
        "INSERT INTO login_attempts (at, username, ip, success) VALUES (clock_timestamp(), %s, %s, %s)",
        (username, ip, success),
    )


def hold_sign_in(conn: psycopg.Connection[Any], username: str, ip: str | None) -> None:
    """Take this account's and this address's sign-in turn until the transaction ends, so guesses queue."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('login-user:' || %s, 0))", (username,))
    if ip is not None:  # always after the account's: one order, no deadlock
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('login-ip:' || %s, 0))", (ip,))


def sign_in_failures(
    conn: psycopg.Connection[Any], username: str, ip: str | None, window: timedelta
) -> tuple[Failures, Failures, datetime]:
    """Return the failures that count for this account (since its last success) and this address, and now."""
    row = conn.execute(
        "WITH won AS (SELECT max(at) AS at FROM login_attempts WHERE username = %(u)s AND success)"
        " SELECT clock_timestamp(),"
        " count(*) FILTER (WHERE username = %(u)s AND a.at > coalesce(won.at, '-infinity')),"
        " max(a.at) FILTER (WHERE username = %(u)s AND a.at > coalesce(won.at, '-infinity')),"
        " count(*) FILTER (WHERE ip = %(ip)s), max(a.at) FILTER (WHERE ip = %(ip)s)"
        " FROM won LEFT JOIN login_attempts a"
        " ON NOT a.success AND a.at > clock_timestamp() - %(w)s AND (a.username = %(u)s OR a.ip = %(ip)s)"
        " GROUP BY won.at",
        {"u": username, "ip": ip, "w": window},
    ).fetchone()
    assert row is not None
    return Failures(int(row[1]), row[2]), Failures(int(row[3]), row[4]), row[0]
