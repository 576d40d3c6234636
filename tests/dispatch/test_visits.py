"""Welfare visits: the schedule by risk class with an injected clock, and the worsening-trend rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from dispatch.people import ResidentProfile, add_staff, add_station, save_resident_profile
from dispatch.places import AreaType, Point, RiskClass, Role, Station
from dispatch.visits import (
    DailyFigures,
    TrendRule,
    TrendSignal,
    assess_trend,
    check_trend,
    daily_figures,
    due_visits,
    next_visit_due,
    plan_scheduled_visits,
    record_visit,
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


def test_trend_visit_from_telemetry_and_events(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        seed(conn)
        rows, events = [], []
        for back in range(1, 15):
            day = datetime.combine(TODAY - timedelta(days=back), datetime.min.time(), SHANGHAI)
            steps = 5000 if back > 7 else 1500
            rows.append((day + timedelta(hours=20), "b1", back, "ra", day, steps, 80, True))
            rows.append((day + timedelta(hours=8), "b1", 100 + back, "ra", day, 10, 15 if back <= 3 else 80, True))
            for trip in range(1 if back > 7 else 3):
                events.append(
                    (
                        day + timedelta(hours=2, minutes=trip * 30),
                        "h1",
                        1000 + back * 10 + trip,
                        "ra",
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
        figures = daily_figures(conn, "ra", T0 - timedelta(days=14), T0)
        assert len(figures) == 14
        assert figures[-1] == DailyFigures(TODAY - timedelta(days=1), 1500, 3, True, False)
        signals = check_trend(conn, "ra", T0, RULE)
        assert set(signals) == {TrendSignal.STEPS_HALVED, TrendSignal.MORE_NIGHT_BATHROOM, TrendSignal.LOW_BATTERY_DAYS}
        check_trend(conn, "ra", T0 + timedelta(hours=1), RULE)  # no second open trend visit
        [trend] = [v for v in visits_of(conn, "ra") if v.reason == "trend"]
        assert set(trend.signals) == {"steps_halved", "more_night_bathroom", "low_battery_days"}
        assert check_trend(conn, "rb", T0, RULE) == ()
