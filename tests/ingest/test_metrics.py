"""Ingest metrics through prometheus_client: one registry per worker (served by anxin.observability)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from gateway.priority import Priority
from ingest.database import DbMode
from ingest.metrics import Metrics, PriorityCollector


def test_counters_render_in_prometheus_text_format() -> None:
    metrics = Metrics("w1")
    for _ in range(12):
        metrics.count_received()
    metrics.batch(0.02, stored=9, duplicates=1, dead={"bad_json": 2}, lag=0.3)
    metrics.urgent_delivered(0.004)
    metrics.spool_size(4096)
    metrics.database_mode(DbMode.POSTGRESQL)
    text = generate_latest(metrics.registry).decode()
    assert 'anxin_ingest_received_total{worker="w1"} 12.0' in text
    assert 'anxin_ingest_stored_total{worker="w1"} 9.0' in text
    assert 'anxin_ingest_duplicates_total{worker="w1"} 1.0' in text
    assert 'anxin_ingest_dead_lettered_total{reason="bad_json",worker="w1"} 2.0' in text
    assert 'anxin_ingest_batch_seconds_bucket{le="0.025",worker="w1"} 1.0' in text
    assert 'anxin_ingest_batch_seconds_count{worker="w1"} 1.0' in text
    assert 'anxin_ingest_lag_seconds_bucket{le="0.25",worker="w1"} 0.0' in text
    assert 'anxin_ingest_lag_seconds_bucket{le="0.5",worker="w1"} 1.0' in text
    assert 'anxin_ingest_urgent_seconds_bucket{le="0.005",worker="w1"} 1.0' in text
    assert 'anxin_ingest_spool_bytes{worker="w1"} 4096.0' in text
    assert 'anxin_database_mode{mode="postgresql"} 1.0' in text
    assert 'anxin_database_mode{mode="timescaledb"} 0.0' in text
    for line in text.splitlines():
        assert line.startswith(("#", "anxin_"))


def test_workers_in_one_process_keep_their_own_counts() -> None:
    one, two = Metrics("a"), Metrics("b")  # a second registration in one registry would raise
    one.count_spooled(3)
    one.batch(0.01, stored=5, duplicates=2, dead={"invalid": 1, "unknown_device": 2})
    two.count_replayed(4)
    assert (one.spooled, one.stored, one.duplicates, one.batches) == (3, 5, 2, 1)
    assert one.dead_lettered == {"invalid": 1, "unknown_device": 2}
    assert (two.spooled, two.replayed, two.stored, two.dead_lettered) == (0, 4, 0, {})


def test_the_urgent_work_collector_says_what_the_bulk_threads_gave_way_to() -> None:
    priority = Priority(max_pause_s=0.01)
    registry = CollectorRegistry()
    registry.register(PriorityCollector(priority))
    priority.begin()  # an SOS on its way: a bulk thread waits for it
    priority.step_aside()
    text = generate_latest(registry).decode()
    assert "anxin_urgent_in_flight 1.0" in text and "anxin_bulk_pauses_total 1.0" in text
    paused = next(line for line in text.splitlines() if line.startswith("anxin_bulk_paused_seconds_total"))
    assert 0.009 <= float(paused.split()[1]) < 1.0
    priority.end()
    assert "anxin_urgent_in_flight 0.0" in generate_latest(registry).decode()
