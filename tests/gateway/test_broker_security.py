"""The broker locks every device to its own topics: a real Mosquitto with the generated password and ACL files.

Mosquitto 2.0's ACL file does not refuse a SUBACK (its default check lets every subscription through and
filters each delivery by the read rules), and it drops an unauthorised publish silently on MQTT 3 (on
MQTT 5 the PUBACK says "Not authorized"). So the tests assert on what matters: what is delivered. A
canary sent after the forbidden message on an allowed path proves that the broker has dealt with it.
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.services import LocalMosquitto, free_port
from gateway.errors import BrokerError
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.provisioning import TlsListener, broker_config, plan
from gateway.registry import Device, DeviceKind

PREFIX = "ec/v1"
A, B = "devA", "devB"
WAIT = 5.0


@dataclass
class SecureBroker:
    """A Mosquitto started with provisioned credentials, ACLs and a TLS listener."""

    broker: LocalMosquitto
    passwords: dict[str, str]
    tls_port: int
    ca: Path
    wrong_ca: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """Make a self-signed test CA (EC P-256); return its certificate and key."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        str(key),
        "-out",
        str(cert),
    )
    return cert, key


def make_server_cert(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """Make a server certificate for 127.0.0.1/localhost signed by ``ca``."""
    cert, key, csr, ext = (folder / n for n in ("server.crt", "server.key", "server.csr", "server.ext"))
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca[0]),
        "-CAkey",
        str(ca[1]),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(cert),
    )
    return cert, key


@pytest.fixture(scope="module")
def secure(service_root: Path) -> Iterator[SecureBroker]:
    """Start this module's own Mosquitto: devices A and B, one ingest and one core account, plain + TLS."""
    root = service_root / f"secure-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    result = plan(
        [Device(A, DeviceKind.BRACELET, None), Device(B, DeviceKind.HUB, None)],
        {},
        {"ingest": 1, "core": 1},
        {},
        PREFIX,
    )
    (root / "passwd").write_text(result.password_file)
    (root / "acl").write_text(result.acl_file)
    ca = make_ca(root, "test-ca")
    wrong_ca, _ = make_ca(root, "wrong-ca")
    cert, key = make_server_cert(root, ca)
    tls = TlsListener(free_port(), cert, key, bind="127.0.0.1")
    broker = LocalMosquitto(root, extra_config=broker_config(root / "passwd", root / "acl", tls=tls)).start()
    passwords = {a.username: a.password for a in (*result.issued, *result.services)}
    try:
        yield SecureBroker(broker, passwords, tls.port, ca[0], wrong_ca)
    finally:
        broker.stop()


