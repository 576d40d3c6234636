"""Sign in, sign out, who am I, my language; failed sign-ins slow the next attempt down, never lock it out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from dashboard.deps import SESSION_COOKIE, Audit, Conn, CurrentUser, Settings, client_ip, request_token
from dashboard.errors import refusal
from dashboard.roles import ROLES
from dashboard.schemas.users import LocaleUpdate, LoginRequest, Session, UserPublic
from dashboard.security import DUMMY_HASH, new_session_token, session_token_hash, verify_password
from dashboard.settings import DashboardSettings
from dashboard.store import audit, users
from dashboard.store.users import User
from dashboard.throttle import Backoff, wait_s

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
        district_id=user.district_id,
        district=user.district,
    )


def _backoffs(settings: DashboardSettings) -> tuple[Backoff, Backoff]:
    """Return how accounts and addresses are slowed down."""
    base = settings.login_delay_base_s
    return (
        Backoff(settings.login_free_failures_user, base, settings.login_delay_cap_user_s),
        Backoff(settings.login_free_failures_ip, base, settings.login_delay_cap_ip_s),
    )


def _wait(conn: Conn, settings: DashboardSettings, username: str, ip: str | None) -> int:
    """Return the seconds this account and this address must still wait before another attempt."""
    by_user, by_ip, now = users.sign_in_failures(conn, username, ip, timedelta(seconds=settings.login_window_s))
    user_backoff, ip_backoff = _backoffs(settings)
    return max(wait_s(user_backoff, by_user, now), wait_s(ip_backoff, by_ip, now))


@router.post("/login", responses={401: {}, 429: {}})
def login(body: LoginRequest, request: Request, response: Response, conn: Conn, settings: Settings) -> Session:
    """Sign in with a user name and password; set the session cookie. Too soon after failures: 429 and the wait."""
    ip = client_ip(request)
    users.hold_sign_in(conn, body.username, ip)  # parallel guesses queue behind each other and see the wait
    wait = _wait(conn, settings, body.username, ip)
    if wait > 0:  # refused unseen: the password is not checked, and this attempt does not count
        headers = {"Retry-After": str(wait)}
        raise refusal(status.HTTP_429_TOO_MANY_REQUESTS, "login_wait", headers=headers, retry_after_s=wait)
    found = users.password_hash_of(conn, body.username)
    ok = verify_password(body.password, found[1] if found else DUMMY_HASH) and found is not None
    users.record_attempt(conn, body.username, ip, ok)
    user = users.user_by_id(conn, found[0]) if ok and found else None
    if user is None:
        audit.record(conn, None, "login_failed", object_type="session", object_id=body.username, ip=ip)
        wait = _wait(conn, settings, body.username, ip)  # what the next attempt faces, counted with this one
        conn.commit()  # the failure must count even though this request fails
        raise refusal(status.HTTP_401_UNAUTHORIZED, "login_failed", retry_after_s=wait)
    if body.locale and body.locale != user.locale:
        users.set_locale(conn, user.id, body.locale)
        user = replace(user, locale=body.locale)
    return _open_session(conn, settings, request, response, user)


def _open_session(conn: Conn, settings: DashboardSettings, request: Request, response: Response, user: User) -> Session:
    """Open a session for a user who proved who they are; set its cookie."""
    ip = client_ip(request)
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


@router.put("/me/locale")
def set_my_locale(body: LocaleUpdate, user: CurrentUser, conn: Conn) -> UserPublic:
    """Remember the language the signed-in user chose, for every page and device they sign in on."""
    users.set_locale(conn, user.id, body.locale)
    return public_user(replace(user, locale=body.locale))
