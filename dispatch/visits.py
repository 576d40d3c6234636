"""Welfare visits (探访): a schedule by risk class, a visit when a resident's trend worsens, who goes, the note.

The schedule table, the trend rule and the choice of visitor are pure and take time, daily figures
and staff as arguments; the functions below them are the thin database layer that computes daily
figures from ``telemetry`` and ``events`` and stores visits. A partial unique index keeps one open
visit per resident and reason, so the planner and the trend check may run as often as one likes.

``run_visit_planning`` is the one entry point the platform calls every hour: it plans the scheduled
visits, runs the trend check once per resident and local day (the day is claimed in
``visit_trend_checks``, so a second run that day checks nobody again), and gives every unassigned
planned visit to a staff member of the resident's station — the station nearest their home — the
one with the fewest open visits. A visit is closed with a short structured note (``VisitNote``);
one that asks for a follow-up plans a ``follow_up`` visit for the same staff member.
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
from dispatch.people import Conn, load_staff, residents_by_risk
from dispatch.places import RiskClass, StaffMember

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


OVERDUE_AFTER: Final = timedelta(days=1)  # a visit due today is today's work; a day later it is overdue
FOLLOW_UP_AFTER: Final = timedelta(days=2)  # a follow-up asked for at a visit is due within two days
TREND_RULE: Final = TrendRule()


class VisitReason(StrEnum):
    """Why a visit is planned."""

    SCHEDULED = "scheduled"
    TREND = "trend"
    FOLLOW_UP = "follow_up"


class Wellbeing(StrEnum):
    """How the resident seemed at a visit."""

    GOOD = "good"
    SOME_CONCERN = "some_concern"
    POOR = "poor"


@dataclass(frozen=True, slots=True)
class VisitNote:
    """The short structured note a staff member leaves at a visit."""

    wellbeing: Wellbeing
    home_safe: bool
    needs_follow_up: bool
    text: str = ""

    def findings(self) -> dict[str, object]:
        """Return the structured part of the note, as stored in ``visits.findings``."""
        return {"wellbeing": self.wellbeing.value, "home_safe": self.home_safe, "follow_up": self.needs_follow_up}


@dataclass(frozen=True, slots=True)
class Visit:
    """A planned or recorded welfare visit."""

    id: int
    resident_id: str
    reason: str  # a VisitReason
    due_at: datetime
    status: str  # planned, done, missed, cancelled
    signals: tuple[str, ...] = ()
    staff_id: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VisitPlanReport:
    """What one planning run did."""

    scheduled: int  # scheduled visits planned
    trend_checked: int  # residents whose trend was checked (at most once per local day)
    worsening: int  # of those, residents whose last week was worse (a trend visit unless one is open)
    assigned: int  # planned visits given to a staff member
    unassigned: int  # planned visits nobody could be given (no home location, or no staff at all)


def is_overdue(due_at: datetime, now: datetime, grace: timedelta = OVERDUE_AFTER) -> bool:
    """Tell whether a planned visit is overdue: the grace after its due time has passed."""
    return due_at + grace < now


def pick_visitor(station_id: str, staff: Sequence[StaffMember], open_visits: Mapping[str, int]) -> StaffMember | None:
    """Choose who visits a resident: of the staff of their station, the one with the fewest open visits."""
    theirs = [m for m in staff if m.station.id == station_id]
    return min(theirs, key=lambda m: (open_visits.get(m.id, 0), m.id)) if theirs else None


_VISIT_COLUMNS: Final = "id, resident_id, reason, due_at, status, signals, staff_id, done_at"


def _visit(row: tuple[Any, ...]) -> Visit:
    """Build a visit from a row of ``_VISIT_COLUMNS``."""
    vid, rid, reason, due, status, signals, staff_id, done = row
    return Visit(vid, rid, reason, due, status, tuple(signals), staff_id, done)


def run_visit_planning(
    conn: Conn,
    now: datetime,
    *,
    rule: TrendRule = TREND_RULE,
    intervals: Mapping[RiskClass, timedelta] = VISIT_INTERVALS,
) -> VisitPlanReport:
    """Plan scheduled visits, run today's trend checks and assign open visits; safe to run every hour."""
    scheduled = plan_scheduled_visits(conn, now, intervals)
    claimed = _claim_trend_checks(conn, now)
    worsening = sum(bool(check_trend(conn, resident_id, now, rule, tz)) for resident_id, tz in claimed)
    assigned, unassigned = assign_visits(conn, now)
    return VisitPlanReport(scheduled, len(claimed), worsening, assigned, unassigned)


