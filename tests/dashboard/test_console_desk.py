"""The operator console tells the truth and is safe, in headless Chromium at 1366x768 and 390x844, in both languages.

Each check here is a defect an operator met (issue 13): a dispatched alert offers no acknowledge button
and refuses the shortcut without JSON; a fresh unacknowledged SOS sorts above an older dispatched one;
the candidate table's minutes agree with its reasons and summary and names stay on one line; a decline
and then a timeout reach a second open console (the next staff member notified, the first declined, the
second labelled as not answering in time, never as declining); closing needs an outcome chosen by hand
and a confirmation, in a dialog the keyboard can work; no Latin sentence in the Chinese console and no
Chinese in the English one (the data's own names and words aside). The platform is wired as in
``test_console_live`` (its ``desk`` fixture); the browser script is ``e2e/console_desk.mjs``, which asks
for platform actions with ``do <action>`` lines. Screenshots: ``test-artifacts/dashboard/desk/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tests.dashboard.test_console_live import Desk, _as_staff, desk, drive
from tests.dashboard.test_e2e import CHROMIUM, SHOTS, WEB, pytestmark
from tests.dashboard.world import PASSWORD

__all__ = ["desk", "pytestmark"]


def _data_words(db_url: str) -> list[str]:
    """Return the data's own words (names, addresses, notes, ids): they are shown as stored, in any language."""
    queries = (
        "SELECT name FROM residents UNION SELECT address FROM residents UNION SELECT medical_notes FROM residents"
        " UNION SELECT key_holder FROM residents",
        "SELECT name FROM staff UNION SELECT name FROM stations UNION SELECT name FROM emergency_contacts",
        "SELECT display_name FROM users UNION SELECT id FROM devices UNION SELECT id FROM residents",
    )
    with psycopg.connect(db_url) as conn:
        words = {row[0] for query in queries for row in conn.execute(query) if row[0]}
    return sorted(words | {"在另一位老人家"}, key=len, reverse=True)  # the decline reason staff1 types


def _actions(desk: Desk) -> dict[str, Callable[[], None]]:
    """What the browser script may ask the platform to do, by name."""

    def press(resident: str) -> None:
        event = {"seq": 1, "ts": datetime.now(UTC).isoformat(), "kind": "sos"}
        desk.bus.publish(f"{desk.topic_prefix}/b-{resident}/event", json.dumps(event).encode())

    def decline() -> None:
        staff = _as_staff(desk.base, "staff1")
        try:
            (task,) = [t for t in staff.get("/api/tasks").json() if t["state"] == "offered"]
            answer = staff.post(f"/api/tasks/{task['assignment_id']}/decline", json={"reason": "在另一位老人家"})
            assert answer.status_code == 200, answer.text
        finally:
            staff.close()

    def expire() -> None:
        later = datetime.now(UTC) + desk.world.flow.offer_timeout + timedelta(seconds=1)
        assert desk.world.flow.expire_offers(later), "the open offer times out"

    return {"sos_r1": lambda: press("r1"), "sos_r2": lambda: press("r2"), "decline": decline, "expire": expire}


def _run(desk: Desk, db_url: str) -> dict[str, Any]:
    shots = SHOTS / "desk"
    shots.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "BASE_URL": desk.base,
        "SHOTS": str(shots),
        "PASSWORD": PASSWORD,
        "ANXIN_WEB": str(WEB),
        "CHROMIUM": CHROMIUM,
        "DATA_WORDS": json.dumps(_data_words(db_url), ensure_ascii=False),
    }
    actions = _actions(desk)
    result = drive("console_desk.mjs", env, lambda action: actions[action]())
    for name in result.get("shots", []):
        assert (shots / f"{name}.png").stat().st_size > 5000, name
    return result


def test_the_console_offers_only_what_is_true_and_safe(desk: Desk, db_url: str) -> None:
    result = _run(desk, db_url)
    assert result["ok"], (result.get("error"), result.get("errors"))
    assert result["errors"] == [], "no script errors on any page"
    # only valid actions: a dispatched alert has no acknowledge button, and the key says nothing raw
    assert result["ackOnDispatched"] == {"queue": 0, "case": 0}
    assert result["lateResidentReads"] == 3 and result["nameAfterLateReads"] == result["r2Name"], "r1 beside r2's case"
    assert result["numberAfterRedraw"] == "0571-8888 6666", "a redraw of the case wiped the number being typed"
    assert result["lateCaseReads"] >= 1 and result["claimAfterLateRead"] == "", "an older read of the case drew last"
    assert result["toastAfterKey"] is None or "{" not in str(result["toastAfterKey"])
    # unacknowledged first, on both consoles
    assert result["order"] == {"one": ["r2", "r1"], "two": ["r2", "r1"]}
    # one estimate behind every number of the candidate table
    assert result["candidates"], "the candidates were read"
    assert result["candidateMismatches"] == [], result["candidates"]
    assert result["nameLines"] == 1, "a name stays on one line"
    # the bracelet asked from the case: it received both commands, and the timeline says so in Chinese
    assert desk.commands == [
        ("b-r1", {"kind": "call_back", "number": "057188886666", "ts": desk.commands[0][1]["ts"]}),
        ("b-r1", {"kind": "locate", "ts": desk.commands[1][1]["ts"]}),
    ], desk.commands
    assert "已请手环回拨 057188886666" in result["braceletAsked"]
    assert "已请手环上报位置" in result["braceletLocated"]
    # a decline and a timeout reach the second console, each labelled as what it was
    assert result["afterDecline"] == {"s1": "declined", "s2": "offered"}, result.get("tasksAfterDecline")
    assert result["declineLabel"] == "已拒绝"
    assert result["afterTimeout"]["s2"] == "timed_out", result.get("tasksAfterTimeout")
    assert "超时未接单" in result["timeoutTask"] and "拒绝" not in result["timeoutTask"]
    assert "超时未接单" in result["timeoutTimeline"] and "拒绝" not in result["timeoutTimeline"]
    assert "超时未接单" in result["timeoutLine"]
    # closing: no default, a refusal to go on without an outcome, a confirmation, the keyboard
    assert result["outcomeDefault"] is None
    assert result["closeWithoutOutcome"] == {"open": True, "error": "请先选择处置结果", "state": "dispatched"}
    assert result["focusInDialog"] and result["escapeKeepsOpen"] == "dispatched"
    assert "无伤" in result["confirmText"]
    assert result["resolvedState"] == "resolved"
    # one language at a time
    assert result["latinInZh"] == [], result["latinInZh"]
    assert result["cjkInEn"] == [], result["cjkInEn"]
    assert result["englishConfirm"] and "No injury" in result["englishConfirm"]
    # the phone-sized console does not break
    assert result["phone"]["overflow"] <= 1, result["phone"]
    assert result["phone"]["caseShown"]
