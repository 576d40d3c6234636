"""Incident kinds: how each one bends a resident's day and what it leaves in the messages.

Each kind is one row of `INCIDENT_KINDS`: when in the (local) day it may start, how long it lasts,
how it is placed into the plan, which device carries its signature, and the extra events, vitals
overrides or silence it causes. The model applies them; the ground-truth file records them.

A scenario that runs around the clock (the demo: ``[incidents] around_the_clock = true``) lets the
kinds that have an ``any_hour`` placer start at any hour, placed by it: a fall at 03:00 happens
beside the bed (the resident got up), an SOS or a leak when it comes. The other kinds keep their window.

=====================  ==============  =================================================================
kind                   device          signature in the messages
=====================  ==============  =================================================================
fall                   bracelet        ``impact`` event (1 s upright ≈1 g, free-fall dip < 0.5 g, spike
                                       ≥ 3 g, 2 s still ≈1 g), in 60 % of falls a ``fall`` event a few
                                       seconds later; then a long lie: no motion event anywhere for the
                                       incident's 20–90 min, bracelet steps flat
sos                    bracelet        ``sos`` event at start (start = end)
ok_cancel              bracelet        ``fall`` or ``sos`` event, then an ``ok`` event 10–60 s later (end)
unwell_in_bed          bed             bed stays ``occupied`` past the usual waking time: no ``vacated``
                                       and no motion event for 2–5 h from start
stuck_in_bathroom      bathroom        bathroom ``occupied`` at start, no ``vacated`` and no motion in
                                       other rooms for 60–180 min
night_wandering        door-front      01:00–04:00: bed ``vacated``, front door ``open``/``closed``,
                                       no further door event for 1–3 h; when worn, the bracelet
                                       reports a location moving away from home
tachycardia            bracelet        worn telemetry heart_rate 120–170 at rest for 20–60 min
bradycardia            bracelet        worn telemetry heart_rate 25–44 (an episode's level 30–36) for 20–60 min
low_spo2               bracelet        worn telemetry spo2 80–89 for 20–60 min
smoke                  smoke           smoke ``alarm`` at start, ``clear`` at end (5–20 min)
gas                    gas             gas ``alarm`` at start, ``clear`` at end (5–20 min)
water_leak             water-leak      water_leak ``alarm`` at start, ``clear`` at end (10–60 min)
power_loss             hub (bracelet   no message at all from the publishing device for 30–180 min (no
                       without hub)    offline status), then a retained ``online`` status, reason
                                       ``power_restored``
clean_disconnect       bracelet        retained ``offline`` status, reason ``shutdown``, at start; silence;
                                       ``online`` status, reason ``reconnect``, at end (30–120 min)
low_battery            bracelet        telemetry battery falls from 19 % to 2 % over 2–6 h, status
                                       heartbeats report it too
not_worn_all_day       bracelet        from waking to bedtime every telemetry has ``worn: false`` and
                                       no heart rate, SpO2 or skin temperature
=====================  ==============  =================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from gateway.contract import FallEvent, GasEvent, ImpactEvent, OkEvent, SmokeEvent, SosEvent, WaterLeakEvent
from simulators.fleet import Device, Resident
from simulators.messages import Draft, bracelet_event, sensor_event
from simulators.routine import ACTIVITIES, HOUR, MINUTE, Activity, Segment
from simulators.signals import BoolArray, Vitals, impact_window

Plan = list[Segment]
Placer = Callable[[Plan, float, float], tuple[float, float, Plan] | None]
Emitter = Callable[[Resident, float, float, np.random.Generator], list[Draft]]
VitalsEdit = Callable[[Vitals, BoolArray, np.random.Generator], None]


@dataclass(frozen=True, slots=True)
class Silence:
    """A device that stops talking: what it says when it goes and when it comes back."""

    offline_reason: str | None  # None: it just goes quiet
    back_reason: str


@dataclass(frozen=True, slots=True)
class IncidentKind:
    """One kind of incident and everything the model needs to inject it."""

    name: str
    window_h: tuple[float, float]  # local hours in which it may start
    duration_s: tuple[float, float]
    place: Placer
    device: Callable[[Resident], Device]
    events: Emitter | None = None
    vitals: VitalsEdit | None = None
    silence: Silence | None = None
    any_hour: Placer | None = None  # how it is placed outside its window when a scenario runs around the clock


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident scheduled for a resident: its kind, nominal start and duration."""

    kind: str
    resident: str
    start: float
    duration: float


