"""Welfare visits: the schedule by risk class with an injected clock, the worsening-trend rule, the hourly planner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from dispatch.people import ResidentProfile, add_staff, add_station, save_resident_profile
from dispatch.places import AreaType, Point, RiskClass, Role, StaffMember, StaffStatus, Station
from dispatch.visits import (
    FOLLOW_UP_AFTER,
    DailyFigures,
    TrendRule,
    TrendSignal,
    VisitNote,
    VisitPlanReport,
    Wellbeing,
    assess_trend,
    check_trend,
    complete_visit,
    daily_figures,
    due_visits,
    is_overdue,
    next_visit_due,
    pick_visitor,
    plan_scheduled_visits,
    record_visit,
    run_visit_planning,
    visits_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 on 2 Nov in Shanghai
TODAY = date(2026, 11, 2)
RULE = TrendRule()


def fortnight(
    steps: tuple[int, int] = (4000, 4000), trips: tuple[int, int] = (1, 1), *, low: int = 0, not_worn: int = 0
) -> list[DailyFigures]:
    """Fourteen complete days: the week before, then the last week (its first ``low``/``not_worn`` days flagged)."""
    days = []
    for i in range(14):
        recent = i >= 7
        k = i - 7
        days.append(
            DailyFigures(
                TODAY - timedelta(days=14 - i),
                steps[recent],
                trips[recent],
                recent and k < low,
                recent and k < not_worn,
            )
        )
    return days


def test_schedule_table() -> None:
    assert next_visit_due(RiskClass.A, None, T0) == T0
    assert next_visit_due(RiskClass.A, T0, T0) == T0 + timedelta(days=7)
    assert next_visit_due(RiskClass.B, T0, T0) == T0 + timedelta(days=14)
    assert next_visit_due(RiskClass.C, T0, T0) == T0 + timedelta(days=30)
    custom = {RiskClass.A: timedelta(days=3), RiskClass.B: timedelta(days=5), RiskClass.C: timedelta(days=9)}
    assert next_visit_due(RiskClass.A, T0, T0, custom) == T0 + timedelta(days=3)


def test_steady_figures_raise_nothing() -> None:
    assert assess_trend(fortnight(), TODAY, RULE) == ()


def test_each_kind_of_worsening() -> None:
    assert assess_trend(fortnight(steps=(4000, 1900)), TODAY, RULE) == (TrendSignal.STEPS_HALVED,)
    assert assess_trend(fortnight(steps=(4000, 2100)), TODAY, RULE) == ()
    assert assess_trend(fortnight(trips=(1, 3)), TODAY, RULE) == (TrendSignal.MORE_NIGHT_BATHROOM,)
    assert assess_trend(fortnight(low=3), TODAY, RULE) == (TrendSignal.LOW_BATTERY_DAYS,)
    assert assess_trend(fortnight(not_worn=2), TODAY, RULE) == ()
    assert assess_trend(fortnight(not_worn=4), TODAY, RULE) == (TrendSignal.NOT_WORN_DAYS,)


def test_too_little_data_or_baseline_is_no_signal() -> None:
    assert assess_trend(fortnight(steps=(200, 50)), TODAY, RULE) == ()
    sparse = [d for d in fortnight(steps=(4000, 1000)) if d.day.day % 3 == 0]
    assert TrendSignal.STEPS_HALVED not in assess_trend(sparse, TODAY, RULE)
    assert assess_trend([], TODAY, RULE) == ()


def seed(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    add_station(conn, Station("st1", "站", Point(31.2, 121.4), AreaType.CITY))
    add_staff(conn, "s1", "社工", Role.SOCIAL_WORKER, "st1")
    for rid, risk in (("ra", RiskClass.A), ("rb", RiskClass.B), ("rc", RiskClass.C)):
        save_resident_profile(conn, ResidentProfile(rid, rid, Point(31.2, 121.4), risk_class=risk))


def test_schedule_in_the_database_with_an_injected_clock(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn)
        assert plan_scheduled_visits(conn, T0) == 3
        assert plan_scheduled_visits(conn, T0 + timedelta(hours=1)) == 0  # one open visit each
        due = {v.resident_id: v for v in due_visits(conn, T0)}
        assert set(due) == {"ra", "rb", "rc"}
        done_at = T0 + timedelta(hours=3)
        for v in due.values():
            record_visit(conn, v.id, "s1", done_at, notes="精神好", findings={"bp": "130/80"})
        assert plan_scheduled_visits(conn, done_at) == 3
        assert due_visits(conn, done_at + timedelta(days=6)) == []
        assert [v.resident_id for v in due_visits(conn, done_at + timedelta(days=7))] == ["ra"]
        assert [v.resident_id for v in due_visits(conn, done_at + timedelta(days=14))] == ["ra", "rb"]
        assert len(due_visits(conn, done_at + timedelta(days=30))) == 3
        assert [v.status for v in visits_of(conn, "ra")] == ["planned", "done"]


def worsen(conn: psycopg.Connection[tuple[object, ...]], resident_id: str) -> None:
    """Store a fortnight in which the last week is worse: fewer steps, more night trips, low battery."""
    rows, events = [], []
    for back in range(1, 15):
        day = datetime.combine(TODAY - timedelta(days=back), datetime.min.time(), SHANGHAI)
        steps = 5000 if back > 7 else 1500
        rows.append((day + timedelta(hours=20), "b1", back, resident_id, day, steps, 80, True))
        rows.append((day + timedelta(hours=8), "b1", 100 + back, resident_id, day, 10, 15 if back <= 3 else 80, True))
        for trip in range(1 if back > 7 else 3):
            events.append(
                (
                    day + timedelta(hours=2, minutes=trip * 30),
                    "h1",
                    1000 + back * 10 + trip,
                    resident_id,
                    day,
                    "bathroom",
                    "occupied",
                )
            )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO telemetry (ts, device_id, seq, resident_id, received_at, steps, battery, worn)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
        cur.executemany(
            "INSERT INTO events (ts, device_id, seq, resident_id, received_at, kind, state)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            events,
        )


def test_trend_visit_from_telemetry_and_events(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn)
        worsen(conn, "ra")
        figures = daily_figures(conn, "ra", T0 - timedelta(days=14), T0)
        assert len(figures) == 14
        assert figures[-1] == DailyFigures(TODAY - timedelta(days=1), 1500, 3, True, False)
        signals = check_trend(conn, "ra", T0, RULE)
        assert set(signals) == {TrendSignal.STEPS_HALVED, TrendSignal.MORE_NIGHT_BATHROOM, TrendSignal.LOW_BATTERY_DAYS}
        check_trend(conn, "ra", T0 + timedelta(hours=1), RULE)  # no second open trend visit
        [trend] = [v for v in visits_of(conn, "ra") if v.reason == "trend"]
        assert set(trend.signals) == {"steps_halved", "more_night_bathroom", "low_battery_days"}
        assert check_trend(conn, "rb", T0, RULE) == ()


EAST = Station("east", "东站", Point(31.20, 121.40), AreaType.CITY)
WEST = Station("west", "西站", Point(31.20, 121.10), AreaType.COUNTRYSIDE)


def member(staff_id: str, station: Station) -> StaffMember:
    return StaffMember(staff_id, staff_id, Role.CAREGIVER, station, StaffStatus.AVAILABLE, on_shift=False)


def test_the_visitor_is_the_least_loaded_of_the_residents_station() -> None:
    staff = [member("e2", EAST), member("e1", EAST), member("w1", WEST)]
    assert pick_visitor("east", staff, {}).id == "e1"  # a tie goes to the first id
    assert pick_visitor("east", staff, {"e1": 2, "e2": 1}).id == "e2"
    assert pick_visitor("east", staff, {"e1": 5, "e2": 5, "w1": 0}).id == "e1"  # never another station's
    assert pick_visitor("west", staff, {"w1": 9}).id == "w1"
    assert pick_visitor("east", [], {}) is None


def test_overdue_a_day_after_due() -> None:
    assert not is_overdue(T0, T0 + timedelta(hours=23))
    assert is_overdue(T0, T0 + timedelta(days=1, minutes=1))


def neighbourhood(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Two stations (east with two staff, west with one) and four residents, one of them keeping UTC time."""
    for station in (EAST, WEST):
        add_station(conn, station)
    for sid, station in (("e1", EAST), ("e2", EAST), ("w1", WEST)):
        add_staff(conn, sid, sid, Role.CAREGIVER, station.id)
    homes = (("ra", 31.21, 121.39, "Asia/Shanghai"), ("rb", 31.19, 121.41, "Asia/Shanghai"))
    homes += (("rc", 31.20, 121.38, "Asia/Shanghai"), ("rw", 31.20, 121.12, "UTC"))
    for rid, lat, lon, tz in homes:
        save_resident_profile(conn, ResidentProfile(rid, rid, Point(lat, lon), risk_class=RiskClass.A, timezone=tz))


