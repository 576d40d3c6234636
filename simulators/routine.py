"""Daily routines: what each resident does, hour by hour, as a list of plan segments.

A `Profile` holds what stays the same for a person (usual waking time, naps, how often they go
out, whether the bracelet comes off at night…); `plan_day()` turns it into one day's `Segment`s
with day-to-day noise. Everything here is pure: a seeded `random.Random` in, segments out, times
as POSIX seconds. Sensor events and bracelet signals are derived from the segments elsewhere.

Documented bounds (checked by the tests, over many residents and days): waking between 04:30 and
09:00, bedtime between 19:30 and 00:00, 0–6 night-time bathroom trips, 0–3 outings a day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Final

HOUR: Final = 3600.0
MINUTE: Final = 60.0


@dataclass(frozen=True, slots=True)
class Activity:
    """What a resident is doing: where, how vigorously, and what the home sensors see of it."""

    name: str
    room: str | None  # None: outdoors
    intensity: float  # 0 still … 1 brisk walk; drives heart rate and steps
    motion_every_s: float | None = None  # mean time between motion-sensor triggers
    in_bed: bool = False
    in_bathroom: bool = False
    path: str = "home"  # bracelet position: home, round_trip (an outing), away (wandering)

    @property
    def asleep(self) -> bool:
        """Tell whether the resident sleeps (or lies still) in bed."""
        return self.in_bed and self.intensity < 0.05


ACTIVITIES: Final[dict[str, Activity]] = {
    a.name: a
    for a in (
        Activity("sleep", "bedroom", 0.0, in_bed=True),
        Activity("nap", "bedroom", 0.03, in_bed=True),
        Activity("dress", "bedroom", 0.35, motion_every_s=60),
        Activity("toilet", "bathroom", 0.2, motion_every_s=90, in_bathroom=True),
        Activity("shower", "bathroom", 0.4, motion_every_s=60, in_bathroom=True),
        Activity("cook", "kitchen", 0.4, motion_every_s=100),
        Activity("eat", "kitchen", 0.12, motion_every_s=300),
        Activity("lounge", "living_room", 0.1, motion_every_s=600),
        Activity("tidy_living", "living_room", 0.45, motion_every_s=120),
        Activity("tidy_bedroom", "bedroom", 0.45, motion_every_s=120),
        Activity("tidy_kitchen", "kitchen", 0.45, motion_every_s=120),
        Activity("outing", None, 0.85, path="round_trip"),
        # incident activities
        Activity("fallen", "living_room", 0.0),
        Activity("unwell", "bedroom", 0.02, in_bed=True),
        Activity("stuck", "bathroom", 0.05, in_bathroom=True),
        Activity("confused", "living_room", 0.5, motion_every_s=20),
        Activity("wandering", None, 0.7, path="away"),
        Activity("resting", "living_room", 0.05, motion_every_s=900),
    )
}
_FILLERS: Final = ("lounge", "lounge", "tidy_living", "tidy_bedroom", "tidy_kitchen")
EVENING_CHARGE_H: Final = (2.0, 0.6)  # the evening charge runs from this long before bedtime to this long before
MIN_EVENING_CHARGE_H: Final = 1.0  # an evening charge cut shorter (a late outing) is made up overnight


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of a day: from ``start`` to ``end`` (POSIX seconds) doing ``activity``."""

    start: float
    end: float
    activity: Activity
    worn: bool = True
    charging: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """What stays the same for a resident from day to day."""

    wake_h: float
    bed_h: float
    nap_p: float
    outing_p: float
    night_trips: float  # mean number of night-time bathroom trips
    off_at_night_p: float  # probability that the bracelet comes off for the night
    shower_p: float
    shower_off: bool  # takes the bracelet off to shower
    rest_hr: float
    spo2: float
    skin_temp_c: float
    cadence: float  # steps a minute when walking
    interval_s: float  # telemetry period
    drain_per_h: float  # battery % used per hour worn


