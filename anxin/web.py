"""Wire the dashboard: its settings, the services behind its buttons, and uvicorn on a thread."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool

from anxin.care import Care, local_secret
from anxin.services import ServiceError
from anxin.settings import Settings
from dashboard.actions import Actions
from dashboard.app import create_app
from dashboard.settings import TILE_SOURCES, DashboardSettings
from gateway.contract import Channel, encode, topic
from gateway.mqtt import MqttConnection, Subscriber
from notify.signing import read_task_token

LOG = logging.getLogger("anxin.web")


def utc_now() -> datetime:
    """Return the present time."""
    return datetime.now(UTC)


def serve_dashboard(
    settings: Settings,
    pool: ConnectionPool[Any],
    bus: MqttConnection,
    care: Care,
    stop: threading.Event,
    threads: list[threading.Thread],
    *,
    reload_broker: Callable[[], None] | None = None,
    registry: CollectorRegistry | None = None,
) -> str:
    """Start uvicorn with the dashboard on a thread; return the console URL."""
    tiles = TILE_SOURCES[settings.map_tiles].overridden(
        settings.tile_url, settings.tile_subdomains, settings.tile_crs, settings.tile_attribution
    )
    dash = DashboardSettings(
        secret_key=local_secret(settings, "secret_key"),
        timezone=settings.timezone,
        device_topic_prefix=settings.topic_prefix,
        alerts_topic=f"{settings.topic_root}/alerts",
        cookie_secure=settings.http_host not in ("127.0.0.1", "localhost"),
        tile_url=tiles.url,
        tile_subdomains=tiles.subdomains,
        tile_crs=tiles.crs,
        tile_attribution=tiles.attribution,
        map_center=settings.map_center,
    )
    reply_secret = local_secret(settings, "reply_secret")

    def read_task_link(token: str) -> tuple[int, str]:
        claim = read_task_token(reply_secret, token, utc_now())
        return claim.assignment_id, claim.staff_id

    actions = Actions(
        alerts=care.alerts,
        dispatch=care.flow,
        record_reply=lambda token: care.notifier.record_reply(token, utc_now()),
        read_task_link=read_task_link,
        reload_broker=reload_broker,
        roster_key=_roster_key(settings),
        command_device=lambda device_id, command: bus.publish(
            topic(device_id, Channel.CMD, settings.topic_prefix), encode(command), qos=1
        ),
    )
    # Device status and staff positions come over a connection of their own: a city's devices report in
    # bursts, and on the bus's connection an alert change would wait for the whole burst to be decoded.
    updates = MqttConnection(bus.address, f"anxin-web-updates-{os.getpid()}-{uuid.uuid4().hex[:8]}", persistent=False)
    updates.connect()
    app = create_app(
        dash, pool, subscriber=Subscriber(bus), updates=Subscriber(updates), actions=actions, metrics_registry=registry
    )
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_level="warning", ws_ping_interval=20
    )
    server = uvicorn.Server(config)

    def run(_: threading.Event) -> None:
        try:
            server.run()
        except SystemExit:  # uvicorn's way to give up at start (the port taken); serve_dashboard says so
            LOG.error("the dashboard could not start on %s:%s", settings.http_host, settings.http_port)
        finally:
            updates.close()

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
    if not (server.started and server.servers):  # the port taken, most likely: never name a console not ours
        server.should_exit = True
        raise ServiceError(f"the dashboard did not start on {settings.http_host}:{settings.http_port} (see the log)")
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://{settings.http_host}:{port}/"
    LOG.info("operator console: %s", url)
    return url


def _roster_key(settings: Settings) -> bytes | None:
    """Return the ID-number key for roster uploads; against real servers only when ANXIN_ID_KEY is set."""
    if settings.id_key is None and settings.database_url is not None:
        LOG.warning("ANXIN_ID_KEY is not set: the roster upload page is off (anxin import roster needs it too)")
        return None
    return local_secret(settings, "id_key").encode()
