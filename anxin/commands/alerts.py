"""`anxin alerts`: detection, the alert service's escalation clock, notices, offers and visits — no ingest, no web.

Run any number against DATABASE_URL and MQTT_URL: they share the residents' partitions by lease
(docs/operations.md, "Scaling out"), each rebuilding what it takes over from the database.
"""

from __future__ import annotations

import argparse
from typing import Any

from anxin.commands.common import serve_roles


def register(sub: Any) -> None:
    """Add the `alerts` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("alerts", help="run an alert process (DATABASE_URL, MQTT_URL)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM."""
    del args
    return serve_roles(frozenset({"alerts"}), "alerts")
