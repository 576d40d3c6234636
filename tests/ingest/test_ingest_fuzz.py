"""Property-based fuzzing of ingest's entry points: bursts of bad input never stop a running worker.

A live worker takes a burst of fuzzed messages interleaved with good ones; so does the spool replay
(a worker that starts with a spool left by a database outage). Every good message is stored, every
bad one becomes exactly one dead letter with a documented reason, and the worker keeps running.
One worker and one database serve all the examples of a test, so the bounds stay small and fast.
"""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from anxin.services import LocalMosquitto
from gateway.contract import Channel, decode, topic
from gateway.errors import ContractError
from gateway.mqtt import Inbound
from ingest.spool import Spool
from tests.gateway.test_contract_fuzz import ANY_JSON, BAD_NUMBERS, BODIES, REASONS, dumps
from tests.ingest.harness import T0, Device_, count, register_fleet, running_worker, telemetry, wait_for

BURSTS = settings(
    max_examples=6,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SEQ = itertools.count(1)


def mutated(body: dict[str, Any], key: str, value: object) -> bytes:
    """Return a body with one field replaced (device_id dropped: the topic names the device)."""
    return dumps({k: v for k, v in body.items() if k != "device_id"} | {key: value})


BAD_PAYLOADS = st.one_of(
    st.binary(max_size=300),
    ANY_JSON.map(dumps),
    st.tuples(
        st.sampled_from([(c, b) for c, bs in BODIES.items() for b in bs]),
        st.sampled_from(["seq", "ts", "battery", "worn", "kind", "state", "samples", "firmware", "extra"]),
        ANY_JSON | BAD_NUMBERS,
    ).map(lambda t: mutated(t[0][1], t[1], t[2])),
)
DEVICES = st.sampled_from(["r0-bracelet", "r1-hub", "ghost-device", "é", "r0-motion-kitchen"])
CHANNELS = st.sampled_from([Channel.TELEMETRY, Channel.EVENT, Channel.STATUS])
REGISTERED = {f"r{i}-{d}" for i in range(2) for d in ("bracelet", "hub", "motion-kitchen")}


def good_messages(n: int) -> list[tuple[str, Channel, bytes]]:
    """Return ``n`` valid messages: telemetry, with an SOS (urgent path) every fifth."""
    items: list[tuple[str, Channel, bytes]] = []
    for _ in range(n):
        seq = next(SEQ)
        if seq % 5:
            items.append(("r0-bracelet", Channel.TELEMETRY, telemetry(seq)))
        else:
            sos = {"seq": seq, "ts": (T0 + timedelta(seconds=seq)).isoformat(), "kind": "sos"}
            items.append(("r1-bracelet", Channel.EVENT, json.dumps(sos).encode()))
    return items


def is_good(prefix: str, item: tuple[str, Channel, bytes]) -> bool:
    """Tell whether the contract takes a message (the registry check is the worker's job, counted apart)."""
    try:
        decode(topic(item[0], item[1], prefix), item[2], datetime.now(UTC), prefix)
    except ContractError:
        return False
    return item[0] in REGISTERED


BAD_MESSAGES = st.lists(
    st.tuples(DEVICES, CHANNELS, BAD_PAYLOADS).filter(lambda m: not is_good("ec/v1", m)), min_size=1, max_size=25
)

# Found by this fuzzing: a NUL or half a surrogate pair in a JSON key is quoted by the contract's error, and
# PostgreSQL text cannot hold either. The dead letter was refused, with it the batch, and a replay forever.
UNSTORABLE_TEXT = [
    ("r1-hub", Channel.TELEMETRY, b'{"\\u0000\\u0000": 1, "seq": 1}'),
    ("r0-bracelet", Channel.TELEMETRY, b'{"seq": 2, "ts": "2026-01-01T00:00:00Z", "\\ud800x": [0]}'),
]


def interleave(bad: list[tuple[str, Channel, bytes]], good: list[tuple[str, Channel, bytes]]) -> list[Any]:
    """Alternate bad and good messages."""
    return [m for pair in itertools.zip_longest(bad, good) for m in pair if m is not None]


def stored(db_url: str) -> int:
    """Count stored device messages of every channel."""
    return sum(count(db_url, f"SELECT count(*) FROM {t}") for t in ("telemetry", "events", "device_status"))


def assert_reasons(db_url: str) -> None:
    """Assert that every dead letter has a documented reason and a detail."""
    reasons = {r for (r,) in _rows(db_url, "SELECT DISTINCT reason FROM dead_letters WHERE detail <> ''")}
    assert reasons <= REASONS, reasons - REASONS
    assert count(db_url, "SELECT count(*) FROM dead_letters WHERE detail = ''") == 0


def _rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(db_url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def test_a_running_worker_survives_bursts_of_bad_input(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url, 2)
    device = Device_(mqtt_broker.port, topic_prefix)
    with running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "spool") as running:

        @BURSTS
        @given(bad=BAD_MESSAGES)
        @example(bad=UNSTORABLE_TEXT)
        def burst(bad: list[tuple[str, Channel, bytes]]) -> None:
            good = good_messages(10)
            items = interleave(bad, good)
            expect_stored = stored(db_url) + sum(is_good(topic_prefix, m) for m in items)
            expect_dead = count(db_url, "SELECT count(*) FROM dead_letters") + sum(
                not is_good(topic_prefix, m) for m in items
            )
            device.send_many(items)
            wait_for(
                lambda: (
                    stored(db_url) == expect_stored
                    and count(db_url, "SELECT count(*) FROM dead_letters") == expect_dead
                ),
                20,
                "the burst",
            )
            assert running.thread.is_alive()

        try:
            burst()
        finally:
            device.close()
        assert running.thread.is_alive()
    assert_reasons(db_url)


@settings(
    max_examples=4,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(bad=BAD_MESSAGES)
@example(bad=UNSTORABLE_TEXT)
def test_the_spool_replay_survives_bad_input(
    db_url: str,
    mqtt_broker: LocalMosquitto,
    topic_prefix: str,
    tmp_path: Path,
    bad: list[tuple[str, Channel, bytes]],
) -> None:
    register_fleet(db_url, 2)
    spool_dir = tmp_path / uuid.uuid4().hex
    items = interleave(bad, good_messages(10))
    received = datetime.now(UTC)
    Spool(spool_dir, 1 << 30).append(
        [Inbound(topic(d, c, topic_prefix), p, 0, 1, False, received) for d, c, p in items]
    )
    expect_stored = stored(db_url) + sum(is_good(topic_prefix, m) for m in items)
    expect_dead = count(db_url, "SELECT count(*) FROM dead_letters") + sum(not is_good(topic_prefix, m) for m in items)
    with running_worker(db_url, mqtt_broker.port, topic_prefix, spool_dir) as running:
        try:
            wait_for(
                lambda: (
                    stored(db_url) == expect_stored
                    and count(db_url, "SELECT count(*) FROM dead_letters") == expect_dead
                ),
                30,
                "the replay",
            )
        except AssertionError:  # say what differs: shrinking is off, so this message is the whole report
            reasons = _rows(db_url, "SELECT reason, count(*) FROM dead_letters GROUP BY reason")
            raise AssertionError(
                f"replay: stored {stored(db_url)} of {expect_stored}, dead letters {reasons} of {expect_dead}, "
                f"spool segments left {len(list(spool_dir.glob('*.seg')))}, worker alive {running.thread.is_alive()},"
                f" metrics {running.worker.metrics}, bad={bad!r}"
            ) from None
        assert running.thread.is_alive()
        assert not Spool(spool_dir, 1 << 30)
    assert_reasons(db_url)
