"""The family side: signed reply links, answers from the page, preferences and channels, my messages (the
outbox, and what could not be delivered), the case as a story; the staff's call list; and the public pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.kinds import Severity
from dashboard.actions import Actions
from dashboard.app import create_app
from notify.channels import ChannelSenders
from notify.service import FamilyNotifier, Notice, NotifySettings
from notify.signing import make_reply_token
from tests.dashboard.world import Platform, settings

REPLY_SECRET = "reply-secret-for-tests"


def _notice(pool: Any, alert_id: int, resident_id: str = "r1") -> int:
    """Store a notice about an alert sent to the resident's first contact; return the delivery id."""
    with pool.connection() as conn:
        contact = conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = %s", (resident_id,)).fetchone()
        notice = conn.execute(
            "INSERT INTO notices (key, alert_id, resident_id, event, severity, audience, created_at)"
            " VALUES (%s, %s, %s, 'raised', 4, 'chain', now()) RETURNING id",
            (f"{alert_id}:raised", str(alert_id), resident_id),
        ).fetchone()
        row = conn.execute(
            "INSERT INTO notice_deliveries (notice_id, contact_id, position, state, sent_at)"
            " VALUES (%s, %s, 1, 'sent', now()) RETURNING id",
            (notice[0], contact[0]),
        ).fetchone()
    return int(row[0])


@pytest.fixture
def replying(pool: Any, world: Platform) -> Iterator[TestClient]:
    """Run the app with notify's reply recorder wired in."""
    notifier = FamilyNotifier(
        pool.connection,
        lambda *_: None,  # type: ignore[arg-type]
        NotifySettings(reply_secret=REPLY_SECRET, reply_url="http://testserver/reply/{token}"),
    )
    acts = Actions(
        alerts=world.alerts,
        dispatch=world.flow,
        record_reply=lambda token: notifier.record_reply(token, datetime.now(UTC)),
    )
    with TestClient(create_app(settings(), pool, actions=acts)) as running:
        yield running


def test_a_signed_link_records_the_answer_on_the_timeline(replying: TestClient, pool: Any, world: Platform) -> None:
    alert_id = world.raise_alert("r1")
    delivery = _notice(pool, alert_id)
    token = make_reply_token(REPLY_SECRET, delivery, "going", datetime.now(UTC) + timedelta(hours=1))
    assert replying.get(f"/reply/{token}").status_code == 200  # the page: a GET records nothing
    assert replying.post(f"/api/replies/{token}").status_code == 204
    assert replying.post(f"/api/replies/{token[:-4]}AAAA").status_code == 400
    login = replying.post("/api/auth/login", json={"username": "operator", "password": "correct horse battery"})
    timeline = replying.get(f"/api/alerts/{alert_id}", headers={"Authorization": f"Bearer {login.json()['token']}"})
    replies = [e for e in timeline.json()["timeline"] if e["source"] == "reply"]
    assert [e["what"] for e in replies] == ["going"]


def test_family_answers_from_the_page_and_sets_preferences(
    client: TestClient, login, pool: Any, world: Platform
) -> None:
    alert_id = world.raise_alert("r1")
    _notice(pool, alert_id)
    family = login("family1")
    assert client.post(f"/api/alerts/{alert_id}/reply", json={"answer": "call_me"}, headers=family).status_code == 204
    timeline = client.get(f"/api/alerts/{alert_id}", headers=family).json()["timeline"]
    assert any(e["source"] == "reply" and e["what"] == "call_me" for e in timeline)
    (prefs,) = client.get("/api/me/preferences", headers=family).json()
    changed = client.put(
        f"/api/me/preferences/{prefs['contact_id']}",
        headers=family,
        json={"quiet_start": "22:00", "quiet_end": "07:00", "min_severity": 3, "language": "en"},
    )
    assert changed.status_code == 200
    assert changed.json()[0] | {"contact_id": 0} == {
        "contact_id": 0,
        "resident_id": "r1",
        "resident_name": "陈奶奶",
        "name": "陈奶奶的女儿",
        "language": "en",
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "min_severity": 3,
        "wants_updates": True,
        "channels": [],
    }


