"""Dispatch assignments as tasks, and welfare visits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row

from dashboard.store.districts import residents_of

_TASKS = (
    "SELECT x.id AS assignment_id, x.dispatch_id, d.alert_id, x.state, x.staff_id, s.name AS staff_name,"
    " x.assigned_at, x.accepted_at, x.en_route_at, x.on_site_at, x.outcome_at, x.outcome, x.eta_min, x.in_time,"
    " d.deadline, d.resident_id, r.name AS resident_name, r.address, r.lat, r.lon, r.key_holder, r.medical_notes,"
    " r.phone AS resident_phone,"
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
    district_id: int | None = None,
) -> list[dict[str, Any]]:
    """List assignments as tasks, newest first, for one staff member, one alert, one assignment or one district.

    A staff member's own list (``staff_id`` given) carries the contacts to call; no other list does.
    """
    clauses = [
        c
        for t, c in (
            (staff_id is not None, "x.staff_id = %(staff)s"),
            (assignment_id is not None, "x.id = %(assignment)s"),
            (alert_id is not None, "d.alert_id = %(alert)s::text"),
            (live_only, "x.state IN ('offered', 'accepted', 'en_route', 'on_site')"),
            (district_id is not None, f"d.resident_id IN {residents_of('%(district)s')}"),
        )
        if t
    ]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _TASKS + where + " ORDER BY x.assigned_at DESC LIMIT 200",
            {"staff": staff_id, "alert": alert_id, "assignment": assignment_id, "district": district_id},
        ).fetchall()
    if staff_id is not None:
        called = _contacts(conn, {r["resident_id"] for r in rows if r["state"] in _LIVE})
        rows = [{**r, "contacts": called.get(r["resident_id"], []) if r["state"] in _LIVE else []} for r in rows]
    return rows


_LIVE: Final = frozenset({"offered", "accepted", "en_route", "on_site"})


def _contacts(conn: psycopg.Connection[Any], resident_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Return the residents' emergency contacts who have a phone, in calling order."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not resident_ids:
        return out
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(
            "SELECT resident_id, name, relation, phone FROM emergency_contacts"
            " WHERE resident_id = ANY(%s) AND phone IS NOT NULL AND phone <> '' ORDER BY resident_id, position",
            (sorted(resident_ids),),
        ):
            out.setdefault(row.pop("resident_id"), []).append(row)
    return out


def assignment_owner(conn: psycopg.Connection[Any], assignment_id: int) -> tuple[str, str] | None:
    """Return the staff id and resident id of an assignment."""
    row = conn.execute(
        "SELECT x.staff_id, d.resident_id FROM dispatch_assignments x JOIN dispatches d ON d.id = x.dispatch_id"
        " WHERE x.id = %s",
        (assignment_id,),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


_VISITS = (
    "SELECT v.id, v.resident_id, r.name AS resident_name, r.address, v.reason, v.signals, v.due_at, v.status,"
    " v.staff_id, s.name AS staff_name, v.done_at, v.notes, v.findings"
    " FROM visits v LEFT JOIN residents r ON r.id = v.resident_id LEFT JOIN staff s ON s.id = v.staff_id"
)
# Planned visits soonest due first, so the overdue lead; done ones newest first.
_VISIT_ORDER: Final = {"planned": " ORDER BY v.due_at, v.id", "done": " ORDER BY v.done_at DESC, v.id DESC"}


def visits(
    conn: psycopg.Connection[Any],
    *,
    residents: frozenset[str] | None,
    staff_id: str | None,
    status: str = "planned",
    done_since: datetime | None = None,
    district_id: int | None = None,
) -> list[dict[str, Any]]:
    """List the visits of one status, for some residents, one staff member or one district; done ones since."""
    clauses = [
        c
        for t, c in (
            (True, "v.status = %(status)s"),
            (residents is not None, "v.resident_id = ANY(%(res)s)"),
            (staff_id is not None, "v.staff_id = %(staff)s"),
            (done_since is not None, "v.done_at >= %(since)s"),
            (district_id is not None, f"v.resident_id IN {residents_of('%(district)s')}"),
        )
        if t
    ]
    params = {
        "status": status,
        "res": list(residents or ()),
        "staff": staff_id,
        "since": done_since,
        "district": district_id,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _VISITS + " WHERE " + " AND ".join(clauses) + _VISIT_ORDER[status] + " LIMIT 500", params
        ).fetchall()


def visit(conn: psycopg.Connection[Any], visit_id: int) -> dict[str, Any] | None:
    """Return one visit."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_VISITS + " WHERE v.id = %s", (visit_id,)).fetchone()