def overlay(plan: Plan, start: float, end: float, activity: Activity, worn: bool | None = None) -> Plan:
    """Return the plan with ``activity`` from ``start`` to ``end`` in place of whatever was planned."""
    at = segment_at(plan, start)
    new = Segment(start, end, activity, at.worn if worn is None else worn, at.charging and worn is not True)
    out = []
    for s in plan:
        if s.start < start:
            out.append(replace(s, end=min(s.end, start)))
        if s.end > end:
            out.append(replace(s, start=max(s.start, end)))
    return sorted([*out, new], key=lambda s: s.start)


def segment_at(plan: Plan, t: float) -> Segment:
    """Return the segment under way at ``t``."""
    for s in plan:
        if s.start <= t < s.end:
            return s
    return plan[-1]


def _awake_at_home(plan: Plan, t: float, duration: float, *, in_bed_too: bool = False) -> float | None:
    """Return the first time from ``t`` on when the resident is up (or, ``in_bed_too``, in bed) and at home."""
    day_end = plan[-1].end
    for s in plan:
        if s.end > t and s.activity.room is not None and (in_bed_too or not s.activity.in_bed):
            start = max(t, s.start)
            return start if start + duration < day_end - MINUTE else None
    return None


def _in_place(activity: str, *, worn: bool | None = None, keep_room: bool = False, in_bed_too: bool = False) -> Placer:
    def place(plan: Plan, t: float, duration: float) -> tuple[float, float, Plan] | None:
        start = _awake_at_home(plan, t, duration, in_bed_too=in_bed_too)
        if start is None:
            return None
        act = ACTIVITIES[activity]
        if keep_room:
            act = replace(act, room=segment_at(plan, start).activity.room)
        return start, start + duration, overlay(plan, start, start + duration, act, worn)

    return place


def _as_planned(plan: Plan, t: float, duration: float) -> tuple[float, float, Plan] | None:
    return (t, t + duration, plan) if t + duration < plan[-1].end else None


def _on_waking(plan: Plan, t: float, duration: float) -> tuple[float, float, Plan] | None:
    wake = next((s.start for s in plan if s.activity.name == "dress"), None)
    if wake is None:
        return None
    return wake, wake + duration, overlay(plan, wake, wake + duration, ACTIVITIES["unwell"])


def _at_night(plan: Plan, t: float, duration: float) -> tuple[float, float, Plan] | None:
    s = segment_at(plan, t)
    if s.activity.name != "sleep":
        return None
    plan = overlay(plan, t, t + MINUTE, ACTIVITIES["confused"])
    return t, t + duration, overlay(plan, t + MINUTE, t + duration, ACTIVITIES["wandering"])


def _whole_day(plan: Plan, t: float, duration: float) -> tuple[float, float, Plan] | None:
    wake = next((s.start for s in plan if s.activity.name == "dress"), None)
    bed = next((s.start for s in reversed(plan) if s.activity.name != "sleep"), None)
    if wake is None or bed is None:
        return None
    # Off the wrist all day, yet the evening charge goes on as planned: a day without the bracelet does not
    # also flatten its battery tomorrow, which the ground truth would not claim.
    off = [replace(s, worn=False) if wake <= s.start < bed else s for s in plan]
    return wake, bed, off


def _fall(resident: Resident, start: float, end: float, rng: np.random.Generator) -> list[Draft]:
    rate = float(rng.choice([20.0, 25.0, 50.0]))
    drafts = [bracelet_event(resident, start - 1.4, ImpactEvent, rate_hz=rate, samples=impact_window(rng, rate))]
    if rng.random() < 0.6:
        conf = round(float(rng.uniform(0.6, 0.98)), 2)
        drafts.append(bracelet_event(resident, start + float(rng.uniform(2, 6)), FallEvent, confidence=conf))
    return drafts


def _sos(resident: Resident, start: float, end: float, rng: np.random.Generator) -> list[Draft]:
    return [bracelet_event(resident, start, SosEvent)]


def _ok_cancel(resident: Resident, start: float, end: float, rng: np.random.Generator) -> list[Draft]:
    first = FallEvent if rng.random() < 0.5 else SosEvent
    return [bracelet_event(resident, start, first), bracelet_event(resident, end, OkEvent)]


def _alarm(kind: str, model: type[SmokeEvent | GasEvent | WaterLeakEvent]) -> Emitter:
    def emit(resident: Resident, start: float, end: float, rng: np.random.Generator) -> list[Draft]:
        device = resident.device(kind)
        return [sensor_event(device, start, model, state="alarm"), sensor_event(device, end, model, state="clear")]

    return emit