def test_pages_and_libraries_are_served_without_a_cdn(client: TestClient) -> None:
    for page in ("/login", "/console", "/figures", "/staff", "/family"):
        response = client.get(page)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/vendor/echarts/echarts.esm.min.mjs").status_code == 200
    assert client.get("/vendor/leaflet/leaflet-src.esm.js").status_code == 200
    zh = client.get("/static/i18n/zh-CN.json").json()
    en = client.get("/static/i18n/en.json").json()
    assert zh.keys() == en.keys()
    assert zh["state.raised"] == "待确认"


def test_a_day_with_a_handled_alert_is_not_told_as_all_well(client: TestClient, login, world: Platform) -> None:
    family, operator = login("family1"), login("operator")
    assert client.get("/api/residents/r1", headers=family).json()["today"] | {"steps": None, "seen_today": False} == {
        "seen_today": False,
        "steps": None,
        "heart_rate_avg": None,
        "last_activity_at": None,
        "open_alerts": 0,
        "alerts_today": 0,
    }
    alert_id = world.raise_alert("r1")
    today = client.get("/api/residents/r1", headers=family).json()["today"]
    assert (today["open_alerts"], today["alerts_today"]) == (1, 1)
    cancelled = client.post(f"/api/alerts/{alert_id}/cancel", json={"note": "pressed by mistake"}, headers=operator)
    assert cancelled.is_success
    today = client.get("/api/residents/r1", headers=family).json()["today"]
    assert (today["open_alerts"], today["alerts_today"]) == (0, 1)


def test_all_is_well_only_once_the_resident_was_seen_today(client: TestClient, login, world: Platform) -> None:
    family = login("family1")
    with world.pool.connection() as conn:
        conn.execute("DELETE FROM telemetry WHERE resident_id = 'r1'")
        conn.execute("DELETE FROM events WHERE resident_id = 'r1'")
    assert client.get("/api/residents/r1", headers=family).json()["today"]["seen_today"] is False
    with world.pool.connection() as conn:
        conn.execute(
            "INSERT INTO events (ts, device_id, seq, sensor_id, resident_id, received_at, kind)"
            " VALUES (now(), 'h-r1', 1, NULL, 'r1', now(), 'motion')"
        )
    assert client.get("/api/residents/r1", headers=family).json()["today"]["seen_today"] is True


def _outbox_family(pool: Any, resident_id: str, kind: str = "outbox", target: str = "box-r1") -> int:
    """Give a resident's first contact one channel; return the contact's id."""
    with pool.connection() as conn:
        (contact,) = conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = %s", (resident_id,)).fetchone()
        conn.execute(
            "INSERT INTO contact_channels (contact_id, position, kind, target) VALUES (%s, 1, %s, %s)",
            (contact, kind, target),
        )
    return int(contact)


