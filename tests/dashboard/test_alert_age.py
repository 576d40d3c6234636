"""An alert tells when its event happened by the device clock and how late the platform received it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from alerts.findings import Finding
from tests.dashboard.world import Platform


def raise_at(world: Platform, at: datetime, resident_id: str = "r1") -> int:
    finding = Finding(
        kind="sos", resident_id=resident_id, at=at, explanation="SOS", explanation_zh="紧急呼叫", device_id="b-r1"
    )
    (change,) = world.alerts.handle([finding])
    return change.alert_id


def test_a_replayed_event_is_raised_with_its_age(
    client: TestClient, world: Platform, login: Callable[[str], dict[str, str]]
) -> None:
    pressed = datetime.now(UTC) - timedelta(hours=16)
    alert_id = raise_at(world, pressed)
    alert = client.get(f"/api/alerts/{alert_id}", headers=login("operator")).json()["alert"]
    assert datetime.fromisoformat(alert["event_at"]) == pressed
    assert alert["received_late_s"] == pytest.approx(16 * 3600, abs=30)
    raised = datetime.fromisoformat(alert["raised_at"])
    # the promise clock runs from when the platform raised it, not from the old press
    assert datetime.fromisoformat(alert["promise_deadline"]) == raised + timedelta(minutes=alert["promise_minutes"])
    queue = client.get("/api/alerts?open_only=true", headers=login("operator")).json()
    assert [a["received_late_s"] > 3600 for a in queue] == [True]


def test_a_fresh_event_is_not_late(client: TestClient, world: Platform, login: Callable[[str], dict[str, str]]) -> None:
    alert_id = raise_at(world, datetime.now(UTC))
    alert = client.get(f"/api/alerts/{alert_id}", headers=login("family1")).json()["alert"]
    assert alert["received_late_s"] < 5
