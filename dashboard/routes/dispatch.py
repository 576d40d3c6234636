"""Dispatch: ranked candidates for an alert, sending staff, and each staff task's steps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse

from alerts.errors import IllegalTransitionError
from dashboard import access
from dashboard.actions import Actions, actor
from dashboard.deps import AlertHandler, AlertId, Audit, Conn, CurrentUser
from dashboard.roles import ROLES, RoleName
from dashboard.routes.alerts import refuse_if_claimed_by_other
from dashboard.schemas.dispatch import (
    CandidatePublic,
    Decline,
    DispatchCreate,
    Finish,
    OfferPublic,
    PassedOverPublic,
    RankingPublic,
    ReasonPublic,
    SummaryPublic,
    TaskPublic,
)
from dashboard.store import alerts, tasks
from dashboard.store.users import User
from dispatch.errors import DispatchError, NobodyAvailableError, NotFoundError, StageError
from dispatch.flow import DispatchFlow
from dispatch.ranking import Candidate, Ranking

router = APIRouter(prefix="/api", tags=["dispatch"])
_REFUSALS: dict[int | str, dict[str, Any]] = {404: {}, 409: {}, 503: {}}


def get_flow(request: Request) -> DispatchFlow:
    """Return the dispatch flow, or answer 503 when the platform has none wired."""
    acts: Actions = request.app.state.actions
    if acts.dispatch is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"code": "service_unavailable", "service": "dispatch"})
    return acts.dispatch


Flow = Annotated[DispatchFlow, Depends(get_flow)]


def now(request: Request) -> datetime:
    """Return the platform's present time."""
    acts: Actions = request.app.state.actions
    return acts.clock()


@contextmanager
def translated() -> Iterator[None]:
    """Turn dispatch errors into HTTP answers."""
    try:
        yield
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "dispatch_not_found"}) from exc
    except NobodyAvailableError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "nobody_available"}) from exc
    except StageError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "dispatch_stage_refused"}) from exc
    except IllegalTransitionError as exc:
        detail = {"code": f"transition_{exc.reason}", "reason": exc.reason}
        raise HTTPException(status.HTTP_409_CONFLICT, detail) from exc
    except DispatchError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, {"code": "dispatch_refused"}) from exc


def _candidate(c: Candidate) -> CandidatePublic:
    """Describe one candidate with its reason as a code and parameters."""
    r = c.reason
    where = c.staff.last_location or c.staff.station.location
    return CandidatePublic(
        staff_id=c.staff.id,
        name=c.staff.name,
        role=c.staff.role.value,
        station_id=c.staff.station.id,
        rank=c.rank,
        origin=c.origin,
        road_km=r.road_km,
        eta_min=c.eta_min,
        arrives_at=c.arrives_at,
        in_time=c.in_time,
        margin_min=c.margin_min,
        reason=ReasonPublic(
            code=r.lead.value,
            origin=r.origin,
            road_km=r.road_km,
            eta_min=r.eta_min,
            promise_min=r.promise_min,
            margin_min=r.margin_min,
            behind_min=r.behind_min,
            fastest=r.fastest,
        ),
        lat=where.lat,
        lon=where.lon,
    )


def _ranking(alert_id: int, ranking: Ranking) -> RankingPublic:
    """Describe a ranking for the dispatch panel: codes with parameters, which the page translates."""
    s = ranking.summary
    return RankingPublic(
        alert_id=alert_id,
        promise_min=ranking.promise.total_seconds() / 60,
        deadline=ranking.deadline,
        verdict=ranking.verdict.value,
        summary=SummaryPublic(
            code=s.verdict.value, promise_min=s.promise_min, name=s.name, eta_min=s.eta_min, margin_min=s.margin_min
        ),
        candidates=[_candidate(c) for c in ranking.candidates],
        passed_over=[
            PassedOverPublic(staff_id=p.staff.id, name=p.staff.name, code=p.code.value) for p in ranking.passed_over
        ],
    )


