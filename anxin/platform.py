"""Process wiring: the one place that knows every package and connects them.

`start_platform` resolves the services (private local ones when no URLs are set), migrates the
database, and runs in this process: an ingest worker, the detection pipeline, the alert service's
escalation clock, the rollup/retention upkeep, and the dashboard (uvicorn). Everything stops in
reverse order when the context exits (Ctrl-C included).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import psycopg
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool
from pydantic import ValidationError

from alerts.detectors import DetectorSet, ResidentProfile, standard_detectors
from alerts.detectors.base import PersonalLimits, profiles_for
from alerts.escalation import DEFAULT_ACK_TIMEOUTS, EscalationPolicy
from alerts.fall_model import FallScorer, load_fall_classifier
from alerts.feed import FeedReader
from alerts.findings import Observation
from alerts.follower import ALIVE, GONE, FeedFollower, Rebuild, liveness_topic
from alerts.leases import PartitionLeases
from alerts.metrics import AlertPathCollector
from alerts.outcomes import FallOutcomes
from alerts.outcomes import purge as purge_examples
from alerts.pipeline import DetectionPipeline, relearn_due
from alerts.service import AlertService
from anxin.broker_access import secure_local_broker
from anxin.care import Care
from anxin.connections import ingest_connections
from anxin.observability import serve_health
from anxin.services import LocalMosquitto, LocalPostgres, record_services, start_broker
from anxin.settings import Settings
from dispatch.roster_store import extend_shifts
from gateway.contract import Channel, Record, validate
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.priority import Priority
from ingest.database import DbMode, migrate
from ingest.devices import load_devices
from ingest.feed import partition_of
from ingest.health import standard_readiness
from ingest.maintenance import Maintenance, run_policy_jobs
from ingest.metrics import PolicyJobCollector, PriorityCollector
from ingest.worker import IngestWorker

LOG = logging.getLogger("anxin.platform")
Role = Literal["ingest", "alerts", "web"]  # one job each: `anxin ingest`, `anxin alerts`, `anxin web`
ALL_ROLES: Final[frozenset[Role]] = frozenset({"ingest", "alerts", "web"})  # `anxin run`
HISTORY = timedelta(days=28)  # what routines are learned from, at the start and every night


def utc_now() -> datetime:
    """Return the present time (the only clock the running platform reads)."""
    return datetime.now(UTC)


@dataclass
class Platform:
    """What a running platform exposes to its caller (the CLI, tests, benchmarks)."""

    settings: Settings
    database_url: str
    mqtt_url: str
    db_mode: DbMode
    ingest: IngestWorker | None  # None in a process without the ingest role
    pipeline: DetectionPipeline | None  # None in a process without the alerts role
    alerts: AlertService
    care: Care
    bus: MqttConnection
    dashboard_url: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    reload_broker: Callable[[], None] | None = None  # the local broker re-reads devices' credentials and ACL


def _resolve_services(settings: Settings, stack: ExitStack) -> tuple[str, str, LocalMosquitto | None]:
    """Use the configured servers, or start private local ones under the data folder (and return our broker)."""
    db_url, mqtt_url = settings.database_url, settings.mqtt_url
    data = Path(settings.data_dir).resolve()
    if db_url is None:
        server = stack.enter_context(LocalPostgres(data / "postgres"))
        db_url = server.url()
    else:
        LOG.info("using the PostgreSQL at DATABASE_URL")
    local: LocalMosquitto | None = None
    if mqtt_url is None:
        broker = start_broker(data / "mosquitto", device_access=True)
        stack.callback(broker.stop)
        mqtt_url = broker.url
        local = broker if isinstance(broker, LocalMosquitto) else None
    else:
        LOG.info("using the MQTT broker at MQTT_URL")
    if settings.database_url is None or settings.mqtt_url is None:  # local services: say where (`anxin trigger`)
        recorded = record_services(data, db_url, mqtt_url)
        stack.callback(recorded.unlink, missing_ok=True)
    return db_url, mqtt_url, local


def load_profiles(conn: psycopg.Connection) -> list[ResidentProfile]:
    """Build every resident's detector profile from the registry."""
    rows = conn.execute("SELECT id, heart_rate_low, heart_rate_high, spo2_low FROM residents ORDER BY id").fetchall()
    limits = {r[0]: PersonalLimits(r[1], r[2], r[3]) for r in rows}
    return profiles_for([r[0] for r in rows], load_devices(conn), limits)


