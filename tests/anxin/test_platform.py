"""The wired platform: an SOS published by a device becomes a stored alert and a change on the broker.

The platform's own topics sit under ``ANXIN_TOPIC_ROOT`` (here a root of the test's own).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from anxin.platform import start_platform
from anxin.services import LocalMosquitto, free_port
from gateway.contract import Channel, SosEvent, encode, topic
from tests.ingest.harness import count, register_fleet, wait_for
from tests.reliability.helpers import platform_settings


def test_an_sos_becomes_a_stored_alert_and_a_published_change(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    register_fleet(db_url)
    changes: list[dict[str, object]] = []
    listener = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    subscribed = threading.Event()
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, m: changes.append(json.loads(m.payload))
    listener.connect("127.0.0.1", mqtt_broker.port)
    listener.loop_start()
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"  # the platform's topics under a root of its own
    listener.subscribe(f"{root}/alerts/r0", qos=1)
    assert subscribed.wait(5)
    port = free_port()
    settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path, topic_root=root, metrics_port=port)
    with start_platform(settings, with_dashboard=False) as platform:
        assert platform.db_mode.value in ("postgresql", "timescaledb")
        device = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        device.connect("127.0.0.1", mqtt_broker.port)
        device.loop_start()
        sos = SosEvent(kind="sos", seq=1, ts=datetime.now(UTC))
        device.publish(topic("r0-bracelet", Channel.EVENT, topic_prefix), encode(sos), qos=1).wait_for_publish(5)
        wait_for(
            lambda: count(db_url, "SELECT count(*) FROM alerts WHERE kind = 'sos'") == 1,
            timeout=10,
            what="the SOS alert stored",
        )
        wait_for(
            lambda: any(c.get("kind") == "sos" and c.get("action") == "raised" for c in changes),
            timeout=5,
            what="the alert change published",
        )
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT resident_id, state FROM alerts WHERE kind = 'sos'").fetchone()
        assert row == ("r0", "raised")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            scraped = response.read().decode()
        # the SOS was urgent work, begun and ended: none is left in flight to hold the bulk threads back
        assert "anxin_urgent_in_flight 0.0" in scraped and "anxin_bulk_pauses_total" in scraped
        device.loop_stop()
        device.disconnect()
    listener.loop_stop()
    listener.disconnect()