@dataclass
class Probe:
    """A raw paho client that records what the broker answers and delivers."""

    client: paho.Client
    connack: Any = None
    subacks: list[Any] = field(default_factory=list)
    pubacks: list[Any] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    got: threading.Condition = field(default_factory=threading.Condition)

    def subscribe(self, topic_filter: str) -> Any:
        """Subscribe and return the SUBACK reason code."""
        with self.got:
            count = len(self.subacks)
            self.client.subscribe(topic_filter, qos=1)
            assert self.got.wait_for(lambda: len(self.subacks) > count, WAIT)
            return self.subacks[-1]

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and wait for the broker's PUBACK."""
        self.client.publish(topic, payload, qos=1).wait_for_publish(WAIT)

    def wait_for(self, payload: bytes) -> list[tuple[str, bytes]]:
        """Wait until ``payload`` arrives; return everything received so far."""
        with self.got:
            assert self.got.wait_for(lambda: any(p == payload for _, p in self.messages), WAIT), payload
            return list(self.messages)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    port: int,
    username: str | None,
    password: str | None,
    client_id: str | None = None,
    protocol: int = paho.MQTTv5,
    clean: bool = True,
) -> Probe:
    """Connect a probe; wait for the CONNACK (accepted or refused)."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or username or "anon", protocol=protocol)
    probe = Probe(client)
    client.on_connect = lambda _c, _u, _f, rc, _p: (setattr(probe, "connack", rc), probe.answered.set())
    client.on_disconnect = lambda _c, _u, _f, _rc, _p: (probe.disconnected.set(), probe.answered.set())
    client.on_subscribe = lambda _c, _u, _m, rcs, _p: _record(probe, probe.subacks, rcs[0])
    client.on_publish = lambda _c, _u, _m, rc, _p: _record(probe, probe.pubacks, rc)
    client.on_message = lambda _c, _u, m: _record(probe, probe.messages, (m.topic, bytes(m.payload)))
    if username is not None:
        client.username_pw_set(username, password)
    kwargs: dict[str, Any] = {}
    if protocol == paho.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0 if clean else 3600
        kwargs = {"clean_start": clean, "properties": props}
    client.connect("127.0.0.1", port, **kwargs)
    client.loop_start()
    assert probe.answered.wait(WAIT), "no CONNACK"
    return probe


def _record(probe: Probe, into: list[Any], item: Any) -> None:
    with probe.got:
        into.append(item)
        probe.got.notify_all()


def topic(device_id: str, channel: str) -> str:
    """Return a device topic."""
    return f"{PREFIX}/{device_id}/{channel}"


@pytest.fixture
def as_user(secure: SecureBroker) -> Iterator[Any]:
    """Connect probes as provisioned accounts; close them all after the test."""
    probes: list[Probe] = []

    def make(username: str, **kwargs: Any) -> Probe:
        probe = connect(secure.broker.port, username, secure.passwords[username], **kwargs)
        assert probe.connack is not None and not probe.connack.is_failure, probe.connack
        probes.append(probe)
        return probe

    yield make
    for probe in probes:
        probe.close()


def test_own_telemetry_reaches_ingest_and_ingest_commands_reach_the_device(as_user: Any) -> None:
    ingest = as_user("ingest.1")
    assert not ingest.subscribe(f"$share/ingest/{PREFIX}/+/telemetry").is_failure
    device = as_user(A)
    assert not device.subscribe(topic(A, "cmd")).is_failure
    device.publish(topic(A, "telemetry"), b"hello")
    assert ingest.wait_for(b"hello") == [(topic(A, "telemetry"), b"hello")]
    ingest.publish(topic(A, "cmd"), b"ack")
    assert device.wait_for(b"ack") == [(topic(A, "cmd"), b"ack")]


@pytest.mark.parametrize("protocol", [paho.MQTTv5, paho.MQTTv311])
def test_publishing_as_another_device_is_not_delivered(as_user: Any, protocol: int) -> None:
    ingest = as_user("ingest.1")
    ingest.subscribe(f"{PREFIX}/+/+")
    device = as_user(A, protocol=protocol)
    for channel in ("telemetry", "event", "status"):
        device.publish(topic(B, channel), b"forged")
    device.publish(topic(A, "cmd"), b"forged")  # devices never write commands, not even their own
    device.publish("anxin/v1/alerts/r1", b"forged")
    device.publish(topic(A, "telemetry"), b"canary")
    assert ingest.wait_for(b"canary") == [(topic(A, "telemetry"), b"canary")]
    if protocol == paho.MQTTv5:
        assert [str(rc) for rc in device.pubacks[:5]] == ["Not authorized"] * 5


@pytest.mark.parametrize(
    "topic_filter",
    [
        "#",
        "$SYS/#",
        f"{PREFIX}/{B}/cmd",
        f"{PREFIX}/+/cmd",
        f"{PREFIX}/+/+",
        f"$share/x/{PREFIX}/+/telemetry",
        "anxin/v1/#",
    ],
)
def test_a_device_reads_nothing_but_its_own_commands(as_user: Any, topic_filter: str) -> None:
    ingest, core = as_user("ingest.1"), as_user("core.1")
    device = as_user(A)
    device.subscribe(topic_filter)  # granted or refused, depending on the broker: what counts is delivery
    device.subscribe(topic(A, "cmd"))
    as_user(B).publish(topic(B, "telemetry"), b"b-telemetry")
    core.publish("anxin/v1/alerts/r1", b"alert")
    ingest.publish(topic(B, "cmd"), b"for-b")
    ingest.publish(topic(A, "cmd"), b"canary")
    received = device.wait_for(b"canary")
    assert {t for t, _ in received} == {topic(A, "cmd")}, received


def test_another_identity_cannot_take_a_devices_session(secure: SecureBroker, as_user: Any) -> None:
    ingest = as_user("ingest.1")
    owner = as_user(A, clean=False)
    owner.subscribe(topic(A, "cmd"))
    owner.close()
    intruder = as_user(B, client_id=A, clean=True)  # would wipe A's session if the client id were A's
    intruder.subscribe(f"{PREFIX}/{A}/cmd")
    ingest.publish(topic(A, "cmd"), b"queued-for-a")
    intruder.subscribe(topic(B, "cmd"))
    ingest.publish(topic(B, "cmd"), b"canary-2")
    assert intruder.wait_for(b"canary-2") == [(topic(B, "cmd"), b"canary-2")]
    back = as_user(A, clean=False)
    assert back.wait_for(b"queued-for-a") == [(topic(A, "cmd"), b"queued-for-a")]
    assert not back.disconnected.is_set()


def test_a_second_connection_under_other_credentials_does_not_disconnect_the_device(as_user: Any) -> None:
    owner = as_user(A)
    as_user(B, client_id=A)
    assert not owner.disconnected.wait(1.0)


@pytest.mark.parametrize("protocol", [paho.MQTTv5, paho.MQTTv311])
@pytest.mark.parametrize(("username", "password"), [(None, None), (A, "wrong"), ("nobody", "x"), (A, "")])
def test_anonymous_and_wrong_passwords_are_refused(
    secure: SecureBroker, username: str | None, password: str | None, protocol: int
) -> None:
    probe = connect(secure.broker.port, username, password, client_id="probe", protocol=protocol)
    try:
        assert probe.connack is None or probe.connack.is_failure
    finally:
        probe.close()


def test_core_reads_presence_and_its_own_tree_only(as_user: Any) -> None:
    core = as_user("core.1")
    core.subscribe(f"{PREFIX}/+/+")
    core.subscribe("anxin/v1/#")
    device = as_user(A)
    device.publish(topic(A, "telemetry"), b"vitals")
    device.publish(topic(A, "status"), b"online")
    core.publish("anxin/v1/alerts/r1", b"canary")
    received = core.wait_for(b"canary")
    assert (topic(A, "telemetry"), b"vitals") not in received
    assert received == [(topic(A, "status"), b"online"), ("anxin/v1/alerts/r1", b"canary")]


def test_tls_listener_accepts_a_client_that_trusts_the_ca(secure: SecureBroker) -> None:
    address = BrokerAddress(
        "127.0.0.1", secure.tls_port, tls=True, username=A, password=secure.passwords[A], ca_file=str(secure.ca)
    )
    connection = MqttConnection(address, A, persistent=False)
    connection.connect(timeout=WAIT)
    try:
        assert connection.connected
    finally:
        connection.close()


def test_tls_listener_is_refused_by_a_client_with_another_ca(secure: SecureBroker) -> None:
    address = BrokerAddress(
        "127.0.0.1", secure.tls_port, tls=True, username=A, password=secure.passwords[A], ca_file=str(secure.wrong_ca)
    )
    with pytest.raises(BrokerError, match="certificate verify failed"):
        MqttConnection(address, A, persistent=False).connect(timeout=WAIT)


def test_tls_listener_requires_credentials_too(secure: SecureBroker) -> None:
    address = BrokerAddress(
        "127.0.0.1", secure.tls_port, tls=True, username=A, password="wrong", ca_file=str(secure.ca)
    )
    with pytest.raises(BrokerError, match="did not accept"):
        MqttConnection(address, A, persistent=False).connect(timeout=2)
