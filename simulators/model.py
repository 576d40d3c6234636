"""The pure model: a neighbourhood's residents living their days, as one time-ordered message stream.

`ResidentModel` turns one resident-day into messages: it plans the day (`routine`), places the
day's incidents (`incidents`), derives home-sensor events from the plan, samples the bracelet
(`signals`), adds status heartbeats, silences devices that lost power, and numbers each device's
messages. `Simulation.stream()` merges all residents into one stream ordered by device time,
interleaving the ground-truth `Truth` records at their incidents' starts.

No clock is read and nothing is sent: time is the simulated clock of the messages, and all
randomness is seeded from the scenario seed, the resident and the day — the same seed gives the
same stream, byte for byte.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from gateway.contract import BathroomEvent, BedEvent, Channel, DoorEvent, Location, MotionEvent, Telemetry
from simulators.fleet import DEVICE_KINDS, Neighbourhood, Resident, build_fleet
from simulators.incidents import INCIDENT_KINDS, Incident, IncidentKind, Plan
from simulators.messages import Draft, Message, Numbering, Truth, build, sensor_event, status
from simulators.rand import seeded, seeded_np
from simulators.routine import MINUTE, DayContext, Profile, Segment, make_profile, plan_day
from simulators.schedule import DAY, IncidentSpec, Schedule, local_midnight
from simulators.signals import Vitals, vitals_for_day

FIRMWARE: Final = "anxin-sim-1.0"
Item = Message | Truth


@dataclass(frozen=True, slots=True)
class World:
    """What the model needs to know about a run: who, from when to when, with which incidents."""

    residents: int
    seed: int
    start: float  # POSIX seconds
    end: float
    incidents: IncidentSpec = field(default_factory=IncidentSpec)
    area: Neighbourhood = field(default_factory=Neighbourhood)
    tz_offset_s: float = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class Placed:
    """An incident as it actually happened in a resident's day."""

    kind: IncidentKind
    start: float
    end: float
    device_id: str
    publisher: str


