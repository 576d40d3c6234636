"""The command line lists every command module, and only those (a command lost in a merge is caught here)."""

from __future__ import annotations

import pkgutil

import pytest

import anxin.commands
from anxin.cli import COMMANDS, build_parser


def test_every_command_module_is_listed() -> None:
    modules = {m.name for m in pkgutil.iter_modules(anxin.commands.__path__) if m.name != "common"}
    assert set(COMMANDS) == modules


def test_the_parser_offers_each_command() -> None:
    parser = build_parser()
    for argv in (
        ["drill", "--help"],
        ["import", "roster", "--help"],
        ["report", "monthly", "--help"],
        ["users", "--help"],
    ):
        try:
            parser.parse_args(argv)
        except SystemExit as done:
            assert done.code == 0
