"""The benchmark report: canned benchmark output in, latest.json, latest.md and a dated copy out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bench.capture import last_json
from bench.report import build_report, records_from_outputs, render_markdown, write_report

AT = datetime(2026, 11, 22, 9, 5, 30, tzinfo=UTC)
HOST = {"cpus": 2, "python": "3.12.3", "platform": "Linux", "load_avg_1m": 0.5}
INGEST = {
    "bench": "ingest",
    "msgs": 200000,
    "ingest_msg_s": 10456,
    "raw_msg_s": 41000,
    "ratio": 0.255,
    "lost": 0,
    "duplicated": 0,
    "db_mode": "timescaledb",
    "machine": HOST,
}
DETECT = {
    "bench": "detect",
    "falls": {"skipped": "DATA_DIR is not set"},
    "fleet": {
        "bench": "fleet",
        "residents": 5,
        "days": 1,
        "per_kind": {
            "sos": {
                "precision": 1.0,
                "recall": 1.0,
                "median_delay_min": 0.0,
                "p90_delay_min": 0.0,
                "incidents": 1,
                "findings": 1,
            },
            "fall": {
                "precision": 0.5,
                "recall": None,
                "median_delay_min": 1.25,
                "p90_delay_min": 3.0,
                "incidents": 0,
                "findings": 2,
            },
        },
    },
    "machine": HOST,
}
OUTPUTS = {
    "ingest": "queued 200000 messages in 3.1 s\nraw paho drain: 41,000 msg/s\n" + json.dumps(INGEST) + "\n",
    "detect": "bench-detect: skipping falls: DATA_DIR is not set\n" + json.dumps(DETECT) + "\n\n",
    "latency": "Traceback (most recent call last):\nRuntimeError: broker down\n",
}


def test_last_json_takes_the_last_non_blank_line_only() -> None:
    assert last_json('{"a": 1}\nnot json') is None
    assert last_json('noise\n{"a": 1}\n  \n') == {"a": 1}
    assert last_json("[1, 2]") is None
    assert last_json("") is None


def test_the_report_gathers_records_machine_db_mode_and_time() -> None:
    report = build_report(records_from_outputs(OUTPUTS), HOST, AT)
    assert report["timestamp"] == "2026-11-22T09:05:30Z"
    assert report["machine"] == HOST
    assert report["db_mode"] == "timescaledb"
    assert report["benchmarks"]["ingest"]["ratio"] == 0.255
    assert "machine" not in report["benchmarks"]["ingest"]
    assert report["benchmarks"]["detect"]["fleet"]["per_kind"]["sos"]["recall"] == 1.0
    assert "error" in report["benchmarks"]["latency"]


def test_the_files_are_written_with_a_dated_copy(tmp_path: Path) -> None:
    report = build_report(records_from_outputs(OUTPUTS), HOST, AT)
    paths = write_report(report, tmp_path / "results", AT)
    assert [p.name for p in paths] == ["latest.json", "latest.md", "2026-11-22T0905.json"]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == report
    assert paths[2].read_text(encoding="utf-8") == paths[0].read_text(encoding="utf-8")
    assert paths[1].read_text(encoding="utf-8") == render_markdown(report)


def test_the_markdown_has_a_table_per_benchmark() -> None:
    text = render_markdown(build_report(records_from_outputs(OUTPUTS), HOST, AT))
    assert text.startswith("# Benchmarks — 2026-11-22T09:05:30Z")
    assert "Database mode: timescaledb" in text
    for heading in ("## ingest", "## detect", "## latency", "### detect · falls", "### detect · fleet"):
        assert f"\n{heading}\n" in text
    assert "| ratio | 0.255 |" in text
    assert "| ingest_msg_s | 10456 |" in text
    assert "|  | precision | recall | median_delay_min | p90_delay_min | incidents | findings |" in text
    assert "| fall | 0.5 | — | 1.25 | 3 | 0 | 2 |" in text
    assert "| skipped | DATA_DIR is not set |" in text
