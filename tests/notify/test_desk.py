"""The desk's people reached on their own channels: escalations to supervisors, with every attempt recorded.

The care wiring of the composition root runs over a real database, the session's Mosquitto and a local
HTTP receiver standing in for the supervisor's WeCom/DingTalk webhook; the escalation clock is driven
with ``now`` passed in, so minutes pass in a second.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from alerts.lifecycle import AlertState, Outcome
from alerts.service import AlertService
from anxin.care import Care
from anxin.services import LocalMosquitto
from gateway.mqtt import BrokerAddress, MqttConnection
from notify.desk import masked
from tests.dashboard.world import seed
from tests.notify.notify_receivers import HttpReceiver
from tests.reliability.helpers import platform_settings


@pytest.fixture
def wired(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path, http_receiver: HttpReceiver
) -> Iterator[tuple[Care, AlertService]]:
    """Wire care and the alert service as the platform does; the supervisor's channel is the receiver."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        conn.execute(
            "UPDATE users SET notify_url = %s WHERE username = 'supervisor'", (f"http://{http_receiver.url}/sup",)
        )
    bus = MqttConnection(BrokerAddress.from_url(mqtt_broker.url), f"desk-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    root = f"{topic_prefix.split('/', 1)[0]}/anxin/v1"
    with ConnectionPool(db_url, min_size=1, max_size=6, open=True) as pool:
        settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path)
        care = Care(settings, pool, bus, lambda: datetime.now(UTC), topic_root=root)
        alerts = AlertService(
            pool.connection,
            bus.publish,
            lambda: datetime.now(UTC),
            notify=care.on_escalation,
            on_change=care.on_alert_change,
            topic_root=root,
        )
        care.alerts = alerts
        yield care, alerts
    bus.close()


def _sos(care: Care) -> int:
    """Raise an SOS as the detection pipeline hands it over (urgent: the family is told at once)."""
    finding = Finding("sos", "r1", datetime.now(UTC), "SOS key pressed", "按下紧急呼叫键", device_id="b-r1")
    (change,) = care.handle_findings([finding])
    return change.alert_id


def _deliveries(db_url: str, alert_id: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT step_key, recipient, channel, ok, detail FROM desk_deliveries WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        ).fetchall()


def test_a_failed_supervisor_delivery_is_recorded_and_sent_again(
    wired: tuple[Care, AlertService], http_receiver: HttpReceiver, db_url: str
) -> None:
    care, alerts = wired
    http_receiver.fail_first = 1
    alert_id = _sos(care)
    later = datetime.now(UTC) + timedelta(minutes=2, seconds=5)  # past both rungs of a critical alert
    fired = alerts.run_due(later)
    assert [a.key for a in fired] == ["ack.0", "ack.1"]
    assert alerts.run_due(later + timedelta(seconds=40)) == []  # nothing new falls due; the failed step is resent
    steps = _deliveries(db_url, alert_id)
    supervisor = [s for s in steps if s[1].startswith("supervisor:")]
    assert steps[0][:4] == ("ack.0", "consoles", "broker", True)
    assert [s[3] for s in supervisor] == [False, True], "the failure is recorded, then the resend reaches them"
    assert supervisor[0][4] == "HTTP 500"
    assert supervisor[0][2] == "webhook"
    [_, delivered] = http_receiver.to("/sup")
    data = json.loads(delivered.body)["data"]
    assert data["alert_id"] == alert_id
    assert "无人确认" in data["title"] and f"/console?alert={alert_id}" in data["body"]
    again = alerts.run_due(later + timedelta(minutes=2))  # the family's rung
    assert [a.key for a in again] == ["ack.2"]
    assert len(http_receiver.to("/sup")) == 2, "once reached, never told twice"


def test_a_missed_promise_tells_the_supervisor(
    wired: tuple[Care, AlertService], http_receiver: HttpReceiver, db_url: str
) -> None:
    care, alerts = wired
    alert_id = _sos(care)
    alerts.transition(alert_id, AlertState.ACKNOWLEDGED, "operator:u3")
    now = datetime.now(UTC)
    offer = care.flow.assign(str(alert_id), "r1", raised_at=now, actor="operator:u3", now=now)
    assert offer.assignment_id is not None
    care.flow.accept(offer.assignment_id, now)
    fired = alerts.run_due(now + timedelta(minutes=16))  # a city promise: 15 minutes to the door
    assert [a.key for a in fired] == ["promise"]
    [message] = http_receiver.to("/sup")
    assert "15分钟内无人到场" in json.loads(message.body)["data"]["title"]
    assert _deliveries(db_url, alert_id)[-1][:4] == ("promise", "supervisor:u2", "webhook", True)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT promise_breached_at IS NOT NULL FROM alerts WHERE id = %s", (alert_id,)).fetchone()
        offered = conn.execute("SELECT ok, channel FROM desk_deliveries WHERE purpose = 'offer'").fetchall()
    assert offered == [(True, "page")], "a staff member with no channel of their own is told on their page only"


