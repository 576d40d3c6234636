"""Wire the care side: family notices on alerts and dispatch stages, the dispatch flow, welfare visits.

Families are told at once when an urgent alert (high or critical) is raised, again when the
escalation ladder reaches them, and as staff are dispatched, arrive and close the case. Every notice
has an idempotency key, so the several paths that may tell the same thing tell it once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from psycopg_pool import ConnectionPool

from alerts.escalation import EscalationAction, EscalationKind
from alerts.findings import Finding
from alerts.kinds import ALERT_KINDS, Severity
from alerts.lifecycle import AlertState, Outcome
from alerts.messages import AlertChange, ChangeAction
from alerts.service import AlertService
from anxin.settings import Settings
from dispatch.flow import DispatchFlow, StaffTask
from dispatch.ranking import RankingPolicy
from dispatch.visits import plan_scheduled_visits
from gateway.mqtt import MqttConnection
from notify.channels import ChannelSenders
from notify.service import FamilyNotifier, Notice, NotifySettings

LOG = logging.getLogger("anxin.care")
_SEVERITY: Final = {s.name.lower(): s for s in Severity}

# Dispatch outcomes (what staff report) → the lifecycle's outcome of the alert.
DISPATCH_OUTCOMES: Final = {
    "helped_at_home": Outcome.NO_INJURY,
    "ambulance_called": Outcome.HOSPITAL,
    "taken_to_hospital": Outcome.HOSPITAL,
    "family_took_over": Outcome.OTHER,
    "false_alarm": Outcome.FALSE_ALARM,
    "not_at_home": Outcome.OTHER,
}
# Lifecycle stages that families hear about, and the notice event each one sends.
STAGE_NOTICES: Final = {"dispatched": "staff_dispatched", "on_site": "staff_on_site", "resolved": "alert_resolved"}


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
    """The family notifier and dispatch flow, and the hooks that connect them to alerts."""

    def __init__(
        self, settings: Settings, pool: ConnectionPool[Any], bus: MqttConnection, clock: Callable[[], datetime]
    ) -> None:
        self._clock = clock
        self._bus = bus
        self.alerts: AlertService | None = None
        public = settings.public_url or f"http://{settings.http_host}:{settings.http_port}"
        self.notifier = FamilyNotifier(
            pool.connection,
            ChannelSenders(local_secret(settings, "webhook_secret"), settings.mail_url),
            NotifySettings(reply_secret=local_secret(settings, "reply_secret"), reply_url=f"{public}/reply/{{token}}"),
        )
        self.flow = DispatchFlow(
            pool.connection, policy=RankingPolicy(), notify_staff=self._tell_staff, on_stage=self._on_stage
        )
        self._pool = pool

    def handle_findings(self, findings: Sequence[Finding]) -> list[AlertChange]:
        """Store findings as alerts, then tell families of new urgent ones."""
        assert self.alerts is not None
        changes = self.alerts.handle(findings)
        for change in changes:
            if change.action is ChangeAction.RAISED and _SEVERITY[change.severity] >= Severity.HIGH:
                self._tell_family(change.alert_id, change.resident_id, change.kind, change.severity)
        return changes

    def on_escalation(self, action: EscalationAction) -> None:
        """Tell the family when the escalation ladder reaches them."""
        if action.action is EscalationKind.NOTIFY_FAMILY:
            self._tell_family(action.alert_id, action.resident_id, action.kind, action.severity.name.lower())

    def _tell_family(self, alert_id: int, resident_id: str, kind: str, severity: str) -> None:
        notice = Notice(
            f"{alert_id}:raised",
            resident_id,
            "alert_raised",
            _SEVERITY[severity],
            str(alert_id),
            {"alert_kind": ALERT_KINDS[kind].title_zh if kind in ALERT_KINDS else kind},
        )
        try:
            self.notifier.notify(notice, self._clock())
        except Exception:  # a notification failure must never undo or delay the alert itself
            LOG.exception("could not record the family notice for alert %s", alert_id)

    def _on_stage(
        self, alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "", outcome: str | None = None
    ) -> None:
        """Move the alert through its lifecycle as its dispatch advances, and keep the family informed."""
        assert self.alerts is not None
        del at  # the alert service stamps transitions with its own clock
        mapped = DISPATCH_OUTCOMES.get(outcome) if outcome else None
        change = self.alerts.transition(int(alert_id), AlertState(stage), actor, note or None, mapped)
        event = STAGE_NOTICES.get(stage)
        if event is not None:
            params = {"staff": actor, "eta": "", "outcome": outcome or ""}
            self.notifier.notify(
                Notice(f"{alert_id}:{stage}", change.resident_id, event, _SEVERITY[change.severity], alert_id, params),
                self._clock(),
            )

    def _tell_staff(self, task: StaffTask) -> bool:
        """Tell a staff member's phone of a task over the broker (the staff page also polls)."""
        self._bus.publish(f"anxin/v1/staff/{task.staff_id}/tasks", repr(task).encode(), qos=1)
        return True

    def run_due(self) -> None:
        """Send due notices, move unanswered offers on, and plan welfare visits."""
        now = self._clock()
        self.notifier.run_due(now)
        self.flow.expire_offers(now)

    def plan_visits(self) -> None:
        """Plan the scheduled welfare visits by risk class."""
        with self._pool.connection() as conn:
            plan_scheduled_visits(conn, self._clock())
