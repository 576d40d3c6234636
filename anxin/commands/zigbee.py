"""`anxin gateway zigbee --config FILE [--source mqtt://…]`: bridge one home's Zigbee2MQTT to the platform.

``FILE`` is the home's TOML configuration (`gateway.zigbee.parse_config`; docs/devices.md shows one):
the hub account to sign in as and which Zigbee2MQTT friendly name is which registered sensor. The
bridge reads Zigbee2MQTT's broker (``--source``, else the file's ``source``, else mqtt://127.0.0.1:1883)
and publishes on the platform's (``MQTT_URL``, else the `anxin run` on this data folder) as the hub,
with the hub's secret from ``--secret-file`` (or, for a demo hub, the demo's secrets). Payloads it cannot
read are stored as dead letters in the platform's database (``DATABASE_URL``, else the running
platform's), or only logged when there is none. It runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import psycopg

from anxin.commands.common import dead_letter_writer
from anxin.commands.trigger import TriggerError, device_secret
from anxin.services import recorded_services
from anxin.settings import Settings, load_settings
from gateway.errors import GatewayError, Rejected
from gateway.mqtt import BrokerAddress
from gateway.zigbee import HomeConfig, ZigbeeConfigError, parse_config, registry_problems
from gateway.zigbee_bridge import ZigbeeBridge
from ingest.worker import load_registry

LOG = logging.getLogger("anxin.zigbee")
DEFAULT_SOURCE: Final = "mqtt://127.0.0.1:1883"


def register_under(gateway_sub: Any) -> None:
    """Add `zigbee` under the `gateway` command's subcommands."""
    _arguments(gateway_sub.add_parser("zigbee", help="bridge a home's Zigbee2MQTT sensors to the platform"))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the home's TOML file: hub and sensors")
    parser.add_argument("--source", help=f"Zigbee2MQTT's broker (default: the file's source, else {DEFAULT_SOURCE})")
    parser.add_argument(
        "--secret-file", type=Path, help="the hub's broker secret, alone in a file or a credentials CSV"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the bridge until stopped; exit 2 when the configuration or the platform cannot be used."""
    settings = load_settings()
    try:
        config = read_config(args.config)
        mqtt_url, db_url = _platform(settings)
        secret = device_secret(settings, config.hub_id, args.secret_file)
    except (ZigbeeConfigError, TriggerError) as exc:
        LOG.error("anxin gateway zigbee: %s", exc)
        return 2
    if db_url is not None:
        _check_registry(db_url, config)
    target = BrokerAddress.from_url(mqtt_url, username=config.hub_id, password=secret)
    source = BrokerAddress.from_url(args.source or config.source or DEFAULT_SOURCE)
    bridge = ZigbeeBridge(config, source, target, prefix=settings.topic_prefix, dead_letter=_dead_letters(db_url))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        bridge.run(stop)
    except GatewayError as exc:
        LOG.error("anxin gateway zigbee: %s", exc)
        return 1
    return 0


def read_config(path: Path) -> HomeConfig:
    """Read a home's configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZigbeeConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_config(text)


def _check_registry(db_url: str, config: HomeConfig) -> None:
    """Warn where the configuration and the registry disagree (the platform would dead-letter those records)."""
    try:
        registry = load_registry(db_url)
    except psycopg.Error as exc:
        LOG.warning("cannot read the device registry to check the configuration: %s", exc)
        return
    for problem in registry_problems(config, registry):
        LOG.warning("configuration vs registry: %s", problem)


def _platform(settings: Settings) -> tuple[str, str | None]:
    """Return the platform's broker and, when known, its database."""
    recorded = recorded_services(Path(settings.data_dir).resolve())
    mqtt_url = settings.mqtt_url or (recorded[1] if recorded else None)
    if mqtt_url is None:
        raise TriggerError(f"no MQTT_URL and no running platform on {settings.data_dir}")
    return mqtt_url, settings.database_url or (recorded[0] if recorded else None)


def _dead_letters(db_url: str | None) -> Callable[[Rejected], None] | None:
    """Return what stores a rejected Zigbee2MQTT message in the platform's dead letters (None: log only)."""
    if db_url is None:
        LOG.warning("no database known: payloads the bridge cannot read are only logged")
        return None
    return dead_letter_writer(db_url)
