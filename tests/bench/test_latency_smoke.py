"""`bench.latency` at a tiny size: three SOS on an idle platform reach the console, pressed on MQTT and as
watch-protocol AL frames over TCP; the JSON line has its shape, the watch figures beside the MQTT ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anxin.services import postgres_bindir

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    postgres_bindir() is None or (shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists()),
    reason="needs PostgreSQL and Mosquitto binaries",
)


@pytest.mark.timeout(120)
def test_three_sos_on_an_idle_platform_reach_the_console_by_mqtt_and_by_the_watch_protocol() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.latency",
            "--protocol",
            "both",
            "--sos",
            "3",
            "--levels",
            "0",
            "--capacity",
            "1000",
            "--spacing",
            "0.2",
            "--timeout",
            "10",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "latency"
    assert figures["lost"] == 0
    assert set(figures["p50_ms"]) == set(figures["p99_ms"]) == set(figures["load_msg_s"]) == {"0"}
    assert 0 < figures["p50_ms"]["0"] <= figures["p99_ms"]["0"] < 10_000
    assert figures["load_msg_s"]["0"] == 0
    assert figures["capacity_msg_s"] == 1000
    assert figures["db_mode"] in ("postgresql", "timescaledb")
    assert set(figures["stages_p50_ms"]["0"]) == {"to_ingest", "to_alert", "to_console"}
    assert {"cpus", "load_avg_1m"} <= set(figures["machine"])
    assert figures["watch"]["lost"] == 0
    assert 0 < figures["watch"]["p50_ms"]["0"] <= figures["watch"]["p99_ms"]["0"] < 10_000
