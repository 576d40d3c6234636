"""The demo's incident settings: around the clock, the first within a minute, still deterministic."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulators.messages import Message, Truth
from simulators.model import Simulation, World
from simulators.scenario import from_mapping, load
from simulators.schedule import DAY, IncidentSpec

from .factories import MIDNIGHT, Run, run
from .test_incidents import LOCAL, SIGNATURES

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo.toml"
NIGHT = (22, 7)  # the local hours in which falls and SOS never start by default


def local_hour(t: float) -> float:
    return ((t + LOCAL) % DAY) / 3600


def at_night(t: float) -> bool:
    return local_hour(t) >= NIGHT[0] or local_hour(t) < NIGHT[1]


def demo_world(local_start_hour: float, hours: float) -> World:
    """The demo scenario started at a given local hour, for a few hours."""
    scenario = load(DEMO)
    now = datetime.fromtimestamp(MIDNIGHT + local_start_hour * 3600, UTC)
    w = scenario.world(now)
    return replace(w, residents=30, end=w.start + hours * 3600)


@pytest.fixture(scope="module")
def night_run() -> Run:
    """Thirty demo residents from local midnight to 07:00."""
    return run(demo_world(0, 7))


def test_the_demo_turns_the_settings_on() -> None:
    spec = load(DEMO).incidents
    assert spec.around_the_clock and spec.first_within_minutes == 1 and spec.first_kind == "sos"


def test_other_scenarios_keep_the_daily_windows() -> None:
    spec = from_mapping({"incidents": {"every_minutes": 4}}).incidents
    assert not spec.around_the_clock and spec.first_within_minutes is None
    night = run(World(30, 7, MIDNIGHT, MIDNIGHT + 7 * 3600, replace(spec, weights={"fall": 1, "sos": 1})))
    assert not [t for t in night.truths if t.kind in ("fall", "sos")]


@pytest.mark.parametrize("hour", [3, 14, 23.5])
def test_the_first_incident_comes_within_a_minute_at_any_hour(hour: float) -> None:
    w = demo_world(hour, 0.25)
    truths = [item for item in Simulation(w).stream() if isinstance(item, Truth)]
    assert truths, "nothing happened in the first quarter hour"
    first = min(truths, key=lambda t: t.t)
    assert first.kind == "sos" and 0 < first.t - w.start <= 60


def test_falls_and_sos_happen_at_night(night_run: Run) -> None:
    night = [t for t in night_run.truths if at_night(t.start)]
    kinds = {t.kind for t in night}
    assert {"fall", "sos"} <= kinds
    hours = {int(local_hour(t.start)) for t in night}
    assert len(hours) >= 6  # spread over the night, not bunched at dawn


def test_night_incidents_leave_their_signatures(night_run: Run) -> None:
    for t in night_run.truths:
        SIGNATURES[t.kind](night_run, t)


def test_around_the_clock_is_deterministic() -> None:
    w = demo_world(2, 1)
    first = [m.payload() if isinstance(m, Message) else repr(m).encode() for m in Simulation(w).stream()]
    again = [m.payload() if isinstance(m, Message) else repr(m).encode() for m in Simulation(w).stream()]
    assert first == again and len(first) > 1000


def test_unknown_incident_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="dragon"):
        from_mapping({"incidents": {"first_kind": "dragon"}})
    with pytest.raises(ValueError, match="unknown"):
        from_mapping({"incidents": {"around_the_clok": True}})
    assert IncidentSpec().first_kind == "sos"
