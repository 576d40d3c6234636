"""A device clock is kept as the same instant in UTC, with one shared zone object (not one per message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gateway.contract import Channel, decode, topic


def test_a_device_time_is_the_same_instant_in_utc() -> None:
    sent = b'{"seq": 1, "ts": "2026-12-06T08:30:00+08:00", "kind": "sos"}'
    records = [decode(topic(f"b-{i}", Channel.EVENT), sent, datetime.now(UTC)) for i in range(2)]
    at = records[0].body.ts
    assert at == datetime(2026, 12, 6, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    assert at.tzinfo is UTC and records[1].body.ts.tzinfo is UTC