class Simulation:
    """A neighbourhood over a span of time; iterate `stream()` for its messages."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.fleet = build_fleet(world.residents, world.seed, world.area)
        ids = tuple(r.resident_id for r in self.fleet)
        self.schedule = Schedule(
            world.incidents, ids, start=world.start, end=world.end, tz_offset_s=world.tz_offset_s, seed=world.seed
        )

    def stream(self) -> Iterator[Item]:
        """Yield every message and ground-truth record of the run in device-time order."""
        models = [ResidentModel(r, self.world, self.schedule) for r in self.fleet]
        return heapq.merge(*(m.items() for m in models), key=lambda item: item.t)


class ResidentModel:
    """One resident's days, turned into messages."""

    def __init__(self, resident: Resident, world: World, schedule: Schedule) -> None:
        self.resident, self.world, self.schedule = resident, world, schedule
        self.profile: Profile = make_profile(seeded(world.seed, "profile", resident.resident_id))
        self.battery = 60.0 + 40.0 * seeded(world.seed, "battery", resident.resident_id).random()
        self.numbering = Numbering(base=int(world.start * 1000))
        self.last: Segment | None = None

    def items(self) -> Iterator[Item]:
        """Yield this resident's messages and incidents, day by day, within the run."""
        day = local_midnight(self.world.start, self.world.tz_offset_s)
        while day < self.world.end:
            for item in self.day(day):
                # bodies are built as they are taken: a month of 200 residents keeps a day each in the merge
                yield self.numbering.number(item) if isinstance(item, Draft) else item
            day += DAY

    def day(self, day_start: float) -> list[Draft | Truth]:
        """Simulate one local day and return its drafts and incidents inside the run, in time order."""
        key = (self.world.seed, self.resident.resident_id, f"{day_start:.0f}")
        rng, nprng = seeded(*key), seeded_np(*key)
        plan = plan_day(self.profile, self._context(day_start), rng)
        placed, plan = self._place(plan, self.schedule.for_day(day_start).get(self.resident.resident_id, []))
        vitals = vitals_for_day(plan, self.profile, self.resident.home, self.battery, nprng)
        for p in placed:
            if p.kind.vitals is not None:
                p.kind.vitals(vitals, (vitals.t >= p.start) & (vitals.t < p.end), nprng)
        self.battery = float(vitals.battery[-1])
        drafts = self._drafts(day_start, plan, vitals, placed, rng=rng, nprng=nprng)
        self.last = plan[-1]
        return self._finish(drafts, placed)

    def _context(self, day_start: float) -> DayContext:
        # Last night is what happened (a missed evening charge is made up overnight); tonight is the habit.
        off_last = self._off_at_night(day_start - DAY) if self.last is None else self.last.charging
        off_tonight = self._off_at_night(day_start)
        # A careful resident charges this evening when the battery could fall below 30 % before its next charge:
        # tonight's on the charger, else tomorrow evening's (38 h of drain). Low batteries then come from the
        # scripted incident only, as the ground truth says.
        hours = 24 if off_tonight else 38
        low_before_next = self.battery - hours * self.profile.drain_per_h < 30
        return DayContext(day_start, off_last, off_tonight, charge_in_evening=low_before_next)

    def _off_at_night(self, day_start: float) -> bool:
        draw = seeded(self.world.seed, "night", self.resident.resident_id, f"{day_start:.0f}").random()
        return draw < self.profile.off_at_night_p

    def _place(self, plan: Plan, incidents: list[Incident]) -> tuple[list[Placed], Plan]:
        placed: list[Placed] = []
        for inc in incidents:
            kind = INCIDENT_KINDS[inc.kind]
            place = kind.any_hour if self.world.incidents.around_the_clock and kind.any_hour else kind.place
            result = place(plan, inc.start, inc.duration)
            if result is None or (placed and result[0] < placed[-1].end + 10 * MINUTE):
                continue  # no room for it in this day: the ground truth will not claim it
            start, end, plan = result
            start, end = round(start, 3), round(end, 3)  # the resolution of device clocks
            device = kind.device(self.resident)
            placed.append(Placed(kind, start, end, device.device_id, device.publishes_as))
        return placed, plan

    def _drafts(
        self,
        day_start: float,
        plan: Plan,
        vitals: Vitals,
        placed: list[Placed],
        *,
        rng: random.Random,
        nprng: np.random.Generator,
    ) -> list[Draft]:
        drafts = home_events(self.resident, plan, self.last, rng)
        drafts += telemetry(self.resident.device("bracelet").device_id, vitals)
        drafts += heartbeats(self.resident, day_start, vitals)
        if local_midnight(self.world.start, self.world.tz_offset_s) == day_start:
            start = self.world.start
            drafts += [status(d.device_id, start, "boot", firmware=FIRMWARE) for d in self.resident.publishers]
        for p in placed:
            if p.kind.events is not None:
                drafts += p.kind.events(self.resident, p.start, p.end, nprng)
        for p in placed:
            if p.kind.silence is not None:
                drafts = silenced(drafts, p)
        return drafts

    def _finish(self, drafts: list[Draft], placed: list[Placed]) -> list[Draft | Truth]:
        lo, hi = self.world.start, self.world.end
        kept = sorted((d for d in drafts if lo <= d.t < hi), key=lambda d: (d.t, d.publisher))
        items: list[Draft | Truth] = list(kept)
        rid = self.resident.resident_id
        items += [Truth(p.start, rid, p.device_id, p.kind.name, p.start, p.end) for p in placed if lo <= p.start < hi]
        return sorted(items, key=lambda i: i.t)  # stable: drafts keep their (t, publisher) order


def home_events(resident: Resident, plan: Plan, last: Segment | None, rng: random.Random) -> list[Draft]:
    """Derive what the home sensors see from the plan: rooms entered, bed, bathroom, front door."""
    drafts: list[Draft] = []
    prev = last
    for s in plan:
        if prev is not None:
            drafts += _transition(resident, prev, s, rng)
        drafts += _retriggers(resident, s, rng)
        prev = s
    return drafts


