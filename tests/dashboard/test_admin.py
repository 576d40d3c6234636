"""Administration API: each resource created, edited and deactivated by an admin, refused with codes when
invalid, refused to every other role, and every change in the audit log (with the resident it concerns)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from gateway.provisioning import verify_password

Login = Callable[[str], dict[str, str]]

RESIDENT = {
    "name": "孙奶奶",
    "gender": "F",
    "phone": "13812345678",
    "address": "东湖路 8 号 3 楼",
    "street": "东湖街道",
    "community": "东湖社区",
    "lat": 31.2330,
    "lon": 121.4730,
    "station_id": "st1",
    "categories": ["living_alone", "advanced_age"],
    "assessment_level": 3,
    "risk_class": "A",
    "heart_rate_low": 45,
    "heart_rate_high": 110,
    "spo2_low": 88,
}
CONTACT = {
    "name": "孙女士",
    "relation": "family",
    "phone": "13900001111",
    "quiet_start": "22:00:00",
    "quiet_end": "07:00:00",
    "channels": [{"kind": "email", "target": "daughter@example.org"}, {"kind": "outbox", "target": "sun"}],
}


def _audit(pool: ConnectionPool[Any], object_type: str, object_id: str) -> list[tuple[str, Any]]:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT action, detail FROM audit_log WHERE object_type = %s AND object_id = %s ORDER BY id",
            (object_type, object_id),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_resident_with_every_field_is_created_edited_and_deactivated(
    client: TestClient, login: Login, pool: ConnectionPool[Any]
) -> None:
    admin = login("admin")
    made = client.post("/api/admin/residents", json={**RESIDENT, "id": "r9"}, headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["station_name"] == "东湖服务站" and body["categories"] == ["advanced_age", "living_alone"]
    assert (body["heart_rate_low"], body["heart_rate_high"], body["spo2_low"]) == (45, 110, 88)
    edited = client.put("/api/admin/residents/r9", json={**RESIDENT, "risk_class": "B", "lat": 31.24}, headers=admin)
    assert edited.status_code == 200 and edited.json()["risk_class"] == "B"
    gone = client.post("/api/admin/residents/r9/deactivate", headers=admin)
    assert gone.status_code == 200 and gone.json()["active"] is False
    actions = _audit(pool, "resident", "r9")
    assert [a for a, _ in actions if a != "read"] == ["create", "update", "deactivate"]
    assert sorted(actions[1][1]["fields"]) == ["lat", "risk_class"]
    viewer = client.get("/api/admin/audit?resident_id=r9&action=update", headers=admin).json()
    assert [r["action"] for r in viewer] == ["update"] and viewer[0]["username"] == "admin"


def test_an_admin_records_and_withdraws_a_residents_consent_to_learning_from_outcomes(
    client: TestClient, login: Login, pool: ConnectionPool[Any]
) -> None:
    admin = login("admin")
    made = client.post("/api/admin/residents", json={**RESIDENT, "id": "r9"}, headers=admin)
    assert made.json()["learning_consent"] is False  # nothing is kept until the resident agrees
    given = client.put("/api/admin/residents/r9", json={**RESIDENT, "learning_consent": "true"}, headers=admin)
    assert given.status_code == 200 and given.json()["learning_consent"] is True
    withdrawn = client.put("/api/admin/residents/r9", json=RESIDENT, headers=admin)  # the form sends every field
    assert withdrawn.json()["learning_consent"] is False
    with pool.connection() as conn:
        assert conn.execute("SELECT learning_consent FROM residents WHERE id = 'r9'").fetchone() == (False,)
    assert _audit(pool, "resident", "r9")[-2][1]["fields"] == ["learning_consent"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"categories": ["living_alone", "rich"]}, "unknown_category", "categories"),
        ({"station_id": "nowhere"}, "unknown_station", "station_id"),
        ({"heart_rate_low": 100, "heart_rate_high": 90}, "heart_rate_limits_crossed", "heart_rate_low"),
        ({"assessment_level": 7}, "request_invalid", "assessment_level"),
        ({"name": ""}, "request_invalid", "name"),
        ({"lat": 91}, "request_invalid", "lat"),
        ({"phone": "call me"}, "request_invalid", "phone"),
    ],
)
def test_an_invalid_resident_is_refused_with_a_code(
    client: TestClient, login: Login, change: dict[str, Any], code: str, field: str
) -> None:
    refused = client.post("/api/admin/residents", json={**RESIDENT, **change}, headers=login("admin"))
    assert refused.status_code == 422
    assert refused.json()["detail"]["code"] == code and refused.json()["detail"]["field"] == field


def test_contacts_keep_their_calling_order_channels_and_quiet_hours(
    client: TestClient, login: Login, pool: ConnectionPool[Any]
) -> None:
    admin = login("admin")
    first = client.post("/api/admin/residents/r1/contacts", json=CONTACT, headers=admin)
    assert first.status_code == 201, first.text
    new = first.json()
    assert new["position"] == 2 and [c["kind"] for c in new["channels"]] == ["email", "outbox"]
    old = next(
        c for c in client.get("/api/admin/residents/r1", headers=admin).json()["contacts"] if c["id"] != new["id"]
    )
    order = client.put(f"/api/admin/contacts/{new['id']}/position", json={"position": 1}, headers=admin)
    assert [c["name"] for c in order.json()] == ["孙女士", old["name"]]
    edited = client.put(f"/api/admin/contacts/{new['id']}", json={**CONTACT, "channels": []}, headers=admin)
    assert edited.json()["channels"] == [] and edited.json()["position"] == 1
    assert client.post(f"/api/admin/contacts/{new['id']}/deactivate", headers=admin).json()["active"] is False
    with pool.connection() as conn:
        from notify.contacts import load_contacts  # noqa: PLC0415

        assert [c.name for c in load_contacts(conn, "r1")] == [old["name"]]  # out of the calling chain
    assert [a for a, d in _audit(pool, "contact", str(new["id"]))] == ["create", "order", "update", "deactivate"]
    bad = client.post("/api/admin/residents/r1/contacts", json={**CONTACT, "quiet_end": None}, headers=admin)
    assert bad.json()["detail"]["code"] == "quiet_hours_both"
    bad = client.post(
        "/api/admin/residents/r1/contacts",
        json={**CONTACT, "channels": [{"kind": "webhook", "target": "http://x.example/h"}]},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["detail"] == {
        "code": "channel_webhook_not_https",
        "field": "channels",
        "n": 1,
    }


def test_a_device_is_registered_bound_rotated_and_deactivated(
    client: TestClient, login: Login, pool: ConnectionPool[Any]
) -> None:
    admin = login("admin")
    made = client.post("/api/admin/devices", json={"id": "b-new", "kind": "bracelet", "model": "Y6 Pro"}, headers=admin)
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["device"]["model"] == "Y6 Pro"  # fall detection uses this model's calibration
    with pool.connection() as conn:
        assert conn.execute("SELECT model FROM devices WHERE id = 'b-new'").fetchone() == ("Y6 Pro",)
    assert first["username"] == "b-new" and len(first["secret"]) >= 40 and first["broker_reloaded"] is False
    with pool.connection() as conn:
        stored = conn.execute("SELECT password_hash FROM device_credentials WHERE device_id = 'b-new'").fetchone()[0]
    assert verify_password(first["secret"], stored) and first["secret"] not in stored
    bound = client.put("/api/admin/devices/b-new", json={"resident_id": "r2"}, headers=admin)
    assert bound.json()["resident_id"] == "r2" and bound.json()["resident_name"] == "赵爷爷"
    assert bound.json()["model"] == "Y6 Pro"  # binding keeps the recorded model
    rotated = client.post("/api/admin/devices/b-new/rotate", headers=admin).json()
    with pool.connection() as conn:
        stored = conn.execute("SELECT password_hash FROM device_credentials WHERE device_id = 'b-new'").fetchone()[0]
    assert verify_password(rotated["secret"], stored) and not verify_password(first["secret"], stored)
    gone = client.post("/api/admin/devices/b-new/deactivate", headers=admin).json()
    assert gone["device"]["active"] is False and gone["device"]["has_credentials"] is False
    assert client.post("/api/admin/devices/b-new/rotate", headers=admin).json()["detail"]["code"] == "device_inactive"
    assert [a for a, _ in _audit(pool, "device", "b-new")] == ["create", "bind", "rotate", "deactivate"]
    assert client.get("/api/admin/audit?resident_id=r2&object_type=device", headers=admin).json()[0]["action"] == (
        "deactivate"
    )
    taken = client.post("/api/admin/devices", json={"id": "b-r1", "kind": "bracelet"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["detail"]["code"] == "device_id_taken"
    orphan = client.post(
        "/api/admin/devices", json={"id": "m-1", "kind": "sensor", "sensor_kind": "motion"}, headers=admin
    )
    assert orphan.json()["detail"]["code"] == "sensor_needs_hub"
    nobody = client.put("/api/admin/devices/b-r1", json={"resident_id": "r404"}, headers=admin)
    assert nobody.json()["detail"]["code"] == "unknown_resident"


def test_a_station_and_a_staff_member_with_a_week(client: TestClient, login: Login, pool: ConnectionPool[Any]) -> None:
    admin = login("admin")
    station = {"id": "st9", "name": "南湖服务站", "lat": 31.21, "lon": 121.45, "area_type": "city"}
    assert client.post("/api/admin/stations", json=station, headers=admin).status_code == 201
    renamed = client.put("/api/admin/stations/st9", json={**station, "id": None, "name": "南湖站"} | {}, headers=admin)
    assert renamed.status_code == 422  # the id is not part of an update
    renamed = client.put("/api/admin/stations/st9", json={k: v for k, v in station.items() if k != "id"}, headers=admin)
    assert renamed.status_code == 200
    week = [{"weekday": d, "starts": "00:00", "ends": "23:59"} for d in range(7)]
    staff = {"id": "s9", "name": "周护理", "station_id": "st9", "phone": "13700000000", "week": week}
    made = client.post("/api/admin/staff", json=staff, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["on_shift"] is True and len(made.json()["week"]) == 7
    busy = client.post("/api/admin/stations/st9/deactivate", headers=admin)
    assert busy.status_code == 409 and busy.json()["detail"] == {"code": "station_has_staff", "count": 1}
    overlap = [{"weekday": 0, "starts": "08:00", "ends": "12:00"}, {"weekday": 0, "starts": "11:00", "ends": "14:00"}]
    refused = client.put("/api/admin/staff/s9/week", json={"week": overlap}, headers=admin)
    assert refused.json()["detail"]["code"] == "shifts_overlap"
    gone = client.post("/api/admin/staff/s9/deactivate", headers=admin).json()
    assert gone["active"] is False and gone["on_shift"] is False and gone["status"] == "off_shift"
    assert client.post("/api/admin/stations/st9/deactivate", headers=admin).json()["active"] is False
    unknown = client.post("/api/admin/staff", json={**staff, "id": "s10"}, headers=admin)
    assert unknown.json()["detail"]["code"] == "unknown_station"  # st9 is closed now
    assert [a for a, _ in _audit(pool, "staff", "s9")] == ["create", "deactivate"]
    assert [a for a, _ in _audit(pool, "station", "st9")] == ["create", "update", "deactivate"]


def test_accounts_with_roles_links_and_deactivation(
    client: TestClient, login: Login, pool: ConnectionPool[Any]
) -> None:
    admin = login("admin")
    body = {
        "username": "daughter9",
        "display_name": "孙女士",
        "password": "a long enough secret",
        "role": "family",
        "links": [{"resident_id": "r2"}],
    }
    made = client.post("/api/admin/users", json=body, headers=admin)
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    linked = client.get("/api/admin/residents/r2", headers=admin).json()["family"]
    assert "daughter9" in [f["username"] for f in linked]
    signed = client.post("/api/auth/login", json={"username": "daughter9", "password": "a long enough secret"})
    assert signed.status_code == 200
    update = {k: v for k, v in body.items() if k not in ("username", "password")} | {"display_name": "孙女"}
    assert client.put(f"/api/admin/users/{user_id}", json=update, headers=admin).json()["display_name"] == "孙女"
    wrong = client.put(f"/api/admin/users/{user_id}", json={**update, "role": "operator"}, headers=admin)
    assert wrong.json()["detail"]["code"] == "links_only_for_family"
    gone = client.post(f"/api/admin/users/{user_id}/deactivate", headers=admin)
    assert gone.json()["active"] is False
    again = client.post("/api/auth/login", json={"username": "daughter9", "password": "a long enough secret"})
    assert again.status_code == 401
    me = client.get("/api/auth/me", headers=admin).json()["id"]
    assert client.post(f"/api/admin/users/{me}/deactivate", headers=admin).json()["detail"]["code"] == (
        "cannot_deactivate_self"
    )
    taken = client.post("/api/admin/users", json={**body, "username": "admin"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["detail"]["code"] == "username_taken"
    assert [a for a, _ in _audit(pool, "user", str(user_id))] == ["create", "update", "deactivate"]


@pytest.mark.parametrize("role", ["supervisor", "operator", "staff1", "family1"])
def test_no_other_role_may_administer(client: TestClient, login: Login, role: str) -> None:
    for method, path, body in (
        ("GET", "/api/admin/residents", None),
        ("POST", "/api/admin/residents", RESIDENT),
        ("POST", "/api/admin/devices", {"id": "b-x", "kind": "bracelet"}),
        ("POST", "/api/admin/stations/st1/deactivate", None),
        ("GET", "/api/admin/audit", None),
    ):
        response = client.request(method, path, json=body, headers=login(role))
        assert response.status_code == 403, (role, path)
        assert response.json()["detail"]["code"] == "role_not_allowed"
