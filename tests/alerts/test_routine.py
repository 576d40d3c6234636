"""Whereabouts: lying down, stirring in bed, getting up with or without the mat noticing."""

from __future__ import annotations

from datetime import timedelta

from alerts.detectors import InactivityDetector
from alerts.detectors.routine import Whereabouts
from alerts.detectors.signals import StepWatch
from gateway.contract import BathroomEvent, BedEvent, DoorEvent, MotionEvent
from tests.alerts.detector_factories import PROFILE, RID, START, ev, normal_week, raised, replay, telemetry

NIGHT = START + timedelta(hours=22)


def _where(
    *events: tuple[type[BedEvent | MotionEvent | BathroomEvent | DoorEvent], timedelta, dict[str, str]],
) -> Whereabouts:
    where = Whereabouts()
    for cls, after, fields in events:
        o = ev(cls, NIGHT + after, **fields)
        where.update(o.record.body, o.record.body.ts)
    return where


def test_bedroom_motion_just_after_lying_down_is_still_in_bed() -> None:
    where = _where(
        (BedEvent, timedelta(0), {"state": "occupied"}), (MotionEvent, timedelta(seconds=6), {"room": "bedroom"})
    )
    assert where.in_bed and where.resting(NIGHT + timedelta(hours=8))


def test_a_lone_bedroom_trigger_in_the_night_is_turning_over() -> None:
    where = _where(
        (BedEvent, timedelta(0), {"state": "occupied"}), (MotionEvent, timedelta(hours=3), {"room": "bedroom"})
    )
    assert where.in_bed


def test_movement_in_another_room_gets_the_resident_up() -> None:
    where = _where(
        (BedEvent, timedelta(0), {"state": "occupied"}), (MotionEvent, timedelta(seconds=6), {"room": "hall"})
    )
    assert not where.in_bed and where.last_up == NIGHT + timedelta(seconds=6)


def test_walking_about_the_bedroom_gets_up_though_the_mat_missed_it() -> None:
    walk = [(MotionEvent, timedelta(hours=2, minutes=m), {"room": "bedroom"}) for m in (0, 2, 4)]
    where = _where((BedEvent, timedelta(0), {"state": "occupied"}), *walk)
    assert not where.in_bed and where.last_up == NIGHT + timedelta(hours=2, minutes=4)


def test_a_stuck_mat_rests_nobody_for_ever() -> None:
    where = _where((BedEvent, timedelta(0), {"state": "occupied"}))
    assert where.resting(NIGHT + timedelta(hours=12))
    assert not where.resting(NIGHT + timedelta(hours=17))


def test_a_night_with_the_pir_after_the_mat_raises_nothing() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    night = [
        ev(MotionEvent, NIGHT - timedelta(minutes=1), room="bedroom"),
        ev(BedEvent, NIGHT, state="occupied"),
        ev(MotionEvent, NIGHT + timedelta(seconds=5), room="bedroom"),
        ev(MotionEvent, NIGHT + timedelta(hours=4), room="bedroom"),  # turning over
        ev(BedEvent, NIGHT + timedelta(hours=9), state="vacated"),
        ev(MotionEvent, NIGHT + timedelta(hours=9, seconds=5), room="bedroom"),
    ]
    found = replay(detector, night, NIGHT, NIGHT + timedelta(hours=9, minutes=10), timedelta(minutes=5))
    assert raised(found) == []


def test_the_bathroom_vacated_after_lying_down_is_no_getting_up() -> None:
    where = _where(
        (BedEvent, timedelta(0), {"state": "occupied"}),
        (BathroomEvent, timedelta(seconds=1), {"state": "vacated"}),
        (MotionEvent, timedelta(seconds=3), {"room": "bedroom"}),
    )
    assert where.in_bed


def test_a_door_swinging_shut_after_lying_down_is_no_getting_up() -> None:
    where = _where(
        (DoorEvent, timedelta(seconds=-8), {"door": "front", "state": "open"}),
        (BedEvent, timedelta(0), {"state": "occupied"}),
        (DoorEvent, timedelta(seconds=2), {"door": "front", "state": "closed"}),
        (MotionEvent, timedelta(seconds=15), {"room": "bedroom"}),
    )
    assert where.in_bed and not where.away


def test_steps_caught_up_after_a_disconnection_are_not_walking() -> None:
    watch = StepWatch()
    first, later = telemetry(NIGHT, steps=100), telemetry(NIGHT + timedelta(minutes=30), steps=120)
    assert not watch.walked(RID, first.record.body)  # type: ignore[arg-type]
    assert not watch.walked(RID, later.record.body)  # type: ignore[arg-type]
    now = telemetry(NIGHT + timedelta(minutes=31), steps=140)
    assert watch.walked(RID, now.record.body)  # type: ignore[arg-type]


def test_a_door_swinging_shut_after_entering_the_bathroom_keeps_the_visit() -> None:
    where = _where(
        (DoorEvent, timedelta(seconds=-4), {"door": "front", "state": "open"}),
        (BathroomEvent, timedelta(0), {"state": "occupied"}),
        (DoorEvent, timedelta(seconds=9), {"door": "front", "state": "closed"}),
        (MotionEvent, timedelta(seconds=18), {"room": "bathroom"}),
    )
    assert where.bathroom_since == NIGHT and not where.away


def test_moving_in_another_room_ends_the_bathroom_visit() -> None:
    where = _where(
        (BathroomEvent, timedelta(0), {"state": "occupied"}), (MotionEvent, timedelta(minutes=3), {"room": "kitchen"})
    )
    assert where.bathroom_since is None


def test_going_out_then_coming_home_through_the_front_door() -> None:
    leave = [
        (DoorEvent, timedelta(0), {"door": "front", "state": "open"}),
        (DoorEvent, timedelta(seconds=6), {"door": "front", "state": "closed"}),
    ]
    assert _where(*leave).away
    back = [
        (DoorEvent, timedelta(hours=2), {"door": "front", "state": "open"}),
        (DoorEvent, timedelta(hours=2, seconds=5), {"door": "front", "state": "closed"}),
    ]
    home = _where(*leave, *back)
    assert not home.away and not home.resting(NIGHT + timedelta(hours=3))


def test_a_fall_in_the_hall_just_after_coming_home_is_raised() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    day = START + timedelta(hours=15)
    trip = [
        ev(MotionEvent, day - timedelta(minutes=5), room="hall"),
        ev(DoorEvent, day, door="front", state="open"),
        ev(DoorEvent, day + timedelta(seconds=8), door="front", state="closed"),
        ev(DoorEvent, day + timedelta(hours=1), door="front", state="open"),  # home again, then nothing
        ev(DoorEvent, day + timedelta(hours=1, seconds=6), door="front", state="closed"),
    ]
    found = raised(replay(detector, trip, day, day + timedelta(hours=8), timedelta(minutes=5)))
    assert [f.kind for f in found][:1] == ["inactivity"]
    assert found[0].at - (day + timedelta(hours=1)) > timedelta(minutes=30)


def test_the_bed_mat_vacated_after_entering_the_bathroom_keeps_the_visit() -> None:
    where = _where(
        (BedEvent, timedelta(hours=-2), {"state": "occupied"}),
        (BathroomEvent, timedelta(0), {"state": "occupied"}),
        (BedEvent, timedelta(seconds=1), {"state": "vacated"}),
        (MotionEvent, timedelta(seconds=3), {"room": "bathroom"}),
    )
    assert where.bathroom_since == NIGHT and not where.in_bed
