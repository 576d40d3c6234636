"""Every endpoint × every role × someone else's object → refused; responses match the OpenAPI schema.

The neighbourhood: r1's SOS is dispatched to staff s1 (staff1); r2's alert is dispatched to nobody.
family1 is r1's daughter, family2 is r2's. "Someone else's object" is r2's (or staff2's) for family1
and staff1, and r1's for family2 and staff2.

Two districts: r1, r2, st1, s1–s3 are 东湖区's, whose operator is ``operator``; r4, st3 and s4 are
北岗区's, whose operator is ``operator2``. r4's SOS is dispatched to s4, r4's fall to nobody. Each
district's objects are someone else's for the other district's operator; admins and the supervisor
reach both; ``city`` reaches only the figures and reports.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from alerts.lifecycle import AlertState
from dispatch.roster_files import write_template
from tests.dashboard.world import ACCOUNTS, Platform

CITY_WIDE = {"admin", "supervisor"}  # desk users of no district
DESK = CITY_WIDE | {"operator"}  # the desk that reaches 东湖区 (r1, r2)
DESK2 = CITY_WIDE | {"operator2"}  # the desk that reaches 北岗区 (r4)
ANY_DESK = DESK | DESK2
FIGURES = CITY_WIDE | {"city"}
ROLES = list(ACCOUNTS)


@dataclass(frozen=True)
class Case:
    """One request, and who may make it on whose object."""

    method: str
    path: str  # {a1} r1's dispatched alert, {a2} r2's alert, {t1} s1's task on a1, {v2} r2's visit; {a3}, {a4},
    # {t3}, {v4}: r4's dispatched alert, r4's other alert, s4's task on a3, r4's visit
    allowed: frozenset[str]
    body: Any = None


OUTBOX = {"kind": "outbox", "target": "z"}  # a contact channel that needs no server


def roster_template() -> bytes:
    """Return the blank roster workbook (a preview of it changes nothing)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.xlsx"
        write_template(path)
        return path.read_bytes()


def case(method: str, path: str, allowed: set[str], body: Any = None) -> Case:
    return Case(method, path, frozenset(allowed), body)


