"""`anxin simulate`: files out, registry, scenario files, summary as the last line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from anxin.cli import main
from gateway.contract import decode
from simulators.scenario import Scenario, load
from simulators.schedule import DAY

REPO = Path(__file__).resolve().parents[2]


def test_writes_messages_truth_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, truth = tmp_path / "m.jsonl", tmp_path / "t.jsonl"
    code = main(
        [
            "simulate",
            "--residents",
            "3",
            "--days",
            "0.5",
            "--fast",
            "--incidents",
            "fall:1,sos:2",
            "--seed",
            "7",
            "--start",
            "2025-03-03T00:00:00+08:00",
            "--out",
            str(out),
            "--truth",
            str(truth),
            "--quiet",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    lines = out.read_text().splitlines()
    assert summary["messages"] == summary["sent"] == len(lines) > 1000
    for line in lines[:500]:
        row = json.loads(line)
        rec = decode(row["topic"], row["payload"].encode(), now=datetime.max.replace(tzinfo=UTC))
        assert row["retain"] == (rec.channel.value == "status")
    kinds = sorted(json.loads(t)["kind"] for t in truth.read_text().splitlines())
    assert kinds == ["fall", "sos", "sos"] and summary["incidents"] == {"fall": 1, "sos": 2}


def test_registry_lists_every_device_with_its_publisher(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    assert main(["simulate", "--residents", "5", "--registry-out", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and len(doc["residents"]) == 5
    for r in doc["residents"]:
        ids = {d["device_id"] for d in r["devices"]}
        assert f"{r['resident_id']}-bracelet" in ids
        assert {f"{r['resident_id']}-motion-{room}" for room in r["home"]["rooms"]} <= ids
        for d in r["devices"]:
            assert d["publishes_as"] == (d["hub_id"] or d["device_id"])
            assert d["publishes_as"] in ids


def test_unknown_incident_kind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--incidents", "meteor:1", "--quiet"]) == 2
    assert "meteor" in capsys.readouterr().err


def test_demo_scenario_is_a_live_neighbourhood() -> None:
    s = load(REPO / "scenarios" / "demo.toml")
    assert s.residents == 60 and s.speed == 1 and s.start is None
    assert s.incidents.every_minutes is not None and s.incidents.every_minutes <= 10
    assert load(REPO / "scenarios" / "demo.toml", speed=60.0).speed == 60


@pytest.mark.parametrize(("speed", "days"), [(1, 1), (60, 1), (3600, 2), (0, 28)])
def test_default_start_never_lets_device_clocks_run_ahead(speed: float, days: float) -> None:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    w = Scenario(days=days, speed=speed).world(now)
    wall_at_end = now.timestamp() + (days * DAY / speed if speed else 0)
    assert w.end <= wall_at_end + 1
