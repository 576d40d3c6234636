"""Nothing acked is lost: the database stops mid-stream, a worker is killed, two workers share the load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from anxin.services import LocalMosquitto, LocalPostgres
from gateway.contract import Channel, SosEvent, encode
from ingest.database import migrate
from tests.ingest.harness import T0, Device_, count, register_fleet, running_worker, telemetry, wait_for


@pytest.fixture
def own_pg(service_root: Path) -> Iterator[LocalPostgres]:
    """A private PostgreSQL this test may stop and start."""
    server = LocalPostgres(service_root / f"pg-{os.urandom(4).hex()}", durable=False).start()
    with psycopg.connect(server.url()) as conn:
        migrate(conn)
    yield server
    server.stop()


def test_database_down_mid_stream_loses_nothing(
    own_pg: LocalPostgres, mqtt_broker: LocalMosquitto, topic_prefix: str, service_root: Path
) -> None:
    url = own_pg.url()
    register_fleet(url)
    device = Device_(mqtt_broker.port, topic_prefix)
    spool = service_root / f"spool-{os.urandom(4).hex()}"
    with running_worker(url, mqtt_broker.port, topic_prefix, spool, retry_s=0.2) as run:
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(300)])
        wait_for(lambda: run.worker.metrics.stored == 300, what="first part stored")
        own_pg.stop()
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(300, 600)])
        device.send("r0-bracelet", Channel.EVENT, encode(SosEvent(kind="sos", seq=9999, ts=T0)))
        wait_for(lambda: run.worker.metrics.spooled >= 301, what="messages spooled while the database is down")
        own_pg.start()
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(600, 700)])
        wait_for(lambda: count(url, "SELECT count(*) FROM telemetry") == 700, timeout=30, what="all telemetry")
        wait_for(lambda: count(url, "SELECT count(*) FROM events WHERE kind = 'sos'") == 1, what="the SOS")
        assert run.worker.metrics.replayed >= 301
        # The SOS went on to the alert path while the database was down.
        assert any(s.spooled and s.record.urgent for s in run.handed)
    assert not any(spool.glob("*.seg")), "the spool is empty after the replay"
    assert count(url, "SELECT count(DISTINCT seq) FROM telemetry") == 700
    device.close()


def _ingest_process(db_url: str, mqtt: LocalMosquitto, prefix: str, data_dir: Path) -> subprocess.Popen[bytes]:
    """Start `anxin ingest` in a child process and wait until it has subscribed."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt.url,
        "ANXIN_TOPIC_PREFIX": prefix,
        "ANXIN_DATA_DIR": str(data_dir),
        "ANXIN_BATCH_MAX_MS": "50",
    }
    log = data_dir / f"ingest-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anxin.cli", "ingest", "--client-id", "ingest-kill-test"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: "subscribed to" in log.read_text() or proc.poll() is not None, what="ingest subscribed")
    assert proc.poll() is None, log.read_text()
    return proc


def test_worker_killed_before_commit_is_redelivered_and_stored_once(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    device = Device_(mqtt_broker.port, topic_prefix)
    proc = _ingest_process(db_url, mqtt_broker, topic_prefix, tmp_path)
    try:
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(100)])
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 100, what="warm-up stored")
        with psycopg.connect(db_url) as blocker:
            blocker.execute("LOCK TABLE telemetry IN ACCESS EXCLUSIVE MODE")  # the worker's insert now waits
            device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(100, 400)])
            time.sleep(1.0)  # the worker has them and is stuck before its commit
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            blocker.rollback()
        assert count(db_url, "SELECT count(*) FROM telemetry") == 100
        proc = _ingest_process(db_url, mqtt_broker, topic_prefix, tmp_path)  # same client id: same session
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 400, timeout=30, what="redelivery")
        # Kill it again at random moments mid-stream: at-least-once delivery, stored once.
        device.send_many([("r0-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(400, 1400)])
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc = _ingest_process(db_url, mqtt_broker, topic_prefix, tmp_path)
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 1400, timeout=30, what="all stored")
        assert count(db_url, "SELECT count(DISTINCT seq) FROM telemetry") == 1400
    finally:
        proc.terminate()
        proc.wait(10)
        device.close()


def test_two_workers_on_a_shared_subscription_store_each_message_once(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url, n_residents=3)
    device = Device_(mqtt_broker.port, topic_prefix)
    with (
        running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "s1", group="g") as one,
        running_worker(db_url, mqtt_broker.port, topic_prefix, tmp_path / "s2", group="g") as two,
    ):
        device.send_many([(f"r{i % 3}-bracelet", Channel.TELEMETRY, telemetry(i)) for i in range(2000)])
        wait_for(lambda: count(db_url, "SELECT count(*) FROM telemetry") == 2000, what="all stored")
        assert one.worker.metrics.received > 0
        assert two.worker.metrics.received > 0
        assert one.worker.metrics.received + two.worker.metrics.received == 2000
        assert one.worker.metrics.duplicates + two.worker.metrics.duplicates == 0
    device.close()
