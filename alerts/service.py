"""The alert service: the thin I/O shell around the lifecycle and escalation rules.

Three entry points, each one short transaction that commits before anyone is told:

* `AlertService.handle` turns detectors' findings into alerts: one open alert per resident and kind is
  updated, never duplicated; related kinds join the resident's open incident of their group; a ``cancels``
  finding is always stored, and cancels the alert when its kind allows (the resident's "I'm OK").
* `AlertService.transition` is how operators, staff and the dispatch engine move an alert on.
* `AlertService.run_due` fires the escalations whose stored deadlines passed. Rows are taken with
  ``FOR UPDATE SKIP LOCKED`` and each step is stored once, so any number of processes may run it, and a
  restarted process carries on where the stored clock stands.

The desk's own moves are short transactions of the same kind: `AlertService.claim` and `release` store who
holds a case (so no two operators dispatch the same alert; acknowledging claims it for the acknowledger,
and a supervisor may take a claim over), and `AlertService.add_note` stores a case note. Each publishes
an `AlertChange` (``claimed``, ``released``, ``note_added``) with the person in ``actor``.

After each commit, changes go to ``publish(topic, payload)`` — the composition root hands in a paho-based
QoS 1 publisher, so this package never imports paho — and escalations also to the ``notify`` hook.
An escalation is marked published only after both took it; one left unmarked (a process died between
commit and publish) is sent again by a later `run_due`, so notification is at least once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta
from typing import Final

import psycopg

from alerts import store
from alerts.errors import AlertStoreError, ClaimRefusedError, IllegalTransitionError, UnknownKindError
from alerts.escalation import EscalationAction, EscalationKind, EscalationPolicy, escalate, next_deadline
from alerts.findings import Finding
from alerts.kinds import ALERT_KINDS, Severity
from alerts.lifecycle import (
    CLOSED_STATES,
    AlertState,
    Outcome,
    Role,
    Transition,
    advance,
    moves,
    raise_alert,
    role_of,
)
from alerts.messages import (
    TOPIC_ROOT,
    AlertChange,
    ChangeAction,
    EscalationMessage,
    ProvisionalAlert,
    alert_topic,
    escalation_topic,
)
from alerts.outcomes import FallOutcomes
from alerts.store import AlertRow, Conn

LOG = logging.getLogger(__name__)

ConnectionSource = Callable[[], AbstractContextManager[Conn]]  # pool.connection, or lambda: psycopg.connect(url)
Publish = Callable[[str, bytes], None]
Notify = Callable[[EscalationAction], None]
OnChange = Callable[[AlertChange], None]  # told of every committed change, after it is published
AreaLookup = Callable[[Conn, str], str | None]  # resident id → area type ("city", "countryside"), None if unknown

# Kinds whose condition ends by itself: when the detector says so, the system closes the alert.
SELF_CLEARING: Final = frozenset({"device_offline", "battery_low", "not_worn"})
MAX_ANNOUNCED: Final = 10_000  # provisional announcements remembered while the database is down
TAKES_OVER: Final = frozenset({Role.SUPERVISOR})  # who may take a case another person holds


class AlertService:
    """Raise, update, move and escalate alerts; commit each change, then publish it."""

    def __init__(
        self,
        connect: ConnectionSource,
        publish: Publish,
        clock: Callable[[], datetime],
        policy: EscalationPolicy | None = None,
        *,
        notify: Notify | None = None,
        on_change: OnChange | None = None,
        area_of: AreaLookup = store.resident_area,
        self_clearing: frozenset[str] = SELF_CLEARING,
        topic_root: str = TOPIC_ROOT,
        due_batch: int = 100,
        republish_after: timedelta = timedelta(seconds=30),
        outcomes: FallOutcomes | None = None,
    ) -> None:
        self._connect = connect
        self._publish = publish
        self._clock = clock
        self.policy = policy or EscalationPolicy()
        self._notify = notify
        self.on_change = on_change  # the care side closes what an alert started when it closes
        self._area_of = area_of
        self._root = topic_root
        self._due_batch = due_batch
        self._republish_after = republish_after  # long enough that the process that fired it is not still at it
        # Who closes an alert when a detector reports its condition ended; kinds absent here stay open.
        self._canceller: Mapping[str, str] = dict.fromkeys(self_clearing, "system") | {
            name: "resident" for name, kind in ALERT_KINDS.items() if kind.cancellable
        }
        self._announced: set[tuple[str, str, datetime]] = set()  # critical findings published as provisional
        self.outcomes = outcomes  # keeps closed falls' windows (with consent) and adjusts look-alike false falls

    def handle(self, findings: Iterable[Finding]) -> list[AlertChange]:
        """Store findings as new or updated alerts, one transaction per resident; return what changed."""
        batch = list(findings)
        for finding in batch:
            if finding.kind not in ALERT_KINDS:
                raise UnknownKindError(f"finding of unknown kind {finding.kind!r}")
        by_resident: dict[str, list[Finding]] = {}
        for finding in batch:
            by_resident.setdefault(finding.resident_id, []).append(finding)
        changes: list[AlertChange] = []
        for resident_id, group in by_resident.items():
            changes += self._handle_resident(resident_id, group)
        return changes

    def transition(
        self,
        alert_id: int,
        to: AlertState,
        actor: str,
        note: str | None = None,
        outcome: Outcome | None = None,
        *,
        claim: bool = False,
        real_fall: bool = False,
    ) -> AlertChange:
        """Move an alert to ``to`` on behalf of ``actor`` (taking the case when ``claim``); refuse if not allowed.

        ``real_fall`` is the desk's word that a resolved fall alert was a real fall (a false alarm says the
        opposite by its outcome); with the resident's consent the impact window is kept with that label.
        Raises `IllegalTransitionError` for a move the lifecycle refuses, and `ClaimRefusedError` when
        ``claim`` is asked and another person holds the case.
        """
        if real_fall and outcome in (None, Outcome.FALSE_ALARM):
            raise IllegalTransitionError("verdict", "only a resolution other than a false alarm confirms a fall")
        now = self._clock()
        with self._transaction() as conn:
            alert = store.get_alert(conn, alert_id, for_update=True)
            step = advance(alert.state, to, actor, now, note=note, outcome=outcome)
            if claim and alert.claimed_by != actor:
                _may_claim(alert, actor, take_over=False)
                store.set_claim(conn, alert_id, actor, now)
            row = self._rearm(conn, store.apply_transition(conn, alert_id, step))
            if self.outcomes is not None and step.outcome is not None:
                self.outcomes.closed(conn, row, real_fall, now)
        change = _change(row, ChangeAction.TRANSITION, now, step)
        self._send_changes([change])
        return change

    def claim(self, alert_id: int, actor: str, *, take_over: bool = False) -> AlertChange | None:
        """Take the case for ``actor``; return None when they already hold it, raise `ClaimRefusedError` if refused.

        A case another person holds is refused, unless ``take_over`` is asked by a role that may take over.
        """
        now = self._clock()
        with self._transaction() as conn:
            alert = store.get_alert(conn, alert_id, for_update=True)
            if alert.state in CLOSED_STATES:
                raise ClaimRefusedError("alert_closed", alert.claimed_by)
            if alert.claimed_by == actor:
                return None
            _may_claim(alert, actor, take_over=take_over)
            row = store.set_claim(conn, alert_id, actor, now)
        change = _change(row, ChangeAction.CLAIMED, now, actor=actor)
        self._send_changes([change])
        return change

    def release(self, alert_id: int, actor: str, *, take_over: bool = False) -> AlertChange:
        """Give the case back to the desk; only its holder may, or a role that may take over when ``take_over``."""
        now = self._clock()
        with self._transaction() as conn:
            alert = store.get_alert(conn, alert_id, for_update=True)
            if alert.claimed_by is None:
                raise ClaimRefusedError("not_claimed", None)
            _may_claim(alert, actor, take_over=take_over)
            row = store.set_claim(conn, alert_id, None, now)
        change = _change(row, ChangeAction.RELEASED, now, actor=actor)
        self._send_changes([change])
        return change

    def add_note(self, alert_id: int, actor: str, text: str) -> AlertChange:
        """Store a case note by ``actor`` on the alert's timeline, then tell every console."""
        now = self._clock()
        with self._transaction() as conn:
            row = store.get_alert(conn, alert_id)
            store.add_note(conn, alert_id, actor, now, text)
        change = _change(row, ChangeAction.NOTE_ADDED, now, actor=actor, note=text)
        self._send_changes([change])
        return change

    def run_due(self, now: datetime | None = None) -> list[EscalationAction]:
        """Fire every escalation whose deadline has passed by ``now``; return the actions fired."""
        now = now or self._clock()
        fired: list[EscalationAction] = []
        while True:
            with self._transaction() as conn:
                due = store.due_alerts(conn, now, self._due_batch)
                results = [self._fire(conn, row, now) for row in due]
            for recorded, change in results:
                if change is not None:
                    self._send_changes([change])
                self._send_escalations(recorded, now)
                fired += [action for _, action in recorded]
            if len(due) < self._due_batch:
                break
        self._resend_escalations(now)
        return fired

    def _handle_resident(self, resident_id: str, findings: list[Finding]) -> list[AlertChange]:
        now = self._clock()
        try:
            with self._transaction() as conn:
                store.lock_resident(conn, resident_id)  # a resident's findings from several workers apply in turn
                changes = [self._apply(conn, finding, now) for finding in findings]
        except AlertStoreError:
            self._announce_provisional(findings)  # the caller keeps the findings and retries
            raise
        self._announced.difference_update(_finding_key(f) for f in findings)
        done = [c for c in changes if c is not None]
        self._send_changes(done)
        return done

    def _announce_provisional(self, findings: list[Finding]) -> None:
        """Publish critical findings the database refused, once each, so operators see them during the outage."""
        for finding in findings:
            severity = finding.severity or ALERT_KINDS[finding.kind].severity
            key = _finding_key(finding)
            if finding.cancels or severity < Severity.CRITICAL or key in self._announced:
                continue
            if len(self._announced) >= MAX_ANNOUNCED:
                self._announced.clear()  # worst case an outage this long announces a finding twice
            self._announced.add(key)
            message = ProvisionalAlert(
                resident_id=finding.resident_id,
                kind=finding.kind,
                severity=severity.name.lower(),
                at=finding.at,
                explanation=finding.explanation,
                explanation_zh=finding.explanation_zh,
                device_id=finding.device_id,
            )
            try:
                self._publish(alert_topic(finding.resident_id, self._root), message.model_dump_json().encode())
            except Exception:
                LOG.exception("could not publish the provisional %s of resident %s", finding.kind, finding.resident_id)

    def _apply(self, conn: Conn, finding: Finding, now: datetime) -> AlertChange | None:
        if finding.cancels:
            return self._cancel(conn, finding, now)
        alert = store.open_alert(conn, finding.resident_id, finding.kind)
        if alert is None:
            if self.outcomes is not None:  # a new alert only: one already open keeps its severity
                finding = self.outcomes.adjust(conn, finding)
            return self._raise(conn, finding, now)
        return self._join(conn, alert, finding, now)

    def _raise(self, conn: Conn, finding: Finding, now: datetime) -> AlertChange:
        kind = ALERT_KINDS[finding.kind]
        incident_id = store.open_incident(conn, finding.resident_id, kind.group, now)
        promise = self.policy.promise_for(self._area_of(conn, finding.resident_id))
        severity = finding.severity or kind.severity
        row = store.insert_alert(conn, incident_id, finding, severity=severity, promise_minutes=promise, at=now)
        store.add_finding(conn, row.id, finding, now)
        step = raise_alert(now, note=finding.explanation)
        store.record_transition(conn, row.id, step)
        return _change(self._rearm(conn, row), ChangeAction.RAISED, now, step)

    def _join(self, conn: Conn, alert: AlertRow, finding: Finding, now: datetime) -> AlertChange:
        severity = finding.severity or ALERT_KINDS[finding.kind].severity
        row = store.join_finding(conn, alert.id, finding, severity, now)
        store.add_finding(conn, alert.id, finding, now)
        action = ChangeAction.SEVERITY_RAISED if row.severity > alert.severity else ChangeAction.UPDATED
        return _change(self._rearm(conn, row), action, now)

    def _cancel(self, conn: Conn, finding: Finding, now: datetime) -> AlertChange | None:
        alert = store.open_alert(conn, finding.resident_id, finding.kind)
        if alert is None:
            return self._note_late(conn, finding, now)
        store.add_finding(conn, alert.id, finding, now)
        actor = self._canceller.get(finding.kind)
        if actor is None or AlertState.CANCELLED not in moves(alert.state, actor):
            # Staff are already on the way, or the kind needs a person to close it (smoke cleared): the desk decides.
            return _change(alert, ChangeAction.NOTED, now, note=finding.explanation)
        step = advance(alert.state, AlertState.CANCELLED, actor, now, note=finding.explanation)
        row = self._rearm(conn, store.apply_transition(conn, alert.id, step))
        return _change(row, ChangeAction.TRANSITION, now, step)

    def _note_late(self, conn: Conn, finding: Finding, now: datetime) -> AlertChange | None:
        """Store a cancel that found no open alert on the latest alert of its kind, so it is still seen."""
        latest = store.latest_alert(conn, finding.resident_id, finding.kind)
        store.add_finding(conn, latest.id if latest else None, finding, now)
        if latest is None:
            LOG.warning("a %s cancel for resident %s found no alert", finding.kind, finding.resident_id)
            return None
        return _change(latest, ChangeAction.NOTED, now, note=finding.explanation)

    def _rearm(self, conn: Conn, row: AlertRow) -> AlertRow:
        """Store the next deadline after the alert's state or severity changed."""
        deadline = next_deadline(row.clock(), self.policy)
        if deadline == row.next_deadline:
            return row
        return store.set_clock(conn, row.id, row.escalation_step, None, deadline)

    def _fire(
        self, conn: Conn, row: AlertRow, now: datetime
    ) -> tuple[list[tuple[int, EscalationAction]], AlertChange | None]:
        result = escalate(row.clock(), now, self.policy)
        recorded = [(eid, a) for a in result.actions if (eid := store.record_escalation(conn, a, now)) is not None]
        breached_at = now if result.promise_breached and row.promise_breached_at is None else None
        row = store.set_clock(conn, row.id, result.step, breached_at, result.next_deadline)
        if not recorded:
            return recorded, None
        kinds = tuple(a.action for _, a in recorded)
        return recorded, _change(row, ChangeAction.ESCALATED, now, escalations=kinds)

    def _send_changes(self, changes: list[AlertChange]) -> None:
        for change in changes:
            try:
                self._publish(alert_topic(change.resident_id, self._root), change.model_dump_json().encode())
            except Exception:
                # The change is committed; a dashboard that missed it reloads from the database.
                LOG.exception("could not publish change of alert %s", change.alert_id)
            if self.on_change is not None:
                try:
                    self.on_change(change)
                except Exception:
                    LOG.exception("the change hook failed for alert %s", change.alert_id)

    def _send_escalations(self, recorded: list[tuple[int, EscalationAction]], now: datetime) -> None:
        sent = [eid for eid, action in recorded if self._send_escalation(action, now)]
        if sent:
            with self._transaction() as conn:
                store.mark_published(conn, sent, now)

    def _send_escalation(self, action: EscalationAction, now: datetime) -> bool:
        message = EscalationMessage(
            alert_id=action.alert_id,
            resident_id=action.resident_id,
            kind=action.kind,
            severity=action.severity.name.lower(),
            action=action.action,
            key=action.key,
            due_at=action.due_at,
            fired_at=now,
        )
        try:
            self._publish(escalation_topic(self._root), message.model_dump_json().encode())
            if self._notify is not None:
                self._notify(action)
        except Exception:
            LOG.exception("escalation %s of alert %s not delivered; it will be sent again", action.key, action.alert_id)
            return False
        return True

    def _resend_escalations(self, now: datetime) -> None:
        """Send escalations a dead process committed but never delivered."""
        with self._transaction() as conn:
            stale = store.unpublished_escalations(conn, now - self._republish_after, self._due_batch)
            sent = [eid for eid, action in stale if self._send_escalation(action, now)]
            store.mark_published(conn, sent, now)

    @contextmanager
    def _transaction(self) -> Iterator[Conn]:
        """Run a block in one transaction, translating database errors into `AlertStoreError`."""
        try:
            with self._connect() as conn, conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise AlertStoreError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def _may_claim(alert: AlertRow, actor: str, *, take_over: bool) -> None:
    """Refuse ``actor`` a case another person holds, unless they take it over and their role may."""
    if alert.claimed_by in (None, actor):
        return
    if not take_over:
        raise ClaimRefusedError("claimed_by_other", alert.claimed_by)
    if role_of(actor) not in TAKES_OVER:
        raise ClaimRefusedError("take_over_not_allowed", alert.claimed_by)


def _finding_key(finding: Finding) -> tuple[str, str, datetime]:
    return finding.resident_id, finding.kind, finding.at


def _change(
    row: AlertRow,
    action: ChangeAction,
    at: datetime,
    step: Transition | None = None,
    *,
    note: str | None = None,
    actor: str | None = None,
    escalations: tuple[EscalationKind, ...] = (),
) -> AlertChange:
    """Describe a committed change of ``row`` for the broker."""
    return AlertChange(
        alert_id=row.id,
        incident_id=row.incident_id,
        resident_id=row.resident_id,
        kind=row.kind,
        severity=row.severity.name.lower(),
        state=row.state,
        outcome=row.outcome,
        at=at,
        action=action,
        explanation=row.explanation,
        explanation_zh=row.explanation_zh,
        from_state=step.from_state if step else None,
        actor=step.actor if step else actor,
        note=step.note if step else note,
        finding_count=row.finding_count,
        next_deadline=row.next_deadline,
        escalations=escalations,
    )
