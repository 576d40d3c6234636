"""Users: admins create them and link family members and staff to what they may reach."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, HTTPException, status

from dashboard.deps import Admin, Audit, Conn, CurrentUser
from dashboard.roles import RoleName
from dashboard.routes.auth import public_user
from dashboard.schemas.users import DutyPublic, DutyUpdate, UserCreate, UserPublic
from dashboard.security import hash_password
from dashboard.store import users
from notify.desk import masked

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("")
def list_users(_: Admin, conn: Conn) -> list[UserPublic]:
    """List active users."""
    ids = [r[0] for r in conn.execute("SELECT id FROM users WHERE active ORDER BY id")]
    found = (users.user_by_id(conn, i) for i in ids)
    return [public_user(u) for u in found if u is not None]


@router.post("", status_code=201, responses={409: {}, 422: {}})
def create_user(body: UserCreate, _: Admin, conn: Conn, log: Audit) -> UserPublic:
    """Create a user."""
    if body.role is RoleName.STAFF and not body.staff_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": "staff_id_required", "field": "staff_id"})
    try:
        with conn.transaction():
            user_id = users.create_user(
                conn,
                body.username,
                body.display_name,
                hash_password(body.password),
                body.role,
                staff_id=body.staff_id,
                resident_ids=tuple(body.resident_ids),
                contact_id=body.contact_id,
                locale=body.locale,
                district_id=body.district_id,
            )
    except psycopg.errors.UniqueViolation as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "username_taken", "field": "username"}) from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": "unknown_resident_or_contact"}) from exc
    log("create", "user", user_id, {"role": body.role.value})
    created = users.user_by_id(conn, user_id)
    assert created is not None
    return public_user(created)


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
