"""The detection feed and the partition leases on a real PostgreSQL and Mosquitto.

What ingest stored for a resident reaches the feed once (a redelivered copy does not), in arrival
order, decoded with the contract's own types; a read stops at the oldest running transaction and the
checkpoint moves only while the lease is held; two processes share the partitions evenly and one
takes over all of them when the other leaves or stalls past its lease.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg

from alerts.feed import FeedReader
from alerts.leases import PartitionLeases
from anxin.services import LocalMosquitto
from gateway.contract import Channel, SosEvent, Telemetry, encode
from ingest.feed import PARTITIONS, partition_of
from tests.ingest.harness import T0, Device_, count, register_fleet, running_worker, telemetry, wait_for

ALL = frozenset(range(PARTITIONS))


def _stored(db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, spool: Path) -> None:
    register_fleet(db_url, n_residents=2)
    device = Device_(mqtt_broker.port, topic_prefix)
    with running_worker(db_url, mqtt_broker.port, topic_prefix, spool):
        device.send("r0-bracelet", Channel.TELEMETRY, telemetry(1))
        device.send("r0-bracelet", Channel.EVENT, encode(SosEvent(kind="sos", seq=2, ts=T0)))
        device.send("r0-bracelet", Channel.TELEMETRY, telemetry(1))  # resent: stored once, fed once
        device.send("r1-bracelet", Channel.TELEMETRY, telemetry(3))
        device.send("stranger", Channel.TELEMETRY, telemetry(4))  # no resident: dead-lettered, not fed
        wait_for(lambda: count(db_url, "SELECT count(*) FROM detection_feed") >= 3, what="feed rows")
        wait_for(lambda: count(db_url, "SELECT count(*) FROM dead_letters") >= 1, what="dead letter")
    device.close()


def test_what_was_stored_reaches_the_feed_once(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    _stored(db_url, mqtt_broker, topic_prefix, tmp_path / "spool")
    leases = PartitionLeases(db_url, "alerts-a")
    leases.step()
    reader = FeedReader(db_url)
    first = reader.read(leases.checkpoints(leases.owned))
    seen = [(o.resident_id, o.record.channel, o.record.body.seq) for o in first.observations]
    # The SOS is committed on its own at once, ahead of the telemetry batch; the batch keeps arrival order.
    assert seen == [("r0", Channel.EVENT, 2), ("r0", Channel.TELEMETRY, 1), ("r1", Channel.TELEMETRY, 3)]
    body = first.observations[1].record.body
    assert isinstance(body, Telemetry) and body.heart_rate == 70 and body.ts == T0 + timedelta(seconds=1)
    assert leases.advance(leases.owned, first.horizon) == ALL
    assert reader.read(leases.checkpoints(leases.owned)).observations == []  # acted on: not read again
    warm = reader.before(leases.checkpoints(leases.owned), T0 - timedelta(days=3650))
    assert len(warm) == 3  # a new owner's warm-up sees what was already acted on
    reader.close()
    leases.leave()


def test_a_running_transaction_holds_the_horizon_back(db_url: str) -> None:
    register_fleet(db_url, n_residents=1)
    leases = PartitionLeases(db_url, "alerts-a")
    leases.step()
    reader = FeedReader(db_url)
    with psycopg.connect(db_url) as writer:
        writer.execute(
            "INSERT INTO detection_feed (part, resident_id, device_id, channel, received_at, body)"
            " VALUES (%s, 'r0', 'r0-bracelet', 'telemetry', now(), %s)",
            (partition_of("r0"), telemetry(9)),
        )
        pending = reader.read(leases.checkpoints(leases.owned))  # the writer has not committed yet
        assert pending.observations == []
        leases.advance(leases.owned, pending.horizon)
    done = reader.read(leases.checkpoints(leases.owned))  # committed now: below the next horizon
    assert [o.record.body.seq for o in done.observations] == [9]
    reader.close()
    leases.leave()


def test_leases_are_shared_then_taken_over(db_url: str) -> None:
    a, b = PartitionLeases(db_url, "alerts-a"), PartitionLeases(db_url, "alerts-b", lease=timedelta(seconds=1))
    assert a.step().owned == ALL
    assert b.step().owned == frozenset()  # a's leases are live: nothing is free yet
    released = a.step()
    assert len(released.owned) == PARTITIONS // 2 and len(released.lost) == PARTITIONS // 2
    assert b.step().gained == ALL - released.owned
    assert not a.advance(ALL - released.owned, 10**12)  # no checkpoint moves on a partition not held
    b.close()  # b stalls: its one-second leases run out, and a takes everything over
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE alert_partitions SET lease_until = now() - interval '1 s' WHERE owner = 'alerts-b'")
        conn.execute("UPDATE alert_workers SET seen_at = now() - interval '1 h' WHERE name = 'alerts-b'")
    assert a.step().owned == ALL
    a.leave()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM alert_partitions WHERE owner IS NOT NULL").fetchone() == (0,)


def test_an_urgent_record_is_read_ahead_of_a_transaction_still_running(db_url: str) -> None:
    register_fleet(db_url, n_residents=1)
    leases = PartitionLeases(db_url, "alerts-a")
    leases.step()
    reader = FeedReader(db_url)
    insert = (
        "INSERT INTO detection_feed (part, resident_id, device_id, channel, received_at, body, urgent)"
        " VALUES (%s, 'r0', 'r0-bracelet', %s, now(), %s, %s)"
    )
    with psycopg.connect(db_url) as batch, psycopg.connect(db_url, autocommit=True) as alone:
        batch.execute(insert, (partition_of("r0"), "telemetry", telemetry(1), False))  # a big batch, still open
        sos = encode(SosEvent(kind="sos", seq=2, ts=T0))
        alone.execute(insert, (partition_of("r0"), "event", sos, True))  # committed after it began
        since = leases.checkpoints(leases.owned)
        assert reader.read(since).observations == []  # held back by the batch: nothing is skipped later
        assert [o.record.body.seq for o in reader.urgent(since)] == [2]  # the SOS does not wait for it
    reader.close()
    leases.leave()
