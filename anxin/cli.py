"""The `anxin` command line: one subcommand per module in `anxin.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from anxin.observability import configure_logging
from anxin.settings import load_settings

# Each module in anxin/commands registers its subcommands with `register(subparsers)` and sets
# `func` on its parser; the function receives the parsed namespace and returns an exit code.
COMMANDS = (
    "run",
    "ingest",
    "processes",  # alerts, web
    "schema",
    "simulate",
    "detect",
    "train",
    "devices",
    "drill",
    "imports",
    "users",
    "report",
    "trigger",
    "gateway",  # watch (and other device adapters)
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(prog="anxin", description="Anxin monitoring and dispatch platform")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING… (default from settings)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"anxin.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"anxin.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `anxin` command line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_format, args.log_level or settings.log_level)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
