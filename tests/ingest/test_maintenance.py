"""Upkeep: plain mode refreshes the rollups and applies retention itself; TimescaleDB mode leaves it to policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.database import DbMode
from ingest.maintenance import Maintenance, hours_around
from tests.ingest.factories import BASE, event, register, telemetry, write

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
