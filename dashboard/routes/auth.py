"""Sign in, sign out, who am I; failed sign-ins are counted and limited."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status

from dashboard.deps import SESSION_COOKIE, Audit, Conn, CurrentUser, Settings, client_ip, request_token
from dashboard.roles import ROLES
from dashboard.schemas.users import LoginRequest, Session, UserPublic
from dashboard.security import DUMMY_HASH, new_session_token, session_token_hash, verify_password
from dashboard.store import audit, users
from dashboard.store.users import User

router = APIRouter(prefix="/api/auth", tags=["auth"])


def public_user(user: User) -> UserPublic:
    """Describe a user for the API."""
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        staff_id=user.staff_id,
        locale=user.locale,
        resident_ids=sorted(user.resident_ids),
        home=ROLES[user.role].home,
    )


def _check_rate(conn: Conn, settings: Settings, username: str, ip: str | None) -> None:
    """Answer 429 when this name or address failed too often lately."""
    by_user, by_ip = users.recent_failures(conn, username, ip, timedelta(seconds=settings.login_window_s))
    if by_user >= settings.login_max_failures_user or by_ip >= settings.login_max_failures_ip:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed sign-ins; try later",
            headers={"Retry-After": str(settings.login_window_s)},
        )


@router.post("/login", responses={401: {}, 429: {}})
def login(body: LoginRequest, request: Request, response: Response, conn: Conn, settings: Settings) -> Session:
    """Sign in with a user name and password; set the session cookie."""
    ip = client_ip(request)
    _check_rate(conn, settings, body.username, ip)
    found = users.password_hash_of(conn, body.username)
    ok = verify_password(body.password, found[1] if found else DUMMY_HASH) and found is not None
    users.record_attempt(conn, body.username, ip, ok)
    user = users.user_by_id(conn, found[0]) if ok and found else None
    if user is None:
        audit.record(conn, None, "login_failed", object_type="session", object_id=body.username, ip=ip)
        conn.commit()  # the failure must count even though this request fails
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    secret = settings.secret_key.get_secret_value().encode()
    token = new_session_token(secret)
    key = session_token_hash(secret, token)
    assert key is not None
    ttl = timedelta(seconds=settings.session_ttl_s)
    expires = users.open_session(conn, key, user.id, ttl, ip=ip, agent=request.headers.get("user-agent"))
    audit.record(conn, user, "login", object_type="session", object_id=str(user.id), ip=ip)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    return Session(token=token, expires_at=expires, user=public_user(user))


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, conn: Conn, settings: Settings, log: Audit) -> None:
    """End the present session."""
    token = request_token(request)
    key = session_token_hash(settings.secret_key.get_secret_value().encode(), token) if token else None
    if key:
        users.close_session(conn, key)
    log("logout", "session", log.user.id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me")
def me(user: CurrentUser) -> UserPublic:
    """Return the signed-in user."""
    return public_user(user)
