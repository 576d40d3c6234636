"""A family member's side: their contact rows and channels, their messages, their answers, and the case as
they read it (a plain story of who did what and when, built from the records, never the desk's trail)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from notify.contacts import Channel, replace_channels

_PREFS = (
    "SELECT c.id AS contact_id, c.resident_id, r.name AS resident_name, c.name, c.language,"
    " to_char(c.quiet_start, 'HH24:MI') AS quiet_start, to_char(c.quiet_end, 'HH24:MI') AS quiet_end,"
    " c.min_severity, c.wants_updates,"
    " coalesce((SELECT jsonb_agg(jsonb_build_object('kind', ch.kind, 'target', ch.target) ORDER BY ch.position)"
    "   FROM contact_channels ch WHERE ch.contact_id = c.id), '[]') AS channels"
    " FROM user_residents u JOIN emergency_contacts c ON c.id = u.contact_id"
    " LEFT JOIN residents r ON r.id = c.resident_id WHERE u.user_id = %s"
)
_FIELDS: Final = frozenset({"language", "quiet_start", "quiet_end", "min_severity", "wants_updates"})


def preferences(conn: psycopg.Connection[Any], user_id: int) -> list[dict[str, Any]]:
    """List the contact rows a family user is, with their preferences and channels in order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_PREFS + " ORDER BY c.resident_id", (user_id,)).fetchall()


def owns_contact(conn: psycopg.Connection[Any], user_id: int, contact_id: int) -> bool:
    """Tell whether a contact row is the user's own."""
    row = conn.execute(
        "SELECT 1 FROM user_residents WHERE user_id = %s AND contact_id = %s", (user_id, contact_id)
    ).fetchone()
    return row is not None


def update_preferences(
    conn: psycopg.Connection[Any],
    user_id: int,
    contact_id: int,
    changes: dict[str, Any],
    channels: Sequence[Channel] | None = None,
) -> bool:
    """Change a contact row the user is linked to (and its channels, when given); return whether it was theirs."""
    if not owns_contact(conn, user_id, contact_id):
        return False
    fields = {k: v for k, v in changes.items() if k in _FIELDS}
    if fields:
        sets = ", ".join(f"{k} = %({k})s" for k in fields)
        conn.execute(f"UPDATE emergency_contacts SET {sets} WHERE id = %(cid)s", {**fields, "cid": contact_id})
    if channels is not None:
        replace_channels(conn, contact_id, tuple(channels))
    return True


# Why a delivery is not (yet) sent, as a code for the page; the stored reasons are the notifier's words.
_REASON = (
    "CASE WHEN d.state = 'failed' AND d.skip_reason = 'no channels' THEN 'no_channels'"
    " WHEN d.state = 'failed' AND d.skip_reason = 'undeliverable' THEN 'undeliverable'"
    " WHEN d.state = 'failed' THEN 'gave_up'"
    " WHEN d.state = 'skipped' AND d.skip_reason LIKE 'quiet hours%%' THEN 'quiet_hours'"
    " WHEN d.state = 'skipped' AND d.skip_reason = 'alert closed' THEN 'alert_closed'"
    " WHEN d.state = 'skipped' THEN 'skipped'"
    " WHEN d.state = 'pending' AND d.attempts > 0 THEN 'retrying' END"
)
_MESSAGES = (
    "SELECT d.id AS delivery_id, n.id AS notice_id, n.alert_id, n.resident_id, n.event, d.state,"
    " coalesce(d.sent_at, d.first_attempt_at, d.due_at, n.created_at) AS at, d.attempts,"
    f" {_REASON} AS reason,"
    " (SELECT a.code FROM delivery_attempts a WHERE a.delivery_id = d.id AND NOT a.ok"
    "   ORDER BY a.at DESC, a.id DESC LIMIT 1) AS error,"
    " (SELECT a.channel_kind FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.ok LIMIT 1) AS channel,"
    " o.title, o.body"
    " FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id"
    " JOIN user_residents u ON u.contact_id = d.contact_id AND u.user_id = %s"
    " LEFT JOIN LATERAL (SELECT title, body FROM outbox_messages o WHERE o.contact_id = d.contact_id"
    "   AND o.notice_id = n.id ORDER BY o.at DESC LIMIT 1) o ON true"
    " WHERE d.state <> 'waiting'"
    " ORDER BY coalesce(d.sent_at, d.first_attempt_at, d.due_at, n.created_at) DESC, d.id DESC LIMIT %s"
)


