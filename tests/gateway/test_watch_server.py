"""The watch gateway's TCP server on the real Mosquitto and PostgreSQL: replies, publishing as the bracelet,
acks turned into ``AL``, platform commands, and fuzzing — garbage, partial frames, slow senders, oversized
lengths, unknown and forged devices, too many connections — after which the server still serves."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anxin.commands.common import dead_letter_writer
from anxin.services import LocalMosquitto
from gateway.contract import command_ack
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.watch import encode_frame
from gateway.watch_server import Limits, WatchGateway, mqtt_links, serving

LIMITS = Limits(max_content=4096, hello_timeout_s=2.0, idle_timeout_s=4.0, per_ip=6, resend_s=0.5)
SOS = "AL,061226,095930,A,30.658600,N,104.064800,E,0.00,0.0,500.0,7,80,81,1234,3,00010000,1,1,460,0,9360,4082,131"


@dataclass
class Bus:
    """A platform-side MQTT client: what the bracelets publish, and a way to send them commands."""

    connection: MqttConnection
    prefix: str
    seen: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.seen.append((topic, json.loads(payload)))

    def messages(self, device: str, channel: str) -> list[dict[str, object]]:
        with self.lock:
            return [body for topic, body in self.seen if topic == f"{self.prefix}/{device}/{channel}"]

    def command(self, device: str, payload: bytes) -> None:
        self.connection.publish(f"{self.prefix}/{device}/cmd", payload)


@dataclass
class Gateway:
    server: WatchGateway
    port: int
    bus: Bus
    devices: list[str]
    db_url: str

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def dead_letters(self) -> list[tuple[str, str]]:
        with psycopg.connect(self.db_url) as conn:
            return [(r[0], r[1]) for r in conn.execute("SELECT reason, topic FROM dead_letters ORDER BY id")]


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def read_until(sock: socket.socket, expected: bytes, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    got = b""
    while expected not in got:
        chunk = sock.recv(4096)
        assert chunk, f"closed before {expected!r}; got {got!r}"
        got += chunk
    return got


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


@pytest.fixture
def gateway(mqtt_broker: LocalMosquitto, db_url: str, topic_prefix: str) -> Iterator[Gateway]:
    devices = [f"{random.randrange(10**9, 10**10)}" for _ in range(4)]
    secrets = {d: f"secret-{d}" for d in devices}  # the test broker takes any secret; the ACL test is elsewhere
    address = BrokerAddress.from_url(mqtt_broker.url)
    server = WatchGateway(
        mqtt_links(address, secrets, topic_prefix),
        secrets,
        dead_letter_writer(db_url),
        prefix=topic_prefix,
        limits=LIMITS,
    )
    connection = MqttConnection(address, f"watch-test-{uuid.uuid4().hex[:8]}", persistent=False)
    connection.connect()
    bus = Bus(connection, topic_prefix)
    connection.route(f"{topic_prefix}/#", bus.on_message)
    try:
        with serving(server) as port:
            yield Gateway(server, port, bus, devices, db_url)
    finally:
        connection.close()


def assert_still_serving(gw: Gateway, device: str) -> None:
    with gw.connect() as sock:
        sock.sendall(encode_frame("3G", device, "LK"))
        try:
            answer = read_until(sock, b"*LK]")
        except (AssertionError, OSError) as exc:
            raise AssertionError(f"not served: {exc}; {dict(gw.server.stats)}") from exc
        assert answer == encode_frame("3G", device, "LK")


def test_a_heartbeat_is_answered_and_published_as_the_bracelet(gateway: Gateway) -> None:
    device = gateway.devices[0]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", device, "LK,1380,12,77") + encode_frame("3G", device, "heart,72"))
        assert read_until(sock, b"LK]") == encode_frame("3G", device, "LK")
        wait_for(lambda: len(gateway.bus.messages(device, "telemetry")) == 2)
    telemetry = gateway.bus.messages(device, "telemetry")
    assert telemetry[0]["battery"] == 77 and telemetry[0]["steps"] == 1380
    assert telemetry[1]["heart_rate"] == 72 and telemetry[1]["battery"] == 77
    states = [s["state"] for s in gateway.bus.messages(device, "status")]
    wait_for(lambda: [s["state"] for s in gateway.bus.messages(device, "status")][-1:] == ["offline"])
    assert states[0] == "online"
    assert gateway.bus.messages(device, "status")[-1]["reason"] == "connection_lost"


def test_an_sos_is_answered_al_only_once_the_platform_acknowledges_it(gateway: Gateway) -> None:
    device = gateway.devices[0]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", device, SOS))
        wait_for(lambda: len(gateway.bus.messages(device, "event")) >= 2)  # published, then resent: no ack yet
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        event = gateway.bus.messages(device, "event")[0]
        assert event["kind"] == "sos"
        gateway.bus.command(device, command_ack(int(event["seq"]), datetime.now(UTC)))  # type: ignore[call-overload]
        assert read_until(sock, b"AL]") == encode_frame("3G", device, "AL")
        resent = len(gateway.bus.messages(device, "event"))
        time.sleep(1.2)
        assert len(gateway.bus.messages(device, "event")) == resent, "no resending once acknowledged"
    assert gateway.server.stats["acked"] == 1


def test_platform_commands_reach_the_bracelet_on_its_connection(gateway: Gateway) -> None:
    device = gateway.devices[1]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("SG", device, "LK"))
        read_until(sock, b"LK]")
        gateway.bus.command(device, b'{"kind": "locate"}')
        gateway.bus.command(device, b'{"kind": "report_interval", "seconds": 120}')
        gateway.bus.command(device, b'{"kind": "call_back", "number": "13900001111"}')
        got = read_until(sock, b"CALL,13900001111]")
    assert encode_frame("SG", device, "CR") in got and encode_frame("SG", device, "UPLOAD,120") in got


def test_an_unknown_bracelet_is_refused_and_dead_lettered(gateway: Gateway) -> None:
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", "9999999999", "LK"))
        assert closed_by_server(sock)
    wait_for(lambda: gateway.dead_letters() == [("unknown_device", "watch/127.0.0.1")])
    assert gateway.bus.messages("9999999999", "status") == []
    assert_still_serving(gateway, gateway.devices[0])


def test_another_bracelets_frame_on_a_connection_closes_it(gateway: Gateway) -> None:
    one, two = gateway.devices[:2]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", one, "LK") + encode_frame("3G", two, "LK,0,0,50"))
        read_until(sock, b"LK]")
        assert closed_by_server(sock)
    wait_for(lambda: [r for r, _ in gateway.dead_letters()] == ["identity_mismatch"])
    assert gateway.bus.messages(two, "telemetry") == []


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad_frame"),
        (b"[3G*DEVICE*FFFF*" + b"x" * 100, "too_large"),
        (b"[3G*DEVICE*0004*LK][3G*DEVICE*0002*LK]", "bad_frame"),  # the length lies
        (bytes(range(256)), "bad_frame"),
    ],
)
def test_garbage_closes_the_connection_with_a_dead_letter(gateway: Gateway, stream: bytes, reason: str) -> None:
    device = gateway.devices[2]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", device, "LK") + stream.replace(b"DEVICE", device.encode()))
        read_until(sock, b"LK]")
        assert closed_by_server(sock)
    wait_for(lambda: [r for r, _ in gateway.dead_letters()] == [reason])
    assert gateway.dead_letters()[0][1] == f"watch/127.0.0.1/{device}"
    assert_still_serving(gateway, device)


def test_a_malformed_content_is_dead_lettered_and_the_connection_goes_on(gateway: Gateway) -> None:
    device = gateway.devices[0]
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", device, "UD,061226,095930,A,95.0,N,104.0,E,0,0,0,7,80,81,1234,3,0"))
        sock.sendall(encode_frame("3G", device, "LK"))
        read_until(sock, b"LK]")
    wait_for(lambda: [r for r, _ in gateway.dead_letters()] == ["invalid"])


def test_a_slow_sender_byte_by_byte_is_served(gateway: Gateway) -> None:
    device = gateway.devices[3]
    frame = encode_frame("3G", device, "LK,10,0,90")
    with gateway.connect() as sock:
        for byte in frame:
            sock.sendall(bytes([byte]))
            time.sleep(0.01)
        assert read_until(sock, b"LK]") == encode_frame("3G", device, "LK")
    wait_for(lambda: len(gateway.bus.messages(device, "telemetry")) == 1)


def test_a_silent_or_half_sent_connection_is_closed_after_its_timeout(gateway: Gateway) -> None:
    with gateway.connect() as silent, gateway.connect() as half:
        half.sendall(b"[3G*" + gateway.devices[0].encode() + b"*0010*LK")
        started = time.monotonic()
        assert closed_by_server(silent, timeout=LIMITS.hello_timeout_s + 3)
        assert closed_by_server(half, timeout=3)
        assert time.monotonic() - started < LIMITS.hello_timeout_s + 2
    assert gateway.server.stats["idle_closed"] == 2


def test_too_many_connections_from_one_address_are_refused(gateway: Gateway) -> None:
    held = [gateway.connect() for _ in range(LIMITS.per_ip)]
    try:
        wait_for(lambda: gateway.server.connections == LIMITS.per_ip)
        with gateway.connect() as extra:
            assert closed_by_server(extra, timeout=2)
        assert gateway.server.stats["refused_busy"] >= 1
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: gateway.server.connections == 0)
    assert_still_serving(gateway, gateway.devices[0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=6))
def test_fuzz_any_bytes_never_stop_the_server(gateway: Gateway, pieces: list[bytes]) -> None:
    device = gateway.devices[0]
    wait_for(lambda: gateway.server.connections == 0)  # the last example's connections have ended
    with gateway.connect() as sock:
        sock.sendall(encode_frame("3G", device, "LK"))
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                break  # closed on garbage: as it should
    assert gateway.server.stats["failed"] == 0
    assert_still_serving(gateway, device)
