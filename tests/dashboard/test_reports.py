"""The monthly report against figures worked out by hand: two districts, four alerts of November and one of
October, visits, a device outage, residents by risk and category; the JSON, the workbook and the command.

By hand (Asia/Shanghai, November 2026):
- 蜀山区 (station 幸福站, city, promise 15 min): #1 SOS answered in 30 s, on site in 12 min — in time twice;
  #2 fall never acknowledged, cancelled by the desk after 10 min — never answered; not judged for arrival
  (never sent, cancelled). So: 2 alerts, answer 1 of 2 in time, 1 never; arrival 1 of 1 in time.
- 肥西县 (station 河湾站, countryside, 30 min): #3 inactivity answered after 90 s (late), staff sent and never
  there, resolved after an hour — never arrived; #4 a device offline, answered in 20 s, back after 2 h — not
  judged for arrival (medium). So: 2 alerts, answer 1 of 2 in time (1 late); arrival 0 of 1 (1 never arrived).
- #5 is October's: in neither.
- Visits due in November at 幸福站: 2, done 1, overdue 1 (河湾站's is due in December).
"""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openpyxl import load_workbook

from anxin.commands.report import run
from dashboard.reports import monthly_workbook
from dashboard.store.reports import monthly_report

T = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _seed(conn: psycopg.Connection[Any]) -> None:
    for name in ("蜀山区", "肥西县"):
        conn.execute("INSERT INTO districts (name) VALUES (%s)", (name,))
    conn.execute(
        "INSERT INTO stations (id, name, lat, lon, area_type, district_id) VALUES"
        " ('s1', '幸福站', 31.86, 117.27, 'city', (SELECT id FROM districts WHERE name = '蜀山区')),"
        " ('s2', '河湾站', 31.70, 117.10, 'countryside', (SELECT id FROM districts WHERE name = '肥西县'))"
    )
    for rid, station, risk, category, lat, lon, area in (
        ("ra1", "s1", "A", "living_alone", 31.861, 117.271, "city"),
        ("ra2", "s1", "B", "advanced_age", 31.862, 117.272, "city"),
        ("rb1", "s2", "A", "living_alone", 31.701, 117.101, "countryside"),
    ):
        conn.execute(
            "INSERT INTO residents (id, name, station_id, risk_class, lat, lon, area_type)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (rid, rid, station, risk, lat, lon, area),
        )
        conn.execute("INSERT INTO resident_categories VALUES (%s, %s)", (rid, category))
    conn.execute(
        "INSERT INTO staff (id, name, role, station_id)"
        " VALUES ('f1', '李红', 'nurse', 's1'), ('f2', '张伟', 'nurse', 's2')"
    )
    _alert(
        conn,
        1,
        "ra1",
        "sos",
        4,
        15,
        T,
        ack=30,
        dispatched=60,
        on_site=12 * 60,
        closed=40 * 60,
        state="resolved",
        outcome="no_injury",
        staff="f1",
    )
    _alert(conn, 2, "ra2", "fall", 4, 15, T + timedelta(days=1), closed=10 * 60, state="cancelled")
    _alert(
        conn,
        3,
        "rb1",
        "inactivity",
        3,
        30,
        T + timedelta(days=2),
        ack=90,
        dispatched=120,
        closed=3600,
        state="resolved",
        outcome="other",
        staff="f2",
    )
    _alert(
        conn,
        4,
        "rb1",
        "device_offline",
        2,
        30,
        T + timedelta(days=3),
        ack=20,
        closed=7200,
        state="cancelled",
        device="b-rb1",
    )
    _alert(conn, 5, "ra1", "sos", 4, 15, T - timedelta(days=30), ack=10, closed=600, state="cancelled")
    conn.execute(
        "INSERT INTO residents (id, name, station_id, lat, lon) VALUES ('drill-r-x', '【演练】', 's1', 31.86, 117.27)"
    )
    _alert(conn, 6, "drill-r-x", "sos", 4, 15, T, closed=300, state="cancelled")  # a drill: never counted
    for resident, due, status in (
        ("ra1", T + timedelta(days=10), "done"),
        ("ra2", T + timedelta(days=15), "planned"),
        ("rb1", T + timedelta(days=22), "planned"),
    ):
        conn.execute(
            "INSERT INTO visits (resident_id, reason, due_at, status, created_at) VALUES (%s, 'scheduled', %s, %s, %s)",
            (resident, due, status, T),
        )


