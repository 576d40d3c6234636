"""The packages the tests run with are the ones ``constraints.txt`` names, so a fresh machine gets the same."""

from __future__ import annotations

from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"
OURS = {"anxin", "pip", "setuptools", "wheel", "distribute"}  # the project, and the tools pip freeze leaves out


def test_every_installed_package_is_pinned_at_the_version_installed() -> None:
    pinned = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[canonicalize_name(name)] = version.strip()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    unpinned = {n: v for n, v in installed.items() if n not in OURS and pinned.get(n) != v}
    assert not unpinned, f"refresh constraints.txt (pip freeze --exclude-editable): {unpinned}"