def _claim_trend_checks(conn: Conn, now: datetime) -> list[tuple[str, str]]:
    """Claim the trend check of every resident not yet checked on their local day; return them with their zone."""
    zones: dict[str, str] = dict(conn.execute("SELECT id, timezone FROM residents").fetchall())
    days = {rid: now.astimezone(ZoneInfo(tz)).date() for rid, tz in zones.items()}
    claimed = conn.execute(
        "INSERT INTO visit_trend_checks (resident_id, checked_on, checked_at)"
        " SELECT rid, day, %(now)s FROM unnest(%(ids)s::text[], %(days)s::date[]) AS u (rid, day)"
        " ON CONFLICT (resident_id) DO UPDATE SET checked_on = EXCLUDED.checked_on, checked_at = EXCLUDED.checked_at"
        " WHERE visit_trend_checks.checked_on < EXCLUDED.checked_on RETURNING resident_id",
        {"now": now, "ids": list(days), "days": list(days.values())},
    ).fetchall()
    return sorted((rid, zones[rid]) for (rid,) in claimed)


def assign_visits(conn: Conn, now: datetime) -> tuple[int, int]:
    """Give every unassigned planned visit to a visitor (``pick_visitor``); return how many were and were not."""
    staff = load_staff(conn, now)
    load: dict[str, int] = dict(
        conn.execute(
            "SELECT staff_id, count(*) FROM visits WHERE status = 'planned' AND staff_id IS NOT NULL GROUP BY staff_id"
        ).fetchall()
    )
    # The resident's station has one definition (the roster's, else the nearest): the view resident_districts.
    open_visits = conn.execute(
        "SELECT v.id, d.station_id FROM visits v JOIN resident_districts d ON d.resident_id = v.resident_id"
        " WHERE v.status = 'planned' AND v.staff_id IS NULL ORDER BY v.due_at, v.id"
    ).fetchall()
    assigned = 0
    for visit_id, station_id in open_visits:
        visitor = None if station_id is None else pick_visitor(station_id, staff, load)
        if visitor is None:
            continue
        # The guard keeps a visit someone else assigned meanwhile (another planner, the desk) as it is.
        if conn.execute(
            "UPDATE visits SET staff_id = %s WHERE id = %s AND staff_id IS NULL", (visitor.id, visit_id)
        ).rowcount:
            load[visitor.id] = load.get(visitor.id, 0) + 1
            assigned += 1
    return assigned, len(open_visits) - assigned


def plan_scheduled_visits(conn: Conn, now: datetime, intervals: Mapping[RiskClass, timedelta] = VISIT_INTERVALS) -> int:
    """Give every resident without one a planned visit by their risk class; return how many were planned."""
    planned = 0
    for resident_id, risk in residents_by_risk(conn):
        row = conn.execute(
            "SELECT max(done_at) FROM visits WHERE resident_id = %s AND status = 'done'", (resident_id,)
        ).fetchone()
        due = next_visit_due(risk, row[0] if row else None, now, intervals)
        planned += _insert_visit(conn, resident_id, VisitReason.SCHEDULED, due=due, now=now) is not None
    return planned


def _insert_visit(
    conn: Conn,
    resident_id: str,
    reason: VisitReason,
    *,
    due: datetime,
    now: datetime,
    signals: Sequence[str] = (),
    staff_id: str | None = None,
) -> int | None:
    """Plan a visit unless one for the same reason is already open; return its id when planned."""
    row = conn.execute(
        "INSERT INTO visits (resident_id, reason, due_at, created_at, signals, staff_id)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (resident_id, reason) WHERE status = 'planned' DO NOTHING RETURNING id",
        (resident_id, reason.value, due, now, list(signals), staff_id),
    ).fetchone()
    return None if row is None else int(row[0])


def record_visit(
    conn: Conn,
    visit_id: int,
    staff_id: str | None,
    at: datetime,
    *,
    notes: str = "",
    findings: Mapping[str, object] | None = None,
) -> Visit:
    """Record a planned visit as done, with notes and findings; without a staff id the one assigned stays."""
    row = conn.execute(
        "UPDATE visits SET status = 'done', staff_id = coalesce(%s, staff_id), done_at = %s, notes = %s,"
        f" findings = %s WHERE id = %s AND status = 'planned' RETURNING {_VISIT_COLUMNS}",
        (staff_id, at, notes or None, Jsonb(dict(findings or {})), visit_id),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no planned visit {visit_id}")
    return _visit(row)


def complete_visit(
    conn: Conn,
    visit_id: int,
    note: VisitNote,
    at: datetime,
    *,
    staff_id: str | None = None,
    follow_up_after: timedelta = FOLLOW_UP_AFTER,
) -> int | None:
    """Record a visit done with its note; when the note asks for it, return the follow-up visit planned."""
    done = record_visit(conn, visit_id, staff_id, at, notes=note.text, findings=note.findings())
    if not note.needs_follow_up:
        return None
    due = at + follow_up_after
    planned = _insert_visit(conn, done.resident_id, VisitReason.FOLLOW_UP, due=due, now=at, staff_id=done.staff_id)
    if planned is not None:
        return planned
    row = conn.execute(  # one was open already: that one is the follow-up
        "SELECT id FROM visits WHERE resident_id = %s AND reason = 'follow_up' AND status = 'planned'",
        (done.resident_id,),
    ).fetchone()
    return None if row is None else int(row[0])


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
        _insert_visit(conn, resident_id, VisitReason.TREND, due=now, now=now, signals=[s.value for s in signals])
    return signals
