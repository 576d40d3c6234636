"""`anxin ingest`: run one ingest worker against DATABASE_URL and MQTT_URL (scale out by running several).

Workers are stateless writers on one shared subscription. What a worker stores for a resident goes,
in the same transaction, into the detection feed, which the alert processes (`anxin run`, later
`anxin alerts`) read for the residents they hold; PostgreSQL's NOTIFY wakes them at the commit.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from http.server import ThreadingHTTPServer
from typing import Any

import psycopg

from anxin.connections import ingest_connections
from anxin.observability import serve_health
from anxin.runtime import settle
from anxin.settings import load_settings
from gateway.priority import Priority
from ingest.database import migrate
from ingest.health import standard_readiness
from ingest.metrics import PriorityCollector
from ingest.worker import IngestWorker

LOG = logging.getLogger("anxin.ingest")


def register(sub: Any) -> None:
    """Add the `ingest` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("ingest", help="run an ingest worker (DATABASE_URL, MQTT_URL)")
    parser.add_argument("--client-id", default=None, help="MQTT client id; one per worker, stable across restarts")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="serve /metrics, /healthz and /readyz on this port"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM."""
    settings = load_settings()
    if not settings.database_url or not settings.mqtt_url:
        LOG.error("anxin ingest needs DATABASE_URL and MQTT_URL (or use `anxin run` for local services)")
        return 2
    client_id = args.client_id or settings.ingest_client_id
    with psycopg.connect(settings.database_url) as conn:
        mode = migrate(conn, settings.retention_days)
    config = settings.ingest_config(client_id)
    priority = Priority()
    links = ingest_connections(settings, settings.mqtt_url, client_id, priority)
    worker = IngestWorker(
        config,
        settings.database_url,
        links.bulk,
        events=links.events,
        urgent=links.urgent,
        worker_name=client_id,
        priority=priority,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    metrics = _serve_health(settings.database_url, worker, args.metrics_port) if args.metrics_port else None
    links.connect()
    settle()
    LOG.info("ingest worker %s running (database mode: %s, group %s)", client_id, mode, config.group)
    try:
        worker.run(stop)
    finally:
        links.close()
        if metrics is not None:
            metrics.shutdown()
    return 0


def _serve_health(url: str, worker: IngestWorker, port: int) -> ThreadingHTTPServer:
    """Serve the worker's metrics (its urgent work's too) and its probes (ready while the database answers)."""
    worker.metrics.registry.register(PriorityCollector(worker.priority))
    return serve_health(
        "127.0.0.1", port, worker.metrics.registry, standard_readiness(lambda: psycopg.connect(url, connect_timeout=3))
    )
