"""Alert storage: plain functions over a `psycopg.Connection`, one statement's worth of meaning each.

The caller owns the transaction (the service opens one per batch of findings, per transition, per run of
the clock); nothing here commits. Tables are created by ``ingest/migrations/0010_alerts.sql`` (the desk's
claim and case notes by ``0041_desk.sql``). Rows come back as frozen `AlertRow` records; the reading
functions at the end serve the dashboard's timeline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.errors import AlertNotFoundError
from alerts.escalation import AlertClock, EscalationAction, EscalationKind
from alerts.findings import Finding
from alerts.kinds import Severity
from alerts.lifecycle import CLOSED_STATES, AlertState, Outcome, Transition

Conn = psycopg.Connection[Any]
_LOCK_CLASS: Final = 0x616C  # "al": advisory locks on residents, apart from the migration lock
_dumps = partial(json.dumps, default=str)  # details may hold datetimes; they are stored as ISO text

# The column stamped with the first time an alert reached a state.
_STAMP: Final[Mapping[AlertState, str]] = {
    AlertState.ACKNOWLEDGED: "acknowledged_at",
    AlertState.DISPATCHED: "dispatched_at",
    AlertState.EN_ROUTE: "en_route_at",
    AlertState.ON_SITE: "on_site_at",
    AlertState.RESOLVED: "closed_at",
    AlertState.CANCELLED: "closed_at",
}
_CLOSED: Final = tuple(s.value for s in CLOSED_STATES)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One row of ``alerts``."""

    id: int
    incident_id: int
    resident_id: str
    kind: str
    severity: Severity
    state: AlertState
    outcome: Outcome | None
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_site_at: datetime | None
    closed_at: datetime | None
    explanation: str
    explanation_zh: str
    details: dict[str, Any]
    device_id: str | None
    finding_count: int
    promise_minutes: int
    next_deadline: datetime | None
    escalation_step: int
    promise_breached_at: datetime | None
    claimed_by: str | None  # the desk's claim (0041): who holds the case, and since when
    claimed_at: datetime | None

    def clock(self) -> AlertClock:
        """Return what the escalation rules need to know about this alert."""
        return AlertClock(
            alert_id=self.id,
            resident_id=self.resident_id,
            kind=self.kind,
            severity=self.severity,
            state=self.state,
            raised_at=self.raised_at,
            acknowledged_at=self.acknowledged_at,
            dispatched_at=self.dispatched_at,
            promise_minutes=self.promise_minutes,
            step=self.escalation_step,
            promise_breached=self.promise_breached_at is not None,
        )


_COLUMNS: Final = sql.SQL(", ").join(sql.Identifier(f.name) for f in fields(AlertRow))


def _alert(row: dict[str, Any]) -> AlertRow:
    outcome = Outcome(row["outcome"]) if row["outcome"] else None
    return AlertRow(
        **{**row, "severity": Severity(row["severity"]), "state": AlertState(row["state"]), "outcome": outcome}
    )


def _one(conn: Conn, query: sql.Composed, params: Mapping[str, object]) -> AlertRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, params).fetchone()
    return _alert(row) if row else None


def _many(conn: Conn, query: sql.Composed, params: Mapping[str, object]) -> list[AlertRow]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [_alert(row) for row in cur.execute(query, params)]


def lock_resident(conn: Conn, resident_id: str) -> None:
    """Serialise, until the transaction ends, everything that raises alerts for one resident."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, resident_id))


def get_alert(conn: Conn, alert_id: int, *, for_update: bool = False) -> AlertRow:
    """Return one alert, locked for the transaction when ``for_update``."""
    lock = sql.SQL(" FOR UPDATE" if for_update else "")
    query = sql.SQL("SELECT {} FROM alerts WHERE id = %(id)s{}").format(_COLUMNS, lock)
    row = _one(conn, query, {"id": alert_id})
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return row


def open_alert(conn: Conn, resident_id: str, kind: str) -> AlertRow | None:
    """Return the resident's open alert of ``kind``, locked for the transaction, if there is one."""
    query = sql.SQL(
        "SELECT {} FROM alerts WHERE resident_id = %(r)s AND kind = %(k)s AND state <> ALL(%(closed)s) FOR UPDATE"
    ).format(_COLUMNS)
    return _one(conn, query, {"r": resident_id, "k": kind, "closed": list(_CLOSED)})


