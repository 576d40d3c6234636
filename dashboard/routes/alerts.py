"""Alerts: the queue with filters, the case with its timeline, and the desk's moves on it.

The desk's claim keeps two operators off one case: claiming, releasing and acknowledging (which claims
the alert for the acknowledger) go through the alert service, and `refuse_if_claimed_by_other` is the
one check the dispatch route makes. Refusals answer in codes with parameters
(``{"code": "claimed_by_other", "claimed_by": "operator:u2", "claimed_by_name": "…"}``); pages translate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from alerts.errors import AlertNotFoundError, ClaimRefusedError, IllegalTransitionError
from alerts.kinds import ALERT_KINDS
from alerts.lifecycle import AlertState, Outcome, moves
from alerts.service import AlertService
from dashboard import access
from dashboard.actions import Actions, actor
from dashboard.deps import AlertHandler, AlertId, Audit, Conn, CurrentUser
from dashboard.roles import ROLES, RoleName
from dashboard.schemas.alerts import (
    Acknowledge,
    AlertDetail,
    AlertPublic,
    BraceletAsk,
    Cancel,
    Claim,
    NoteCreate,
    Resolve,
    TimelineEntry,
)
from dashboard.store import alerts
from dashboard.store.users import User
from gateway.contract import CallBackCommand, DeviceCommand, LocateCommand

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
_REFUSALS: dict[int | str, dict[str, Any]] = {404: {}, 409: {}, 503: {}}
# What of a case each role does not see: the desk's notes are the desk's own, not the family's.
_HIDDEN_SOURCES: dict[RoleName, frozenset[str]] = {RoleName.FAMILY: frozenset({"note", "delivery", "command"})}


def public_alert(row: dict[str, Any], user: User) -> AlertPublic:
    """Describe an alert for this user, with the moves they may make."""
    kind = ALERT_KINDS.get(row["kind"])
    allowed = moves(AlertState(row["state"]), actor(user)) if user.role is not RoleName.FAMILY else []
    notes = [] if "note" in _HIDDEN_SOURCES.get(user.role, ()) else row["latest_notes"]
    return AlertPublic(
        **{**row, "latest_notes": notes},
        title_en=kind.title_en if kind else row["kind"],
        title_zh=kind.title_zh if kind else row["kind"],
        moves=[m.value for m in allowed],
    )


def _filter_for(user: User, **chosen: Any) -> alerts.AlertFilter:
    """Narrow a filter to what the user may reach."""
    if ROLES[user.role].all_residents:
        return alerts.AlertFilter(district_id=access.district_of(user), **chosen)
    if user.role is RoleName.STAFF:
        return alerts.AlertFilter(staff_id=user.staff_id, **chosen)
    return alerts.AlertFilter(residents=user.resident_ids, **chosen)  # family: their relatives'; the city: none


@router.get("")
def list_alerts(
    user: CurrentUser,
    conn: Conn,
    log: Audit,
    *,
    open_only: bool = False,
    state: str | None = None,
    kind: str | None = None,
    resident_id: str | None = None,
    min_severity: Annotated[int | None, Query(ge=1, le=4)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    """List alerts the user may see, open and most urgent first."""
    f = _filter_for(
        user,
        open_only=open_only,
        state=state,
        kind=kind,
        resident_id=resident_id,
        min_severity=min_severity,
        since=since,
        limit=limit,
    )
    rows = alerts.list_alerts(conn, f)
    log("list", "alert", resident_id, {"count": len(rows)})
    return [public_alert(r, user) for r in rows]


@router.get("/{alert_id}", responses={404: {}})
def get_alert(alert_id: AlertId, user: CurrentUser, conn: Conn, log: Audit) -> AlertDetail:
    """Return an alert with its case timeline."""
    row = alerts.alert(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_alert"})
    log("read", "alert", alert_id)
    hidden = _HIDDEN_SOURCES.get(user.role, frozenset())
    entries = [TimelineEntry(**e) for e in alerts.timeline(conn, alert_id) if e["source"] not in hidden]
    return AlertDetail(alert=public_alert(row, user), timeline=entries)


def get_actions(request: Request) -> Actions:
    """Return the services behind the buttons."""
    found: Actions = request.app.state.actions
    return found


def alert_service(request: Request) -> AlertService:
    """Return the alert service, or answer 503 when the platform has none wired."""
    service = get_actions(request).alerts
    if service is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"code": "service_unavailable", "service": "alerts"})
    return service


def _claim_refused(conn: Conn, exc: ClaimRefusedError) -> HTTPException:
    """Answer a refused claim in codes: who holds the case, by id and by name."""
    name = alerts.actor_name(conn, exc.holder) if exc.holder else None
    detail = {"code": exc.code, "claimed_by": exc.holder, "claimed_by_name": name}
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def refuse_if_claimed_by_other(row: dict[str, Any], user: User) -> None:
    """Answer 409 ``claimed_by_other`` when someone else holds the case (the dispatch route's one check)."""
    if row["claimed_by"] not in (None, actor(user)):
        detail = {
            "code": "claimed_by_other",
            "claimed_by": row["claimed_by"],
            "claimed_by_name": row["claimed_by_name"],
        }
        raise HTTPException(status.HTTP_409_CONFLICT, detail)


def _transition_refused(exc: IllegalTransitionError) -> HTTPException:
    """Answer a move the lifecycle refuses in codes (``transition_not_allowed``, ``transition_note``, …)."""
    detail = {"code": f"transition_{exc.reason}", "reason": exc.reason}
    return HTTPException(status.HTTP_409_CONFLICT, detail)


def _current(conn: Conn, user: User, alert_id: int) -> AlertPublic:
    """Return the alert as it now stands, read after the service committed."""
    row = alerts.alert(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_alert"})
    return public_alert(row, user)


def _move(
    request: Request,
    conn: Conn,
    user: User,
    alert_id: int,
    to: AlertState,
    *,
    note: str | None,
    outcome: str | None = None,
    claim: bool = False,
    real_fall: bool = False,
) -> AlertPublic:
    """Ask the alert service for one move and return the alert as it now stands."""
    service = alert_service(request)
    conn.commit()  # the service works on its own connection; do not hold our snapshot across it
    mapped = Outcome(outcome) if outcome else None
    try:
        service.transition(alert_id, to, actor(user), note=note, outcome=mapped, claim=claim, real_fall=real_fall)
    except IllegalTransitionError as exc:
        raise _transition_refused(exc) from exc
    except ClaimRefusedError as exc:
        raise _claim_refused(conn, exc) from exc
    except AlertNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_alert"}) from exc
    return _current(conn, user, alert_id)


@router.post("/{alert_id}/acknowledge", responses=_REFUSALS)
def acknowledge(
    alert_id: AlertId, body: Acknowledge, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Acknowledge a raised alert and take the case."""
    log("acknowledge", "alert", alert_id)
    return _move(request, conn, user, alert_id, AlertState.ACKNOWLEDGED, note=body.note, claim=True)


@router.post("/{alert_id}/cancel", responses=_REFUSALS)
def cancel(
    alert_id: AlertId, body: Cancel, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Cancel an alert, giving the reason."""
    log("cancel", "alert", alert_id, {"note": body.note})
    return _move(request, conn, user, alert_id, AlertState.CANCELLED, note=body.note)


@router.post("/{alert_id}/resolve", responses=_REFUSALS)
def resolve(
    alert_id: AlertId, body: Resolve, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Resolve an alert with its outcome."""
    log("resolve", "alert", alert_id, {"outcome": body.outcome, "real_fall": body.real_fall})
    return _move(
        request,
        conn,
        user,
        alert_id,
        AlertState.RESOLVED,
        note=body.note,
        outcome=body.outcome,
        real_fall=body.real_fall,
    )


@router.post("/{alert_id}/claim", responses=_REFUSALS)
def claim(
    alert_id: AlertId, body: Claim, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Take the case, so that no other operator dispatches it; a supervisor may take it over."""
    log("claim", "alert", alert_id, {"take_over": body.take_over})
    service = alert_service(request)
    conn.commit()
    try:
        service.claim(alert_id, actor(user), take_over=body.take_over)
    except ClaimRefusedError as exc:
        raise _claim_refused(conn, exc) from exc
    return _current(conn, user, alert_id)


@router.post("/{alert_id}/release", responses=_REFUSALS)
def release(
    alert_id: AlertId, body: Claim, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Give the case back to the desk (its holder, or a supervisor taking over)."""
    log("release", "alert", alert_id, {"take_over": body.take_over})
    service = alert_service(request)
    conn.commit()
    try:
        service.release(alert_id, actor(user), take_over=body.take_over)
    except ClaimRefusedError as exc:
        raise _claim_refused(conn, exc) from exc
    return _current(conn, user, alert_id)


@router.post("/{alert_id}/notes", status_code=status.HTTP_201_CREATED, responses=_REFUSALS)
def add_note(
    alert_id: AlertId, body: NoteCreate, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Write a case note on the alert's timeline."""
    log("note", "alert", alert_id)
    service = alert_service(request)
    conn.commit()
    service.add_note(alert_id, actor(user), body.text)
    return _current(conn, user, alert_id)


@router.post("/{alert_id}/bracelet", responses=_REFUSALS)
def ask_bracelet(
    alert_id: AlertId, body: BraceletAsk, *, user: AlertHandler, request: Request, conn: Conn, log: Audit
) -> AlertPublic:
    """Ask the resident's bracelet for its position now, or to call the desk back; the case timeline says so."""
    row = alerts.alert(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_alert"})
    refuse_if_claimed_by_other(row, user)
    if body.action == "call_back" and not body.number:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": "number_required"})
    send = get_actions(request).command_device
    if send is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"code": "service_unavailable", "service": "devices"})
    bracelet = alerts.bracelet_of(conn, row["resident_id"])
    if bracelet is None:
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "no_bracelet"})
    now = get_actions(request).clock()
    command: DeviceCommand
    if body.action == "locate":
        command = LocateCommand(kind="locate", ts=now)
    else:
        assert body.number is not None
        command = CallBackCommand(kind="call_back", number=body.number, ts=now)
    send(bracelet, command)
    log(f"bracelet_{body.action}", "alert", alert_id, {"device": bracelet, "number": body.number})  # the timeline's
    conn.commit()  # on the case's timeline before the console reads it again
    return _current(conn, user, alert_id)
