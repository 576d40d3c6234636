"""The command line lists every command module, and only those (a command lost in a merge is caught here)."""

from __future__ import annotations

import pkgutil

import pytest

import anxin.commands
from anxin.cli import COMMANDS, build_parser


def test_every_command_module_is_listed() -> None:
    below = {"common", "zigbee"}  # shared helpers; `anxin gateway zigbee`, which the gateway module registers
    modules = {m.name for m in pkgutil.iter_modules(anxin.commands.__path__) if m.name not in below}
    assert set(COMMANDS) == modules


@pytest.mark.parametrize(
    "argv",
    [["drill"], ["import", "roster"], ["report", "monthly"], ["users"], ["trigger"], ["ingest"], ["alerts"], ["web"]],
)
def test_the_parser_offers_each_command(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0
