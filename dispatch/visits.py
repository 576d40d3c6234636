"""Welfare visits (探访): a schedule by risk class, visit records, and a visit when a resident's trend worsens.

The schedule table and the trend rule are pure and take time and daily figures as arguments; the
functions below them are the thin database layer that computes daily figures from ``telemetry`` and
``events`` and stores visits. A partial unique index keeps one open visit per resident and reason,
so the planner and the trend check may run as often as one likes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from statistics import fmean
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from dispatch.errors import NotFoundError
from dispatch.people import Conn, residents_by_risk
from dispatch.places import RiskClass

VISIT_INTERVALS: Final[Mapping[RiskClass, timedelta]] = MappingProxyType(
    {
        RiskClass.A: timedelta(days=7),
        RiskClass.B: timedelta(days=14),
        RiskClass.C: timedelta(days=30),
    }
)


class TrendSignal(StrEnum):
    """A way a resident's daily figures can worsen."""

    STEPS_HALVED = "steps_halved"
    MORE_NIGHT_BATHROOM = "more_night_bathroom"
    LOW_BATTERY_DAYS = "low_battery_days"
    NOT_WORN_DAYS = "not_worn_days"


SIGNAL_TEXT: Final[Mapping[TrendSignal, tuple[str, str]]] = MappingProxyType(
    {
        TrendSignal.STEPS_HALVED: ("steps halved this week against the week before", "本周步数较上周减半"),
        TrendSignal.MORE_NIGHT_BATHROOM: ("more night-time bathroom trips", "夜间如厕次数增多"),
        TrendSignal.LOW_BATTERY_DAYS: ("bracelet battery low on several days", "手环多日电量不足"),
        TrendSignal.NOT_WORN_DAYS: ("bracelet not worn on several days", "手环多日未佩戴"),
    }
)


@dataclass(frozen=True, slots=True)
class DailyFigures:
    """One local day of a resident's figures."""

    day: date
    steps: int | None  # None when the bracelet reported no steps that day
    night_bathroom_trips: int
    low_battery: bool
    not_worn: bool


@dataclass(frozen=True, slots=True)
class TrendRule:
    """When a week's figures count as worse than the week before."""

    window_days: int = 7
    steps_ratio: float = 0.5  # this week's mean at or below half of last week's
    min_days_with_steps: int = 4  # per week; fewer says more about wearing than walking
    min_baseline_steps: float = 300.0  # below this the comparison is noise
    night_trips_increase: float = 1.0  # more trips per night than the week before, and …
    night_trips_ratio: float = 1.5  # … at least half again as many
    device_problem_days: int = 3  # low-battery or not-worn days in the week


def next_visit_due(
    risk: RiskClass,
    last_visit: datetime | None,
    now: datetime,
    intervals: Mapping[RiskClass, timedelta] = VISIT_INTERVALS,
) -> datetime:
    """Return when a resident's next scheduled visit is due; never visited means now."""
    return now if last_visit is None else last_visit + intervals[risk]


def assess_trend(days: Sequence[DailyFigures], today: date, rule: TrendRule) -> tuple[TrendSignal, ...]:
    """Compare the last complete week with the week before and return the signals of worsening."""
    recent = _week(days, today, 1, rule.window_days)
    before = _week(days, today, 2, rule.window_days)
    found = []
    if _steps_halved(recent, before, rule):
        found.append(TrendSignal.STEPS_HALVED)
    if _more_night_trips(recent, before, rule):
        found.append(TrendSignal.MORE_NIGHT_BATHROOM)
    if sum(d.low_battery for d in recent) >= rule.device_problem_days:
        found.append(TrendSignal.LOW_BATTERY_DAYS)
    if sum(d.not_worn for d in recent) >= rule.device_problem_days:
        found.append(TrendSignal.NOT_WORN_DAYS)
    return tuple(found)


def _week(days: Sequence[DailyFigures], today: date, weeks_back: int, length: int) -> list[DailyFigures]:
    """Return the complete days of one week counted back from yesterday; today is not over yet."""
    end = today - timedelta(days=length * (weeks_back - 1))
    start = end - timedelta(days=length)
    return [d for d in days if start <= d.day < end]


def _steps_halved(recent: list[DailyFigures], before: list[DailyFigures], rule: TrendRule) -> bool:
    """Tell whether mean daily steps fell to at most the rule's share of the week before."""
    now_steps = [d.steps for d in recent if d.steps is not None]
    then_steps = [d.steps for d in before if d.steps is not None]
    if min(len(now_steps), len(then_steps)) < rule.min_days_with_steps:
        return False
    baseline = fmean(then_steps)
    return baseline >= rule.min_baseline_steps and fmean(now_steps) <= baseline * rule.steps_ratio


def _more_night_trips(recent: list[DailyFigures], before: list[DailyFigures], rule: TrendRule) -> bool:
    """Tell whether night-time bathroom trips rose clearly against the week before."""
    if not recent or not before:
        return False
    now_trips = fmean(d.night_bathroom_trips for d in recent)
    then_trips = fmean(d.night_bathroom_trips for d in before)
    return now_trips >= then_trips + rule.night_trips_increase and now_trips >= then_trips * rule.night_trips_ratio


@dataclass(frozen=True, slots=True)
class Visit:
    """A planned or recorded welfare visit."""

    id: int
    resident_id: str
    reason: str  # scheduled, trend, follow_up
    due_at: datetime
    status: str  # planned, done, missed, cancelled
    signals: tuple[str, ...] = ()
    staff_id: str | None = None
    done_at: datetime | None = None


