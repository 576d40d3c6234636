"""Alerts: the filtered queue, one alert, and its case timeline assembled from every table that tells of it.

An alert row carries what the desk needs at a glance: the escalation step and promise breach (the
console re-alarms on an unacknowledged alert whose clock climbed), who holds the case, and its latest
notes (the shift handover view lists them for every open case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from dashboard.store.districts import residents_of
from dispatch.flow import staff_actor
from dispatch.messages import DispatchEvent

# A desk actor (operator:u12, supervisor:u3; dashboard.actions.actor) names users.id 12: its display name.
_ACTOR_USER = "(SELECT display_name FROM users WHERE 'u' || id = split_part({0}, ':', 2) AND {0} LIKE '%%:u%%')"
_LATEST_NOTES = 3  # the handover view shows the latest few notes of every open case
_ALERT = (
    "SELECT a.id, a.incident_id, a.resident_id, r.name AS resident_name, r.phone AS resident_phone, a.kind,"
    " a.severity, a.state, a.outcome, a.raised_at, a.updated_at, a.acknowledged_at, a.dispatched_at,"
    " a.en_route_at, a.on_site_at, a.closed_at, a.explanation, a.explanation_zh, a.device_id, a.promise_minutes,"
    " a.raised_at + make_interval(mins => a.promise_minutes) AS promise_deadline,"
    " a.next_deadline, a.escalation_step, a.promise_breached_at, a.claimed_by, a.claimed_at,"
    f" {_ACTOR_USER.format('a.claimed_by')} AS claimed_by_name,"
    " (SELECT coalesce(jsonb_agg(jsonb_build_object('at', n.at, 'actor', n.actor, 'name', n.name, 'text', n.body)"
    " ORDER BY n.at DESC), '[]') FROM (SELECT at, actor, body,"
    f" {_ACTOR_USER.format('actor')} AS name FROM alert_notes WHERE alert_id = a.id"
    f" ORDER BY at DESC, id DESC LIMIT {_LATEST_NOTES}) n) AS latest_notes,"
    " r.lat, r.lon, r.address, f.at AS event_at,"
    " greatest(extract(epoch FROM a.raised_at - f.at), 0)::float8 AS received_late_s"
    " FROM alerts a LEFT JOIN residents r ON r.id = a.resident_id"
    # the finding that raised it: when it happened by the device clock (a replayed day's fall is hours old)
    " LEFT JOIN LATERAL (SELECT at FROM alert_findings WHERE alert_id = a.id AND NOT cancels"
    "   ORDER BY recorded_at, id LIMIT 1) f ON true"
)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What part of the alert list to return."""

    open_only: bool = False
    state: str | None = None
    kind: str | None = None
    resident_id: str | None = None
    min_severity: int | None = None
    since: datetime | None = None
    residents: frozenset[str] | None = None  # reach: None is everyone
    staff_id: str | None = None  # reach: only alerts dispatched to this staff member
    district_id: int | None = None  # reach: only alerts of this district's residents
    limit: int = 200


def _where(f: AlertFilter) -> tuple[str, dict[str, Any]]:
    """Build the WHERE clause of a filter."""
    clauses = [
        text
        for test, text in (
            (f.open_only, "a.state NOT IN ('resolved', 'cancelled')"),
            (f.state, "a.state = %(state)s"),
            (f.kind, "a.kind = %(kind)s"),
            (f.resident_id, "a.resident_id = %(resident_id)s"),
            (f.min_severity, "a.severity >= %(min_severity)s"),
            (f.since, "a.raised_at >= %(since)s"),
            (f.residents is not None, "a.resident_id = ANY(%(residents)s)"),
            (f.district_id is not None, f"a.resident_id IN {residents_of('%(district)s')}"),
            (
                f.staff_id,
                "a.id::text IN (SELECT d.alert_id FROM dispatches d JOIN dispatch_assignments x"
                " ON x.dispatch_id = d.id WHERE x.staff_id = %(staff_id)s)",
            ),
        )
        if test
    ]
    params = {
        "state": f.state,
        "kind": f.kind,
        "resident_id": f.resident_id,
        "min_severity": f.min_severity,
        "since": f.since,
        "residents": list(f.residents or ()),
        "staff_id": f.staff_id,
        "district": f.district_id,
    }
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_alerts(conn: psycopg.Connection[Any], f: AlertFilter) -> list[dict[str, Any]]:
    """List alerts, open ones most urgent first, then newest first."""
    where, params = _where(f)
    order = " ORDER BY (a.state IN ('resolved', 'cancelled')), a.severity DESC, a.raised_at DESC LIMIT %(limit)s"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_ALERT + where + order, {**params, "limit": f.limit}).fetchall()


def bracelet_of(conn: psycopg.Connection[Any], resident_id: str) -> str | None:
    """Return the resident's active bracelet (the most recently registered, if there are several)."""
    row = conn.execute(
        "SELECT id FROM devices WHERE resident_id = %s AND kind = 'bracelet' AND active"
        " ORDER BY created_at DESC, id LIMIT 1",
        (resident_id,),
    ).fetchone()
    return str(row[0]) if row else None