def latest_alert(conn: Conn, resident_id: str, kind: str) -> AlertRow | None:
    """Return the resident's most recent alert of ``kind``, open or closed."""
    query = sql.SQL(
        "SELECT {} FROM alerts WHERE resident_id = %(r)s AND kind = %(k)s ORDER BY raised_at DESC, id DESC LIMIT 1"
    ).format(_COLUMNS)
    return _one(conn, query, {"r": resident_id, "k": kind})


def open_alerts(conn: Conn, resident_id: str | None = None) -> list[AlertRow]:
    """List open alerts, most severe and oldest first; only one resident's when ``resident_id`` is given."""
    query = sql.SQL(
        "SELECT {} FROM alerts WHERE state <> ALL(%(closed)s) AND (%(r)s::text IS NULL OR resident_id = %(r)s)"
        " ORDER BY severity DESC, raised_at, id"
    ).format(_COLUMNS)
    return _many(conn, query, {"closed": list(_CLOSED), "r": resident_id})


def incident_alerts(conn: Conn, incident_id: int) -> list[AlertRow]:
    """List every alert of one incident, oldest first."""
    query = sql.SQL("SELECT {} FROM alerts WHERE incident_id = %(i)s ORDER BY raised_at, id").format(_COLUMNS)
    return _many(conn, query, {"i": incident_id})


def resident_area(conn: Conn, resident_id: str) -> str | None:
    """Return the resident's area type (city, countryside; column added by 0020), None for an unknown resident."""
    row = conn.execute("SELECT area_type FROM residents WHERE id = %s", (resident_id,)).fetchone()
    return str(row[0]) if row and row[0] else None


def open_incident(conn: Conn, resident_id: str, group: str, at: datetime) -> int:
    """Return the resident's open incident of ``group``, opening one at ``at`` if there is none."""
    row = conn.execute(
        "SELECT id FROM incidents WHERE resident_id = %s AND alert_group = %s AND closed_at IS NULL",
        (resident_id, group),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO incidents (resident_id, alert_group, opened_at) VALUES (%s, %s, %s) RETURNING id",
            (resident_id, group, at),
        ).fetchone()
    assert row is not None  # RETURNING always yields the row
    return int(row[0])


def close_incident_if_done(conn: Conn, incident_id: int, at: datetime) -> None:
    """Close the incident when none of its alerts is open any more."""
    conn.execute(
        "UPDATE incidents SET closed_at = %(at)s WHERE id = %(i)s AND closed_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM alerts WHERE incident_id = %(i)s AND state <> ALL(%(closed)s))",
        {"at": at, "i": incident_id, "closed": list(_CLOSED)},
    )


def insert_alert(
    conn: Conn, incident_id: int, finding: Finding, *, severity: Severity, promise_minutes: int, at: datetime
) -> AlertRow:
    """Store a new raised alert from its first finding."""
    query = sql.SQL(
        "INSERT INTO alerts (incident_id, resident_id, kind, severity, state, raised_at, updated_at, explanation,"
        " explanation_zh, details, device_id, promise_minutes) VALUES (%(i)s, %(r)s, %(k)s, %(s)s, 'raised', %(at)s,"
        " %(at)s, %(e)s, %(ez)s, %(d)s, %(dev)s, %(p)s) RETURNING {}"
    ).format(_COLUMNS)
    params = {
        "i": incident_id,
        "r": finding.resident_id,
        "k": finding.kind,
        "s": int(severity),
        "at": at,
        "e": finding.explanation,
        "ez": finding.explanation_zh,
        "d": Jsonb(dict(finding.details), _dumps),
        "dev": finding.device_id,
        "p": promise_minutes,
    }
    row = _one(conn, query, params)
    assert row is not None  # RETURNING always yields the row
    return row