def make_profile(rng: random.Random) -> Profile:
    """Draw a resident's habits and physiology."""
    return Profile(
        wake_h=rng.uniform(5.3, 7.6),
        bed_h=rng.uniform(20.6, 22.8),
        nap_p=rng.uniform(0.1, 0.9),
        outing_p=rng.uniform(0.2, 0.95),
        night_trips=rng.uniform(0.3, 2.2),
        off_at_night_p=rng.choice((0.05, 0.1, 0.8, 0.95)),
        shower_p=rng.uniform(0.2, 0.7),
        shower_off=rng.random() < 0.5,
        rest_hr=rng.uniform(58, 80),
        spo2=rng.uniform(94.5, 98),
        skin_temp_c=rng.uniform(32.0, 34.2),
        cadence=rng.uniform(60, 100),
        interval_s=rng.uniform(30, 60),
        drain_per_h=rng.uniform(0.7, 1.4),
    )


@dataclass(frozen=True, slots=True)
class DayContext:
    """The facts about one day that come from outside the routine."""

    start: float  # local midnight, POSIX seconds
    off_last_night: bool  # bracelet lay on the charger since last evening
    off_tonight: bool
    charge_in_evening: bool  # battery low before the next charge: charge while watching TV


def plan_day(profile: Profile, day: DayContext, rng: random.Random) -> list[Segment]:
    """Plan one day from midnight to midnight."""
    wake = _clamp(rng.gauss(profile.wake_h, 0.35), 4.6, 8.9)
    bed = _clamp(rng.gauss(profile.bed_h, 0.4), 19.6, 23.9)
    blocks = _night(profile, rng, 0.0, wake, tonight=False) + _daytime(profile, rng, wake, bed)
    blocks += _night(profile, rng, bed, 24.0, tonight=True)
    if day.charge_in_evening:
        blocks.append((bed - EVENING_CHARGE_H[0], bed - EVENING_CHARGE_H[1], "lounge"))
    segments = _fill(sorted(blocks), rng, day.start)
    tonight = _charges_tonight(segments, day, bed)
    return [_wear(s, profile, day, wake, bed, tonight=tonight) for s in segments]


def _night(
    profile: Profile, rng: random.Random, start: float, end: float, *, tonight: bool
) -> list[tuple[float, float, str]]:
    lo, hi = (start + 0.7, end - 0.3) if tonight else (start + 0.5, end - 0.4)
    share = (end - start) / (24.0 - profile.bed_h + profile.wake_h)
    trips = _uniforms(rng, lo, hi, profile.night_trips * share)[:3]
    blocks: list[tuple[float, float, str]] = []
    t = start
    for trip in trips:
        if trip <= t:
            continue
        stop = trip + rng.uniform(3, 9) / 60
        blocks += [(t, trip, "sleep"), (trip, stop, "toilet")]
        t = stop
    return [*blocks, (t, end, "sleep")]


def _daytime(profile: Profile, rng: random.Random, wake: float, bed: float) -> list[tuple[float, float, str]]:
    t = wake
    blocks: list[tuple[float, float, str]] = []
    for name, lo, hi in (("dress", 8, 20), ("toilet", 4, 10)):
        d = rng.uniform(lo, hi) / 60
        blocks.append((t, t + d, name))
        t += d
    if rng.random() < profile.shower_p:
        d = rng.uniform(12, 25) / 60
        blocks.append((t, t + d, "shower"))
        t += d
    blocks += _meal(rng, t + rng.uniform(0.05, 0.4), 8, 15)
    blocks += _meal(rng, rng.gauss(11.4, 0.3), 20, 25)
    blocks += _meal(rng, rng.gauss(17.6, 0.35), 20, 25)
    if rng.random() < profile.nap_p:
        s = rng.uniform(12.9, 13.8)
        blocks.append((s, s + rng.uniform(0.4, 1.4), "nap"))
    blocks += _outings(profile, rng)
    blocks += [(h, h + rng.uniform(3, 8) / 60, "toilet") for h in _uniforms(rng, wake + 1.5, bed - 0.3, 4)]
    blocks.append((bed - rng.uniform(0.15, 0.3), bed, "toilet"))
    return blocks