_VISIT_COLUMNS: Final = "id, resident_id, reason, due_at, status, signals, staff_id, done_at"


def _visit(row: tuple[Any, ...]) -> Visit:
    """Build a visit from a row of ``_VISIT_COLUMNS``."""
    vid, rid, reason, due, status, signals, staff_id, done = row
    return Visit(vid, rid, reason, due, status, tuple(signals), staff_id, done)


def plan_scheduled_visits(conn: Conn, now: datetime, intervals: Mapping[RiskClass, timedelta] = VISIT_INTERVALS) -> int:
    """Give every resident without one a planned visit by their risk class; return how many were planned."""
    planned = 0
    for resident_id, risk in residents_by_risk(conn):
        row = conn.execute(
            "SELECT max(done_at) FROM visits WHERE resident_id = %s AND status = 'done'", (resident_id,)
        ).fetchone()
        due = next_visit_due(risk, row[0] if row else None, now, intervals)
        planned += _insert_visit(conn, resident_id, "scheduled", due=due, now=now)
    return planned


def _insert_visit(
    conn: Conn, resident_id: str, reason: str, *, due: datetime, now: datetime, signals: Sequence[str] = ()
) -> int:
    """Plan a visit unless one for the same reason is already open; return 1 when planned."""
    return conn.execute(
        "INSERT INTO visits (resident_id, reason, due_at, created_at, signals) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (resident_id, reason) WHERE status = 'planned' DO NOTHING",
        (resident_id, reason, due, now, list(signals)),
    ).rowcount


def record_visit(
    conn: Conn,
    visit_id: int,
    staff_id: str,
    at: datetime,
    *,
    notes: str = "",
    findings: Mapping[str, object] | None = None,
) -> None:
    """Record a visit as done by a staff member, with notes and findings."""
    done = conn.execute(
        "UPDATE visits SET status = 'done', staff_id = %s, done_at = %s, notes = %s, findings = %s"
        " WHERE id = %s AND status = 'planned'",
        (staff_id, at, notes or None, Jsonb(dict(findings or {})), visit_id),
    ).rowcount
    if done == 0:
        raise NotFoundError(f"no planned visit {visit_id}")


def due_visits(conn: Conn, now: datetime) -> list[Visit]:
    """List the planned visits due by ``now``, most overdue first."""
    return [
        _visit(r)
        for r in conn.execute(
            f"SELECT {_VISIT_COLUMNS} FROM visits WHERE status = 'planned' AND due_at <= %s ORDER BY due_at, id", (now,)
        )
    ]


def visits_of(conn: Conn, resident_id: str) -> list[Visit]:
    """List a resident's visits, newest due first."""
    return [
        _visit(r)
        for r in conn.execute(
            f"SELECT {_VISIT_COLUMNS} FROM visits WHERE resident_id = %s ORDER BY due_at DESC, id DESC", (resident_id,)
        )
    ]


_DAILY_SQL: Final = """
WITH t AS (
    SELECT (ts AT TIME ZONE %(tz)s)::date AS day, max(steps) AS steps,
           min(battery) <= %(low)s AS low_battery, avg((NOT worn)::int) > 0.5 AS not_worn
    FROM telemetry WHERE resident_id = %(rid)s AND ts >= %(start)s AND ts < %(end)s GROUP BY 1
), e AS (
    SELECT (ts AT TIME ZONE %(tz)s)::date AS day, count(*) AS trips
    FROM events WHERE resident_id = %(rid)s AND ts >= %(start)s AND ts < %(end)s
      AND kind = 'bathroom' AND state = 'occupied'
      AND (extract(hour FROM ts AT TIME ZONE %(tz)s) >= %(night_from)s
           OR extract(hour FROM ts AT TIME ZONE %(tz)s) < %(night_to)s)
    GROUP BY 1
)
SELECT coalesce(t.day, e.day), t.steps, coalesce(e.trips, 0), coalesce(t.low_battery, false),
       coalesce(t.not_worn, false)
FROM t FULL JOIN e ON e.day = t.day ORDER BY 1
"""


def daily_figures(
    conn: Conn,
    resident_id: str,
    start: datetime,
    end: datetime,
    *,
    tz: str = "Asia/Shanghai",
    low_battery: int = 20,
    night: tuple[int, int] = (22, 6),
) -> list[DailyFigures]:
    """Compute a resident's daily figures between two moments from telemetry and events."""
    params = {
        "tz": tz,
        "low": low_battery,
        "rid": resident_id,
        "start": start,
        "end": end,
        "night_from": night[0],
        "night_to": night[1],
    }
    return [DailyFigures(*row) for row in conn.execute(_DAILY_SQL, params)]


def check_trend(
    conn: Conn, resident_id: str, now: datetime, rule: TrendRule, tz: str = "Asia/Shanghai"
) -> tuple[TrendSignal, ...]:
    """Plan a trend visit, due now, when a resident's last week is worse than the week before; return why."""
    today = now.astimezone(ZoneInfo(tz)).date()
    start = datetime.combine(today - timedelta(days=2 * rule.window_days), datetime.min.time(), ZoneInfo(tz))
    signals = assess_trend(daily_figures(conn, resident_id, start, now, tz=tz), today, rule)
    if signals:
        _insert_visit(conn, resident_id, "trend", due=now, now=now, signals=[s.value for s in signals])
    return signals
