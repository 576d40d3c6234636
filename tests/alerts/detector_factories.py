"""Factories for detector tests: observations of one resident, and a seeded week of normal routine."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from alerts.detectors.base import Detector, ResidentProfile
from alerts.findings import Finding, Observation
from gateway.contract import (
    BathroomEvent,
    BedEvent,
    Body,
    Channel,
    DoorEvent,
    MotionEvent,
    Record,
    Status,
    Telemetry,
)

RID = "r1"
BRACELET = "band1"
HUB = "hub1"
PROFILE = ResidentProfile(RID, tz=UTC, bracelet_id=BRACELET, devices=(BRACELET, HUB))
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday; the profile's local time is UTC
_seq = iter(range(10**9))


def obs(body: Body, device: str | None = None) -> Observation:
    """Wrap a message body into an observation of the test resident."""
    channel = (
        Channel.TELEMETRY
        if isinstance(body, Telemetry)
        else Channel.STATUS
        if isinstance(body, Status)
        else Channel.EVENT
    )
    dev = device or (BRACELET if channel is not Channel.EVENT or body.kind in {"sos", "ok", "fall", "impact"} else HUB)  # type: ignore[union-attr]
    return Observation(RID, Record(dev, channel, body), body.ts)


def ev(cls: type[Body], at: datetime, **fields: object) -> Observation:
    """Build an event observation of class ``cls`` at ``at``."""
    kind = cls.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]
    return obs(cls(kind=kind, seq=next(_seq), ts=at, **fields))  # type: ignore[call-arg]


def telemetry(at: datetime, **fields: object) -> Observation:
    """Build a bracelet reading with normal defaults."""
    values: dict[str, object] = {"heart_rate": 72, "spo2": 97, "steps": 0, "battery": 80, "worn": True}
    values.update(fields)
    return obs(Telemetry(seq=next(_seq), ts=at, **values))  # type: ignore[arg-type]


def normal_day(day: datetime, rng: random.Random) -> list[Observation]:
    """Simulate one ordinary day: up around 7, out in the late morning, home all afternoon, bed by 22:30."""
    wake = day + timedelta(hours=7, minutes=rng.randint(-20, 20))
    leave = day + timedelta(hours=10, minutes=rng.randint(0, 30))
    back = leave + timedelta(minutes=rng.randint(40, 90))
    sleep = day + timedelta(hours=22, minutes=rng.randint(0, 40))
    out = [ev(BedEvent, wake, state="vacated")]
    out += _bathroom_visit(wake + timedelta(minutes=5), rng)
    out += _moving_about(wake + timedelta(minutes=20), leave, rng)
    out += [
        ev(DoorEvent, leave, door="front", state="open"),
        ev(DoorEvent, leave + timedelta(seconds=20), door="front", state="closed"),
    ]
    out += [ev(DoorEvent, back, door="front", state="open"), ev(MotionEvent, back + timedelta(minutes=1), room="hall")]
    out += _moving_about(back + timedelta(minutes=5), sleep - timedelta(minutes=20), rng)
    out += _bathroom_visit(sleep - timedelta(minutes=15), rng)
    out += [ev(BedEvent, sleep, state="occupied")]
    out += _bracelet_day(day, wake, sleep, (leave, back), rng)
    return sorted(out, key=lambda o: o.record.body.ts)


def normal_week(start: datetime = START, seed: int = 1, days: int = 7) -> list[Observation]:
    """Simulate ``days`` ordinary days from ``start``."""
    rng = random.Random(seed)
    return [o for d in range(days) for o in normal_day(start + timedelta(days=d), rng)]


def _moving_about(start: datetime, end: datetime, rng: random.Random) -> Iterator[Observation]:
    t = start
    while t < end:
        yield ev(MotionEvent, t, room=rng.choice(["kitchen", "living_room", "hall"]))
        if rng.random() < 0.08:
            yield from _bathroom_visit(t + timedelta(minutes=2), rng)
        t += timedelta(minutes=rng.randint(5, 45))


def _bathroom_visit(at: datetime, rng: random.Random) -> list[Observation]:
    return [
        ev(BathroomEvent, at, state="occupied"),
        ev(BathroomEvent, at + timedelta(minutes=rng.randint(3, 12)), state="vacated"),
    ]


def _bracelet_day(
    day: datetime, wake: datetime, sleep: datetime, out: tuple[datetime, datetime], rng: random.Random
) -> Iterator[Observation]:
    """Telemetry every 5 min: worn from wake-up to bed, charged overnight; steps while up."""
    steps, battery = 0, 100
    for minute in range(0, 24 * 60, 5):
        t = day + timedelta(minutes=minute)
        worn = wake <= t < sleep
        if worn:
            steps += rng.randint(0, 30) + (60 if out[0] <= t < out[1] else 0)
            battery = max(10, battery - (1 if minute % 30 == 0 else 0))
        else:
            battery = min(100, battery + 2)
        hr = rng.randint(60, 85) if worn else None
        spo2 = rng.randint(95, 99) if worn else None
        yield telemetry(t, heart_rate=hr, spo2=spo2, steps=steps, battery=battery, worn=worn)


def replay(
    detector: Detector, observations: Iterable[Observation], start: datetime, end: datetime, step: timedelta
) -> list[Finding]:
    """Feed observations in time order and tick every ``step`` from ``start`` to ``end``."""
    pending = sorted(observations, key=lambda o: o.record.body.ts)
    found: list[Finding] = []
    i, now = 0, start
    while now <= end:
        while i < len(pending) and pending[i].record.body.ts <= now:
            found += detector.observe(pending[i])
            i += 1
        found += detector.tick(now)
        now += step
    return found


def raised(findings: Sequence[Finding]) -> list[Finding]:
    """Return the findings that raise something (not cancellations)."""
    return [f for f in findings if not f.cancels]
