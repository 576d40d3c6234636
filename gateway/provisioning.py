"""Broker credentials and access rules, made from the device registry: pure functions, no I/O.

Every device that connects to the broker signs in as itself: its username is its device id and its
password a 256-bit random secret made here and handed to the device factory once. The broker keeps
only a PBKDF2-SHA512 hash in the ``$7$`` format that Mosquitto 2 reads (what ``mosquitto_passwd``
writes). Access is an allow-list: a device may publish only on its own telemetry, event and status
topics and read only its own ``cmd`` topic; anonymous clients get nothing. The broker replaces each
client id with the username (``use_username_as_clientid``), so no one can take over another's session.

The platform's own services sign in with accounts of their own, one per running instance (the client
id is the username, so two instances of one account would keep disconnecting each other). Service
usernames contain a dot, which a device id never does, so they can never collide with a device.

The hash's work factor protects nothing here: the secrets are random 256-bit tokens, not passwords a
person chose, so the broker uses Mosquitto's own default count and a reconnect storm stays cheap.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from gateway.contract import TOPIC_PREFIX, Channel
from gateway.registry import Device

PBKDF2_ITERATIONS: Final = 101  # Mosquitto 2.0's default; see the module docstring for why it is enough
SALT_BYTES: Final = 12
SECRET_BYTES: Final = 32
SERVICE_SEPARATOR: Final = "."  # never in a device id (gateway.contract.DEVICE_ID_PATTERN)


class ProvisioningError(ValueError):
    """A provisioning request cannot be carried out (a bad name, count or hash)."""


class Access(StrEnum):
    """What an ACL line allows on a topic."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"


PLATFORM_ROOT: Final = "anxin/v1"  # the platform's own topics (alert changes, dispatch); ANXIN_TOPIC_ROOT


@dataclass(frozen=True, slots=True)
class Rule:
    """One ACL line; ``{prefix}`` (devices'), ``{root}`` (the platform's) and ``{id}`` are filled in per account."""

    access: Access
    pattern: str

    def render(self, prefix: str, device_id: str = "", root: str = PLATFORM_ROOT) -> str:
        """Return the Mosquitto ACL line for this rule."""
        return f"topic {self.access.value} {self.pattern.format(prefix=prefix, id=device_id, root=root)}"


DEVICE_RULES: Final[tuple[Rule, ...]] = (
    *(Rule(Access.WRITE, f"{{prefix}}/{{id}}/{c.value}") for c in (Channel.TELEMETRY, Channel.EVENT, Channel.STATUS)),
    Rule(Access.READ, f"{{prefix}}/{{id}}/{Channel.CMD.value}"),
)
_DEVICE_CHANNELS: Final = (Channel.TELEMETRY, Channel.EVENT, Channel.STATUS)
_SENSOR_STATUS: Final = Rule(Access.WRITE, f"{{prefix}}/{{id}}/{Channel.STATUS.value}")  # what a hub writes for one


@dataclass(frozen=True, slots=True)
class ServiceRole:
    """A kind of platform service and what it may do on the broker."""

    name: str
    rules: tuple[Rule, ...]
    purpose: str


