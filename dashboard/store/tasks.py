"""Dispatch assignments as tasks, and welfare visits."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

_TASKS = (
    "SELECT x.id AS assignment_id, x.dispatch_id, d.alert_id, x.state, x.staff_id, s.name AS staff_name,"
    " x.assigned_at, x.accepted_at, x.en_route_at, x.on_site_at, x.outcome_at, x.outcome, x.eta_min, x.in_time,"
    " d.deadline, d.resident_id, r.name AS resident_name, r.address, r.lat, r.lon, r.key_holder, r.medical_notes,"
    " a.kind AS alert_kind, a.state AS alert_state"
    " FROM dispatch_assignments x JOIN dispatches d ON d.id = x.dispatch_id"
    " LEFT JOIN staff s ON s.id = x.staff_id LEFT JOIN residents r ON r.id = d.resident_id"
    " LEFT JOIN alerts a ON a.id::text = d.alert_id"
)


def tasks(
    conn: psycopg.Connection[Any],
    *,
    staff_id: str | None = None,
    alert_id: int | None = None,
    live_only: bool = False,
    assignment_id: int | None = None,
) -> list[dict[str, Any]]:
    """List assignments as tasks, newest first, for one staff member, one alert or one assignment."""
    clauses = [
        c
        for t, c in (
            (staff_id is not None, "x.staff_id = %(staff)s"),
            (assignment_id is not None, "x.id = %(assignment)s"),
            (alert_id is not None, "d.alert_id = %(alert)s::text"),
            (live_only, "x.state IN ('offered', 'accepted', 'en_route', 'on_site')"),
        )
        if t
    ]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _TASKS + where + " ORDER BY x.assigned_at DESC LIMIT 200",
            {"staff": staff_id, "alert": alert_id, "assignment": assignment_id},
        ).fetchall()


def assignment_owner(conn: psycopg.Connection[Any], assignment_id: int) -> tuple[str, str] | None:
    """Return the staff id and resident id of an assignment."""
    row = conn.execute(
        "SELECT x.staff_id, d.resident_id FROM dispatch_assignments x JOIN dispatches d ON d.id = x.dispatch_id"
        " WHERE x.id = %s",
        (assignment_id,),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


_VISITS = (
    "SELECT v.id, v.resident_id, r.name AS resident_name, v.reason, v.due_at, v.status, v.staff_id, v.signals,"
    " v.done_at, v.notes FROM visits v LEFT JOIN residents r ON r.id = v.resident_id"
)


def visits(
    conn: psycopg.Connection[Any], *, residents: frozenset[str] | None, staff_id: str | None, planned_only: bool
) -> list[dict[str, Any]]:
    """List visits, soonest due first."""
    clauses = [
        c
        for t, c in (
            (residents is not None, "v.resident_id = ANY(%(res)s)"),
            (staff_id is not None, "v.staff_id = %(staff)s"),
            (planned_only, "v.status = 'planned'"),
        )
        if t
    ]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _VISITS + where + " ORDER BY v.due_at LIMIT 500", {"res": list(residents or ()), "staff": staff_id}
        ).fetchall()


def visit(conn: psycopg.Connection[Any], visit_id: int) -> dict[str, Any] | None:
    """Return one visit."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_VISITS + " WHERE v.id = %s", (visit_id,)).fetchone()


def finish_visit(conn: psycopg.Connection[Any], visit_id: int, notes: str, findings: dict[str, Any]) -> bool:
    """Mark a planned visit done; return whether it was planned."""
    cur = conn.execute(
        "UPDATE visits SET status = 'done', done_at = now(), notes = %s, findings = %s"
        " WHERE id = %s AND status = 'planned'",
        (notes, Jsonb(findings), visit_id),
    )
    return cur.rowcount == 1
