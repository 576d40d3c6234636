"""Duplicates, out-of-order and clock-skewed messages through the whole platform."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from anxin.platform import start_platform
from anxin.services import LocalMosquitto
from gateway.contract import Channel, FallEvent, MotionEvent, SosEvent, Telemetry, encode
from ingest.queries import clock_skew, timeline
from tests.ingest.harness import Device_, register_fleet
from tests.reliability.helpers import platform_settings, scalar, wait_for

SKEW_THRESHOLD = timedelta(minutes=2)


def _telemetry(seq: int, at: datetime) -> bytes:
    return encode(Telemetry(seq=seq, ts=at, heart_rate=70, battery=80, worn=True))


def test_duplicates_disorder_and_skew(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url, 3)
    rng = random.Random(7)
    start = datetime.now(UTC)
    settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path)
    with start_platform(settings, with_dashboard=False):
        device = Device_(mqtt_broker.port, topic_prefix)
        base = start - timedelta(seconds=60)  # within the skew threshold
        # r0: telemetry and motion in shuffled order, every message twice; SOS three times, fall twice.
        messages = [("r0-bracelet", Channel.TELEMETRY, _telemetry(s, base + timedelta(seconds=s))) for s in range(40)]
        messages += [
            (
                "r0-hub",
                Channel.EVENT,
                encode(
                    MotionEvent(
                        kind="motion",
                        seq=s,
                        ts=base + timedelta(seconds=s),
                        room="kitchen",
                        sensor_id="r0-motion-kitchen",
                    )
                ),
            )
            for s in range(20)
        ]
        sos = encode(SosEvent(kind="sos", seq=1000, ts=start))
        fall = encode(FallEvent(kind="fall", seq=1001, ts=start - timedelta(seconds=5)))  # older than the SOS
        messages += [("r0-bracelet", Channel.EVENT, sos)] * 3 + [("r0-bracelet", Channel.EVENT, fall)] * 2
        messages += messages[:60]  # a second copy of every telemetry and motion message
        rng.shuffle(messages)
        # r1's clock is an hour behind; r2's is 200 s ahead (kept), and once 10 min ahead (refused).
        messages += [
            ("r1-bracelet", Channel.TELEMETRY, _telemetry(s, start - timedelta(hours=1, seconds=-s))) for s in range(10)
        ]
        messages += [
            ("r2-bracelet", Channel.TELEMETRY, _telemetry(s, start + timedelta(seconds=200 + s))) for s in range(10)
        ]
        messages += [("r2-bracelet", Channel.TELEMETRY, _telemetry(99, start + timedelta(minutes=10)))]
        device.send_many(messages)
        wait_for(lambda: scalar(db_url, "SELECT count(*) FROM telemetry") == 60, 20, "telemetry stored")
        wait_for(lambda: scalar(db_url, "SELECT count(*) FROM dead_letters") == 1, 20, "the future one refused")
        wait_for(
            lambda: scalar(db_url, "SELECT count(*) FROM alerts WHERE kind IN ('sos', 'fall')") == 2,
            20,
            "the SOS and fall alerted",
        )
        wait_for(
            lambda: (
                scalar(db_url, "SELECT coalesce(sum(finding_count), 0) FROM alerts WHERE kind IN ('sos', 'fall')") >= 2
            ),
            20,
            "findings recorded",
        )
        device.close()
        with psycopg.connect(db_url) as conn:
            events = timeline(conn, "r0", kinds=("motion",))
            flagged = {s.device_id: s for s in clock_skew(conn, start - timedelta(minutes=1), SKEW_THRESHOLD)}
            alerts = conn.execute("SELECT kind, finding_count FROM alerts ORDER BY kind").fetchall()
            reason = conn.execute("SELECT reason FROM dead_letters").fetchone()
        sos_rows = scalar(db_url, "SELECT count(*) FROM events WHERE kind = 'sos'")
        fall_rows = scalar(db_url, "SELECT count(*) FROM events WHERE kind = 'fall'")
        print(
            f"\n[disorder] sent {len(messages)} messages ({len(messages) - 83} copies); stored telemetry "
            f"{scalar(db_url, 'SELECT count(*) FROM telemetry')}, motion {len(events)}, sos {sos_rows}, "
            f"fall {fall_rows}; alerts {alerts}; dead letters 1 ({reason}); skew flagged "
            f"{ {d: (s.skewed, round(s.median_skew_s)) for d, s in flagged.items()} }"
        )
    assert sos_rows == 1 and fall_rows == 1
    assert [k for k, _ in alerts] == ["fall", "sos"], "one alert per kind, however many copies came"
    assert [e.ts for e in events] == sorted((e.ts for e in events), reverse=True) and len(events) == 20
    assert reason == ("future_timestamp",)
    assert set(flagged) == {"r1-bracelet", "r2-bracelet"}
    assert flagged["r1-bracelet"].skewed == 10 and flagged["r1-bracelet"].median_skew_s > 3500
    assert flagged["r2-bracelet"].skewed == 10 and flagged["r2-bracelet"].median_skew_s < -190
