"""The local service launchers start real servers that run unprivileged and stop cleanly."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

from anxin.services import EmbeddedBroker, LocalMosquitto, LocalPostgres


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
