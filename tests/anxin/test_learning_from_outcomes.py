"""The wired platform learns from the desk's outcomes: a bracelet's repeated false falls of one movement.

A resident's bracelet publishes impact windows over the real broker; ingest stores them, detection reads
them (with a classifier that calls every window a fall: the false falls issue 16 measured) and the alert
service raises them. The test closes each as an operator would, as a false alarm, and watches the alert
changes the platform publishes: from the third similar false alarm on, the next look-alike is raised as
high with its reason; a fall after which the wrist lies still is raised as critical whatever the history.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import anxin.platform
from alerts.lifecycle import AlertState, Outcome
from anxin.platform import start_platform
from anxin.services import LocalMosquitto
from evaluation.outcomes import outcome_windows
from gateway.contract import Channel, ImpactEvent, encode, topic
from tests.alerts.movements import RATE_HZ, Window, fall_then_still, habit
from tests.ingest.harness import register_fleet, wait_for
from tests.reliability.helpers import platform_settings


class AlwaysFall:
    """Every impact window looks like a fall to it."""

    def score(self, samples: object, rate_hz: float) -> float:
        return 0.9

    def is_fall(self, samples: object, rate_hz: float) -> bool:
        return True


def test_a_stream_of_false_falls_closed_by_the_desk_lowers_the_next_look_alike(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anxin.platform, "load_fall_classifier", AlwaysFall)
    register_fleet(db_url, n_residents=1)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE residents SET learning_consent = true WHERE id = 'r0'")
    raised: list[dict[str, Any]] = []
    listener = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    subscribed = threading.Event()
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_message = lambda _c, _u, m: raised.extend(
        c for c in [json.loads(m.payload)] if c.get("action") == "raised" and c.get("kind") == "fall"
    )
    listener.connect("127.0.0.1", mqtt_broker.port)
    listener.loop_start()
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    listener.subscribe(f"{root}/alerts/r0", qos=1)
    assert subscribed.wait(5)
    settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path, topic_root=root)
    rng = np.random.default_rng(31)
    start = datetime.now(UTC) - timedelta(hours=2)
    device = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    device.connect("127.0.0.1", mqtt_broker.port)
    device.loop_start()
    try:
        with start_platform(settings, with_dashboard=False) as platform:

            def impact(seq: int, window: Window) -> dict[str, Any]:
                """Publish an impact window as the bracelet does; return the alert it raised."""
                body = ImpactEvent(
                    kind="impact", seq=seq, ts=start + timedelta(minutes=5 * seq), rate_hz=RATE_HZ, samples=window
                )
                device.publish(topic("r0-bracelet", Channel.EVENT, topic_prefix), encode(body), qos=1)
                wait_for(lambda: len(raised) == seq, timeout=15, what=f"fall alert {seq} raised")
                return raised[-1]

            def close_as_false_alarm(change: dict[str, Any]) -> None:
                platform.alerts.transition(change["alert_id"], AlertState.ACKNOWLEDGED, "operator:u1")
                platform.alerts.transition(
                    change["alert_id"], AlertState.RESOLVED, "operator:u1", outcome=Outcome.FALSE_ALARM
                )

            for seq in range(1, 7):
                change = impact(seq, habit(rng))
                lowered = seq > 3  # three similar false alarms are the least that says anything
                assert change["severity"] == ("high" if lowered else "critical"), change
                if lowered:
                    assert f"this resident's last {seq - 1} similar alerts were false alarms" in change["explanation"]
                    assert f"该老人最近{seq - 1}次类似报警均为误报" in change["explanation_zh"]
                close_as_false_alarm(change)
            still = impact(7, fall_then_still(rng))
            assert still["severity"] == "critical"
            assert "similar alerts" not in still["explanation"]
    finally:
        device.loop_stop()
        device.disconnect()
        listener.loop_stop()
        listener.disconnect()
    assert len(outcome_windows(db_url)) == 6  # and the trainer finds the six kept examples
