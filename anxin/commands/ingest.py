"""`anxin ingest`: run one store-only ingest worker against DATABASE_URL and MQTT_URL.

What such a worker stores is not seen by detection: `anxin run`'s detectors take records from their
own in-process worker, so an SOS that a separate worker took would be stored, acknowledged to the
bracelet and never become an alert. Until detection reads the committed records from the database
(partitioned `anxin alerts` processes), the command refuses to run unless `--store-only` says that is
what is wanted (a backfill, a benchmark, a test of ingest itself).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

import psycopg

from anxin.settings import load_settings
from gateway.mqtt import BrokerAddress, MqttConnection
from ingest.database import migrate
from ingest.metrics import serve_metrics
from ingest.worker import IngestWorker

LOG = logging.getLogger("anxin.ingest")


def register(sub: Any) -> None:
    """Add the `ingest` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("ingest", help="run an ingest worker (DATABASE_URL, MQTT_URL)")
    parser.add_argument("--client-id", default=None, help="MQTT client id; one per worker, stable across restarts")
    parser.add_argument(
        "--store-only",
        action="store_true",
        help="store without detection: what this worker takes never becomes an alert (not for live devices)",
    )
    parser.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM."""
    if not args.store_only:
        LOG.error(
            "anxin ingest stores without detection: an SOS it took would never reach an operator. Run"
            " `anxin run` for live devices; pass --store-only for a backfill, a benchmark or an ingest test"
        )
        return 2
    settings = load_settings()
    if not settings.database_url or not settings.mqtt_url:
        LOG.error("anxin ingest needs DATABASE_URL and MQTT_URL (or use `anxin run` for local services)")
        return 2
    client_id = args.client_id or settings.ingest_client_id
    with psycopg.connect(settings.database_url) as conn:
        mode = migrate(conn, settings.retention_days)
    connection = MqttConnection(
        BrokerAddress.from_url(settings.mqtt_url, *settings.broker_account("ingest")), client_id, manual_ack=True
    )
    config = settings.ingest_config(client_id)
    events = MqttConnection(
        BrokerAddress.from_url(settings.mqtt_url, *settings.broker_account("ingest_events")),
        f"{client_id}-events",
        manual_ack=True,
        receive_maximum=1000,
    )
    worker = IngestWorker(config, settings.database_url, connection, events=events, worker_name=client_id)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    metrics = serve_metrics(worker.metrics, client_id, "127.0.0.1", args.metrics_port) if args.metrics_port else None
    connection.connect()
    events.connect()
    LOG.info("ingest worker %s running (database mode: %s, group %s)", client_id, mode, config.group)
    try:
        worker.run(stop)
    finally:
        connection.close()
        events.close()
        if metrics is not None:
            metrics.shutdown()
    return 0
