"""The one contract every detector keeps: quiet while warming up, quiet on a normal week, and it raises
the matching incident within a bounded delay."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from alerts.detectors import (
    Detector,
    DeviceHealthDetector,
    EnvironmentDetector,
    FallDetector,
    ImpactFallDetector,
    InactivityDetector,
    LongLieDetector,
    NightWanderingDetector,
    SosDetector,
    VitalsDetector,
)
from alerts.findings import Observation
from gateway.contract import DoorEvent, FallEvent, ImpactEvent, SmokeEvent, SosEvent
from tests.alerts.detector_factories import PROFILE, START, ev, normal_day, normal_week, raised, replay, telemetry

STEP = timedelta(minutes=5)
WEEK2 = START + timedelta(days=7)
INCIDENT_DAY = WEEK2 + timedelta(days=7)


class StubClassifier:
    """Call an impact a fall when its peak exceeds 2.5 g."""

    def score(self, samples: list[tuple[float, float, float]], rate_hz: float) -> float:
        return max((x * x + y * y + z * z) ** 0.5 for x, y, z in samples) / 4

    def is_fall(self, samples: list[tuple[float, float, float]], rate_hz: float) -> bool:
        return self.score(samples, rate_hz) > 2.5 / 4


def _impact(at: datetime) -> list[Observation]:
    samples = [(0.0, 0.0, 1.0)] * 20 + [(2.5, 1.5, 2.0)] + [(0.0, 1.0, 0.0)] * 20
    return [ev(ImpactEvent, at, rate_hz=20.0, samples=samples)]


def _cut(day: list[Observation], at: datetime) -> list[Observation]:
    """Keep the day up to ``at``; after it the bracelet still reports, but nobody moves."""
    before = [o for o in day if o.record.body.ts < at]
    still = [telemetry(at + timedelta(minutes=m), steps=0) for m in range(1, 8 * 60, 5)]
    return before + still


@dataclass(frozen=True, slots=True)
class Case:
    """A detector, the incident that it must catch, and how soon."""

    make: Callable[[], Detector]
    kind: str
    incident: Callable[[list[Observation], datetime], list[Observation]]
    at_hour: float
    within: timedelta


def _racing_heart(day: list[Observation], at: datetime) -> list[Observation]:
    later = at + timedelta(minutes=30)
    kept = [o for o in day if not (at <= o.record.body.ts < later and o.record.channel == "telemetry")]
    return kept + [telemetry(at + timedelta(minutes=m), heart_rate=150, steps=0) for m in range(0, 30, 2)]


def _bracelet_dies(day: list[Observation], at: datetime) -> list[Observation]:
    return [o for o in day if o.record.device_id != PROFILE.bracelet_id or o.record.body.ts < at]


def _leaves_at_night(day: list[Observation], at: datetime) -> list[Observation]:
    return [o for o in day if o.record.body.ts < at] + [ev(DoorEvent, at, door="front", state="open")]


CASES: dict[str, Case] = {
    "sos": Case(SosDetector, "sos", lambda d, t: [*d, ev(SosEvent, t)], 15, timedelta(0)),
    "fall": Case(FallDetector, "fall", lambda d, t: [*d, ev(FallEvent, t)], 15, timedelta(0)),
    "impact": Case(lambda: ImpactFallDetector(StubClassifier()), "fall", lambda d, t: d + _impact(t), 15, timedelta(0)),
    "long_lie": Case(
        LongLieDetector, "long_lie", lambda d, t: [*_cut(d, t), ev(FallEvent, t)], 15, timedelta(minutes=15)
    ),
    "inactivity": Case(InactivityDetector, "inactivity", _cut, 14, timedelta(hours=5)),
    "vitals": Case(VitalsDetector, "heart_rate_high", _racing_heart, 15, timedelta(minutes=15)),
    "devices": Case(DeviceHealthDetector, "device_offline", _bracelet_dies, 15, timedelta(minutes=15)),
    "wandering": Case(NightWanderingDetector, "night_wandering", _leaves_at_night, 23.5, timedelta(minutes=35)),
    "environment": Case(
        EnvironmentDetector, "smoke", lambda d, t: [*d, ev(SmokeEvent, t, state="alarm")], 15, timedelta(0)
    ),
}  # fmt: skip


def _fresh(case: Case) -> Detector:
    detector = case.make()
    detector.register_resident(PROFILE)
    return detector


@pytest.fixture(scope="module")
def history() -> list[Observation]:
    return normal_week(START, seed=11)


@pytest.fixture(scope="module")
def week() -> list[Observation]:
    return normal_week(WEEK2, seed=12)


@pytest.mark.parametrize("name", CASES)
def test_warm_up_raises_nothing(name: str) -> None:
    detector = _fresh(CASES[name])
    day = normal_day(START, random.Random(5))
    assert raised(replay(detector, day, START, START + timedelta(days=1), STEP)) == []


@pytest.mark.parametrize("name", CASES)
def test_normal_week_raises_nothing(name: str, history: list[Observation], week: list[Observation]) -> None:
    detector = _fresh(CASES[name])
    detector.learn(history)
    found = raised(replay(detector, week, WEEK2, WEEK2 + timedelta(days=7), STEP))
    assert found == [], [f.explanation for f in found]


@pytest.mark.parametrize("name", CASES)
def test_injected_incident_raises_in_time(name: str, history: list[Observation], week: list[Observation]) -> None:
    case = CASES[name]
    detector = _fresh(case)
    detector.learn(history + week)
    at = INCIDENT_DAY + timedelta(hours=case.at_hour)
    day = case.incident(normal_day(INCIDENT_DAY, random.Random(9)), at)
    found = [
        f
        for f in raised(replay(detector, day, INCIDENT_DAY, at + timedelta(hours=8), timedelta(minutes=1)))
        if f.kind == case.kind
    ]
    assert found, f"{name}: no {case.kind} raised"
    assert at <= found[0].at <= at + case.within + timedelta(minutes=1)
    assert found[0].explanation and found[0].explanation_zh
