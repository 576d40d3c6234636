"""Every page, for the roles that see it, in both languages and at desk and phone size, in headless Chromium.

What is checked (``e2e/pages_a11y.mjs``): axe-core finds no serious or critical violation; body text on the
family and staff pages is at least 16 px; a zh-CN page holds no Latin-script word and an en page no CJK
character, other than ids, numbers, "SOS", units and the names that come from the data (residents, staff,
stations, addresses, accounts: the seeded names are passed in); screenshots of every page in both languages
at 1366x768 and 390x844 go to ``test-artifacts/pages/``. Then the sign-in page: a wait after failed sign-ins
is counted down in the page's language and the button comes back when it is over; switching language keeps
what was typed; the language chosen survives a reload and a sign-in.
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
from gateway.mqtt import BrokerAddress, MqttConnection, Subscriber
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, REPO, WEB, pytestmark
from tests.dashboard.world import PASSWORD, platform, seed, serve, settings

__all__ = ["pytestmark"]  # the same skip as test_e2e: no Chromium, node or playwright-core, no test
SHOTS = REPO / "test-artifacts" / "pages"
WAIT_BASE_S = 4  # the first wait after the free failures, long enough to see it counted down


@dataclass
class Served:
    """The dashboard on a free port and the names the data holds."""

    url: str
    names: list[str]


def _data_names(conn: psycopg.Connection[Any]) -> list[str]:
    """Return every name the seeded data holds: they may be in any script on any page."""
    rows = conn.execute(
        "SELECT name FROM residents UNION SELECT address FROM residents UNION SELECT name FROM staff"
        " UNION SELECT name FROM stations UNION SELECT address FROM stations UNION SELECT display_name FROM users"
        " UNION SELECT name FROM emergency_contacts UNION SELECT relation FROM emergency_contacts"
        " UNION SELECT medical_notes FROM residents UNION SELECT key_holder FROM residents"
        " UNION SELECT name FROM districts"
    ).fetchall()
    return sorted({str(r[0]) for r in rows if r[0]}, key=len, reverse=True)


@pytest.fixture
def served(db_url: str, mqtt_broker: Any, topic_prefix: str) -> Iterator[Served]:
    """Seed the neighbourhood with an open case (r1's SOS offered to s1), serve the dashboard on a free port."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        names = _data_names(conn)
    root = f"{topic_prefix.split('/', maxsplit=1)[0]}/anxin/v1"
    bus = MqttConnection(BrokerAddress.from_url(mqtt_broker.url), f"a11y-{uuid.uuid4().hex[:8]}", persistent=False)
    bus.connect()
    with ConnectionPool(db_url, min_size=2, max_size=8, open=True) as pool:
        world = platform(pool, bus.publish, topic_root=root)
        alert_id = world.raise_alert("r1", "sos")
        world.alerts.transition(alert_id, AlertState.ACKNOWLEDGED, "operator:u1")
        now = datetime.now(UTC)
        world.flow.assign(str(alert_id), "r1", raised_at=now, actor="operator:u1", now=now, staff_id="s1")
        world.raise_alert("r2", "sos")
        dash = settings(
            alerts_topic=f"{root}/alerts",
            device_topic_prefix=topic_prefix,
            tile_url=NO_TILES,
            login_delay_base_s=WAIT_BASE_S,
        )
        app = create_app(dash, pool, subscriber=Subscriber(bus), actions=world.actions())
        try:
            with serve(app) as base:
                yield Served(base, [*names, dash.tile_attribution])
        finally:
            bus.close()


def _run(served: Served) -> dict[str, Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BASE_URL": served.url,
        "SHOTS": str(SHOTS),
        "PASSWORD": PASSWORD,
        "ANXIN_WEB": str(WEB),
        "CHROMIUM": CHROMIUM,
        "NAMES": json.dumps(served.names, ensure_ascii=False),
        "WAIT_BASE_S": str(WAIT_BASE_S),
    }
    script = Path(__file__).parent / "e2e" / "pages_a11y.mjs"
    done = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=240, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1])
    (SHOTS / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    (SHOTS / "stderr.txt").write_text(done.stderr)
    assert result.get("ok"), (result.get("error"), done.stderr[-3000:])
    return result


def test_every_page_in_both_languages_is_accessible_readable_and_in_one_language(served: Served) -> None:
    result = _run(served)
    pages = result["pages"]
    assert {p["page"] for p in pages} >= {"login", "console", "figures", "visits", "staff", "family", "reply"}
    assert {(p["locale"], p["width"]) for p in pages} == {(lang, w) for lang in ("zh-CN", "en") for w in (1366, 390)}
    problems = {
        f"{p['page']} {p['locale']} {p['width']}": {k: p[k] for k in ("axe", "small", "foreign") if p.get(k)}
        for p in pages
        if p.get("axe") or p.get("small") or p.get("foreign")
    }
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    for p in pages:
        assert Path(p["shot"]).stat().st_size > 5000, p["shot"]

    login = result["login"]
    for locale, said in (("zh-CN", "秒后再试"), ("en", "before trying again")):
        seen = login[locale]
        assert said in seen["wait_text"] and seen["disabled_while_waiting"], seen
        assert seen["counted_down"] and seen["enabled_after"] and seen["signed_in"], seen
        assert seen["error_text"] and not seen["error_foreign"], seen
    kept = login["switch"]
    assert kept["username"] == "operator" and kept["password"] == "typed-secret", kept
    assert kept["title"] == "Sign in" and kept["lang"] == "en", kept
    assert login["persisted"] == {"after_reload": "en", "after_sign_in": "en", "user_locale": "en"}
