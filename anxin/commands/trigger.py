"""`anxin trigger sos|fall|smoke --resident ID`: send one real device message through the broker.

The message is what the resident's own device would send — an SOS key press or a fall from their
bracelet, a smoke alarm from their smoke detector (through their home hub when they have one) —
encoded with the wire contract, on the device's own topic, QoS 1, stamped with the present time.
The platform takes it like any other: stored, detected, raised on the console, family told. The
command waits for the platform's ``ack`` on the device's ``cmd`` topic, which it sends once the
event is stored, and prints one JSON line.

It signs in to the broker as that device, with the device's own secret: a demo device's from the
demo's ``demo-devices.csv`` in the data folder, any other's from ``--secret-file`` (the secret the
admin page showed, alone in a file, or the CSV `anxin devices provision` wrote). Without the secret it
says so and sends nothing: the broker lets no one publish for a device but the device itself.

Where the platform is: ``DATABASE_URL`` and ``MQTT_URL`` when set, else the local services of the
`anxin run` on this data folder (``ANXIN_DATA_DIR``), which it records in ``services.json`` (mode 600)
while it runs. Without ``--resident`` it lists the residents it knows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import psycopg
from pydantic import BaseModel, ValidationError

from anxin.demo import DEVICE_SECRETS, demo_device_secrets
from anxin.services import recorded_services
from anxin.settings import Settings, load_settings
from gateway.contract import Channel, Command, FallEvent, SmokeEvent, SosEvent, encode, topic
from gateway.errors import BrokerError, GatewayError
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.provisioning import CREDENTIALS_HEADER, read_credentials_csv


class TriggerError(Exception):
    """The platform, the resident or their device could not be found."""


@dataclass(frozen=True, slots=True)
class Emergency:
    """What one trigger sends: from which of the resident's devices, and the event it builds."""

    device: str  # SQL condition on devices (d), naming the device that sees it
    build: Callable[[int, datetime], BaseModel]


EMERGENCIES: Final[dict[str, Emergency]] = {
    "sos": Emergency("d.kind = 'bracelet'", lambda seq, ts: SosEvent(kind="sos", seq=seq, ts=ts)),
    "fall": Emergency("d.kind = 'bracelet'", lambda seq, ts: FallEvent(kind="fall", seq=seq, ts=ts, confidence=0.9)),
    "smoke": Emergency(
        "d.kind = 'sensor' AND d.sensor_kind = 'smoke'",
        lambda seq, ts: SmokeEvent(kind="smoke", seq=seq, ts=ts, state="alarm"),
    ),
}


def register(sub: Any) -> None:
    """Add the `trigger` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("trigger", help="send a real SOS, fall or smoke alarm")
    parser.add_argument("emergency", choices=list(EMERGENCIES))
    parser.add_argument("--resident", help="resident id, e.g. r0001 (without it: list the residents)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the platform's ack")
    parser.add_argument(
        "--secret-file",
        type=Path,
        help=f"the device's broker secret: a file holding it alone, or a credentials CSV (default: {DEVICE_SECRETS})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Send the emergency and print what was sent (exit 1 when the platform did not confirm it)."""
    settings = load_settings()
    try:
        db_url, mqtt_url = platform_urls(settings)
        if args.resident is None:
            print("\n".join(residents(db_url)) or "no residents registered", file=sys.stderr)
            return 2
        device_id, sensor_id = find_device(db_url, args.resident, args.emergency)
        secret = device_secret(settings, device_id, args.secret_file)
        report = send(settings, mqtt_url, args.emergency, (device_id, secret), sensor_id, args.timeout)
    except (TriggerError, GatewayError, psycopg.Error) as exc:
        print(f"anxin trigger: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"resident": args.resident, **report}, ensure_ascii=False))
    return 0 if report["stored"] else 1


def platform_urls(settings: Settings) -> tuple[str, str]:
    """Return the configured database and broker, or those of the platform running on the data folder."""
    recorded = recorded_services(Path(settings.data_dir).resolve())
    db_url = settings.database_url or (recorded[0] if recorded else None)
    mqtt_url = settings.mqtt_url or (recorded[1] if recorded else None)
    if db_url is None or mqtt_url is None:
        raise TriggerError(
            f"no running platform on {settings.data_dir} (start it with `make run`), and no DATABASE_URL/MQTT_URL"
        )
    return db_url, mqtt_url


def residents(db_url: str) -> list[str]:
    """List the registered residents as "id name" lines."""
    with psycopg.connect(db_url) as conn:
        return [f"{rid} {name}" for rid, name in conn.execute("SELECT id, name FROM residents ORDER BY id")]


def find_device(db_url: str, resident_id: str, emergency: str) -> tuple[str, str | None]:
    """Return the publishing device (the hub of a relayed sensor) and the sensor id it relays, if any."""
    query = (
        "SELECT coalesce(d.parent_id, d.id), CASE WHEN d.parent_id IS NULL THEN NULL ELSE d.id END"
        f" FROM devices d WHERE d.resident_id = %s AND {EMERGENCIES[emergency].device} ORDER BY d.id LIMIT 1"
    )
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, (resident_id,)).fetchone()
        known = row is not None or conn.execute("SELECT 1 FROM residents WHERE id = %s", (resident_id,)).fetchone()
    if not known:
        raise TriggerError(f"no resident {resident_id!r}; `anxin trigger {emergency}` without --resident lists them")
    if row is None:
        raise TriggerError(f"resident {resident_id} has no device that sends a {emergency} event")
    return row[0], row[1]


