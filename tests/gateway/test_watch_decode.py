"""`anxin devices decode --protocol watch FILE` on the sample capture: one JSON line a frame, then the summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from anxin.commands.devices import decode_capture

CAPTURE = Path(__file__).parent / "watch-capture.txt"


def test_the_sample_capture_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    assert decode_capture(argparse.Namespace(file=CAPTURE, utc_offset=8.0)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    *frames, summary = lines
    assert summary == {
        "decode": "watch",
        "frames": 19,
        "decoded": 16,
        "errors": 3,
        "kinds": {"sos": 1, "fall": 1, "position": 5, "heartbeat": 3, "vitals": 4},
    }
    sos = next(f for f in frames if f.get("kind") == "sos")
    assert sos["reply"] == "[3G*8800000015*0002*AL]"
    assert sos["records"][0] == {
        "channel": "event",
        "body": {"seq": sos["records"][0]["body"]["seq"], "ts": "2026-12-06T00:15:30Z", "kind": "sos"},
    }
    voice = next(f for f in frames if f.get("command") == "TK")
    assert voice["kind"] == "other" and voice["records"] == []
    taken_off = next(f for f in frames if f.get("line") == 14)
    assert taken_off["records"][0]["body"]["worn"] is False
    assert [f["error"] for f in frames if "error" in f] == ["invalid", "bad_frame", "bad_frame"]
    bphrt = next(f for f in frames if f.get("command") == "bphrt")
    assert bphrt["dropped"] == ["systolic", "diastolic"] and bphrt["records"][0]["body"]["heart_rate"] == 70


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    assert decode_capture(argparse.Namespace(file=tmp_path / "missing.txt", utc_offset=8.0)) == 2
