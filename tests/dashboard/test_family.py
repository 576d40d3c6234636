"""The family side: signed reply links, answers from the page, preferences; and the public pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.actions import Actions
from dashboard.app import create_app
from notify.service import FamilyNotifier, NotifySettings
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
    assert client.get("/api/residents/r1", headers=family).json()["today"] | {"steps": None} == {
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
