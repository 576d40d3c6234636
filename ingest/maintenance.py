"""Upkeep of the time series: hourly rollups and retention, run every few minutes by the platform.

In plain PostgreSQL mode nothing else keeps them: each run recomputes the rollup hours that overlap a
recent window (``INSERT … SELECT date_bin(…) … ON CONFLICT DO UPDATE``, so late and replayed rows are
counted), then deletes rows older than the retention period in small batches, each its own
transaction, so that ingest is never blocked behind one long delete. In TimescaleDB mode the
continuous-aggregate, compression and retention policies do all of this in the background; a run
only refreshes the continuous aggregates when it is asked for an explicit window (after a bulk load
or a replay of old data).

Time is passed in. Several workers may run maintenance at once; an advisory lock lets one of them work.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final

import psycopg
from psycopg import sql

from ingest.database import DbMode, db_mode
from ingest.queries import HOUR, ORIGIN

LOG = logging.getLogger(__name__)
_LOCK_ID: Final = 0x616E78696E02  # "anxin" + maintenance
RAW_TABLES: Final = ("telemetry", "events", "device_status")
CONTINUOUS_AGGREGATES: Final = ("activity_hourly", "heart_rate_hourly", "vitals_hourly")


@dataclass(frozen=True, slots=True)
class Rollup:
    """An hourly rollup table of plain mode and the statement that recomputes a window of it."""

    table: str
    refresh: str


_ROLLUPS: Final = (
    Rollup(
        "activity_hourly",
        """
        INSERT INTO activity_hourly (bucket, resident_id, room, events)
        SELECT date_bin(%(hour)s, ts, %(origin)s), resident_id, coalesce(room, kind), count(*)
        FROM events
        WHERE kind IN ('motion', 'door', 'bed', 'bathroom') AND resident_id IS NOT NULL
          AND ts >= %(start)s AND ts < %(end)s
        GROUP BY 1, 2, 3
        ON CONFLICT (resident_id, bucket, room) DO UPDATE SET events = EXCLUDED.events""",
    ),
    Rollup(
        "heart_rate_hourly",
        """
        INSERT INTO heart_rate_hourly (bucket, resident_id, hr_min, hr_avg, hr_max, samples)
        SELECT date_bin(%(hour)s, ts, %(origin)s), resident_id, min(heart_rate), avg(heart_rate)::real,
               max(heart_rate), count(heart_rate)
        FROM telemetry
        WHERE heart_rate IS NOT NULL AND resident_id IS NOT NULL AND ts >= %(start)s AND ts < %(end)s
        GROUP BY 1, 2
        ON CONFLICT (resident_id, bucket) DO UPDATE SET hr_min = EXCLUDED.hr_min, hr_avg = EXCLUDED.hr_avg,
            hr_max = EXCLUDED.hr_max, samples = EXCLUDED.samples""",
    ),
    Rollup(
        "vitals_hourly",
        """
        INSERT INTO vitals_hourly (bucket, resident_id, spo2_min, spo2_avg, spo2_samples, steps_max)
        SELECT date_bin(%(hour)s, ts, %(origin)s), resident_id, min(spo2), avg(spo2)::real, count(spo2), max(steps)
        FROM telemetry
        WHERE resident_id IS NOT NULL AND ts >= %(start)s AND ts < %(end)s
        GROUP BY 1, 2
        ON CONFLICT (resident_id, bucket) DO UPDATE SET spo2_min = EXCLUDED.spo2_min,
            spo2_avg = EXCLUDED.spo2_avg, spo2_samples = EXCLUDED.spo2_samples, steps_max = EXCLUDED.steps_max""",
    ),
)

_DELETE_BATCH: Final = (
    "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE ts < %(cutoff)s LIMIT %(batch)s))"
)


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    """What one run did."""

    mode: DbMode
    ran: bool  # False when another process held the maintenance lock
    window: tuple[datetime, datetime] | None  # the hours refreshed, when any
    refreshed: tuple[str, ...]
    deleted: dict[str, int]


@dataclass(frozen=True, slots=True)
class Maintenance:
    """Keep the rollups fresh and old rows gone; call `run` every few minutes."""

    retention_days: int = 180
    window: timedelta = timedelta(hours=3)  # plain mode: how far back each run recomputes the rollups
    batch_rows: int = 10_000

    def run(self, conn: psycopg.Connection, now: datetime, window: timedelta | None = None) -> MaintenanceReport:
        """Do one round of upkeep as of ``now``; ``window`` asks for a refresh of that many recent hours.

        Each step commits on its own: the connection (idle, e.g. from a pool) runs in autocommit until
        the call returns.
        """
        previous, conn.autocommit = conn.autocommit, True
        try:
            mode = db_mode(conn)
            if not _try_lock(conn):
                LOG.info("maintenance skipped: another process is running it")
                return MaintenanceReport(mode, False, None, (), {})
            try:
                return self._round(conn, mode, now, window)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
        finally:
            conn.autocommit = previous

    def _round(
        self, conn: psycopg.Connection, mode: DbMode, now: datetime, window: timedelta | None
    ) -> MaintenanceReport:
        """Do the work of the mode."""
        if mode is DbMode.TIMESCALEDB:
            return self._timescaledb(conn, now, window)
        return self._postgresql(conn, now, window or self.window)

    def _postgresql(self, conn: psycopg.Connection, now: datetime, window: timedelta) -> MaintenanceReport:
        """Recompute the rollup hours of the window, then apply retention."""
        start, end = hours_around(now - window, now)
        for rollup in _ROLLUPS:
            conn.execute(rollup.refresh, {"hour": HOUR, "origin": ORIGIN, "start": start, "end": end})
        deleted = {t: self._purge(conn, t, now - timedelta(days=self.retention_days)) for t in RAW_TABLES}
        report = MaintenanceReport(DbMode.POSTGRESQL, True, (start, end), tuple(r.table for r in _ROLLUPS), deleted)
        LOG.info("maintenance: rollups refreshed for %s – %s, deleted %s", start, end, deleted)
        return report

    def _purge(self, conn: psycopg.Connection, table: str, cutoff: datetime) -> int:
        """Delete the rows of ``table`` older than ``cutoff``, one batch per transaction."""
        statement = sql.SQL(_DELETE_BATCH).format(table=sql.Identifier(table))
        total = 0
        while True:
            deleted = conn.execute(statement, {"cutoff": cutoff, "batch": self.batch_rows}).rowcount
            total += deleted
            if deleted < self.batch_rows:
                return total

    @staticmethod
    def _timescaledb(conn: psycopg.Connection, now: datetime, window: timedelta | None) -> MaintenanceReport:
        """Refresh the continuous aggregates over ``window`` when asked; the policies do the rest."""
        if window is None:
            return MaintenanceReport(DbMode.TIMESCALEDB, True, None, (), {})
        start, end = hours_around(now - window, now)
        for view in CONTINUOUS_AGGREGATES:
            conn.execute("CALL refresh_continuous_aggregate(%s, %s::timestamptz, %s::timestamptz)", (view, start, end))
        LOG.info("maintenance: continuous aggregates refreshed for %s – %s", start, end)
        return MaintenanceReport(DbMode.TIMESCALEDB, True, (start, end), CONTINUOUS_AGGREGATES, {})


def hours_around(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Widen ``[start, end)`` to whole hours: the start rounded down, the end up past the hour it is in."""
    floor = start - (start - ORIGIN) % HOUR
    return floor, end - (end - ORIGIN) % HOUR + HOUR


