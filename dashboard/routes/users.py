"""Users: a desk user's duty and escalation channel. Accounts are made and changed at /api/admin/users."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from dashboard.deps import Audit, Conn, CurrentUser
from dashboard.roles import RoleName
from dashboard.schemas.users import DutyPublic, DutyUpdate
from dashboard.store import users
from notify.desk import masked

router = APIRouter(prefix="/api/users", tags=["users"])


_DESK_ROLES = frozenset({RoleName.SUPERVISOR, RoleName.OPERATOR, RoleName.ADMIN})


@router.put("/{user_id}/duty", responses={404: {}})
def set_duty(user_id: int, body: DutyUpdate, user: CurrentUser, conn: Conn, log: Audit) -> DutyPublic:
    """Set a desk user's duty and escalation channel (their own, or anyone's for an admin)."""
    if user.id != user_id and user.role is not RoleName.ADMIN:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_user"})
    target = users.user_by_id(conn, user_id)
    if target is None or target.role not in _DESK_ROLES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_user"})
    conn.execute(
        "UPDATE users SET on_duty = coalesce(%s, on_duty),"
        " notify_url = CASE WHEN %s THEN NULL ELSE coalesce(%s, notify_url) END WHERE id = %s",
        (body.on_duty, body.clear_notify_url, body.notify_url, user_id),
    )
    log(
        "duty",
        "user",
        user_id,
        {"on_duty": body.on_duty, "channel_changed": bool(body.notify_url or body.clear_notify_url)},
    )
    return get_duty(user_id, user, conn)


@router.get("/{user_id}/duty", responses={404: {}})
def get_duty(user_id: int, user: CurrentUser, conn: Conn) -> DutyPublic:
    """Tell a desk user's duty and escalation channel (masked)."""
    if user.id != user_id and user.role is not RoleName.ADMIN:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_user"})
    row = conn.execute("SELECT on_duty, notify_url FROM users WHERE id = %s", (user_id,)).fetchone()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_user"})
    return DutyPublic(user_id=user_id, on_duty=row[0], channel=masked(row[1]) if row[1] else None)
