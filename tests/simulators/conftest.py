"""Fixtures for the simulator tests."""

from __future__ import annotations

import pytest

from simulators.incidents import INCIDENT_KINDS

from .factories import Run, run, world


@pytest.fixture(scope="session")
def incidents_run() -> Run:
    """Simulate a small neighbourhood in which every incident kind happens twice."""
    return run(world(residents=10, days=2, incidents=",".join(f"{k}:2" for k in INCIDENT_KINDS)))
