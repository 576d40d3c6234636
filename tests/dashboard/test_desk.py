"""The operator desk over the real database and broker: claims, case notes, codes, the re-alarm's stored state.

Two operators share the desk ("operator" from the seeded accounts and "desk2" made here); no two of
them may dispatch one case, a supervisor may take a case over, and every refusal answers in a code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from alerts.messages import ChangeAction, ProvisionalAlert
from dashboard.live import parse_alert
from dashboard.roles import RoleName
from dashboard.store.users import create_user
from tests.dashboard.world import PASSWORD_HASH, Platform

OWN = {"origin": "http://testserver"}
Login = Callable[[str], dict[str, str]]


@pytest.fixture
def desk(pool: ConnectionPool[Any]) -> dict[str, str]:
    """Add a second operator; return each desk user's actor name."""
    with pool.connection() as conn:
        create_user(conn, "desk2", "Operator Two", PASSWORD_HASH, RoleName.OPERATOR)
        ids = dict(conn.execute("SELECT username, id FROM users WHERE role IN ('operator', 'supervisor')").fetchall())
    return {
        "operator": f"operator:u{ids['operator']}",
        "desk2": f"operator:u{ids['desk2']}",
        "supervisor": f"supervisor:u{ids['supervisor']}",
    }


def _post(client: TestClient, login: Login, who: str, path: str, body: Any = None) -> Any:
    return client.post(path, json={} if body is None else body, headers=login(who))