CASES = [
    case("GET", "/api/auth/me", set(ROLES)),
    case("PUT", "/api/auth/me/locale", set(ROLES), {"locale": "zh-CN"}),
    case("GET", "/api/residents", set(ROLES)),
    case("GET", "/api/residents/r1", DESK | {"family1", "staff1"}),
    case("GET", "/api/residents/r2", DESK | {"family2"}),
    case("GET", "/api/residents/r2/vitals", DESK | {"family2"}),
    case("GET", "/api/residents/r2/activity", DESK | {"family2"}),
    case("GET", "/api/residents/r4", DESK2),
    case("GET", "/api/residents/r4/vitals", DESK2),
    case("GET", "/api/residents/r4/activity", DESK2),
    case("GET", "/api/devices", set(ROLES)),
    case("GET", "/api/devices?resident_id=r2", DESK | {"family2"}),
    case("GET", "/api/devices/b-r2", DESK | {"family2"}),
    case("GET", "/api/devices?resident_id=r4", DESK2),
    case("GET", "/api/devices/b-r4", DESK2),
    case("GET", "/api/stations", ANY_DESK),
    case("GET", "/api/stations/st1", DESK),
    case("GET", "/api/stations/st3", DESK2),
    case("GET", "/api/staff", ANY_DESK),
    case("GET", "/api/staff/s2", DESK | {"staff2"}),
    case("PATCH", "/api/staff/s2", DESK | {"staff2"}, {"lat": 31.2, "lon": 121.4}),
    case("GET", "/api/staff/s4", DESK2),
    case("PATCH", "/api/staff/s4", DESK2, {"lat": 31.6, "lon": 121.47}),
    case("GET", "/api/alerts", set(ROLES)),
    case("GET", "/api/alerts/{a1}", DESK | {"family1", "staff1"}),
    case("GET", "/api/alerts/{a2}", DESK | {"family2"}),
    case("POST", "/api/alerts/{a2}/acknowledge", DESK, {}),
    case("POST", "/api/alerts/{a2}/cancel", DESK, {"note": "test"}),
    case("POST", "/api/alerts/{a2}/resolve", DESK, {"outcome": "false_alarm"}),
    case("POST", "/api/alerts/{a2}/claim", DESK, {}),
    case("POST", "/api/alerts/{a2}/release", DESK, {}),
    case("POST", "/api/alerts/{a2}/notes", DESK, {"text": "called the daughter"}),
    case("POST", "/api/alerts/{a2}/bracelet", DESK, {"action": "locate"}),
    case("GET", "/api/alerts/{a2}/candidates", DESK),
    case("POST", "/api/alerts/{a2}/dispatch", DESK, {}),
    case("GET", "/api/alerts/{a1}/tasks", DESK | {"family1", "staff1"}),
    case("POST", "/api/alerts/{a2}/reply", {"family2"}, {"answer": "going"}),
    case("GET", "/api/alerts/{a3}", DESK2),
    case("GET", "/api/alerts/{a4}", DESK2),
    case("POST", "/api/alerts/{a4}/acknowledge", DESK2, {}),
    case("POST", "/api/alerts/{a4}/cancel", DESK2, {"note": "test"}),
    case("POST", "/api/alerts/{a4}/resolve", DESK2, {"outcome": "false_alarm"}),
    case("POST", "/api/alerts/{a4}/claim", DESK2, {}),
    case("POST", "/api/alerts/{a4}/release", DESK2, {}),
    case("POST", "/api/alerts/{a4}/notes", DESK2, {"text": "called the son"}),
    case("POST", "/api/alerts/{a4}/bracelet", DESK2, {"action": "call_back", "number": "057188886666"}),
    case("GET", "/api/alerts/{a4}/candidates", DESK2),
    case("POST", "/api/alerts/{a4}/dispatch", DESK2, {}),
    case("GET", "/api/alerts/{a3}/tasks", DESK2),
    case("GET", "/api/alerts/{a4}/story", DESK2),
    case("POST", "/api/alerts/{a4}/reply", set(), {"answer": "going"}),
    case("GET", "/api/tasks", ANY_DESK | {"staff1", "staff2"}),
    case("POST", "/api/tasks/{t1}/accept", DESK | {"staff1"}),
    case("POST", "/api/tasks/{t1}/en_route", DESK | {"staff1"}),
    case("POST", "/api/tasks/{t1}/on_site", DESK | {"staff1"}),
    case("POST", "/api/tasks/{t1}/decline", DESK | {"staff1"}, {"reason": "busy"}),
    case("POST", "/api/tasks/{t1}/outcome", DESK | {"staff1"}, {"outcome": "helped_at_home"}),
    case("POST", "/api/tasks/{t3}/accept", DESK2),
    case("POST", "/api/tasks/{t3}/en_route", DESK2),
    case("POST", "/api/tasks/{t3}/on_site", DESK2),
    case("POST", "/api/tasks/{t3}/decline", DESK2, {"reason": "busy"}),
    case("POST", "/api/tasks/{t3}/outcome", DESK2, {"outcome": "helped_at_home"}),
    case("GET", "/api/visits", set(ROLES)),
    case("GET", "/api/visits/{v2}", DESK | {"family2"}),
    case("POST", "/api/visits/{v2}/done", DESK, {"wellbeing": "good", "home_safe": True, "follow_up": False}),
    case("GET", "/api/visits/{v4}", DESK2),
    case("POST", "/api/visits/{v4}/done", DESK2, {"wellbeing": "good", "home_safe": True, "follow_up": False}),
    case("GET", "/api/figures", FIGURES),
    case("GET", "/api/figures?district=北岗区", FIGURES),
    case("GET", "/api/reports/monthly?month=2026-11", FIGURES),
    case("GET", "/api/reports/monthly?month=2026-11&district=东湖区", FIGURES),
    case("POST", "/api/admin/roster?dry_run=true", {"admin"}, roster_template()),
    case("GET", "/api/users/{u2}/duty", {"admin", "supervisor"}),
    case(
        "PUT", "/api/users/{u2}/duty", {"admin", "supervisor"}, {"on_duty": True, "notify_url": "json://127.0.0.1:9/x"}
    ),
    case("GET", "/api/me/preferences", {"family1", "family2"}),
    case("GET", "/api/me/messages", {"family1", "family2"}),
    case("GET", "/api/alerts/{a2}/story", DESK | {"family2"}),
    case("PUT", "/api/me/preferences/{c2}", {"family2"}, {"quiet_start": "22:00", "quiet_end": "07:00"}),
    # Administration: the admin only (tests/dashboard/test_admin.py checks each change).
    case("GET", "/api/admin/choices", {"admin"}),
    case("GET", "/metrics", {"admin"}),  # open only to a direct loopback client; the test client is not one
    case("GET", "/api/admin/audit?resident_id=r2", {"admin"}),
    case("GET", "/api/admin/residents", {"admin"}),
    case("GET", "/api/admin/residents/r2", {"admin"}),
    case("POST", "/api/admin/residents", {"admin"}, {"name": "新老人", "lat": 31.23, "lon": 121.47}),
    case("PUT", "/api/admin/residents/r2", {"admin"}, {"name": "赵爷爷", "lat": 31.24, "lon": 121.47}),
    case("POST", "/api/admin/residents/r2/contacts", {"admin"}, {"name": "邻居", "relation": "neighbour"}),
    case("PUT", "/api/admin/contacts/{c2}", {"admin"}, {"name": "赵女士", "channels": [OUTBOX]}),
    case("PUT", "/api/admin/contacts/{c2}/position", {"admin"}, {"position": 1}),
    case("POST", "/api/admin/contacts/{c2}/deactivate", {"admin"}),
    case("POST", "/api/admin/residents/r2/deactivate", {"admin"}),
    case("POST", "/api/admin/residents/r2/activate", {"admin"}),
    case("GET", "/api/admin/devices", {"admin"}),
    case("POST", "/api/admin/devices", {"admin"}, {"id": "b-new", "kind": "bracelet", "resident_id": "r2"}),
    case("PUT", "/api/admin/devices/b-r2", {"admin"}, {"resident_id": "r2"}),
    case("POST", "/api/admin/devices/b-r2/rotate", {"admin"}),
    case("POST", "/api/admin/devices/b-r2/deactivate", {"admin"}),
    case("POST", "/api/admin/devices/b-r2/activate", {"admin"}),
    case("GET", "/api/admin/stations", {"admin"}),
    case("POST", "/api/admin/stations", {"admin"}, {"id": "st-new", "name": "新站", "lat": 31.2, "lon": 121.4}),
    case("PUT", "/api/admin/stations/st1", {"admin"}, {"name": "东湖服务站", "lat": 31.23, "lon": 121.47}),
    case("POST", "/api/admin/stations/st1/deactivate", {"admin"}),  # its staff work there: 409
    case("POST", "/api/admin/stations/st1/activate", {"admin"}),
    case("GET", "/api/admin/staff", {"admin"}),
    case("POST", "/api/admin/staff", {"admin"}, {"id": "s-new", "name": "新护理", "station_id": "st1"}),
    case("PUT", "/api/admin/staff/s2", {"admin"}, {"name": "李护理", "station_id": "st1"}),
    case("PUT", "/api/admin/staff/s2/week", {"admin"}, {"week": [{"weekday": 0, "starts": "08:00", "ends": "20:00"}]}),
    case("POST", "/api/admin/staff/s2/deactivate", {"admin"}),
    case("POST", "/api/admin/staff/s2/activate", {"admin"}),
    case("GET", "/api/admin/users", {"admin"}),
    case(
        "POST",
        "/api/admin/users",
        {"admin"},
        {"username": "new_admin_op", "display_name": "N", "password": "0123456789ab", "role": "operator"},
    ),
    case("PUT", "/api/admin/users/{u2}", {"admin"}, {"display_name": "Supervisor", "role": "supervisor"}),
    case("POST", "/api/admin/users/{u2}/deactivate", {"admin"}),
    case("POST", "/api/admin/users/{u2}/activate", {"admin"}),
    case("POST", "/api/auth/logout", set(ROLES)),
]
# Reachable without signing in: the sign-in itself, the pages' configuration, and signed family links.
PUBLIC = {
    ("POST", "/api/auth/login"),
    ("GET", "/api/config"),
    ("POST", "/api/replies/{token}"),
    ("GET", "/healthz"),  # probes: a load balancer asks them without signing in
    ("GET", "/readyz"),
}


