"""The WebSocket `/ws`: authenticated at the handshake, Origin-checked, then a stream of visible changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from dashboard import access
from dashboard.deps import SESSION_COOKIE, user_for_token
from dashboard.live import UPDATES, LiveHub, LiveMessage, Visible
from dashboard.roles import ROLES, RoleName
from dashboard.settings import DashboardSettings
from dashboard.store import audit
from dashboard.store.users import User

router = APIRouter(tags=["live"])
LOG = logging.getLogger(__name__)
_POLICY_VIOLATION = 1008
_RECHECK_S = 60.0
_FAMILY_TYPES = frozenset({"alert", "device_status"})
_STAFF_TYPES = frozenset({"alert", "dispatch"})  # the staff page reloads its tasks on these
_REACH_TTL_S = 30.0  # a resident or staff member moved to another district is followed within this
_REACH_KEPT = 50_000


def origin_allowed(websocket: WebSocket, settings: DashboardSettings) -> bool:
    """Accept no Origin (not a browser), our own origin, or a configured one."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in settings.allowed_origins:
        return True
    host = websocket.headers.get("host", "")
    parts = urlsplit(origin)
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


def _token(websocket: WebSocket) -> str | None:
    """Find the session token: header, cookie, or ``?token=`` for clients that cannot set either."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.cookies.get(SESSION_COOKIE) or websocket.query_params.get("token")


def _authenticate(
    pool: ConnectionPool[Any], settings: DashboardSettings, token: str | None, ip: str | None
) -> User | None:
    """Return the user of a live session and audit the connection."""
    with pool.connection() as conn:
        user = user_for_token(conn, settings, token)
        if user is not None:
            audit.record(conn, user, "subscribe", object_type="live", object_id=None, ip=ip)
        return user


def _visibility(pool: ConnectionPool[Any], user: User, clock: Callable[[], float] = time.monotonic) -> Visible:
    """Make the test of which live messages this user may see.

    A city's device status and staff positions pass every console. A desk user of one district is asked
    about them once a resident (or staff member) every ``_REACH_TTL_S``, not once a message; a staff
    member's page wants only alert and dispatch changes, so the rest never costs a query.
    """
    decided: dict[tuple[str, str | None], tuple[bool, float]] = {}  # (type, resident or staff) → (may see, when)

    def reaches(message: LiveMessage) -> bool:
        with pool.connection() as conn:
            if message.alert_id is not None:
                return access.may_reach_alert(conn, user, message.alert_id)
            if message.resident_id is not None:
                return access.may_reach_resident(conn, user, message.resident_id)
            staff_id = message.data.get("staff_id") if message.type == "staff_position" else None
            return isinstance(staff_id, str) and access.may_reach_staff(conn, user, staff_id)

    async def visible(message: LiveMessage) -> bool:
        if ROLES[user.role].all_residents and access.district_of(user) is None:
            return True
        if user.role is RoleName.FAMILY:  # their relative's alerts and devices; not the desk's dispatch detail
            return message.type in _FAMILY_TYPES and message.resident_id in user.resident_ids
        if user.role is RoleName.STAFF and message.type not in _STAFF_TYPES:
            return False
        if message.type not in UPDATES:
            return await run_in_threadpool(reaches, message)  # staff, and desk users of a district
        key = (message.type, message.resident_id or message.data.get("staff_id"))
        now = clock()
        known = decided.get(key)
        if known is None or now - known[1] > _REACH_TTL_S:
            if len(decided) > _REACH_KEPT:
                decided.clear()
            known = decided[key] = (await run_in_threadpool(reaches, message), now)
        return known[0]

    return visible


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    """Push alert changes and device status the user may see."""
    app = websocket.app
    settings: DashboardSettings = app.state.settings
    ip = websocket.client.host if websocket.client else None
    user = None
    if origin_allowed(websocket, settings):
        user = await run_in_threadpool(_authenticate, app.state.pool, settings, _token(websocket), ip)
    if user is None:
        await websocket.close(code=_POLICY_VIOLATION)
        return
    hub: LiveHub = app.state.hub
    await websocket.accept()
    client = hub.connect(_visibility(app.state.pool, user))
    try:
        await websocket.send_json({"type": "hello", "user": user.username, "role": user.role.value})
        await _pump(websocket, client, app.state.pool, settings, _token(websocket))
    except WebSocketDisconnect:
        pass
    finally:
        hub.disconnect(client)


async def _pump(
    websocket: WebSocket, client: Any, pool: ConnectionPool[Any], settings: DashboardSettings, token: str | None
) -> None:
    """Send visible messages until the client leaves, overflows or its session ends."""
    reader = asyncio.create_task(_drain(websocket))
    try:
        while True:
            getter = asyncio.create_task(client.next())
            done, _ = await asyncio.wait({getter, reader}, timeout=_RECHECK_S, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if reader in done or not await run_in_threadpool(_still_valid, pool, settings, token):
                    break
                continue
            if client.overflowed:
                LOG.warning(
                    "a live console fell %d messages behind; closed (it reconnects and reloads)", client.queue.maxsize
                )
                break
            message = getter.result()
            if await client.visible(message):
                await websocket.send_text(message.to_json())
    finally:
        reader.cancel()
        with contextlib.suppress(Exception):
            await websocket.close(code=_POLICY_VIOLATION if client.overflowed else 1000)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so that a close is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


def _still_valid(pool: ConnectionPool[Any], settings: DashboardSettings, token: str | None) -> bool:
    """Tell whether the session behind a connection is still live."""
    with pool.connection() as conn:
        return user_for_token(conn, settings, token) is not None
