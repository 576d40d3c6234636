"""Focused checks per detector: explanations, the cancel window, leaving home and sleep, cold-start limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal

from alerts.detectors import (
    DetectorSet,
    DeviceHealthDetector,
    EnvironmentDetector,
    FallDetector,
    InactivityDetector,
    LongLieDetector,
    SosDetector,
    VitalsDetector,
    standard_detectors,
)
from alerts.detectors.base import duration_text
from alerts.detectors.inactivity import Tuning
from alerts.detectors.silence import SilenceSettings
from alerts.findings import Finding, Observation
from alerts.kinds import ALERT_KINDS, Severity
from gateway.contract import (
    BathroomEvent,
    BedEvent,
    DoorEvent,
    FallEvent,
    GasEvent,
    MotionEvent,
    OkEvent,
    SosEvent,
    Status,
)
from tests.alerts.detector_factories import (
    BRACELET,
    HUB,
    PROFILE,
    START,
    ev,
    normal_week,
    obs,
    raised,
    replay,
    telemetry,
)

T0 = START + timedelta(hours=15)


def test_every_kind_a_detector_emits_is_in_the_table() -> None:
    for detector in standard_detectors():
        assert set(detector.kinds) <= set(ALERT_KINDS), type(detector).__name__


def test_ok_within_window_cancels_the_fall() -> None:
    fall = FallDetector(cancel_window=timedelta(seconds=60))
    [raised_] = fall.observe(ev(FallEvent, T0, confidence=0.9))
    assert raised_.severity is Severity.CRITICAL and "90%" in raised_.explanation
    [cancel] = fall.observe(ev(OkEvent, T0 + timedelta(seconds=40)))
    assert cancel.cancels and cancel.kind == "fall" and "I'm OK" in cancel.explanation


def test_late_ok_is_reported_but_does_not_cancel() -> None:
    sos = SosDetector(cancel_window=timedelta(seconds=60))
    sos.observe(ev(SosEvent, T0))
    [note] = sos.observe(ev(OkEvent, T0 + timedelta(minutes=3)))
    assert not note.cancels and note.details["ok_late"] is True and "outside" in note.explanation


def test_repeated_sos_is_one_episode() -> None:
    sos = SosDetector()
    assert len(sos.observe(ev(SosEvent, T0))) == 1
    assert sos.observe(ev(SosEvent, T0 + timedelta(seconds=10))) == []
    assert len(sos.observe(ev(SosEvent, T0 + timedelta(minutes=10)))) == 1


def test_inactivity_explains_itself_against_the_routine() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    found = raised(
        replay(detector, [ev(MotionEvent, T0, room="kitchen")], T0, T0 + timedelta(hours=6), timedelta(minutes=1))
    )
    [alert] = [f for f in found if f.kind == "inactivity"]
    assert alert.explanation.startswith("no movement for ") and " since the kitchen; " in alert.explanation
    assert "usually the next activity follows within" in alert.explanation
    assert "厨房" in alert.explanation_zh and "无活动" in alert.explanation_zh
    # Movement afterwards answers it, and a new silence can raise again.
    [answer] = detector.observe(ev(MotionEvent, alert.at + timedelta(minutes=5), room="hall"))
    assert answer.cancels and answer.kind == "inactivity"


def _quiet_after(kitchen: datetime, hours: float, tuning: Tuning) -> list[Finding]:
    """Replay a learned resident's silence after the kitchen at ``kitchen``, a tick a minute."""
    detector = InactivityDetector(tuning=tuning)
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    stream = [ev(MotionEvent, kitchen, room="kitchen")]
    return raised(replay(detector, stream, kitchen, kitchen + timedelta(hours=hours), timedelta(minutes=1)))


