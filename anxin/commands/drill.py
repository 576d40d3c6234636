"""`anxin drill --scenario S`: run a scripted emergency through the live platform and report each stage.

With no ``DATABASE_URL``/``MQTT_URL`` the drill starts its own private platform (local services under a
temporary folder); ``--fast`` runs the escalation ladder 20× faster and the offer window in seconds, for
tests and a quick look. Against a running platform, give its database and broker in the environment
and its console with ``--dashboard URL``: the drill then runs in the platform's real time (a
``nobody-answers`` drill takes as long as the ladder and the offer window do, a few minutes). The drill's
inbox must be reachable from the platform (``--inbox-host``). The last line printed is the report as JSON.

The drill's bracelet publishes on its own device topic. On its own platform it signs in as its device,
with a secret registered as the admin page registers one (the platform's broker reloads it); against a
running platform it signs in with the broker account in the environment (``ANXIN_MQTT_USERNAME``…),
which that broker must let publish on device event topics and read their ``cmd`` topics.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from anxin.drills.actors import Bracelet, ConsoleWatcher, DrillError, Inbox, Person
from anxin.drills.scenarios import SCENARIOS, Drill, run_scenario
from anxin.drills.world import register_drill, retire_drill
from anxin.settings import Settings, load_settings
from dispatch.places import Point
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.provisioning import issue
from ingest.credentials import store_credential_hash

LOG = logging.getLogger("anxin.drill")


@dataclass(frozen=True, slots=True)
class Target:
    """The platform a drill runs through."""

    base_url: str
    db_url: str
    mqtt_url: str
    prefix: str
    reload_broker: Callable[[], None] | None = None  # the drill's own platform: its broker lets only accounts in


def register(sub: Any) -> None:
    """Add the `drill` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("drill", help="run an emergency drill through the platform")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="sos-handled")
    parser.add_argument("--dashboard", help="the running platform's console URL (with DATABASE_URL and MQTT_URL)")
    parser.add_argument("--fast", action="store_true", help="own platform only: run the clocks fast")
    parser.add_argument("--inbox-host", default="127.0.0.1", help="address the platform reaches the drill's inbox on")
    parser.add_argument("--where", default=None, help="LAT,LON of the drill resident (default: the map centre)")
    parser.add_argument("--stage-timeout", type=float, default=None, help="seconds each stage may take")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the drill (or every drill) and print each report; exit 1 if any stage failed."""
    settings = load_settings()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    reports = [drill(settings, name, args) for name in names]
    for report in reports[:-1]:
        print(json.dumps(report, ensure_ascii=False))
    print(json.dumps(reports[-1] if len(reports) == 1 else {"drills": reports}, ensure_ascii=False))
    return 1 if any(r["failures"] for r in reports) else 0


def drill(settings: Settings, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one scenario against the configured platform, or a private one; return its report."""
    fast = bool(args.fast)
    timeout = args.stage_timeout or (60.0 if fast else 420.0)
    with ExitStack() as stack:
        target = stack.enter_context(_platform(settings, args))
        base_url, db_url, prefix = target.base_url, target.db_url, target.prefix
        inbox = Inbox(args.inbox_host)
        inbox_url = inbox.start()
        stack.callback(inbox.stop)
        where = _where(args.where, settings)
        with psycopg.connect(db_url) as conn:
            world = register_drill(conn, inbox_url, where, datetime.now(UTC))
        stack.callback(_retire, db_url, world)
        bus = _bracelet_link(settings, target, world.device_id)
        stack.callback(bus.close)
        try:
            operator = Person(base_url, world.operator, world.password)
            staff = (
                Person(base_url, world.staff_users[0], world.password),
                Person(base_url, world.staff_users[1], world.password),
            )
            console = ConsoleWatcher(base_url, operator)
        except (DrillError, OSError) as exc:
            return {"drill": name, "stages": {}, "reached": {}, "failures": [f"setup: {exc}"]}
        stack.callback(console.close)
        for person in (operator, *staff):
            stack.callback(person.close)
        d = Drill(name, world, inbox, console, operator, staff, Bracelet(bus, world.device_id, prefix), timeout)
        report = run_scenario(d)
        report["mode"] = {"platform": "own" if args.dashboard is None else "running", "fast": fast}
        report["messages"] = [
            {
                "to": seen.path,
                "event": str(seen.body.get("type", "")).removeprefix("notice."),
                "at_s": round(seen.at - d.t0, 2),
                "title": seen.body.get("data", {}).get("title"),
                "body": seen.body.get("data", {}).get("body"),
            }
            for seen in inbox.received
        ]
        return report


def _register_secret(conn: psycopg.Connection[Any], device_id: str) -> str:
    """Give the drill's bracelet a broker secret, as the admin page does; return it."""
    account, password_hash = issue(device_id)
    store_credential_hash(conn, device_id, password_hash)
    return account.password


def _bracelet_link(settings: Settings, target: Target, device_id: str) -> MqttConnection:
    """Connect the drill's bracelet: as its device on the drill's own platform, else with the settings' account."""
    address = BrokerAddress.from_url(target.mqtt_url, *settings.broker_account("core"))
    if target.reload_broker is not None:
        with psycopg.connect(target.db_url) as conn:
            address = dataclasses.replace(address, username=device_id, password=_register_secret(conn, device_id))
        target.reload_broker()  # the broker learns the new secret; no restart
    link = MqttConnection(address, device_id, persistent=False)
    link.connect()
    return link


@contextmanager
def _platform(settings: Settings, args: argparse.Namespace) -> Iterator[Target]:
    """Yield the platform to drill: the running one given, or one of the drill's own."""
    if args.dashboard is not None:
        if settings.database_url is None or settings.mqtt_url is None:
            raise SystemExit("--dashboard needs DATABASE_URL and MQTT_URL of the running platform")
        yield Target(args.dashboard.rstrip("/"), settings.database_url, settings.mqtt_url, settings.topic_prefix)
        return
    if settings.database_url is not None:
        raise SystemExit("with DATABASE_URL set, give the running platform's console with --dashboard URL")
    from anxin.platform import start_platform  # noqa: PLC0415 - only a drill on its own platform starts one

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="anxin-drill-") as folder:
        Path(folder).chmod(0o755)  # the private servers run as an unprivileged account
        own = settings.model_copy(
            update={"data_dir": Path(folder), "http_port": port, "http_host": "127.0.0.1", "public_url": None}
            | ({"escalation_scale": 0.05, "offer_timeout_s": 3.0, "care_interval_s": 0.5} if args.fast else {})
        )
        with start_platform(own) as platform:
            assert platform.dashboard_url is not None
            url = platform.dashboard_url.rstrip("/")
            yield Target(url, platform.database_url, platform.mqtt_url, own.topic_prefix, platform.reload_broker)


def _where(text: str | None, settings: Settings) -> Point:
    """Read ``LAT,LON`` or use the map centre."""
    if text:
        lat, lon = (float(v) for v in text.split(","))
        return Point(lat, lon)
    centre = getattr(settings, "map_center", (31.2304, 121.4737))
    return Point(float(centre[0]), float(centre[1]))


def _retire(db_url: str, world: Any) -> None:
    try:
        with psycopg.connect(db_url) as conn:
            retire_drill(conn, world)
    except psycopg.Error:
        LOG.exception("could not retire the drill's accounts and staff")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
