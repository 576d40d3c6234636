"""`anxin devices provision`: broker credentials and access rules for every registered device.
`anxin devices decode --protocol watch FILE`: what the watch gateway would make of a capture (at the end).

Reads the registry from DATABASE_URL, keeps the credentials already issued (their hashes live in
``device_credentials``), makes secrets for new devices (and for those named with ``--rotate``), and
writes into the output folder, every file mode 600:

- ``issued/devices-<time>.csv``: the new secrets, for the device factory — the only copy;
- ``services.json``: the service accounts' secrets (kept across runs);
- ``passwd`` and ``acl``: Mosquitto's password and ACL files;
- ``security.conf``: the lines to append to mosquitto.conf after the listener.

Mosquitto reloads the password and ACL files on SIGHUP.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import psycopg

from anxin.settings import load_settings
from gateway.contract import encode
from gateway.provisioning import BrokerLimits, Plan, TlsListener, broker_config, credentials_csv, plan
from gateway.watch import Frame, Garbage, Splitter, WatchError
from gateway.watch import decode as watch_decode
from gateway.watch import reply as watch_reply
from gateway.watch_records import WatchState, translate
from ingest.credentials import load_connecting_devices, load_credential_hashes, store_credential_hashes
from ingest.database import migrate

LOG = logging.getLogger("anxin.devices")


def register(sub: Any) -> None:
    """Add the `devices` subcommand with `provision` and `decode`."""
    parser: argparse.ArgumentParser = sub.add_parser("devices", help="manage devices' broker access")
    actions = parser.add_subparsers(dest="action", required=True)
    prov = actions.add_parser("provision", help="issue credentials; write Mosquitto's password, ACL and config")
    prov.add_argument("--out", type=Path, default=None, help="output folder (default: <data dir>/broker)")
    prov.add_argument("--ingest-workers", type=int, default=2, help="ingest accounts to create (ingest.1 … N)")
    prov.add_argument("--core", type=int, default=1, help="core/dashboard accounts to create (core.1 … N)")
    prov.add_argument("--rotate", action="append", default=[], metavar="DEVICE_ID", help="issue a new secret")
    prov.add_argument("--max-connections", type=int, default=BrokerLimits().max_connections)
    prov.add_argument("--tls-port", type=int, default=None, help="add a TLS listener on this port")
    prov.add_argument("--tls-cert", type=Path, default=None, help="server certificate (PEM, chain)")
    prov.add_argument("--tls-key", type=Path, default=None, help="server private key (PEM)")
    prov.add_argument("--tls-ca", type=Path, default=None, help="CA certificate, when the chain lacks it")
    prov.set_defaults(func=provision)
    dec = actions.add_parser("decode", help="decode a capture of a device protocol offline, one JSON line a frame")
    dec.add_argument("--protocol", choices=["watch"], required=True)
    dec.add_argument("--utc-offset", type=float, default=8.0, help="hours: the zone of the bracelets' clocks")
    dec.add_argument("file", type=Path, help="one frame a line, as text or (binary frames) as hex; # comments")
    dec.set_defaults(func=decode_capture)


def provision(args: argparse.Namespace) -> int:
    """Provision every registered device and service account; write the broker's files."""
    settings = load_settings()
    if not settings.database_url:
        LOG.error("anxin devices provision needs DATABASE_URL (the device registry)")
        return 2
    tls = _tls(args)
    if args.tls_port is not None and tls is None:
        LOG.error("--tls-port needs --tls-cert and --tls-key")
        return 2
    out: Path = (args.out or Path(settings.data_dir) / "broker").resolve()
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    with psycopg.connect(settings.database_url) as conn:
        migrate(conn, settings.retention_days)
        known = load_credential_hashes(conn)
        devices = load_connecting_devices(conn)
    result = plan(
        devices,
        known,
        {"ingest": args.ingest_workers, "core": args.core},
        _known_services(out),
        settings.topic_prefix,
        set(args.rotate),
    )
    _write_outputs(out, result, settings.database_url, BrokerLimits(max_connections=args.max_connections), tls)
    return 0


def _tls(args: argparse.Namespace) -> TlsListener | None:
    """Build the TLS listener the arguments ask for, if any."""
    if args.tls_port is None or args.tls_cert is None or args.tls_key is None:
        return None
    ca = args.tls_ca.resolve() if args.tls_ca else None
    return TlsListener(args.tls_port, args.tls_cert.resolve(), args.tls_key.resolve(), ca)