def join_finding(conn: Conn, alert_id: int, finding: Finding, severity: Severity, at: datetime) -> AlertRow:
    """Count another raising finding on an open alert: latest explanation, severity only ever raised."""
    query = sql.SQL(
        "UPDATE alerts SET finding_count = finding_count + 1, severity = GREATEST(severity, %(s)s),"
        " explanation = %(e)s, explanation_zh = %(ez)s, details = details || %(d)s,"
        " device_id = COALESCE(%(dev)s, device_id), updated_at = %(at)s WHERE id = %(id)s RETURNING {}"
    ).format(_COLUMNS)
    params = {
        "id": alert_id,
        "s": int(severity),
        "e": finding.explanation,
        "ez": finding.explanation_zh,
        "d": Jsonb(dict(finding.details), _dumps),
        "dev": finding.device_id,
        "at": at,
    }
    row = _one(conn, query, params)
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return row


def add_finding(conn: Conn, alert_id: int | None, finding: Finding, recorded_at: datetime) -> None:
    """Store a finding as joined to an alert (``None``: a cancel that found no alert to answer)."""
    conn.execute(
        "INSERT INTO alert_findings (alert_id, resident_id, kind, at, recorded_at, severity, cancels, explanation,"
        " explanation_zh, device_id, details) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            alert_id,
            finding.resident_id,
            finding.kind,
            finding.at,
            recorded_at,
            int(finding.severity) if finding.severity else None,
            finding.cancels,
            finding.explanation,
            finding.explanation_zh,
            finding.device_id,
            Jsonb(dict(finding.details), _dumps),
        ),
    )


def record_transition(conn: Conn, alert_id: int, transition: Transition) -> None:
    """Store one change of state with who made it, when, and why."""
    conn.execute(
        "INSERT INTO alert_transitions (alert_id, from_state, to_state, actor, at, note, outcome)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            alert_id,
            transition.from_state,
            transition.to_state,
            transition.actor,
            transition.at,
            transition.note,
            transition.outcome,
        ),
    )


def apply_transition(conn: Conn, alert_id: int, transition: Transition) -> AlertRow:
    """Move an alert to its new state, stamp the first time it got there, and store the transition."""
    stamp = _STAMP.get(transition.to_state)
    stamp_set = sql.SQL(", {0} = COALESCE({0}, %(at)s)").format(sql.Identifier(stamp)) if stamp else sql.SQL("")
    query = sql.SQL(
        "UPDATE alerts SET state = %(to)s, outcome = %(o)s, updated_at = %(at)s{} WHERE id = %(id)s RETURNING {}"
    ).format(stamp_set, _COLUMNS)
    params = {"id": alert_id, "to": transition.to_state, "o": transition.outcome, "at": transition.at}
    row = _one(conn, query, params)
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    record_transition(conn, alert_id, transition)
    if row.state in CLOSED_STATES:
        close_incident_if_done(conn, row.incident_id, transition.at)
    return row


def set_clock(
    conn: Conn, alert_id: int, step: int, promise_breached_at: datetime | None, next_deadline: datetime | None
) -> AlertRow:
    """Store where the escalation clock of an alert stands."""
    query = sql.SQL(
        "UPDATE alerts SET escalation_step = %(s)s, promise_breached_at = COALESCE(promise_breached_at, %(b)s),"
        " next_deadline = %(n)s WHERE id = %(id)s RETURNING {}"
    ).format(_COLUMNS)
    row = _one(conn, query, {"id": alert_id, "s": step, "b": promise_breached_at, "n": next_deadline})
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return row