def _alert(
    conn: psycopg.Connection[Any],
    alert_id: int,
    resident: str,
    kind: str,
    severity: int,
    promise: int,
    raised: datetime,
    *,
    closed: int,
    state: str,
    ack: int | None = None,
    dispatched: int | None = None,
    on_site: int | None = None,
    outcome: str | None = None,
    staff: str | None = None,
    device: str | None = None,
) -> None:
    def at(seconds: int | None) -> datetime | None:
        return None if seconds is None else raised + timedelta(seconds=seconds)

    conn.execute(
        "INSERT INTO incidents (id, resident_id, alert_group, opened_at, closed_at) VALUES (%s, %s, 'g', %s, %s)",
        (alert_id, resident, raised, at(closed)),
    )
    conn.execute(
        "INSERT INTO alerts (id, incident_id, resident_id, kind, severity, state, outcome, raised_at, updated_at,"
        " acknowledged_at, dispatched_at, on_site_at, closed_at, explanation, explanation_zh, promise_minutes,"
        " device_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', %s, %s)",
        (
            alert_id,
            alert_id,
            resident,
            kind,
            severity,
            state,
            outcome,
            raised,
            at(closed),
            at(ack),
            at(dispatched),
            at(on_site),
            at(closed),
            promise,
            device,
        ),
    )
    if staff is not None:
        row = conn.execute(
            "INSERT INTO dispatches (alert_id, resident_id, raised_at, promise_min, deadline, opened_by, opened_at)"
            " VALUES (%s, %s, %s, %s, %s, 'operator', %s) RETURNING id",
            (str(alert_id), resident, raised, promise, raised + timedelta(minutes=promise), at(dispatched)),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO dispatch_assignments (dispatch_id, staff_id, rank, distance_km, eta_min, in_time, reason_en,"
            " reason_zh, state, assigned_by, assigned_at, on_site_at) VALUES (%s, %s, 1, 1, 5, true, '', '', 'done',"
            " 'operator', %s, %s)",
            (row[0], staff, at(dispatched), at(on_site)),
        )


@pytest.fixture
def seeded(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        _seed(conn)
    return db_url


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_the_monthly_figures_match_the_hand_count(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        report = monthly_report(conn, date(2026, 11, 1), "Asia/Shanghai")
        west = monthly_report(conn, date(2026, 11, 1), "Asia/Shanghai", "肥西县")
    overall = report["response"]["overall"]
    assert (overall["alerts"], overall["answer_needed"], overall["answered_in_time"], overall["never_answered"]) == (
        4,
        4,
        2,
        1,
    )
    assert (overall["arrival_needed"], overall["arrived_in_time"], overall["never_arrived"]) == (2, 1, 1)
    districts = _by(report["response"]["per_district"], "key")
    assert (
        districts["蜀山区"]["alerts"],
        districts["蜀山区"]["answered_in_time"],
        districts["蜀山区"]["never_answered"],
    ) == (2, 1, 1)
    assert (districts["蜀山区"]["arrival_needed"], districts["蜀山区"]["arrived_in_time"]) == (1, 1)
    assert (districts["肥西县"]["answered_late"], districts["肥西县"]["never_arrived"]) == (1, 1)
    assert districts["肥西县"]["arrival_share"] == 0.0
    stations = _by(report["response"]["per_station"], "key")
    assert stations["s2"]["promise_minutes"] == [30] and stations["s1"]["promise_minutes"] == [15]
    kinds = {(r["district"], r["kind"], r["outcome"]): r["alerts"] for r in report["alerts_by_kind"]}
    assert kinds == {
        ("蜀山区", "sos", "no_injury"): 1,
        ("蜀山区", "fall", "cancelled"): 1,
        ("肥西县", "inactivity", "other"): 1,
        ("肥西县", "device_offline", "cancelled"): 1,
    }
    assert [(v["station"], v["due"], v["done"], v["overdue"]) for v in report["visits"]] == [("幸福站", 2, 1, 1)]
    [outage] = report["device_outages"]
    assert (outage["district"], outage["outages"], outage["devices"], round(outage["hours"], 1)) == (
        "肥西县",
        1,
        1,
        2.0,
    )
    risks = {(r["district"], r["risk_class"]): r["residents"] for r in report["residents_by_risk"]}
    assert risks == {("蜀山区", "A"): 1, ("蜀山区", "B"): 1, ("肥西县", "A"): 1}
    categories = {(r["district"], r["category"]): r["residents"] for r in report["residents_by_category"]}
    assert categories == {("蜀山区", "advanced_age"): 1, ("蜀山区", "living_alone"): 1, ("肥西县", "living_alone"): 1}
    assert west["response"]["overall"]["alerts"] == 2 and {r["district"] for r in west["alerts_by_kind"]} == {"肥西县"}

    book = load_workbook(io.BytesIO(monthly_workbook(report, "zh")))
    assert book.sheetnames[:3] == ["概览", "各区响应", "各服务站响应"]
    overview = [[c.value for c in row] for row in book["概览"].iter_rows()]
    header, values = overview
    assert values[header.index("60秒内应答")] == 2 and values[header.index("始终无人应答")] == 1
    assert values[header.index("派遣未到场")] == 1
    english = load_workbook(io.BytesIO(monthly_workbook(report, "en")))
    assert "By district" in english.sheetnames


def test_the_command_writes_the_workbook(
    seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded)
    out = tmp_path / "2026-11.xlsx"
    assert run(argparse.Namespace(month="2026-11", district="蜀山区", out=out, lang="zh")) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary | {"out": None} == {
        "report": "monthly", "month": "2026-11", "district": "蜀山区", "out": None, "alerts": 2, "answer_needed": 2,
        "answered_in_time": 1, "never_answered": 1, "arrival_needed": 1, "arrived_in_time": 1, "never_arrived": 0,
        "never_dispatched": 0,
    }  # fmt: skip
    assert load_workbook(out)["概览"]["B2"].value == "蜀山区"
