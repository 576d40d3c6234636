"""The writer's one-statement path for a single record (an urgent event): stored once, fed once, announced once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from gateway.contract import Channel, SosEvent, Telemetry, decode, decode_stored, encode, topic
from gateway.registry import Attribution
from ingest.rows import Batch
from ingest.writer import BatchWriter
from tests.ingest.factories import register

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def _batch(device: str, body: SosEvent | Telemetry, resident: str | None) -> Batch:
    channel = Channel.EVENT if isinstance(body, SosEvent) else Channel.TELEMETRY
    record = decode(topic(device, channel), encode(body), datetime.now(UTC))
    batch = Batch()
    batch.add(record, Attribution(resident, None), datetime.now(UTC))
    return batch


def _notices(conn: psycopg.Connection) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=1.0, stop_after=10)]


def test_one_urgent_record_is_stored_fed_and_announced_once(db_url: str) -> None:
    register(db_url, "w1")
    writer = BatchWriter(db_url)
    sos = SosEvent(kind="sos", seq=7, ts=AT)
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN detection_feed")
        first = writer.write(_batch("w1-bracelet", sos, "w1"))
        again = writer.write(_batch("w1-bracelet", sos, "w1"))  # the urgent lane's copy, or a redelivery
        heard = _notices(listener)
    writer.close()
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (1, 0, 0, 1)
    assert heard == ["urgent"]  # the duplicate adds nothing for detection to read
    with psycopg.connect(db_url) as conn:
        events = conn.execute("SELECT kind, resident_id, ts FROM events WHERE device_id = 'w1-bracelet'").fetchall()
        feed = conn.execute("SELECT part, resident_id, channel, urgent, body FROM detection_feed").fetchall()
    assert events == [("sos", "w1", AT)]
    assert len(feed) == 1 and feed[0][1:4] == ("w1", "event", True)
    assert decode_stored("w1-bracelet", Channel.EVENT, bytes(feed[0][4])).body == sos


def test_one_ordinary_record_wakes_detection_without_the_urgent_word(db_url: str) -> None:
    register(db_url, "w2")
    writer = BatchWriter(db_url)
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN detection_feed")
        result = writer.write(
            _batch("w2-bracelet", Telemetry(seq=1, ts=AT, heart_rate=70, battery=80, worn=True), "w2")
        )
        heard = _notices(listener)
    writer.close()
    assert (result.stored, heard) == (1, [""])


def test_one_record_of_nobody_is_stored_and_not_fed(db_url: str) -> None:
    register(db_url, "w3")
    writer = BatchWriter(db_url)
    result = writer.write(_batch("w3-bracelet", Telemetry(seq=2, ts=AT, battery=80, worn=True), None))
    writer.close()
    with psycopg.connect(db_url) as conn:
        fed = conn.execute("SELECT count(*) FROM detection_feed").fetchone()
    assert result.stored == 1 and fed == (0,)
