"""Users: admins create them and link family members and staff to what they may reach."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, HTTPException, status

from dashboard.deps import Admin, Audit, Conn
from dashboard.roles import RoleName
from dashboard.routes.auth import public_user
from dashboard.schemas.users import UserCreate, UserPublic
from dashboard.security import hash_password
from dashboard.store import users

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
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a staff user needs a staff_id")
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
            )
    except psycopg.errors.UniqueViolation as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "user name taken") from exc
    except psycopg.errors.ForeignKeyViolation as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "unknown resident or contact") from exc
    log("create", "user", user_id, {"role": body.role.value})
    created = users.user_by_id(conn, user_id)
    assert created is not None
    return public_user(created)
