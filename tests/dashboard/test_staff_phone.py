"""The staff phone in headless Chromium at 390x844: position reports, a deep-linked task, a visit closed with a note.

Wired here as the composition root wires it (alert service, dispatch flow, dashboard on a free port,
the session's Mosquitto); the welfare visits are planned and assigned by ``run_visit_planning``. One
live task is offered to staff s1 (staff1); the phone opens it from an offer link (``/staff?task=N``),
reports the position the browser is given, moves, accepts and reports again, and closes r1's visit
with a note that asks for a follow-up; a link to a task that is over says so. The supervisors' page is
shown too. Every screen is saved to ``test-artifacts/dashboard/staff-*.png`` (and ``visits-*.png``) in
both languages.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.lifecycle import AlertState
from dashboard.app import create_app
from dispatch.visits import run_visit_planning
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, SHOTS, WEB, _free_port, pytestmark  # noqa: F401
from tests.dashboard.world import PASSWORD, Platform, platform, seed, serve, settings

FIRST = (31.2355, 121.4801)  # where the phone is when the page opens
SECOND = (31.2338, 121.4766)  # where it is when the task is accepted


@dataclass
class Served:
    """The dashboard on a free port and the platform behind it."""

    url: str
    world: Platform
    pool: ConnectionPool[Any]


@pytest.fixture
def served(db_url: str, mqtt_broker: Any, topic_prefix: str) -> Iterator[Served]:
    """Wire the alert service, dispatch and the dashboard in the test; serve it on a free port."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    bus = MqttConnection(BrokerAddress.from_url(mqtt_broker.url), f"phone-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        dash = settings(alerts_topic=f"{root}/alerts", device_topic_prefix=topic_prefix, tile_url=NO_TILES)
        app = create_app(dash, pool, subscriber=Subscriber(bus), actions=world.actions())
        try:
            with serve(app) as base:
                yield Served(base, world, pool)
        finally:
            bus.close()


def _offer(world: Platform, resident_id: str, kind: str) -> int:
    """Raise an alert, acknowledge it and offer its task to s1; return the assignment id."""
    alert_id = world.raise_alert(resident_id, kind)
    world.alerts.transition(alert_id, AlertState.ACKNOWLEDGED, "operator:u1")
    now = datetime.now(UTC)
    offer = world.flow.assign(str(alert_id), resident_id, raised_at=now, actor="operator:u1", now=now, staff_id="s1")
    assert offer.assignment_id is not None and offer.staff_id == "s1"
    return offer.assignment_id


def test_the_staff_phone(served: Served) -> None:
    with served.pool.connection() as conn:
        run_visit_planning(conn, datetime.now(UTC))  # r1's visit to s1, r2's to s2
        conn.execute("UPDATE visits SET due_at = now() - interval '3 days' WHERE resident_id = 'r2'")
        (visit_id,) = conn.execute("SELECT id FROM visits WHERE resident_id = 'r1' AND staff_id = 's1'").fetchone()
    linked = _offer(served.world, "r1", "sos")
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BASE_URL": served.url,
        "SHOTS": str(SHOTS),
        "PASSWORD": PASSWORD,
        "ANXIN_WEB": str(WEB),
        "CHROMIUM": CHROMIUM,
        "TASK_ID": str(linked),
        "VISIT_ID": str(visit_id),
        "FIRST": json.dumps(FIRST),
        "SECOND": json.dumps(SECOND),
    }
    script = Path(__file__).parent / "e2e" / "staff_phone.mjs"
    run = subprocess.run(["node", str(script)], capture_output=True, text=True, env=env, timeout=240, check=False)
    lines = run.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"error": run.stderr[-2000:]}
    assert result.get("ok"), f"{result.get('error')}\n{run.stderr[-3000:]}"

    assert result["highlighted"] == str(linked)
    assert result["openingReads"] == 2 and result["goneSaidOfALiveTask"] is None, "a live task said to be gone"
    assert result["lateReads"] >= 1 and result["stateAfterLateReads"] == "on_site", "an older read drew last"
    assert result["linkedInView"], "the linked task is scrolled into view"
    assert result["goneLinkSays"] == "That task is over or no longer yours"
    assert result["reports"][:2] == [list(FIRST), list(SECOND)], "reported on opening, then on accept"
    assert result["geoNoticeWhenDenied"], "a phone that refuses its position says so"
    assert result["acceptFontPx"] >= 18 and result["bodyFontPx"] >= 16
    assert result["followUpShown"] and result["englishTitle"] == "My tasks"
    assert result["supervisorOverdueFirst"] and result["staffLandsHome"] == "/staff"
    with served.pool.connection() as conn:
        lat, lon = conn.execute("SELECT last_lat, last_lon FROM staff WHERE id = 's1'").fetchone()
        assert (lat, lon) == pytest.approx(SECOND, abs=1e-6)
        status, notes, findings = conn.execute(
            "SELECT status, notes, findings FROM visits WHERE id = %s", (visit_id,)
        ).fetchone()
        assert (status, notes) == ("done", "膝盖疼，走路慢")
        assert findings == {"wellbeing": "some_concern", "home_safe": True, "follow_up": True}
        (follow_ups,) = conn.execute(
            "SELECT count(*) FROM visits WHERE resident_id = 'r1' AND reason = 'follow_up' AND staff_id = 's1'"
            " AND status = 'planned'"
        ).fetchone()
        assert follow_ups == 1
    for name in ("staff-linked-zh", "staff-visit-form-zh", "staff-visit-done-zh", "staff-linked-en"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000, name
    for name in ("staff-visit-form-en", "staff-geo-denied-en", "visits-zh", "visits-en"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000, name
