"""`anxin alerts` and `anxin web`: one part of the platform per process, for a city (`anxin run` is all of it).

* `anxin alerts` — detection on its share of the residents, the escalation clock, notices, offers,
  visits and upkeep. Run any number: they share the residents' partitions by lease
  (docs/operations.md, "Scaling out"), each rebuilding what it takes over from the database.
* `anxin web` — the dashboard alone; any number behind a load balancer, alert changes reach each
  through the broker.

Both run against DATABASE_URL and MQTT_URL until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from anxin.platform import Role, start_platform
from anxin.runtime import settle
from anxin.settings import load_settings

LOG = logging.getLogger("anxin")
PARTS: dict[str, tuple[Role, str]] = {
    "alerts": ("alerts", "run an alert process (DATABASE_URL, MQTT_URL)"),
    "web": ("web", "serve the dashboard (DATABASE_URL, MQTT_URL)"),
}


def register(sub: Any) -> None:
    """Add the `alerts` and `web` subcommands."""
    for name, (role, text) in PARTS.items():
        parser: argparse.ArgumentParser = sub.add_parser(name, help=text)
        parser.set_defaults(func=lambda args, role=role: serve(frozenset({role}), args.command))


def serve(roles: frozenset[Role], what: str) -> int:
    """Run the platform's parts named by ``roles`` against DATABASE_URL and MQTT_URL until SIGINT or SIGTERM."""
    settings = load_settings()
    if not settings.database_url or not settings.mqtt_url:
        LOG.error("anxin %s needs DATABASE_URL and MQTT_URL (`anxin run` starts everything on local services)", what)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with start_platform(settings, roles=roles) as platform:
        settle()
        LOG.info("anxin %s running%s", what, f": {platform.dashboard_url}" if platform.dashboard_url else "")
        stop.wait()
        LOG.info("stopping…")
    return 0