def _alert_row(conn: Conn, alert_id: int) -> dict[str, Any]:
    """Load an alert or answer 404."""
    row = alerts.alert(conn, alert_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_alert"})
    return row


@router.get("/alerts/{alert_id}/candidates", responses=_REFUSALS)
def candidates(alert_id: AlertId, _: AlertHandler, conn: Conn, flow: Flow, request: Request) -> RankingPublic:
    """Rank the staff who could go to this alert, by arrival against the promise."""
    row = _alert_row(conn, alert_id)
    with translated():
        return _ranking(alert_id, flow.preview(row["resident_id"], row["raised_at"], now(request)))


@router.post("/alerts/{alert_id}/dispatch", responses=_REFUSALS)
def send(
    alert_id: AlertId, body: DispatchCreate, *, user: AlertHandler, conn: Conn, flow: Flow, log: Audit, request: Request
) -> OfferPublic:
    """Offer the task to the top candidate, or to the staff member named."""
    row = _alert_row(conn, alert_id)
    refuse_if_claimed_by_other(row, user)
    if body.staff_id is not None and not access.may_reach_staff(conn, user, body.staff_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_staff"})
    if row["state"] != "acknowledged":
        raise HTTPException(status.HTTP_409_CONFLICT, {"code": "dispatch_needs_acknowledged", "state": row["state"]})
    log("dispatch", "alert", alert_id, {"staff_id": body.staff_id})
    conn.commit()
    with translated():
        offer = flow.assign(
            str(alert_id),
            row["resident_id"],
            raised_at=row["raised_at"],
            actor=actor(user),
            now=now(request),
            staff_id=body.staff_id,
        )
    return OfferPublic(
        dispatch_id=offer.dispatch_id,
        alert_id=offer.alert_id,
        assignment_id=offer.assignment_id,
        staff_id=offer.staff_id,
        must_escalate=offer.must_escalate,
    )


@router.get("/alerts/{alert_id}/tasks", responses={404: {}})
def alert_tasks(alert_id: AlertId, user: CurrentUser, conn: Conn) -> list[TaskPublic]:
    """List the assignments of an alert (staff: only their own)."""
    rows = tasks.tasks(conn, alert_id=alert_id, staff_id=user.staff_id if user.role is RoleName.STAFF else None)
    if user.role is RoleName.FAMILY:
        rows = [{**r, "medical_notes": None, "key_holder": None} for r in rows]
    return [TaskPublic(**r) for r in rows]


@router.get("/tasks")
def my_tasks(user: CurrentUser, conn: Conn, log: Audit, live_only: bool = True) -> list[TaskPublic]:
    """List tasks: a staff member's own, or every live one for the desk."""
    if user.role is RoleName.STAFF:
        rows = tasks.tasks(conn, staff_id=user.staff_id, live_only=live_only)
    elif ROLES[user.role].all_residents:
        rows = tasks.tasks(conn, live_only=live_only, district_id=access.district_of(user))
    else:
        raise HTTPException(status.HTTP_403_FORBIDDEN, {"code": "role_not_allowed", "role": user.role.value})
    log("list", "task", user.staff_id, {"count": len(rows)})
    return [TaskPublic(**r) for r in rows]


def reach_task(assignment_id: int, user: CurrentUser, conn: Conn) -> int:
    """Let through a task the user may act on: a staff member's own, or (the desk) one of their district's."""
    owner = tasks.assignment_owner(conn, assignment_id)
    mine = owner is not None and user.role is RoleName.STAFF and owner[0] == user.staff_id
    desk = owner is not None and ROLES[user.role].handles_alerts and access.may_reach_resident(conn, user, owner[1])
    if owner is None or not (mine or desk):
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_task"})
    return assignment_id


TaskId = Annotated[int, Depends(reach_task)]
_STEPS: Final[dict[str, Callable[[DispatchFlow, int, datetime], None]]] = {
    "accept": lambda f, a, t: f.accept(a, t),
    "en_route": lambda f, a, t: f.en_route(a, t),
    "on_site": lambda f, a, t: f.on_site(a, t),
}


def _step(
    name: str, assignment_id: int, *, user: User, conn: Conn, flow: DispatchFlow, log: Audit, request: Request
) -> list[TaskPublic]:
    """Take one step on a task and return it as it now stands."""
    log(name, "task", assignment_id)
    conn.commit()
    with translated():
        _STEPS[name](flow, assignment_id, now(request))
    return [TaskPublic(**r) for r in tasks.tasks(conn, assignment_id=assignment_id)]


@router.post("/tasks/{assignment_id}/accept", responses=_REFUSALS)
def accept(
    assignment_id: TaskId, *, user: CurrentUser, conn: Conn, flow: Flow, log: Audit, request: Request
) -> list[TaskPublic]:
    """Accept a task."""
    return _step("accept", assignment_id, user=user, conn=conn, flow=flow, log=log, request=request)


@router.post("/tasks/{assignment_id}/en_route", responses=_REFUSALS)
def en_route(
    assignment_id: TaskId, *, user: CurrentUser, conn: Conn, flow: Flow, log: Audit, request: Request
) -> list[TaskPublic]:
    """Report being on the way."""
    return _step("en_route", assignment_id, user=user, conn=conn, flow=flow, log=log, request=request)


@router.post("/tasks/{assignment_id}/on_site", responses=_REFUSALS)
def on_site(
    assignment_id: TaskId, *, user: CurrentUser, conn: Conn, flow: Flow, log: Audit, request: Request
) -> list[TaskPublic]:
    """Report arriving at the door."""
    return _step("on_site", assignment_id, user=user, conn=conn, flow=flow, log=log, request=request)


@router.post("/tasks/{assignment_id}/decline", responses=_REFUSALS)
def decline(
    assignment_id: TaskId, body: Annotated[Decline, Body()], *, flow: Flow, conn: Conn, log: Audit, request: Request
) -> OfferPublic:
    """Decline a task; it is offered to the next candidate."""
    log("decline", "task", assignment_id, {"reason": body.reason})
    conn.commit()
    with translated():
        offer = flow.decline(assignment_id, now(request), body.reason)
    return OfferPublic(
        dispatch_id=offer.dispatch_id,
        alert_id=offer.alert_id,
        assignment_id=offer.assignment_id,
        staff_id=offer.staff_id,
        must_escalate=offer.must_escalate,
    )


@router.post("/tasks/{assignment_id}/outcome", responses=_REFUSALS)
def outcome(
    assignment_id: TaskId, body: Finish, *, conn: Conn, flow: Flow, log: Audit, request: Request
) -> list[TaskPublic]:
    """Record how the visit ended."""
    log("outcome", "task", assignment_id, {"outcome": body.outcome})
    conn.commit()
    with translated():
        flow.finish(assignment_id, body.outcome, now(request), body.note)
    return [TaskPublic(**r) for r in tasks.tasks(conn, assignment_id=assignment_id)]


@router.get("/task-link/{token}", include_in_schema=False)
def open_task_link(token: str, request: Request) -> RedirectResponse:
    """Open the task a signed offer link names on the staff page (signing in first if needed)."""
    acts: Actions = request.app.state.actions
    if acts.read_task_link is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"code": "task_links_unavailable"})
    try:
        assignment_id, _ = acts.read_task_link(token)
    except Exception as exc:  # a forged, expired or malformed token: one answer for all
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "task_link_invalid"}) from exc
    return RedirectResponse(f"/staff?task={assignment_id}", status_code=status.HTTP_303_SEE_OTHER)
