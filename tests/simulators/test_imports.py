"""Simulators are a device vendor: from the platform they may import the wire contract only."""

from __future__ import annotations

import ast
from pathlib import Path

import simulators

# The wire contracts a device vendor reads: the JSON one, and the watch protocol's frames (a pure codec).
ALLOWED_PLATFORM = {"gateway.contract", "gateway.errors", "gateway.watch"}
PLATFORM = ("gateway", "ingest", "alerts", "dashboard", "anxin", "dispatch", "notify", "bench")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if node.module in PLATFORM)
    return names


def test_simulators_import_only_the_contract_from_the_platform() -> None:
    root = Path(simulators.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 5
    for path in modules:
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in PLATFORM:
                assert name in ALLOWED_PLATFORM or name.rsplit(".", 1)[0] in ALLOWED_PLATFORM, (path.name, name)
