"""Upkeep: plain mode refreshes the rollups and applies retention itself; TimescaleDB mode leaves it to policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from anxin.platform import _upkeep
from ingest.database import DbMode
from ingest.maintenance import Maintenance, PolicyJob, hours_around, policy_health, policy_jobs, run_policy_jobs
from tests.ingest.factories import BASE, NOW, event, register, telemetry, write

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def _require(mode: DbMode, wanted: DbMode) -> None:
    if mode is not wanted:
        pytest.skip(f"checks {wanted} mode; this session runs {mode}")


def _rows(db_url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(query).fetchall()


def test_hours_around_widens_to_whole_hours() -> None:
    at = datetime(2026, 11, 1, 8, 20, tzinfo=UTC)
    assert hours_around(at - 3 * HOUR, at) == (at.replace(hour=5, minute=0), at.replace(hour=9, minute=0))
    on_the_hour = at.replace(minute=0)
    assert hours_around(on_the_hour, on_the_hour) == (on_the_hour, on_the_hour + HOUR)


def test_plain_run_recomputes_the_rollup_hours_of_the_window(db_url: str, db_mode: DbMode) -> None:
    _require(db_mode, DbMode.POSTGRESQL)
    register(db_url, "r0")
    write(
        db_url,
        telemetry=[telemetry("r0", BASE + i * MIN, i, hr=60 + i) for i in range(10)],
        events=[event("r0", BASE + i * MIN, 100 + i) for i in range(4)],
    )
    now = BASE + 30 * MIN
    with psycopg.connect(db_url) as conn:
        report = Maintenance().run(conn, now)
    assert report.ran
    assert report.window == (BASE - 3 * HOUR, BASE + HOUR)
    assert _rows(db_url, "SELECT hr_min, hr_max, samples FROM heart_rate_hourly") == [(60, 69, 10)]
    assert _rows(db_url, "SELECT room, events FROM activity_hourly") == [("kitchen", 4)]
    # A late reading for the same hour is counted on the next run.
    write(db_url, telemetry=[telemetry("r0", BASE + 50 * MIN, 50, hr=120)])
    with psycopg.connect(db_url) as conn:
        Maintenance().run(conn, now + 5 * MIN)
    assert _rows(db_url, "SELECT hr_min, hr_max, samples FROM heart_rate_hourly") == [(60, 120, 11)]
    assert _rows(db_url, "SELECT steps_max, spo2_samples FROM vitals_hourly") == [(0, 11)]


def test_plain_run_leaves_hours_before_the_window_alone(db_url: str, db_mode: DbMode) -> None:
    _require(db_mode, DbMode.POSTGRESQL)
    register(db_url, "r0")
    write(db_url, telemetry=[telemetry("r0", BASE, 1), telemetry("r0", BASE + 5 * HOUR, 2)])
    with psycopg.connect(db_url) as conn:
        Maintenance(window=HOUR).run(conn, BASE + 5 * HOUR + MIN)
    assert _rows(db_url, "SELECT bucket FROM heart_rate_hourly") == [(BASE + 5 * HOUR,)]


def test_plain_retention_deletes_old_rows_in_batches(db_url: str, db_mode: DbMode) -> None:
    _require(db_mode, DbMode.POSTGRESQL)
    register(db_url, "r0")
    now = BASE + HOUR
    old = now - timedelta(days=31)
    write(
        db_url,
        telemetry=[telemetry("r0", old + i * MIN, i) for i in range(7)] + [telemetry("r0", BASE, 99)],
        events=[event("r0", old, 1), event("r0", BASE, 2)],
    )
    with psycopg.connect(db_url) as conn:
        report = Maintenance(retention_days=30, batch_rows=3).run(conn, now)
    assert report.deleted == {"telemetry": 7, "events": 1, "device_status": 0}
    assert _rows(db_url, "SELECT seq FROM telemetry") == [(99,)]
    assert _rows(db_url, "SELECT seq FROM events") == [(2,)]


def test_a_run_is_skipped_while_another_holds_the_lock(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as holder, psycopg.connect(db_url) as conn:
        assert Maintenance().run(conn, BASE).ran  # the lock is released after a run
        holder.execute("SELECT pg_advisory_lock(%s)", (0x616E78696E02,))
        assert not Maintenance().run(conn, BASE).ran
        assert not conn.autocommit  # given back as it came


@pytest.mark.timescaledb
def test_timescaledb_run_does_nothing_unless_asked_for_a_window(db_url: str) -> None:
    register(db_url, "r0")
    write(db_url, telemetry=[telemetry("r0", BASE + i * MIN, i, hr=60 + i) for i in range(10)])
    with psycopg.connect(db_url, autocommit=True) as conn:
        idle = Maintenance(retention_days=1).run(conn, BASE + 3 * 24 * HOUR)
        assert (idle.window, idle.refreshed, idle.deleted) == (None, (), {})
        assert _materialized(conn, "heart_rate_hourly") == 0
        asked = Maintenance().run(conn, BASE + HOUR, window=2 * HOUR)
        assert asked.refreshed == ("activity_hourly", "heart_rate_hourly", "vitals_hourly")
        assert _materialized(conn, "heart_rate_hourly") == 1
    assert _rows(db_url, "SELECT count(*) FROM telemetry") == [(10,)]  # retention is the policy's job


def _materialized(conn: psycopg.Connection, view: str) -> int:
    """Count the rows a continuous aggregate has materialized (not its real-time part)."""
    row = conn.execute(
        "SELECT format('%%I.%%I', materialization_hypertable_schema, materialization_hypertable_name)"
        " FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
        (view,),
    ).fetchone()
    assert row is not None
    count = conn.execute(f"SELECT count(*) FROM {row[0]}").fetchone()
    assert count is not None
    return int(count[0])


def _job(
    *, failed: bool = False, never_ran: bool = False, at: datetime | None = None, error: str | None = None
) -> PolicyJob:
    return PolicyJob(7, "compression", "telemetry", 12 * HOUR, failed, never_ran, at, error)


def test_a_policy_is_run_by_the_upkeep_only_when_the_scheduler_fails_it_and_its_time_has_come() -> None:
    now = BASE
    assert not _job().due(now)  # the scheduler does it
    assert _job(failed=True).due(now)
    assert _job(never_ran=True).due(now)  # scheduler off, or the job is new
    assert not _job(failed=True, at=now - 11 * HOUR).due(now)  # the upkeep ran it within its interval
    assert _job(failed=True, at=now - 12 * HOUR).due(now)
    assert _job(failed=True, at=now - MIN, error="boom").due(now)  # a failed run is tried again next round


def test_a_policy_is_failing_when_neither_the_scheduler_nor_the_upkeep_completes_it() -> None:
    now = BASE
    assert not _job().failing(now)
    assert not _job(never_ran=True).failing(now)  # new: the upkeep has not reached it yet
    assert _job(failed=True).failing(now)
    assert not _job(failed=True, at=now - HOUR).failing(now)  # the upkeep covers for the scheduler
    assert _job(failed=True, at=now - HOUR, error="boom").failing(now)
    assert _job(failed=True, at=now - 25 * HOUR).failing(now)  # the upkeep stopped running it
    assert _job(failed=True, at=now - MIN, error="x").public() == {
        "job_id": 7,
        "policy": "compression",
        "table": "telemetry",
        "error": "x",
    }


def test_plain_mode_has_no_policies_and_is_healthy(db_url: str, db_mode: DbMode) -> None:
    _require(db_mode, DbMode.POSTGRESQL)
    with psycopg.connect(db_url) as conn:
        assert policy_health(conn, BASE) == (True, {"mode": "postgresql"})


@pytest.mark.timescaledb
def test_the_upkeep_runs_the_policies_so_chunks_are_compressed_and_dropped(db_url: str) -> None:
    """The scheduler is off in tests (as good as failing): the upkeep runs every policy with `CALL run_job`."""
    register(db_url, "r0")
    expired, aging = NOW - timedelta(days=200), NOW - timedelta(days=10)  # retention 180 days, compression 7
    write(
        db_url,
        telemetry=[telemetry("r0", t + i * MIN, i) for t in (expired, aging, BASE) for i in range(5)],
        events=[event("r0", t, 1) for t in (expired, aging, BASE)],
    )
    with ConnectionPool(db_url, min_size=1, max_size=1, open=True) as pool:
        _upkeep(pool, retention_days=180)
        with pool.connection() as conn:
            jobs = policy_jobs(conn)
            assert {j.policy for j in jobs} == {"compression", "retention", "refresh"}
            assert all(j.upkeep_at is not None and j.upkeep_error is None for j in jobs)
            assert policy_health(conn, datetime.now(UTC))[0]
        with pool.connection() as conn:  # the reads above ended their transaction; the policies run in autocommit
            assert run_policy_jobs(conn, datetime.now(UTC)).ran == ()  # each waits for its interval now
    chunks = _rows(
        db_url,
        "SELECT hypertable_name, range_end, is_compressed FROM timescaledb_information.chunks"
        " WHERE hypertable_name IN ('telemetry', 'events') ORDER BY 1, 2",
    )
    assert chunks
    assert all(end > NOW - timedelta(days=180) for _, end, _ in chunks)  # the expired chunks are dropped
    assert [(t, z) for t, end, z in chunks if end <= NOW - timedelta(days=7)] == [
        ("events", True),
        ("telemetry", True),
    ]
    assert all(not z for _, end, z in chunks if end > NOW - timedelta(days=3))
    assert _rows(db_url, "SELECT count(*) FROM telemetry") == [(10,)]
    with psycopg.connect(db_url) as conn:
        assert _materialized(conn, "heart_rate_hourly") > 0  # the refresh policy ran too
