"""Request dependencies: the database connection, the signed-in user, role checks and object-level checks.

Object-level rule: a family member reaches only residents linked to them; a staff member reaches only
the residents and alerts of their own dispatches; everyone else with a role that sees all residents
reaches everything. An object the user may not reach answers 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request, status
from psycopg_pool import ConnectionPool

from dashboard import access
from dashboard.errors import refusal
from dashboard.roles import ROLES, Role
from dashboard.security import session_token_hash
from dashboard.settings import DashboardSettings
from dashboard.store import audit, users
from dashboard.store.users import User

SESSION_COOKIE = "anxin_session"


def get_settings(request: Request) -> DashboardSettings:
    """Return the app's settings."""
    settings: DashboardSettings = request.app.state.settings
    return settings


def get_conn(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """Lend a pooled connection for the request; commit when the request succeeds, before it is answered.

    ``Conn`` scopes this to the route function: by default FastAPI would run the commit after the answer
    was sent, and a page acting on the answer (a sign-in, a saved row) could miss its own write.
    """
    pool: ConnectionPool[Any] = request.app.state.pool
    with pool.connection() as conn:
        yield conn


Settings = Annotated[DashboardSettings, Depends(get_settings)]
Conn = Annotated[psycopg.Connection[Any], Depends(get_conn, scope="function")]


def request_token(request: Request) -> str | None:
    """Find the session token in the cookie or the Authorization header."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def user_for_token(conn: psycopg.Connection[Any], settings: DashboardSettings, token: str | None) -> User | None:
    """Return the user a token belongs to, if it is valid and live."""
    if not token:
        return None
    key = session_token_hash(settings.secret_key.get_secret_value().encode(), token)
    return users.session_user(conn, key) if key else None


def current_user(request: Request, conn: Conn, settings: Settings) -> User:
    """Return the signed-in user or answer 401."""
    user = user_for_token(conn, settings, request_token(request))
    if user is None:
        raise refusal(status.HTTP_401_UNAUTHORIZED, "signed_out", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(allowed: Callable[[Role], bool]) -> Callable[[User], User]:
    """Make a dependency that lets through only users whose role passes ``allowed``."""

    def check(user: CurrentUser) -> User:
        if not allowed(ROLES[user.role]):
            raise refusal(status.HTTP_403_FORBIDDEN, "role_not_allowed", role=user.role.value)
        return user

    return check


AlertHandler = Annotated[User, Depends(require(lambda r: r.handles_alerts))]
AllResidents = Annotated[User, Depends(require(lambda r: r.all_residents))]
FigureViewer = Annotated[User, Depends(require(lambda r: r.sees_figures))]
Admin = Annotated[User, Depends(require(lambda r: r.manages_users))]


def client_ip(request: Request) -> str | None:
    """Return the peer address of the request."""
    return request.client.host if request.client else None


@dataclass(frozen=True, slots=True)
class Auditor:
    """Write audit rows for one request."""

    conn: psycopg.Connection[Any]
    user: User
    ip: str | None

    def __call__(self, action: str, object_type: str, object_id: object, detail: dict[str, Any] | None = None) -> None:
        """Record that the user did ``action`` on an object."""
        audit.record(
            self.conn, self.user, action, object_type=object_type, object_id=str(object_id), ip=self.ip, detail=detail
        )


def get_auditor(request: Request, conn: Conn, user: CurrentUser) -> Auditor:
    """Return the request's auditor."""
    return Auditor(conn, user, client_ip(request))


Audit = Annotated[Auditor, Depends(get_auditor)]


def reach_resident(conn: Conn, user: CurrentUser, resident_id: str) -> str:
    """Let through a resident the user may reach; 404 otherwise."""
    if not access.may_reach_resident(conn, user, resident_id):
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_resident")
    return resident_id


def reach_alert(conn: Conn, user: CurrentUser, alert_id: int) -> int:
    """Let through an alert the user may reach; 404 otherwise."""
    if not access.may_reach_alert(conn, user, alert_id):
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_alert")
    return alert_id


def reach_dispatch(conn: Conn, user: CurrentUser, dispatch_id: int) -> int:
    """Let through a dispatch the user may reach (staff: only their own); 404 otherwise."""
    if not access.may_reach_dispatch(conn, user, dispatch_id):
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_dispatch")
    return dispatch_id


ResidentId = Annotated[str, Depends(reach_resident)]
AlertId = Annotated[int, Depends(reach_alert)]
DispatchId = Annotated[int, Depends(reach_dispatch)]
