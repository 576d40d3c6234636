"""A telemetry flood above what ingest stores per second: an SOS still reaches operators within 2× its usual time."""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.platform import start_platform
from anxin.services import LocalMosquitto
from gateway.contract import Channel, Telemetry, encode, topic
from tests.ingest.harness import register_fleet
from tests.reliability.helpers import AlertListener, fleet, platform_settings, scalar, wait_for

FLOOD = 60_000  # telemetry messages, from two processes


def _flood(port: int, prefix: str, device_id: str, first_seq: int, count: int) -> None:
    """Publish ``count`` telemetry messages as fast as the broker takes them (runs in a child process)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"flood-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    name = topic(device_id, Channel.TELEMETRY, prefix)
    infos = [
        client.publish(
            name, encode(Telemetry(seq=s, ts=datetime.now(UTC), heart_rate=70, battery=80, worn=True)), qos=1
        )
        for s in range(first_seq, first_seq + count)
    ]
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def _sos_latency(devices: object, listener: AlertListener, resident: int) -> float:
    sent = devices.critical(f"r{resident}-bracelet", "sos")  # type: ignore[attr-defined]
    wait_for(lambda: listener.first(f"r{resident}", "sos", "raised") is not None, 60, f"the SOS of r{resident}")
    raised = listener.first(f"r{resident}", "sos", "raised")
    assert raised is not None
    return raised - sent


@pytest.mark.slow
def test_sos_latency_under_a_telemetry_flood(
    own_broker: LocalMosquitto, db_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url, 8)
    listener = AlertListener(own_broker.port).start()
    settings = platform_settings(db_url, own_broker.url, topic_prefix, tmp_path)
    with (
        start_platform(settings, with_dashboard=False),
        fleet(own_broker.url, topic_prefix, [f"r{i}-bracelet" for i in range(8)]) as devices,
    ):
        unloaded = [_sos_latency(devices, listener, i) for i in range(3)]
        ctx = multiprocessing.get_context("spawn")
        workers = [
            ctx.Process(target=_flood, args=(own_broker.port, topic_prefix, f"r{6 + w}-bracelet", 1, FLOOD // 2))
            for w in range(2)
        ]
        started = time.monotonic()
        for w in workers:
            w.start()
        wait_for(lambda: scalar(db_url, "SELECT count(*) FROM telemetry") >= 2000, 60, "the flood reaching ingest")
        flooded = [_sos_latency(devices, listener, i) for i in range(3, 6)]
        for w in workers:
            w.join(180)
        stored_during = scalar(db_url, "SELECT count(*) FROM telemetry")
        took = time.monotonic() - started
        wait_for(lambda: scalar(db_url, "SELECT count(*) FROM telemetry") == FLOOD, 180, "the flood stored")
        drained = time.monotonic() - started
    listener.close()
    base, loaded = statistics.median(unloaded), statistics.median(flooded)
    print(
        f"\n[flood] {FLOOD} telemetry published in {took:.1f} s ({FLOOD / took:.0f}/s), all stored after "
        f"{drained:.1f} s ({FLOOD / drained:.0f}/s stored; {stored_during} stored when publishing ended); SOS "
        f"publish → raised change: unloaded {[round(x, 3) for x in unloaded]} s, flooded "
        f"{[round(x, 3) for x in flooded]} s; ratio {loaded / base:.1f}"
    )
    assert loaded <= 2 * base or loaded < 0.5, f"SOS latency {loaded:.3f} s under the flood vs {base:.3f} s unloaded"