def test_a_claim_shows_who_holds_the_case_and_refuses_another(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    mine = _post(client, login, "operator", f"/api/alerts/{alert_id}/claim")
    assert mine.status_code == 200, mine.text
    assert (mine.json()["claimed_by"], mine.json()["claimed_by_name"]) == (desk["operator"], "Operator")
    again = _post(client, login, "operator", f"/api/alerts/{alert_id}/claim")
    assert again.status_code == 200  # claiming what one holds is no change
    theirs = _post(client, login, "desk2", f"/api/alerts/{alert_id}/claim")
    assert theirs.status_code == 409
    assert theirs.json()["detail"] == {
        "code": "claimed_by_other",
        "claimed_by": desk["operator"],
        "claimed_by_name": "Operator",
    }
    listed = client.get("/api/alerts?open_only=true", headers=login("desk2")).json()
    assert [(a["id"], a["claimed_by_name"]) for a in listed] == [(alert_id, "Operator")]


def test_acknowledging_claims_and_a_second_operators_dispatch_is_refused(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    acked = _post(client, login, "operator", f"/api/alerts/{alert_id}/acknowledge")
    assert (acked.json()["state"], acked.json()["claimed_by"]) == ("acknowledged", desk["operator"])
    refused = _post(client, login, "desk2", f"/api/alerts/{alert_id}/dispatch")
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "claimed_by_other"
    assert world.told == []  # nobody was offered the task
    sent = _post(client, login, "operator", f"/api/alerts/{alert_id}/dispatch", {"staff_id": "s1"})
    assert sent.status_code == 200, sent.text
    assert [t.staff_id for t in world.told] == ["s1"]


def test_an_alert_another_holds_cannot_be_acknowledged(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    _post(client, login, "operator", f"/api/alerts/{alert_id}/claim")
    refused = _post(client, login, "desk2", f"/api/alerts/{alert_id}/acknowledge")
    assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "claimed_by_other")
    case = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["alert"]
    assert (case["state"], case["claimed_by"]) == ("raised", desk["operator"])


def test_release_gives_the_case_back(client: TestClient, login: Login, world: Platform, desk: dict[str, str]) -> None:
    alert_id = world.raise_alert("r1")
    _post(client, login, "operator", f"/api/alerts/{alert_id}/claim")
    not_theirs = _post(client, login, "desk2", f"/api/alerts/{alert_id}/release")
    assert (not_theirs.status_code, not_theirs.json()["detail"]["code"]) == (409, "claimed_by_other")
    released = _post(client, login, "operator", f"/api/alerts/{alert_id}/release")
    assert (released.status_code, released.json()["claimed_by"], released.json()["claimed_at"]) == (200, None, None)
    nothing = _post(client, login, "operator", f"/api/alerts/{alert_id}/release")
    assert (nothing.status_code, nothing.json()["detail"]["code"]) == (409, "not_claimed")
    taken = _post(client, login, "desk2", f"/api/alerts/{alert_id}/claim")
    assert taken.json()["claimed_by"] == desk["desk2"]


def test_a_supervisor_may_take_a_case_over(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    _post(client, login, "operator", f"/api/alerts/{alert_id}/acknowledge")
    asked = _post(client, login, "supervisor", f"/api/alerts/{alert_id}/claim")
    assert asked.json()["detail"]["code"] == "claimed_by_other"  # a takeover is never by accident
    operator = _post(client, login, "desk2", f"/api/alerts/{alert_id}/claim", {"take_over": True})
    assert (operator.status_code, operator.json()["detail"]["code"]) == (409, "take_over_not_allowed")
    taken = _post(client, login, "supervisor", f"/api/alerts/{alert_id}/claim", {"take_over": True})
    assert (taken.status_code, taken.json()["claimed_by"]) == (200, desk["supervisor"])
    refused = _post(client, login, "operator", f"/api/alerts/{alert_id}/dispatch")
    assert refused.json()["detail"]["code"] == "claimed_by_other"


def test_a_closed_case_cannot_be_claimed(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    _post(client, login, "operator", f"/api/alerts/{alert_id}/cancel", {"note": "test call"})
    refused = _post(client, login, "desk2", f"/api/alerts/{alert_id}/claim")
    assert (refused.status_code, refused.json()["detail"]["code"]) == (409, "alert_closed")


def test_a_refused_move_answers_in_a_code(client: TestClient, login: Login, world: Platform) -> None:
    alert_id = world.raise_alert("r1")
    refused = _post(client, login, "operator", f"/api/alerts/{alert_id}/resolve", {"outcome": "no_injury"})
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "transition_not_allowed"


def test_a_note_goes_on_the_timeline_and_into_the_handover(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    written = _post(client, login, "operator", f"/api/alerts/{alert_id}/notes", {"text": "  女儿说老人在邻居家  "})
    assert written.status_code == 201, written.text
    later = _post(client, login, "desk2", f"/api/alerts/{alert_id}/notes", {"text": "neighbour called back"})
    notes = later.json()["latest_notes"]
    assert [(n["text"], n["name"]) for n in notes] == [
        ("neighbour called back", "Operator Two"),
        ("女儿说老人在邻居家", "Operator"),
    ]
    timeline = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["timeline"]
    entries = [(e["actor"], e["note"], e["detail"]["name"]) for e in timeline if e["source"] == "note"]
    assert entries == [
        (desk["operator"], "女儿说老人在邻居家", "Operator"),
        (desk["desk2"], "neighbour called back", "Operator Two"),
    ]
    empty = _post(client, login, "operator", f"/api/alerts/{alert_id}/notes", {"text": "   "})
    assert empty.status_code == 422
    family = _post(client, login, "family1", f"/api/alerts/{alert_id}/notes", {"text": "hello"})
    assert family.status_code == 403
    seen = client.get(f"/api/alerts/{alert_id}", headers=login("family1")).json()
    assert seen["alert"]["latest_notes"] == []  # the desk's notes are its own
    assert [e for e in seen["timeline"] if e["source"] == "note"] == []


def test_claims_and_notes_reach_every_console(
    client: TestClient, login: Login, world: Platform, desk: dict[str, str]
) -> None:
    alert_id = world.raise_alert("r1")
    with client.websocket_connect("/ws", headers={**login("desk2"), **OWN}) as ws:
        assert ws.receive_json()["type"] == "hello"
        _post(client, login, "operator", f"/api/alerts/{alert_id}/claim")
        _post(client, login, "operator", f"/api/alerts/{alert_id}/notes", {"text": "calling the daughter"})
        seen = [ws.receive_json()["data"] for _ in range(2)]
    assert [(d["action"], d["actor"]) for d in seen] == [
        (ChangeAction.CLAIMED, desk["operator"]),
        (ChangeAction.NOTE_ADDED, desk["operator"]),
    ]
    assert seen[1]["note"] == "calling the daughter"


def test_the_alert_api_tells_the_escalation_step_and_the_breach(
    client: TestClient, login: Login, world: Platform
) -> None:
    alert_id = world.raise_alert("r1")
    fresh = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["alert"]
    assert (fresh["escalation_step"], fresh["promise_breached_at"]) == (0, None)
    fired = world.alerts.run_due(datetime.now(UTC) + timedelta(seconds=90))  # past the critical ack timeout
    assert [a.action for a in fired] == ["notify_operators"]
    late = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["alert"]
    assert late["escalation_step"] == 1
    world.alerts.run_due(datetime.now(UTC) + timedelta(hours=2))  # every rung, and the promise long gone
    world.alerts.transition(alert_id, "acknowledged", "operator:u1")  # type: ignore[arg-type]
    world.flow.assign(str(alert_id), "r1", raised_at=datetime.now(UTC), actor="operator:u1", now=datetime.now(UTC))
    world.alerts.run_due(datetime.now(UTC) + timedelta(hours=3))
    breached = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["alert"]
    assert breached["promise_breached_at"] is not None


def test_a_timeout_and_a_decline_are_told_apart_on_the_timeline(
    client: TestClient, login: Login, world: Platform
) -> None:
    alert_id = world.raise_alert("r1")
    _post(client, login, "operator", f"/api/alerts/{alert_id}/acknowledge")
    offer = _post(client, login, "operator", f"/api/alerts/{alert_id}/dispatch", {"staff_id": "s1"}).json()
    _post(client, login, "staff1", f"/api/tasks/{offer['assignment_id']}/decline", {"reason": "busy"})
    world.flow.expire_offers(datetime.now(UTC) + timedelta(minutes=10))
    timeline = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["timeline"]
    told = [(e["note"], e["what"], e["detail"]["reason"]) for e in timeline if e["source"] == "dispatch"]
    assert told[:2] == [("王护理", "offered", None), ("王护理", "declined", "busy")]
    assert ("李护理", "timed_out", "no answer") in told


def test_a_provisional_alert_goes_live_without_an_id() -> None:
    message = ProvisionalAlert(
        resident_id="r1",
        kind="sos",
        severity="critical",
        at=datetime.now(UTC),
        explanation="SOS key pressed",
        explanation_zh="按下了紧急呼叫键",
        device_id="b-r1",
    )
    live = parse_alert("anxin/v1/alerts/r1", message.model_dump_json().encode())
    assert live is not None
    assert (live.type, live.resident_id, live.alert_id, live.data["action"]) == ("alert", "r1", None, "provisional")
    assert parse_alert("anxin/v1/alerts/r1", json.dumps({"action": "provisional"}).encode()) is None


def test_the_desk_confirms_a_real_fall_but_never_a_false_alarm_as_one(
    client: TestClient, login: Login, world: Platform
) -> None:
    for outcome, status, code in (("false_alarm", 409, "transition_verdict"), ("minor_injury", 200, None)):
        alert_id = world.raise_alert("r1", kind="fall")
        assert _post(client, login, "operator", f"/api/alerts/{alert_id}/acknowledge").status_code == 200
        body = {"outcome": outcome, "real_fall": True}
        answer = _post(client, login, "operator", f"/api/alerts/{alert_id}/resolve", body)
        assert answer.status_code == status, answer.text
        if code is not None:
            assert answer.json()["detail"]["code"] == code
            _post(client, login, "operator", f"/api/alerts/{alert_id}/resolve", {"outcome": outcome})
        else:
            assert (answer.json()["state"], answer.json()["outcome"]) == ("resolved", outcome)