SERVICE_ROLES: Final[dict[str, ServiceRole]] = {
    r.name: r
    for r in (
        ServiceRole(
            "ingest",
            (
                # Mosquitto checks a shared subscription against its full filter, the delivered
                # messages against their topics: both are granted, for any group name.
                *(Rule(Access.READ, f"$share/+/{{prefix}}/+/{c.value}") for c in _DEVICE_CHANNELS),
                *(Rule(Access.READ, f"{{prefix}}/+/{c.value}") for c in _DEVICE_CHANNELS),
                Rule(Access.WRITE, f"{{prefix}}/+/{Channel.CMD.value}"),
            ),
            "drain devices' messages into the database; confirm stored events on cmd",
        ),
        ServiceRole(
            "core",
            (
                Rule(Access.READWRITE, "{root}/#"),
                Rule(Access.READ, f"{{prefix}}/+/{Channel.STATUS.value}"),
                Rule(Access.WRITE, f"{{prefix}}/+/{Channel.CMD.value}"),
            ),
            "alerts, dispatch and the dashboard's live feed; device presence; operators' commands to bracelets",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Account:
    """A broker sign-in: a device's or a service instance's."""

    username: str
    password: str = field(repr=False)
    role: str  # "device" or a SERVICE_ROLES name


@dataclass(frozen=True, slots=True)
class Plan:
    """What one provisioning run produces."""

    password_file: str
    acl_file: str
    device_hashes: Mapping[str, str]  # every connecting device's hash, to keep in the registry
    issued: tuple[Account, ...]  # devices whose secret was made in this run: hand these to the factory
    services: tuple[Account, ...]  # every service account with its secret


def new_secret() -> str:
    """Make a random 256-bit secret, URL-safe (no ``:`` or whitespace)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_password(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Hash a secret in Mosquitto 2's ``$7$`` (PBKDF2-SHA512) format."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Tell whether ``password`` matches a ``$7$`` hash."""
    try:
        _, kind, iterations, salt, digest = encoded.split("$")
        if kind != "7":
            return False
        expected = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, base64.b64decode(digest))


def issue(device_id: str) -> tuple[Account, str]:
    """Make a device's new broker account and the hash the broker keeps of its secret."""
    if not device_id or ":" in device_id or SERVICE_SEPARATOR in device_id or "/" in device_id:
        raise ProvisioningError(f"cannot make an account for {device_id!r}")
    account = Account(device_id, new_secret(), "device")
    return account, hash_password(account.password)


def connects_itself(device: Device) -> bool:
    """Tell whether a device signs in to the broker (a sensor relayed by its hub does not)."""
    return device.parent_id is None


def service_username(role: str, instance: int) -> str:
    """Name the account of one running instance of a service."""
    if role not in SERVICE_ROLES:
        raise ProvisioningError(f"unknown service role {role!r}; known: {', '.join(SERVICE_ROLES)}")
    return f"{role}{SERVICE_SEPARATOR}{instance}"


def service_accounts(counts: Mapping[str, int], known: Mapping[str, str]) -> tuple[Account, ...]:
    """Give every service instance an account, keeping the secrets already issued in ``known``."""
    accounts = []
    for role, count in counts.items():
        if count < 0:
            raise ProvisioningError(f"negative instance count for {role}")
        for instance in range(1, count + 1):
            name = service_username(role, instance)
            accounts.append(Account(name, known.get(name) or new_secret(), role))
    return tuple(accounts)


def device_hashes(
    devices: Iterable[Device], known: Mapping[str, str], rotate: Collection[str] = ()
) -> tuple[dict[str, str], tuple[Account, ...]]:
    """Keep the known hash of every connecting device; make secrets for new ones and those in ``rotate``."""
    hashes: dict[str, str] = {}
    issued = []
    for device in sorted(devices, key=lambda d: d.id):
        if not connects_itself(device):
            continue
        if device.id in known and device.id not in rotate:
            hashes[device.id] = known[device.id]
            continue
        account = Account(device.id, new_secret(), "device")
        hashes[device.id] = hash_password(account.password)
        issued.append(account)
    unknown = set(rotate) - set(hashes)
    if unknown:
        raise ProvisioningError(f"cannot rotate devices that do not connect or are not registered: {sorted(unknown)}")
    return hashes, tuple(issued)


CREDENTIALS_HEADER: Final = ("device_id", "username", "password")


def credentials_csv(accounts: Iterable[Account]) -> str:
    """Render devices' credentials as the CSV the device factory gets (``device_id,username,password``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CREDENTIALS_HEADER)
    writer.writerows([a.username, a.username, a.password] for a in accounts)
    return buffer.getvalue()


def read_credentials_csv(text: str) -> dict[str, str]:
    """Read a credentials CSV back into username → secret."""
    rows = csv.reader(io.StringIO(text))
    if tuple(next(rows, ())) != CREDENTIALS_HEADER:
        raise ProvisioningError(f"not a credentials file: the first line is not {','.join(CREDENTIALS_HEADER)}")
    return {row[1]: row[2] for row in rows if len(row) == len(CREDENTIALS_HEADER)}


def password_file(entries: Mapping[str, str]) -> str:
    """Render a Mosquitto password file from username → ``$7$`` hash."""
    for name, encoded in entries.items():
        if ":" in name or "\n" in name or not encoded.startswith("$7$"):
            raise ProvisioningError(f"cannot write a password entry for {name!r}")
    return "".join(f"{name}:{encoded}\n" for name, encoded in sorted(entries.items()))


def relays(devices: Iterable[Device]) -> dict[str, list[str]]:
    """Return hub id → the sensors it relays (the devices whose parent it is), sorted."""
    relayed: dict[str, list[str]] = {}
    for device in sorted(devices, key=lambda d: d.id):
        if device.parent_id is not None:
            relayed.setdefault(device.parent_id, []).append(device.id)
    return relayed


def acl_file(
    device_ids: Iterable[str],
    services: Sequence[Account],
    prefix: str = TOPIC_PREFIX,
    root: str = PLATFORM_ROOT,
    relayed: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Render the Mosquitto ACL file: nothing for anonymous clients, an allow-list for each account.

    A hub also writes the status of each sensor it relays (``relayed``: hub → sensors), on the sensor's
    own status topic, since a status names no other device: a sensor's battery or a Zigbee2MQTT
    availability reaches the platform, and the hub still writes nothing of any other home's.
    """
    lines = ["# Generated from the device registry; edits are overwritten. No rule grants anonymous access."]
    for account in services:
        rules = SERVICE_ROLES[account.role].rules
        lines += ["", f"user {account.username}", *(r.render(prefix, root=root) for r in rules)]
    for device_id in sorted(device_ids):
        lines += ["", f"user {device_id}", *(r.render(prefix, device_id) for r in DEVICE_RULES)]
        sensors = (relayed or {}).get(device_id, ())
        lines += [_SENSOR_STATUS.render(prefix, sensor) for sensor in sensors]
    return "\n".join(lines) + "\n"


def plan(
    devices: Iterable[Device],
    known_hashes: Mapping[str, str],
    service_counts: Mapping[str, int],
    known_services: Mapping[str, str],
    prefix: str = TOPIC_PREFIX,
    rotate: Collection[str] = (),
) -> Plan:
    """Work out every account, the password file and the ACL file for the registry's devices."""
    devices = list(devices)
    hashes, issued = device_hashes(devices, known_hashes, rotate)
    services = service_accounts(service_counts, known_services)
    entries = hashes | {s.username: hash_password(s.password) for s in services}
    acl = acl_file(hashes, services, prefix, relayed=relays(devices))
    return Plan(password_file(entries), acl, hashes, issued, services)


@dataclass(frozen=True, slots=True)
class BrokerLimits:
    """Per-listener and per-client limits that the generated config sets."""

    max_connections: int = 20_000
    max_queued_bytes: int = 1024 * 1024 * 1024  # per client: bounds a big backlog in bytes, not only in messages


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener: where it listens and the server's certificate chain."""

    port: int
    certfile: Path
    keyfile: Path
    cafile: Path | None = None  # the chain's CA, when the certificate file holds only the leaf
    bind: str = "0.0.0.0"  # noqa: S104 - devices connect from outside; the address is configurable


def _listener_lines(limits: BrokerLimits) -> list[str]:
    """Return the settings every listener needs (they apply to the listener line above them)."""
    return ["use_username_as_clientid true", f"max_connections {limits.max_connections}"]


def _tls_lines(tls: TlsListener, limits: BrokerLimits) -> list[str]:
    """Return a TLS listener section."""
    lines = [
        "",
        f"listener {tls.port} {tls.bind}",
        *_listener_lines(limits),
        f"certfile {tls.certfile}",
        f"keyfile {tls.keyfile}",
        "tls_version tlsv1.2",
    ]
    return lines + ([f"cafile {tls.cafile}"] if tls.cafile else [])


def broker_config(
    password_path: Path, acl_path: Path, limits: BrokerLimits = BrokerLimits(), tls: TlsListener | None = None
) -> str:
    """Render the security part of mosquitto.conf, to follow the project's config and the plain listener."""
    lines = [
        "# Generated by `anxin devices provision`: follows deploy/mosquitto/mosquitto.conf and its listener.",
        "allow_anonymous false",
        f"password_file {password_path}",
        f"acl_file {acl_path}",
        "check_retain_source true",  # a revoked device's retained status is not served any more
        f"max_queued_bytes {limits.max_queued_bytes}",
        "# Settings of the listener above:",
        *_listener_lines(limits),
    ]
    if tls is not None:
        lines += _tls_lines(tls, limits)
    return "\n".join(lines) + "\n"
