"""Wire the dashboard: its settings, the services behind its buttons, and uvicorn on a thread."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import uvicorn
from psycopg_pool import ConnectionPool

from alerts.lifecycle import AlertState, Outcome
from alerts.service import AlertService
from anxin.settings import Settings
from dashboard.actions import Actions
from dashboard.app import create_app
from dashboard.settings import DashboardSettings
from dispatch.flow import DispatchFlow, StaffTask
from dispatch.ranking import RankingPolicy
from gateway.mqtt import MqttConnection, Subscriber

LOG = logging.getLogger("anxin.web")

# Dispatch outcomes (what staff report) → the lifecycle's outcome of the alert.
DISPATCH_OUTCOMES: Final = {
    "helped_at_home": Outcome.NO_INJURY,
    "ambulance_called": Outcome.HOSPITAL,
    "taken_to_hospital": Outcome.HOSPITAL,
    "family_took_over": Outcome.OTHER,
    "false_alarm": Outcome.FALSE_ALARM,
    "not_at_home": Outcome.OTHER,
}


def secret_key(settings: Settings) -> str:
    """Return the configured secret; with local services only, generate one and keep it in the data folder."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.database_url is not None:
        raise SystemExit("ANXIN_SECRET_KEY is required when the platform runs against real servers")
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def on_stage(alerts: AlertService) -> Any:
    """Move an alert through its lifecycle when its dispatch reaches a stage."""

    def move(alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "",
             outcome: str | None = None) -> None:
        del at  # the alert service stamps transitions with its own clock
        mapped = DISPATCH_OUTCOMES.get(outcome) if outcome else None
        alerts.transition(int(alert_id), AlertState(stage), actor, note or None, mapped)

    return move


def staff_notifier(bus: MqttConnection, root: str = "anxin/v1/staff") -> Any:
    """Tell a staff member's phone of a new task over the broker (the staff page also polls)."""

    def notify(task: StaffTask) -> bool:
        bus.publish(f"{root}/{task.staff_id}/tasks", repr(task).encode(), qos=1)
        return True

    return notify


def serve_dashboard(settings: Settings, pool: ConnectionPool[Any], bus: MqttConnection, alerts: AlertService,
                    stop: threading.Event, threads: list[threading.Thread]) -> str:
    """Start uvicorn with the dashboard on a thread; return the console URL."""
    dash = DashboardSettings(
        secret_key=secret_key(settings), timezone=settings.timezone, device_topic_prefix=settings.topic_prefix,
        cookie_secure=settings.http_host not in ("127.0.0.1", "localhost"),
    )
    flow = DispatchFlow(pool.connection, policy=RankingPolicy(), notify_staff=staff_notifier(bus),
                        on_stage=on_stage(alerts))
    app = create_app(dash, pool, subscriber=Subscriber(bus), actions=Actions(alerts=alerts, dispatch=flow))
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="warning",
                            ws_ping_interval=20)
    server = uvicorn.Server(config)

    def run(_: threading.Event) -> None:
        server.run()

    def watch(stop_event: threading.Event) -> None:
        stop_event.wait()
        server.should_exit = True

    thread = threading.Thread(target=run, args=(stop,), name="dashboard", daemon=True)
    thread.start()
    threads.append(thread)
    threads.append(threading.Thread(target=watch, args=(stop,), name="dashboard-stop", daemon=True))
    threads[-1].start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    port = settings.http_port
    if server.started and server.servers:
        port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://{settings.http_host}:{port}/"
    LOG.info("operator console: %s", url)
    return url
