"""An admin loads a neighbourhood in through the admin page, and its bracelet's SOS reaches the operator.

The whole platform runs on its own local Mosquitto (started with password and ACL files); an admin in
headless Chromium at 1366x768 creates a station in 东湖区, a staff member with a week of shifts, a resident
with a contact, and a bracelet whose secret the page shows once. That bracelet signs in with the new
secret at once — the broker reloaded its files, no restart — while a wrong secret is refused; its SOS
reaches 东湖区's operator and not 北岗区's.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from anxin.platform import Platform, start_platform
from gateway.contract import Channel, SosEvent, encode, topic
from gateway.errors import BrokerError
from gateway.mqtt import BrokerAddress, MqttConnection
from tests.dashboard.test_e2e import CHROMIUM, SHOTS, WEB, pytestmark  # noqa: F401
from tests.dashboard.world import PASSWORD, seed
from tests.reliability.helpers import platform_settings


@pytest.fixture
def running(db_url: str, topic_prefix: str, service_root: Path) -> Iterator[Platform]:
    """Run the whole platform with a broker of its own (so it may reload that broker's files)."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
    data = service_root / f"admin-{topic_prefix.split('/', maxsplit=1)[0]}"
    # Port 0: the kernel's free port, taken at once (a port found free earlier may be taken by then).
    settings = platform_settings(db_url, None, topic_prefix, data, http_port=0)  # type: ignore[arg-type]
    with start_platform(settings) as platform:
        assert platform.reload_broker is not None
        yield platform


def _signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=15)
    assert client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
    return client


def _device(url: str, username: str, password: str, timeout: float = 10.0) -> MqttConnection:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    address = BrokerAddress(parts.hostname, parts.port, username=username, password=password)
    connection = MqttConnection(address, username, persistent=False)
    connection.connect(timeout)
    return connection


def _run_page(base: str) -> dict[str, Any]:
    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env["CHROMIUM"] = CHROMIUM
    SHOTS.mkdir(parents=True, exist_ok=True)
    script = Path(__file__).parent / "e2e" / "admin_setup.mjs"
    done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=240, check=False)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("ok"), (result, done.stderr[-3000:])
    return result


def test_an_admin_sets_up_a_resident_whose_bracelet_sos_reaches_their_districts_operator(
    running: Platform, topic_prefix: str
) -> None:
    assert running.dashboard_url is not None
    base = running.dashboard_url.rstrip("/")
    page = _run_page(base)
    assert page["username"] == "b-e2e" and len(page["secret"]) >= 40
    assert "孙女士" in page["contact"] and "22:00" in page["contact"]
    assert "姓名" in page["refusedZh"] and "120" in page["refusedEn"] and "110" in page["refusedEn"]
    assert page["unreadableEn"].startswith("The server failed") and page["unreadableEn"].endswith("Read again")
    with psycopg.connect(running.database_url) as conn:
        resident = conn.execute(
            "SELECT station_id, heart_rate_low, spo2_low, lat IS NOT NULL FROM residents WHERE id = 'r-e2e'"
        ).fetchone()
        shifts = conn.execute("SELECT count(*) FROM shifts WHERE staff_id = 's-e2e'").fetchone()
        station = conn.execute(
            "SELECT d.name FROM stations s JOIN districts d ON d.id = s.district_id WHERE s.id = 'st-e2e'"
        ).fetchone()
    assert resident == ("st-e2e", 45, 88, True) and shifts is not None and shifts[0] >= 7
    assert station == ("东湖区",)
    acl = (Path(running.settings.data_dir) / "mosquitto" / "acl").read_text()
    assert "\nuser b-e2e\n" in acl and f"topic write {topic_prefix}/b-e2e/event\n" in acl

    with pytest.raises(BrokerError):
        _device(running.mqtt_url, "b-e2e", "not-the-secret", timeout=3).close()
    bracelet = _device(running.mqtt_url, "b-e2e", page["secret"])  # the new secret, no broker restart
    operator, other = _signed_in(base, "operator"), _signed_in(base, "operator2")
    try:
        deadline, seq, found = time.monotonic() + 60, 0, []
        while not found and time.monotonic() < deadline:  # detection learns a new resident within 30 s
            seq += 1
            bracelet.publish(
                topic("b-e2e", Channel.EVENT, topic_prefix),
                encode(SosEvent(kind="sos", seq=seq, ts=datetime.now(UTC))),
                qos=1,
            )
            time.sleep(3)
            found = [a for a in operator.get("/api/alerts?open_only=true").json() if a["resident_id"] == "r-e2e"]
    finally:
        bracelet.close()
    assert found and found[0]["kind"] == "sos", "the SOS did not reach 东湖区's operator"
    seen_by_other = [a for a in other.get("/api/alerts?open_only=true").json() if a["resident_id"] == "r-e2e"]
    assert seen_by_other == []  # 北岗区's operator is not told
