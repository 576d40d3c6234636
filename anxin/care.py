"""Wire the care side: the family and desk notifiers, the dispatch flow, and the hooks between them and alerts.

* **Families** are told at once when an urgent alert (high or critical) is raised, again when the
  escalation ladder reaches them, when a staff member takes the task (named, with the ETA in minutes)
  and arrives; when the alert closes, the chain stops and every contact already told gets an all clear
  with the outcome. Notices are recorded on the alert path and sent by the care thread, woken at once
  (`Care.run`), so an SOS never waits behind a mail server. Every notice has an idempotency key, so
  the paths that may tell the same thing tell it once.
* **The desk**: an escalation re-alarms every console (the published change does that), then the
  on-duty supervisors are told on their own channels, and a missed promise tells them too; each step
  is recorded with whom it reached (`notify.desk`).
* **Staff** are offered a task on their own channel with a signed link that opens it on their phone;
  an offer nobody answers moves to the next candidate (`DispatchFlow.expire_offers`).
* **Closing closes everything**: resolved or cancelled from any side (the desk, "I'm OK", a staff
  outcome), the live assignment ends and the staff member is free. The change hooks do it at once; the
  periodic sweep repairs what a crash between the commit and the hook left open.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from psycopg_pool import ConnectionPool

from alerts.escalation import EscalationAction, EscalationKind
from alerts.findings import Finding
from alerts.kinds import ALERT_KINDS, Severity
from alerts.lifecycle import CLOSED_STATES, AlertState, role_of
from alerts.messages import TOPIC_ROOT, AlertChange, ChangeAction
from alerts.service import AlertService
from anxin.settings import Settings
from dispatch.flow import DISPATCH_OUTCOMES, DispatchFlow, StaffTask
from dispatch.messages import DispatchChange, DispatchEvent
from dispatch.ranking import RankingPolicy
from dispatch.visits import run_visit_planning
from gateway.mqtt import MqttConnection
from notify.all_clear import SEVERITY_ZH, family_told_at_once, handled_by, how_it_ended
from notify.channels import ChannelSenders
from notify.desk import DeskMessage, DeskNotifier, Person, on_duty_supervisors
from notify.service import FamilyNotifier, Notice, NotifySettings
from notify.signing import make_task_token

LOG = logging.getLogger("anxin.care")
_SEVERITY: Final = {s.name.lower(): s for s in Severity}

_ALERT_FIELDS: Final = (
    *("id", "resident_id", "kind", "severity", "state", "outcome", "raised_at", "closed_at"),
    *("promise_minutes", "resident_name", "last_actor", "on_site_staff"),
)
_SWEEP_WINDOW: Final = timedelta(hours=24)  # closed alerts older than this are left as they are


def local_secret(settings: Settings, name: str) -> str:
    """Return the named secret from settings; with local services only, generate one into the data folder."""
    configured = getattr(settings, name)
    if configured is not None:
        return str(configured.get_secret_value())
    if settings.database_url is not None:
        raise SystemExit(f"ANXIN_{name.upper()} is required when the platform runs against real servers")
    path = Path(settings.data_dir) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Care:
    """The family notifier, the desk notifier and the dispatch flow, and the hooks that connect them to alerts."""

    def __init__(
        self,
        settings: Settings,
        pool: ConnectionPool[Any],
        bus: MqttConnection,
        clock: Callable[[], datetime],
        *,
        topic_root: str = TOPIC_ROOT,
        offer_timeout: timedelta = timedelta(minutes=3),
    ) -> None:
        self._clock = clock
        self._bus = bus
        self._pool = pool
        self._zone = ZoneInfo(settings.timezone)
        self.alerts: AlertService | None = None
        self.public_url = (settings.public_url or f"http://{settings.http_host}:{settings.http_port}").rstrip("/")
        self._task_secret = local_secret(settings, "reply_secret")
        senders = ChannelSenders(local_secret(settings, "webhook_secret"), settings.mail_url, outbox=pool.connection)
        self._wake = threading.Event()  # a notice was recorded: the care thread sends it now, not on its next round
        self.notifier = FamilyNotifier(
            pool.connection,
            senders,
            NotifySettings(reply_secret=self._task_secret, reply_url=f"{self.public_url}/reply/{{token}}"),
            on_recorded=self.wake,
        )
        self.desk = DeskNotifier(pool.connection, senders)
        self.flow = DispatchFlow(
            pool.connection,
            policy=RankingPolicy(),
            notify_staff=self._tell_staff,
            on_stage=self._on_stage,
            offer_timeout=offer_timeout,
            publish=lambda topic, payload: bus.publish(topic, payload, qos=1),
            topic_root=topic_root,
            on_change=self.on_dispatch_change,
        )

    # --- alerts ---------------------------------------------------------------------------------------------

    def handle_findings(self, findings: Sequence[Finding]) -> list[AlertChange]:
        """Store findings as alerts, then tell families of new urgent ones."""
        assert self.alerts is not None
        changes = self.alerts.handle(findings)
        for change in changes:
            if change.action is ChangeAction.RAISED and family_told_at_once(_SEVERITY[change.severity]):
                self._tell_family(change.alert_id, change.resident_id, change.kind, change.severity)
        return changes

    def on_alert_change(self, change: AlertChange) -> None:
        """Close what an alert started when it closes, from whichever side it was closed."""
        if change.action is ChangeAction.TRANSITION and change.state in CLOSED_STATES:
            self.close_everything(change.alert_id, self._clock())

    def close_everything(self, alert_id: int, now: datetime) -> None:
        """End the live task, free the staff, stop the family chain, and send the all clear to those told."""
        alert = self._alert(alert_id)
        if alert is None or AlertState(alert["state"]) not in CLOSED_STATES:
            return
        self.flow.withdraw(str(alert_id), now, f"alert {alert['state']}")
        self.notifier.close_alert(str(alert_id))
        self.notifier.notify(
            Notice(
                f"{alert_id}:all_clear",
                alert["resident_id"],
                "all_clear",
                Severity(alert["severity"]),
                str(alert_id),
                self._all_clear_params(alert),
            ),
            now,
        )

    def on_escalation(self, action: EscalationAction) -> None:
        """Carry one escalation step to the people it names, and record whom it reached."""
        now = self._clock()
        step = DeskMessage(action.alert_id, "escalation", action.key, "", {})
        if action.action is EscalationKind.NOTIFY_OPERATORS:
            self.desk.record(step, "consoles", "broker", True, "re-alarm on every open console", now)
        elif action.action is EscalationKind.NOTIFY_FAMILY:
            self._tell_family(action.alert_id, action.resident_id, action.kind, action.severity.name.lower())
            self.desk.record(step, "family", "notices", True, "the family chain was started", now)
        else:
            self._tell_supervisors(action, now)

    def _tell_supervisors(self, action: EscalationAction, now: datetime) -> None:
        """Tell every on-duty supervisor; raise when none could be reached, so the step is sent again."""
        alert = self._alert(action.alert_id)
        if alert is None:
            return
        event = (
            "escalation_promise_breached"
            if action.action is EscalationKind.PROMISE_BREACHED
            else "escalation_unacknowledged"
        )
        minutes = max(1, round((now - alert["raised_at"]).total_seconds() / 60))
        params = {
            **self._alert_params(alert),
            "minutes": str(minutes),
            "promise": str(alert["promise_minutes"]),
            "severity": SEVERITY_ZH.get(action.severity.name.lower(), ""),
            "severity_en": action.severity.name.lower(),
            "link": f"{self.public_url}/console?alert={action.alert_id}",
        }
        message = DeskMessage(action.alert_id, "escalation", action.key, event, params, data={"action": action.action})
        with self._pool.connection() as conn:
            people = on_duty_supervisors(conn, action.resident_id)
        if not people:
            self.desk.record(message, "supervisor", "none", False, "no supervisor on duty", now)
            return
        self.desk.tell(people, message, now)
        if any(p.url for p in people) and not self.desk.reached(message):
            # Not marked published: the alert service sends the step again, and those reached are skipped.
            raise RuntimeError(f"no supervisor could be reached for alert {action.alert_id} ({action.key})")

    def _tell_family(self, alert_id: int, resident_id: str, kind: str, severity: str) -> None:
        params = {"alert_kind": kind} if kind in ALERT_KINDS else {"alert_title": kind}
        self._send_notice(
            Notice(f"{alert_id}:raised", resident_id, "alert_raised", _SEVERITY[severity], str(alert_id), params)
        )

    # --- dispatch ---------------------------------------------------------------------------------------------

    def _on_stage(
        self, alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "", outcome: str | None = None
    ) -> None:
        """Move the alert through its lifecycle as its dispatch advances, and tell the family staff arrived."""
        assert self.alerts is not None
        del at  # the alert service stamps transitions with its own clock
        mapped = DISPATCH_OUTCOMES.get(outcome) if outcome else None
        change = self.alerts.transition(int(alert_id), AlertState(stage), actor, note or None, mapped)
        if stage == "on_site":
            params = {"staff": self._staff_name(actor.partition(":")[2]) or ""}
            self._notify_family(f"{alert_id}:on_site", change, "staff_on_site", params)

    def on_dispatch_change(self, change: DispatchChange) -> None:
        """Tell the family, by name and with the ETA in minutes, once a staff member has taken the task."""
        if change.event not in (DispatchEvent.ACCEPTED, DispatchEvent.EN_ROUTE) or change.assignment_id is None:
            return
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT eta_min, assigned_at FROM dispatch_assignments WHERE id = %s", (change.assignment_id,)
            ).fetchone()
            alert = conn.execute("SELECT severity FROM alerts WHERE id = %s", (int(change.alert_id),)).fetchone()
        if row is None or alert is None:
            return
        left = row[0] - (change.at - row[1]).total_seconds() / 60
        params = {"staff": change.staff_name or "", "eta": str(max(1, round(left)))}
        notice = Notice(
            f"{change.alert_id}:going:{change.assignment_id}",
            change.resident_id,
            "staff_dispatched",
            Severity(alert[0]),
            change.alert_id,
            params,
        )
        self._send_notice(notice)

    def _notify_family(self, key: str, change: AlertChange, event: str, params: dict[str, str]) -> None:
        notice = Notice(key, change.resident_id, event, _SEVERITY[change.severity], str(change.alert_id), params)
        self._send_notice(notice)

    def _send_notice(self, notice: Notice) -> None:
        try:
            self.notifier.notify(notice, self._clock())
        except Exception:
            LOG.exception("could not send the %s notice of alert %s", notice.event, notice.alert_id)

    def _tell_staff(self, task: StaffTask) -> bool:
        """Offer a task on the staff member's own channel, with a signed link that opens it on their phone."""
        now = self._clock()
        with self._pool.connection() as conn:
            row = conn.execute("SELECT notify_url FROM staff WHERE id = %s", (task.staff_id,)).fetchone()
            alert = self._alert(int(task.alert_id))
        url = row[0] if row else None
        token = make_task_token(self._task_secret, task.assignment_id, task.staff_id, now + timedelta(hours=12))
        link = f"{self.public_url}/api/task-link/{token}"
        kind = ALERT_KINDS.get(alert["kind"]) if alert else None
        params = {
            "alert_title": kind.title_zh if kind else "",
            "resident": task.resident.name,
            "address": task.resident.address or "",
            "deadline": task.deadline.astimezone(self._zone).strftime("%H:%M"),
            "eta": str(max(1, round(task.eta.total_seconds() / 60))),
            "window": str(max(1, round(self.flow.offer_timeout.total_seconds() / 60))),
            "link": link,
        }
        message = DeskMessage(
            int(task.alert_id), "offer", "offer", "task_offer", params, ref_id=task.assignment_id, data={"link": link}
        )
        person = Person(f"staff:{task.staff_id}", task.staff_name, url)
        if not url:  # their phone page is the only way: it rings while open; the offer window moves on otherwise
            self.desk.record(message, person.actor, "page", True, "no channel of their own: the staff page only", now)
            return True
        return all(r.ok for r in self.desk.tell([person], message, now))

    # --- clocks -----------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Make the care thread do its round now (a notice was recorded, or the platform is stopping)."""
        self._wake.set()

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Send notices as soon as they are recorded, and do the rounds every ``interval_s``, until stopped."""
        while not stop.is_set():
            self._wake.wait(interval_s)
            self._wake.clear()
            try:
                self.run_due()
            except Exception:
                LOG.exception("notices and offers failed; trying again in %.0f s", interval_s)

    def run_due(self) -> None:
        """Send due notices, move unanswered offers on, and close what a crash left open."""
        now = self._clock()
        self.notifier.run_due(now)
        self.flow.expire_offers(now)
        self._sweep(now)

    def _sweep(self, now: datetime) -> None:
        """Close everything for recently closed alerts that still have a live task or no all clear."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT a.id FROM alerts a WHERE a.state IN ('resolved', 'cancelled') AND a.closed_at >= %s"
                " AND a.closed_at <= %s AND (EXISTS (SELECT 1 FROM dispatches d JOIN dispatch_assignments x"
                " ON x.dispatch_id = d.id WHERE d.alert_id = a.id::text"
                " AND x.state IN ('offered', 'accepted', 'en_route', 'on_site'))"
                " OR NOT EXISTS (SELECT 1 FROM notices n WHERE n.key = a.id || ':all_clear'))",
                (now - _SWEEP_WINDOW, now - timedelta(seconds=30)),
            ).fetchall()
        for (alert_id,) in rows:
            self.close_everything(int(alert_id), now)

    def plan_visits(self) -> None:
        """Plan welfare visits by risk class, run each resident's daily trend check, and assign open visits."""
        with self._pool.connection() as conn:
            report = run_visit_planning(conn, self._clock())
        if report.scheduled or report.worsening or report.assigned or report.unassigned:
            LOG.info("visits: %s", report)

    # --- lookups ----------------------------------------------------------------------------------------------

    def _alert(self, alert_id: int) -> dict[str, Any] | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT a.id, a.resident_id, a.kind, a.severity, a.state, a.outcome, a.raised_at, a.closed_at,"
                " a.promise_minutes, coalesce(r.name, a.resident_id),"
                " (SELECT t.actor FROM alert_transitions t WHERE t.alert_id = a.id ORDER BY t.at DESC, t.id DESC"
                "  LIMIT 1),"
                " (SELECT s.name FROM dispatches d JOIN dispatch_assignments x ON x.dispatch_id = d.id"
                "  JOIN staff s ON s.id = x.staff_id WHERE d.alert_id = a.id::text AND x.on_site_at IS NOT NULL"
                "  ORDER BY x.on_site_at LIMIT 1)"
                " FROM alerts a LEFT JOIN residents r ON r.id = a.resident_id WHERE a.id = %s",
                (alert_id,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(_ALERT_FIELDS, row, strict=True))

    def _alert_params(self, alert: Mapping[str, Any]) -> dict[str, str]:
        kind = ALERT_KINDS.get(alert["kind"])
        return {
            "alert_id": str(alert["id"]),
            "alert_kind": alert["kind"],
            "alert_title": kind.title_zh if kind else alert["kind"],
            "alert_title_en": kind.title_en if kind else alert["kind"],
            "resident": alert["resident_name"],
            "time": alert["raised_at"].astimezone(self._zone).strftime("%H:%M"),
        }

    def _all_clear_params(self, alert: Mapping[str, Any]) -> dict[str, str]:
        """Say how the alert ended and who handled it, in both languages (each contact reads their own)."""
        resolved = alert["state"] == AlertState.RESOLVED
        zh, en = how_it_ended(resolved, alert["outcome"], role_of(alert["last_actor"] or "system").value)
        by_zh, by_en = handled_by(alert["on_site_staff"])
        closed = alert["closed_at"] or self._clock()
        params = {k: v for k, v in self._alert_params(alert).items() if k not in ("alert_title", "alert_title_en")}
        return params | {
            "outcome": zh,
            "outcome_en": en,
            "closed_time": closed.astimezone(self._zone).strftime("%H:%M"),
            "handled_by": by_zh,
            "handled_by_en": by_en,
        }

    def _staff_name(self, staff_id: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT name FROM staff WHERE id = %s", (staff_id,)).fetchone()
        return str(row[0]) if row else None


__all__ = ["Care", "local_secret"]
