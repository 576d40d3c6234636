"""The all clear as the family receives it: in the daughter's e-mail inbox (a real SMTP sink) and on her phone.

The whole platform runs (ingest, detection, the alert service, care, the dashboard); the bracelet's SOS
goes over Mosquitto; the operator and the staff member act through the REST API as their pages do; the
family page is looked at in headless Chromium at phone size, in both languages.
"""

from __future__ import annotations

import email
import email.header
import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from anxin.platform import Platform, start_platform
from anxin.services import LocalMosquitto
from gateway.contract import Channel, SosEvent, encode, topic
from tests.dashboard.test_e2e import CHROMIUM, SHOTS, WEB, _free_port, pytestmark  # noqa: F401
from tests.dashboard.world import PASSWORD, seed
from tests.notify.notify_receivers import SmtpSink
from tests.reliability.helpers import platform_settings


@pytest.fixture
def running(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, service_root: Path, smtp_sink: SmtpSink
) -> Iterator[Platform]:
    """Run the whole platform; r1's daughter (family1) is told by e-mail."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        conn.execute(
            "INSERT INTO contact_channels (contact_id, position, kind, target)"
            " SELECT id, 1, 'email', 'daughter@example.org' FROM emergency_contacts WHERE resident_id = 'r1'"
        )
    settings = platform_settings(
        db_url,
        mqtt_broker.url,
        topic_prefix,
        service_root / f"allclear-{topic_prefix.split('/', maxsplit=1)[0]}",
        http_port=_free_port(),
        mail_url=f"mailto://127.0.0.1:{smtp_sink.port}?from=anxin@example.org&mode=insecure",
        care_interval_s=0.5,
    )
    with start_platform(settings) as platform:
        yield platform


def _wait(what: str, found: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=15)
    assert client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
    return client


def _subjects(sink: SmtpSink) -> list[str]:
    out = []
    for mail in sink.mails:
        subject = email.message_from_bytes(mail.data)["Subject"] or ""
        out.append(str(email.header.make_header(email.header.decode_header(subject))))
    return out


def _text(raw: bytes) -> str:
    """Return the plain-text body of a mail, decoded."""
    texts = []
    for part in email.message_from_bytes(raw).walk():
        payload = part.get_payload(decode=True)
        if part.get_content_type() == "text/plain" and isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "".join(texts)


def test_the_daughter_gets_the_all_clear_in_her_inbox_and_on_her_phone(
    running: Platform, topic_prefix: str, smtp_sink: SmtpSink
) -> None:
    assert running.dashboard_url is not None
    base = running.dashboard_url.rstrip("/")
    sos = SosEvent(kind="sos", seq=1, ts=datetime.now(UTC))
    running.bus.publish(topic("b-r1", Channel.EVENT, topic_prefix), encode(sos), qos=1)
    operator, staff = _signed_in(base, "operator"), _signed_in(base, "staff1")
    alert = _wait("the SOS on the queue", lambda: operator.get("/api/alerts?open_only=true").json())[0]
    _wait("the alert e-mail", lambda: len(smtp_sink.mails) >= 1)
    assert operator.post(f"/api/alerts/{alert['id']}/acknowledge", json={}).status_code == 200
    assert operator.post(f"/api/alerts/{alert['id']}/dispatch", json={"staff_id": "s1"}).status_code == 200
    [task] = staff.get("/api/tasks").json()
    for step in ("accept", "en_route", "on_site"):
        assert staff.post(f"/api/tasks/{task['assignment_id']}/{step}").status_code == 200
    done = staff.post(f"/api/tasks/{task['assignment_id']}/outcome", json={"outcome": "helped_at_home", "note": "扶起"})
    assert done.status_code == 200
    subjects = _wait("the all-clear e-mail", lambda: (s := _subjects(smtp_sink)) and "解除警报" in s[-1] and s)
    assert len(subjects) == 4, subjects  # the alert, who is coming, arrived, all clear: once each
    assert "王护理正在前往陈奶奶家" in subjects[1]
    assert "无受伤" in _text(smtp_sink.mails[-1].data) and "王护理" in _text(smtp_sink.mails[-1].data)

    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env["CHROMIUM"] = CHROMIUM
    SHOTS.mkdir(parents=True, exist_ok=True)
    script = Path(__file__).parent / "e2e" / "family_all_clear.mjs"
    done_run = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)
    result = json.loads(done_run.stdout.strip().splitlines()[-1])
    assert result.get("ok"), (result, done_run.stderr[-2000:])
    assert result["zh"]["alertLine"].endswith("已处置"), result["zh"]
    assert "解除警报" in result["zh"]["allClear"] and "All clear" not in result["zh"]["allClear"]
    assert "all clear" in result["en"]["allClear"] and result["en"]["alertLine"].endswith("Resolved"), result["en"]
    assert result["zh"]["desk"] == 0, "the desk's own delivery records are not the family's to read"
