"""Learning from outcomes on the console, in headless Chromium: the lowered fall's reason and the real-fall question.

A fall alert the resident's history lowered (built by `alerts.adjustment`, as the alert service does) shows
"this resident's last 5 similar alerts were false alarms" / 「该老人最近5次类似报警均为误报」 on the case; the
resolve dialog of a fall asks whether the resident really fell, and "false alarm" clears and disables that
box. The platform is wired as in ``test_console_live``; the script is ``e2e/console_outcomes.mjs``.
Screenshots: ``test-artifacts/dashboard/outcomes/``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import numpy as np
import psycopg

from alerts.adjustment import AdjustmentPolicy, Example, adjusted, decide, movement
from alerts.findings import Finding
from alerts.kinds import Severity
from tests.alerts.movements import RATE_HZ, habit
from tests.dashboard.test_console_live import Desk, desk, drive
from tests.dashboard.test_e2e import CHROMIUM, SHOTS, WEB, pytestmark
from tests.dashboard.world import PASSWORD

__all__ = ["desk", "pytestmark"]


def _lowered_fall() -> Finding:
    """Return a fall of resident r1 lowered by five similar false alarms, as the alert service stores it."""
    rng = np.random.default_rng(41)
    history = [Example(i, "false_alarm", movement(habit(rng), RATE_HZ)) for i in range(5)]
    policy = AdjustmentPolicy()
    found = decide(movement(habit(rng), RATE_HZ), history, policy)
    assert found is not None
    fall = Finding(
        "fall", "r1", datetime.now(UTC), "impact recorded by the bracelet looks like a fall (classifier score 0.90)",
        "手环记录的撞击经分类器判断为跌倒（得分0.90）", device_id="b-r1", severity=Severity.CRITICAL,
        details={"score": 0.9, "source": "impact"},
    )  # fmt: skip
    return adjusted(fall, found, policy)


def test_the_console_shows_why_a_fall_was_lowered_and_asks_whether_it_was_real(desk: Desk, db_url: str) -> None:
    shots = SHOTS / "outcomes"
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BASE_URL": desk.base, "SHOTS": str(shots), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env["CHROMIUM"] = CHROMIUM
    result = drive("console_outcomes.mjs", env, lambda _action: desk.world.alerts.handle([_lowered_fall()]))
    assert result["ok"], result.get("error")
    assert result["errors"] == []
    assert "该老人最近5次类似报警均为误报" in result["zh"]["explanation"]
    assert result["zh"]["severity"] == "高"
    assert "this resident's last 5 similar alerts were false alarms" in result["en"]["explanation"]
    assert result["en"]["severity"] == "High"
    assert result["afterFalseAlarm"] == {"checked": False, "disabled": True}
    assert result["afterInjury"] == {"disabled": False}
    assert result["confirmText"].startswith("Confirmed as a real fall.")
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT state, outcome FROM alerts WHERE resident_id = 'r1' AND kind = 'fall'").fetchone()
    assert row == ("resolved", "minor_injury")
    for name in result["shots"]:
        assert (shots / f"{name}.png").stat().st_size > 5000, name
