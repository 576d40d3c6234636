"""Ingest counters and gauges as Prometheus metrics (``prometheus_client``), one registry per worker.

Each worker keeps its own `CollectorRegistry` rather than the library's global one: tests and
benchmarks run several workers in one process, and a second registration of the same name in the
global registry would fail. A process serves the registry of its worker through the dashboard's
``/metrics`` or the health server of `anxin.observability` (with ``/healthz`` and ``/readyz``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.priority import Priority
from ingest.database import DbMode, db_mode
from ingest.errors import DatabaseError
from ingest.maintenance import policy_jobs

LOG = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# name (without the _total suffix) → help text; each counts messages
_COUNTERS = {
    "received": "Messages received from the broker",
    "stored": "Rows committed",
    "duplicates": "Messages already stored (resent or redelivered)",
    "spooled": "Messages written to the disk spool while the database was down",
    "replayed": "Spooled messages replayed into the database",
    "urgent": "Urgent events sent on the alert path ahead of the batch",
    "urgent_lane": "Urgent events taken again from the urgent lane (clean sessions that leave a dead worker out)",
}


def _total(name: str) -> property:
    """Make the reader of one of the worker's counters (its ``anxin_ingest_{name}_total`` sample)."""
    return property(lambda self: int(self._value(f"anxin_ingest_{name}_total")), doc=_COUNTERS[name])


