"""`anxin drill`: each scenario through a running platform on real PostgreSQL, Mosquitto and HTTP, fast clocks.

What is checked is what each person receives: the alert on an open console, the supervisor's escalation
and the staff offer on their own channels, the family's notices in order ending with the all clear, and
the staff free again afterwards. One run goes through the command line on its own private platform.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from anxin.commands.drill import drill
from anxin.platform import Platform, start_platform
from anxin.services import LocalMosquitto
from tests.reliability.helpers import platform_settings

REPO = Path(__file__).resolve().parents[2]
FAST = {"escalation_scale": 0.05, "offer_timeout_s": 3.0, "care_interval_s": 0.5}


@pytest.fixture
def running(db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, service_root: Path) -> Iterator[Platform]:
    """Run the whole platform with fast clocks and its console on a free port."""
    settings = platform_settings(
        db_url,
        mqtt_broker.url,
        topic_prefix,
        service_root / f"drill-{topic_prefix.replace('/', '-')}",
        http_port=0,
        **FAST,
    )
    with start_platform(settings) as platform:
        yield platform


def _drill(platform: Platform, scenario: str) -> dict[str, Any]:
    args = argparse.Namespace(
        scenario=scenario,
        dashboard=platform.dashboard_url,
        fast=True,
        inbox_host="127.0.0.1",
        where=None,
        stage_timeout=30,
    )
    return drill(platform.settings, scenario, args)


def _family(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in report["messages"] if m["to"].startswith("/family/")]


def test_sos_handled(running: Platform) -> None:
    report = _drill(running, "sos-handled")
    assert report["failures"] == []
    assert report["reached"] == {"operator": True, "supervisor": None, "staff": True, "family": True}
    assert report["stages"]["console_ms"] < 2000
    assert [m["event"] for m in _family(report)] == ["alert_raised", "staff_dispatched", "staff_on_site", "all_clear"]
    going = _family(report)[1]
    assert "演练护理员1" in going["title"] and "分钟内到达" in going["body"], "the family hears who is coming and when"
    assert "operator:" not in going["title"] + going["body"]
    clear = _family(report)[-1]
    assert "老人平安，无受伤" in clear["body"] and "演练护理员1" in clear["body"]
    assert report["all_clear_sent"] and report["staff_freed"]


def test_nobody_answers(running: Platform, db_url: str) -> None:
    report = _drill(running, "nobody-answers")
    assert report["failures"] == []
    assert report["reached"] == {"operator": True, "supervisor": True, "staff": True, "family": True}
    stages = report["stages"]
    assert stages["realarm_s"] < stages["supervisor_reached_s"] < stages["acknowledged_s"]
    assert stages["offer_timed_out_s"] <= stages["next_candidate_reached_s"]
    offers = [m["to"] for m in report["messages"] if m["event"] == "task_offer"]
    assert offers == [f"/staff/drill-s1-{report['resident_id'][-6:]}", f"/staff/drill-s2-{report['resident_id'][-6:]}"]
    with psycopg.connect(db_url) as conn:
        reached = conn.execute(
            "SELECT step_key, recipient, channel, ok FROM desk_deliveries WHERE alert_id = %s"
            " AND purpose = 'escalation' AND recipient <> 'supervisor' ORDER BY id",
            (report["alert_id"],),
        ).fetchall()
        states = conn.execute(
            "SELECT x.state FROM dispatch_assignments x JOIN dispatches d ON d.id = x.dispatch_id"
            " WHERE d.alert_id = %s ORDER BY x.id",
            (str(report["alert_id"]),),
        ).fetchall()
    assert reached[0] == ("ack.0", "consoles", "broker", True)
    assert reached[1][:2] == ("ack.1", f"supervisor:u{_user_id(db_url, report)}") and reached[1][2:] == (
        "webhook",
        True,
    )
    assert states == [("timed_out",), ("done",)], "the silent offer is recorded as a timeout, not a decline"
    assert report["all_clear_sent"] and report["staff_freed"]


def test_im_ok(running: Platform) -> None:
    report = _drill(running, "im-ok")
    assert report["failures"] == []
    assert [m["event"] for m in _family(report)] == ["alert_raised", "staff_dispatched", "all_clear"]
    assert "调度中心核实后已取消" in _family(report)[-1]["body"], "the all clear says how it ended"
    assert report["all_clear_sent"] and report["staff_freed"]


def test_the_command_runs_a_drill_on_its_own_platform(service_root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MQTT_URL") and not k.startswith("ANXIN_")}
    env["TMPDIR"] = str(service_root)
    done = subprocess.run(
        [sys.executable, "-m", "anxin.cli", "--log-level", "WARNING", "drill", "--scenario", "im-ok", "--fast"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, (report, done.stderr[-2000:])
    assert report["mode"] == {"platform": "own", "fast": True}
    assert report["all_clear_sent"] and report["staff_freed"]


def _user_id(db_url: str, report: dict[str, Any]) -> int:
    tag = report["resident_id"][-6:]
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM users WHERE username = %s", (f"drill-supervisor-{tag}",)).fetchone()
    assert row is not None
    return int(row[0])