def _transition(resident: Resident, a: Segment, b: Segment, rng: random.Random) -> list[Draft]:
    t, out = b.start, []
    room_a, room_b = a.activity.room, b.activity.room
    door = resident.device("door")
    if room_a != room_b and (room_a is None or room_b is None):
        out += [
            sensor_event(door, t, DoorEvent, state="open"),
            sensor_event(door, t + rng.uniform(5, 20), DoorEvent, state="closed"),
        ]
    if room_b is not None and room_a != room_b:
        out.append(_motion(resident, room_b, t + rng.uniform(1, 8) + (20 if room_a is None else 0)))
    if a.activity.in_bed != b.activity.in_bed:
        state = "occupied" if b.activity.in_bed else "vacated"
        out.append(sensor_event(resident.device("bed"), t + rng.uniform(2, 10), BedEvent, state=state))
    if a.activity.in_bathroom != b.activity.in_bathroom:
        state = "occupied" if b.activity.in_bathroom else "vacated"
        out.append(sensor_event(resident.device("bathroom"), t + rng.uniform(1, 5), BathroomEvent, state=state))
    return out


def _retriggers(resident: Resident, s: Segment, rng: random.Random) -> list[Draft]:
    every, room = s.activity.motion_every_s, s.activity.room
    if every is None or room is None:
        return []
    out, t = [], s.start + 30 + rng.expovariate(1 / every)
    while t < s.end:
        out.append(_motion(resident, room, t))
        t += 30 + rng.expovariate(1 / every)  # a PIR sensor is blind for 30 s after it fires
    return out


def _motion(resident: Resident, room: str, t: float) -> Draft:
    return sensor_event(resident.device("motion", room), round(t, 3), MotionEvent, room=room)


def telemetry(bracelet: str, v: Vitals) -> list[Draft]:
    """Turn the day's bracelet readings into telemetry drafts."""
    out = []
    rows = zip(
        v.t.tolist(),
        v.heart_rate.tolist(),
        v.spo2.tolist(),
        v.steps.tolist(),
        v.battery.tolist(),
        v.skin_temp_c.tolist(),
        v.worn.tolist(),
        v.lat.tolist(),
        v.lon.tolist(),
        strict=True,
    )
    for t, hr, spo2, steps, battery, skin, worn, lat, lon in rows:
        if battery <= 0.0:  # a flat bracelet is silent until it is charged
            continue
        fields: dict[str, object] = {"battery": round(battery), "worn": worn, "steps": int(steps)}
        if worn:
            fields |= {"heart_rate": round(hr), "spo2": round(spo2), "skin_temp_c": round(skin, 1)}
        if not math.isnan(lat):
            fields["location"] = build(Location, {"lat": lat, "lon": lon, "accuracy_m": 12.0})
        out.append(Draft(t, bracelet, Channel.TELEMETRY, Telemetry, fields))
    return out


def heartbeats(resident: Resident, day_start: float, v: Vitals) -> list[Draft]:
    """Draft the retained online statuses every connected device sends on its own clock."""
    out = []
    for d in resident.publishers:
        period = DEVICE_KINDS[d.kind].heartbeat_s
        phase = seeded("phase", d.device_id).uniform(0, period)
        for t in np.arange(day_start + phase, day_start + DAY, period).tolist():
            extra: dict[str, Any] = {"battery": _battery_at(v, t)} if d.kind == "bracelet" else {}
            if extra.get("battery", 1) <= 0:
                continue  # flat: no heartbeat, so the platform sees it go offline
            out.append(status(d.device_id, round(t, 3), "heartbeat", firmware=FIRMWARE, **extra))
    return out


def _battery_at(v: Vitals, t: float) -> int:
    i = max(0, int(np.searchsorted(v.t, t)) - 1)
    return round(float(v.battery[i]))


def silenced(drafts: list[Draft], p: Placed) -> list[Draft]:
    """Drop what the device would have sent while it was off, and add its going and coming back."""
    assert p.kind.silence is not None
    kept = [d for d in drafts if not (d.publisher == p.publisher and p.start <= d.t < p.end)]
    if p.kind.silence.offline_reason is not None:
        kept.append(status(p.publisher, p.start, p.kind.silence.offline_reason, state="offline"))
    kept.append(status(p.publisher, p.end, p.kind.silence.back_reason, firmware=FIRMWARE))
    return kept
