"""An SOS pressed while an ingest worker lies dead is stored at once by a live one: the urgent lane.

Two `anxin ingest` processes share the subscription; one is SIGKILLed and stays dead. Mosquitto keeps
the dead worker's share of the persistent events subscription in its session until it comes back,
so without the urgent lane about half of the presses would wait there (the bracelet's resend would
carry them later). Each press here is published once and never resent: every one is stored while
the worker is still dead, because the urgent lane's clean sessions left the dead worker out. When it
comes back it drains its session, and each press stays stored once.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anxin.services import LocalMosquitto
from bench.processes import Process
from gateway.contract import Channel, SosEvent, encode, topic
from ingest.database import migrate
from tests.ingest.harness import register_fleet
from tests.reliability.helpers import scalar, wait_for

PRESSES = 12
pytestmark = pytest.mark.xdist_group("processes")


def test_an_sos_pressed_while_a_worker_is_dead_is_stored_by_a_live_one(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    with psycopg.connect(db_url) as conn:
        migrate(conn)
    bracelets = register_fleet(db_url, PRESSES)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt_broker.url,
        "ANXIN_TOPIC_PREFIX": topic_prefix,
        "ANXIN_INGEST_GROUP": f"g{uuid.uuid4().hex[:6]}",
        "ANXIN_DATA_DIR": str(tmp_path),
    }
    workers = [
        Process(name, ["ingest", "--client-id", name], env, tmp_path / f"{name}.log", "takes urgent events")
        for name in ("lane-1", "lane-2")
    ]
    device = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    try:
        for worker in workers:
            worker.start()
        workers[1].kill()
        device.connect("127.0.0.1", mqtt_broker.port)
        device.loop_start()
        now = datetime.now(UTC)
        for bracelet in bracelets:
            sos = SosEvent(kind="sos", seq=1, ts=now)
            device.publish(topic(bracelet, Channel.EVENT, topic_prefix), encode(sos), qos=1).wait_for_publish(5)
        wait_for(
            lambda: scalar(db_url, "SELECT count(*) FROM events WHERE kind = 'sos'") == PRESSES,
            timeout=15,
            what=f"all {PRESSES} presses stored while one worker is dead",
        )
        workers[1].start()  # its session still holds its share of the events subscription: duplicates now
        wait_for(lambda: "takes urgent events" in workers[1].log.read_text(), timeout=10, what="the worker back")
        stored = scalar(db_url, "SELECT count(*) FROM events WHERE kind = 'sos'")
        assert stored == PRESSES, f"{stored} SOS rows for {PRESSES} presses"
    finally:
        device.loop_stop()
        device.disconnect()
        for worker in workers:
            worker.stop()