def _heart_rate(lo: float, hi: float) -> VitalsEdit:
    def edit(v: Vitals, mask: BoolArray, rng: np.random.Generator) -> None:
        m = mask & v.worn
        v.heart_rate[m] = np.clip(rng.uniform(lo, hi) + rng.normal(0, 3, int(m.sum())), lo - 5, hi + 8)

    return edit


def _low_spo2(v: Vitals, mask: BoolArray, rng: np.random.Generator) -> None:
    m = mask & v.worn
    v.spo2[m] = np.clip(rng.uniform(84, 88) + rng.normal(0, 1.0, int(m.sum())), 80, 89)


def _low_battery(v: Vitals, mask: BoolArray, rng: np.random.Generator) -> None:
    v.battery[mask] = np.linspace(19.0, 2.0, int(mask.sum()))


def _bracelet(r: Resident) -> Device:
    return r.device("bracelet")


def _sensor(kind: str) -> Callable[[Resident], Device]:
    return lambda r: r.device(kind)


def _hub_or_bracelet(r: Resident) -> Device:
    return r.device("hub") if r.home.hub_id else r.device("bracelet")


_M, _H = MINUTE, HOUR
INCIDENT_KINDS: Final[dict[str, IncidentKind]] = {
    k.name: k
    for k in (
        IncidentKind(
            "fall",
            (7, 21),
            (20 * _M, 90 * _M),
            _in_place("fallen", worn=True, keep_room=True),
            _bracelet,
            events=_fall,
            # at night: up from bed (bracelet on the wrist) and down beside it
            any_hour=_in_place("fallen", worn=True, keep_room=True, in_bed_too=True),
        ),
        IncidentKind("sos", (7, 22), (0, 0), _as_planned, _bracelet, events=_sos, any_hour=_as_planned),
        IncidentKind("ok_cancel", (8, 20), (10, 60), _as_planned, _bracelet, events=_ok_cancel, any_hour=_as_planned),
        IncidentKind("unwell_in_bed", (5, 9), (2 * _H, 5 * _H), _on_waking, _sensor("bed")),
        IncidentKind("stuck_in_bathroom", (8, 20), (60 * _M, 180 * _M), _in_place("stuck"), _sensor("bathroom")),
        IncidentKind("night_wandering", (1, 4), (1 * _H, 3 * _H), _at_night, _sensor("door")),
        IncidentKind(
            "tachycardia",
            (8, 20),
            (20 * _M, 60 * _M),
            _in_place("resting", worn=True),
            _bracelet,
            vitals=_heart_rate(125, 160),
        ),
        IncidentKind(
            "bradycardia",
            (8, 20),
            (20 * _M, 60 * _M),
            _in_place("resting", worn=True),
            _bracelet,
            vitals=_heart_rate(30, 36),  # clearly below the 40 bpm alarm limit, as tachycardia is above 120
        ),
        IncidentKind(
            "low_spo2", (8, 20), (20 * _M, 60 * _M), _in_place("resting", worn=True), _bracelet, vitals=_low_spo2
        ),
        IncidentKind(
            "smoke",
            (10, 19),
            (5 * _M, 20 * _M),
            _in_place("cook"),
            _sensor("smoke"),
            events=_alarm("smoke", SmokeEvent),
            any_hour=_as_planned,  # a detector sounding in the night, whatever the resident is doing
        ),
        IncidentKind(
            "gas",
            (10, 19),
            (5 * _M, 20 * _M),
            _in_place("cook"),
            _sensor("gas"),
            events=_alarm("gas", GasEvent),
            any_hour=_as_planned,
        ),
        IncidentKind(
            "water_leak",
            (8, 20),
            (10 * _M, 60 * _M),
            _as_planned,
            _sensor("water_leak"),
            events=_alarm("water_leak", WaterLeakEvent),
            any_hour=_as_planned,
        ),
        IncidentKind(
            "power_loss",
            (0, 22),
            (30 * _M, 180 * _M),
            _as_planned,
            _hub_or_bracelet,
            silence=Silence(None, "power_restored"),
            any_hour=_as_planned,
        ),
        IncidentKind(
            "clean_disconnect",
            (0, 22),
            (30 * _M, 120 * _M),
            _as_planned,
            _bracelet,
            silence=Silence("shutdown", "reconnect"),
            any_hour=_as_planned,
        ),
        IncidentKind("low_battery", (8, 16), (2 * _H, 6 * _H), _as_planned, _bracelet, vitals=_low_battery),
        IncidentKind("not_worn_all_day", (5, 9), (12 * _H, 16 * _H), _whole_day, _bracelet),
    )
}