class Metrics:
    """What one ingest worker has done since it started, in a registry of its own (thread-safe)."""

    def __init__(self, worker: str = "ingest", registry: CollectorRegistry | None = None) -> None:
        self.worker = worker
        self.registry = registry if registry is not None else CollectorRegistry()
        self._counters = {
            name: Counter(f"anxin_ingest_{name}", text, ["worker"], registry=self.registry).labels(worker)
            for name, text in _COUNTERS.items()
        }
        self._dead = Counter(
            "anxin_ingest_dead_lettered",
            "Messages dead-lettered, by reason",
            ["worker", "reason"],
            registry=self.registry,
        )
        self._batch = Histogram(
            "anxin_ingest_batch_seconds",
            "Time to commit one batch",
            ["worker"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        ).labels(worker)
        self._lag = Histogram(
            "anxin_ingest_lag_seconds",
            "From a batch's oldest message reaching the worker to its commit (replays included)",
            ["worker"],
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        ).labels(worker)
        self._urgent = Histogram(
            "anxin_ingest_urgent_seconds",
            "From an urgent event reaching the worker to its commit and hand-off to the alert path",
            ["worker"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        ).labels(worker)
        self._spool = Gauge(
            "anxin_ingest_spool_bytes", "Bytes waiting in the disk spool", ["worker"], registry=self.registry
        ).labels(worker)
        self._mode = Gauge(
            "anxin_database_mode",
            "The database mode in use (1) and the others (0); none is 1 before the worker has read it",
            ["mode"],
            registry=self.registry,
        )
        for mode in DbMode:
            self._mode.labels(mode.value).set(0)

    def count_received(self) -> None:
        """Count one message taken from the broker."""
        self._counters["received"].inc()

    def count_urgent(self, lane: bool = False) -> None:
        """Count one urgent event sent ahead of the batch (``lane``: its copy from the urgent lane)."""
        self._counters["urgent_lane" if lane else "urgent"].inc()

    def count_spooled(self, messages: int) -> None:
        """Count messages written to the spool."""
        self._counters["spooled"].inc(messages)

    def count_replayed(self, messages: int) -> None:
        """Count spooled messages replayed into the database."""
        self._counters["replayed"].inc(messages)

    def batch(
        self, seconds: float, stored: int, duplicates: int, dead: dict[str, int], lag: float | None = None
    ) -> None:
        """Count one committed batch: its commit time, rows, duplicates, dead letters and lag."""
        self._batch.observe(seconds)
        self._counters["stored"].inc(stored)
        self._counters["duplicates"].inc(duplicates)
        for reason, n in dead.items():
            self._dead.labels(self.worker, reason).inc(n)
        if lag is not None:
            self._lag.observe(max(lag, 0.0))

    def urgent_delivered(self, seconds: float) -> None:
        """Record how long an urgent event took from the worker's inbox to the alert path."""
        self._urgent.observe(max(seconds, 0.0))

    def spool_size(self, size: int) -> None:
        """Set the bytes waiting in the spool."""
        self._spool.set(size)

    def database_mode(self, mode: DbMode) -> None:
        """Mark the database mode in use."""
        for each in DbMode:
            self._mode.labels(each.value).set(1 if each is mode else 0)

    def _value(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, {"worker": self.worker, **labels})
        return value or 0.0

    # Readers for tests and benchmarks, which wait on what a worker has done: one per counter of _COUNTERS.
    received = _total("received")
    stored = _total("stored")
    duplicates = _total("duplicates")
    spooled = _total("spooled")
    replayed = _total("replayed")
    urgent = _total("urgent")
    urgent_lane = _total("urgent_lane")

    @property
    def batches(self) -> int:
        """Return the batches committed."""
        return int(self._value("anxin_ingest_batch_seconds_count"))

    @property
    def latency_sum(self) -> float:
        """Return the seconds spent committing batches."""
        return self._value("anxin_ingest_batch_seconds_sum")

    @property
    def dead_lettered(self) -> dict[str, int]:
        """Return the messages dead-lettered, by reason."""
        return {
            s.labels["reason"]: int(s.value)
            for family in self._dead.collect()
            for s in family.samples
            if s.name == "anxin_ingest_dead_lettered_total"
        }

    def __repr__(self) -> str:
        return (
            f"Metrics(worker={self.worker!r}, received={self.received}, stored={self.stored},"
            f" duplicates={self.duplicates}, dead_lettered={self.dead_lettered}, spooled={self.spooled},"
            f" replayed={self.replayed})"
        )


class PolicyJobCollector(Collector):
    """Report TimescaleDB's policy jobs when scraped: the scheduler's failures, the upkeep's, and who is behind."""

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connect = connect
        self._clock = clock

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Describe nothing up front, so that registering does not query the database."""
        return ()

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        """Read the jobs (nothing in plain mode, or when the database does not answer)."""
        try:
            with self._connect() as conn:
                if db_mode(conn) is not DbMode.TIMESCALEDB:
                    return []
                jobs = policy_jobs(conn)
        except (psycopg.Error, DatabaseError) as exc:
            LOG.warning("cannot read TimescaleDB's jobs for the metrics: %s", exc)
            return []
        labels = ["job_id", "policy", "table"]
        scheduler = CounterMetricFamily(
            "anxin_timescaledb_job_scheduler_failures",
            "Failed runs of a policy by the background scheduler",
            labels=labels,
        )
        upkeep = GaugeMetricFamily(
            "anxin_timescaledb_job_upkeep_failed", "1 when the upkeep's own last run of a policy failed", labels=labels
        )
        failing = GaugeMetricFamily(
            "anxin_timescaledb_job_failing",
            "1 when neither the scheduler nor the upkeep completes a policy",
            labels=labels,
        )
        now = self._clock()
        for job in jobs:
            values = [str(job.job_id), job.policy, job.table or ""]
            scheduler.add_metric(values, job.scheduler_failures)
            upkeep.add_metric(values, 1 if job.upkeep_error is not None else 0)
            failing.add_metric(values, 1 if job.failing(now) else 0)
        return [scheduler, upkeep, failing]


class PriorityCollector(Collector):
    """Report how the process's bulk threads gave way to urgent work (`gateway.priority`), when scraped."""

    def __init__(self, priority: Priority) -> None:
        self._priority = priority

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        """Read the counts (no I/O)."""
        p = self._priority
        in_flight = GaugeMetricFamily("anxin_urgent_in_flight", "Urgent records begun and not yet acted on")
        in_flight.add_metric([], p.in_flight)
        pauses = CounterMetricFamily("anxin_bulk_pauses", "Times a bulk thread waited for urgent work to end")
        pauses.add_metric([], p.pauses)
        paused = CounterMetricFamily(
            "anxin_bulk_paused_seconds", "Seconds bulk threads waited for urgent work (at most half of each second)"
        )
        paused.add_metric([], p.paused_s)
        return [in_flight, pauses, paused]