def _meal(rng: random.Random, at: float, cook_min: float, eat_min: float) -> list[tuple[float, float, str]]:
    cook = rng.uniform(0.6, 1.4) * cook_min / 60
    eat = rng.uniform(0.7, 1.3) * eat_min / 60
    return [(at, at + cook, "cook"), (at + cook, at + cook + eat, "eat")]


def _outings(profile: Profile, rng: random.Random) -> list[tuple[float, float, str]]:
    out = []
    for lo, hi in ((8.2, 10.0), (14.8, 16.4), (18.7, 19.3)):
        if rng.random() < profile.outing_p * (0.35 if lo > 18 else 1.0):
            s = rng.uniform(lo, hi)
            out.append((s, s + rng.uniform(0.5, 1.8), "outing"))
    return out


def _uniforms(rng: random.Random, lo: float, hi: float, mean: float) -> list[float]:
    return sorted(rng.uniform(lo, hi) for _ in range(poisson(rng, mean))) if hi > lo else []


def _fill(blocks: list[tuple[float, float, str]], rng: random.Random, day_start: float) -> list[Segment]:
    """Lay the blocks end to end, later ones cut by earlier ones, filling gaps with idle activities."""
    segments: list[Segment] = []
    t = 0.0
    for start, end, name in blocks:
        if end <= t:
            continue
        if start > t:
            segments += _filler(rng, t, start, day_start)
        s = max(start, t)
        segments.append(Segment(day_start + s * HOUR, day_start + end * HOUR, ACTIVITIES[name]))
        t = end
    if t < 24.0:
        segments += _filler(rng, t, 24.0, day_start)
    return segments


def _filler(rng: random.Random, start: float, end: float, day_start: float) -> list[Segment]:
    out = []
    t = start
    while t < end - 1e-9:
        name = rng.choice(_FILLERS)
        d = rng.uniform(0.25, 1.0) if name == "lounge" else rng.uniform(0.15, 0.5)
        stop = min(end, t + d)
        out.append(Segment(day_start + t * HOUR, day_start + stop * HOUR, ACTIVITIES[name]))
        t = stop
    return out


def _local_middle(s: Segment, day: DayContext) -> float:
    """Return the local hour of a segment's middle.

    Windows are matched on the middle, not the start: a start, back from POSIX seconds, may fall a hair
    before the very hour its block was planned at.
    """
    return ((s.start + s.end) / 2 - day.start) / HOUR


def _evening_charge(s: Segment, day: DayContext, bed: float) -> bool:
    """Tell whether a segment is the planned evening charge (lounging while the bracelet charges)."""
    lo, hi = bed - EVENING_CHARGE_H[0], bed - EVENING_CHARGE_H[1]
    return day.charge_in_evening and s.activity.name == "lounge" and lo < _local_middle(s, day) < hi


def _charges_tonight(segments: list[Segment], day: DayContext, bed: float) -> bool:
    """Tell whether the bracelet goes on the charger for the night: by habit, or for a charge the evening missed."""
    charged_h = sum(s.end - s.start for s in segments if _evening_charge(s, day, bed)) / HOUR
    return day.off_tonight or (day.charge_in_evening and charged_h < MIN_EVENING_CHARGE_H)


def _wear(s: Segment, profile: Profile, day: DayContext, wake: float, bed: float, *, tonight: bool) -> Segment:
    mid = _local_middle(s, day)
    night_off = (mid < wake and day.off_last_night) or (mid > bed and tonight)
    if night_off and s.activity.name in ("sleep", "toilet"):
        return replace(s, worn=False, charging=True)
    if s.activity.name == "shower" and profile.shower_off:
        return replace(s, worn=False)
    if _evening_charge(s, day, bed):
        return replace(s, worn=False, charging=True)
    return s


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson count (normal approximation for large means)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, x))