def set_claim(conn: Conn, alert_id: int, actor: str | None, at: datetime) -> AlertRow:
    """Store who holds the case (``None`` releases it)."""
    query = sql.SQL(
        "UPDATE alerts SET claimed_by = %(c)s, claimed_at = CASE WHEN %(c)s::text IS NULL THEN NULL ELSE %(at)s END"
        " WHERE id = %(id)s RETURNING {}"
    ).format(_COLUMNS)
    row = _one(conn, query, {"id": alert_id, "c": actor, "at": at})
    if row is None:
        raise AlertNotFoundError(f"no alert {alert_id}")
    return row


def add_note(conn: Conn, alert_id: int, actor: str, at: datetime, text: str) -> int:
    """Store a case note; return its id."""
    row = conn.execute(
        "INSERT INTO alert_notes (alert_id, actor, at, body) VALUES (%s, %s, %s, %s) RETURNING id",
        (alert_id, actor, at, text),
    ).fetchone()
    assert row is not None  # RETURNING always yields the row
    return int(row[0])


def due_alerts(conn: Conn, now: datetime, limit: int) -> list[AlertRow]:
    """Lock and return open alerts whose deadline passed; rows another process holds are skipped."""
    query = sql.SQL(
        "SELECT {} FROM alerts WHERE next_deadline <= %(now)s AND state <> ALL(%(closed)s)"
        " ORDER BY next_deadline LIMIT %(n)s FOR UPDATE SKIP LOCKED"
    ).format(_COLUMNS)
    return _many(conn, query, {"now": now, "closed": list(_CLOSED), "n": limit})


def record_escalation(conn: Conn, action: EscalationAction, fired_at: datetime) -> int | None:
    """Store a fired escalation; return its id, or None when that step of that alert was already stored."""
    row = conn.execute(
        "INSERT INTO escalations (alert_id, action, step_key, due_at, fired_at) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (alert_id, step_key) DO NOTHING RETURNING id",
        (action.alert_id, action.action, action.key, action.due_at, fired_at),
    ).fetchone()
    return int(row[0]) if row else None


def mark_published(conn: Conn, escalation_ids: list[int], at: datetime) -> None:
    """Note that escalations reached the broker and the notify hook."""
    conn.execute("UPDATE escalations SET published_at = %s WHERE id = ANY(%s)", (at, escalation_ids))


def unpublished_escalations(conn: Conn, fired_before: datetime, limit: int) -> list[tuple[int, EscalationAction]]:
    """Lock and return escalations fired before ``fired_before`` that nobody published (a process died)."""
    rows = conn.execute(
        "SELECT e.id, e.alert_id, a.resident_id, a.kind, a.severity, e.action, e.step_key, e.due_at"
        " FROM escalations e JOIN alerts a ON a.id = e.alert_id WHERE e.published_at IS NULL"
        " AND e.fired_at < %s ORDER BY e.fired_at LIMIT %s FOR UPDATE OF e SKIP LOCKED",
        (fired_before, limit),
    ).fetchall()
    return [(r[0], EscalationAction(r[1], r[2], r[3], Severity(r[4]), EscalationKind(r[5]), r[6], r[7])) for r in rows]


def history(conn: Conn, alert_id: int) -> list[dict[str, Any]]:
    """Return an alert's timeline: transitions, findings and escalations, in order of time."""
    query = (
        "SELECT 'transition' AS entry, at, actor, from_state, to_state, note, outcome, NULL::text AS action"
        " FROM alert_transitions WHERE alert_id = %(id)s"
        " UNION ALL SELECT CASE WHEN cancels THEN 'cancel' ELSE 'finding' END, at, NULL, NULL, NULL, explanation,"
        " NULL, kind FROM alert_findings WHERE alert_id = %(id)s"
        " UNION ALL SELECT 'escalation', fired_at, 'system', NULL, NULL, step_key, NULL, action"
        " FROM escalations WHERE alert_id = %(id)s ORDER BY at"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(query, {"id": alert_id}))