def test_the_family_edits_their_own_channels_in_order_and_nobody_elses(client: TestClient, login, pool: Any) -> None:
    family = login("family1")
    (prefs,) = client.get("/api/me/preferences", headers=family).json()
    channels = [
        {"kind": "outbox", "target": f"contact-{prefs['contact_id']}"},
        {"kind": "email", "target": "daughter@example.org"},
        {"kind": "webhook", "target": "https://hooks.example.org/anxin"},
        {"kind": "apprise", "target": "json://127.0.0.1:9/notify"},
    ]
    body = {"channels": channels, "quiet_start": "23:00", "quiet_end": "06:30"}
    saved = client.put(f"/api/me/preferences/{prefs['contact_id']}", headers=family, json=body)
    assert saved.status_code == 200, saved.text
    (after,) = client.get("/api/me/preferences", headers=family).json()
    assert after["channels"] == channels and (after["quiet_start"], after["quiet_end"]) == ("23:00", "06:30")
    reordered = [channels[1], channels[0]]
    assert client.put(
        f"/api/me/preferences/{prefs['contact_id']}", headers=family, json={"channels": reordered}
    ).is_success
    (after,) = client.get("/api/me/preferences", headers=family).json()
    assert after["channels"] == reordered and after["quiet_start"] == "23:00", "only what is sent changes"
    cleared = client.put(
        f"/api/me/preferences/{prefs['contact_id']}", headers=family, json={"quiet_start": None, "quiet_end": None}
    )
    assert cleared.json()[0]["quiet_start"] is None

    for bad, code in (
        ({"kind": "email", "target": "not-an-address"}, "channel_email_invalid"),
        ({"kind": "webhook", "target": "http://hooks.example.org/x"}, "channel_webhook_not_https"),
        ({"kind": "apprise", "target": "nosuchscheme://x"}, "channel_apprise_invalid"),
        ({"kind": "outbox", "target": "a b"}, "channel_outbox_invalid"),
    ):
        refused = client.put(
            f"/api/me/preferences/{prefs['contact_id']}", headers=family, json={"channels": [channels[0], bad]}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"] == {"code": code, "index": 1, "kind": bad["kind"]}
    with pool.connection() as conn:
        (other,) = conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = 'r2'").fetchone()
        (kept,) = conn.execute(
            "SELECT count(*) FROM contact_channels WHERE contact_id = %s", (prefs["contact_id"],)
        ).fetchone()
        assert kept == 2, "a refused change leaves the channels as they were"
    theirs = client.put(f"/api/me/preferences/{other}", headers=family, json={"channels": [channels[0]]})
    assert theirs.status_code == 404 and theirs.json()["detail"] == {"code": "no_such_contact"}
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM contact_channels WHERE contact_id = %s", (other,)).fetchone() == (0,)
        audited = conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'update' AND object_type = 'preferences' ORDER BY id"
        ).fetchall()
    assert audited[0][0]["channels"] == ["outbox", "email", "webhook", "apprise"], "kinds only: URLs may hold keys"
    assert client.get("/api/me/preferences", headers=login("operator")).status_code == 403


def _family_notifier(pool: Any) -> FamilyNotifier:
    """A notifier that sends on the real channels, the outbox kept in the test database."""
    senders = ChannelSenders("w" * 40, outbox=pool.connection)
    return FamilyNotifier(pool.connection, senders, NotifySettings(REPLY_SECRET, "http://testserver/r/{token}"))


def test_my_messages_show_what_reached_me_and_what_could_not(
    client: TestClient, login, pool: Any, world: Platform
) -> None:
    _outbox_family(pool, "r1")
    _outbox_family(pool, "r2", "email", "son@example.org")  # no mail server here: it can never work
    notifier = _family_notifier(pool)
    now = datetime.now(UTC)
    for rid in ("r1", "r2"):
        alert_id = world.raise_alert(rid)
        notifier.notify(
            Notice(f"{alert_id}:raised", rid, "alert_raised", Severity.CRITICAL, str(alert_id), {"alert_kind": "sos"}),
            now,
        )
    mine = client.get("/api/me/messages", headers=login("family1")).json()
    assert [(m["event"], m["state"], m["channel"]) for m in mine] == [("alert_raised", "sent", "outbox")]
    assert "陈奶奶" in mine[0]["title"] and "我马上过去" in mine[0]["body"]
    theirs = client.get("/api/me/messages", headers=login("family2")).json()
    assert [(m["state"], m["reason"], m["error"]) for m in theirs] == [("failed", "undeliverable", "no_mail_server")]
    assert theirs[0]["title"] is None, "only my own outbox is shown to me"
    with pool.connection() as conn:
        ((ok, code, kind),) = conn.execute(
            "SELECT a.ok, a.code, a.channel_kind FROM delivery_attempts a"
            " JOIN notice_deliveries d ON d.id = a.delivery_id"
            " JOIN emergency_contacts c ON c.id = d.contact_id WHERE c.resident_id = 'r2'"
        ).fetchall()
    assert (ok, code, kind) == (False, "no_mail_server", "email"), "the delivery records say so too"
    assert client.get("/api/me/messages", headers=login("staff1")).status_code == 403


