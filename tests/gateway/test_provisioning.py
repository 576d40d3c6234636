"""`anxin devices provision` against a real registry and a real Mosquitto started from its output."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import psycopg
import pytest

from anxin.cli import main
from anxin.services import LocalMosquitto
from gateway.provisioning import ProvisioningError, hash_password, password_file, plan, verify_password
from gateway.registry import Device, DeviceKind
from ingest.credentials import load_credential_hashes
from tests.gateway.test_broker_security import connect
from tests.ingest.harness import register_fleet


def provision(monkeypatch: pytest.MonkeyPatch, db_url: str, out: Path, *extra: str) -> None:
    """Run the command as an operator would."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["devices", "provision", "--out", str(out), *extra]) == 0


def issued(out: Path) -> dict[str, str]:
    """Read every issued credential CSV: device id → secret (the newest wins)."""
    secrets: dict[str, str] = {}
    for path in sorted((out / "issued").glob("*.csv")):
        with path.open() as handle:
            secrets |= {row["device_id"]: row["password"] for row in csv.DictReader(handle)}
    return secrets


def test_provision_issues_once_keeps_secrets_and_a_broker_accepts_them(
    monkeypatch: pytest.MonkeyPatch, db_url: str, service_root: Path
) -> None:
    register_fleet(db_url, 2)
    root = service_root / f"prov-{uuid.uuid4().hex[:8]}"
    out = root / "mosquitto" / "broker"  # inside the broker's folder: the launcher gives it to its account
    provision(monkeypatch, db_url, out)
    first = issued(out)
    assert sorted(first) == ["r0-bracelet", "r0-hub", "r1-bracelet", "r1-hub"]  # relayed sensors get none
    for name in (
        "passwd",
        "acl",
        "security.conf",
        "services.json",
        *(f"issued/{p.name}" for p in (out / "issued").iterdir()),
    ):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    with psycopg.connect(db_url) as conn:
        hashes = load_credential_hashes(conn)
    assert all(verify_password(first[d], h) for d, h in hashes.items())
    services = json.loads((out / "services.json").read_text())
    assert sorted(services) == ["core.1", "ingest.1", "ingest.2"]

    provision(monkeypatch, db_url, out, "--rotate", "r0-hub")
    assert json.loads((out / "services.json").read_text()) == services
    second = issued(out)
    assert second["r0-hub"] != first["r0-hub"]
    assert {k: v for k, v in second.items() if k != "r0-hub"} == {k: v for k, v in first.items() if k != "r0-hub"}

    with LocalMosquitto(root / "mosquitto", extra_config=(out / "security.conf").read_text()) as broker:
        for user, password, ok in [
            ("r0-bracelet", second["r0-bracelet"], True),
            ("ingest.2", services["ingest.2"], True),
            ("r0-hub", first["r0-hub"], False),  # rotated away
            ("r0-motion-kitchen", "x", False),
        ]:
            probe = connect(broker.port, user, password)
            assert (probe.connack is not None and not probe.connack.is_failure) is ok, user
            probe.close()


def test_password_file_refuses_unsafe_entries() -> None:
    with pytest.raises(ProvisioningError):
        password_file({"a:b": hash_password("x")})
    with pytest.raises(ProvisioningError):
        password_file({"a": "plain"})
    assert not verify_password("x", "garbage")


def test_a_hub_may_write_the_status_of_its_own_sensors_and_nothing_of_another_home() -> None:
    devices = [
        Device("a-hub", DeviceKind.HUB, "ra"),
        Device("a-door", DeviceKind.SENSOR, "ra", "door", "front", "a-hub"),
        Device("b-hub", DeviceKind.HUB, "rb"),
        Device("b-door", DeviceKind.SENSOR, "rb", "door", "front", "b-hub"),
    ]
    acl = plan(devices, {}, {}, {}, "ec/v1").acl_file
    hub_a = acl.split("user a-hub\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "topic write ec/v1/a-door/status" in hub_a
    assert not any("b-door" in line or "b-hub" in line for line in hub_a)
    assert not any("a-door/event" in line or "a-door/telemetry" in line for line in hub_a)
    assert "user a-door" not in acl  # a relayed sensor has no account of its own
