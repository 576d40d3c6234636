"""The broker `anxin run` starts lets no anonymous client in, yet the demo's devices and the platform all work.

The platform runs on the test database and a Mosquitto of its own (no ``MQTT_URL``), as `make run` does;
the demo is seeded and simulated by the same code as `anxin run`, small and fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from anxin.commands.run import simulate_demo
from anxin.demo import DEVICE_SECRETS, demo_device_secrets
from anxin.platform import Platform, start_platform
from gateway.errors import BrokerError
from gateway.mqtt import BrokerAddress, MqttConnection
from simulators.fleet import build_fleet
from simulators.scenario import Scenario
from simulators.schedule import IncidentSpec
from tests.ingest.harness import count, wait_for
from tests.reliability.helpers import platform_settings


@pytest.fixture
def running(db_url: str, topic_prefix: str, service_root: Path) -> Iterator[Platform]:
    """The platform on the test database and a broker of its own."""
    data = service_root / f"local-{topic_prefix.replace('/', '-')}"
    settings = platform_settings(db_url, "", topic_prefix, data).model_copy(update={"mqtt_url": None})
    with start_platform(settings, with_dashboard=False) as platform:
        yield platform


def _sign_in(url: str, username: str | None, password: str | None, timeout: float = 10.0) -> MqttConnection:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    address = BrokerAddress(parts.hostname, parts.port, username=username, password=password)
    connection = MqttConnection(address, f"probe-{username}", persistent=False)
    connection.connect(timeout)
    return connection


def test_anonymous_clients_and_wrong_secrets_are_refused(running: Platform) -> None:
    with pytest.raises(BrokerError):
        _sign_in(running.mqtt_url, None, None, timeout=3).close()
    with pytest.raises(BrokerError):
        _sign_in(running.mqtt_url, "core.1", "not-the-secret", timeout=3).close()
    home = Path(running.settings.data_dir) / "mosquitto"
    assert "allow_anonymous false" in (home / "mosquitto.conf").read_text()
    acl = (home / "acl").read_text()
    assert "topic readwrite #" not in acl and acl.splitlines()[1] == ""  # no rule before the first account's
    for account in ("core.1", "ingest.1", "ingest.2"):  # the platform's own connections, each its own account
        assert f"\nuser {account}\n" in acl
    assert running.settings.broker_account("ingest_events")[0] == "ingest.2"


def test_the_demos_devices_sign_in_as_themselves_and_their_sos_is_stored(running: Platform, topic_prefix: str) -> None:
    scenario = Scenario(
        residents=2,
        days=0.1,
        speed=0,
        prefix=topic_prefix,
        connections="per-device",
        incidents=IncidentSpec(counts={"sos": 1}, around_the_clock=True),  # whatever the hour: not only 07-22 local
        start=datetime.now(UTC) - timedelta(hours=4),
    )
    simulate_demo(running, scenario, threading.Event()).join(60)

    data = Path(running.settings.data_dir)
    assert (data / DEVICE_SECRETS).stat().st_mode & 0o777 == 0o600
    publishers = {d.device_id for r in build_fleet(2, scenario.seed, scenario.neighbourhood) for d in r.publishers}
    secrets = demo_device_secrets(data)
    assert set(secrets) == publishers
    db = running.database_url
    stored = "SELECT count(DISTINCT device_id) FROM device_status WHERE device_id = ANY(%s)"
    wait_for(lambda: count(db, stored, sorted(publishers)) == len(publishers), what="every device's status")
    wait_for(lambda: count(db, "SELECT count(*) FROM events WHERE kind = 'sos'") >= 1, what="the SOS")

    device = sorted(publishers)[0]
    with pytest.raises(BrokerError):
        _sign_in(running.mqtt_url, device, "not-the-secret", timeout=3).close()
    _sign_in(running.mqtt_url, device, secrets[device]).close()

    simulate_demo(running, scenario, threading.Event()).join(60)  # seeded again: the kept secrets still hold
    assert demo_device_secrets(data) == secrets
