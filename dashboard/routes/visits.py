"""Welfare visits: the desk sees all, staff their own, family their relative's; staff record a visit done."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from dashboard import access
from dashboard.deps import Audit, Conn, CurrentUser
from dashboard.roles import ROLES, RoleName
from dashboard.schemas.dispatch import VisitDone, VisitPublic
from dashboard.store import tasks
from dashboard.store.users import User

router = APIRouter(prefix="/api/visits", tags=["visits"])


@router.get("")
def list_visits(user: CurrentUser, conn: Conn, log: Audit, planned_only: bool = True) -> list[VisitPublic]:
    """List the visits the user may see."""
    residents = None if ROLES[user.role].all_residents or user.role is RoleName.STAFF else user.resident_ids
    staff_id = user.staff_id if user.role is RoleName.STAFF else None
    rows = tasks.visits(conn, residents=residents, staff_id=staff_id, planned_only=planned_only)
    log("list", "visit", None, {"count": len(rows)})
    return [VisitPublic(**r) for r in rows]


def _reachable(conn: Conn, user: User, row: dict[str, object] | None) -> dict[str, object]:
    """Return a visit the user may reach, or answer 404."""
    ok = row is not None and (
        ROLES[user.role].all_residents
        or (user.role is RoleName.STAFF and row["staff_id"] == user.staff_id)
        or (user.role is RoleName.FAMILY and access.may_reach_resident(conn, user, str(row["resident_id"])))
    )
    if not ok or row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit")
    return row


@router.get("/{visit_id}", responses={404: {}})
def get_visit(visit_id: int, user: CurrentUser, conn: Conn, log: Audit) -> VisitPublic:
    """Return one visit."""
    row = _reachable(conn, user, tasks.visit(conn, visit_id))
    log("read", "visit", visit_id)
    return VisitPublic.model_validate(row)


@router.post("/{visit_id}/done", responses={404: {}, 409: {}})
def visit_done(visit_id: int, body: VisitDone, user: CurrentUser, conn: Conn, log: Audit) -> VisitPublic:
    """Record a planned visit as done (its staff member or the desk)."""
    row = _reachable(conn, user, tasks.visit(conn, visit_id))
    if user.role is RoleName.FAMILY:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such visit")
    if not tasks.finish_visit(conn, visit_id, body.notes, body.findings):
        raise HTTPException(status.HTTP_409_CONFLICT, f"visit is {row['status']}")
    log("visit_done", "visit", visit_id)
    return VisitPublic.model_validate(tasks.visit(conn, visit_id))
