"""`anxin trigger`: a real device message through the broker raises the alert on the running platform.

The platform runs on a broker of its own, which lets no anonymous client in: the trigger signs in as the
device, with the secret in the demo's file in the data folder or one given with ``--secret-file``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from anxin.commands.devices import write_private
from anxin.demo import DEVICE_SECRETS
from anxin.platform import Platform, start_platform
from anxin.services import SERVICES_FILE, record_services, recorded_services
from gateway.provisioning import Account, credentials_csv, issue
from gateway.registry import Device, DeviceKind
from ingest.credentials import store_credential_hash
from ingest.devices import upsert_devices
from tests.ingest.harness import count, register_fleet, wait_for
from tests.reliability.helpers import platform_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def running(db_url: str, topic_prefix: str, service_root: Path) -> Iterator[tuple[Platform, Path]]:
    """The platform on the test database and a broker of its own, which it records in its data folder."""
    register_fleet(db_url, 2)
    with psycopg.connect(db_url) as conn:
        upsert_devices(conn, [Device("r1-smoke", DeviceKind.SENSOR, "r1", "smoke", "kitchen", "r1-hub")])
    data = service_root / f"trigger-{topic_prefix.replace('/', '-')}"
    settings = platform_settings(db_url, "", topic_prefix, data).model_copy(update={"mqtt_url": None})
    with start_platform(settings, with_dashboard=False) as platform:
        secrets = register_secrets(platform, ["r0-bracelet", "r1-hub", "r1-bracelet"])
        demo = [Account(d, secrets[d], "device") for d in ("r0-bracelet", "r1-hub")]  # as the demo keeps them
        write_private(data / DEVICE_SECRETS, credentials_csv(demo))
        write_private(data / "r1-bracelet.secret", secrets["r1-bracelet"] + "\n")  # as copied from the admin page
        yield platform, data


def register_secrets(platform: Platform, devices: list[str]) -> dict[str, str]:
    """Give devices broker secrets as the admin page does (hash kept, broker reloaded); return the secrets."""
    issued = {}
    with psycopg.connect(platform.database_url) as conn:
        for device_id in devices:
            account, password_hash = issue(device_id)
            store_credential_hash(conn, device_id, password_hash)
            issued[device_id] = account.password
    assert platform.reload_broker is not None
    platform.reload_broker()
    return issued


def trigger(data: Path, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `anxin trigger` as a user would: no URLs in the environment, only the data folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MQTT_URL") and not k.startswith("ANXIN_")}
    env |= {"ANXIN_DATA_DIR": str(data), "ANXIN_TOPIC_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "anxin.cli", "--log-level", "WARNING", "trigger", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_sos_and_a_smoke_alarm_reach_the_platform(
    running: tuple[Platform, Path], db_url: str, topic_prefix: str
) -> None:
    platform, data = running
    assert recorded_services(data) == (platform.database_url, platform.mqtt_url)
    assert (data / SERVICES_FILE).stat().st_mode & 0o777 == 0o600

    done = trigger(data, topic_prefix, "sos", "--resident", "r0")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["device"] == "r0-bracelet" and report["stored"] is True
    wait_for(lambda: count(db_url, "SELECT count(*) FROM alerts WHERE kind = 'sos' AND resident_id = 'r0'") == 1)

    done = trigger(data, topic_prefix, "smoke", "--resident", "r1")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["device"], report["sensor"]) == ("r1-hub", "r1-smoke")  # through the home's hub
    wait_for(lambda: count(db_url, "SELECT count(*) FROM alerts WHERE kind = 'smoke' AND resident_id = 'r1'") == 1)
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT sensor_id FROM events WHERE kind = 'smoke'").fetchone()
    assert row == ("r1-smoke",)


def test_a_fall_from_the_bracelet_raises_a_fall(running: tuple[Platform, Path], db_url: str, topic_prefix: str) -> None:
    _, data = running
    done = trigger(data, topic_prefix, "fall", "--resident", "r1", "--secret-file", str(data / "r1-bracelet.secret"))
    assert done.returncode == 0, done.stderr
    wait_for(lambda: count(db_url, "SELECT count(*) FROM alerts WHERE kind = 'fall' AND resident_id = 'r1'") == 1)


def test_unknown_residents_and_devices_are_named(running: tuple[Platform, Path], topic_prefix: str) -> None:
    _, data = running
    done = trigger(data, topic_prefix, "sos", "--resident", "r9")
    assert done.returncode == 2 and "no resident 'r9'" in done.stderr
    done = trigger(data, topic_prefix, "smoke", "--resident", "r0")  # r0's home has no smoke detector
    assert done.returncode == 2 and "no device" in done.stderr
    done = trigger(data, topic_prefix, "sos")
    assert done.returncode == 2 and "r0 Resident 0" in done.stderr  # the residents it knows


def test_without_the_devices_secret_it_says_so_and_sends_nothing(
    running: tuple[Platform, Path], db_url: str, topic_prefix: str
) -> None:
    _, data = running
    done = trigger(data, topic_prefix, "sos", "--resident", "r1")  # r1's bracelet is not in the demo's file
    assert done.returncode == 2
    assert "no broker secret for device r1-bracelet" in done.stderr and "--secret-file" in done.stderr
    wrong = data / "wrong.secret"
    wrong.write_text("not-the-secret\n")
    done = trigger(data, topic_prefix, "sos", "--resident", "r1", "--secret-file", str(wrong), "--timeout", "2")
    assert done.returncode == 2 and "did not accept us as device r1-bracelet" in done.stderr
    assert count(db_url, "SELECT count(*) FROM events WHERE device_id = 'r1-bracelet'") == 0


def test_without_a_running_platform_it_says_how_to_start_one(tmp_path: Path) -> None:
    done = trigger(tmp_path, "ec/v1", "sos", "--resident", "r0")
    assert done.returncode == 2 and "make run" in done.stderr
    stale = record_services(tmp_path, "postgresql://x", "mqtt://127.0.0.1:1")
    stale.write_text(json.dumps({"database_url": "postgresql://x", "mqtt_url": "mqtt://y", "pid": 2**22 + 12345}))
    assert recorded_services(tmp_path) is None  # left by a platform that is gone
