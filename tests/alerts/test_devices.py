"""Device health: a device times out by its own reporting rhythm, telemetry or status heartbeats."""

from __future__ import annotations

from datetime import datetime, timedelta

from alerts.detectors import DeviceHealthDetector
from alerts.findings import Observation
from gateway.contract import MotionEvent, Status
from tests.alerts.detector_factories import HUB, START, ev, obs, raised, replay, telemetry

T0 = START + timedelta(hours=9)


def _hub_beat(at: datetime) -> Observation:
    return obs(Status(seq=1, ts=at, state="online", reason="heartbeat"), device=HUB)


def _hub_day(power_off: datetime, power_on: datetime) -> list[Observation]:
    """A hub's 5-min heartbeats and some relayed motion, with a power cut (no last will) in between."""
    beats = [_hub_beat(T0 + timedelta(minutes=5 * i)) for i in range(12 * 12)]
    motion = [ev(MotionEvent, T0 + timedelta(minutes=7 * i), room="kitchen") for i in range(100)]
    return [o for o in beats + motion if not power_off <= o.record.body.ts < power_on]


def test_a_silent_hub_is_offline_after_three_missed_heartbeats() -> None:
    off, on = T0 + timedelta(hours=2, minutes=1), T0 + timedelta(hours=3)
    found = replay(DeviceHealthDetector(), _hub_day(off, on), T0, T0 + timedelta(hours=6), timedelta(minutes=1))
    [down] = raised(found)
    assert down.kind == "device_offline" and down.device_id == HUB
    assert timedelta(minutes=10) <= down.at - off <= timedelta(minutes=16)
    [back] = [f for f in found if f.cancels]
    assert back.at >= on


def test_a_hub_beating_normally_raises_nothing() -> None:
    never = T0 + timedelta(days=2)
    assert (
        replay(DeviceHealthDetector(), _hub_day(never, never), T0, T0 + timedelta(hours=12), timedelta(minutes=1)) == []
    )


def test_a_device_whose_rhythm_is_unknown_is_not_timed_out() -> None:
    two = [_hub_beat(T0), _hub_beat(T0 + timedelta(minutes=5))]
    assert replay(DeviceHealthDetector(), two, T0, T0 + timedelta(hours=6), timedelta(minutes=5)) == []


def test_the_floor_keeps_a_chatty_bracelet_from_flapping() -> None:
    readings = [telemetry(T0 + timedelta(seconds=30 * i)) for i in range(20)]
    devices = DeviceHealthDetector(offline_floor=timedelta(minutes=10))
    found = raised(replay(devices, readings, T0, T0 + timedelta(minutes=30), timedelta(minutes=1)))
    assert [f.at - readings[-1].record.body.ts >= timedelta(minutes=10) for f in found] == [True]


def test_an_outage_does_not_stretch_the_usual_interval() -> None:
    off, on = T0 + timedelta(hours=1, minutes=1), T0 + timedelta(hours=4)
    beats = _hub_day(off, on)
    second = on + timedelta(hours=2)
    found = raised(
        replay(
            DeviceHealthDetector(),
            [o for o in beats if o.record.body.ts < second],
            T0,
            second + timedelta(hours=1),
            timedelta(minutes=1),
        )
    )
    assert len(found) == 2 and found[1].at - second <= timedelta(minutes=16)
