"""How long this resident is usually silent after a given activity: gap distributions by context.

A silence is judged by what came before it. After a toilet flush or a kitchen cupboard the next event
follows within minutes; after the bedroom door late in the evening, hours of quiet are normal. `learn_gaps`
replays a history through `Whereabouts` and keeps, for every movement at home (not out, not in bed), the
gap to the next movement under its context: the sensor and its state, the sensor's place, and the band of
the day in which the gap began. Only pauses of at least ``min_gap`` count: bursts of a motion sensor say
nothing about how long a pause lasts once it has begun, and they would swamp sparse homes' contexts.

`GapModel` gives the usual pause of a context: the ``quantile`` of its pauses, shrunk towards its parent
context's on a log scale as if the parent had lent ``prior`` pauses (everything → band of the day → place →
sensor), so a sensor seen a handful of times borrows from its room and a well-seen one speaks for itself.
Shrinking the quantile, not the distribution, matters for a high quantile: a few borrowed night-long
pauses would otherwise become every context's tail. The detector alerts a margin beyond the usual pause.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Final

from alerts.detectors.base import event_time, local_hour
from alerts.detectors.routine import Whereabouts, quantile_of
from alerts.detectors.signals import ACTIVITY_EVENTS, BED_ROOM
from alerts.findings import Observation
from gateway.contract import BathroomEvent, BedEvent, Body, DoorEvent, MotionEvent

STEPS: Final = ("steps", "bracelet")  # the context of movement seen only by the bracelet's step counter


@dataclass(frozen=True, slots=True)
class Activity:
    """The context of the last movement: which sensor in which state, and where."""

    sensor: str  # "s14" or "s24:open"; a hub that names no sensor gives "door:bedroom:open"
    place: str  # "door:bedroom", "motion:kitchen", "bed:bedroom"


def activity_of(body: Body) -> Activity:
    """Describe the movement a home sensor event shows, for looking up its usual pause."""
    kind, room, state = _describe(body)
    place = f"{kind}:{room}"
    sensor = (body.sensor_id if isinstance(body, ACTIVITY_EVENTS) else None) or place
    return Activity(f"{sensor}:{state}" if state else sensor, place)


def _describe(body: Body) -> tuple[str, str, str | None]:
    """Return an event's kind, its place (room, door, or where such a sensor is) and its state."""
    match body:
        case MotionEvent():
            return body.kind, body.room, None
        case DoorEvent():
            return body.kind, body.door, body.state
        case BedEvent():
            return body.kind, BED_ROOM, body.state
        case BathroomEvent():
            return body.kind, "bathroom", body.state
    return "event", "home", None


STEPS_ACTIVITY: Final = Activity(*STEPS)


@dataclass(frozen=True, slots=True)
class GapSettings:
    """How pauses are grouped and smoothed."""

    bands: tuple[float, ...] = (0.0, 6.0, 10.0, 14.0, 18.0, 22.0)  # local hours where a band of the day begins
    min_gap: timedelta = timedelta(minutes=2)
    prior: float = 10.0  # pseudo-pauses borrowed from the coarser context
    quantile: float = 1.0  # the longest pause of a context; the back-off keeps a rarely seen one sensible

    def band(self, at: datetime, tz: tzinfo) -> int:
        """Return the index of the band of the day a moment falls in."""
        return max(0, bisect_right(self.bands, local_hour(at, tz)) - 1)


@dataclass(slots=True)
class GapModel:
    """Pauses after each context, with the usual pause of a context looked up through its back-off chain."""

    settings: GapSettings
    tz: tzinfo
    by_sensor: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    by_place: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    by_band: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    pauses: list[float] = field(default_factory=list)
    _usual: dict[tuple[Activity, int], float] = field(default_factory=dict)

    def add(self, activity: Activity, start: datetime, end: datetime) -> None:
        """Record one pause that began after ``activity`` at ``start``."""
        gap = (end - start).total_seconds()
        if gap < self.settings.min_gap.total_seconds():
            return
        band = self.settings.band(start, self.tz)
        self.by_sensor[activity.sensor, band].append(gap)
        self.by_place[activity.place, band].append(gap)
        self.by_band[band].append(gap)
        self.pauses.append(gap)
        self._usual.clear()

    def usual(self, activity: Activity, since: datetime) -> timedelta | None:
        """Return the usual longest pause after ``activity`` at this time of day, or None with no data."""
        if not self.pauses:
            return None
        band = self.settings.band(since, self.tz)
        key = (activity, band)
        if key not in self._usual:
            self._usual[key] = self._backed_off(activity, band)
        return timedelta(seconds=self._usual[key])

    def _backed_off(self, activity: Activity, band: int) -> float:
        """Return the context's quantile, shrunk towards its parent's on a log scale by ``prior`` pauses."""
        chain = (
            self.by_band.get(band, []),
            self.by_place.get((activity.place, band), []),
            self.by_sensor.get((activity.sensor, band), []),
        )
        q, prior = self.settings.quantile, self.settings.prior
        log_usual = math.log(quantile_of(self.pauses, q) or 1.0)
        for gaps in chain:
            if gaps:
                n = len(gaps)
                log_usual = (n * math.log(quantile_of(gaps, q) or 1.0) + prior * log_usual) / (n + prior)
        return math.exp(log_usual)


def learn_gaps(history: Sequence[Observation], tz: tzinfo, settings: GapSettings | None = None) -> GapModel:
    """Learn one resident's pauses by context from their observations (any order)."""
    model = GapModel(settings or GapSettings(), tz)
    where = Whereabouts()
    last: Activity | None = None
    for obs in sorted(history, key=event_time):
        body, at = obs.record.body, event_time(obs)
        before, resting = where.last_activity, where.resting(at)
        if not where.update(body, at):
            continue
        if last is not None and before is not None and not resting:
            model.add(last, before, at)
        last = activity_of(body)
    return model
