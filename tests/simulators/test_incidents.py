"""Each incident kind leaves the signature documented in `simulators.incidents`."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pytest

from gateway.contract import (
    BathroomEvent,
    BedEvent,
    DoorEvent,
    FallEvent,
    GasEvent,
    ImpactEvent,
    MotionEvent,
    OkEvent,
    Record,
    SmokeEvent,
    SosEvent,
    Status,
    Telemetry,
    WaterLeakEvent,
)
from simulators.incidents import INCIDENT_KINDS
from simulators.messages import Truth
from simulators.signals import Vitals

from .factories import Run

Check = Callable[[Run, Truth], None]
LOCAL = 8 * 3600


def ts(r: Record) -> float:
    return r.body.ts.timestamp()


def of(run: Run, resident: str, lo: float, hi: float, model: type | None = None) -> list[Record]:
    """Return the resident's records with device time in [lo, hi)."""
    return [r for r in run.by_resident[resident] if lo <= ts(r) < hi and (model is None or isinstance(r.body, model))]


def worn_telemetry(run: Run, t: Truth) -> list[Telemetry]:
    tele = [r.body for r in of(run, t.resident, t.start, t.end, Telemetry)]
    return [b for b in tele if isinstance(b, Telemetry) and b.worn]


def check_fall(run: Run, t: Truth) -> None:
    impacts = of(run, t.resident, t.start - 2, t.start, ImpactEvent)
    assert len(impacts) == 1
    body = impacts[0].body
    assert isinstance(body, ImpactEvent) and 20 <= body.rate_hz <= 50
    mags = [math.sqrt(x * x + y * y + z * z) for x, y, z in body.samples]
    assert 0.8 < mags[0] < 1.2 and min(mags) < 0.5 and max(mags) >= 3.0
    still = mags[-int(2 * body.rate_hz) :]
    assert all(0.9 < m < 1.1 for m in still)
    assert len(of(run, t.resident, t.start, t.start + 10, FallEvent)) <= 1
    assert not of(run, t.resident, t.start + 60, t.end, MotionEvent)  # the long lie
    steps = {b.steps for b in worn_telemetry(run, t)[1:]}
    assert len(steps) <= 1


def check_sos(run: Run, t: Truth) -> None:
    assert t.start == t.end
    assert [ts(r) for r in of(run, t.resident, t.start, t.start + 1, SosEvent)] == [pytest.approx(t.start, abs=1e-3)]


def check_ok_cancel(run: Run, t: Truth) -> None:
    first = of(run, t.resident, t.start, t.start + 1, FallEvent) + of(run, t.resident, t.start, t.start + 1, SosEvent)
    assert len(first) == 1
    assert len(of(run, t.resident, t.end, t.end + 1, OkEvent)) == 1
    assert 10 <= t.end - t.start <= 60


def check_unwell_in_bed(run: Run, t: Truth) -> None:
    before = of(run, t.resident, t.start - 12 * 3600, t.start, BedEvent)
    assert not before or getattr(before[-1].body, "state", None) == "occupied"  # none: in bed since the run began
    assert not of(run, t.resident, t.start, t.end, BedEvent)
    assert not of(run, t.resident, t.start, t.end, MotionEvent)
    assert t.end - t.start >= 2 * 3600


def check_stuck_in_bathroom(run: Run, t: Truth) -> None:
    entered = of(run, t.resident, t.start, t.start + 10, BathroomEvent)
    assert [getattr(e.body, "state", None) for e in entered] == ["occupied"]
    assert len(of(run, t.resident, t.start, t.end, BathroomEvent)) == 1
    rooms = {getattr(m.body, "room", None) for m in of(run, t.resident, t.start + 30, t.end, MotionEvent)}
    assert rooms <= {"bathroom"}
    assert t.end - t.start >= 3600


def check_night_wandering(run: Run, t: Truth) -> None:
    assert 1 <= ((t.start + LOCAL) % 86400) / 3600 < 4
    bed = of(run, t.resident, t.start, t.start + 60, BedEvent)
    assert [getattr(b.body, "state", None) for b in bed] == ["vacated"]
    doors = of(run, t.resident, t.start, t.end, DoorEvent)
    assert [getattr(d.body, "state", None) for d in doors] == ["open", "closed"]
    assert ts(doors[-1]) < t.start + 120  # then no door for the rest of the incident
    assert t.end - t.start >= 3600
    fixes = [b.location for b in worn_telemetry(run, t) if b.location is not None]
    home = next(r.home for r in run.sim.fleet if r.resident_id == t.resident)
    if fixes:
        far = max(math.hypot(f.lat - home.lat, (f.lon - home.lon) * math.cos(math.radians(home.lat))) for f in fixes)
        assert far * 111_320 > 200


def vitals(field: str, lo: float, hi: float) -> Check:
    def check(run: Run, t: Truth) -> None:
        values = [getattr(b, field) for b in worn_telemetry(run, t)]
        assert values and all(lo <= v <= hi for v in values)
        assert 20 * 60 <= t.end - t.start <= 60 * 60

    return check