def _write_outputs(out: Path, result: Plan, db_url: str, limits: BrokerLimits, tls: TlsListener | None) -> None:
    """Save the new secrets first, then the hashes, then the broker's files (so no secret is ever lost)."""
    if result.issued:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        (out / "issued").mkdir(exist_ok=True, mode=0o700)
        write_private(out / "issued" / f"devices-{stamp}.csv", credentials_csv(result.issued), replace=False)
    with psycopg.connect(db_url) as conn:
        changed = store_credential_hashes(conn, result.device_hashes)
    write_private(out / "services.json", json.dumps({a.username: a.password for a in result.services}, indent=2))
    write_private(out / "passwd", result.password_file)
    write_private(out / "acl", result.acl_file)
    write_private(out / "security.conf", broker_config(out / "passwd", out / "acl", limits, tls))
    LOG.info(
        "%d devices can sign in (%d new secrets, %d hashes changed), %d service accounts; files in %s. "
        "Send SIGHUP to Mosquitto to reload.",
        len(result.device_hashes),
        len(result.issued),
        changed,
        len(result.services),
        out,
    )


def _known_services(out: Path) -> dict[str, str]:
    """Read the service secrets issued by an earlier run."""
    path = out / "services.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {str(k): str(v) for k, v in data.items()}


def write_private(path: Path, text: str, replace: bool = True) -> None:
    """Write a file readable by its owner only (mode 600) atomically; never replace one unless ``replace``."""
    if not replace and path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite issued secrets")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    tmp.replace(path)


def decode_capture(args: argparse.Namespace) -> int:
    """Print what the watch gateway makes of each frame of a capture, then a summary line."""
    try:
        lines = args.file.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as exc:
        LOG.error("cannot read %s: %s", args.file, exc.strerror)
        return 2
    counts: Counter[str] = Counter()
    kinds = dict.fromkeys(CAPTURE_KINDS, 0)
    for result in watch_capture(lines, timedelta(hours=args.utc_offset), datetime.now(UTC)):
        counts["frames"] += 1
        counts["errors" if "error" in result else "decoded"] += 1
        if result.get("kind") in kinds:
            kinds[result["kind"]] += 1
        print(json.dumps(result, ensure_ascii=False, default=str))
    summary = {"decode": "watch", **{k: counts[k] for k in ("frames", "decoded", "errors")}, "kinds": kinds}
    print(json.dumps(summary))
    return 0


CAPTURE_KINDS: Final = ("sos", "fall", "position", "heartbeat", "vitals")


def watch_capture(lines: list[str], utc_offset: timedelta, now: datetime) -> Iterator[dict[str, Any]]:
    """Decode a capture line by line (text frames as they are, binary ones as hex) as the gateway would."""
    states: dict[str, WatchState] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            data = text.encode("ascii") if text.startswith("[") else bytes.fromhex(text)
        except (UnicodeEncodeError, ValueError):
            yield {"line": number, "error": "bad_frame", "detail": "neither a frame nor hex"}
            continue
        for item in Splitter().feed(data) or [Garbage("bad_frame", "an unfinished frame", data[:64], len(data))]:
            yield _capture_result(number, item, states, utc_offset, now)


def _capture_result(
    number: int, item: Frame | Garbage, states: dict[str, WatchState], utc_offset: timedelta, now: datetime
) -> dict[str, Any]:
    if isinstance(item, Garbage):
        return {"line": number, "error": item.reason, "detail": item.detail}
    head: dict[str, Any] = {"line": number, "device_id": item.device_id, "command": item.command}
    try:
        result = translate(item, watch_decode(item, utc_offset), states.get(item.device_id, WatchState()), now)
    except WatchError as exc:
        return head | {"error": exc.reason, "detail": exc.detail}
    states[item.device_id] = result.state
    answer = watch_reply(item)
    records = [{"channel": r.channel.value, "body": json.loads(encode(r.body))} for r in result.records]
    out = head | {"kind": result.kind, "records": records, "reply": answer.decode() if answer else None}
    return out | ({"dropped": list(result.dropped)} if result.dropped else {})