@pytest.fixture
def objects(world: Platform, pool) -> dict[str, Any]:
    """Make the objects the cases name."""
    a1 = world.raise_alert("r1")
    a2 = world.raise_alert("r2", "fall")
    world.alerts.transition(a1, AlertState.ACKNOWLEDGED, "operator:u1")
    offer = world.flow.assign(
        str(a1), "r1", raised_at=datetime.now(UTC), actor="operator:u1", now=datetime.now(UTC), staff_id="s1"
    )
    a3 = world.raise_alert("r4")
    a4 = world.raise_alert("r4", "fall")
    world.alerts.transition(a3, AlertState.ACKNOWLEDGED, "operator:u1")
    offer3 = world.flow.assign(
        str(a3), "r4", raised_at=datetime.now(UTC), actor="operator:u1", now=datetime.now(UTC), staff_id="s4"
    )
    with pool.connection() as conn:
        v2 = conn.execute(
            "INSERT INTO visits (resident_id, reason, due_at, created_at) VALUES"
            " ('r2', 'scheduled', now(), now()) RETURNING id"
        ).fetchone()[0]
        v4 = conn.execute(
            "INSERT INTO visits (resident_id, reason, due_at, created_at) VALUES"
            " ('r4', 'scheduled', now(), now()) RETURNING id"
        ).fetchone()[0]
        c2 = conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = 'r2'").fetchone()[0]
        notice = conn.execute(
            "INSERT INTO notices (key, alert_id, resident_id, event, severity, audience, created_at)"
            " VALUES ('k2', %s, 'r2', 'raised', 4, 'chain', now()) RETURNING id",
            (str(a2),),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO notice_deliveries (notice_id, contact_id, position, state) VALUES (%s, %s, 1, 'sent')",
            (notice, c2),
        )
        u2 = conn.execute("SELECT id FROM users WHERE username = 'supervisor'").fetchone()[0]
    return {"a1": a1, "a2": a2, "t1": offer.assignment_id, "v2": v2, "c2": c2, "u2": u2} | {
        "a3": a3,
        "a4": a4,
        "t3": offer3.assignment_id,
        "v4": v4,
    }


