"""Districts: a resident's district is their station's, else the nearest station's; a district's supervisor
gets their district's figures and report whatever they ask; the city and admins any district's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from dashboard.roles import RoleName
from dashboard.store.users import create_user
from tests.dashboard.world import PASSWORD_HASH, Platform


def test_a_roster_station_outweighs_the_nearest(pool: Any) -> None:
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO residents (id, name, lat, lon, station_id) VALUES"
            " ('r8', '近东湖', 31.2321, 121.4721, 'st3'), ('r9', '近东湖', 31.2321, 121.4721, NULL)"
        )
        rows = conn.execute(
            "SELECT resident_id, station_id, district FROM resident_districts WHERE resident_id IN ('r4', 'r8', 'r9')"
            " ORDER BY 1"
        ).fetchall()
    assert rows == [("r4", "st3", "北岗区"), ("r8", "st3", "北岗区"), ("r9", "st1", "东湖区")]


def _north_supervisor(pool: Any) -> None:
    with pool.connection() as conn:
        district = conn.execute("SELECT id FROM districts WHERE name = '北岗区'").fetchone()[0]
        create_user(conn, "supervisor2", "Supervisor2", PASSWORD_HASH, RoleName.SUPERVISOR, district_id=district)


def test_figures_of_a_district_supervisor_are_their_districts(
    client: TestClient, login, world: Platform, pool: Any
) -> None:
    _north_supervisor(pool)
    world.raise_alert("r1")
    world.raise_alert("r2", "fall")
    world.raise_alert("r4")
    own = client.get("/api/figures?district=东湖区", headers=login("supervisor2")).json()
    assert (own["district"], own["overall"]["alerts"]) == ("北岗区", 1)
    assert [g["key"] for g in own["per_district"]] == ["北岗区"] and [g["key"] for g in own["per_station"]] == ["st3"]
    assert sum(d["alerts"] for d in own["per_kind_day"]) == 1 and own["devices"] == 1
    east = client.get("/api/figures?district=东湖区", headers=login("city")).json()
    assert (east["district"], east["overall"]["alerts"], east["devices"]) == ("东湖区", 2, 2)
    city = client.get("/api/figures", headers=login("city")).json()
    assert (city["district"], city["overall"]["alerts"]) == (None, 3)
    assert {g["key"]: g["alerts"] for g in city["per_district"]} == {"东湖区": 2, "北岗区": 1}


def test_reports_of_a_district_supervisor_are_their_districts(
    client: TestClient, login, world: Platform, pool: Any
) -> None:
    _north_supervisor(pool)
    world.raise_alert("r1")
    world.raise_alert("r4")
    month = f"{datetime.now(UTC):%Y-%m}"
    own = client.get(f"/api/reports/monthly?month={month}&district=东湖区", headers=login("supervisor2")).json()
    assert own["district"] == "北岗区"
    assert {r["district"] for r in own["alerts_by_kind"]} == {"北岗区"}
    assert {r["district"] for r in own["residents_by_category"]} == {"北岗区"}
    city = client.get(f"/api/reports/monthly?month={month}&district=东湖区", headers=login("city")).json()
    assert city["district"] == "东湖区" and {r["district"] for r in city["alerts_by_kind"]} == {"东湖区"}
    book = client.get(f"/api/reports/monthly?month={month}&format=xlsx", headers=login("supervisor2"))
    assert book.status_code == 200 and "%E5%8C%97%E5%B2%97%E5%8C%BA" in book.headers["content-disposition"]
