"""`anxin web`: the dashboard alone — any number behind a load balancer; alert changes reach each through the broker."""

from __future__ import annotations

import argparse
from typing import Any

from anxin.commands.common import serve_roles


def register(sub: Any) -> None:
    """Add the `web` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("web", help="serve the dashboard (DATABASE_URL, MQTT_URL)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT or SIGTERM."""
    del args
    return serve_roles(frozenset({"web"}), "web")
