"""Welfare visits: the desk sees all, staff their own, family their relative's; staff close a visit with a note.

A staff member's page lists their planned visits and closes each with a short structured note
(``VisitReport``); a note that asks for a follow-up plans one for the same staff member. The
supervisors' page lists every planned visit, the overdue first, and the visits done lately. A visit
the user may not reach answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status

from dashboard import access
from dashboard.deps import Audit, Conn, CurrentUser
from dashboard.roles import ROLES, RoleName
from dashboard.routes.dispatch import now
from dashboard.schemas.visits import VisitPublic, VisitRecorded, VisitReport
from dashboard.store import tasks
from dashboard.store.users import User
from dispatch.errors import NotFoundError
from dispatch.visits import complete_visit, is_overdue

router = APIRouter(prefix="/api/visits", tags=["visits"])


def _public(row: dict[str, Any], request: Request) -> VisitPublic:
    """Describe a visit, overdue or not by the platform's clock."""
    overdue = row["status"] == "planned" and is_overdue(row["due_at"], now(request))
    return VisitPublic(**row, overdue=overdue)


@router.get("")
def list_visits(
    user: CurrentUser,
    conn: Conn,
    log: Audit,
    request: Request,
    state: Annotated[Literal["planned", "done"], Query(alias="status")] = "planned",
    days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> list[VisitPublic]:
    """List the visits the user may see: the planned ones, soonest due first, or those done in the last days."""
    residents = None if ROLES[user.role].all_residents or user.role is RoleName.STAFF else user.resident_ids
    staff_id = user.staff_id if user.role is RoleName.STAFF else None
    since = now(request) - timedelta(days=days) if state == "done" else None
    district = access.district_of(user)
    rows = tasks.visits(
        conn, residents=residents, staff_id=staff_id, status=state, done_since=since, district_id=district
    )
    log("list", "visit", None, {"status": state, "count": len(rows)})
    return [_public(r, request) for r in rows]


def _reachable(conn: Conn, user: User, row: dict[str, Any] | None) -> dict[str, Any]:
    """Return a visit the user may reach, or answer 404."""
    ok = row is not None and (
        (user.role is RoleName.STAFF and row["staff_id"] == user.staff_id)
        or (user.role is not RoleName.STAFF and access.may_reach_resident(conn, user, str(row["resident_id"])))
    )
    if not ok or row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_visit"})
    return row


@router.get("/{visit_id}", responses={404: {}})
def get_visit(visit_id: int, user: CurrentUser, conn: Conn, log: Audit, request: Request) -> VisitPublic:
    """Return one visit."""
    row = _reachable(conn, user, tasks.visit(conn, visit_id))
    log("read", "visit", visit_id)
    return _public(row, request)


@router.post("/{visit_id}/done", responses={404: {}, 409: {}})
def visit_done(
    visit_id: int, body: VisitReport, user: CurrentUser, conn: Conn, log: Audit, request: Request
) -> VisitRecorded:
    """Close a planned visit with its note (its staff member, or the desk); a follow-up is planned if asked."""
    row = _reachable(conn, user, tasks.visit(conn, visit_id))
    if user.role is RoleName.FAMILY:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_visit"})
    staff_id = user.staff_id if user.role is RoleName.STAFF else None
    try:
        follow_up = complete_visit(conn, visit_id, body.to_note(), now(request), staff_id=staff_id)
    except NotFoundError as exc:  # no longer planned: done or cancelled meanwhile
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "visit_not_planned", "status": row["status"]}) from exc
    log("visit_done", "visit", visit_id, {**body.to_note().findings(), "follow_up_id": follow_up})
    done = tasks.visit(conn, visit_id)
    planned = tasks.visit(conn, follow_up) if follow_up is not None else None
    assert done is not None
    return VisitRecorded(
        visit=_public(done, request), follow_up=_public(planned, request) if planned is not None else None
    )