def test_every_endpoint_is_covered(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    declared = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    tested = {(c.method, _template(c.path)) for c in CASES} | PUBLIC
    assert declared == tested


def _template(path: str) -> str:
    """Map a case path to the OpenAPI path it exercises."""
    replace = {
        "{a1}": "{alert_id}",
        "{a2}": "{alert_id}",
        "{a3}": "{alert_id}",
        "{a4}": "{alert_id}",
        "{t3}": "{assignment_id}",
        "{v4}": "{visit_id}",
        "{t1}": "{assignment_id}",
        "{v2}": "{visit_id}",
        "{c2}": "{contact_id}",
        "{u2}": "{user_id}",
        "r1": "{resident_id}",
        "r2": "{resident_id}",
        "r4": "{resident_id}",
        "st1": "{station_id}",
        "st3": "{station_id}",
        "s2": "{staff_id}",
        "s4": "{staff_id}",
        "b-r2": "{device_id}",
        "b-r4": "{device_id}",
    }
    return "/".join(replace.get(part, part) for part in path.split("?", maxsplit=1)[0].split("/"))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_on_every_endpoint(client: TestClient, login, objects, role: str) -> None:
    schema = client.get("/openapi.json").json()
    for c in CASES:
        path = c.path.format(**objects)
        sent = {"content": c.body} if isinstance(c.body, bytes) else {"json": c.body}
        response = client.request(c.method, path, **sent, headers=login(role))
        if role in c.allowed:
            # Allowed may still meet a state conflict (a move the alert's state refuses): never 401/403/404.
            assert response.status_code in (200, 201, 204, 409), (role, c.method, path, response.text)
            json_body = response.headers.get("content-type", "").startswith("application/json")
            if response.status_code in (200, 201) and json_body:  # /metrics answers in Prometheus' text format
                _check_schema(schema, c.method, _template(c.path), response)
        else:
            assert response.status_code in (403, 404), (role, c.method, path, response.status_code)


# Each list and the key that names whose it is; a district's operator lists only their district's.
LISTS = {
    "/api/residents": "id",
    "/api/alerts": "resident_id",
    "/api/devices": "resident_id",
    "/api/stations": "id",
    "/api/staff": "station_id",
    "/api/tasks?live_only=false": "resident_id",
    "/api/visits": "resident_id",
}
EAST, NORTH = {"r1", "r2", "st1", "st2"}, {"r4", "st3"}  # 东湖区's and 北岗区's residents and stations


@pytest.mark.parametrize(("role", "own"), [("operator", EAST), ("operator2", NORTH), ("supervisor", EAST | NORTH)])
def test_every_list_holds_only_the_district(client: TestClient, login, objects, role: str, own: set[str]) -> None:
    for path, key in LISTS.items():
        response = client.get(path, headers=login(role))
        assert response.status_code == 200, (role, path, response.text)
        seen = {row[key] for row in response.json()}
        assert seen and seen <= own, (role, path, seen)
        if role == "supervisor":  # a desk user of no district sees both
            assert seen & EAST and seen & NORTH, (path, seen)


def test_the_city_reads_no_person(client: TestClient, login, objects) -> None:
    for path in LISTS:
        response = client.get(path, headers=login("city"))
        assert response.status_code == 403 or response.json() == [], (path, response.text)


def test_signed_out_requests_are_refused(client: TestClient, objects) -> None:
    for c in CASES:
        sent = {"content": c.body} if isinstance(c.body, bytes) else {"json": c.body}
        response = client.request(c.method, c.path.format(**objects), **sent)
        assert response.status_code == 401, (c.method, c.path)


def _check_schema(openapi: dict[str, Any], method: str, path: str, response: Any) -> None:
    """Validate a response body against the schema the OpenAPI document declares for it."""
    op = openapi["paths"][path][method.lower()]
    declared = op["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**declared, "components": openapi["components"]})
    errors = list(validator.iter_errors(response.json()))
    assert not errors, (method, path, errors[0].message)