def load_history(
    conn: psycopg.Connection, since: datetime, prefix: str, residents: Sequence[str] | None = None
) -> list[Observation]:
    """Read residents' recent events back as observations (all residents, or these), so detectors learn routines."""
    rows = conn.execute(
        "SELECT device_id, seq, ts, kind, state, room, sensor_id, resident_id, received_at FROM events"
        " WHERE ts >= %s AND resident_id IS NOT NULL AND kind IN ('motion', 'door', 'bed', 'bathroom')"
        " AND (%s::text[] IS NULL OR resident_id = ANY(%s)) ORDER BY ts",
        (since, None if residents is None else list(residents), None if residents is None else list(residents)),
    ).fetchall()
    history = []
    for device_id, seq, ts, kind, state, room, sensor_id, resident_id, received_at in rows:
        body: dict[str, object] = {"seq": seq, "ts": ts, "kind": kind}
        body |= {k: v for k, v in (("state", state), ("sensor_id", sensor_id)) if v is not None}
        if kind == "motion":
            body["room"] = room or "unknown"
        try:
            record = Record(device_id, Channel.EVENT, validate(Channel.EVENT, body))
        except ValidationError:
            continue
        history.append(Observation(resident_id, record, received_at))
    return history


ALERT_PATH_WAIT_S: Final = 2.0  # the alert path waits this long for a connection, then goes provisional


def _connection_source(pool: ConnectionPool[Any]) -> Callable[[], AbstractContextManager[Any]]:
    """Lend the alert path connections without the pool's 30 s wait: with the database down, say so at once."""
    return lambda: pool.connection(timeout=ALERT_PATH_WAIT_S)