def test_resolving_at_the_desk_frees_the_staff_and_stops_the_chain(
    wired: tuple[Care, AlertService], http_receiver: HttpReceiver, db_url: str
) -> None:
    care, alerts = wired
    with psycopg.connect(db_url) as conn:
        contact = conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = 'r1'").fetchone()
        assert contact is not None
        conn.execute("UPDATE emergency_contacts SET position = 2 WHERE id = %s", contact)
        conn.execute(
            "INSERT INTO emergency_contacts (resident_id, position, relation, name) VALUES ('r1', 1, 'family', '儿子')"
            " RETURNING id"
        )
        for position, path in ((1, "/son"), (2, "/daughter")):
            conn.execute(
                "INSERT INTO contact_channels (contact_id, position, kind, target) SELECT id, 1, 'webhook', %s"
                " FROM emergency_contacts WHERE resident_id = 'r1' AND position = %s",
                (f"http://{http_receiver.url}{path}", position),
            )
    alert_id = _sos(care)  # the son is told first; the daughter waits her turn in the chain
    care.notifier.run_due(datetime.now(UTC))  # what the woken care thread does at once
    alerts.transition(alert_id, AlertState.ACKNOWLEDGED, "operator:u3")
    now = datetime.now(UTC)
    offer = care.flow.assign(str(alert_id), "r1", raised_at=now, actor="operator:u3", now=now)
    assert offer.staff_id is not None
    alerts.transition(alert_id, AlertState.RESOLVED, "operator:u3", outcome=Outcome.NO_INJURY)
    with psycopg.connect(db_url) as conn:
        status = conn.execute("SELECT status FROM staff WHERE id = %s", (offer.staff_id,)).fetchone()
        waiting = conn.execute("SELECT state, skip_reason FROM notice_deliveries WHERE contact_id = %s", contact)
        states = set(waiting.fetchall())
    assert status == ("available",)
    care.notifier.run_due(now + timedelta(hours=1))  # long past the chain's answer window
    assert [json.loads(r.body)["type"] for r in http_receiver.to("/son")] == ["notice.alert_raised", "notice.all_clear"]
    assert http_receiver.to("/daughter") == [], "the chain stopped: she was never woken for an alert already over"
    assert ("skipped", "alert closed") in states


def test_masked_urls_keep_no_secrets() -> None:
    assert masked("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET") == "https://qyapi.weixin.qq.com/…"
    assert masked("wecombot://SECRETKEY") == "wecombot://…"
    assert masked("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_a_district_supervisor_is_told_only_of_their_own_district(
    wired: tuple[Care, AlertService], http_receiver: HttpReceiver, db_url: str
) -> None:
    care, alerts = wired
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role, district_id, notify_url)"
            " SELECT 'north_sup', '北岗主管', password_hash, 'supervisor',"
            " (SELECT id FROM districts WHERE name = '北岗区'), %s FROM users WHERE username = 'supervisor'",
            (f"http://{http_receiver.url}/north",),
        )
    _sos(care)  # r1 lives in 东湖区
    alerts.run_due(datetime.now(UTC) + timedelta(minutes=2, seconds=5))
    assert len(http_receiver.to("/sup")) == 1, "the city-wide supervisor is told"
    assert http_receiver.to("/north") == [], "another district's supervisor is not woken for it"


def test_the_alert_path_records_family_notices_and_leaves_the_sending_to_the_care_thread(
    wired: tuple[Care, AlertService], http_receiver: HttpReceiver, db_url: str
) -> None:
    care, _ = wired
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO contact_channels (contact_id, position, kind, target) SELECT id, 1, 'webhook', %s"
            " FROM emergency_contacts WHERE resident_id = 'r1'",
            (f"http://{http_receiver.url}/family",),
        )
    _sos(care)
    assert http_receiver.to("/family") == [], "detection does not wait on the family's channel"
    stop = threading.Event()
    worker = threading.Thread(target=care.run, args=(stop, 60.0))  # a long round: only the wake-up can send
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while not http_receiver.to("/family") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        care.wake()
        worker.join(10)
    assert len(http_receiver.to("/family")) == 1
