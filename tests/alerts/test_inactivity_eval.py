"""The inactivity evaluation on the recorded homes (``DATA_DIR``); skipped where the data is absent."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from alerts.inactivity_eval import SENSOR_ROLES, evaluate_homes, load_home, observations

DATA_DIR = Path(os.environ.get("DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
HOMES = DATA_DIR / "homes"

needs_homes = pytest.mark.skipif(not HOMES.is_dir(), reason=f"no homes recordings at {HOMES} (set DATA_DIR)")


def test_sensor_names_map_to_roles() -> None:
    def role(name: str) -> tuple[str, str]:
        found = next(r for r in SENSOR_ROLES if re.search(r.pattern, name.lower()))
        return found.kind, found.place

    assert role("Front door") == ("door", "front")
    assert role("frontdoor") == ("door", "front")
    assert role("Hall-Bedroom door") == ("door", "bedroom")
    assert role("press bed links") == ("bed", "bedroom")
    assert role("toilet flush bottom flush") == ("motion", "bathroom")
    assert role("PIR keuken") == ("motion", "kitchen")


@needs_homes
def test_a_home_becomes_time_ordered_observations() -> None:
    home = load_home(HOMES / "houseA")
    out = observations(home.activations[:50])
    times = [o.record.body.ts for o in out]
    assert times == sorted(times) and len(out) >= 50
    cut = times[20]
    assert all(o.record.body.ts <= cut for o in observations(home.activations, cut))


@needs_homes
def test_evaluate_homes_scores_every_home() -> None:
    result = evaluate_homes(DATA_DIR)
    assert result["bench"] == "inactivity"
    assert result["homes"] == len(list(HOMES.glob("*.sensors")))
    assert isinstance(result["incidents"], int) and result["incidents"] > 0
    assert isinstance(result["detected"], int) and result["detected"] >= 0.9 * result["incidents"]
    assert isinstance(result["false_alerts_per_home_day"], float)
