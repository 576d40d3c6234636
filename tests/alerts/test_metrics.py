"""The alert path's figures for Prometheus, read from a real PostgreSQL when scraped."""

from __future__ import annotations

import psycopg
from prometheus_client import CollectorRegistry, generate_latest

from alerts.detectors import DetectorSet
from alerts.feed import FeedReader
from alerts.follower import FeedFollower
from alerts.leases import PartitionLeases
from alerts.metrics import AlertPathCollector
from ingest.feed import partition_of
from tests.ingest.harness import T0, register_fleet, telemetry


def _scrape(registry: CollectorRegistry) -> dict[str, float]:
    lines = generate_latest(registry).decode().splitlines()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")}


def test_the_backlog_and_the_partitions_held_are_scraped(db_url: str) -> None:
    register_fleet(db_url, n_residents=1)
    follower = FeedFollower(
        PartitionLeases(db_url, "alerts-m"), FeedReader(db_url), lambda _: DetectorSet([]), lambda: T0
    )
    registry = CollectorRegistry()
    registry.register(AlertPathCollector(lambda: psycopg.connect(db_url), follower))
    before = _scrape(registry)
    assert before["anxin_partitions_unheld"] == 64 and before["anxin_detection_feed_backlog"] == 0
    assert before["anxin_escalation_backlog"] == 0 and before['anxin_partitions_held{process="alerts-m"}'] == 0
    follower.renew()
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO detection_feed (part, resident_id, device_id, channel, received_at, body)"
            " VALUES (%s, 'r0', 'r0-bracelet', 'telemetry', now(), %s)",
            (partition_of("r0"), telemetry(1)),
        )
    after = _scrape(registry)
    assert after["anxin_partitions_unheld"] == 0 and after['anxin_partitions_held{process="alerts-m"}'] == 64
    assert after["anxin_detection_feed_backlog"] == 1  # committed, not yet acted on
    follower.leave()
