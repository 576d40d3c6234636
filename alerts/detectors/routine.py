"""A resident's daily routine: where they are (home, out, in bed) and what their normal silences look like.

`Whereabouts` follows one resident's home sensors event by event; the live inactivity detector and the
learning step use the same one, so "away" and "asleep" mean the same thing in both. The resident is out
while the front door is the last thing that moved (the door, then nothing), and in bed while a bed mat
is occupied and nothing but the bedroom's motion sensor, now and then, moved since they lay down
(`BedSense`).

`learn_routine` replays a history through it and keeps, per hour of the day, the longest silence at
home and out of bed on each day, the wake-up times and the bathroom visits; `Routine` holds what
is usual for this person.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from alerts.detectors.base import event_time, local_hour
from alerts.detectors.signals import BED_ROOM, is_activity_event, is_front_door
from alerts.findings import Observation
from gateway.contract import BathroomEvent, BedEvent, Body, DoorEvent, MotionEvent

NIGHT_STARTS = 18.0  # a sleep that ends in the morning starts after this hour or before DAY_STARTS
DAY_STARTS = 4.0  # local hour at which a new day of routine begins
MORNING_ENDS = 14.0
LATEST_SLEEP_START = 10.0  # a silence that starts later in the morning is a nap, not the night


@dataclass(frozen=True, slots=True)
class BedSense:
    """How bed mats and the bedroom's motion sensor are read together.

    A bedroom PIR fires a few seconds after the mat as a person lies down, and again when they turn
    over; a lone trigger does not get anyone up. A run of triggers (walking about) or movement in
    another room does, even if the mat missed the getting up. Nobody counts as in bed for longer than
    ``longest`` after lying down: a mat that sticks "occupied" must not hide a silence for ever.
    """

    settle: timedelta = timedelta(minutes=5)  # bedroom motion this soon after lying down is lying down
    restless: int = 3  # this many bedroom triggers within ``pace`` after settling mean walking about
    pace: timedelta = timedelta(minutes=10)
    longest: timedelta = timedelta(hours=16)
    brief: timedelta = timedelta(minutes=30)  # up for less than this, then back to bed: a trip, not the day
    # Front-door events this close together, nothing else moving between, are one going through: a door
    # held open while leaving sends its "closed" minutes later, and that must not count as coming home.
    passage: timedelta = timedelta(minutes=10)


@dataclass(slots=True)
class Whereabouts:
    """Follow one resident: last movement at home, whether out, in bed or in the bathroom."""

    sense: BedSense = field(default_factory=BedSense)
    last_activity: datetime | None = None
    last_up: datetime | None = None  # last movement that shows the resident out of bed
    rose_at: datetime | None = None  # the first such movement after the last time in bed
    away: bool = False
    front_door_at: datetime | None = None  # the last front-door event
    beds: set[str] = field(default_factory=set)  # occupied bed mats
    bed_since: datetime | None = None
    bathroom_since: datetime | None = None
    stirs: deque[datetime] = field(default_factory=deque)  # bedroom motion while lying down

    @property
    def in_bed(self) -> bool:
        """Tell whether the resident lay down after their last movement out of bed."""
        # Mats stick "occupied" for days; getting up elsewhere after lying down proves them wrong.
        lay_down = self.bed_since is not None and (self.last_up is None or self.bed_since >= self.last_up)
        return bool(self.beds) and lay_down

    def resting(self, now: datetime) -> bool:
        """Tell whether silence at ``now`` is expected: the resident is out, or in bed not too long."""
        if self.away:
            return True
        return self.in_bed and self.bed_since is not None and now - self.bed_since < self.sense.longest

    def update(self, body: Body, at: datetime) -> bool:
        """Take one message; tell whether it was movement at home."""
        if not is_activity_event(body):
            return False
        # Out means the front door was the last thing that moved; anything else means someone is in.
        if is_front_door(body):
            self._through_front_door(at)
        else:
            self.away = False
        if isinstance(body, BedEvent):
            self._bed(body, at)
        elif not (_left(body) or self._stirring(body, at)):
            self.moved(at)
        if isinstance(body, BathroomEvent):
            self.bathroom_since = at if body.state == "occupied" else None
        elif not ((isinstance(body, MotionEvent) and body.room == "bathroom") or _left(body)):
            # Moving elsewhere: the presence sensor missed the leaving. A door swinging shut behind
            # someone who just walked in (the front door's closer, seconds later) is not moving elsewhere.
            self.bathroom_since = None
        self.last_activity = at
        return True

    def _through_front_door(self, at: datetime) -> None:
        """Going through the front door while out is coming home; while in, it may be leaving."""
        # Only silence after a going-through tells leaving from a visitor at the door: until something
        # else moves, the resident counts as out. Coming home must count as in, or a fall in the hall
        # right after would never be noticed.
        if self.front_door_at is None or at - self.front_door_at > self.sense.passage:
            self.away = not self.away
        self.front_door_at = at

    def moved(self, at: datetime) -> None:
        """Take movement that shows the resident out of bed (a room's sensor, the bracelet's steps)."""
        if self.in_bed or self.rose_at is None:
            self.rose_at = at
        self.last_up = self.last_activity = at

    def alive(self, at: datetime) -> None:
        """Take a sign of life that does not show the resident up (the wrist moving): it ends a silence only."""
        self.last_activity = at

    def back_in_bed(self, before: datetime) -> bool:
        """Tell whether the resident lay down again before ``before`` after being up only briefly (a trip)."""
        if not self.in_bed or self.bed_since is None or self.rose_at is None:
            return False
        return self.bed_since < before and self.bed_since - self.rose_at < self.sense.brief

    def _stirring(self, body: Body, at: datetime) -> bool:
        """Tell whether bedroom motion is the resident moving in bed rather than getting up."""
        if not (isinstance(body, MotionEvent) and body.room == BED_ROOM and self.in_bed and self.bed_since):
            return False
        if at - self.bed_since <= self.sense.settle:
            return True
        self.stirs.append(at)
        while self.stirs and at - self.stirs[0] > self.sense.pace:
            self.stirs.popleft()
        return len(self.stirs) < self.sense.restless

    def _bed(self, body: BedEvent, at: datetime) -> None:
        sensor = body.sensor_id or "bed"
        if body.state == "occupied":
            self.beds.add(sensor)
            self.bed_since = at
            self.stirs.clear()
        else:
            self.beds.discard(sensor)


def _left(body: Body) -> bool:
    """Tell whether an event ends what began before: a presence sensor's "vacated", a door swinging shut."""
    # These often land seconds after what the resident does next (a mat's or sensor's hold time, a door
    # closer): the bathroom's "vacated" after lying down is not getting up again, and the bed's "vacated"
    # after the bathroom's "occupied" is not leaving the bathroom.
    if isinstance(body, BathroomEvent | BedEvent):
        return body.state == "vacated"
    return isinstance(body, DoorEvent) and body.state == "closed"