def test_a_daytime_silence_is_raised_at_the_ceiling_even_when_the_model_would_wait() -> None:
    # An alpha no pause reaches: the model alone would wait (the longest limit, a day).
    patient = Tuning(alpha=1e-12, day_ceiling=timedelta(hours=4))
    assert _quiet_after(T0, 6, replace(patient, day_ceiling=None)) == []
    [alert] = _quiet_after(T0, 6, patient)
    assert alert.kind == "inactivity" and alert.at - T0 == timedelta(hours=4)
    assert alert.details["by"] == "ceiling" and alert.details["limit_s"] == 4 * 3600
    assert alert.details["survival"] > patient.alpha  # type: ignore[operator]
    assert alert.explanation.startswith(
        "no movement for 4 h since the kitchen; 4 h is the most this platform waits in the daytime ("
    )
    assert "the routine alone would wait " in alert.explanation
    assert alert.explanation_zh.startswith("自厨房起已4小时无活动；白天最长等待4小时（")


def test_the_ceiling_is_that_of_the_time_of_day_the_silence_began() -> None:
    # Quiet from 20:30: still the daytime's ceiling past 22:00, not the night's.
    evening = START + timedelta(hours=20, minutes=30)
    [alert] = _quiet_after(evening, 4, Tuning(alpha=1e-12, day_ceiling=timedelta(hours=3)))
    assert alert.at - evening == timedelta(hours=3) and "白天最长等待3小时" in alert.explanation_zh
    # Below alpha first, the model's own explanation.
    [early] = _quiet_after(T0, 6, Tuning(day_ceiling=timedelta(hours=6)))
    assert early.details["by"] == "survival" and "fewer than 1 in" in early.explanation


def test_leaving_home_and_sleeping_raise_nothing() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    out = [ev(MotionEvent, T0, room="hall"), ev(DoorEvent, T0 + timedelta(minutes=1), door="front", state="open")]
    night = START + timedelta(days=1, hours=21)
    bed = [ev(MotionEvent, night, room="bedroom"), ev(BedEvent, night + timedelta(minutes=1), state="occupied")]
    assert raised(replay(detector, out, T0, T0 + timedelta(hours=5), timedelta(minutes=5))) == []
    assert raised(replay(detector, bed, night, night + timedelta(hours=9), timedelta(minutes=5))) == []


def test_cold_start_uses_fixed_limits() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    found = raised(
        replay(
            detector,
            [ev(MotionEvent, T0 - timedelta(hours=5), room="kitchen")],
            T0 - timedelta(hours=5),
            T0,
            timedelta(minutes=1),
        )
    )
    [alert] = found
    assert alert.at - (T0 - timedelta(hours=5)) == timedelta(hours=4)
    assert "fixed limit: 4 h" in alert.explanation


def test_not_up_by_the_usual_time() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    night = START + timedelta(hours=22)
    found = raised(
        replay(
            detector, [ev(BedEvent, night, state="occupied")], night, night + timedelta(hours=14), timedelta(minutes=5)
        )
    )
    assert [f.kind for f in found][:1] == ["not_up"]
    assert "usually up around 07:" in found[0].explanation