def alert(conn: psycopg.Connection[Any], alert_id: int) -> dict[str, Any] | None:
    """Return one alert."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_ALERT + " WHERE a.id = %(id)s", {"id": alert_id}).fetchone()


def actor_name(conn: psycopg.Connection[Any], actor: str) -> str | None:
    """Return the display name of a desk actor (``operator:u12``), None for anyone else."""
    row = conn.execute(f"SELECT {_ACTOR_USER.format('%(a)s')}", {"a": actor}).fetchone()
    return str(row[0]) if row and row[0] is not None else None


# Each source of the timeline, as (source, SQL returning at, what, actor, note, detail).
_TIMELINE: tuple[tuple[str, str], ...] = (
    (
        "transition",
        "SELECT at, to_state AS what, actor, note, jsonb_build_object('from', from_state,"
        " 'outcome', outcome) AS detail FROM alert_transitions WHERE alert_id = %(id)s",
    ),
    (
        "finding",
        "SELECT at, kind AS what, coalesce(device_id, 'system') AS actor, explanation AS note,"
        " jsonb_build_object('zh', explanation_zh, 'cancels', cancels) AS detail"
        " FROM alert_findings WHERE alert_id = %(id)s",
    ),
    (
        "escalation",
        "SELECT fired_at AS at, action AS what, 'system' AS actor, step_key AS note,"
        " '{}'::jsonb AS detail FROM escalations WHERE alert_id = %(id)s",
    ),
    (
        "note",
        "SELECT at, 'note' AS what, actor, body AS note,"
        f" jsonb_build_object('name', {_ACTOR_USER.format('actor')}) AS detail"
        " FROM alert_notes WHERE alert_id = %(id)s",
    ),
    (
        "reply",
        "SELECT r.at, r.answer AS what, 'family:' || r.contact_id AS actor, c.name AS note,"
        " jsonb_build_object('relation', c.relation) AS detail FROM family_replies r"
        " LEFT JOIN emergency_contacts c ON c.id = r.contact_id WHERE r.alert_id = %(id)s::text",
    ),
    (
        "notice",
        "SELECT coalesce(d.sent_at, (SELECT max(x.at) FROM delivery_attempts x WHERE x.delivery_id = d.id),"
        " d.due_at, n.created_at) AS at,"
        " n.event AS what, 'system' AS actor, c.name AS note,"
        " jsonb_build_object('state', d.state, 'relation', c.relation) AS detail FROM notices n"
        " JOIN notice_deliveries d ON d.notice_id = n.id LEFT JOIN emergency_contacts c ON c.id = d.contact_id"
        " WHERE n.alert_id = %(id)s::text AND (d.sent_at IS NOT NULL OR d.state = 'failed')",
    ),
    (
        # Whom each escalation step and staff offer reached, on which channel, and whether it went out.
        "delivery",
        "SELECT at, purpose AS what, recipient AS actor, recipient_name AS note,"
        " jsonb_build_object('ok', ok, 'channel', channel, 'step', step_key, 'detail', detail) AS detail"
        " FROM desk_deliveries WHERE alert_id = %(id)s",
    ),
    (
        # What the desk asked the resident's bracelet to do (the audit log is its record).
        "command",
        "SELECT at, replace(action, 'bracelet_', '') AS what, 'operator:u' || user_id AS actor,"
        " detail->>'number' AS note, jsonb_build_object('name', (SELECT display_name FROM users u"
        " WHERE u.id = audit_log.user_id), 'device', detail->>'device') AS detail"
        " FROM audit_log WHERE object_type = 'alert' AND object_id = %(id)s::text AND action LIKE 'bracelet\\_%%'",
    ),
)

# Each stage time of an assignment, as the dispatch event it records (one vocabulary with the live
# DispatchChange messages); ``ended_at`` (0040) records a timeout, an unreachable phone or a withdrawal.
_STAGES: Final[Mapping[str, str | None]] = MappingProxyType(
    {
        "assigned_at": DispatchEvent.OFFERED,
        "accepted_at": DispatchEvent.ACCEPTED,
        "declined_at": DispatchEvent.DECLINED,
        "en_route_at": DispatchEvent.EN_ROUTE,
        "on_site_at": DispatchEvent.ON_SITE,
        "outcome_at": DispatchEvent.DONE,
        "ended_at": None,  # the assignment's state says which end
    }
)

_ENDS: Final = frozenset({"declined_at", "ended_at"})  # the stages that carry the assignment's reason


def _assignment_events(conn: psycopg.Connection[Any], alert_id: int) -> list[dict[str, Any]]:
    """Turn each dispatch assignment's stage times into timeline entries."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT x.*, s.name AS staff_name FROM dispatch_assignments x JOIN dispatches d ON d.id = x.dispatch_id"
            " LEFT JOIN staff s ON s.id = x.staff_id WHERE d.alert_id = %s::text",
            (alert_id,),
        ).fetchall()
    return [
        {
            "source": "dispatch",
            "at": row[column],
            "what": event or row["state"],
            "actor": staff_actor(row["staff_id"]),
            "note": row["staff_name"],
            "detail": {
                "eta_min": row["eta_min"],
                "reason": row["decline_reason"] if column in _ENDS else None,
                "outcome": row["outcome"],
                "dispatch_id": row["dispatch_id"],
                "assignment_id": row["id"],
            },
        }
        for row in rows
        for column, event in _STAGES.items()
        if row.get(column) is not None
    ]


def timeline(conn: psycopg.Connection[Any], alert_id: int) -> list[dict[str, Any]]:
    """Return everything that happened to an alert, oldest first."""
    entries = _assignment_events(conn, alert_id)
    with conn.cursor(row_factory=dict_row) as cur:
        for source, query in _TIMELINE:
            entries += [{"source": source, **row} for row in cur.execute(query, {"id": alert_id}).fetchall()]
    entries.sort(key=lambda e: e["at"])
    return entries
