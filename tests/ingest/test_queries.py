"""The platform's read queries return the same answers in both database modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.maintenance import Maintenance
from ingest.queries import (
    dead_letter_counts,
    latest_status,
    recent_dead_letters,
    resident_series,
    timeline,
    uses_rollups,
)
from tests.ingest.factories import BASE, NOW, dead_letter, event, register, status, telemetry, write

MIN = timedelta(minutes=1)


def test_latest_status_joins_devices_with_their_newest_status_and_battery(db_url: str) -> None:
    register(db_url, "r0", "r1")
    write(
        db_url,
        statuses=[
            status("r0-bracelet", BASE, 1, "online", "1.0.0", 90),
            status("r0-bracelet", BASE + 5 * MIN, 2, "offline", "1.0.1", 88),
            status("r0-hub", BASE, 1, "online", "hub-2", None),
        ],
        telemetry=[telemetry("r0", BASE + 10 * MIN, 3, battery=85)],
        events=[event("r0", BASE + 20 * MIN, 4)],
    )
    with psycopg.connect(db_url) as conn:
        devices = {d.device_id: d for d in latest_status(conn)}
        only_r1 = latest_status(conn, "r1")
    bracelet = devices["r0-bracelet"]
    assert (bracelet.state, bracelet.firmware, bracelet.battery) == ("offline", "1.0.1", 85)
    assert bracelet.last_seen == BASE + 10 * MIN
    assert bracelet.resident_name == "Resident r0"
    hub = devices["r0-hub"]
    assert (hub.state, hub.battery, hub.last_seen) == ("online", None, BASE + 20 * MIN)
    sensor = devices["r0-motion-kitchen"]
    assert (sensor.room, sensor.state, sensor.last_seen) == ("kitchen", None, None)
    assert {d.device_id for d in only_r1} == {"r1-bracelet", "r1-hub", "r1-motion-kitchen"}


def _one_hour_of_readings(db_url: str) -> None:
    """Store r0's readings for two hours (one a minute) and kitchen and bedroom activity; r1 adds noise."""
    rows = [telemetry("r0", BASE + i * MIN, i, hr=60 + i % 30, spo2=90 + i % 10, steps=10 * i) for i in range(120)]
    rows += [telemetry("r1", BASE + i * MIN, i, hr=150) for i in range(10)]
    events = [event("r0", BASE + i * 7 * MIN, 1000 + i) for i in range(17)]
    events += [
        event("r0", BASE + 30 * MIN, 2000, kind="bed", room="bedroom", state="occupied"),
        event("r0", BASE + 31 * MIN, 2001, kind="sos", room=None),
    ]
    write(db_url, telemetry=rows, events=events)


def test_fine_buckets_come_from_the_raw_tables(db_url: str) -> None:
    register(db_url, "r0", "r1")
    _one_hour_of_readings(db_url)
    with psycopg.connect(db_url) as conn:
        series = resident_series(conn, "r0", BASE, BASE + 30 * MIN, timedelta(minutes=15))
    assert not series.from_rollups
    assert [v.bucket for v in series.vitals] == [BASE, BASE + 15 * MIN]
    first = series.vitals[0]
    assert (first.hr_min, first.hr_max, first.hr_samples) == (60, 74, 15)
    assert first.hr_avg == pytest.approx(67.0)
    assert (first.spo2_min, first.steps_max) == (90, 140)
    assert [(a.bucket, a.room, a.events) for a in series.activity] == [
        (BASE, "kitchen", 3),
        (BASE + 15 * MIN, "kitchen", 2),
    ]


