"""`make bench-ingest`: drain a backlog into the database, against a bare paho subscriber on the same backlog.

N telemetry messages are queued at the broker for two persistent sessions while both are stopped:
the ingest worker's (a shared subscription) and a bare paho subscriber's that only decodes JSON.
Then each drains its backlog in turn; the ratio of their rates is the figure to watch. Lost and
duplicated messages are counted in the database.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.services import LocalMosquitto, LocalPostgres
from bench.common import report, scratch
from gateway.contract import Channel, Telemetry, encode, topic
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.registry import Device, DeviceKind
from ingest.database import migrate
from ingest.devices import upsert_devices, upsert_residents
from ingest.worker import IngestConfig, IngestWorker

LOG = logging.getLogger("bench.ingest")
PREFIX = "ec/v1"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _session(port: int, client_id: str, subscription: str) -> paho.Client:
    """Connect a persistent MQTT 5 session with its subscription."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 65535
    done = threading.Event()
    client.on_subscribe = lambda *_: done.set()
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(subscription, qos=1)
    done.wait(10)
    return client


def _publish_backlog(port: int, n: int, devices: list[str]) -> float:
    """Publish N telemetry messages with QoS 1; return the seconds it took."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices", protocol=paho.MQTTv311)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.monotonic()
    pending: list[paho.MQTTMessageInfo] = []
    for i in range(n):
        device = devices[i % len(devices)]
        body = Telemetry(
            seq=i,
            ts=T0 + timedelta(seconds=i // len(devices) * 30),
            heart_rate=60 + i % 40,
            spo2=95 + i % 5,
            steps=i,
            battery=90,
            worn=True,
            skin_temp_c=33.0,
        )
        pending.append(client.publish(topic(device, Channel.TELEMETRY, PREFIX), encode(body), qos=1))
        if len(pending) >= 5000:  # bounded: paho keeps every unconfirmed message in memory
            for info in pending:
                info.wait_for_publish(120)
            pending.clear()
    for info in pending:
        info.wait_for_publish(120)
    elapsed = time.monotonic() - t0
    client.disconnect()
    client.loop_stop()
    return elapsed


def _raw_drain(port: int, n: int) -> float:
    """Drain the raw session's backlog, decoding JSON only; return messages per second."""
    count = 0
    finished = threading.Event()
    started: list[float] = []

    def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        nonlocal count
        if not started:
            started.append(time.monotonic())
        json.loads(msg.payload)
        count += 1
        if count >= n:
            finished.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw", protocol=paho.MQTTv5)
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 65535
    t0 = time.monotonic()
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    finished.wait(600)
    elapsed = time.monotonic() - t0
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def _ingest_drain(port: int, db_url: str, n: int, spool: Path) -> tuple[float, dict[str, float]]:
    """Start the ingest worker on its backlog; return messages per second until all are committed."""
    config = IngestConfig(spool_dir=spool, topic_prefix=PREFIX, group="bench")
    connection = MqttConnection(BrokerAddress("127.0.0.1", port), "bench-ingest", manual_ack=True)
    worker = IngestWorker(config, db_url, connection, worker_name="bench-ingest")
    stop = threading.Event()
    t0 = time.monotonic()
    connection.connect()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    while worker.metrics.stored + worker.metrics.duplicates + sum(worker.metrics.dead_lettered.values()) < n:
        time.sleep(0.01)
        if time.monotonic() - t0 > 900:
            break
    elapsed = time.monotonic() - t0
    stop.set()
    thread.join()
    connection.close()
    m = worker.metrics
    return n / elapsed, {
        "batches": m.batches,
        "dead_lettered": sum(m.dead_lettered.values()),
        "mean_batch_ms": round(1000 * m.latency_sum / max(m.batches, 1), 1),
    }


def main() -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--msgs", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with scratch("anxin-bench-") as root, LocalPostgres(root / "pg") as pg, LocalMosquitto(root / "mq") as mq:
        db_url = pg.url()
        with psycopg.connect(db_url) as conn:
            mode = migrate(conn)
            devices = [f"bench{i:05d}" for i in range(args.devices)]
            upsert_residents(conn, [(f"res{i:05d}", f"Bench {i}") for i in range(args.devices)])
            upsert_devices(conn, [Device(d, DeviceKind.BRACELET, f"res{i:05d}") for i, d in enumerate(devices)])
        for client_id, sub in (
            ("bench-ingest", f"$share/bench/{PREFIX}/+/telemetry"),
            ("bench-raw", f"{PREFIX}/+/telemetry"),
        ):
            session = _session(mq.port, client_id, sub)
            session.disconnect()
            session.loop_stop()
        publish_s = _publish_backlog(mq.port, args.msgs, devices)
        print(f"queued {args.msgs} messages in {publish_s:.1f} s", flush=True)
        raw = _raw_drain(mq.port, args.msgs)
        print(f"raw paho drain: {raw:,.0f} msg/s", flush=True)
        ingest, extra = _ingest_drain(mq.port, db_url, args.msgs, root / "spool")
        print(f"ingest drain: {ingest:,.0f} msg/s", flush=True)
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry").fetchone()
        assert row is not None
        total, distinct = int(row[0]), int(row[1])
        report(
            {
                "bench": "ingest",
                "msgs": args.msgs,
                "ingest_msg_s": round(ingest),
                "raw_msg_s": round(raw),
                "ratio": round(ingest / raw, 3),
                "lost": args.msgs - distinct,
                "duplicated": total - distinct,
                "db_mode": mode.value,
                **extra,
            }
        )


if __name__ == "__main__":
    main()
