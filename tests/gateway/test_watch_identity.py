"""The watch gateway signs in as each bracelet on a broker that checks passwords and ACLs: a bracelet whose
secret the gateway holds is published as itself; one whose secret is wrong gets nothing through."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anxin.commands.common import dead_letter_writer
from anxin.services import LocalMosquitto
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.provisioning import Account, acl_file, hash_password, password_file
from gateway.watch import encode_frame
from gateway.watch_server import WatchGateway, mqtt_links, serving

PREFIX = "ec/v1"
GOOD, BAD = "8600000001", "8600000002"


@pytest.fixture
def secured(service_root: Path) -> Iterator[tuple[LocalMosquitto, Account]]:
    """A Mosquitto that lets in only the two bracelets (their own topics) and one ingest account."""
    broker = LocalMosquitto(service_root / f"watch-acl-{time.monotonic_ns()}", device_access=True).start()
    reader = Account("ingest.1", "reader-secret", "ingest")
    hashes = {GOOD: hash_password("good-secret"), BAD: hash_password("bad-secret")}
    broker.install_access(
        password_file(hashes | {reader.username: hash_password(reader.password)}), acl_file(hashes, [reader], PREFIX)
    )
    time.sleep(0.3)  # the SIGHUP reload
    yield broker, reader
    broker.stop()


def test_the_gateway_publishes_only_with_each_bracelets_own_secret(
    secured: tuple[LocalMosquitto, Account], db_url: str
) -> None:
    broker, reader = secured
    address = BrokerAddress.from_url(broker.url)
    seen: list[tuple[str, dict[str, object]]] = []
    lock = threading.Lock()

    def on_message(topic: str, payload: bytes) -> None:
        with lock:
            seen.append((topic, json.loads(payload)))

    listener = MqttConnection(
        BrokerAddress.from_url(broker.url, reader.username, reader.password), reader.username, persistent=False
    )
    listener.connect()
    listener.route(f"{PREFIX}/+/telemetry", on_message)
    secrets = {GOOD: "good-secret", BAD: "not-its-secret"}
    gateway = WatchGateway(
        mqtt_links(address, secrets, PREFIX, timeout=2.0), secrets, dead_letter_writer(db_url), prefix=PREFIX
    )
    try:
        with serving(gateway) as port:
            for device in (GOOD, BAD):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(encode_frame("3G", device, "LK,10,0,90"))
                    sock.settimeout(5)
                    answer = b""
                    while chunk := sock.recv(100):
                        answer += chunk
                        if b"LK]" in answer:
                            break
                    assert (b"LK]" in answer) is (device == GOOD), answer
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        listener.close()
    assert [topic for topic, _ in seen] == [f"{PREFIX}/{GOOD}/telemetry"]
    assert gateway.stats["broker_refused"] == 1
