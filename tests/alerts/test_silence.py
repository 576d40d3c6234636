"""The survival model of silences (known answers on synthetic pauses) and the bracelet's fusion with the home."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.detectors import InactivityDetector
from alerts.detectors.routine import Whereabouts
from alerts.detectors.silence import Activity, KaplanMeier, LogLogistic, SilenceModel, SilenceSettings
from alerts.detectors.wrist import Wrist, WristWatch
from gateway.contract import BedEvent, MotionEvent, Telemetry
from tests.alerts.detector_factories import PROFILE, RID, START, ev, normal_week, raised, replay, telemetry

DAY = START + timedelta(hours=10)
KITCHEN = Activity("s1", "motion:kitchen")
CUPBOARD = Activity("s2", "motion:kitchen")
MINUTE = timedelta(minutes=1)


def _model(settings: SilenceSettings, pauses: dict[Activity, list[float]], at: datetime = DAY) -> SilenceModel:
    model = SilenceModel(settings, UTC)
    for activity, minutes in pauses.items():
        for m in minutes:
            model.add(activity, at, at + m * MINUTE)
    return model


def test_kaplan_meier_without_censoring_is_the_share_still_running() -> None:
    curve = KaplanMeier.fit([60.0, 120.0, 180.0, 240.0])
    assert curve(30) == 1.0
    assert curve(120) == pytest.approx(0.75)  # a pause of exactly 120 lasted at least that long
    assert curve(150) == pytest.approx(0.5)
    assert curve(240) == pytest.approx(0.25)
    assert curve(241) == 0.0


def test_kaplan_meier_counts_a_censored_pause_as_at_risk_until_it_was_last_seen() -> None:
    # 1, 2 (still running when last seen), 3, 4: S = 3/4 after 1, 3/4 · 1/2 after 3, 0 after 4.
    curve = KaplanMeier.fit([1.0, 2.0, 3.0, 4.0], [True, False, True, True])
    assert curve(1.5) == pytest.approx(0.75)
    assert curve(2.5) == pytest.approx(0.75)
    assert curve(3.5) == pytest.approx(0.375)
    assert curve(4.5) == 0.0
    assert curve.quantile(0.5) == 3.0


def test_one_context_with_nothing_borrowed_is_its_own_empirical_survival() -> None:
    # 100 pauses of 3, 4, …, 102 minutes: 40 of them last longer than 62 minutes.
    settings = SilenceSettings(prior=0.0, population_weight=0.0, shortest=timedelta(0))
    model = _model(settings, {KITCHEN: [3.0 + i for i in range(100)]})
    assert model.survival(KITCHEN, DAY, 62.5 * MINUTE) == pytest.approx(0.40)
    assert model.survival(KITCHEN, DAY, 103 * MINUTE) == 0.0
    assert model.survival(KITCHEN, DAY, MINUTE) == 1.0  # shorter than any pause that counts


def test_the_same_pauses_at_every_level_shrink_to_themselves() -> None:
    # Resident, band, place and sensor all hold the same pauses: borrowing changes nothing.
    settings = SilenceSettings(prior=5.0, population_weight=0.0, shortest=timedelta(0))
    model = _model(settings, {KITCHEN: [3.0 + i for i in range(100)]})
    assert model.survival(KITCHEN, DAY, 62.5 * MINUTE) == pytest.approx(0.40)


def test_a_context_seen_twice_borrows_from_its_room_and_a_well_seen_one_speaks_for_itself() -> None:
    room = [10.0 + (i % 50) for i in range(200)]  # the kitchen's other sensor: 10 to 59 minutes
    settings = SilenceSettings(prior=5.0, shortest=timedelta(0))
    sparse = _model(settings, {KITCHEN: room, CUPBOARD: [3.0, 3.0]})
    well_seen = _model(settings, {KITCHEN: room, CUPBOARD: [3.0] * 200})
    assert sparse.survival(CUPBOARD, DAY, 20 * MINUTE) > 0.15
    assert well_seen.survival(CUPBOARD, DAY, 20 * MINUTE) < 0.05


def test_beyond_every_pause_seen_the_population_tail_still_decays() -> None:
    model = _model(SilenceSettings(), {KITCHEN: [3.0 + i for i in range(100)]})
    s4, s8 = (model.survival(KITCHEN, DAY, h * timedelta(hours=1)) for h in (4, 8))
    assert 0 < s8 < s4 < 0.05


def test_the_limit_is_where_the_survival_falls_below_alpha() -> None:
    model = _model(SilenceSettings(), {KITCHEN: [3.0 + i for i in range(100)]})
    for alpha in (0.1, 0.01, 0.001):
        limit = model.limit(KITCHEN, DAY, alpha)
        above, below = limit + timedelta(seconds=1), limit - MINUTE
        assert model.survival(KITCHEN, DAY, above) < alpha <= model.survival(KITCHEN, DAY, below)
    assert model.limit(KITCHEN, DAY, 0.001) > model.limit(KITCHEN, DAY, 0.01)


def test_pauses_are_judged_by_the_band_of_the_day_they_began_in() -> None:
    night = START + timedelta(hours=23)
    model = SilenceModel(SilenceSettings(prior=5.0), UTC)
    for i in range(30):
        model.add(KITCHEN, DAY + timedelta(days=i), DAY + timedelta(days=i, minutes=5 + i % 5))
        model.add(KITCHEN, night + timedelta(days=i), night + timedelta(days=i, hours=6, minutes=i))
    two_hours = timedelta(hours=2)
    assert model.survival(KITCHEN, DAY, two_hours) < 0.05 < 0.9 < model.survival(KITCHEN, night, two_hours)


def test_no_silence_shorter_than_the_shortest_is_unusual() -> None:
    model = _model(SilenceSettings(shortest=timedelta(minutes=45)), {KITCHEN: [3.0] * 100})
    assert model.survival(KITCHEN, DAY, 44 * MINUTE) == 1.0
    assert model.limit(KITCHEN, DAY, 0.01) >= timedelta(minutes=45)


def test_the_population_curve_has_its_median_and_quantiles() -> None:
    curve = LogLogistic(median_s=600.0, shape=2.0)
    assert curve(600.0) == pytest.approx(0.5)
    assert curve(curve.quantile(0.9)) == pytest.approx(0.1)


def _reading(minute: int, steps: int | None, *, worn: bool = True) -> Telemetry:
    return Telemetry(seq=minute, ts=DAY + minute * MINUTE, steps=steps, battery=80, worn=worn)


def test_the_wrist_reads_walking_moving_still_and_no_evidence() -> None:
    watch = WristWatch(min_steps=5)
    assert watch.read(RID, _reading(0, 100)) is Wrist.NO_EVIDENCE  # nothing to compare with
    assert watch.read(RID, _reading(1, 102)) is Wrist.MOVING
    assert watch.read(RID, _reading(2, 110)) is Wrist.WALKING
    assert watch.read(RID, _reading(3, 110)) is Wrist.STILL
    assert watch.read(RID, _reading(4, 3)) is Wrist.NO_EVIDENCE  # the counter's midnight reset
    assert watch.read(RID, _reading(20, 30)) is Wrist.NO_EVIDENCE  # caught up after a gap
    assert watch.read(RID, _reading(21, 40, worn=False)) is Wrist.NO_EVIDENCE  # off the wrist
    assert watch.read(RID, _reading(22, 50)) is Wrist.NO_EVIDENCE  # back on: a fresh start


def test_a_moving_wrist_is_life_but_does_not_get_the_resident_out_of_bed() -> None:
    where = Whereabouts()
    bed = ev(BedEvent, DAY, state="occupied").record.body
    where.update(bed, DAY)
    where.alive(DAY + timedelta(hours=1))
    assert where.in_bed and where.last_activity == DAY + timedelta(hours=1)


def _learned() -> InactivityDetector:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    detector.learn(normal_week(START - timedelta(days=14), seed=3, days=14))
    return detector


def _after_the_kitchen(**bracelet: object) -> list[object]:
    """Replay six quiet hours after the kitchen with the bracelet reporting every minute as given."""
    steps = bracelet.pop("steps")
    readings = [
        telemetry(DAY + m * MINUTE, steps=steps(m), **bracelet)  # type: ignore[operator]
        for m in range(1, 6 * 60)
    ]
    stream = [ev(MotionEvent, DAY, room="kitchen"), *readings]
    return raised(replay(_learned(), stream, DAY, DAY + timedelta(hours=6), MINUTE))  # type: ignore[arg-type]


def test_a_moving_wrist_keeps_the_silence_from_being_raised() -> None:
    assert _after_the_kitchen(steps=lambda m: 1000 + m // 2) == []  # a step every other minute, no room sensor


def test_a_bracelet_off_the_wrist_is_no_evidence_of_life() -> None:
    found = _after_the_kitchen(steps=lambda m: 1000 + m, worn=False)  # counting in a bag, off the wrist
    assert [f.kind for f in found][:1] == ["inactivity"]


def test_a_still_wrist_is_no_evidence_of_life() -> None:
    found = _after_the_kitchen(steps=lambda m: 1000)
    assert [f.kind for f in found][:1] == ["inactivity"]


def test_the_wrist_moving_again_answers_the_alert() -> None:
    detector = _learned()
    stream = [ev(MotionEvent, DAY, room="kitchen"), telemetry(DAY + 5 * MINUTE, steps=100)]
    [alert] = raised(replay(detector, stream, DAY, DAY + timedelta(hours=8), timedelta(minutes=5)))
    assert alert.details["survival"] is not None and alert.details["survival"] < alert.details["alpha"]  # type: ignore[operator]
    at = alert.at + timedelta(minutes=1)
    detector.observe(telemetry(at, steps=100))
    [answer] = detector.observe(telemetry(at + MINUTE, steps=102))
    assert answer.cancels and answer.kind == "inactivity"
