"""`anxin gateway watch`: adapters for real devices that do not speak the contract, one subcommand each.

    anxin gateway watch --port 5050 [--host 0.0.0.0] [--credentials FILE] [--utc-offset 8]
    anxin gateway zigbee --config HOME.toml [--source mqtt://…]   (anxin/commands/zigbee.py)

The watch gateway (docs/devices.md) takes bracelets' TCP connections and publishes for each bracelet
on MQTT as that bracelet, with the secret its line of ``--credentials`` gives (the CSV `anxin devices
provision` hands the factory: ``device_id,username,password``; the demo's ``demo-devices.csv`` in the
data folder by default). A bracelet without a line there is refused. Frames it cannot take become
dead letters in the database. Where the broker and the database are: MQTT_URL and DATABASE_URL, else
those of the `anxin run` on this data folder.

Each adapter is one entry of `ADAPTERS`: a function that adds its subparser.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from anxin.commands.common import dead_letter_writer
from anxin.commands.trigger import TriggerError, platform_urls
from anxin.commands.zigbee import register_under as add_zigbee
from anxin.settings import Settings, load_settings
from gateway.mqtt import BrokerAddress
from gateway.provisioning import ProvisioningError, read_credentials_csv
from gateway.watch import MAX_CONTENT_BYTES
from gateway.watch_server import Limits, WatchGateway, mqtt_links

LOG = logging.getLogger("anxin.gateway")
DEMO_CREDENTIALS: Final = "demo-devices.csv"  # anxin.demo.DEVICE_SECRETS, in the data folder


def register(sub: Any) -> None:
    """Add the `gateway` command and one subcommand per adapter."""
    parser: argparse.ArgumentParser = sub.add_parser("gateway", help="translate real devices' protocols")
    adapters = parser.add_subparsers(dest="adapter", required=True)
    for add in ADAPTERS:
        add(adapters)


def add_watch(adapters: Any) -> None:
    """Add `gateway watch`."""
    parser: argparse.ArgumentParser = adapters.add_parser("watch", help="bracelets' watch (3G) TCP protocol")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")  # noqa: S104
    parser.add_argument("--port", type=int, default=5050)
    parser.add_argument(
        "--credentials", type=Path, help=f"bracelets' secrets CSV (default <data dir>/{DEMO_CREDENTIALS})"
    )
    parser.add_argument("--utc-offset", type=float, default=8.0, help="hours: the zone of the bracelets' clocks")
    parser.add_argument("--max-frame", type=int, default=MAX_CONTENT_BYTES, help="largest frame content, bytes")
    parser.add_argument("--idle-timeout", type=float, default=Limits().idle_timeout_s, help="seconds")
    parser.add_argument("--per-ip", type=int, default=Limits().per_ip, help="connections from one address")
    parser.set_defaults(func=run_watch)


ADAPTERS: Final[tuple[Callable[[Any], None], ...]] = (add_watch, add_zigbee)


def credentials(settings: Settings, path: Path | None) -> dict[str, str]:
    """Read the bracelets' secrets (device id → secret)."""
    source = path or Path(settings.data_dir) / DEMO_CREDENTIALS
    try:
        return read_credentials_csv(source.read_text())
    except OSError as exc:
        raise TriggerError(f"cannot read the bracelets' credentials {source}: {exc.strerror}") from exc
    except ProvisioningError as exc:
        raise TriggerError(f"{source}: {exc}") from exc


def run_watch(args: argparse.Namespace) -> int:
    """Serve bracelets until SIGINT or SIGTERM."""
    settings = load_settings()
    try:
        db_url, mqtt_url = platform_urls(settings)
        secrets = credentials(settings, args.credentials)
    except TriggerError as exc:
        LOG.error("anxin gateway watch: %s", exc)
        return 2
    limits = Limits(max_content=args.max_frame, idle_timeout_s=args.idle_timeout, per_ip=args.per_ip)
    gateway = WatchGateway(
        mqtt_links(BrokerAddress.from_url(mqtt_url), secrets, settings.topic_prefix),
        secrets,
        dead_letter_writer(db_url),
        prefix=settings.topic_prefix,
        limits=limits,
        utc_offset=timedelta(hours=args.utc_offset),
    )
    LOG.info("watch gateway: %d bracelets may connect", len(secrets))
    asyncio.run(_serve(gateway, args.host, args.port))
    return 0


async def _serve(gateway: WatchGateway, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await gateway.start(host, port)
    await stop.wait()
    LOG.info("stopping; %s", dict(gateway.stats))
    await gateway.close()
