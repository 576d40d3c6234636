"""Ranking: nearest available first, the 15/30-minute promise, nobody in time, nobody available."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.places import AreaType, Point, ResidentPlace, Role, StaffMember, StaffStatus, Station, great_circle_km
from dispatch.ranking import Lead, LeftOut, RankingPolicy, Verdict, rank

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
HOME = Point(31.2304, 121.4737)  # central Shanghai
CITY_STATION = Station("st-city", "外滩服务站", Point(31.2350, 121.4800), AreaType.CITY)
POLICY = RankingPolicy()


def north_of(p: Point, km: float) -> Point:
    """Return a point ``km`` kilometres due north."""
    return Point(p.lat + km / 111.195, p.lon)


def staff(
    sid: str,
    where: Point,
    status: StaffStatus = StaffStatus.AVAILABLE,
    *,
    on_shift: bool = True,
    station: Station = CITY_STATION,
    seen: datetime = T0,
) -> StaffMember:
    return StaffMember(sid, f"name-{sid}", Role.CAREGIVER, station, status, on_shift, where, seen)


def resident(area: AreaType = AreaType.CITY, where: Point = HOME) -> ResidentPlace:
    return ResidentPlace("r1", "王奶奶", where, area)


def test_great_circle_distance_is_right() -> None:
    assert abs(great_circle_km(HOME, north_of(HOME, 10)) - 10) < 0.01
    beijing, shanghai = Point(39.9042, 116.4074), Point(31.2304, 121.4737)
    assert 1060 < great_circle_km(beijing, shanghai) < 1075


def test_nearest_busy_goes_to_the_next() -> None:
    team = [
        staff("near", north_of(HOME, 0.5), StaffStatus.ON_TASK),
        staff("mid", north_of(HOME, 2)),
        staff("far", north_of(HOME, 4)),
    ]
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    assert [c.staff.id for c in result.candidates] == ["mid", "far"]
    assert result.verdict is Verdict.IN_TIME
    assert result.best is not None
    assert result.best.in_time
    assert result.best.reason_en.startswith("fastest")
    assert "最快" in result.best.reason_zh
    assert "slower than name-mid" in result.candidates[1].reason_en
    assert [(p.staff.id, p.reason_en) for p in result.passed_over] == [("near", "on another task")]
    # 2 km × 1.4 at 20 km/h is 8.4 min, plus 3 min to get going: 11.4, said as 12 (rounded up once).
    assert result.best.eta == timedelta(minutes=12)
    assert (result.best.eta_min, result.best.margin_min) == (12, 3)
    assert result.promise == timedelta(minutes=15)


def test_off_shift_and_excluded_are_left_out() -> None:
    team = [
        staff("a", north_of(HOME, 1), on_shift=False),
        staff("b", north_of(HOME, 1.5)),
        staff("c", north_of(HOME, 2)),
    ]
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY, exclude=frozenset({"b"}))
    assert [c.staff.id for c in result.candidates] == ["c"]
    assert {p.staff.id: p.reason_zh for p in result.passed_over} == {"a": "当前无排班", "b": "本次任务已拒绝或无法联系"}


def test_countryside_promise_is_thirty_minutes() -> None:
    station = Station("st-rural", "村服务站", north_of(HOME, 12), AreaType.COUNTRYSIDE)
    team = [staff("rural", north_of(HOME, 12), station=station)]
    city = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    country = rank(resident(AreaType.COUNTRYSIDE), team, raised_at=T0, now=T0, policy=POLICY)
    assert city.verdict is Verdict.NONE_IN_TIME  # 12 km × 1.4 at 20 km/h + 3 min is 53 min
    assert country.verdict is Verdict.IN_TIME  # 12 km × 1.3 at 40 km/h + 3 min is 26.4 min
    assert country.promise == timedelta(minutes=30)
    assert country.deadline == T0 + timedelta(minutes=30)


def test_nobody_in_time_suggests_the_best() -> None:
    team = [staff("x", north_of(HOME, 8)), staff("y", north_of(HOME, 6))]
    result = rank(resident(), team, raised_at=T0, now=T0 + timedelta(minutes=2), policy=POLICY)
    assert result.verdict is Verdict.NONE_IN_TIME
    assert result.best is not None
    assert result.best.staff.id == "y"
    assert not result.best.in_time
    assert "past the 15-min promise" in result.best.reason_en
    assert "best is name-y" in result.summary_en
    assert "超时" in result.summary_zh
    assert not result.must_escalate


def test_promise_clock_runs_from_the_alert() -> None:
    team = [staff("a", north_of(HOME, 1))]
    fresh = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    late = rank(resident(), team, raised_at=T0, now=T0 + timedelta(minutes=12), policy=POLICY)
    assert fresh.best is not None
    assert fresh.best.in_time
    assert late.best is not None
    assert not late.best.in_time


def test_nobody_available_says_escalate() -> None:
    team = [staff("a", north_of(HOME, 1), StaffStatus.ON_TASK), staff("b", HOME, StaffStatus.OFF_SHIFT)]
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    assert result.verdict is Verdict.NOBODY_AVAILABLE
    assert result.must_escalate
    assert result.best is None
    assert "escalate" in result.summary_en


def test_stale_location_falls_back_to_the_station() -> None:
    far_station = Station("st-far", "远站", north_of(HOME, 5), AreaType.CITY)
    stale = staff("s", HOME, station=far_station, seen=T0 - timedelta(hours=2))
    result = rank(resident(), [stale], raised_at=T0, now=T0, policy=POLICY)
    assert result.best is not None
    assert result.best.origin == "station"
    assert abs(result.best.road_km - 7.0) < 0.05


def test_equal_estimates_rank_by_id() -> None:
    team = [staff("b", north_of(HOME, 1)), staff("a", north_of(HOME, 1))]
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    assert [c.staff.id for c in result.candidates] == ["a", "b"]


def test_every_number_comes_from_the_one_rounded_estimate() -> None:
    """The ETA, the margin, the lead, the summary and the stored sentences all say the same minutes."""
    team = [staff("a", north_of(HOME, 1.01)), staff("b", north_of(HOME, 1.0)), staff("c", north_of(HOME, 2.2))]
    result = rank(resident(), team, raised_at=T0, now=T0 + timedelta(seconds=90), policy=POLICY)
    first, second, third = result.candidates
    # 1.0 km: 4.2 min + 3 = 7.2 → 8; 1.01 km: 7.24 → 8; 2.2 km: 9.24 + 3 = 12.24 → 13
    assert [c.eta_min for c in result.candidates] == [8, 8, 13]
    assert first.staff.id == "b"
    assert [c.reason.lead for c in result.candidates] == [Lead.FASTEST, Lead.AS_FAST, Lead.SLOWER]
    assert third.reason.behind_min == third.eta_min - first.eta_min == 5
    for c in result.candidates:
        # 13.5 min left at ranking time; the margin is what is left after the (rounded) trip, rounded down
        assert c.margin_min == 13 - c.eta_min
        assert c.arrives_at == result.now + c.eta
        assert c.reason.eta_min == c.eta_min and c.reason.margin_min == c.margin_min
        assert f"预计{c.eta_min}分钟到达" in c.reason_zh and f"提前{c.margin_min}分钟" in c.reason_zh
        assert f"arrives in {c.eta_min} min" in c.reason_en
    assert "慢0分钟" not in second.reason_zh and "与name-b同样快" in second.reason_zh
    assert (result.summary.name, result.summary.eta_min, result.summary.margin_min) == ("name-b", 8, 5)
    assert "预计8分钟到达" in result.summary_zh


def test_late_is_said_as_whole_minutes_past_the_promise() -> None:
    team = [staff("far", north_of(HOME, 4.9))]  # 6.86 km by road: 20.6 + 3 = 23.6 min, said as 24
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY)
    (only,) = result.candidates
    assert (only.eta_min, only.margin_min, only.in_time) == (24, -9, False)
    assert "超出15分钟承诺9分钟" in only.reason_zh
    assert result.summary.margin_min == -9 and "超时9分钟" in result.summary_zh


def test_passed_over_are_codes() -> None:
    team = [staff("a", HOME, StaffStatus.ON_TASK), staff("b", HOME, StaffStatus.OFF_SHIFT), staff("c", HOME)]
    result = rank(resident(), team, raised_at=T0, now=T0, policy=POLICY, exclude=frozenset({"c"}))
    assert [p.code for p in result.passed_over] == [LeftOut.ON_TASK, LeftOut.OFF_SHIFT, LeftOut.EXCLUDED]