def assignees(conn: psycopg.Connection[tuple[object, ...]]) -> dict[tuple[str, str], str | None]:
    rows = conn.execute("SELECT resident_id, reason, staff_id FROM visits WHERE status = 'planned'").fetchall()
    return {(str(r), str(why)): None if s is None else str(s) for r, why, s in rows}


def test_planning_assigns_each_visit_to_the_nearest_stations_least_loaded_staff(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        neighbourhood(conn)
        report = run_visit_planning(conn, T0)
        assert report == VisitPlanReport(scheduled=4, trend_checked=4, worsening=0, assigned=4, unassigned=0)
        assert assignees(conn) == {
            ("ra", "scheduled"): "e1",
            ("rb", "scheduled"): "e2",
            ("rc", "scheduled"): "e1",  # e1 and e2 have one each: the tie goes to e1
            ("rw", "scheduled"): "w1",  # the west station is nearer, however loaded east is
        }
        later = T0 + timedelta(minutes=30)
        assert run_visit_planning(conn, later) == VisitPlanReport(0, 0, 0, 0, 0)  # nothing twice
        conn.execute("INSERT INTO residents (id, name) VALUES ('rx', 'nowhere')")  # no home on record
        assert run_visit_planning(conn, later) == VisitPlanReport(1, 1, 0, 0, 1)  # checked: new today


def test_the_trend_check_runs_once_per_residents_local_day(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        neighbourhood(conn)
        worsen(conn, "ra")
        first = run_visit_planning(conn, T0)  # 09:00 in Shanghai, 01:00 in UTC
        assert (first.trend_checked, first.worsening) == (4, 1)
        assert assignees(conn)[("ra", "trend")] == "e2"  # e1 had ra's scheduled visit already
        conn.execute("UPDATE visits SET status = 'cancelled' WHERE reason = 'trend'")
        evening = run_visit_planning(conn, T0 + timedelta(hours=10))  # 19:00 the same day in Shanghai
        assert (evening.trend_checked, evening.worsening) == (0, 0)
        assert ("ra", "trend") not in assignees(conn)  # not checked again, so not planned again
        midnight = run_visit_planning(conn, T0 + timedelta(hours=15, minutes=5))  # 00:05 next day; 16:05 UTC
        assert midnight.trend_checked == 3  # the Shanghai residents; rw's day has not turned yet
        assert midnight.worsening == 1
        assert ("ra", "trend") in assignees(conn)
        assert run_visit_planning(conn, T0 + timedelta(hours=23)).trend_checked == 1  # 00:00 UTC: rw


def test_a_visit_closes_with_a_note_and_may_ask_for_a_follow_up(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        neighbourhood(conn)
        run_visit_planning(conn, T0)
        [visit] = [v for v in visits_of(conn, "ra") if v.status == "planned"]
        fine = VisitNote(Wellbeing.GOOD, home_safe=True, needs_follow_up=False, text="精神好")
        at = T0 + timedelta(hours=2)
        assert complete_visit(conn, visit.id, fine, at) is None
        notes, findings, staff = conn.execute(
            "SELECT notes, findings, staff_id FROM visits WHERE id = %s", (visit.id,)
        ).fetchone()
        assert (notes, staff) == ("精神好", "e1")
        assert findings == {"wellbeing": "good", "home_safe": True, "follow_up": False}
        [rb] = [v for v in visits_of(conn, "rb") if v.status == "planned"]
        worry = VisitNote(Wellbeing.POOR, home_safe=False, needs_follow_up=True)
        follow_up = complete_visit(conn, rb.id, worry, at)
        assert follow_up is not None
        [planned] = [v for v in visits_of(conn, "rb") if v.reason == "follow_up"]
        assert (planned.id, planned.staff_id, planned.due_at) == (follow_up, "e2", at + FOLLOW_UP_AFTER)
        assert complete_visit(conn, follow_up, worry, at + timedelta(days=1)) != follow_up  # a new one
        [again] = [v for v in visits_of(conn, "rb") if v.reason == "follow_up" and v.status == "planned"]
        assert again.due_at == at + timedelta(days=1) + FOLLOW_UP_AFTER


def test_a_roster_station_outweighs_the_nearest(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        neighbourhood(conn)
        conn.execute("UPDATE residents SET station_id = 'west' WHERE id = 'ra'")  # lives near east, served by west
        run_visit_planning(conn, T0)
        assert assignees(conn)[("ra", "scheduled")] == "w1"