def test_the_family_reads_the_case_as_a_story_not_the_desk_trail(
    client: TestClient, login, pool: Any, world: Platform
) -> None:
    _outbox_family(pool, "r1")
    alert_id = world.raise_alert("r1")
    _family_notifier(pool).notify(
        Notice(f"{alert_id}:raised", "r1", "alert_raised", Severity.CRITICAL, str(alert_id), {"alert_kind": "sos"}),
        datetime.now(UTC),
    )
    operator, staff, family = login("operator"), login("staff1"), login("family1")
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=operator).is_success
    assert client.post(f"/api/alerts/{alert_id}/notes", json={"text": "女儿电话无人接"}, headers=operator).is_success
    assert client.post(f"/api/alerts/{alert_id}/dispatch", json={"staff_id": "s1"}, headers=operator).is_success
    [task] = client.get("/api/tasks", headers=staff).json()
    for step in ("accept", "en_route", "on_site"):
        assert client.post(f"/api/tasks/{task['assignment_id']}/{step}", headers=staff).is_success
    assert client.post(f"/api/alerts/{alert_id}/reply", json={"answer": "going"}, headers=family).status_code == 204
    done = client.post(f"/api/tasks/{task['assignment_id']}/outcome", json={"outcome": "helped_at_home"}, headers=staff)
    assert done.is_success
    story = client.get(f"/api/alerts/{alert_id}/story", headers=family).json()
    codes = [e["code"] for e in story]
    assert codes[:2] == ["raised", "contact_told"] and codes[-1] == "resolved", codes
    assert {"centre_handling", "staff_accepted", "staff_on_the_way", "staff_on_site", "contact_replied"} <= set(codes)
    on_site = next(e for e in story if e["code"] == "staff_on_site")
    assert on_site["staff"] == "王护理"
    assert story[-1] | {"at": None} == {
        "code": "resolved",
        "at": None,
        "staff": "王护理",
        "name": None,
        "relation": None,
        "kind": None,
        "answer": None,
        "outcome": "no_injury",
        "eta_min": None,
        "by": None,
    }
    told = next(e for e in story if e["code"] == "contact_told")
    assert (told["name"], told["relation"]) == ("陈奶奶的女儿", "family")
    assert "女儿电话无人接" not in str(story) and "operator" not in str(story), "no desk notes, no desk actors"
    assert client.get(f"/api/alerts/{alert_id}/story", headers=login("family2")).status_code == 404


def test_a_staff_member_sees_whom_to_call_on_their_own_task_only(
    client: TestClient, login, pool: Any, world: Platform
) -> None:
    with pool.connection() as conn:
        conn.execute("UPDATE residents SET phone = '02888880001' WHERE id = 'r1'")
    alert_id = world.raise_alert("r1")
    operator = login("operator")
    assert client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=operator).is_success
    assert client.post(f"/api/alerts/{alert_id}/dispatch", json={"staff_id": "s1"}, headers=operator).is_success
    [task] = client.get("/api/tasks", headers=login("staff1")).json()
    assert task["resident_phone"] == "02888880001"
    assert task["contacts"] == [{"name": "陈奶奶的女儿", "relation": "family", "phone": "13900000000"}]
    assert client.get("/api/tasks", headers=login("staff2")).json() == []
    [desk_view] = client.get("/api/tasks", headers=operator).json()
    assert desk_view["contacts"] == [], "the call list travels only to the staff member on the task"