def _try_lock(conn: psycopg.Connection) -> bool:
    """Take the session-level maintenance lock if nobody holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_ID,)).fetchone()
    return bool(row and row[0])


# TimescaleDB's policies, by the procedure each job runs. Where the background scheduler fails them
# (TimescaleDB 2.28 on PostgreSQL 15: "cannot drop portal" on every run, see docs/operations.md), the
# upkeep runs them itself with `CALL run_job`, which succeeds in a session.
POLICIES: Final = {
    "policy_compression": "compression",
    "policy_retention": "retention",
    "policy_refresh_continuous_aggregate": "refresh",
}
_JOBS: Final = """
    SELECT j.job_id, j.proc_name, j.hypertable_name, j.schedule_interval,
           s.last_run_status, coalesce(s.total_failures, 0), s.last_successful_finish, s.last_run_started_at, m.value
    FROM timescaledb_information.jobs j
    LEFT JOIN timescaledb_information.job_stats s USING (job_id)
    LEFT JOIN anxin_meta m ON m.key = 'policy_job:' || j.job_id
    WHERE j.scheduled AND j.proc_name = ANY(%s)
    ORDER BY j.job_id"""
_STALE: Final = timedelta(minutes=10)  # slack past two schedule intervals before a policy counts as not running


@dataclass(frozen=True, slots=True)
class PolicyJob:
    """One TimescaleDB policy job: what the scheduler made of it, and the upkeep's own last run."""

    job_id: int
    policy: str  # compression, retention or refresh
    table: str | None
    every: timedelta
    background_failed: bool  # the scheduler's last run failed, or it failed since its last success
    background_never_ran: bool  # no scheduler run recorded (scheduler off, or the job is new)
    upkeep_at: datetime | None = None
    upkeep_error: str | None = None
    scheduler_failures: int = 0  # the scheduler's failed runs since the job was made

    def due(self, now: datetime) -> bool:
        """Say whether the upkeep should run this job now: the scheduler is not doing it, and its time has come."""
        if not (self.background_failed or self.background_never_ran):
            return False
        return self.upkeep_at is None or self.upkeep_error is not None or now - self.upkeep_at >= self.every

    def failing(self, now: datetime) -> bool:
        """Say whether nobody completes this policy: the scheduler fails it and the upkeep failed or stopped."""
        if not (self.background_failed or self.background_never_ran):
            return False
        if self.upkeep_at is None:  # a new job the upkeep has not reached yet is not a failure
            return self.background_failed
        return self.upkeep_error is not None or now - self.upkeep_at > 2 * self.every + _STALE

    def public(self) -> dict[str, object]:
        """Return the job as a readiness check reports it."""
        return {"job_id": self.job_id, "policy": self.policy, "table": self.table, "error": self.upkeep_error}