def messages(conn: psycopg.Connection[Any], user_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """List the notices sent (or not) to the user's own contact rows, newest first, with what their outbox holds."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_MESSAGES, (user_id, limit)).fetchall()


# The case as a family reads it: each source gives (at, code, staff, name, relation, detail) rows.
_STORY = """
SELECT at, code, staff, name, relation, detail FROM (
  SELECT a.raised_at AS at, 'raised' AS code, NULL AS staff, NULL AS name, NULL AS relation,
         jsonb_build_object('kind', a.kind) AS detail
  FROM alerts a WHERE a.id = %(alert)s
  UNION ALL
  SELECT min(t.at), 'centre_handling', NULL, NULL, NULL, '{}'::jsonb
  FROM alert_transitions t WHERE t.alert_id = %(alert)s AND t.to_state = 'acknowledged' HAVING count(*) > 0
  UNION ALL
  SELECT x.accepted_at, 'staff_accepted', s.name, NULL, NULL, jsonb_build_object('eta_min', round(x.eta_min))
  FROM dispatches d JOIN dispatch_assignments x ON x.dispatch_id = d.id LEFT JOIN staff s ON s.id = x.staff_id
  WHERE d.alert_id = %(alert)s::text AND x.accepted_at IS NOT NULL
  UNION ALL
  SELECT x.en_route_at, 'staff_on_the_way', s.name, NULL, NULL, '{}'::jsonb
  FROM dispatches d JOIN dispatch_assignments x ON x.dispatch_id = d.id LEFT JOIN staff s ON s.id = x.staff_id
  WHERE d.alert_id = %(alert)s::text AND x.en_route_at IS NOT NULL
  UNION ALL
  SELECT x.on_site_at, 'staff_on_site', s.name, NULL, NULL, '{}'::jsonb
  FROM dispatches d JOIN dispatch_assignments x ON x.dispatch_id = d.id LEFT JOIN staff s ON s.id = x.staff_id
  WHERE d.alert_id = %(alert)s::text AND x.on_site_at IS NOT NULL
  UNION ALL
  SELECT min(nd.sent_at), 'contact_told', NULL, c.name, c.relation, '{}'::jsonb
  FROM notices n JOIN notice_deliveries nd ON nd.notice_id = n.id JOIN emergency_contacts c ON c.id = nd.contact_id
  WHERE n.alert_id = %(alert)s::text AND n.event = 'alert_raised' AND nd.state = 'sent'
  GROUP BY c.id, c.name, c.relation
  UNION ALL
  SELECT coalesce(nd.first_attempt_at, nd.due_at, n.created_at), 'contact_not_reached', NULL, c.name, c.relation,
         '{}'::jsonb
  FROM notices n JOIN notice_deliveries nd ON nd.notice_id = n.id JOIN emergency_contacts c ON c.id = nd.contact_id
  WHERE n.alert_id = %(alert)s::text AND n.event = 'alert_raised' AND nd.state = 'failed'
  UNION ALL
  SELECT r.at, 'contact_replied', NULL, c.name, c.relation, jsonb_build_object('answer', r.answer)
  FROM family_replies r JOIN emergency_contacts c ON c.id = r.contact_id WHERE r.alert_id = %(alert)s::text
  UNION ALL
  SELECT a.closed_at, CASE a.state WHEN 'resolved' THEN 'resolved' ELSE 'cancelled' END,
         (SELECT s.name FROM dispatches d JOIN dispatch_assignments x ON x.dispatch_id = d.id
          JOIN staff s ON s.id = x.staff_id WHERE d.alert_id = a.id::text AND x.on_site_at IS NOT NULL
          ORDER BY x.on_site_at LIMIT 1), NULL, NULL,
         jsonb_build_object('outcome', a.outcome, 'actor',
           (SELECT t.actor FROM alert_transitions t WHERE t.alert_id = a.id ORDER BY t.at DESC, t.id DESC LIMIT 1))
  FROM alerts a WHERE a.id = %(alert)s AND a.state IN ('resolved', 'cancelled') AND a.closed_at IS NOT NULL
) story WHERE at IS NOT NULL ORDER BY at
"""
_CANCELLED_BY: Final = {"resident": "resident", "system": "system"}  # anyone else cancelled it at the desk


def story(conn: psycopg.Connection[Any], alert_id: int) -> list[dict[str, Any]]:
    """Tell an alert's case as a family reads it: codes with their parameters, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_STORY, {"alert": alert_id}).fetchall()
    entries = []
    for row in rows:
        detail = row["detail"] or {}
        entry: dict[str, Any] = {"code": row["code"], "at": row["at"], "staff": row["staff"]}
        entry |= {"name": row["name"], "relation": row["relation"]}
        entry |= {"kind": detail.get("kind"), "answer": detail.get("answer"), "outcome": detail.get("outcome")}
        entry["eta_min"] = int(detail["eta_min"]) if detail.get("eta_min") is not None else None
        if row["code"] == "cancelled":
            entry["by"] = _CANCELLED_BY.get(str(detail.get("actor") or "").partition(":")[0], "desk")
        entries.append(entry)
    return entries


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