def test_not_up_is_not_said_of_a_morning_nobody_watched() -> None:
    # The platform starts in the evening: a resident first seen at 17:39, sitting (few steps), is not
    # "not up by 17:40" — nothing said whether they got up; the next morning is watched.
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    evening = START + timedelta(hours=17, minutes=39)
    sitting = [telemetry(evening + timedelta(minutes=m), steps=100 + m // 10) for m in range(20)]
    assert [
        f.kind for f in raised(replay(detector, sitting, evening, evening + timedelta(hours=2), timedelta(minutes=5)))
    ] == []
    night = START + timedelta(hours=22)
    found = raised(
        replay(
            detector, [ev(BedEvent, night, state="occupied")], night, night + timedelta(hours=14), timedelta(minutes=5)
        )
    )
    assert [f.kind for f in found][:1] == ["not_up"]  # the morning after was watched: in bed past the deadline


def test_vitals_need_a_sustained_worn_reading() -> None:
    vitals = VitalsDetector(sustain=timedelta(minutes=10))
    spikes = [telemetry(T0 + timedelta(minutes=m), heart_rate=150 if m % 4 else 70) for m in range(0, 30, 2)]
    off_wrist = [telemetry(T0 + timedelta(minutes=40 + m), heart_rate=150, worn=False) for m in range(0, 30, 2)]
    assert replay(vitals, spikes + off_wrist, T0, T0 + timedelta(hours=1), timedelta(minutes=1)) == []
    low = [telemetry(T0 + timedelta(hours=2, minutes=m), spo2=86) for m in range(0, 12, 2)]
    [alert] = replay(vitals, low, T0, T0 + timedelta(hours=3), timedelta(minutes=1))
    assert alert.kind == "spo2_low" and "below the limit of 90%" in alert.explanation


def test_battery_low_forecasts_when_it_dies() -> None:
    devices = DeviceHealthDetector()
    readings = [telemetry(T0 + timedelta(minutes=10 * i), battery=40 - 2 * i) for i in range(12)]
    [alert] = [
        f
        for f in replay(devices, readings, T0, T0 + timedelta(hours=2), timedelta(minutes=5))
        if f.kind == "battery_low"
    ]
    assert "12.0%/h" in alert.explanation and "empty in about 1 h 40 min" in alert.explanation


def test_last_will_offline_then_back_cancels() -> None:
    devices = DeviceHealthDetector()
    will = ev_status("offline", T0)
    [down] = devices.observe(will)
    assert down.kind == "device_offline" and not down.cancels
    [up] = devices.observe(ev_status("online", T0 + timedelta(minutes=3)))
    assert up.cancels


def test_environment_alarm_then_clear() -> None:
    env = EnvironmentDetector()
    [alarm] = env.observe(ev(GasEvent, T0, state="alarm"))
    assert alarm.severity is Severity.CRITICAL
    assert env.observe(ev(GasEvent, T0 + timedelta(seconds=5), state="alarm")) == []
    [clear] = env.observe(ev(GasEvent, T0 + timedelta(minutes=5), state="clear"))
    assert clear.cancels and clear.kind == "gas"


def test_detector_set_fans_out() -> None:
    pipeline = DetectorSet(standard_detectors(), {PROFILE.resident_id: PROFILE})
    kinds = {f.kind for f in pipeline.observe(ev(SosEvent, T0))}
    assert kinds == {"sos"}


def test_duration_text_reads_like_an_operator() -> None:
    assert duration_text(timedelta(hours=3, minutes=10)) == ("3 h 10 min", "3小时10分钟")
    assert duration_text(timedelta(minutes=45)) == ("45 min", "45分钟")


def ev_status(state: Literal["online", "offline"], at: datetime) -> Observation:
    """Build a bracelet status observation."""
    return obs(Status(seq=1, ts=at, state=state))


def _nights(days: int) -> list[Observation]:
    """Evenings and nights without a bed mat: to bed at 23:00 by the bedroom door, a toilet visit at 03:00."""
    out: list[Observation] = []
    for d in range(days):
        day = START - timedelta(days=days - d)
        for m in range(0, 13 * 60, 20):  # moving about from 10:00 to 23:00
            out.append(ev(MotionEvent, day + timedelta(hours=10, minutes=m), room="kitchen"))
        out.append(ev(DoorEvent, day + timedelta(hours=23), door="bedroom", state="closed"))
        flush = day + timedelta(days=1, hours=3, minutes=d % 5)
        out.append(ev(MotionEvent, flush, room="bathroom"))
        out.append(ev(DoorEvent, flush + timedelta(minutes=3 + d % 4), door="bedroom", state="closed"))
    return out


def test_silence_is_judged_by_the_last_activity() -> None:
    # Fourteen nights are few pauses a context: the shipped setting (50 pseudo-pauses borrowed) would still
    # hear mostly the night's long pauses after the flush. Borrowing little, the contexts speak for themselves.
    detector = InactivityDetector(tuning=Tuning(silences=SilenceSettings(prior=2.0)))
    detector.register_resident(PROFILE)
    detector.learn(_nights(14))
    bedtime = START + timedelta(hours=23)
    # After the bedroom door at 23:00 hours of quiet are normal; after the night's flush they are not.
    to_bed = [ev(DoorEvent, bedtime, door="bedroom", state="closed")]
    night = replay(detector, to_bed, bedtime, bedtime + timedelta(hours=3, minutes=50), timedelta(minutes=1))
    assert raised(night) == []
    flush = bedtime + timedelta(hours=4)
    after = replay(
        detector, [ev(MotionEvent, flush, room="bathroom")], flush, flush + timedelta(hours=2), timedelta(minutes=1)
    )
    [alert] = raised(after)
    # The pauses after the flush are minutes: raised at the shortest limit, half an hour.
    assert alert.kind == "inactivity" and alert.at - flush <= timedelta(minutes=90)
    assert "since the bathroom" in alert.explanation and "卫生间" in alert.explanation_zh


def test_back_in_bed_after_an_early_bathroom_trip_is_not_up() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    morning = START + timedelta(hours=6, minutes=45)  # after the earliest usual wake-up: it looks like getting up
    trip = [
        ev(BedEvent, START - timedelta(hours=2), state="occupied"),
        ev(BedEvent, morning, state="vacated"),
        ev(BathroomEvent, morning + timedelta(minutes=1), state="occupied"),
        ev(BathroomEvent, morning + timedelta(minutes=5), state="vacated"),
        ev(BedEvent, morning + timedelta(minutes=7), state="occupied"),
    ]
    found = raised(replay(detector, trip, START, START + timedelta(hours=12), timedelta(minutes=5)))
    assert [f.kind for f in found][:1] == ["not_up"]
    assert found[0].details["in_bed"] is True


def test_a_nap_after_getting_up_is_not_a_late_morning() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    day = [
        ev(BedEvent, START - timedelta(hours=2), state="occupied"),
        ev(BedEvent, START + timedelta(hours=7), state="vacated"),
        *(ev(MotionEvent, START + timedelta(hours=7, minutes=m), room="kitchen") for m in range(5, 300, 20)),
        ev(BedEvent, START + timedelta(hours=13), state="occupied"),
    ]
    found = raised(replay(detector, day, START, START + timedelta(hours=15), timedelta(minutes=5)))
    assert "not_up" not in [f.kind for f in found]


def test_im_ok_right_after_a_fall_ends_the_long_lie_watch() -> None:
    detector = LongLieDetector()
    detector.register_resident(PROFILE)
    fall = [ev(FallEvent, T0), ev(OkEvent, T0 + timedelta(seconds=12))]  # inside the movement grace
    assert raised(replay(detector, fall, T0, T0 + timedelta(minutes=20), timedelta(minutes=1))) == []
    still = [ev(FallEvent, T0 + timedelta(hours=1))]
    found = raised(replay(detector, still, T0 + timedelta(hours=1), T0 + timedelta(hours=2), timedelta(minutes=1)))
    assert [f.kind for f in found] == ["long_lie"]


def test_steps_counted_off_the_wrist_do_not_end_a_long_lie_watch() -> None:
    # The bracelet fell off in the fall and someone carries it away (or it counts in a bag): not the
    # resident getting up.
    detector = LongLieDetector()
    detector.register_resident(PROFILE)
    fall = [ev(FallEvent, T0)]
    carried = [telemetry(T0 + timedelta(minutes=m), steps=100 + 20 * m, worn=False) for m in range(1, 15)]
    found = raised(replay(detector, fall + carried, T0, T0 + timedelta(minutes=30), timedelta(minutes=1)))
    assert [f.kind for f in found] == ["long_lie"]


def test_inactivity_says_when_the_home_sensors_were_not_watching() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    power_back = T0 + timedelta(minutes=20)
    seen = [
        ev(MotionEvent, T0, room="kitchen"),
        obs(Status(state="online", reason="heartbeat", seq=1, ts=T0 + timedelta(minutes=5)), HUB),
        obs(Status(state="online", reason="power_restored", seq=2, ts=power_back), HUB),
        # The bracelet restarting says nothing about the rooms.
        obs(Status(state="online", reason="boot", seq=3, ts=power_back + timedelta(minutes=10)), BRACELET),
    ]
    [alert] = raised(replay(detector, seen, T0, T0 + timedelta(hours=8), timedelta(minutes=5)))
    assert alert.kind == "inactivity"
    assert "reconnected at 15:20 and saw nothing before" in alert.explanation
    assert "15:20重新连接" in alert.explanation_zh
    assert alert.details["sensors_back_at"] == power_back.isoformat()