def device_secret(settings: Settings, device_id: str, secret_file: Path | None) -> str:
    """Return the device's broker secret from ``secret_file``, else from the demo's secrets in the data folder."""
    if secret_file is None:
        secret = demo_device_secrets(Path(settings.data_dir)).get(device_id)
    else:
        secret = _read_secret(secret_file, device_id)
    if not secret:
        where = secret_file or Path(settings.data_dir) / DEVICE_SECRETS
        raise TriggerError(
            f"no broker secret for device {device_id} in {where}: the broker lets only the device itself publish"
            " for it. For a device registered on the admin page, put the secret it showed in a file (mode 600)"
            " and give it with --secret-file FILE"
        )
    return secret


def _read_secret(path: Path, device_id: str) -> str | None:
    """Read a secret alone in a file, or the device's line of a credentials CSV."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TriggerError(f"cannot read {path}: {exc.strerror}") from exc
    if text.startswith(",".join(CREDENTIALS_HEADER)):
        return read_credentials_csv(text).get(device_id)
    return text.strip() or None


def send(
    settings: Settings,
    mqtt_url: str,
    emergency: str,
    device: tuple[str, str],
    sensor_id: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Publish the event on the device's topic, signed in as the device (id, secret), and wait for the ack."""
    device_id, secret = device
    seq = time.time_ns() // 1000  # microseconds: above any sequence a simulator run counts from (milliseconds)
    body = EMERGENCIES[emergency].build(seq, datetime.now(UTC))
    if sensor_id is not None:
        body = body.model_copy(update={"sensor_id": sensor_id})
    prefix = settings.topic_prefix
    acked = threading.Event()

    def on_command(_topic: str, payload: bytes) -> None:
        try:
            command = Command.model_validate_json(payload)
        except ValidationError:
            return
        if command.ack_seq == seq:
            acked.set()

    # Its own client id: on the local broker the device's live connection (the demo's simulator) stays on.
    address = dataclasses.replace(BrokerAddress.from_url(mqtt_url), username=device_id, password=secret)
    bus = MqttConnection(address, f"anxin-trigger-{uuid.uuid4().hex[:8]}", persistent=False)
    try:
        bus.connect()
    except BrokerError as exc:
        raise TriggerError(f"{exc} as device {device_id}: is its secret the current one?") from exc
    try:
        bus.route(topic(device_id, Channel.CMD, prefix), on_command)
        started = time.monotonic()
        bus.publish(topic(device_id, Channel.EVENT, prefix), encode(body), qos=1)
        stored = acked.wait(timeout)
        waited = round(time.monotonic() - started, 3)
    finally:
        bus.close()
    return {"sent": emergency, "device": device_id, "sensor": sensor_id, "seq": seq, "stored": stored, "ack_s": waited}
