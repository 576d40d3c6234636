"""Welfare visits over HTTP: staff close their own with a structured note; supervisors see the overdue first.

The visits are planned and assigned by the hourly planner itself (``run_visit_planning``): both
residents live nearest the east station (st1), so r1's visit goes to s1 (staff1) and r2's to s2 (staff2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from dispatch.visits import FOLLOW_UP_AFTER, run_visit_planning

Login = Callable[[str], dict[str, str]]
NOTE = {"wellbeing": "some_concern", "home_safe": True, "follow_up": True, "note": "膝盖疼，走路慢"}


@pytest.fixture
def planned(pool: ConnectionPool[Any]) -> dict[str, int]:
    """Run the planner once; return each resident's planned visit."""
    with pool.connection() as conn:
        report = run_visit_planning(conn, datetime.now(UTC))
        assert (report.scheduled, report.assigned) == (3, 3)  # r1, r2 and r4 (the second district)
        rows = conn.execute("SELECT resident_id, id FROM visits WHERE status = 'planned'").fetchall()
    return {str(r): int(v) for r, v in rows}


def test_staff_see_their_own_visits_and_close_one_with_a_note(
    client: TestClient, login: Login, planned: dict[str, int], pool: ConnectionPool[Any]
) -> None:
    mine = client.get("/api/visits", headers=login("staff1")).json()
    assert [(v["resident_id"], v["staff_id"], v["reason"]) for v in mine] == [("r1", "s1", "scheduled")]
    assert mine[0]["address"] == "陈奶奶家"
    assert mine[0]["overdue"] is False

    response = client.post(f"/api/visits/{planned['r1']}/done", json=NOTE, headers=login("staff1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["visit"]["status"] == "done"
    assert body["visit"]["findings"] == {"wellbeing": "some_concern", "home_safe": True, "follow_up": True}
    assert body["visit"]["notes"] == "膝盖疼，走路慢"
    follow_up = body["follow_up"]
    assert (follow_up["reason"], follow_up["staff_id"], follow_up["status"]) == ("follow_up", "s1", "planned")
    done_at = datetime.fromisoformat(body["visit"]["done_at"])
    assert datetime.fromisoformat(follow_up["due_at"]) == done_at + FOLLOW_UP_AFTER

    now_mine = client.get("/api/visits", headers=login("staff1")).json()
    assert [v["id"] for v in now_mine] == [follow_up["id"]]
    again = client.post(f"/api/visits/{planned['r1']}/done", json=NOTE, headers=login("staff1"))
    assert again.status_code == 409
    assert again.json()["detail"] == {"code": "visit_not_planned", "status": "done"}
    with pool.connection() as conn:
        (detail,) = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'visit_done' AND object_id = %s", (str(planned["r1"]),)
        ).fetchone()
    assert detail == {
        "wellbeing": "some_concern",
        "home_safe": True,
        "follow_up": True,
        "follow_up_id": follow_up["id"],
    }


def test_staff_cannot_close_another_staff_members_visit(
    client: TestClient, login: Login, planned: dict[str, int], pool: ConnectionPool[Any]
) -> None:
    others = planned["r2"]  # staff2's
    refused = client.post(f"/api/visits/{others}/done", json=NOTE, headers=login("staff1"))
    assert refused.status_code == 404
    assert client.get(f"/api/visits/{others}", headers=login("staff1")).status_code == 404
    assert client.post(f"/api/visits/{others}/done", json=NOTE, headers=login("family2")).status_code == 404
    with pool.connection() as conn:
        (state,) = conn.execute("SELECT status FROM visits WHERE id = %s", (others,)).fetchone()
    assert state == "planned"


@pytest.mark.parametrize(
    "bad",
    [
        {**NOTE, "wellbeing": "fine"},
        {"wellbeing": "good", "home_safe": True},
        {**NOTE, "note": "x" * 501},
        {**NOTE, "findings": {}},
    ],
)
def test_the_note_is_validated(client: TestClient, login: Login, planned: dict[str, int], bad: dict[str, Any]) -> None:
    response = client.post(f"/api/visits/{planned['r1']}/done", json=bad, headers=login("staff1"))
    assert response.status_code == 422


def test_supervisors_see_the_overdue_first_and_what_was_done(
    client: TestClient, login: Login, planned: dict[str, int], pool: ConnectionPool[Any]
) -> None:
    with pool.connection() as conn:
        conn.execute("UPDATE visits SET due_at = now() - interval '3 days' WHERE id = %s", (planned["r2"],))
    quiet = {**NOTE, "follow_up": False, "wellbeing": "good", "note": "一切安好"}
    assert client.post(f"/api/visits/{planned['r1']}/done", json=quiet, headers=login("staff1")).status_code == 200

    open_ = client.get("/api/visits", headers=login("supervisor")).json()
    assert [(v["resident_id"], v["overdue"], v["staff_name"]) for v in open_] == [
        ("r2", True, "李护理"),  # overdue first
        ("r4", False, "周护理"),  # the second district's, not yet due
    ]
    done = client.get("/api/visits?status=done&days=7", headers=login("supervisor")).json()
    assert [(v["resident_id"], v["staff_name"], v["notes"]) for v in done] == [("r1", "王护理", "一切安好")]
    assert done[0]["findings"]["wellbeing"] == "good"
    assert client.get("/api/visits?status=missed", headers=login("supervisor")).status_code == 422
    family = client.get("/api/visits?status=done", headers=login("family2")).json()
    assert family == []  # family2 is r2's: r1's visit is not theirs


def test_the_visits_page_is_served(client: TestClient) -> None:
    page = client.get("/visits")
    assert page.status_code == 200
    assert 'src="/static/visits.js"' in page.text