def alarm(model: type) -> Check:
    def check(run: Run, t: Truth) -> None:
        events = of(run, t.resident, t.start, t.end + 1, model)
        assert [getattr(e.body, "state", None) for e in events] == ["alarm", "clear"]
        assert ts(events[0]) == pytest.approx(t.start, abs=1e-3) and ts(events[1]) == pytest.approx(t.end, abs=1e-3)
        assert all((getattr(e.body, "sensor_id", None) or e.device_id) == t.device for e in events)

    return check


def silence(offline: str | None, back: str) -> Check:
    def check(run: Run, t: Truth) -> None:
        publisher = next(d.publishes_as for r in run.sim.fleet for d in r.devices if d.device_id == t.device)
        sent = [r for r in run.by_resident[t.resident] if r.device_id == publisher and t.start <= ts(r) <= t.end]
        statuses = [r.body for r in sent if isinstance(r.body, Status)]
        assert len(sent) == len(statuses) == (2 if offline else 1)
        if offline:
            assert (statuses[0].state, statuses[0].reason) == ("offline", offline)
        assert (statuses[-1].state, statuses[-1].reason) == ("online", back)

    return check


def check_low_battery(run: Run, t: Truth) -> None:
    levels = [r.body.battery for r in of(run, t.resident, t.start, t.end, Telemetry)]  # type: ignore[union-attr]
    assert levels and max(levels) <= 19 and min(levels) < 10
    beats = [r.body for r in of(run, t.resident, t.start + 60, t.end, Status) if r.device_id == t.device]
    assert all(b.battery is not None and b.battery <= 19 for b in beats if isinstance(b, Status))


def check_not_worn_all_day(run: Run, t: Truth) -> None:
    tele = [r.body for r in of(run, t.resident, t.start, t.end, Telemetry)]
    assert len(tele) > 12 * 60 and all(isinstance(b, Telemetry) and not b.worn and b.heart_rate is None for b in tele)
    assert t.end - t.start > 12 * 3600


SIGNATURES: dict[str, Check] = {
    "fall": check_fall,
    "sos": check_sos,
    "ok_cancel": check_ok_cancel,
    "unwell_in_bed": check_unwell_in_bed,
    "stuck_in_bathroom": check_stuck_in_bathroom,
    "night_wandering": check_night_wandering,
    "tachycardia": vitals("heart_rate", 120, 170),
    "bradycardia": vitals("heart_rate", 25, 44),
    "low_spo2": vitals("spo2", 80, 89),
    "smoke": alarm(SmokeEvent),
    "gas": alarm(GasEvent),
    "water_leak": alarm(WaterLeakEvent),
    "power_loss": silence(None, "power_restored"),
    "clean_disconnect": silence("shutdown", "reconnect"),
    "low_battery": check_low_battery,
    "not_worn_all_day": check_not_worn_all_day,
}


def test_every_kind_has_a_signature_check() -> None:
    assert set(SIGNATURES) == set(INCIDENT_KINDS)


@pytest.mark.parametrize("kind", sorted(INCIDENT_KINDS))
def test_incident_leaves_its_signature(incidents_run: Run, kind: str) -> None:
    truths = [t for t in incidents_run.truths if t.kind == kind]
    assert truths, f"no {kind} was placed"
    for t in truths:
        SIGNATURES[kind](incidents_run, t)


def test_ground_truth_lines_are_iso_8601(incidents_run: Run) -> None:
    for t in incidents_run.truths:
        line = t.as_json()
        assert set(line) == {"resident", "device", "kind", "start", "end"}
        assert datetime.fromisoformat(line["start"]) <= datetime.fromisoformat(line["end"])
        assert line["device"].startswith(line["resident"] + "-")


# The platform's alarm limits (alerts.detectors.vitals.Limits); simulators may not import alerts.
ALARM_LIMITS: dict[str, tuple[str, float, bool]] = {
    "tachycardia": ("heart_rate", 120, True),
    "bradycardia": ("heart_rate", 40, False),
    "low_spo2": ("spo2", 90, False),
}


def resting_vitals(n: int) -> Vitals:
    """Build ``n`` worn readings of a resident at rest, 45 s apart."""
    t = np.arange(n) * 45.0
    level = {"heart_rate": 70.0, "spo2": 97.0, "steps": 0.0, "battery": 80.0, "skin_temp_c": 33.0}
    nan = np.full(n, np.nan)
    return Vitals(t, **{k: np.full(n, v) for k, v in level.items()}, worn=np.ones(n, bool), lat=nan, lon=nan)


@pytest.mark.parametrize("kind", sorted(ALARM_LIMITS))
def test_every_vital_sign_episode_is_beyond_the_alarm_limit(kind: str) -> None:
    # An episode the ground truth calls bradycardia must be one by the platform's definition: a level that
    # straddles the limit (the old 33-42 bpm) made incidents the detector rightly does not raise.
    field, limit, above = ALARM_LIMITS[kind]
    edit = INCIDENT_KINDS[kind].vitals
    assert edit is not None
    for seed in range(300):
        v = resting_vitals(40)  # 30 min
        edit(v, np.ones(40, bool), np.random.default_rng(seed))
        readings = np.round(getattr(v, field))
        beyond = readings > limit if above else readings < limit
        assert beyond.mean() >= 0.75, f"{kind}, seed {seed}: median {np.median(readings)}"