@dataclass(frozen=True, slots=True)
class Routine:
    """What is usual for one resident, learned from their history."""

    days: int  # days of history it was learned from
    longest_silence_s: tuple[float, ...]  # per local hour: the usual longest silence at home, out of bed
    wake_hour: float | None  # usual (median) wake-up, local hours
    late_wake_hour: float | None  # a late but normal wake-up (a high quantile)
    early_wake_hour: float | None
    bathroom_longest_s: float | None


@dataclass(slots=True)
class _Tally:
    silences: dict[tuple[date, int], float] = field(default_factory=dict)
    wakes: dict[date, float] = field(default_factory=dict)
    bathroom: list[float] = field(default_factory=list)
    days: set[date] = field(default_factory=set)


def learn_routine(history: Sequence[Observation], tz: tzinfo, quantile: float = 0.9, min_samples: int = 4) -> Routine:
    """Learn one resident's routine from their observations (any order)."""
    tally = _Tally()
    where = Whereabouts()
    for obs in sorted(history, key=event_time):
        _tally_one(tally, where, obs.record.body, event_time(obs), tz)
    per_hour: dict[int, list[float]] = defaultdict(list)
    for (_, hour), reached in tally.silences.items():
        per_hour[hour].append(reached)
    pooled = quantile_of([v for values in per_hour.values() for v in values], quantile) or 0.0
    # An hour seen at home on only a day or two (usually out then) borrows the all-day figure.
    longest = tuple(
        (quantile_of(per_hour[h], quantile) or 0.0) if len(per_hour[h]) >= min_samples else pooled for h in range(24)
    )
    wakes = list(tally.wakes.values())
    return Routine(
        days=len(tally.days),
        longest_silence_s=longest,
        wake_hour=quantile_of(wakes, 0.5),
        late_wake_hour=quantile_of(wakes, quantile),
        early_wake_hour=quantile_of(wakes, 1 - quantile),
        bathroom_longest_s=quantile_of(tally.bathroom, 1.0),
    )


def _tally_one(tally: _Tally, where: Whereabouts, body: Body, at: datetime, tz: tzinfo) -> None:
    before, before_up, resting, bath = where.last_activity, where.last_up, where.resting(at), where.bathroom_since
    if not where.update(body, at):
        return
    tally.days.add(routine_day(at, tz))
    if before is not None and not resting:
        _tally_silence(tally.silences, before, at, tz)
    if bath is not None and where.bathroom_since is None:
        tally.bathroom.append((at - bath).total_seconds())
    if before_up is not None and where.last_up == at and not where.away:
        _tally_wake(tally.wakes, before_up, at, tz)


def _tally_silence(silences: dict[tuple[date, int], float], start: datetime, end: datetime, tz: tzinfo) -> None:
    """Record, for every local hour the silence spans, how long it had lasted by the end of that hour."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    slot = local_start.replace(minute=0, second=0, microsecond=0)
    while slot < local_end:
        slot_end = slot + timedelta(hours=1)
        reached = (min(local_end, slot_end) - local_start).total_seconds()
        key = (slot.date(), slot.hour)
        silences[key] = max(silences.get(key, 0.0), reached)
        slot = slot_end


def _tally_wake(wakes: dict[date, float], start: datetime, end: datetime, tz: tzinfo, sleep: float = 2.0) -> None:
    """Take the end of the day's last long night-time silence as its wake-up."""
    begin, hour = local_hour(start, tz), local_hour(end, tz)
    long_enough = (end - start) >= timedelta(hours=sleep)
    began_at_night = begin >= NIGHT_STARTS or begin < LATEST_SLEEP_START
    if long_enough and began_at_night and DAY_STARTS <= hour < MORNING_ENDS:
        wakes[routine_day(end, tz)] = hour


def routine_day(at: datetime, tz: tzinfo) -> date:
    """Return the day of routine a moment belongs to; it begins at ``DAY_STARTS``, not midnight."""
    return (at.astimezone(tz) - timedelta(hours=DAY_STARTS)).date()


def quantile_of(values: Iterable[float], q: float) -> float | None:
    """Return the ``q`` quantile by linear interpolation, or None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
