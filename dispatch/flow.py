"""Record a dispatch stage by stage: assign → staff told → accept/decline → en route → on site → outcome.

A thin shell over the database around the pure ranking. Each step commits before anyone is told, so a
restart loses nothing; every stage time is stored on the assignment row. A decline, an unreachable
staff member or an offer left unanswered moves the dispatch to the next candidate by itself; when
nobody is left the dispatch is marked escalated and the caller is told to escalate.

The alert lifecycle is not imported: the composition root passes ``on_stage``, which it wires to the
lifecycle's transition. It is called after our commit with the lifecycle state names ``dispatched``,
``en_route``, ``on_site`` and ``resolved``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Protocol

import psycopg
from psycopg import sql

from alerts.lifecycle import Outcome as AlertOutcome
from dispatch.errors import NotFoundError, StageError
from dispatch.messages import TOPIC_ROOT, DispatchChange, DispatchEvent, StaffPosition, dispatch_topic, position_topic
from dispatch.people import Conn, load_resident_place, load_staff, report_location
from dispatch.places import Point, ResidentPlace, StaffStatus
from dispatch.ranking import Candidate, Ranking, RankingPolicy, rank

Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
Publish = Callable[[str, bytes], None]
LOG = logging.getLogger(__name__)
SYSTEM: Final = "system"  # the actor of steps the flow takes by itself


@dataclass(frozen=True, slots=True)
class StaffTask:
    """What a staff member is told when offered a task."""

    assignment_id: int
    dispatch_id: int
    alert_id: str
    staff_id: str
    staff_name: str
    resident: ResidentPlace
    eta: timedelta
    deadline: datetime
    in_time: bool


class StaffNotifier(Protocol):
    """Tell a staff member of a task; return whether the message went out."""

    def __call__(self, task: StaffTask) -> bool: ...


def staff_actor(staff_id: str) -> str:
    """Name a staff member as the alert lifecycle names actors (``staff:s3``)."""
    return f"staff:{staff_id}"


class OnStage(Protocol):
    """Move the alert through its lifecycle (wired to the alert service's transition)."""

    def __call__(
        self, alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "", outcome: str | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a dispatch ended, and the outcome the alert closes with when the staff member reports it."""

    code: str
    name_en: str
    name_zh: str
    closes_as: AlertOutcome


OUTCOMES: Final[MappingProxyType[str, Outcome]] = MappingProxyType(
    {
        o.code: o
        for o in (
            Outcome("helped_at_home", "Helped at home", "上门处置完毕", AlertOutcome.NO_INJURY),
            Outcome("ambulance_called", "Ambulance called", "已呼叫120", AlertOutcome.HOSPITAL),
            Outcome("taken_to_hospital", "Taken to hospital", "已送医", AlertOutcome.HOSPITAL),
            Outcome("family_took_over", "Family took over", "家属接手", AlertOutcome.OTHER),
            Outcome("false_alarm", "False alarm", "误报", AlertOutcome.FALSE_ALARM),
            Outcome("not_at_home", "Resident not at home", "老人不在家", AlertOutcome.OTHER),
        )
    }
)
# What staff report → the lifecycle's outcome of the alert.
DISPATCH_OUTCOMES: Final[MappingProxyType[str, AlertOutcome]] = MappingProxyType(
    {code: o.closes_as for code, o in OUTCOMES.items()}
)


@dataclass(frozen=True, slots=True)
class Step:
    """One staff step: the assignment states it may follow, what it sets, the lifecycle stage it means."""

    name: str
    after: tuple[str, ...]
    state: str
    column: str
    dispatch_state: str
    stage: str | None
    staff_status: StaffStatus


STEPS: Final[MappingProxyType[str, Step]] = MappingProxyType(
    {
        s.name: s
        for s in (
            Step("accept", ("offered",), "accepted", "accepted_at", "accepted", None, StaffStatus.ON_TASK),
            # Leaving at once is an implicit accept: staff in a hurry skip the button.
            Step(
                "en_route",
                ("offered", "accepted"),
                "en_route",
                "en_route_at",
                "en_route",
                "en_route",
                StaffStatus.ON_TASK,
            ),
            Step(
                "on_site",
                ("offered", "accepted", "en_route"),
                "on_site",
                "on_site_at",
                "on_site",
                "on_site",
                StaffStatus.ON_TASK,
            ),
            Step("outcome", ("on_site",), "done", "outcome_at", "closed", "resolved", StaffStatus.AVAILABLE),
        )
    }
)
_LIVE: Final = ("offered", "accepted", "en_route", "on_site")


@dataclass(frozen=True, slots=True)
class Offer:
    """The result of assigning: who was offered the task, or that nobody can go and the caller must escalate."""

    dispatch_id: int
    alert_id: str
    ranking: Ranking
    assignment_id: int | None = None
    staff_id: str | None = None

    @property
    def must_escalate(self) -> bool:
        """Tell whether nobody could be offered the task."""
        return self.assignment_id is None


@dataclass(frozen=True, slots=True)
class _Dispatch:
    """The row of a dispatch the flow needs."""

    id: int
    alert_id: str
    resident_id: str
    raised_at: datetime


class DispatchFlow:
    """Assign staff to alerts and record every stage of their trip."""

    def __init__(
        self,
        connect: Connect,
        *,
        policy: RankingPolicy,
        notify_staff: StaffNotifier,
        on_stage: OnStage,
        offer_timeout: timedelta = timedelta(minutes=3),
        publish: Publish | None = None,
        topic_root: str = TOPIC_ROOT,
        on_change: Callable[[DispatchChange], None] | None = None,
    ) -> None:
        self._connect = connect
        self._policy = policy
        self._notify_staff = notify_staff
        self._on_stage = on_stage
        self.offer_timeout = offer_timeout
        self._publish = publish
        self._root = topic_root
        self.on_change = on_change  # told of every committed change after it is published (family notices)

    def preview(self, resident_id: str, raised_at: datetime, now: datetime) -> Ranking:
        """Rank the staff for a resident without assigning anyone (the operator console's list)."""
        with self._connect() as conn:
            place = load_resident_place(conn, resident_id)
            staff = load_staff(conn, now, resident_id)
            return rank(place, staff, raised_at=raised_at, now=now, policy=self._policy)

    def assign(
        self,
        alert_id: str,
        resident_id: str,
        *,
        raised_at: datetime,
        actor: str,
        now: datetime,
        staff_id: str | None = None,
    ) -> Offer:
        """Offer the alert's task to the top candidate (or to ``staff_id``), and tell them."""
        with self._connect() as conn:
            dispatch = _open(
                conn, alert_id, resident_id, raised_at=raised_at, actor=actor, now=now, policy=self._policy
            )
        return self._offer(dispatch, actor, now, staff_id)

    def accept(self, assignment_id: int, now: datetime) -> None:
        """Record that the staff member accepted the task."""
        self._step(assignment_id, STEPS["accept"], now)

    def en_route(self, assignment_id: int, now: datetime) -> None:
        """Record that the staff member is on the way."""
        self._step(assignment_id, STEPS["en_route"], now)

    def on_site(self, assignment_id: int, now: datetime) -> None:
        """Record that the staff member is at the door."""
        self._step(assignment_id, STEPS["on_site"], now)

    def finish(self, assignment_id: int, outcome: str, now: datetime, note: str = "") -> None:
        """Record how the visit ended; the staff member becomes available again."""
        if outcome not in OUTCOMES:
            raise StageError(f"unknown outcome {outcome!r}; known: {sorted(OUTCOMES)}")
        self._step(assignment_id, STEPS["outcome"], now, outcome=outcome, note=note)

    def decline(self, assignment_id: int, now: datetime, reason: str = "") -> Offer:
        """Record a decline and offer the task to the next candidate."""
        return self._end_offer(assignment_id, "declined", now, reason)

    def expire_offers(self, now: datetime) -> list[Offer]:
        """Move every offer left unanswered for longer than the offer timeout to the next candidate."""
        with self._connect() as conn:
            stale = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM dispatch_assignments WHERE state = 'offered' AND assigned_at <= %s ORDER BY id",
                    (now - self.offer_timeout,),
                )
            ]
        return [self._end_offer(a, "timed_out", now, "no answer") for a in stale]

    def withdraw(self, alert_id: str, now: datetime, reason: str) -> list[str]:
        """End the live assignment of a closed alert and free its staff member; return whom it freed."""
        with self._connect() as conn:
            ended = _withdraw(conn, alert_id, now, reason)
        for dispatch, assignment_id, staff_id in ended:
            self._tell(dispatch, DispatchEvent.WITHDRAWN, now, assignment_id, staff_id, reason=reason)
        return [staff_id for _, _, staff_id in ended]

    def report_position(self, staff_id: str, where: Point, at: datetime) -> None:
        """Store a staff member's position and show it on every console."""
        with self._connect() as conn:
            report_location(conn, staff_id, where, at)
        message = StaffPosition(staff_id=staff_id, lat=where.lat, lon=where.lon, at=at)
        self._send(position_topic(staff_id, self._root), message.model_dump_json().encode())

    def _offer(self, dispatch: _Dispatch, actor: str, now: datetime, staff_id: str | None) -> Offer:
        """Offer to candidates in turn until one is told, or nobody is left."""
        while True:
            with self._connect() as conn:
                offer, task, first = _claim_candidate(
                    conn, dispatch, actor, now, staff_id=staff_id, policy=self._policy
                )
            if task is None:
                self._tell(dispatch, DispatchEvent.NOBODY_LEFT, now)
                return offer
            if first:
                self._on_stage(dispatch.alert_id, "dispatched", actor, now)  # the offer itself is on the timeline
            if self._notify_staff(task):
                with self._connect() as conn:
                    conn.execute(
                        "UPDATE dispatch_assignments SET notified_at = %s WHERE id = %s", (now, task.assignment_id)
                    )
                eta = task.eta.total_seconds() / 60
                self._tell(dispatch, DispatchEvent.OFFERED, now, task.assignment_id, task.staff_id, eta_min=eta)
                return offer
            with self._connect() as conn:
                _close_offer(conn, task.assignment_id, "unreachable", now, "could not be told")
            self._tell(dispatch, DispatchEvent.UNREACHABLE, now, task.assignment_id, task.staff_id)
            actor, staff_id = SYSTEM, None

    def _end_offer(self, assignment_id: int, state: str, now: datetime, reason: str) -> Offer:
        """End an offer that was not taken up and offer the task to the next candidate."""
        with self._connect() as conn:
            dispatch, staff_id = _close_offer(conn, assignment_id, state, now, reason)
        self._tell(dispatch, DispatchEvent(state), now, assignment_id, staff_id, reason=reason or None)
        return self._offer(dispatch, SYSTEM, now, None)

    def _step(self, assignment_id: int, step: Step, now: datetime, outcome: str | None = None, note: str = "") -> None:
        """Advance an assignment by one step, then tell the lifecycle."""
        with self._connect() as conn:
            dispatch, staff_id = _advance(conn, assignment_id, step, now, outcome=outcome, note=note)
        self._tell(dispatch, DispatchEvent(step.state), now, assignment_id, staff_id, reason=outcome)
        if step.stage is not None:
            self._on_stage(dispatch.alert_id, step.stage, staff_actor(staff_id), now, note=note, outcome=outcome)

    def _tell(
        self,
        dispatch: _Dispatch,
        event: DispatchEvent,
        at: datetime,
        assignment_id: int | None = None,
        staff_id: str | None = None,
        *,
        eta_min: float | None = None,
        reason: str | None = None,
    ) -> None:
        """Publish one committed dispatch change for every open console, then tell the change hook."""
        if self._publish is None and self.on_change is None:
            return
        staff_name = None
        if staff_id is not None:
            with self._connect() as conn:
                row = conn.execute("SELECT name FROM staff WHERE id = %s", (staff_id,)).fetchone()
            staff_name = str(row[0]) if row else None
        change = DispatchChange(
            alert_id=dispatch.alert_id,
            resident_id=dispatch.resident_id,
            dispatch_id=dispatch.id,
            event=event,
            at=at,
            assignment_id=assignment_id,
            staff_id=staff_id,
            staff_name=staff_name,
            eta_min=eta_min,
            reason=reason,
        )
        self._send(dispatch_topic(dispatch.resident_id, self._root), change.model_dump_json().encode())
        if self.on_change is not None:
            try:
                self.on_change(change)
            except Exception:
                LOG.exception("the dispatch change hook failed for alert %s", dispatch.alert_id)

    def _send(self, topic: str, payload: bytes) -> None:
        """Publish after commit; a console that missed it reloads the case from the database."""
        if self._publish is None:
            return
        try:
            self._publish(topic, payload)
        except Exception:
            LOG.exception("could not publish on %s", topic)


def _open(
    conn: Conn,
    alert_id: str,
    resident_id: str,
    *,
    raised_at: datetime,
    actor: str,
    now: datetime,
    policy: RankingPolicy,
) -> _Dispatch:
    """Create the dispatch of an alert, or return the open one; refuse while someone is on it."""
    place = load_resident_place(conn, resident_id)
    promise = policy.travel(place.area_type).promise
    conn.execute(
        "INSERT INTO dispatches (alert_id, resident_id, raised_at, promise_min, deadline, opened_by, opened_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (alert_id) DO NOTHING",
        (alert_id, resident_id, raised_at, int(promise.total_seconds() // 60), raised_at + promise, actor, now),
    )
    dispatch = _lock_dispatch(conn, "alert_id = %s", alert_id)
    if dispatch.resident_id != resident_id:
        raise StageError(f"alert {alert_id!r} is dispatched to resident {dispatch.resident_id!r}")
    live = conn.execute(
        "SELECT count(*) FROM dispatch_assignments WHERE dispatch_id = %s AND state = ANY(%s)",
        (dispatch.id, list(_LIVE)),
    ).fetchone()
    if live and live[0]:
        raise StageError(f"alert {alert_id!r} already has staff assigned")
    return dispatch


def _lock_dispatch(conn: Conn, where: str, value: object) -> _Dispatch:
    """Load and lock one dispatch."""
    query = sql.SQL("SELECT id, alert_id, resident_id, raised_at FROM dispatches WHERE {} FOR UPDATE")
    row = conn.execute(query.format(sql.SQL(where)), (value,)).fetchone()
    if row is None:
        raise NotFoundError(f"no dispatch where {where} {value!r}")
    return _Dispatch(*row)


def _claim_candidate(
    conn: Conn, dispatch: _Dispatch, actor: str, now: datetime, *, staff_id: str | None, policy: RankingPolicy
) -> tuple[Offer, StaffTask | None, bool]:
    """Rank afresh, leaving out whoever already had this task, and reserve the chosen staff member."""
    _lock_dispatch(conn, "id = %s", dispatch.id)
    tried = frozenset(
        r[0] for r in conn.execute("SELECT staff_id FROM dispatch_assignments WHERE dispatch_id = %s", (dispatch.id,))
    )
    place = load_resident_place(conn, dispatch.resident_id)
    staff = load_staff(conn, now, dispatch.resident_id)
    ranking = rank(place, staff, raised_at=dispatch.raised_at, now=now, policy=policy, exclude=tried)
    chosen = _choose(ranking, staff_id)
    if chosen is None:
        conn.execute("UPDATE dispatches SET state = 'escalated' WHERE id = %s", (dispatch.id,))
        return Offer(dispatch.id, dispatch.alert_id, ranking), None, False
    assignment_id = _insert_assignment(conn, dispatch.id, chosen, actor, now)
    conn.execute("UPDATE staff SET status = 'on_task' WHERE id = %s", (chosen.staff.id,))
    conn.execute("UPDATE dispatches SET state = 'assigning' WHERE id = %s", (dispatch.id,))
    task = StaffTask(
        assignment_id,
        dispatch.id,
        dispatch.alert_id,
        chosen.staff.id,
        chosen.staff.name,
        place,
        chosen.eta,
        ranking.deadline,
        chosen.in_time,
    )
    offer = Offer(dispatch.id, dispatch.alert_id, ranking, assignment_id, chosen.staff.id)
    return offer, task, not tried


def _choose(ranking: Ranking, staff_id: str | None) -> Candidate | None:
    """Take the operator's pick when they named one, else the top candidate."""
    if staff_id is None:
        return ranking.best
    for candidate in ranking.candidates:
        if candidate.staff.id == staff_id:
            return candidate
    raise StageError(f"staff member {staff_id!r} cannot be sent now (busy, off shift or already tried)")


def _insert_assignment(conn: Conn, dispatch_id: int, chosen: Candidate, actor: str, now: datetime) -> int:
    """Store an offer with the ranking's estimate and reasons."""
    row = conn.execute(
        "INSERT INTO dispatch_assignments (dispatch_id, staff_id, rank, distance_km, eta_min, in_time,"
        " reason_en, reason_zh, assigned_by, assigned_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (
            dispatch_id,
            chosen.staff.id,
            chosen.rank,
            chosen.road_km,
            chosen.eta.total_seconds() / 60,
            chosen.in_time,
            chosen.reason_en,
            chosen.reason_zh,
            actor,
            now,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _lock_assignment(conn: Conn, assignment_id: int) -> tuple[str, str, _Dispatch]:
    """Load and lock an assignment with its dispatch; return its state, staff id and dispatch."""
    row = conn.execute(
        "SELECT a.state, a.staff_id, d.id, d.alert_id, d.resident_id, d.raised_at FROM dispatch_assignments a"
        " JOIN dispatches d ON d.id = a.dispatch_id WHERE a.id = %s FOR UPDATE OF a, d",
        (assignment_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no assignment {assignment_id}")
    return row[0], row[1], _Dispatch(*row[2:])


def _close_offer(conn: Conn, assignment_id: int, state: str, now: datetime, reason: str) -> tuple[_Dispatch, str]:
    """End an offer as declined, timed out or unreachable and free the staff member."""
    current, staff_id, dispatch = _lock_assignment(conn, assignment_id)
    if current not in ("offered", "accepted"):
        raise StageError(f"assignment {assignment_id} is {current}; only an open offer can be declined")
    ended = "declined_at" if state == "declined" else "ended_at"
    query = sql.SQL("UPDATE dispatch_assignments SET state = %s, {col} = %s, decline_reason = %s WHERE id = %s")
    conn.execute(query.format(col=sql.Identifier(ended)), (state, now, reason or None, assignment_id))
    conn.execute("UPDATE staff SET status = 'available' WHERE id = %s AND status = 'on_task'", (staff_id,))
    return dispatch, staff_id


def _withdraw(conn: Conn, alert_id: str, now: datetime, reason: str) -> list[tuple[_Dispatch, int, str]]:
    """End every live assignment of an alert's dispatch, free its staff and close the dispatch."""
    row = conn.execute("SELECT id FROM dispatches WHERE alert_id = %s", (alert_id,)).fetchone()
    if row is None:
        return []
    dispatch = _lock_dispatch(conn, "id = %s", row[0])
    live = conn.execute(
        "UPDATE dispatch_assignments SET state = 'withdrawn', ended_at = %s, decline_reason = %s"
        " WHERE dispatch_id = %s AND state = ANY(%s) RETURNING id, staff_id",
        (now, reason, dispatch.id, list(_LIVE)),
    ).fetchall()
    for _, staff_id in live:
        conn.execute("UPDATE staff SET status = 'available' WHERE id = %s AND status = 'on_task'", (staff_id,))
    conn.execute(
        "UPDATE dispatches SET state = 'withdrawn', closed_at = coalesce(closed_at, %s)"
        " WHERE id = %s AND state <> 'closed'",
        (now, dispatch.id),
    )
    return [(dispatch, int(a), str(s)) for a, s in live]


def _advance(
    conn: Conn, assignment_id: int, step: Step, now: datetime, *, outcome: str | None, note: str
) -> tuple[_Dispatch, str]:
    """Apply one step to an assignment, its dispatch and its staff member."""
    current, staff_id, dispatch = _lock_assignment(conn, assignment_id)
    if current not in step.after:
        raise StageError(f"assignment {assignment_id} is {current}; cannot {step.name}")
    # Later steps imply the accept, so accepted_at is filled in when staff skipped the button.
    conn.execute(
        "UPDATE dispatch_assignments SET accepted_at = coalesce(accepted_at, %s) WHERE id = %s", (now, assignment_id)
    )
    update = sql.SQL(
        "UPDATE dispatch_assignments SET state = %s, {col} = %s, outcome = coalesce(%s, outcome) WHERE id = %s"
    )
    conn.execute(update.format(col=sql.Identifier(step.column)), (step.state, now, outcome, assignment_id))
    conn.execute("UPDATE staff SET status = %s WHERE id = %s", (step.staff_status.value, staff_id))
    closing = step.dispatch_state == "closed"
    conn.execute(
        "UPDATE dispatches SET state = %s, outcome = coalesce(%s, outcome), outcome_note = coalesce(%s, outcome_note),"
        " closed_at = CASE WHEN %s THEN %s ELSE closed_at END WHERE id = %s",
        (step.dispatch_state, outcome, note or None, closing, now, dispatch.id),
    )
    if closing:
        # The staff member is now at the resident's home: the next ranking should start from there.
        report_location(conn, staff_id, load_resident_place(conn, dispatch.resident_id).location, now)
    return dispatch, staff_id