def _thread(name: str, target: Callable[[threading.Event], None], stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread


def _every(
    seconds: float, action: Callable[[], object], what: str, *, at_start: bool = False
) -> Callable[[threading.Event], None]:
    """Make a loop that runs ``action`` every ``seconds`` until stopped, logging (not dying on) failures."""

    def loop(stop: threading.Event) -> None:
        wait = 0.0 if at_start else seconds
        while not stop.wait(wait):
            wait = seconds
            try:
                action()
            except Exception:
                LOG.exception("%s failed; trying again in %.0f s", what, seconds)

    return loop


@contextmanager
def start_platform(
    settings: Settings, *, with_dashboard: bool = True, roles: frozenset[Role] = ALL_ROLES
) -> Iterator[Platform]:
    """Start the platform's parts named by ``roles`` (all of it by default) in this process; stop them at the end."""
    web = with_dashboard and "web" in roles
    with ExitStack() as stack:
        db_url, mqtt_url, local_broker = _resolve_services(settings, stack)
        with psycopg.connect(db_url) as conn:
            mode = migrate(conn, settings.retention_days)
        LOG.info("database mode: %s", mode.value)
        # A connection is checked before it is lent: after a failover the old primary's are dropped, not used.
        pool: ConnectionPool[Any] = ConnectionPool(
            db_url, min_size=2, max_size=10, open=True, check=ConnectionPool.check_connection
        )
        stack.callback(pool.close)
        reload_broker: Callable[[], None] | None = None
        if local_broker is not None:  # it refuses anonymous clients: the platform signs in with accounts made now
            settings, reload_broker = secure_local_broker(settings, local_broker, _connection_source(pool))
        address = BrokerAddress.from_url(mqtt_url, *settings.broker_account("core"))
        name = settings.alerts_id or f"alerts-{socket.gethostname()}-{os.getpid()}"
        # An alert process's last will tells the others at once that it died, so they take its residents over.
        will = (liveness_topic(name, settings.topic_root), GONE) if "alerts" in roles else None
        # A client id of its own: two platforms in one process (tests) must not take over each other's bus.
        bus = MqttConnection(address, f"anxin-core-{os.getpid()}-{uuid.uuid4().hex[:8]}", persistent=False, will=will)
        bus.connect()
        stack.callback(bus.close)
        care = Care(
            settings,
            pool,
            bus,
            utc_now,
            topic_root=settings.topic_root,
            offer_timeout=timedelta(seconds=settings.offer_timeout_s),
        )
        alert_service = AlertService(
            _connection_source(pool),
            bus.publish,
            utc_now,
            escalation_policy(settings.escalation_scale),
            notify=care.on_escalation,
            on_change=care.on_alert_change,
            topic_root=settings.topic_root,
            outcomes=FallOutcomes(adjust=settings.personal_adjustment),
        )
        care.alerts = alert_service
        pipeline = _detection(settings, name, db_url, pool, care, bus, stack) if "alerts" in roles else None
        worker = _ingest(settings, db_url, mqtt_url, pipeline, stack) if "ingest" in roles else None
        platform = Platform(settings, db_url, mqtt_url, mode, worker, pipeline, alert_service, care, bus)
        platform.reload_broker = reload_broker
        stop = platform.stop
        threads = _alert_threads(settings, pool, pipeline, alert_service, care, stop) if pipeline else []
        if worker is not None:
            worker.subscribe()  # before start_platform returns: nothing is missed
            threads.append(_thread("ingest", worker.run, stop))
        registry = _registry(pool, worker, pipeline)
        try:  # from here on the threads run: whatever fails, they are stopped
            if web:
                platform.dashboard_url = _start_dashboard(
                    settings, pool, bus, care, stop, threads, registry, reload_broker
                )
            elif settings.metrics_port is not None:
                probes = serve_health(
                    settings.http_host, settings.metrics_port, registry, standard_readiness(pool.connection)
                )
                stack.callback(probes.shutdown)
            LOG.info("platform running: %s", " → ".join(r for r in ("ingest", "alerts", "web") if r in roles))
            yield platform
        finally:
            stop.set()
            care.wake()  # its thread waits on its own wake-up, not on ``stop``
            for thread in reversed(threads):
                thread.join(30)


def _detection(
    settings: Settings,
    name: str,
    db_url: str,
    pool: ConnectionPool[Any],
    care: Care,
    bus: MqttConnection,
    stack: ExitStack,
) -> DetectionPipeline:
    """Build the detection pipeline that follows this process's share of the residents."""
    classifier = load_fall_classifier()
    follower = FeedFollower(
        PartitionLeases(db_url, name),
        FeedReader(db_url),
        _rebuilder(pool, classifier, settings.topic_prefix),
        utc_now,
        blank=lambda: DetectorSet(standard_detectors(classifier)),  # stand in while a share is rebuilt
    )
    stack.callback(follower.leave)  # after the threads stop: the partitions go to the others at once
    pipeline = DetectionPipeline(DetectorSet([]), care.handle_findings, utc_now, follower=follower)
    pipeline.follow_now()  # its share of the residents, rebuilt, before any device is heard
    bus.publish(liveness_topic(name, settings.topic_root), ALIVE, retain=True)  # replaces the will of an earlier life

    def on_liveness(topic: str, payload: bytes) -> None:
        if payload == GONE:
            pipeline.process_gone(topic.rsplit("/", 1)[-1])

    bus.route(liveness_topic("+", settings.topic_root), on_liveness)
    return pipeline


def _ingest(
    settings: Settings, db_url: str, mqtt_url: str, pipeline: DetectionPipeline | None, stack: ExitStack
) -> IngestWorker:
    """Build and connect the ingest worker; with detection here, urgent records go to it in-process too."""
    priority = pipeline.priority if pipeline else Priority()  # one per process: the GIL is
    links = ingest_connections(settings, mqtt_url, settings.ingest_client_id, priority)
    worker = IngestWorker(
        settings.ingest_config(settings.ingest_client_id),
        db_url,
        links.bulk,
        events=links.events,
        urgent=links.urgent,
        sink=pipeline.submit if pipeline else None,
        urgent_sink=pipeline.submit_urgent if pipeline else None,
        clock=utc_now,
        worker_name=settings.ingest_client_id,
        priority=priority,
    )
    links.connect()
    stack.callback(links.close)
    return worker


def _alert_threads(
    settings: Settings,
    pool: ConnectionPool[Any],
    pipeline: DetectionPipeline,
    alert_service: AlertService,
    care: Care,
    stop: threading.Event,
) -> list[threading.Thread]:
    """Start the alert side's threads: detection, the escalation clock, care, upkeep and the daily plans."""
    every = (
        ("escalation", 1.0, alert_service.run_due, "escalation clock", False),
        (
            "upkeep",
            300.0,
            lambda: _upkeep(pool, settings.retention_days, settings.outcome_retention_days),
            "rollups and retention",
            False,
        ),
        ("visits", 3600.0, care.plan_visits, "visit planning", True),
        ("shifts", 3600.0, lambda: _extend_shifts(pool, settings.timezone), "weekly shifts", True),
        ("profiles", 30.0, lambda: _refresh_profiles(pool, pipeline), "profiles", False),
        ("relearn", 600.0, _nightly_relearn(pool, pipeline, settings), "re-learning baselines", False),
    )
    return [
        _thread("detection", pipeline.run, stop),
        _thread("care", lambda s: care.run(s, settings.care_interval_s), stop),
        *(
            _thread(name, _every(seconds, action, what, at_start=first), stop)
            for name, seconds, action, what, first in every
        ),
    ]


def _registry(
    pool: ConnectionPool[Any], worker: IngestWorker | None, pipeline: DetectionPipeline | None
) -> CollectorRegistry:
    """Gather this process's metrics: its ingest worker's and its urgent work's; the alert path's and the
    policies' where they run."""
    registry = worker.metrics.registry if worker is not None else CollectorRegistry()
    owner = pipeline or worker  # one Priority per process: an ingest worker beside detection shares its
    if owner is not None:
        registry.register(PriorityCollector(owner.priority))
    if pipeline is not None:  # the platform-wide figures once, from the processes that run the alert side
        registry.register(AlertPathCollector(pool.connection, pipeline.follower))
        registry.register(PolicyJobCollector(pool.connection))  # the upkeep runs here
    return registry


def escalation_policy(scale: float) -> EscalationPolicy:
    """Return the escalation policy with its acknowledgement timeouts scaled (1.0 in service; drills run faster)."""
    return EscalationPolicy(ack_timeouts={s: t * scale for s, t in DEFAULT_ACK_TIMEOUTS.items()})


def _upkeep(pool: ConnectionPool[Any], retention_days: int, example_days: int = 365) -> None:
    """Refresh the rollups and apply retention; in TimescaleDB mode, run the policies its scheduler fails."""
    with pool.connection() as conn:
        report = Maintenance(retention_days=retention_days).run(conn, utc_now())
        if report.mode is DbMode.TIMESCALEDB:
            run_policy_jobs(conn, utc_now())
        purge_examples(conn, utc_now(), example_days)  # labelled fall examples: their own retention, and consent


def _extend_shifts(pool: ConnectionPool[Any], zone: str) -> None:
    """Make the coming weeks' shifts of every staff member's weekly pattern (the roster's 排班)."""
    with pool.connection() as conn:
        extend_shifts(conn, utc_now(), zone)


def _rebuilder(pool: ConnectionPool[Any], classifier: FallScorer, prefix: str) -> Rebuild:
    """Make the function that builds detectors for the residents of a share of the partitions."""

    def rebuild(owned: frozenset[int]) -> DetectorSet:
        with pool.connection() as conn:
            profiles = [p for p in load_profiles(conn) if partition_of(p.resident_id) in owned]
            history = load_history(conn, utc_now() - HISTORY, prefix, [p.resident_id for p in profiles])
        detectors = DetectorSet(standard_detectors(classifier))
        for profile in profiles:
            detectors.register_resident(profile)
        detectors.learn(history)
        return detectors

    return rebuild


def _nightly_relearn(pool: ConnectionPool[Any], pipeline: DetectionPipeline, settings: Settings) -> Callable[[], None]:
    """Make the nightly re-learning of routines, so a resident added today has one by tomorrow (no restart)."""
    zone = ZoneInfo(settings.timezone)
    learned_on = [utc_now().astimezone(zone).date()]  # the start learned already

    def relearn() -> None:
        now = utc_now()
        if not relearn_due(now.astimezone(zone), learned_on[0]):
            return
        with pool.connection() as conn:
            history = load_history(conn, now - HISTORY, settings.topic_prefix)
        pipeline.relearn(history)
        learned_on[0] = now.astimezone(zone).date()
        LOG.info("baselines re-learned from %d observations of the last %d days", len(history), HISTORY.days)

    return relearn


def _refresh_profiles(pool: ConnectionPool[Any], pipeline: DetectionPipeline) -> None:
    """Register residents added since the start (profiles replace the old ones)."""
    with pool.connection() as conn:
        pipeline.register_residents(load_profiles(conn))


def _start_dashboard(
    settings: Settings,
    pool: ConnectionPool[Any],
    bus: MqttConnection,
    care: Care,
    stop: threading.Event,
    threads: list[threading.Thread],
    registry: CollectorRegistry,
    reload_broker: Callable[[], None] | None = None,
) -> str | None:
    """Serve the dashboard with uvicorn on a thread; return its URL."""
    try:
        from anxin.web import serve_dashboard  # noqa: PLC0415 - the dashboard is optional in workers
    except ImportError:
        LOG.warning("dashboard wiring not available; running without the web console")
        return None
    return serve_dashboard(settings, pool, bus, care, stop, threads, reload_broker=reload_broker, registry=registry)
