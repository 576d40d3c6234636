"""The response figures against a set of alerts whose every figure was worked out by hand.

The world is `world.seed`'s: station st1 (city) near residents r1 and r2 (city, 15-minute promise), station
st2 (countryside) with staff s3; here a countryside resident r3 (30-minute promise) beside st2 is added.
The period ends at UNTIL (2025-03-10 12:00 Shanghai) and starts 30 days before. Alerts, raised on two local
days, D1 = 2025-03-09 and D2 = 2025-03-10:

===  ===  ==========  ===  =================================================  =========  ==========  ===========
id   who  kind        sev  what happened (seconds after the raise)            answer     arrival     station
===  ===  ==========  ===  =================================================  =========  ==========  ===========
A0   r1   sos         4    before the period: ignored                         –          –           –
A1   r1   sos         4    ack 30, s1 sent 60, on site 600, resolved          ok 30      ok 600      st1 (s1)
A2   r1   fall        4    ack 120, s1 sent 150, on site 1200 (> 15 min)      late 120   late 1200   st1 (s1)
A3   r2   sos         4    never acknowledged, desk cancels at 300            never      – cancel    st1 nearest
A4   r2   inactivity  3    ack 45, s3 sent 90, nobody arrives, cancel 2400    ok 45      never arr.  st2 (s3)
A5   r3   fall        4    ack 20, s1 declines, s3 on site 1500 (< 30 min)    ok 20      ok 1500     st2 (s3)
A6   r3   inactivity  3    ack 50, phone call settles it at 300, nobody sent  ok 50      never disp  st2 nearest
A7   r1   inactivity  3    ack 40, false alarm at 180, nobody sent            ok 40      – false     st1 nearest
A8   r3   sos         4    "I'm OK" cancels at 20, no ack                     – (<60 s)  – cancel    st2 nearest
A10  r1   smoke       4    raised UNTIL - 30 s, still open                    pending    pending     st1 nearest
A11  r2   not_up      3    raised UNTIL - 20 min, still open, no ack          never      never disp  st1 nearest
===  ===  ==========  ===  =================================================  =========  ==========  ===========

A1–A4 are on D1, the others on D2. Percentiles are ``percentile_disc``: the value at position ceil(p·n) of
the sorted times, failures (never) sorting last as +infinity and reported as None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from dashboard.store.figures import response_figures

UNTIL = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SINCE = UNTIL - timedelta(days=30)
D1 = datetime(2025, 3, 9, 2, 0, tzinfo=UTC)  # 10:00 local on 2025-03-09
D2 = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 local on 2025-03-10
INF = None  # a percentile that falls on a failure
ANSWER = (
    *("answer_needed", "answered_in_time", "answered_late", "never_answered", "answer_pending"),
    *("answer_share", "answer_median_s", "answer_p90_s"),
)
ARRIVAL = (
    *("arrival_needed", "arrived_in_time", "arrived_late", "never_arrived", "never_dispatched", "arrival_pending"),
    *("arrival_share", "arrival_median_s", "arrival_p90_s"),
)


class Alerts:
    """Insert alerts, and the dispatches behind them, directly as rows honouring the table's checks."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def add(
        self,
        resident: str,
        kind: str,
        severity: int,
        raised: datetime,
        *,
        state: str,
        ack: float | None = None,
        sent: float | None = None,
        on_site: float | None = None,
        closed: float | None = None,
        outcome: str | None = None,
        promise: int = 15,
    ) -> int:
        """Insert one alert; the times are seconds after ``raised``; return its id."""

        def at(seconds: float | None) -> datetime | None:
            return None if seconds is None else raised + timedelta(seconds=seconds)

        incident = self.conn.execute(
            "INSERT INTO incidents (resident_id, alert_group, opened_at, closed_at) VALUES (%s, 'test', %s, %s)"
            " RETURNING id",
            (resident, raised, raised),
        ).fetchone()
        assert incident is not None
        row = self.conn.execute(
            "INSERT INTO alerts (incident_id, resident_id, kind, severity, state, outcome, raised_at, updated_at,"
            " acknowledged_at, dispatched_at, on_site_at, closed_at, explanation, explanation_zh, promise_minutes)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'test', '测试', %s) RETURNING id",
            (
                incident[0],
                resident,
                kind,
                severity,
                state,
                outcome,
                raised,
                at(closed) or raised,
                at(ack),
                at(sent),
                at(on_site),
                at(closed),
                promise,
            ),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def dispatch(self, alert_id: int, resident: str, raised: datetime, *staff: tuple[str, float, float | None]) -> None:
        """Record the dispatch of an alert: (staff id, assigned after s, on site after s or None) in order."""
        row = self.conn.execute(
            "INSERT INTO dispatches (alert_id, resident_id, raised_at, promise_min, deadline, opened_by, opened_at)"
            " VALUES (%s, %s, %s, 15, %s, 'operator:u1', %s) RETURNING id",
            (str(alert_id), resident, raised, raised + timedelta(minutes=15), raised),
        ).fetchone()
        assert row is not None
        for rank, (staff_id, assigned, arrived) in enumerate(staff, start=1):
            self.conn.execute(
                "INSERT INTO dispatch_assignments (dispatch_id, staff_id, rank, distance_km, eta_min, in_time,"
                " reason_en, reason_zh, state, assigned_by, assigned_at, on_site_at)"
                " VALUES (%s, %s, %s, 1, 5, true, '', '', %s, 'system', %s, %s)",
                (
                    row[0],
                    staff_id,
                    rank,
                    "done" if arrived is not None else "declined",
                    raised + timedelta(seconds=assigned),
                    None if arrived is None else raised + timedelta(seconds=arrived),
                ),
            )


def build(conn: psycopg.Connection[Any], until: datetime = UNTIL) -> None:
    """Store the alerts of the table in the module docstring, the period ending at ``until``."""
    d1 = D1 + (until - UNTIL)
    d2 = D2 + (until - UNTIL)
    conn.execute(
        "INSERT INTO residents (id, name, lat, lon, area_type)"
        " VALUES ('r3', '孙奶奶', 31.3010, 121.3010, 'countryside')"
    )
    a = Alerts(conn)
    a.add("r1", "sos", 4, until - timedelta(days=31), state="raised")  # A0
    a1 = a.add("r1", "sos", 4, d1, state="resolved", ack=30, sent=60, on_site=600, closed=1200, outcome="no_injury")
    a.dispatch(a1, "r1", d1, ("s1", 60, 600))
    t2 = d1 + timedelta(minutes=30)
    a2 = a.add("r1", "fall", 4, t2, state="resolved", ack=120, sent=150, on_site=1200, closed=2000, outcome="other")
    a.dispatch(a2, "r1", t2, ("s1", 150, 1200))
    a.add("r2", "sos", 4, d1 + timedelta(minutes=60), state="cancelled", closed=300)  # A3
    t4 = d1 + timedelta(minutes=90)
    a4 = a.add("r2", "inactivity", 3, t4, state="cancelled", ack=45, sent=90, closed=2400)
    a.dispatch(a4, "r2", t4, ("s3", 90, None))
    country = {"promise": 30}  # r3's promise, fixed when raised
    a5 = a.add(
        "r3", "fall", 4, d2, state="resolved", ack=20, sent=60, on_site=1500, closed=2400, outcome="hospital", **country
    )
    a.dispatch(a5, "r3", d2, ("s1", 60, None), ("s3", 200, 1500))
    t6 = d2 + timedelta(minutes=30)
    a.add("r3", "inactivity", 3, t6, state="resolved", ack=50, closed=300, outcome="no_injury", **country)  # A6
    t7 = d2 + timedelta(minutes=60)
    a.add("r1", "inactivity", 3, t7, state="resolved", ack=40, closed=180, outcome="false_alarm")  # A7
    a.add("r3", "sos", 4, d2 + timedelta(minutes=90), state="cancelled", closed=20, **country)  # A8
    a.add("r1", "smoke", 4, until - timedelta(seconds=30), state="raised")  # A10
    a.add("r2", "not_up", 3, until - timedelta(minutes=20), state="raised")  # A11


@pytest.fixture
def conn(pool: Any) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the seeded test database holding the alerts of the table."""
    with pool.connection() as connection:
        build(connection)
        yield connection


def figures_of(group: dict[str, Any]) -> dict[str, Any]:
    """Pick the judged figures of one group."""
    return {k: group[k] for k in ("alerts", *ANSWER, *ARRIVAL)}


def expect(alerts: int, answer: tuple[Any, ...], arrival: tuple[Any, ...]) -> dict[str, Any]:
    """Spell out the hand-computed figures: answer (needed, in time, late, never, pending, share, p50, p90),
    arrival (needed, in time, late, never arrived, never dispatched, pending, share, p50, p90)."""
    return {"alerts": alerts, **dict(zip(ANSWER, answer, strict=True)), **dict(zip(ARRIVAL, arrival, strict=True))}


def test_overall_counts_every_failure(conn: psycopg.Connection[Any]) -> None:
    """Overall, the unanswered and unreached alerts are in the denominators and in the percentiles."""
    f = response_figures(conn, SINCE, UNTIL, "Asia/Shanghai")
    # answer: needed A1 A2 A3 A4 A5 A6 A7 A11 = 8 (A8 cancelled in 20 s, A10 pending); in time A1 A4 A5 A6 A7 = 5;
    # late A2; never A3 A11. Times 20 30 40 45 50 120 inf inf: p50 = 4th = 45, p90 = 8th = inf.
    # arrival: needed A1 A2 A4 A5 A6 A11 = 6; in time A1 A5; late A2; never arrived A4; never dispatched A6 A11;
    # pending A10. Times 600 1200 1500 inf inf inf: p50 = 3rd = 1500, p90 = 6th = inf.
    assert figures_of(f["overall"]) == expect(10, (8, 5, 1, 2, 1, 5 / 8, 45, INF), (6, 2, 1, 1, 2, 1, 2 / 6, 1500, INF))
    assert f["overall"]["promise_minutes"] == [15, 30]
    # resolved A1 A2 A5 A6 A7; cancelled A3 A4 A8; one false alarm (A7)
    assert (f["overall"]["resolved"], f["overall"]["cancelled"], f["overall"]["false_alarms"]) == (5, 3, 1)


def test_per_severity(conn: psycopg.Connection[Any]) -> None:
    """Critical and high alerts are judged apart; critical comes first."""
    f = response_figures(conn, SINCE, UNTIL, "Asia/Shanghai")
    assert [g["key"] for g in f["per_severity"]] == ["4", "3"]
    critical, high = f["per_severity"]
    # critical A1 A2 A3 A5 A8 A10: answer needed A1 A2 A3 A5, in time A1 A5, late A2, never A3, pending A10;
    # times 20 30 120 inf: p50 = 2nd = 30, p90 = 4th = inf. Arrival needed A1 A2 A5 (A3, A8 cancelled; A10
    # pending): times 600 1200 1500, p50 = 2nd = 1200, p90 = 3rd = 1500.
    assert figures_of(critical) == expect(6, (4, 2, 1, 1, 1, 0.5, 30, INF), (3, 2, 1, 0, 0, 1, 2 / 3, 1200, 1500))
    # high A4 A6 A7 A11: answers 40 45 50 inf (never A11): 3/4, p50 = 45, p90 = inf. Arrival needed A4 (never
    # arrived), A6 and A11 (never dispatched); A7 was a false alarm: 0/3, every percentile on a failure.
    assert figures_of(high) == expect(4, (4, 3, 0, 1, 0, 0.75, 45, INF), (3, 0, 0, 1, 2, 0, 0.0, INF, INF))


def test_per_station_by_dispatched_staff_else_nearest(conn: psycopg.Connection[Any]) -> None:
    """An alert counts for the station of the staff sent (A4: s3 of st2, though r2 lives by st1), else the nearest."""
    f = response_figures(conn, SINCE, UNTIL, "Asia/Shanghai")
    assert [(g["key"], g["name"], g["station_area_type"]) for g in f["per_station"]] == [
        ("st1", "东湖服务站", "city"),
        ("st2", "西山服务站", "countryside"),
    ]
    st1, st2 = f["per_station"]
    # st1: A1 A2 A3 A7 A10 A11. Answers 30 40 120 inf inf (A10 pending): 2/5, p50 = 3rd = 120, p90 = 5th = inf.
    # Arrival A1 (600) A2 (1200 late) A11 (never dispatched): 1/3, p50 = 1200, p90 = inf.
    assert figures_of(st1) == expect(6, (5, 2, 1, 2, 1, 0.4, 120, INF), (3, 1, 1, 0, 1, 1, 1 / 3, 1200, INF))
    # st2: A4 A5 A6 A8. Answers 20 45 50 (A8 excluded): 3/3, p50 = 45, p90 = 3rd = 50.
    # Arrival A5 (1500 in time), A4 never arrived, A6 never dispatched: 1/3, p50 = 2nd = inf.
    assert figures_of(st2) == expect(4, (3, 3, 0, 0, 0, 1.0, 45, 50), (3, 1, 0, 1, 1, 0, 1 / 3, INF, INF))


def test_per_area_with_its_promise(conn: psycopg.Connection[Any]) -> None:
    """City residents are held to 15 minutes, countryside ones to 30 (A5 at 25 min is in time)."""
    f = response_figures(conn, SINCE, UNTIL, "Asia/Shanghai")
    city, countryside = f["per_area"]
    assert (city["key"], city["promise_minutes"]) == ("city", [15])
    assert (countryside["key"], countryside["promise_minutes"]) == ("countryside", [30])
    # city A1 A2 A3 A4 A7 A10 A11: answers in time A1 A4 A7 of 6; arrival in time A1 of A1 A2 A4 A11
    assert (city["alerts"], city["answered_in_time"], city["answer_needed"]) == (7, 3, 6)
    assert (city["arrived_in_time"], city["arrival_needed"], city["arrival_share"]) == (1, 4, 0.25)
    # countryside A5 A6 A8: answers A5 A6 in time; arrival A5 in time, A6 never dispatched
    assert (countryside["alerts"], countryside["answer_share"], countryside["arrival_share"]) == (3, 1.0, 0.5)


def test_trend_has_every_local_day(conn: psycopg.Connection[Any]) -> None:
    """The trend lists each local day of the period (31 of them), empty days with no share."""
    f = response_figures(conn, SINCE, UNTIL, "Asia/Shanghai")
    trend = {d["key"]: d for d in f["trend"]}
    assert len(f["trend"]) == 31
    assert f["trend"][0]["key"] == "2025-02-08"
    assert f["trend"][-1]["key"] == "2025-03-10"
    pick = ("answer_needed", "answered_in_time", "answer_share", "arrival_needed", "arrived_in_time", "arrival_share")
    # D1: answers A1 in time, A2 late, A3 never, A4 in time; arrival A1 in time, A2 late, A4 never arrived
    assert tuple(trend["2025-03-09"][k] for k in pick) == (4, 2, 0.5, 3, 1, 1 / 3)
    # D2: answers A5 A6 A7 in time, A11 never (A8 excluded, A10 pending); arrival A5 in time, A6 A11 never dispatched
    assert tuple(trend["2025-03-10"][k] for k in pick) == (4, 3, 0.75, 3, 1, 1 / 3)
    assert tuple(trend["2025-03-01"][k] for k in pick) == (0, 0, None, 0, 0, None)


def test_no_alerts_no_figures(pool: Any) -> None:
    """With no alerts every denominator is zero and no share or time is made up."""
    with pool.connection() as connection:
        f = response_figures(connection, SINCE, UNTIL, "Asia/Shanghai")
    assert f["overall"]["alerts"] == 0
    assert f["overall"]["answer_share"] is None and f["overall"]["arrival_median_s"] is None
    assert f["per_severity"] == f["per_station"] == f["per_area"] == []
    assert all(d["answer_needed"] == 0 for d in f["trend"])


def test_the_route_serves_them(client: TestClient, login: Callable[[str], dict[str, str]], pool: Any) -> None:
    """GET /api/figures answers with the same judgement, over a period ending now."""
    with pool.connection() as connection:
        build(connection, until=datetime.now(UTC))
    body = client.get("/api/figures?days=30", headers=login("supervisor")).json()
    assert body["answer_within_s"] == 60
    assert (body["overall"]["answer_needed"], body["overall"]["answered_in_time"]) == (8, 5)
    assert (body["overall"]["arrival_needed"], body["overall"]["arrived_in_time"]) == (6, 2)
    assert body["overall"]["answer_p90_s"] is None
    assert [g["key"] for g in body["per_station"]] == ["st1", "st2"]
    assert len(body["trend"]) == 31
