"""Ingest against a real Mosquitto and PostgreSQL: every kind stored, duplicates once, bad input dead-lettered."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import psycopg

from anxin.services import LocalMosquitto
from gateway.contract import (
    MAX_PAYLOAD_BYTES,
    BathroomEvent,
    BedEvent,
    Channel,
    DoorEvent,
    FallEvent,
    GasEvent,
    ImpactEvent,
    Location,
    MotionEvent,
    OkEvent,
    PowerUseEvent,
    SmokeEvent,
    SosEvent,
    Status,
    Telemetry,
    WaterLeakEvent,
    WaterUseEvent,
    encode,
)
from tests.ingest.harness import T0, Device_, count, register_fleet, running_worker, telemetry, wait_for


def _events(start: int) -> list[tuple[str, bytes]]:
    t = T0
    kinds = [
        SosEvent(kind="sos", seq=start, ts=t),
        OkEvent(kind="ok", seq=start + 1, ts=t),
        FallEvent(kind="fall", seq=start + 2, ts=t, confidence=0.9),
        ImpactEvent(kind="impact", seq=start + 3, ts=t, rate_hz=20, samples=[(0.0, 0.0, 1.0)] * 40),
        SmokeEvent(kind="smoke", seq=start + 4, ts=t, state="alarm"),
        GasEvent(kind="gas", seq=start + 5, ts=t, state="alarm"),
        WaterLeakEvent(kind="water_leak", seq=start + 6, ts=t, state="alarm"),
    ]
    hub = [
        MotionEvent(kind="motion", seq=start + 7, ts=t, room="kitchen", sensor_id="r0-motion-kitchen"),
        DoorEvent(kind="door", seq=start + 8, ts=t, state="open"),
        BedEvent(kind="bed", seq=start + 9, ts=t, state="occupied"),
        BathroomEvent(kind="bathroom", seq=start + 10, ts=t, state="occupied"),
        PowerUseEvent(kind="power_use", seq=start + 11, ts=t, watts=120.5),
        WaterUseEvent(kind="water_use", seq=start + 12, ts=t, litres=3.5),
    ]
    return [("r0-bracelet", encode(e)) for e in kinds] + [("r0-hub", encode(e)) for e in hub]


def test_every_message_kind_round_trips(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    device = Device_(mqtt_broker.port, topic_prefix)
    device.listen_cmd("r0-bracelet")
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool") as run:
        loc = Location(lat=31.23, lon=121.47, accuracy_m=12)
        tel = Telemetry(
            seq=1, ts=T0, heart_rate=72, spo2=97, steps=1200, battery=81, worn=True, skin_temp_c=33.2, location=loc
        )
        device.send("r0-bracelet", Channel.TELEMETRY, encode(tel))
        device.send(
            "r0-bracelet", Channel.STATUS, encode(Status(seq=2, ts=T0, state="online", firmware="1.2.3", battery=81))
        )
        events = _events(100)
        device.send_many([(d, Channel.EVENT, p) for d, p in events])
        wait_for(lambda: count(db_url, "SELECT count(*) FROM events") == len(events), what="events stored")
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 1)
        wait_for(lambda: count(db_url, "SELECT count(*) FROM device_status") == 1)
        # The bracelet's critical events are confirmed on its cmd topic.
        wait_for(lambda: len(device.cmds) >= 7, what="confirmations")
        acked = {json.loads(c)["ack_seq"] for c in device.cmds}
        assert acked == {100, 101, 102, 103, 104, 105, 106}
        wait_for(lambda: len(run.handed) == len(events) + 2, what="records handed to the alert path")
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT resident_id, heart_rate, spo2, steps, battery, worn, lat FROM telemetry").fetchone()
        assert row == ("r0", 72, 97, 1200, 81, True, 31.23)
        motion = conn.execute("SELECT sensor_id, room, resident_id FROM events WHERE kind = 'motion'").fetchone()
        assert motion == ("r0-motion-kitchen", "kitchen", "r0")
        impact = conn.execute("SELECT data FROM events WHERE kind = 'impact'").fetchone()
        assert impact is not None and impact[0]["rate_hz"] == 20 and len(impact[0]["samples"]) == 40
        assert conn.execute("SELECT value FROM events WHERE kind = 'power_use'").fetchone() == (120.5,)
        assert conn.execute("SELECT firmware FROM device_status").fetchone() == ("1.2.3",)
    device.close()


def test_duplicates_are_stored_once(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    device = Device_(mqtt_broker.port, topic_prefix)
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool") as run:
        batch = [("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(50)]
        device.send_many(batch + batch[:20])  # in the same batch
        wait_for(lambda: run.worker.metrics.received == 70)
        device.send_many(batch[:10])  # in a later batch
        wait_for(lambda: run.worker.metrics.received == 80)
        wait_for(lambda: run.worker.metrics.duplicates == 30, what="30 duplicates counted")
    assert count(db_url, "SELECT count(*) FROM telemetry") == 50
    device.close()


def test_bad_input_is_dead_lettered_and_good_messages_around_it_are_stored(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    device = Device_(mqtt_broker.port, topic_prefix)
    future = T0 + timedelta(days=3650)
    bad = {
        "bad_json": ("r0-bracelet", "r0-bracelet/telemetry", b"{not json"),
        "invalid": (
            "r0-bracelet",
            "r0-bracelet/telemetry",
            b'{"seq": 1, "ts": "2026-11-01T08:00:00Z", "heart_rate": 400, "battery": 50, "worn": true}',
        ),
        "identity_mismatch": (
            "r0-bracelet",
            "r0-bracelet/event",
            b'{"device_id": "r1-bracelet", "seq": 5, "ts": "2026-11-01T08:00:00Z", "kind": "sos"}',
        ),
        "future_timestamp": ("r0-bracelet", "r0-bracelet/telemetry", telemetry(7, at=future)),
        "too_large": ("r0-bracelet", "r0-bracelet/telemetry", b" " * (MAX_PAYLOAD_BYTES + 1)),
        "unknown_device": ("ghost", "ghost/telemetry", telemetry(1)),
        "unknown_sensor": (
            "r0-hub",
            "r0-hub/event",
            b'{"seq": 9, "ts": "2026-11-01T08:00:00Z", "kind": "motion", '
            b'"room": "hall", "sensor_id": "r1-motion-kitchen"}',
        ),
        "bad_topic": ("r0-bracelet", "r0-bracelet/diagnostics", b"{}"),
    }
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool") as run:
        # The worker subscribes to its three channels only; let a stray channel reach it too.
        run.connection.subscribe([*run.worker.config.subscriptions(), f"{topic_prefix}/+/diagnostics"])
        for i, (_device, suffix, payload) in enumerate(bad.values()):
            device.send("r0-bracelet", Channel.TELEMETRY, telemetry(1000 + i))  # a good one before each bad one
            device.send(_device, suffix, payload)
        device.send("r0-bracelet", Channel.TELEMETRY, telemetry(2000))
        wait_for(lambda: count(db_url, "SELECT count(*) FROM dead_letters") == len(bad), what="dead letters")
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == len(bad) + 1, what="good messages")
    with psycopg.connect(db_url) as conn:
        reasons = {r[0] for r in conn.execute("SELECT reason FROM dead_letters")}
        assert reasons == set(bad)
        row = conn.execute("SELECT topic, payload, detail FROM dead_letters WHERE reason = 'bad_json'").fetchone()
        assert row is not None
        assert row[0].endswith("r0-bracelet/telemetry") and bytes(row[1]) == b"{not json" and row[2]
    device.close()


def test_a_message_the_database_refuses_is_dead_lettered_and_the_rest_of_its_batch_stored(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    with psycopg.connect(db_url) as conn:  # a rule the contract does not know: the database refuses hr 199
        conn.execute("ALTER TABLE telemetry ADD CONSTRAINT refuse_199 CHECK (heart_rate <> 199)")
    device = Device_(mqtt_broker.port, topic_prefix)
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool", batch_max_ms=500) as run:
        batch = [("r0-bracelet", Channel.TELEMETRY, telemetry(i, hr=199 if i == 7 else 70)) for i in range(50)]
        device.send_many(batch)
        wait_for(
            lambda: count(db_url, "SELECT count(*) FROM dead_letters WHERE reason = 'unstorable'") == 1,
            what="the refused message dead-lettered",
        )
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 49, what="the rest of its batch")
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(50, 60)])
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 59, what="ingest carries on")
        assert run.worker.metrics.spooled == 0
        assert run.thread.is_alive()
    device.close()