@pytest.mark.parametrize("hours", [1, 2])
def test_hour_buckets_from_the_rollups_match_the_raw_rows(db_url: str, hours: int) -> None:
    register(db_url, "r0", "r1")
    _one_hour_of_readings(db_url)
    width = timedelta(hours=hours)
    with psycopg.connect(db_url) as conn:
        Maintenance().run(conn, NOW, window=timedelta(days=3))
        rolled = resident_series(conn, "r0", BASE, BASE + 2 * width, width)
        raw = resident_series(conn, "r0", BASE, BASE + 2 * width, width - MIN)  # same rows, raw path
    assert rolled.from_rollups
    assert not raw.from_rollups
    assert sum(v.hr_samples for v in raw.vitals) == sum(v.hr_samples for v in rolled.vitals) == 120
    assert len(rolled.vitals) == 2 // hours
    assert max(v.hr_max or 0 for v in rolled.vitals) == 89
    assert max(v.steps_max or 0 for v in rolled.vitals) == 1190
    assert rolled.vitals[0].hr_avg == pytest.approx(sum(60 + i % 30 for i in range(60 * hours)) / (60 * hours))
    assert {(a.room, a.events) for a in rolled.activity} >= {("bedroom", 1)}
    assert sum(a.events for a in rolled.activity) == 18  # the SOS is not room activity


def test_rollup_choice_follows_the_width() -> None:
    assert uses_rollups(timedelta(hours=1))
    assert uses_rollups(timedelta(days=1))
    assert not uses_rollups(timedelta(minutes=90))
    assert not uses_rollups(timedelta(minutes=5))


def test_bucket_width_must_be_positive(db_url: str) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(ValueError, match="positive"):
        resident_series(conn, "r0", BASE, NOW, timedelta(0))


def test_timeline_is_newest_first_within_range_kinds_and_limit(db_url: str) -> None:
    register(db_url, "r0", "r1")
    _one_hour_of_readings(db_url)
    with psycopg.connect(db_url) as conn:
        latest = timeline(conn, "r0", limit=3)
        window = timeline(conn, "r0", start=BASE + 28 * MIN, end=BASE + 35 * MIN)
        sos = timeline(conn, "r0", kinds=("sos", "fall"))
        older = timeline(conn, "r0", end=latest[-1].ts, limit=2)
        nobody = timeline(conn, "r1")
    assert [e.ts for e in latest] == [BASE + 112 * MIN, BASE + 105 * MIN, BASE + 98 * MIN]
    assert [(e.kind, e.room) for e in window] == [("sos", None), ("bed", "bedroom"), ("motion", "kitchen")]
    assert window[1].state == "occupied"
    assert window[2].sensor_id == "r0-motion-kitchen"
    assert [(e.kind, e.device_id) for e in sos] == [("sos", "r0-hub")]
    assert [e.ts for e in older] == [BASE + 91 * MIN, BASE + 84 * MIN]
    assert nobody == []


def test_dead_letters_recent_by_reason_and_counted(db_url: str) -> None:
    write(
        db_url,
        dead=[dead_letter(BASE + i * MIN, "invalid_json", b"x" * 1000) for i in range(3)]
        + [dead_letter(BASE + 10 * MIN, "unknown_device")],
    )
    with psycopg.connect(db_url) as conn:
        recent = recent_dead_letters(conn, limit=2, head=16)
        invalid = recent_dead_letters(conn, reason="invalid_json")
        counts = dead_letter_counts(conn)
        since = dead_letter_counts(conn, since=BASE + 5 * MIN)
    assert [d.reason for d in recent] == ["unknown_device", "invalid_json"]
    assert (recent[1].payload_bytes, recent[1].payload_head) == (1000, b"x" * 16)
    assert [d.received_at for d in invalid] == [BASE + 2 * MIN, BASE + MIN, BASE]
    assert [(c.reason, c.count) for c in counts] == [("invalid_json", 3), ("unknown_device", 1)]
    assert counts[0].latest == BASE + 2 * MIN
    assert [(c.reason, c.count) for c in since] == [("unknown_device", 1)]


def test_the_newest_hours_show_before_any_upkeep(db_url: str) -> None:
    """Plain mode reads the last hours from the raw rows; TimescaleDB's real-time aggregates add them."""
    register(db_url, "r0")
    now = datetime.now(UTC)
    write(db_url, events=[event("r0", now - timedelta(minutes=m), m) for m in (1, 2, 3)])
    with psycopg.connect(db_url) as conn:  # no Maintenance run: plain mode's rollup tables are empty
        series = resident_series(conn, "r0", now - timedelta(hours=24), now, timedelta(hours=1))
    assert series.from_rollups
    assert sum(a.events for a in series.activity) == 3