@dataclass(frozen=True, slots=True)
class PolicyRuns:
    """What one upkeep round of the policies did."""

    ran: tuple[PolicyJob, ...]
    failed: tuple[PolicyJob, ...]  # those of ``ran`` whose `run_job` raised; their error is in ``upkeep_error``
    skipped: bool = False  # another process held the maintenance lock


def policy_jobs(conn: psycopg.Connection) -> list[PolicyJob]:
    """Read the policy jobs with the scheduler's statistics and the upkeep's last run of each."""
    jobs = []
    for job_id, proc, table, every, status, failures, success, started, ours in conn.execute(
        _JOBS, (list(POLICIES),)
    ).fetchall():
        mine = json.loads(ours) if ours else {}
        jobs.append(
            PolicyJob(
                job_id,
                POLICIES[proc],
                table,
                every,
                background_failed=status == "Failed" or (failures > 0 and (success is None or success < started)),
                background_never_ran=status is None,
                upkeep_at=datetime.fromisoformat(mine["at"]) if "at" in mine else None,
                upkeep_error=mine.get("error"),
                scheduler_failures=failures,
            )
        )
    return jobs


def run_policy_jobs(conn: psycopg.Connection, now: datetime) -> PolicyRuns:
    """Run with `CALL run_job` each policy the scheduler fails (or never ran) whose time has come; say what failed.

    Runs in autocommit (the policies commit as they go) under the maintenance lock; the outcome of each run
    is kept in ``anxin_meta`` so that the next round, in any process, knows when the policy last completed.
    """
    previous, conn.autocommit = conn.autocommit, True
    try:
        if not _try_lock(conn):
            return PolicyRuns((), (), skipped=True)
        try:
            ran = tuple(_run_job(conn, job, now) for job in policy_jobs(conn) if job.due(now))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    finally:
        conn.autocommit = previous
    failed = tuple(job for job in ran if job.upkeep_error is not None)
    if ran:
        LOG.info(
            "maintenance: ran %d TimescaleDB policies the scheduler did not complete (%s); %d failed",
            len(ran),
            ", ".join(f"{j.policy} {j.table} #{j.job_id}" for j in ran),
            len(failed),
        )
    return PolicyRuns(ran, failed)


def _run_job(conn: psycopg.Connection, job: PolicyJob, now: datetime) -> PolicyJob:
    """Run one policy job in this session and record the outcome."""
    error = None
    try:
        # No parameters, so psycopg sends it in the simple query protocol, as psql does (where run_job is known
        # to work): the policies commit inside the procedure, and the failing runs die on a portal of their own.
        conn.execute(sql.SQL("CALL run_job({})").format(sql.Literal(job.job_id)))
    except psycopg.Error as exc:
        error = str(exc).strip() or type(exc).__name__
        LOG.error("TimescaleDB %s policy #%d on %s failed in the upkeep: %s", job.policy, job.job_id, job.table, error)
    conn.execute(
        "INSERT INTO anxin_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (f"policy_job:{job.job_id}", json.dumps({"at": now.isoformat(), "error": error})),
    )
    return replace(job, upkeep_at=now, upkeep_error=error)


def policy_health(conn: psycopg.Connection, now: datetime) -> tuple[bool, dict[str, object]]:
    """Return whether every policy has completed lately, with the failing ones (a readiness check)."""
    if db_mode(conn) is not DbMode.TIMESCALEDB:
        return True, {"mode": DbMode.POSTGRESQL.value}
    jobs = policy_jobs(conn)
    failing = [j.public() for j in jobs if j.failing(now)]
    background = sum(j.background_failed for j in jobs)
    return not failing, {"mode": DbMode.TIMESCALEDB.value, "failing": failing, "scheduler_failing": background}


def run_periodically(
    url: str,
    stop: threading.Event,
    maintenance: Maintenance,
    interval_s: float = 300.0,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Run `Maintenance.run` every ``interval_s`` until ``stop`` is set; a failed round is logged and retried."""
    while not stop.is_set():
        try:
            with psycopg.connect(url, connect_timeout=5) as conn:
                maintenance.run(conn, clock())
        except psycopg.Error:
            LOG.exception("maintenance round failed; retrying in %.0f s", interval_s)
        stop.wait(interval_s)
