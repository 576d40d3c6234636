"""A family member's side: their contact row's preferences and their answers to an alert."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

_PREFS = (
    "SELECT c.id AS contact_id, c.resident_id, c.language, to_char(c.quiet_start, 'HH24:MI') AS quiet_start,"
    " to_char(c.quiet_end, 'HH24:MI') AS quiet_end, c.min_severity, c.wants_updates"
    " FROM user_residents u JOIN emergency_contacts c ON c.id = u.contact_id WHERE u.user_id = %s"
)


def preferences(conn: psycopg.Connection[Any], user_id: int) -> list[dict[str, Any]]:
    """List the contact rows a family user is, with their preferences."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_PREFS + " ORDER BY c.resident_id", (user_id,)).fetchall()


def update_preferences(conn: psycopg.Connection[Any], user_id: int, contact_id: int, changes: dict[str, Any]) -> bool:
    """Change a contact row the user is linked to; return whether it was theirs."""
    allowed = {"language", "quiet_start", "quiet_end", "min_severity", "wants_updates"}
    fields = {k: v for k, v in changes.items() if k in allowed}
    if not fields:
        return bool(
            conn.execute(
                "SELECT 1 FROM user_residents WHERE user_id = %s AND contact_id = %s", (user_id, contact_id)
            ).fetchone()
        )
    sets = ", ".join(f"{k} = %({k})s" for k in fields)
    cur = conn.execute(
        f"UPDATE emergency_contacts SET {sets} WHERE id = %(cid)s"
        " AND id IN (SELECT contact_id FROM user_residents WHERE user_id = %(uid)s)",
        {**fields, "cid": contact_id, "uid": user_id},
    )
    return cur.rowcount == 1


def reply(conn: psycopg.Connection[Any], user_id: int, alert_id: int, answer: str) -> bool:
    """Store a signed-in family member's answer on the latest notice they were sent about this alert."""
    row = conn.execute(
        "SELECT d.id, d.contact_id FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id"
        " JOIN user_residents u ON u.contact_id = d.contact_id AND u.user_id = %s"
        " WHERE n.alert_id = %s::text ORDER BY d.id DESC LIMIT 1",
        (user_id, alert_id),
    ).fetchone()
    if row is None:
        return False
    conn.execute(
        "INSERT INTO family_replies (delivery_id, alert_id, contact_id, answer, at) VALUES (%s, %s, %s, %s, now())"
        " ON CONFLICT (delivery_id, answer) DO NOTHING",
        (row[0], str(alert_id), row[1], answer),
    )
    conn.execute("UPDATE notice_deliveries SET answered_at = coalesce(answered_at, now()) WHERE id = %s", (row[0],))
    return True
